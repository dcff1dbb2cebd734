#pragma once
/// MPNet (modeling_mpnet.py of Hugging Face transformers,
/// https://github.com/huggingface/transformers/blob/v4.44.2/src/transformers/models/mpnet/modeling_mpnet.py):
/// the post-LN BERT block of bert.hpp under other names (the converter maps
/// attention.attn.q/k/v/o and attention.LayerNorm onto BERT's), with three
/// differences:
///   - positions as RoBERTa (roberta.hpp): padding_idx + 1, padding_idx + 2,
///     ... with padding_idx fixed at 1 by MPNetEmbeddings;
///   - no token-type embeddings;
///   - MPNetEncoder.compute_position_bias: every layer's attention scores get
///     a bias that depends on the key's position relative to the query's,
///     looked up per head in one table (relative_attention_bias, buckets x NH)
///     shared by all layers:
///       attention_scores(i, j) += relative_attention_bias[bucket(j - i)][h]
///
///   T = tokens of the longest sequence   NH = heads

#include <cstdint>
#include <string>

#include "embedrank/core/error.hpp"
#include "embedrank/core/tensor.hpp"
#include "embedrank/io/parameters.hpp"
#include "embedrank/model/config.hpp"
#include "embedrank/nn/attention.hpp"

namespace embedrank::model {

/// MPNetEncoder.relative_position_bucket(relative_position = key - query,
/// num_buckets = 32, max_distance = 128): the sign of query - key picks a half
/// of 16 buckets (key before or at the query: 0..15, after: 16..31); distances
/// n < 8 get one bucket each; longer ones share logarithmic buckets
///   8 + floor(8 * log(n / 8) / log(128 / 8)) = 8 + floor(2 * log2(n / 8)),
/// capped at 15. The floor is computed exactly, as the largest k with
/// n^2 >= 64 * 2^k: the float formula lands on an integer at n = 16, 32, 64,
/// 128, where PyTorch's float32 gives that integer (10, 12, 14, 15).
inline int mpnet_relative_position_bucket(std::int64_t relative_position) {
  const std::int64_t n = -relative_position;  // query - key
  const int half = n < 0 ? 16 : 0;
  const std::int64_t distance = n < 0 ? -n : n;
  if (distance < 8) return half + static_cast<int>(distance);
  int k = 0;
  while (k < 7 && distance * distance >= (std::int64_t{64} << (k + 1))) ++k;
  return half + 8 + k;
}

/// MPNetEncoder.relative_attention_bias: (buckets, NH), read once at load.
template <typename Scalar>
struct MPNetRelativeAttentionBias {
  static constexpr int kBuckets = 32;  // compute_position_bias's num_buckets
  Matrix<Scalar> table;                // (32, NH): the rows the buckets reach

  static MPNetRelativeAttentionBias load(io::ParameterStore<Scalar>& params, const EncoderConfig& c) {
    const std::string name = "encoder.relative_attention_bias.weight";
    const Scalar* values = params.get(name, {c.relative_attention_buckets, c.num_heads});
    MPNetRelativeAttentionBias bias;
    bias.table = Eigen::Map<const Matrix<Scalar>>(values, kBuckets, c.num_heads);
    if (!bias.table.allFinite())
      throw FormatError("non_finite", params.file().path() + ": tensor " + name + " holds NaN or infinity");
    return bias;
  }

  /// The bias of every head for every key - query in [-(T - 1), T - 1]:
  /// bias.values(h, d + T - 1) = table(bucket(d), h). Fills `bias` (the
  /// workspace's, so its storage is reused for batches of the same length).
  void for_length(Eigen::Index T, nn::RelativePositionBias<Scalar>& bias) const {
    bias.radius = T > 0 ? T - 1 : 0;
    bias.values.resize(table.cols(), 2 * bias.radius + 1);
    for (Eigen::Index d = -bias.radius; d <= bias.radius; ++d) {
      const int bucket = mpnet_relative_position_bucket(d);
      for (Eigen::Index h = 0; h < table.cols(); ++h) bias.values(h, d + bias.radius) = table(bucket, h);
    }
  }
};

}  // namespace embedrank::model
