// The model-file reader: valid files open with their metadata and tensors in
// place; every kind of broken file gets its own typed error naming the file
// and the field or tensor, and none crashes (the suite also runs under
// AddressSanitizer and UndefinedBehaviorSanitizer).

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "embedrank/io/parameters.hpp"
#include "embedrank/io/weight_file.hpp"
#include "embedrank/model/transformer_encoder.hpp"
#include "support/model_fixtures.hpp"
#include "support/raw_model_file.hpp"

using embedrank::Error;
using embedrank::io::WeightFile;
using test_support::RawModelFile;

namespace {

const std::string kModel = "bert_gelu_mean";
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

std::string scratch_path(const std::string& name) { return std::string(EMBEDRANK_TEST_WORK_DIR) + "/" + name + ".bin"; }

RawModelFile good_raw() { return RawModelFile::from(*WeightFile::open(test_support::converted_model(kModel))); }

/// Stores the f32 tensor `name` as i8 (a byte per value, shape unchanged).
void make_int8(RawModelFile& raw, const std::string& name) {
  auto& t = raw.tensor(name);
  t.dtype = static_cast<std::uint8_t>(embedrank::io::DType::I8);
  t.bytes.resize(t.bytes.size() / 4);
}

// Opens `path` as a model and returns the error id and message it threw.
std::pair<std::string, std::string> load_error(const std::string& path) {
  try {
    embedrank::model::TransformerEncoder<float>::open(path);
  } catch (const Error& e) {
    return {e.id(), e.what()};
  }
  return {"(no error)", ""};
}

void require_error(const RawModelFile& raw, const std::string& name, const std::string& id, const std::string& culprit) {
  const auto [got, message] = load_error(raw.write(scratch_path(name)));
  INFO(message);
  CHECK(got == id);
  CHECK_THAT(message, Catch::Matchers::Contains(scratch_path(name)));
  CHECK_THAT(message, Catch::Matchers::Contains(culprit));
}

}  // namespace

TEST_CASE("a converted file opens with metadata, tensors in place and 64-byte alignment", "[weight_file]") {
  auto file = WeightFile::open(test_support::converted_model(kModel));
  CHECK(file->version() == 1);
  CHECK(file->metadata().get_string("config.family") == "bert");
  CHECK(file->metadata().get_int("config.hidden_size") == 32);
  CHECK(file->metadata().get_string("provenance.converter_version") == "1.0.0");
  CHECK(file->metadata().get_string_list("pooling.modes") == std::vector<std::string>{"mean"});
  CHECK(file->metadata().get_bool("pooling.normalize"));
  for (const auto& t : file->tensors()) {
    INFO(t.name);
    CHECK(reinterpret_cast<std::uintptr_t>(t.data) % 64 == 0);
  }
  const auto& qkv = file->tensor("encoder.layer.0.attention.self.qkv.weight", {96, 32});
  CHECK(qkv.dtype == embedrank::io::DType::F32);
  CHECK(qkv.numel == 96 * 32);
}

TEST_CASE("the test writer reproduces a valid file", "[weight_file]") {
  const auto [id, message] = load_error(good_raw().write(scratch_path("rewritten")));
  INFO(message);
  CHECK(id == "(no error)");
}

TEST_CASE("an int8 embedding table is read as q times the scale of its row and group of 32", "[weight_file]") {
  const std::string name = "embeddings.word_embeddings.weight";
  auto raw = good_raw();
  raw.version = 2;
  auto& table = raw.tensor(name);
  REQUIRE(table.dtype == static_cast<std::uint8_t>(embedrank::io::DType::F32));
  const auto rows = static_cast<std::int64_t>(table.shape[0]), cols = static_cast<std::int64_t>(table.shape[1]);
  const std::int64_t groups = (cols + 31) / 32;
  std::vector<float> values(static_cast<std::size_t>(rows * cols));
  std::memcpy(values.data(), table.bytes.data(), values.size() * sizeof(float));
  // Symmetric int8 per row and group, the scale a power of two times 1/127 so
  // that the expected products are easy to state: expected = q * scale.
  std::vector<std::int8_t> q(values.size());
  std::vector<float> scale(static_cast<std::size_t>(rows * groups)), expected(values.size());
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t g = 0; g < groups; ++g) {
      float amax = 0.0f;
      for (std::int64_t c = g * 32; c < std::min(cols, g * 32 + 32); ++c)
        amax = std::max(amax, std::abs(values[static_cast<std::size_t>(r * cols + c)]));
      const float s = amax > 0.0f ? amax / 127.0f : 1.0f;
      scale[static_cast<std::size_t>(r * groups + g)] = s;
      for (std::int64_t c = g * 32; c < std::min(cols, g * 32 + 32); ++c) {
        const auto i = static_cast<std::size_t>(r * cols + c);
        q[i] = static_cast<std::int8_t>(std::lround(values[i] / s));
        expected[i] = static_cast<float>(q[i]) * s;
      }
    }
  table.dtype = static_cast<std::uint8_t>(embedrank::io::DType::I8);
  table.bytes.assign(reinterpret_cast<const char*>(q.data()), q.size());
  test_support::RawTensor scales;
  scales.name = name + "_scale";
  scales.dtype = static_cast<std::uint8_t>(embedrank::io::DType::F32);
  scales.shape = {static_cast<std::uint64_t>(rows), static_cast<std::uint64_t>(groups)};
  scales.bytes.assign(reinterpret_cast<const char*>(scale.data()), scale.size() * sizeof(float));
  raw.tensors.push_back(scales);
  const auto file = WeightFile::open(raw.write(scratch_path("i8_table")));
  embedrank::io::ParameterStore<float> params(file);
  const auto rows_table = params.rows(name, {rows, cols});
  for (std::int64_t r : {std::int64_t{0}, rows / 2, rows - 1}) {
    std::vector<float> got(static_cast<std::size_t>(cols), 0.0f);
    rows_table.add_row(r, got.data());
    for (std::int64_t c = 0; c < cols; ++c) CHECK(got[static_cast<std::size_t>(c)] == expected[static_cast<std::size_t>(r * cols + c)]);
  }
  CHECK_NOTHROW(embedrank::model::TransformerEncoder<float>(file));
  // A non-finite scale is refused, naming the scale tensor.
  raw.tensor(name + "_scale").bytes.replace(0, sizeof(float), reinterpret_cast<const char*>(&kNaN), sizeof(float));
  const auto broken = WeightFile::open(raw.write(scratch_path("i8_table_nan_scale")));
  CHECK_THROWS_WITH(embedrank::model::TransformerEncoder<float>(broken),
                    Catch::Contains("[embedrank.format.non_finite]") && Catch::Contains(name + "_scale"));
}

TEST_CASE("broken files get typed errors naming the culprit", "[weight_file][bad_input]") {
  SECTION("missing file") {
    const auto [id, message] = load_error(scratch_path("does_not_exist"));
    CHECK(id == "file.open");
    CHECK_THAT(message, Catch::Matchers::Contains("does_not_exist"));
  }
  SECTION("empty and truncated files") {
    const std::string bytes = good_raw().serialize();
    for (std::size_t keep : {std::size_t{0}, std::size_t{10}, std::size_t{63}, bytes.size() / 2, bytes.size() - 1}) {
      const std::string path = scratch_path("truncated");
      RawModelFile::write_bytes(path, bytes.substr(0, keep));
      const auto [id, message] = load_error(path);
      INFO("kept " << keep << " of " << bytes.size() << " bytes: " << message);
      CHECK(id == "format.truncated_file");
    }
  }
  SECTION("wrong magic") {
    auto raw = good_raw();
    raw.magic = std::string("GGUF\0\0\0\0", 8);
    require_error(raw, "bad_magic", "format.bad_magic", "magic");
  }
  SECTION("future format version") {
    auto raw = good_raw();
    raw.version = 3;
    require_error(raw, "future_version", "format.unsupported_version", "version 3");
  }
  SECTION("an int8 tensor in a version-1 file") {
    auto raw = good_raw();
    REQUIRE(raw.version == 1);
    make_int8(raw, "encoder.layer.0.intermediate.dense.weight");
    require_error(raw, "i8_in_v1", "format.bad_dtype", "encoder.layer.0.intermediate.dense.weight");
  }
  SECTION("int8 where only linear weights and tables may be int8") {
    auto raw = good_raw();
    raw.version = 2;
    make_int8(raw, "embeddings.LayerNorm.weight");
    const auto file = WeightFile::open(raw.write(scratch_path("i8_layer_norm")));
    CHECK_THROWS_WITH(embedrank::model::TransformerEncoder<float>(file),
                      Catch::Contains("[embedrank.format.unsupported_dtype]") &&
                          Catch::Contains("embeddings.LayerNorm.weight"));
  }
  SECTION("an int8 embedding table without its scales") {
    auto raw = good_raw();
    raw.version = 2;
    make_int8(raw, "embeddings.word_embeddings.weight");
    const auto file = WeightFile::open(raw.write(scratch_path("i8_table_no_scale")));
    CHECK_THROWS_WITH(embedrank::model::TransformerEncoder<float>(file),
                      Catch::Contains("[embedrank.format.missing_tensor]") &&
                          Catch::Contains("embeddings.word_embeddings.weight_scale"));
  }
  SECTION("an int8 linear weight without its scales") {
    auto raw = good_raw();
    raw.version = 2;
    make_int8(raw, "encoder.layer.0.intermediate.dense.weight");
    const std::string path = raw.write(scratch_path("i8_no_scale"));
    const auto file = WeightFile::open(path);  // the file itself is well formed
    try {
      embedrank::model::TransformerEncoder<float> encoder(file);
      FAIL("no error");
    } catch (const embedrank::FormatError& e) {
      CHECK_THAT(e.what(), Catch::Contains("format.missing_tensor") && Catch::Contains("intermediate.dense.weight_scale"));
    }
  }
  SECTION("offset past the end of the data") {
    auto raw = good_raw();
    raw.tensor("encoder.layer.1.output.dense.bias").offset = 1ull << 40;
    require_error(raw, "offset_past_end", "format.out_of_bounds", "encoder.layer.1.output.dense.bias");
  }
  SECTION("size field overflowing the data section") {
    auto raw = good_raw();
    raw.tensor("embeddings.LayerNorm.bias").nbytes = std::numeric_limits<std::uint64_t>::max() - 8;
    require_error(raw, "size_overflow", "format.size_mismatch", "embeddings.LayerNorm.bias");
  }
  SECTION("overlapping tensors") {
    auto raw = good_raw();
    raw.tensors[3].offset = 0;  // on top of tensors[0]
    require_error(raw, "overlap", "format.overlap", raw.tensors[3].name);
  }
  SECTION("misaligned tensor") {
    auto raw = good_raw();
    raw.tensors.back().offset = 8;
    require_error(raw, "misaligned", "format.misaligned", raw.tensors.back().name);
  }
  SECTION("unknown dtype") {
    auto raw = good_raw();
    raw.tensor("embeddings.word_embeddings.weight").dtype = 7;
    require_error(raw, "bad_dtype", "format.bad_dtype", "embeddings.word_embeddings.weight");
  }
  SECTION("shape and byte size disagree") {
    auto raw = good_raw();
    raw.tensor("embeddings.position_embeddings.weight").shape[0] += 1;
    require_error(raw, "size_mismatch", "format.size_mismatch", "embeddings.position_embeddings.weight");
  }
  SECTION("shape that disagrees with the config") {
    auto raw = good_raw();
    auto& t = raw.tensor("encoder.layer.1.intermediate.dense.weight");  // (64, 32) -> (32, 64)
    std::swap(t.shape[0], t.shape[1]);
    require_error(raw, "shape_vs_config", "format.shape_mismatch", "encoder.layer.1.intermediate.dense.weight");
  }
  SECTION("config that disagrees with the tensors") {
    auto raw = good_raw();
    raw.set_metadata("config.num_layers", std::int64_t{3});
    require_error(raw, "missing_layer", "format.missing_tensor", "encoder.layer.2.");
  }
  SECTION("missing tensor") {
    auto raw = good_raw();
    raw.erase_tensor("encoder.layer.0.attention.output.LayerNorm.weight");
    require_error(raw, "missing_tensor", "format.missing_tensor", "encoder.layer.0.attention.output.LayerNorm.weight");
  }
  SECTION("duplicate tensor") {
    auto raw = good_raw();
    raw.tensors.push_back(raw.tensors.front());
    require_error(raw, "duplicate", "format.duplicate_tensor", raw.tensors.front().name);
  }
  SECTION("missing and mistyped metadata") {
    auto raw = good_raw();
    raw.erase_metadata("config.hidden_size");
    require_error(raw, "missing_key", "format.missing_metadata", "config.hidden_size");
    raw = good_raw();
    raw.set_metadata("config.num_heads", std::string("four"));
    require_error(raw, "mistyped_key", "format.metadata_type", "config.num_heads");
  }
  SECTION("impossible config values") {
    auto raw = good_raw();
    raw.set_metadata("config.num_heads", std::int64_t{5});  // 32 is not divisible by 5
    require_error(raw, "heads", "format.bad_config", "config.num_heads");
    raw = good_raw();
    raw.set_metadata("config.hidden_act", std::string("mish"));
    require_error(raw, "act", "format.bad_config", "mish");
  }
  SECTION("NaN in a LayerNorm weight is rejected at load") {
    auto raw = good_raw();
    auto& t = raw.tensor("encoder.layer.1.output.LayerNorm.weight");
    const float nan = std::numeric_limits<float>::quiet_NaN();
    std::memcpy(&t.bytes[4 * 5], &nan, 4);
    require_error(raw, "nan_layer_norm", "format.non_finite", "encoder.layer.1.output.LayerNorm.weight");
  }
}

TEST_CASE("random corruption of the header never crashes", "[weight_file][bad_input][fuzz]") {
  const std::string good = good_raw().serialize();
  std::uint64_t header_size;
  std::memcpy(&header_size, good.data() + 16, 8);
  std::mt19937 rng(7);
  std::size_t rejected = 0;
  const int trials = 400;
  for (int trial = 0; trial < trials; ++trial) {
    std::string bytes = good;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) bytes[rng() % header_size] = static_cast<char>(rng());
    const std::string path = scratch_path("fuzz");
    RawModelFile::write_bytes(path, bytes);
    const auto [id, message] = load_error(path);
    rejected += id != "(no error)";
  }
  // Flips in tensor names or metadata values may still form a loadable model;
  // most corruptions must be caught.
  CHECK(rejected > trials / 2);
}
