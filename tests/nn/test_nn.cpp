// Building blocks against their definitions: activations (vectorised against
// the scalar formulas and known values), LayerNorm, attention against a naive
// triple loop, pooling on hand-computed values.

#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "embedrank/nn/activations.hpp"
#include "embedrank/nn/attention.hpp"
#include "embedrank/nn/layer_norm.hpp"
#include "embedrank/nn/pooling.hpp"

using Catch::Matchers::WithinAbs;
using embedrank::Matrix;
using embedrank::MatrixF;
namespace nn = embedrank::nn;

TEST_CASE("activations: vectorised equals the scalar formula, and known values", "[activations]") {
  const MatrixF x = MatrixF::Random(7, 33) * 6.0f;
  for (const char* name : {"gelu", "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "quick_gelu", "relu", "silu", "swish"}) {
    SECTION(name) {
      const auto act = embedrank::parse<nn::Activation>(name);
      MatrixF y = x;
      nn::activate_inplace(act, y);
      for (Eigen::Index i = 0; i < x.size(); ++i)
        CHECK_THAT(y.data()[i], WithinAbs(static_cast<double>(nn::activate<double>(act, x.data()[i])), 1e-6));
    }
  }
  CHECK_THAT(nn::activate<double>(nn::Activation::Gelu, 1.0), WithinAbs(0.8413447460685429, 1e-15));
  CHECK_THAT(nn::activate<double>(nn::Activation::GeluTanh, 1.0), WithinAbs(0.8411919906082768, 1e-15));
  CHECK_THAT(nn::activate<double>(nn::Activation::Silu, -2.0), WithinAbs(-0.2384058440442351, 1e-15));
  CHECK_THROWS_AS(embedrank::parse<nn::Activation>("mish"), embedrank::InputError);
}

TEST_CASE("layer norm uses the biased variance and eps inside the root", "[layer_norm]") {
  const std::vector<double> gamma{1.0, 2.0, 0.5, 1.0}, beta{0.0, 1.0, 0.0, -1.0};
  nn::LayerNorm<double> ln{gamma.data(), beta.data(), 4, 1e-5};
  Matrix<double> x(1, 4);
  x << 1.0, 2.0, 3.0, 6.0;  // mean 3, biased variance 3.5
  ln.forward_rows(x, 0, 1);
  const double s = 1.0 / std::sqrt(3.5 + 1e-5);
  CHECK_THAT(x(0, 0), WithinAbs(-2.0 * s, 1e-12));
  CHECK_THAT(x(0, 1), WithinAbs(-1.0 * s * 2.0 + 1.0, 1e-12));
  CHECK_THAT(x(0, 2), WithinAbs(0.0, 1e-12));
  CHECK_THAT(x(0, 3), WithinAbs(3.0 * s - 1.0, 1e-12));
}

TEST_CASE("reference multi-head attention equals the naive definition per sequence and head", "[attention]") {
  const Eigen::Index H = 12, NH = 3, HS = H / NH;
  const std::vector<std::size_t> offsets{0, 5, 6, 13};
  const Eigen::Index TT = 13;
  std::mt19937 rng(5);
  std::normal_distribution<double> normal;
  Matrix<double> qkv(TT, 3 * H);
  for (Eigen::Index i = 0; i < qkv.size(); ++i) qkv.data()[i] = normal(rng);

  // a relative position bias (MPNet) with a radius past the longest sequence
  nn::RelativePositionBias<double> position_bias;
  position_bias.radius = 9;
  position_bias.values.resize(NH, 2 * position_bias.radius + 1);
  for (Eigen::Index i = 0; i < position_bias.values.size(); ++i) position_bias.values.data()[i] = normal(rng);

  for (const bool scale_first : {false, true})
  for (const bool with_bias : {false, true}) {
    Matrix<double> context(TT, H);
    std::vector<Matrix<double>> scratch;
    embedrank::ThreadPool pool(2);
    nn::multi_head_attention_reference<double>(qkv, offsets, NH, scale_first, with_bias ? &position_bias : nullptr,
                                               context, scratch, pool);
    for (std::size_t b = 0; b + 1 < offsets.size(); ++b) {
      const auto s0 = static_cast<Eigen::Index>(offsets[b]), T = static_cast<Eigen::Index>(offsets[b + 1] - offsets[b]);
      for (Eigen::Index h = 0; h < NH; ++h)
        for (Eigen::Index i = 0; i < T; ++i) {
          // softmax_j(q_i . k_j / sqrt(HS)) weighted sum of v_j, by hand
          std::vector<double> w(static_cast<std::size_t>(T));
          double total = 0;
          for (Eigen::Index j = 0; j < T; ++j) {
            double dot = 0;
            for (Eigen::Index d = 0; d < HS; ++d) dot += qkv(s0 + i, h * HS + d) * qkv(s0 + j, H + h * HS + d);
            const double bias = with_bias ? position_bias.values(h, j - i + position_bias.radius) : 0.0;
            w[static_cast<std::size_t>(j)] = std::exp(dot / std::sqrt(double(HS)) + bias);
            total += w[static_cast<std::size_t>(j)];
          }
          for (Eigen::Index d = 0; d < HS; ++d) {
            double expected = 0;
            for (Eigen::Index j = 0; j < T; ++j) expected += w[static_cast<std::size_t>(j)] / total * qkv(s0 + j, 2 * H + h * HS + d);
            CHECK_THAT(context(s0 + i, h * HS + d), WithinAbs(expected, 1e-12));
          }
        }
    }
  }
}

TEST_CASE("pooling modes on hand-computed values", "[pooling]") {
  Matrix<double> states(4, 2);  // sequence 0: rows 0-2, sequence 1: row 3
  states << 1, -2, 3, 4, -1, 0, 5, 6;
  const std::vector<std::size_t> offsets{0, 3, 4};
  using M = nn::PoolingMode;
  const Matrix<double> pooled = nn::pool<double>(states, offsets, {M::Cls, M::Max, M::Mean, M::MeanSqrtLen});
  REQUIRE(pooled.cols() == 8);
  const std::vector<double> row0{1, -2, 3, 4, 1, 2.0 / 3, 3 / std::sqrt(3.0), 2 / std::sqrt(3.0)};
  const std::vector<double> row1{5, 6, 5, 6, 5, 6, 5, 6};
  for (Eigen::Index c = 0; c < 8; ++c) {
    CHECK_THAT(pooled(0, c), WithinAbs(row0[static_cast<std::size_t>(c)], 1e-12));
    CHECK_THAT(pooled(1, c), WithinAbs(row1[static_cast<std::size_t>(c)], 1e-12));
  }
  Matrix<double> v(2, 2);
  v << 3, 4, 0, 0;
  nn::l2_normalize_rows(v);
  CHECK_THAT(v(0, 0), WithinAbs(0.6, 1e-15));
  CHECK(v(1, 0) == 0.0);  // a zero vector stays zero (eps 1e-12), never NaN
  CHECK_THROWS_AS(nn::pool<double>(states, offsets, {M::Pooler}), embedrank::InputError);
  CHECK_THROWS_AS(embedrank::parse<nn::PoolingMode>("weightedmean"), embedrank::InputError);
}
