#pragma once
// Paths and readers for the committed tiny models (tests/data/models, made by
// weights_tools/make_test_models.py) and their converted files, which ctest's
// convert_fixtures step writes into the build tree.

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "embedrank/core/npy.hpp"
#include "embedrank/model/token_batch.hpp"

namespace test_support {

inline const std::vector<std::string>& tiny_model_names() {
  static const std::vector<std::string> names = {
      "bert_gelu_mean",          "bert_gelu_new_cls",     "bert_relu_max_mean",
      "bert_silu_mean_sqrt_len", "bert_gelu_fast_pooler", "bert_gelu_pytorch_tanh_cls_mean",
      "xlmr_gelu_mean",          "distilbert_gelu_mean",  "distilbert_relu_cls",
      "bert_st_saved",  // bert_gelu_mean's weights, saved by sentence-transformers 6.x
      "mpnet_gelu_mean",         "mpnet_relu_cls",
  };
  return names;
}

inline std::string model_source_dir(const std::string& name) {
  return std::string(EMBEDRANK_TEST_DATA_DIR) + "/models/" + name;
}

/// The converted model file; dtype is "f32", "f16" or "bf16".
inline std::string converted_model(const std::string& name, const std::string& dtype = "f32") {
  return std::string(EMBEDRANK_TEST_WORK_DIR) + "/models/" + name + "." + dtype + ".bin";
}

inline std::vector<std::vector<std::int32_t>> read_id_lines(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path + " (regenerate: weights_tools/make_test_models.py)");
  std::vector<std::vector<std::int32_t>> lines;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::vector<std::int32_t> ids;
    for (std::int32_t id; fields >> id;) ids.push_back(id);
    lines.push_back(ids);
  }
  return lines;
}

/// The fixed inputs of a tiny model, packed into one batch.
inline embedrank::model::TokenBatch reference_batch(const std::string& name) {
  const auto ids = read_id_lines(model_source_dir(name) + "/inputs.txt");
  const auto types = read_id_lines(model_source_dir(name) + "/token_types.txt");
  embedrank::model::TokenBatch batch;
  for (std::size_t i = 0; i < ids.size(); ++i) batch.add(ids[i], types.at(i));
  return batch;
}

inline embedrank::MatrixF reference_array(const std::string& name, const std::string& array) {
  return embedrank::read_npy(model_source_dir(name) + "/" + array + ".npy");
}

}  // namespace test_support
