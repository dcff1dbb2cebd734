#pragma once
/// The encoder's hyper-parameters, read from a model file's "config.*"
/// metadata (written by weights_tools/convert.py from config.json).

#include <cstdint>
#include <string>

#include "embedrank/core/enum_text.hpp"
#include "embedrank/core/error.hpp"
#include "embedrank/io/metadata.hpp"
#include "embedrank/nn/activations.hpp"

namespace embedrank::model {

/// Model families: they share the post-LN BERT block and differ in
/// embeddings and attention details (see bert.hpp, roberta.hpp,
/// distilbert.hpp, mpnet.hpp).
enum class Family { Bert, Roberta, DistilBert, MPNet };

/// Names as the model file's config.family.
inline EnumText<Family> enum_text(Family) {
  static constexpr EnumName<Family> names[] = {{Family::Bert, "bert"},
                                               {Family::Roberta, "roberta"},
                                               {Family::DistilBert, "distilbert"},
                                               {Family::MPNet, "mpnet"}};
  return {"model family", "unknown_family", names};
}

struct EncoderConfig {
  Family family = Family::Bert;
  std::int64_t vocab_size = 0;               // V
  std::int64_t hidden_size = 0;              // H
  std::int64_t num_layers = 0;               // L
  std::int64_t num_heads = 0;                // NH
  std::int64_t intermediate_size = 0;        // I
  std::int64_t max_position_embeddings = 0;  // P
  std::int64_t type_vocab_size = 0;          // 0 for DistilBERT and MPNet
  std::int64_t pad_token_id = 0;             // RoBERTa's and MPNet's padding_idx
  std::int64_t relative_attention_buckets = 0;  // MPNet: rows of the relative-position bias table
  std::string hidden_act = "gelu";
  nn::Activation activation = nn::Activation::Gelu;
  double layer_norm_eps = 1e-12;
  bool has_pooler = false;
  std::int64_t max_seq_length = 0;  // tokens per sequence, special tokens included

  std::int64_t head_size() const { return hidden_size / num_heads; }

  /// Positions start at padding_idx + 1 (RoBERTa, MPNet) instead of 0.
  bool positions_after_padding() const { return family == Family::Roberta || family == Family::MPNet; }

  /// Longest sequence the position table can embed. RoBERTa and MPNet
  /// positions start at padding_idx + 1, so they lose padding_idx + 1 rows.
  std::int64_t max_positions() const {
    return positions_after_padding() ? max_position_embeddings - pad_token_id - 1 : max_position_embeddings;
  }

  /// Reads and validates the config; FormatError names the file and key.
  static EncoderConfig from_metadata(const io::Metadata& meta) {
    EncoderConfig c;
    c.family = meta.get_enum<Family>("config.family", "unknown_family");

    auto positive = [&](const char* key) {
      const std::int64_t v = meta.get_int(key);
      if (v <= 0 || v > (std::int64_t{1} << 31))
        throw FormatError("bad_config", meta.source() + ": " + key + " = " + std::to_string(v) + " is out of range");
      return v;
    };
    c.vocab_size = positive("config.vocab_size");
    c.hidden_size = positive("config.hidden_size");
    c.num_layers = positive("config.num_layers");
    c.num_heads = positive("config.num_heads");
    c.intermediate_size = positive("config.intermediate_size");
    c.max_position_embeddings = positive("config.max_position_embeddings");
    c.type_vocab_size = meta.get_int("config.type_vocab_size");
    c.pad_token_id = meta.get_int("config.pad_token_id");
    c.hidden_act = meta.get_string("config.hidden_act");
    c.layer_norm_eps = meta.get_float("config.layer_norm_eps");
    c.has_pooler = meta.get_bool("config.has_pooler", false);

    if (c.hidden_size % c.num_heads != 0)
      throw FormatError("bad_config", meta.source() + ": config.hidden_size " + std::to_string(c.hidden_size) +
                                          " is not divisible by config.num_heads " + std::to_string(c.num_heads));
    const bool has_token_types = c.family == Family::Bert || c.family == Family::Roberta;
    if (c.type_vocab_size < 0 || (!has_token_types && c.type_vocab_size != 0))
      throw FormatError("bad_config", meta.source() + ": config.type_vocab_size " + std::to_string(c.type_vocab_size) +
                                          " is invalid for family " + to_string(c.family));
    if (c.pad_token_id < 0 || c.pad_token_id >= c.vocab_size)
      throw FormatError("bad_config", meta.source() + ": config.pad_token_id " + std::to_string(c.pad_token_id) +
                                          " is outside the vocabulary");
    if (c.family == Family::MPNet) {
      c.relative_attention_buckets = meta.get_int("config.relative_attention_buckets");
      if (c.relative_attention_buckets < 32 || c.relative_attention_buckets > 4096)
        throw FormatError("bad_config", meta.source() + ": config.relative_attention_buckets " +
                                            std::to_string(c.relative_attention_buckets) +
                                            " is outside 32..4096 (MPNet looks up 32 buckets)");
    }
    if (!(c.layer_norm_eps > 0.0) || c.layer_norm_eps > 1.0)
      throw FormatError("bad_config", meta.source() + ": config.layer_norm_eps must be in (0, 1]");
    if (c.max_positions() <= 0)
      throw FormatError("bad_config", meta.source() + ": config.max_position_embeddings leaves no usable position");
    try {
      c.activation = parse<nn::Activation>(c.hidden_act);
    } catch (const InputError&) {
      throw FormatError("bad_config", meta.source() + ": config.hidden_act '" + c.hidden_act + "' is not supported");
    }
    c.max_seq_length = meta.get_int("model.max_seq_length", c.max_positions());
    if (c.max_seq_length <= 0 || c.max_seq_length > c.max_positions())
      throw FormatError("bad_config", meta.source() + ": model.max_seq_length " + std::to_string(c.max_seq_length) +
                                          " is outside 1.." + std::to_string(c.max_positions()));
    return c;
  }
};

}  // namespace embedrank::model
