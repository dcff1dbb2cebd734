#pragma once
/// Multi-head self-attention, fused: the fast path of nn/attention.hpp's
/// scaled_dot_product_attention, on the GEMM micro-kernels.
///
///   T = tokens of one sequence   TT = tokens of all sequences, packed
///   H = hidden size   NH = heads   HS = H / NH   R = query rows per tile
///
/// For each (sequence, head), straight from the fused QKV rows:
///   1. pack K (T, HS) and V (T, HS) of the head into kernel panels;
///   2. for each tile of R query rows:
///        attention_scores (R, T) = Q K^T (* 1/sqrt(HS))    one GEMM
///        (+ the relative position bias, MPNet)
///        attention_probs = softmax(attention_scores), row by row
///        context_layer (R, HS) = attention_probs V         one GEMM
///      written straight into the head's columns of context_layer.
/// No (T, T) matrix exists: at most an (R, T) tile per thread.
///
/// Every output row depends only on its own query row and its sequence's K
/// and V, computed in a fixed order: the same whatever the batch or the
/// thread count.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <optional>
#include <type_traits>
#include <vector>

#include "embedrank/core/tensor.hpp"
#include "embedrank/core/thread_pool.hpp"
#include "embedrank/nn/attention.hpp"
#include "embedrank/nn/packed_linear.hpp"

namespace embedrank::nn {

/// One thread's scratch for the fused attention; grows to the longest
/// sequence seen and is then reused.
struct AttentionScratch {
  detail::AlignedBytes key_panels, value_panels, scores, query, zeros;
  std::size_t key_bytes = 0, value_bytes = 0, score_bytes = 0, query_bytes = 0, zero_bytes = 0;

  static float* reserve(detail::AlignedBytes& buffer, std::size_t& capacity, std::size_t bytes) {
    if (bytes > capacity) {
      buffer = detail::aligned_bytes(bytes);
      capacity = bytes;
    }
    return reinterpret_cast<float*>(buffer.get());
  }
};

namespace detail {

/// Attention of head h over one sequence: rows [start, start + T) of qkv
/// (row stride 3H) into the same rows of context (row stride H);
/// position_bias is null or the head's biases indexed by key - query.
inline void fused_head_attention(const GemmKernel& kernel, const float* qkv, Eigen::Index H, Eigen::Index start,
                                 Eigen::Index T, Eigen::Index h, Eigen::Index HS, float scale, bool scale_query_first,
                                 const float* position_bias, float* context, AttentionScratch& s) {
  const Eigen::Index ld_qkv = 3 * H, nr = kernel.nr;
  const Eigen::Index key_panels = (T + nr - 1) / nr, value_panels = (HS + nr - 1) / nr;
  const Eigen::Index R = 4 * kernel.mr;     // query rows per tile
  const Eigen::Index ld_scores = key_panels * nr;  // a multiple of 16 floats: every score row is 64-byte aligned
  float* keys = AttentionScratch::reserve(s.key_panels, s.key_bytes, sizeof(float) * key_panels * nr * HS);
  float* values = AttentionScratch::reserve(s.value_panels, s.value_bytes, sizeof(float) * value_panels * nr * T);
  float* scores = AttentionScratch::reserve(s.scores, s.score_bytes, sizeof(float) * R * ld_scores);
  float* query = AttentionScratch::reserve(s.query, s.query_bytes, sizeof(float) * R * HS);
  const std::size_t zero_count = static_cast<std::size_t>(std::max(key_panels, value_panels) * nr);
  const float* zeros = AttentionScratch::reserve(s.zeros, s.zero_bytes, sizeof(float) * zero_count);
  std::memset(s.zeros.get(), 0, sizeof(float) * zero_count);

  const float* q = qkv + start * ld_qkv + h * HS;      // (T, HS), row stride 3H
  const float* k = q + H;
  const float* v = q + 2 * H;
  // 1. K as the "weight" of scores = Q K^T (OUT = T, IN = HS); V as the
  //    "weight" of context = P V (OUT = HS, IN = T): panel p holds V's
  //    columns [p*NR, (p+1)*NR), zero padded past HS.
  pack_panels(k, sizeof(float), T, HS, ld_qkv, nr, reinterpret_cast<unsigned char*>(keys));
  for (Eigen::Index p = 0; p < value_panels; ++p) {
    const Eigen::Index cols = std::min(nr, HS - p * nr);
    for (Eigen::Index j = 0; j < T; ++j) {
      float* dst = values + (p * T + j) * nr;
      const float* src = v + j * ld_qkv + p * nr;
      for (Eigen::Index c = 0; c < cols; ++c) dst[c] = src[c];
      for (Eigen::Index c = cols; c < nr; ++c) dst[c] = 0.0f;
    }
  }

  for (Eigen::Index i0 = 0; i0 < T; i0 += R) {
    const Eigen::Index rows = std::min(R, T - i0);
    const float* q_tile = q + i0 * ld_qkv;
    Eigen::Index ld_q = ld_qkv;
    if (scale_query_first) {
      // DistilBERT: q = q / sqrt(HS) before the product
      for (Eigen::Index i = 0; i < rows; ++i)
        for (Eigen::Index d = 0; d < HS; ++d) query[i * HS + d] = q_tile[i * ld_qkv + d] * scale;
      q_tile = query;
      ld_q = HS;
    }
    // 2a. attention_scores = Q K^T
    gemm_panels(kernel, q_tile, ld_q, 0, rows, reinterpret_cast<const unsigned char*>(keys),
                sizeof(float) * static_cast<std::size_t>(HS * nr), 0, key_panels, HS, T, zeros, scores, ld_scores,
                std::nullopt);
    for (Eigen::Index i = 0; i < rows; ++i) {
      Eigen::Map<Eigen::ArrayXf> row(scores + i * ld_scores, T);
      // 2b. scale (BERT: after the product), subtract the row max before exp
      //     for numerical stability, exponentiate, normalise
      if (!scale_query_first) row *= scale;
      if (position_bias) row += Eigen::Map<const Eigen::ArrayXf>(position_bias - (i0 + i), T);
      row = (row - row.maxCoeff()).exp();
      // the sum in 16 fixed lanes (lane l adds j = l, l + 16, ...): vectorised,
      // and the same rounding for every row
      float lanes[16] = {};
      const float* p = scores + i * ld_scores;
      Eigen::Index j = 0;
      for (; j + 16 <= T; j += 16)
        for (int l = 0; l < 16; ++l) lanes[l] += p[j + l];
      for (int l = 0; j + l < T; ++l) lanes[l] += p[j + l];
      float row_sum = 0;
      for (float lane : lanes) row_sum += lane;
      row /= row_sum;
    }
    // 2c. context_layer = attention_probs V, into the head's columns
    gemm_panels(kernel, scores, ld_scores, 0, rows, reinterpret_cast<const unsigned char*>(values),
                sizeof(float) * static_cast<std::size_t>(T * nr), 0, value_panels, T, HS, zeros,
                context + (start + i0) * H + h * HS, H, std::nullopt);
  }
}

}  // namespace detail

/// Multi-head self-attention over a packed batch.
///
///   qkv      (TT, 3H)  [Q | K | V], head h of Q in columns [h*HS, (h+1)*HS)
///   offsets  (B + 1)   sequence boundaries in rows
///   position_bias  optional (MPNet), radius at least the longest T - 1
///   context  (TT, H)   output, heads concatenated in order
///   scratch  one AttentionScratch per pool thread (resized here)
///
/// float runs the fused kernel path of `level`; double runs the reference.
/// The (sequence, head) pairs are split across the pool in contiguous runs,
/// so one thread takes consecutive heads of the same sequence.
template <typename Scalar>
void multi_head_attention(const Matrix<Scalar>& qkv, const std::vector<std::size_t>& offsets, Eigen::Index num_heads,
                          bool scale_query_first, const RelativePositionBias<Scalar>* position_bias,
                          Matrix<Scalar>& context, std::vector<AttentionScratch>& scratch, ThreadPool& pool,
                          SimdLevel level = default_simd_level()) {
  if constexpr (!std::is_same<Scalar, float>::value) {
    std::vector<Matrix<Scalar>> scores;
    multi_head_attention_reference<Scalar>(qkv, offsets, num_heads, scale_query_first, position_bias, context, scores,
                                           pool);
    (void)scratch;
    (void)level;
  } else {
    const Eigen::Index H = context.cols();
    const Eigen::Index HS = H / num_heads;
    const float scale = 1.0f / std::sqrt(static_cast<float>(HS));
    const std::size_t pairs = (offsets.size() - 1) * static_cast<std::size_t>(num_heads);
    const detail::GemmKernel kernel = detail::gemm_kernel(level, io::DType::F32);
    const std::size_t chunks = std::min<std::size_t>(pairs, static_cast<std::size_t>(pool.size()));
    if (scratch.size() < chunks) scratch.resize(chunks);
    pool.parallel_for(chunks, [&](std::size_t chunk) {
      for (std::size_t pair = pairs * chunk / chunks; pair < pairs * (chunk + 1) / chunks; ++pair) {
        const std::size_t b = pair / static_cast<std::size_t>(num_heads);
        const auto h = static_cast<Eigen::Index>(pair % static_cast<std::size_t>(num_heads));
        const auto start = static_cast<Eigen::Index>(offsets[b]);
        const auto T = static_cast<Eigen::Index>(offsets[b + 1] - offsets[b]);
        detail::fused_head_attention(kernel, qkv.data(), H, start, T, h, HS, scale, scale_query_first,
                                     position_bias ? position_bias->head(h) : nullptr, context.data(), scratch[chunk]);
      }
    });
  }
}

}  // namespace embedrank::nn
