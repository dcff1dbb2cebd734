#pragma once
/// The int8 side of PackedLinear (nn/packed_linear.hpp): packing int8
/// weights and their scales for the integer kernels
/// (nn/detail/gemm_kernels_int8.hpp), quantizing a call's activations, and
/// the loop over panels and row tiles.
///
///   G = kGroupSize (32) inputs per weight scale   groups = ceil(IN / G)
///
/// Activations are quantized per token, symmetric, in one of two widths a
/// layer chooses at load:
///   16 bits, one scale per token: |q| <= 32767, as accurate as float here;
///    8 bits, one scale per token and group of G: |q| <= 127; the VNNI
///      kernel then multiplies four byte pairs per lane (VPDPBUSD), twice the
///      16-bit rate.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <type_traits>
#include <vector>

#include "embedrank/core/tensor.hpp"

#include "embedrank/nn/activations.hpp"
#include "embedrank/nn/detail/gemm_common.hpp"
#include "embedrank/nn/detail/gemm_kernels_int8.hpp"

namespace embedrank::nn::detail {

/// Groups of kGroupSize inputs in a row of IN (the last one zero padded).
inline Eigen::Index int8_groups(Eigen::Index in) { return (in + kGroupSize - 1) / kGroupSize; }

/// Packs int8 W (OUT, IN) into ceil(OUT / NR) panels of `per` = 2 (k-pairs)
/// or 4 (k-quads) inputs per column: element (k / per, j, k % per) of panel p
/// = W[p*NR + j][k], zero past IN and OUT. Its scales (OUT, groups) go to
/// (P, groups, NR). For k-quads, `offset` (P, groups, NR) receives
/// 128 * the sum of each group's weights (the kernel's unsigned-activation
/// correction).
inline void pack_panels_int8(const std::int8_t* weight, const float* scale, Eigen::Index out, Eigen::Index in,
                             Eigen::Index nr, Eigen::Index per, std::int8_t* dst, float* dst_scale,
                             std::int32_t* offset) {
  const Eigen::Index groups = int8_groups(in), padded_in = groups * kGroupSize;
  for (Eigen::Index n = 0; n < out; ++n) {
    const Eigen::Index p = n / nr, j = n % nr;
    std::int8_t* panel = dst + p * padded_in * nr;
    for (Eigen::Index k = 0; k < in; ++k) panel[(k / per) * nr * per + j * per + k % per] = weight[n * in + k];
    for (Eigen::Index g = 0; g < groups; ++g) {
      dst_scale[(p * groups + g) * nr + j] = scale[n * groups + g];
      if (offset != nullptr) {
        std::int32_t sum = 0;
        for (Eigen::Index k = g * kGroupSize; k < std::min(in, (g + 1) * kGroupSize); ++k) sum += weight[n * in + k];
        offset[(p * groups + g) * nr + j] = 128 * sum;
      }
    }
  }
}

/// max |x[i]| over [begin, end), or NaN if any value is not finite. On the
/// bit patterns with the sign cleared, integer order is float order and every
/// infinity or NaN is above every finite value: one vectorisable max.
inline float finite_amax(const float* x, Eigen::Index begin, Eigen::Index end) {
  std::uint32_t top = 0;
  for (Eigen::Index i = begin; i < end; ++i) {
    std::uint32_t bits;
    std::memcpy(&bits, x + i, sizeof bits);
    bits &= 0x7FFFFFFFu;
    top = bits > top ? bits : top;
  }
  if (top >= 0x7F800000u) return std::numeric_limits<float>::quiet_NaN();
  float amax;
  std::memcpy(&amax, &top, sizeof amax);
  return amax;
}

/// q[i] = round(x[i] / amax * qmax), half away from zero, for i in
/// [begin, end), stored as T plus `bias`; amax = max |x| over the span, > 0.
/// Computed as x[i] * (qmax / amax) (|x * inverse| <= qmax plus a rounding
/// ulp), or, when amax is so small (subnormal) that the inverse overflows,
/// as (x[i] / amax) * qmax, which stays within [-qmax, qmax].
template <typename T>
inline void round_span(const float* x, Eigen::Index begin, Eigen::Index end, float amax, float qmax, std::int32_t bias,
                       T* q) {
  const auto store = [&](Eigen::Index i, float v) {
    q[i] = static_cast<T>(static_cast<std::int32_t>(v + (v >= 0 ? 0.5f : -0.5f)) + bias);
  };
  const float inverse = qmax / amax;
  if (std::isfinite(inverse)) {
    for (Eigen::Index i = begin; i < end; ++i) store(i, x[i] * inverse);
  } else {
    for (Eigen::Index i = begin; i < end; ++i) store(i, x[i] / amax * qmax);
  }
}

/// 16-bit activations: one row x (IN) to q (groups * G values, zeros past
/// IN), q = round(x / scale), scale = max|x| / 32767. A row with a NaN or an
/// infinity gets scale NaN (its outputs are NaN, as in float) and q = 0.
inline void quantize_row_16(const float* x, Eigen::Index in, std::int16_t* q, float* scale) {
  constexpr float qmax = 32767;
  const float amax = finite_amax(x, 0, in);
  std::fill(q, q + int8_groups(in) * kGroupSize, std::int16_t{0});
  *scale = amax / qmax;
  if (amax > 0) round_span(x, 0, in, amax, qmax, 0, q);
}

/// 8-bit activations: one row x (IN), group by group, q = round(x / s_g),
/// s_g = max|x over the group| / 127, into `scale` (groups) and q (groups * G
/// values): int16 for the k-pair kernels, uint8 q + 128 for the k-quad one.
template <typename T>
inline void quantize_row_8(const float* x, Eigen::Index in, T* q, float* scale) {
  constexpr float qmax = 127;
  constexpr std::int32_t zero = std::is_same<T, std::uint8_t>::value ? 128 : 0;
  const Eigen::Index groups = int8_groups(in);
  std::fill(q, q + groups * kGroupSize, static_cast<T>(zero));
  for (Eigen::Index g = 0; g < groups; ++g) {
    const Eigen::Index begin = g * kGroupSize, end = std::min(in, begin + kGroupSize);
    const float amax = finite_amax(x, begin, end);
    scale[g] = amax / qmax;
    if (amax > 0) round_span(x, begin, end, amax, qmax, zero, q);
  }
}

/// A call's quantized activations: T rows of groups * G values (int16, or
/// uint8 for the k-quad kernel) and their scales, (T) or (T, groups).
struct Int8Rows {
  std::vector<std::int16_t> q16;
  std::vector<std::uint8_t> q8;
  std::vector<float> scale;
  std::ptrdiff_t act_row = 1, act_group = 0;  // scale of row r, group g: scale[r * act_row + g * act_group]
};

/// gemm_panels for int8 weights: y rows [r0, r1) x panels [p0, p1) from the
/// quantized rows; `panels`, `scales` (P, groups, NR) and, for k-quads,
/// `offset` (P, groups, NR) as pack_panels_int8 wrote them.
inline void gemm_panels_int8(MicroKernelInt8 kernel, Eigen::Index mr, Eigen::Index nr, const Int8Rows& rows,
                             Eigen::Index groups, Eigen::Index r0, Eigen::Index r1, const std::int8_t* panels,
                             const float* scales, const std::int32_t* offset, Eigen::Index p0, Eigen::Index p1,
                             Eigen::Index out, const float* bias, float* y, Eigen::Index ldy,
                             const std::optional<Activation>& act) {
  const Eigen::Index lda = groups * kGroupSize;
  const bool bytes = !rows.q8.empty();
  for (Eigen::Index p = p0; p < p1; ++p) {
    const int cols = static_cast<int>(std::min(nr, out - p * nr));
    for_each_row_tile(r0, r1, mr, [&](Eigen::Index r, Eigen::Index count) {
      const void* a = bytes ? static_cast<const void*>(rows.q8.data() + r * lda)
                            : static_cast<const void*>(rows.q16.data() + r * lda);
      const MicroTileInt8 tile{a,
                               lda,
                               panels + p * lda * nr,
                               offset != nullptr ? offset + p * groups * nr : nullptr,
                               groups,
                               bias + p * nr,
                               scales + p * groups * nr,
                               rows.scale.data() + r * rows.act_row,
                               rows.act_row,
                               rows.act_group,
                               y + r * ldy + p * nr,
                               ldy,
                               static_cast<int>(count),
                               cols};
      kernel(tile);
      if (act)
        for (int i = 0; i < tile.rows; ++i) activate_span(*act, tile.c + i * ldy, cols);
    });
  }
}

}  // namespace embedrank::nn::detail
