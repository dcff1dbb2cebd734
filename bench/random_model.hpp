#pragma once
// A BERT model file with random weights and a chosen shape, for benchmarks:
// the arithmetic of a model does not depend on what its weights are.

#include <random>
#include <string>

#include "embedrank/io/weight_file_writer.hpp"

namespace bench_support {

struct BertShape {
  std::int64_t vocab = 30522, hidden = 384, layers = 6, heads = 12, intermediate = 1536, positions = 512;
};

/// all-MiniLM-L6-v2's dimensions by default.
inline std::string write_random_bert(const std::string& path, const BertShape& s = {}, unsigned seed = 42) {
  embedrank::io::WeightFileWriter w;
  auto& m = w.metadata();
  m.set("config.family", "bert");
  m.set("config.vocab_size", s.vocab);
  m.set("config.hidden_size", s.hidden);
  m.set("config.num_layers", s.layers);
  m.set("config.num_heads", s.heads);
  m.set("config.intermediate_size", s.intermediate);
  m.set("config.max_position_embeddings", s.positions);
  m.set("config.type_vocab_size", std::int64_t{2});
  m.set("config.pad_token_id", std::int64_t{0});
  m.set("config.hidden_act", "gelu");
  m.set("config.layer_norm_eps", 1e-12);
  m.set("config.has_pooler", false);
  m.set("model.max_seq_length", s.positions);
  m.set("pooling.modes", std::vector<std::string>{"mean"});
  m.set("pooling.normalize", true);
  m.set("provenance.source", "random weights");

  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  auto add = [&](const std::string& name, std::vector<std::int64_t> shape, float fill = 0.0f) {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    std::vector<float> v(static_cast<std::size_t>(n));
    for (auto& x : v) x = fill + normal(rng);
    w.add_tensor(name, std::move(shape), std::move(v));
  };
  const std::int64_t H = s.hidden, I = s.intermediate;
  add("embeddings.word_embeddings.weight", {s.vocab, H});
  add("embeddings.position_embeddings.weight", {s.positions, H});
  add("embeddings.token_type_embeddings.weight", {2, H});
  add("embeddings.LayerNorm.weight", {H}, 1.0f);
  add("embeddings.LayerNorm.bias", {H});
  for (std::int64_t l = 0; l < s.layers; ++l) {
    const std::string p = "encoder.layer." + std::to_string(l) + ".";
    add(p + "attention.self.qkv.weight", {3 * H, H});
    add(p + "attention.self.qkv.bias", {3 * H});
    add(p + "attention.output.dense.weight", {H, H});
    add(p + "attention.output.dense.bias", {H});
    add(p + "attention.output.LayerNorm.weight", {H}, 1.0f);
    add(p + "attention.output.LayerNorm.bias", {H});
    add(p + "intermediate.dense.weight", {I, H});
    add(p + "intermediate.dense.bias", {I});
    add(p + "output.dense.weight", {H, I});
    add(p + "output.dense.bias", {H});
    add(p + "output.LayerNorm.weight", {H}, 1.0f);
    add(p + "output.LayerNorm.bias", {H});
  }
  w.write(path);
  return path;
}

}  // namespace bench_support
