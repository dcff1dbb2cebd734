// Parity of TransformerEncoder with Hugging Face transformers and
// sentence-transformers on the committed tiny models of every family,
// activation and pooling mode (references: weights_tools/make_test_models.py).

#include <catch2/catch.hpp>

#include <filesystem>

#include "embedrank/model/transformer_encoder.hpp"
#include "support/model_fixtures.hpp"

using embedrank::Matrix;
using embedrank::MatrixF;
using embedrank::model::TokenBatch;
using embedrank::model::TransformerEncoder;
using test_support::converted_model;
using test_support::reference_array;
using test_support::reference_batch;
using test_support::tiny_model_names;

namespace {

template <typename A, typename B>
double max_abs_diff(const A& a, const B& b) {
  REQUIRE(a.rows() == b.rows());
  REQUIRE(a.cols() == b.cols());
  return (a.template cast<double>() - b.template cast<double>()).cwiseAbs().maxCoeff();
}

double min_cosine(const MatrixF& a, const MatrixF& b) {
  double worst = 1.0;
  for (Eigen::Index r = 0; r < a.rows(); ++r) {
    const Eigen::VectorXd x = a.row(r).cast<double>().transpose(), y = b.row(r).cast<double>().transpose();
    worst = std::min(worst, x.dot(y) / (x.norm() * y.norm()));
  }
  return worst;
}

// Each layer output (embeddings first) against the reference, stacked as in hidden_states.npy.
template <typename Scalar>
void check_layers(const std::string& name, double tolerance) {
  auto encoder = TransformerEncoder<Scalar>::open(converted_model(name));
  const TokenBatch batch = reference_batch(name);
  const MatrixF expected = reference_array(name, "hidden_states");
  const auto TT = static_cast<Eigen::Index>(batch.total_tokens());

  embedrank::model::EncoderWorkspace<Scalar> ws(2);
  std::vector<Matrix<Scalar>> hidden_states;
  const Matrix<Scalar> last = encoder->forward(batch, ws, &hidden_states);
  REQUIRE(hidden_states.size() == static_cast<std::size_t>(encoder->config().num_layers + 1));
  REQUIRE(expected.rows() == TT * static_cast<Eigen::Index>(hidden_states.size()));
  for (std::size_t l = 0; l < hidden_states.size(); ++l) {
    const double diff = max_abs_diff(hidden_states[l], expected.middleRows(static_cast<Eigen::Index>(l) * TT, TT));
    INFO(name << " hidden_states[" << l << "] max abs diff " << diff);
    CHECK(diff <= tolerance);
  }
  CHECK(max_abs_diff(last, hidden_states.back()) == 0.0);

  const double pooled_diff = max_abs_diff(encoder->pool(last, batch), reference_array(name, "pooled"));
  INFO(name << " pooled max abs diff " << pooled_diff);
  CHECK(pooled_diff <= tolerance);
}

}  // namespace

TEST_CASE("every committed tiny model has a parity test", "[encoder][parity]") {
  std::size_t directories = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(EMBEDRANK_TEST_DATA_DIR) + "/models"))
    directories += entry.is_directory();
  CHECK(directories == tiny_model_names().size());
}

TEST_CASE("float32 encoder matches Hugging Face on every layer and pooled output", "[encoder][parity]") {
  for (const auto& name : tiny_model_names()) {
    SECTION(name) { check_layers<float>(name, 1e-5); }
  }
}

TEST_CASE("float64 encoder matches Hugging Face (float32 reference)", "[encoder][parity][double]") {
  for (const auto& name : tiny_model_names()) {
    SECTION(name) { check_layers<double>(name, 1e-5); }
  }
}

TEST_CASE("fp16, bf16 and int8 model files stay close to the float32 reference", "[encoder][parity][half][int8]") {
  // Storage rounding (compute is float32): fp16 keeps 11 significant bits,
  // bf16 8; int8 keeps 8 bits per group of 32 weights and rounds activations
  // to 16 bits per token. Tolerances on the pooled vectors of the tiny models.
  struct Case {
    const char* dtype;
    double max_abs;
    double min_cos;
  };
  for (const Case c : {Case{"f16", 2e-3, 0.99999}, Case{"bf16", 2e-2, 0.9995}, Case{"int8", 2e-2, 0.9995}}) {
    for (const auto& name : tiny_model_names()) {
      SECTION(std::string(c.dtype) + " " + name) {
        auto encoder = TransformerEncoder<float>::open(converted_model(name, c.dtype));
        const TokenBatch batch = reference_batch(name);
        const MatrixF pooled = encoder->pool(encoder->forward(batch, 1), batch);
        const MatrixF expected = reference_array(name, "pooled");
        const double diff = max_abs_diff(pooled, expected);
        const double cosine = min_cosine(pooled, expected);
        INFO(name << " " << c.dtype << " pooled max abs diff " << diff << ", min cosine " << cosine);
        CHECK(diff <= c.max_abs);
        CHECK(cosine >= c.min_cos);
      }
    }
  }
}

TEST_CASE("a packed batch equals each sequence run alone, bit for bit", "[encoder][batch][determinism]") {
  for (const char* dtype : {"f32", "f16", "bf16", "int8"})
  for (const auto& name : tiny_model_names()) {
    SECTION(std::string(dtype) + " " + name) {
      auto encoder = TransformerEncoder<float>::open(converted_model(name, dtype));
      const TokenBatch batch = reference_batch(name);
      const MatrixF together = encoder->forward(batch, 2);
      for (std::size_t b = 0; b < batch.size(); ++b) {
        TokenBatch single;
        const auto begin = batch.input_ids.begin() + static_cast<std::ptrdiff_t>(batch.offsets[b]);
        const auto types = batch.token_type_ids.begin() + static_cast<std::ptrdiff_t>(batch.offsets[b]);
        const auto n = static_cast<std::ptrdiff_t>(batch.length(b));
        single.add({begin, begin + n}, {types, types + n});
        const MatrixF alone = encoder->forward(single, 1);
        const double diff = max_abs_diff(alone, together.middleRows(static_cast<Eigen::Index>(batch.offsets[b]), n));
        INFO("sequence " << b << " max abs diff " << diff);
        CHECK(diff == 0.0);
      }
    }
  }
}

TEST_CASE("results are bitwise the same for every thread count", "[encoder][threads][determinism]") {
  // each output element is computed in a fixed order by one thread
  for (const char* dtype : {"f32", "f16", "bf16", "int8"}) {
    auto encoder = TransformerEncoder<float>::open(converted_model("bert_gelu_new_cls", dtype));
    const TokenBatch batch = reference_batch("bert_gelu_new_cls");
    const MatrixF one = encoder->forward(batch, 1);
    for (int threads : {2, 3, 5}) {
      INFO(dtype << " threads " << threads);
      CHECK(max_abs_diff(encoder->forward(batch, threads), one) == 0.0);
    }
  }
}

TEST_CASE("half-size model files keep their linear layers half-size in memory", "[encoder][half]") {
  const auto f32 = TransformerEncoder<float>::open(converted_model("bert_gelu_new_cls", "f32"));
  for (const char* dtype : {"f16", "bf16"}) {
    const auto half = TransformerEncoder<float>::open(converted_model("bert_gelu_new_cls", dtype));
    INFO(dtype << ": " << half->packed_weight_bytes() << " bytes of packed weights, f32 " << f32->packed_weight_bytes());
    // the padded float biases are the only part that does not halve
    CHECK(half->packed_weight_bytes() < f32->packed_weight_bytes() * 6 / 10);
    CHECK(half->packed_weight_bytes() > f32->packed_weight_bytes() * 4 / 10);
  }
  // int8: a byte a weight plus a float scale per 32 (and the padded biases)
  const auto int8 = TransformerEncoder<float>::open(converted_model("bert_gelu_new_cls", "int8"));
  INFO("int8: " << int8->packed_weight_bytes() << " bytes of packed weights");
  CHECK(int8->packed_weight_bytes() < f32->packed_weight_bytes() * 4 / 10);
}
