// MPNet's pieces beyond the shared BERT block: the relative-position
// buckets, the bias table laid out for the attention, and the model file's
// MPNet entries checked at load. (Layer-by-layer parity of the tiny MPNet
// models runs with every family in test_encoder_parity.cpp.)

#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#include "embedrank/model/transformer_encoder.hpp"
#include "support/model_fixtures.hpp"
#include "support/raw_model_file.hpp"
#include "support/scratch_dir.hpp"

using embedrank::FormatError;
using embedrank::model::mpnet_relative_position_bucket;

namespace {

// MPNetEncoder.relative_position_bucket as modeling_mpnet.py writes it, in
// float32 arithmetic as PyTorch evaluates it.
int bucket_by_formula(std::int64_t relative_position) {
  std::int64_t n = -relative_position;
  int ret = n < 0 ? 16 : 0;
  n = std::abs(n);
  if (n < 8) return ret + static_cast<int>(n);
  const float large = std::log(static_cast<float>(n) / 8.0f) / static_cast<float>(std::log(128.0 / 8.0)) * 8.0f;
  return ret + std::min(8 + static_cast<int>(large), 15);
}

std::string format_error(const std::string& path) {
  try {
    embedrank::model::TransformerEncoder<float>::open(path);
  } catch (const FormatError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("MPNet relative position buckets equal modeling_mpnet.py", "[mpnet]") {
  // the values PyTorch gives (float32), from tests/data/models/mpnet_buckets.tsv
  // (weights_tools/make_pinned_ids.py): -300..300, where the logarithm lands
  // on an integer at the boundaries, and a few far distances
  std::ifstream in(std::string(EMBEDRANK_TEST_DATA_DIR) + "/models/mpnet_buckets.tsv");
  REQUIRE(in);
  int rows = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::int64_t relative_position = 0;
    int bucket = -1;
    fields >> relative_position >> bucket;
    INFO("key - query = " << relative_position);
    CHECK(mpnet_relative_position_bucket(relative_position) == bucket);
    ++rows;
  }
  CHECK(rows == 607);
  for (std::int64_t d = -5000; d <= 5000; ++d) {
    INFO("key - query = " << d);
    REQUIRE(mpnet_relative_position_bucket(d) == bucket_by_formula(d));
  }
}

TEST_CASE("MPNet's bias table is laid out by key - query for the attention", "[mpnet]") {
  embedrank::model::MPNetRelativeAttentionBias<float> bias;
  bias.table.resize(32, 3);
  for (Eigen::Index i = 0; i < bias.table.size(); ++i) bias.table.data()[i] = static_cast<float>(i);
  embedrank::nn::RelativePositionBias<float> position_bias;
  bias.for_length(40, position_bias);
  REQUIRE(position_bias.radius == 39);
  REQUIRE(position_bias.values.rows() == 3);
  for (Eigen::Index h = 0; h < 3; ++h)
    for (Eigen::Index d = -39; d <= 39; ++d)
      CHECK(position_bias.head(h)[d] == bias.table(mpnet_relative_position_bucket(d), h));
  bias.for_length(1, position_bias);  // the same storage, refilled
  CHECK(position_bias.values.cols() == 1);
  CHECK(position_bias.radius == 0);
}

TEST_CASE("MPNet model files: the bias table and its config are checked at load", "[mpnet][bad_input]") {
  const std::string source = test_support::converted_model("mpnet_relu_cls");
  auto encoder = embedrank::model::TransformerEncoder<float>::open(source);
  CHECK(encoder->config().family == embedrank::model::Family::MPNet);
  CHECK(encoder->config().relative_attention_buckets == 40);
  CHECK(encoder->config().max_positions() == 24);  // 26 rows minus padding_idx + 1

  const auto original = test_support::RawModelFile::from(*embedrank::io::WeightFile::open(source));
  const std::string work = embedrank_test::scratch_dir() + "/mpnet_broken.bin";
  {
    auto raw = original;
    raw.erase_metadata("config.relative_attention_buckets");
    CHECK_THAT(format_error(raw.write(work)), Catch::Matchers::Contains("config.relative_attention_buckets"));
  }
  {
    auto raw = original;
    raw.set_metadata("config.relative_attention_buckets", std::int64_t{16});
    CHECK_THAT(format_error(raw.write(work)), Catch::Matchers::Contains("outside 32..4096"));
  }
  {
    auto raw = original;
    raw.erase_tensor("encoder.relative_attention_bias.weight");
    CHECK_THAT(format_error(raw.write(work)), Catch::Matchers::Contains("encoder.relative_attention_bias.weight"));
  }
  {
    auto raw = original;
    auto& table = raw.tensor("encoder.relative_attention_bias.weight");
    const float nan = std::numeric_limits<float>::quiet_NaN();
    std::memcpy(&table.bytes[4 * 5], &nan, sizeof nan);
    CHECK_THAT(format_error(raw.write(work)), Catch::Matchers::Contains("NaN or infinity"));
  }
  {
    auto raw = original;
    raw.set_metadata("config.type_vocab_size", std::int64_t{2});
    CHECK_THAT(format_error(raw.write(work)), Catch::Matchers::Contains("config.type_vocab_size"));
  }
}
