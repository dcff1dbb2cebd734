#pragma once
/// TransformerEncoder: token ids -> token states -> pooled sentence
/// embeddings, for BERT, RoBERTa/XLM-R, DistilBERT and MPNet model files.
///
///   TT = tokens of all sequences, packed   B = sequences   H = hidden size
///
/// The encoder is immutable after loading: any number of threads may call
/// forward() at once, each with its own EncoderWorkspace.

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "embedrank/core/error.hpp"
#include "embedrank/io/parameters.hpp"
#include "embedrank/io/weight_file.hpp"
#include "embedrank/model/bert.hpp"
#include "embedrank/model/config.hpp"
#include "embedrank/model/distilbert.hpp"
#include "embedrank/model/mpnet.hpp"
#include "embedrank/model/roberta.hpp"
#include "embedrank/model/token_batch.hpp"
#include "embedrank/nn/pooling.hpp"

namespace embedrank::model {

/// How token states become one vector per sequence.
struct PoolingConfig {
  std::vector<nn::PoolingMode> modes{nn::PoolingMode::Mean};
  bool normalize = false;

  /// "pooling.modes" and "pooling.normalize" from a model file.
  static PoolingConfig from_metadata(const io::Metadata& meta) {
    PoolingConfig p;
    p.modes.clear();
    for (const auto& name : meta.get_string_list("pooling.modes")) {
      try {
        p.modes.push_back(parse<nn::PoolingMode>(name));
      } catch (const InputError&) {
        throw FormatError("bad_pooling", meta.source() + ": pooling.modes has unknown mode '" + name + "'");
      }
    }
    if (p.modes.empty()) throw FormatError("bad_pooling", meta.source() + ": pooling.modes is empty");
    p.normalize = meta.get_bool("pooling.normalize");
    return p;
  }
};

template <typename Scalar>
class TransformerEncoder {
 public:
  /// Loads and validates every tensor the config implies. Throws FileError,
  /// FormatError (naming the file and the tensor or key).
  explicit TransformerEncoder(std::shared_ptr<const io::WeightFile> file)
      : params_(file), config_(EncoderConfig::from_metadata(file->metadata())) {
    pooling_ = PoolingConfig::from_metadata(file->metadata());
    embeddings_ = BertEmbeddings<Scalar>::load(params_, config_);
    for (std::int64_t i = 0; i < config_.num_layers; ++i) {
      layers_.push_back(BertLayer<Scalar>::load(params_, config_, i));
      layers_.back().attention_self.scale_query_first =
          config_.family == Family::DistilBert && kDistilBertScalesQueryFirst;
    }
    if (config_.family == Family::MPNet)
      relative_attention_bias_ = MPNetRelativeAttentionBias<Scalar>::load(params_, config_);
    if (config_.has_pooler) pooler_ = load_linear(params_, "pooler.dense", config_.hidden_size, config_.hidden_size);
    for (auto mode : pooling_.modes)
      if (mode == nn::PoolingMode::Pooler && !config_.has_pooler)
        throw FormatError("bad_pooling", file->path() + ": pooling mode 'pooler' but the file has no pooler.dense weights");
  }

  /// Opens and loads a model file.
  static std::shared_ptr<const TransformerEncoder> open(const std::string& path) {
    return std::make_shared<const TransformerEncoder>(io::WeightFile::open(path));
  }

  const EncoderConfig& config() const { return config_; }
  const PoolingConfig& pooling() const { return pooling_; }
  const io::WeightFile& file() const { return params_.file(); }
  /// Bytes of linear-layer weights packed for the kernels (and their padded
  /// biases), held for the encoder's lifetime beside the mapped file.
  std::size_t packed_weight_bytes() const {
    std::size_t total = 0;
    const auto add = [&](const nn::Linear<Scalar>& l) {
      if (l.packed) total += l.packed->bytes();
    };
    for (const auto& layer : layers_) {
      add(layer.attention_self.qkv);
      add(layer.attention_output.dense);
      add(layer.intermediate.dense);
      add(layer.output.dense);
    }
    add(pooler_);
    return total;
  }

  /// Width of pooled embeddings: H times the number of pooling modes.
  Eigen::Index embedding_size() const {
    return static_cast<Eigen::Index>(pooling_.modes.size()) * config_.hidden_size;
  }

  /// Checks every sequence: non-empty, at most max_positions() tokens, ids in
  /// the vocabulary, token types in range. Throws InputError naming the
  /// sequence, position and value.
  void validate(const TokenBatch& batch) const {
    if (batch.offsets.empty() || batch.offsets.front() != 0 || batch.offsets.back() != batch.input_ids.size() ||
        batch.token_type_ids.size() != batch.input_ids.size())
      throw InputError("bad_batch", "token batch offsets, ids and type ids disagree");
    for (std::size_t b = 0; b < batch.size(); ++b) {
      const std::size_t length = batch.length(b);
      if (batch.offsets[b + 1] < batch.offsets[b]) throw InputError("bad_batch", "token batch offsets decrease at sequence " + std::to_string(b));
      if (length == 0) throw InputError("empty_sequence", "sequence " + std::to_string(b) + " is empty");
      if (static_cast<std::int64_t>(length) > config_.max_positions())
        throw InputError("sequence_too_long", "sequence " + std::to_string(b) + " has " + std::to_string(length) +
                                                  " tokens; the model embeds at most " + std::to_string(config_.max_positions()) +
                                                  " (truncate it, e.g. with TokenBatch::add(ids, types, max_length))");
      for (std::size_t t = batch.offsets[b]; t < batch.offsets[b + 1]; ++t) {
        const std::int32_t id = batch.input_ids[t];
        if (id < 0 || id >= config_.vocab_size)
          throw InputError("token_out_of_vocab", "sequence " + std::to_string(b) + " position " +
                                                     std::to_string(t - batch.offsets[b]) + ": token id " + std::to_string(id) +
                                                     " is outside the vocabulary [0, " + std::to_string(config_.vocab_size) + ")");
        const std::int32_t type = batch.token_type_ids[t];
        if (type < 0 || type >= std::max<std::int64_t>(config_.type_vocab_size, 1))
          throw InputError("token_type_out_of_range", "sequence " + std::to_string(b) + " position " +
                                                          std::to_string(t - batch.offsets[b]) + ": token type " +
                                                          std::to_string(type) + " is outside [0, " +
                                                          std::to_string(std::max<std::int64_t>(config_.type_vocab_size, 1)) + ")");
      }
    }
  }

  /// Token states of the last layer, (TT, H). If `hidden_states` is given, it
  /// receives the embeddings output and every layer's output (L + 1 matrices,
  /// as Hugging Face's output_hidden_states).
  Matrix<Scalar> forward(const TokenBatch& batch, EncoderWorkspace<Scalar>& ws,
                         std::vector<Matrix<Scalar>>* hidden_states = nullptr) const {
    validate(batch);
    Matrix<Scalar> hidden;  // (TT, H)
    if (batch.total_tokens() == 0) return Matrix<Scalar>(0, config_.hidden_size);
    if (config_.positions_after_padding())
      roberta_position_ids(batch, static_cast<std::int32_t>(config_.pad_token_id), ws.position_ids);
    else
      bert_position_ids(batch, ws.position_ids);
    embeddings_.forward(batch, ws.position_ids, hidden);
    if (hidden_states) hidden_states->assign(1, hidden);
    // MPNet: one relative position bias for every layer, as compute_position_bias
    const nn::RelativePositionBias<Scalar>* position_bias = nullptr;
    if (config_.family == Family::MPNet) {
      relative_attention_bias_.for_length(longest(batch), ws.position_bias);
      position_bias = &ws.position_bias;
    }
    for (const auto& layer : layers_) {
      layer.forward(hidden, ws.layer_scratch, batch, position_bias, ws);
      if (hidden_states) hidden_states->push_back(hidden);
    }
    return hidden;
  }

  /// forward() with a workspace of its own, on at most `threads` threads of
  /// ThreadPool::shared() (<= 0: all of them).
  Matrix<Scalar> forward(const TokenBatch& batch, int threads = 0) const {
    EncoderWorkspace<Scalar> ws(threads);
    return forward(batch, ws);
  }

  /// Pools token states (TT, H) into (B, M*H) with the given pooling (the
  /// model file's by default), L2-normalised when it says so.
  Matrix<Scalar> pool(const Matrix<Scalar>& states, const TokenBatch& batch) const { return pool(states, batch, pooling_); }

  Matrix<Scalar> pool(const Matrix<Scalar>& states, const TokenBatch& batch, const PoolingConfig& pooling) const {
    Matrix<Scalar> pooled = nn::pool<Scalar>(states, batch.offsets, pooling.modes, config_.has_pooler ? &pooler_ : nullptr);
    if (pooling.normalize) nn::l2_normalize_rows(pooled);
    return pooled;
  }

  /// Sentence embeddings (B, M*H): forward, then pool.
  Matrix<Scalar> embed(const TokenBatch& batch, EncoderWorkspace<Scalar>& ws) const { return pool(forward(batch, ws), batch); }

 private:
  static Eigen::Index longest(const TokenBatch& batch) {
    std::size_t T = 0;
    for (std::size_t b = 0; b < batch.size(); ++b) T = std::max(T, batch.length(b));
    return static_cast<Eigen::Index>(T);
  }

  io::ParameterStore<Scalar> params_;
  EncoderConfig config_;
  PoolingConfig pooling_;
  BertEmbeddings<Scalar> embeddings_;
  std::vector<BertLayer<Scalar>> layers_;
  MPNetRelativeAttentionBias<Scalar> relative_attention_bias_;  // MPNet only
  nn::Linear<Scalar> pooler_;
};

}  // namespace embedrank::model
