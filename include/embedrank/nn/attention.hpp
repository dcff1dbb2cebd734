#pragma once
/// Scaled dot-product attention, the heart of the transformer encoder.
///
/// Dimension letters used below:
///   B  = sequences in the batch
///   T  = tokens of one sequence        TT = tokens of all sequences, packed
///   H  = hidden size                   NH = attention heads
///   HS = head size = H / NH
///
/// The batch is packed without padding: sequence b owns rows
/// [offsets[b], offsets[b+1]) of every (TT, *) matrix. Attention never looks
/// across sequences, so a padded key ("masked key" in Hugging Face) simply
/// does not exist here: it gets exactly zero weight, as in modeling_bert.py
/// where the mask adds the dtype's minimum before the softmax.

#include <cmath>
#include <cstddef>
#include <vector>

#include "embedrank/core/tensor.hpp"
#include "embedrank/core/thread_pool.hpp"

namespace embedrank::nn {

/// A bias added to the attention scores that depends only on where the key
/// sits relative to the query (MPNet's relative position buckets, see
/// model/mpnet.hpp), one row per head:
///   attention_scores(i, j) += values(h, (j - i) + radius)
template <typename Scalar>
struct RelativePositionBias {
  Matrix<Scalar> values;    // (NH, 2 * radius + 1)
  Eigen::Index radius = 0;  // covers |j - i| <= radius: sequences of up to radius + 1 tokens

  /// Head h's biases, indexed by j - i in [-radius, radius].
  const Scalar* head(Eigen::Index h) const { return values.data() + h * values.cols() + radius; }
};

/// Attention of one head over one sequence.
///
///   query, key, value  (T, HS)  slices of the fused QKV projection
///   scores             (T, T)   scratch, resized as needed
///   context            (T, HS)  output: this head's slice of context_layer
///
/// scale = 1 / sqrt(HS). BERT scales the scores after Q K^T; DistilBERT scales
/// the query before the product (scale_query_first); both are the same math,
/// the flag only reproduces the reference's rounding. position_bias, when
/// given, is this head's RelativePositionBias::head(h).
template <typename Scalar, typename QueryBlock, typename KeyBlock, typename ValueBlock, typename ContextBlock>
void scaled_dot_product_attention(const QueryBlock& query, const KeyBlock& key, const ValueBlock& value,
                                  Scalar scale, bool scale_query_first, const Scalar* position_bias,
                                  Matrix<Scalar>& scores, ContextBlock&& context) {
  const Eigen::Index T = query.rows();
  scores.resize(T, T);

  // 1. attention_scores = Q K^T / sqrt(HS)
  if (scale_query_first) {
    scores.noalias() = (query * scale) * key.transpose();
  } else {
    scores.noalias() = query * key.transpose();
    scores *= scale;
  }
  // 1b. attention_scores += position_bias (MPNet: by key position - query position)
  if (position_bias)
    for (Eigen::Index i = 0; i < T; ++i)
      for (Eigen::Index j = 0; j < T; ++j) scores(i, j) += position_bias[j - i];

  for (Eigen::Index i = 0; i < T; ++i) {
    auto row = scores.row(i);
    // 2. subtract the row max before exp, for numerical stability
    const Scalar row_max = row.maxCoeff();
    // 3. exponentiate and sum
    row = (row.array() - row_max).exp().matrix();
    const Scalar row_sum = row.sum();
    // 4. normalise: attention_probs = softmax(attention_scores)
    row /= row_sum;
  }

  // 5. context_layer = attention_probs V
  context.noalias() = scores * value;
}

/// Multi-head self-attention over a packed batch, one (sequence, head) at a
/// time through scaled_dot_product_attention: the reference the fused fast
/// path (nn/fused_attention.hpp) is tested against, and the double path.
///
///   qkv      (TT, 3H)  [Q | K | V], head h of Q in columns [h*HS, (h+1)*HS)
///   offsets  (B + 1)   sequence boundaries in rows
///   context  (TT, H)   output, heads concatenated in order (the inverse of
///                      the contiguous head split)
///   position_bias  optional, radius at least the longest T - 1
///   scratch  one (T, T) score matrix per pool thread
///
/// Each (sequence, head) pair is independent; pairs are spread across the pool.
template <typename Scalar>
void multi_head_attention_reference(const Matrix<Scalar>& qkv, const std::vector<std::size_t>& offsets,
                                    Eigen::Index num_heads, bool scale_query_first,
                                    const RelativePositionBias<Scalar>* position_bias, Matrix<Scalar>& context,
                                    std::vector<Matrix<Scalar>>& scratch, ThreadPool& pool) {
  const Eigen::Index H = context.cols();
  const Eigen::Index HS = H / num_heads;
  const Scalar scale = Scalar(1) / std::sqrt(Scalar(HS));
  const std::size_t B = offsets.size() - 1;
  const std::size_t pairs = B * static_cast<std::size_t>(num_heads);
  scratch.resize(static_cast<std::size_t>(pool.size()));

  pool.parallel_for(std::min<std::size_t>(pairs, static_cast<std::size_t>(pool.size())), [&](std::size_t chunk) {
    const std::size_t chunks = std::min<std::size_t>(pairs, static_cast<std::size_t>(pool.size()));
    for (std::size_t pair = pairs * chunk / chunks; pair < pairs * (chunk + 1) / chunks; ++pair) {
      const std::size_t b = pair / static_cast<std::size_t>(num_heads);
      const Eigen::Index h = static_cast<Eigen::Index>(pair % static_cast<std::size_t>(num_heads));
      const auto start = static_cast<Eigen::Index>(offsets[b]);
      const auto T = static_cast<Eigen::Index>(offsets[b + 1] - offsets[b]);
      scaled_dot_product_attention<Scalar>(qkv.block(start, h * HS, T, HS),          // query
                                           qkv.block(start, H + h * HS, T, HS),      // key
                                           qkv.block(start, 2 * H + h * HS, T, HS),  // value
                                           scale, scale_query_first, position_bias ? position_bias->head(h) : nullptr,
                                           scratch[chunk],
                                           context.block(start, h * HS, T, HS));
    }
  });
}

}  // namespace embedrank::nn
