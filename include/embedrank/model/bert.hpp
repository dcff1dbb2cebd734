#pragma once
/// BERT, module by module, mirroring modeling_bert.py of Hugging Face
/// transformers (https://github.com/huggingface/transformers/blob/v4.44.2/src/transformers/models/bert/modeling_bert.py):
/// BertEmbeddings, BertSelfAttention, BertSelfOutput, BertIntermediate,
/// BertOutput, BertLayer. Each struct is loaded from its Hugging Face name
/// prefix and has a const forward. RoBERTa and DistilBERT reuse these modules
/// with the differences in roberta.hpp and distilbert.hpp.
///
///   TT = tokens of all sequences, packed    B = sequences
///   H  = hidden size   I = intermediate size   NH = heads   HS = H / NH

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "embedrank/core/cpu_features.hpp"
#include "embedrank/core/tensor.hpp"
#include "embedrank/core/thread_pool.hpp"
#include "embedrank/io/parameters.hpp"
#include "embedrank/model/config.hpp"
#include "embedrank/model/token_batch.hpp"
#include "embedrank/nn/activations.hpp"
#include "embedrank/nn/fused_attention.hpp"
#include "embedrank/nn/layer_norm.hpp"
#include "embedrank/nn/linear.hpp"

namespace embedrank::model {

/// A float layer packs its weight for the GEMM kernels in the file's own
/// storage type (f16/bf16 stay half-size; int8 comes with its scales
/// "<prefix>.weight_scale", one per output row and group of 32 inputs, and
/// quantizes its input to `activation_bits`); a double layer widens it for
/// Eigen.
template <typename Scalar>
nn::Linear<Scalar> load_linear(io::ParameterStore<Scalar>& params, const std::string& prefix, std::int64_t out,
                               std::int64_t in, int activation_bits = 16) {
  nn::Linear<Scalar> l;
  l.bias = params.get(prefix + ".bias", {out});
  l.out_features = out;
  l.in_features = in;
  if constexpr (std::is_same<Scalar, float>::value) {
    const io::TensorInfo& w = params.tensor(prefix + ".weight", {out, in});
    const float* scale = w.dtype == io::DType::I8
                             ? params.get(prefix + ".weight_scale", {out, nn::detail::int8_groups(in)})
                             : nullptr;
    l.packed = std::make_shared<const nn::PackedLinear>(w.data, w.dtype, l.bias, out, in, default_simd_level(), scale,
                                                        activation_bits);
  } else {
    l.weight = params.get(prefix + ".weight", {out, in});
  }
  return l;
}

template <typename Scalar>
nn::LayerNorm<Scalar> load_layer_norm(io::ParameterStore<Scalar>& params, const std::string& prefix, std::int64_t size,
                                      double eps) {
  nn::LayerNorm<Scalar> ln;
  ln.weight = params.get(prefix + ".weight", {size});
  ln.bias = params.get(prefix + ".bias", {size});
  ln.size = size;
  ln.eps = static_cast<Scalar>(eps);
  return ln;
}

/// Scratch buffers of one forward pass, reused across calls of the same
/// batch shape, and the threads that run it. One workspace per concurrent
/// caller; the model itself is never written to.
template <typename Scalar>
struct EncoderWorkspace {
  /// Runs on `pool` (null: ThreadPool::shared()), at most `threads` threads
  /// a region (<= 0: all of the pool's; 1: the calling thread only). Starts
  /// no thread.
  explicit EncoderWorkspace(int threads = 0, ThreadPool* pool = nullptr)
      : pool(pool, threads) {}
  ThreadPool pool;  // a view of the pool above
  std::vector<std::int32_t> position_ids;      // (TT)
  Matrix<Scalar> layer_scratch;                // (TT, H) a layer's attention output before its residual
  Matrix<Scalar> qkv;                          // (TT, 3H)
  Matrix<Scalar> context_layer;                // (TT, H)
  Matrix<Scalar> intermediate;                 // (TT, I)
  std::vector<nn::AttentionScratch> attention;  // one per pool thread
  nn::RelativePositionBias<Scalar> position_bias;  // (NH, 2T - 1), MPNet only
};

/// BertEmbeddings: word + position + token type embeddings, then LayerNorm.
template <typename Scalar>
struct BertEmbeddings {
  io::RowTable<Scalar> word_embeddings;        // (V, H)
  io::RowTable<Scalar> position_embeddings;    // (P, H)
  io::RowTable<Scalar> token_type_embeddings;  // (TV, H), no rows for DistilBERT
  nn::LayerNorm<Scalar> layer_norm;
  Eigen::Index hidden_size = 0;

  static BertEmbeddings load(io::ParameterStore<Scalar>& params, const EncoderConfig& c) {
    BertEmbeddings e;
    const std::string p = "embeddings.";
    e.word_embeddings = params.rows(p + "word_embeddings.weight", {c.vocab_size, c.hidden_size});
    e.position_embeddings = params.rows(p + "position_embeddings.weight", {c.max_position_embeddings, c.hidden_size});
    if (c.type_vocab_size > 0)
      e.token_type_embeddings = params.rows(p + "token_type_embeddings.weight", {c.type_vocab_size, c.hidden_size});
    e.layer_norm = load_layer_norm(params, p + "LayerNorm", c.hidden_size, c.layer_norm_eps);
    e.hidden_size = c.hidden_size;
    return e;
  }

  /// hidden (TT, H) = LayerNorm(word[input_ids] + position[position_ids] + token_type[token_type_ids])
  void forward(const TokenBatch& batch, const std::vector<std::int32_t>& position_ids, Matrix<Scalar>& hidden) const {
    const Eigen::Index H = hidden_size;
    const auto TT = static_cast<Eigen::Index>(batch.total_tokens());
    hidden.setZero(TT, H);
    for (Eigen::Index t = 0; t < TT; ++t) {
      Scalar* row = &hidden(t, 0);
      word_embeddings.add_row(batch.input_ids[static_cast<std::size_t>(t)], row);
      position_embeddings.add_row(position_ids[static_cast<std::size_t>(t)], row);
      if (token_type_embeddings.rows > 0) token_type_embeddings.add_row(batch.token_type_ids[static_cast<std::size_t>(t)], row);
    }
    layer_norm.forward_rows(hidden, 0, TT);
  }
};

/// BertSelfAttention with query, key and value fused into one projection
/// (the converter stores `attention.self.qkv` = [query; key; value]).
template <typename Scalar>
struct BertSelfAttention {
  nn::Linear<Scalar> qkv;  // (3H, H)
  Eigen::Index num_heads = 0;
  bool scale_query_first = false;  // DistilBERT divides q by sqrt(HS) before Q K^T

  /// The attention kernels run at the level the projection's were packed for.
  SimdLevel kernel_level() const { return qkv.packed ? qkv.packed->level() : SimdLevel::Portable; }

  /// context_layer (TT, H) = concat over heads of softmax(Q K^T / sqrt(HS) [+ position_bias]) V
  void forward(const Matrix<Scalar>& hidden, const TokenBatch& batch, const nn::RelativePositionBias<Scalar>* position_bias,
               EncoderWorkspace<Scalar>& ws) const {
    ws.qkv.resize(hidden.rows(), qkv.out_features);
    qkv.forward(hidden, ws.qkv, ws.pool);
    ws.context_layer.resize(hidden.rows(), hidden.cols());
    nn::multi_head_attention<Scalar>(ws.qkv, batch.offsets, num_heads, scale_query_first, position_bias,
                                     ws.context_layer, ws.attention, ws.pool, kernel_level());
  }
};

/// BertSelfOutput and BertOutput have the same shape: a dense projection,
/// then LayerNorm over the residual sum (post-LN).
template <typename Scalar>
struct DenseResidualLayerNorm {
  nn::Linear<Scalar> dense;
  nn::LayerNorm<Scalar> layer_norm;

  /// hidden = LayerNorm(dense(input) + hidden), with `out` (TT, H) as
  /// scratch; the residual sum and LayerNorm run on each block of rows as
  /// soon as the GEMM has finished it (its epilogue).
  void forward(const Matrix<Scalar>& input, Matrix<Scalar>& hidden, Matrix<Scalar>& out, ThreadPool& pool) const {
    out.resize(hidden.rows(), hidden.cols());
    const Eigen::Index H = hidden.cols();
    dense.forward(input, out, pool, std::nullopt, [&](Eigen::Index begin, Eigen::Index end) {
      for (Eigen::Index t = begin; t < end; ++t) {
        Scalar* row = &out(t, 0);
        const Scalar* residual = &hidden(t, 0);
        for (Eigen::Index i = 0; i < H; ++i) row[i] += residual[i];
        layer_norm.normalize(row);
      }
    });
    hidden.swap(out);
  }
};

/// BertIntermediate: intermediate = act(dense(hidden)).
template <typename Scalar>
struct BertIntermediate {
  nn::Linear<Scalar> dense;  // (I, H)
  nn::Activation activation = nn::Activation::Gelu;

  /// The activation runs in the GEMM's epilogue, on each tile as it is stored.
  void forward(const Matrix<Scalar>& hidden, Matrix<Scalar>& intermediate, ThreadPool& pool) const {
    intermediate.resize(hidden.rows(), dense.out_features);
    dense.forward(hidden, intermediate, pool, activation);
  }
};

/// BertLayer: attention (self + output), then the feed-forward block.
template <typename Scalar>
struct BertLayer {
  BertSelfAttention<Scalar> attention_self;
  DenseResidualLayerNorm<Scalar> attention_output;  // BertSelfOutput
  BertIntermediate<Scalar> intermediate;
  DenseResidualLayerNorm<Scalar> output;            // BertOutput

  static BertLayer load(io::ParameterStore<Scalar>& params, const EncoderConfig& c, std::int64_t index) {
    const std::string p = "encoder.layer." + std::to_string(index) + ".";
    const std::int64_t H = c.hidden_size, I = c.intermediate_size;
    // int8 files name the linear layers whose inputs are quantized to 8 bits
    const io::Metadata& meta = params.file().metadata();
    const std::vector<std::string> none;
    const auto& bytes = meta.has("int8.byte_activations") ? meta.get_string_list("int8.byte_activations") : none;
    const auto bits = [&](const char* name) {
      return std::find(bytes.begin(), bytes.end(), name) != bytes.end() ? 8 : 16;
    };
    BertLayer l;
    l.attention_self.qkv = load_linear(params, p + "attention.self.qkv", 3 * H, H, bits("attention.self.qkv"));
    l.attention_self.num_heads = c.num_heads;
    l.attention_output.dense =
        load_linear(params, p + "attention.output.dense", H, H, bits("attention.output.dense"));
    l.attention_output.layer_norm = load_layer_norm(params, p + "attention.output.LayerNorm", H, c.layer_norm_eps);
    l.intermediate.dense = load_linear(params, p + "intermediate.dense", I, H, bits("intermediate.dense"));
    l.intermediate.activation = c.activation;
    l.output.dense = load_linear(params, p + "output.dense", H, I, bits("output.dense"));
    l.output.layer_norm = load_layer_norm(params, p + "output.LayerNorm", H, c.layer_norm_eps);
    return l;
  }

  /// hidden (TT, H) -> hidden (TT, H); `scratch` (TT, H) is swapped with it.
  /// position_bias: MPNet's relative position bias, null for the others.
  void forward(Matrix<Scalar>& hidden, Matrix<Scalar>& scratch, const TokenBatch& batch,
               const nn::RelativePositionBias<Scalar>* position_bias, EncoderWorkspace<Scalar>& ws) const {
    attention_self.forward(hidden, batch, position_bias, ws);
    attention_output.forward(ws.context_layer, hidden, scratch, ws.pool);
    intermediate.forward(hidden, ws.intermediate, ws.pool);
    output.forward(ws.intermediate, hidden, scratch, ws.pool);
  }
};

/// BERT positions: 0, 1, ..., T-1 within each sequence, into positions (TT).
inline void bert_position_ids(const TokenBatch& batch, std::vector<std::int32_t>& positions) {
  positions.resize(batch.total_tokens());
  for (std::size_t b = 0; b < batch.size(); ++b)
    for (std::size_t t = batch.offsets[b]; t < batch.offsets[b + 1]; ++t)
      positions[t] = static_cast<std::int32_t>(t - batch.offsets[b]);
}

}  // namespace embedrank::model
