// The fast paths against the references they replace, at every SIMD level
// this CPU runs: packed GEMM kernels (f32, f16, bf16 weights; activation and
// row epilogues) against Eigen, fused attention against
// scaled_dot_product_attention; and their determinism (an output row is
// bitwise the same whatever the thread count and whatever other rows share
// the call).

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "embedrank/core/cpu_features.hpp"
#include "embedrank/core/half.hpp"
#include "embedrank/nn/fused_attention.hpp"
#include "embedrank/nn/linear.hpp"
#include "embedrank/nn/packed_linear.hpp"

using Catch::Matchers::WithinAbs;
using embedrank::Matrix;
using embedrank::MatrixF;
using embedrank::SimdLevel;
using embedrank::ThreadPool;
namespace nn = embedrank::nn;
namespace io = embedrank::io;

namespace {

/// Every level this CPU can run, lowest first.
std::vector<SimdLevel> runnable_levels() {
  std::vector<SimdLevel> levels;
  for (SimdLevel l : {SimdLevel::Portable, SimdLevel::Avx2, SimdLevel::Avx512})
    if (embedrank::supported_simd_level(l) == l) levels.push_back(l);
  return levels;
}

MatrixF random_matrix(Eigen::Index rows, Eigen::Index cols, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  MatrixF m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = normal(rng);
  return m;
}

/// The 16-bit patterns of W rounded to f16 or bf16, and W as those values.
std::vector<std::uint16_t> to_half_bits(MatrixF& w, io::DType dtype) {
  std::vector<std::uint16_t> bits(static_cast<std::size_t>(w.size()));
  for (Eigen::Index i = 0; i < w.size(); ++i) {
    float v = w.data()[i];
    std::uint32_t u;
    std::memcpy(&u, &v, 4);
    std::uint16_t h;
    if (dtype == io::DType::BF16) {
      h = static_cast<std::uint16_t>(u >> 16);  // truncation is a valid bf16 value
      w.data()[i] = embedrank::bf16_to_float(h);
    } else {
      // values of N(0, 1) are normal halves: round the mantissa by truncation
      const std::uint32_t sign = (u >> 16) & 0x8000u;
      const int exponent = static_cast<int>((u >> 23) & 0xFF) - 127 + 15;
      h = exponent <= 0 ? static_cast<std::uint16_t>(sign)
                        : static_cast<std::uint16_t>(sign | (static_cast<std::uint32_t>(exponent) << 10) | ((u >> 13) & 0x3FFu));
      w.data()[i] = embedrank::fp16_to_float(h);
    }
    bits[static_cast<std::size_t>(i)] = h;
  }
  return bits;
}

/// Symmetric int8 per row and group of 32 inputs, as weights_tools/convert.py
/// --dtype int8 writes it; W becomes the values the int8 file represents.
struct Int8Weight {
  std::vector<std::int8_t> q;  // (OUT, IN)
  std::vector<float> scale;    // (OUT, groups)
};

Int8Weight quantize_int8(MatrixF& w) {
  const Eigen::Index groups = (w.cols() + 31) / 32;
  Int8Weight out{std::vector<std::int8_t>(static_cast<std::size_t>(w.size())),
                 std::vector<float>(static_cast<std::size_t>(w.rows() * groups))};
  for (Eigen::Index n = 0; n < w.rows(); ++n)
    for (Eigen::Index g = 0; g < groups; ++g) {
      const Eigen::Index k0 = 32 * g, count = std::min<Eigen::Index>(32, w.cols() - k0);
      const float amax = w.row(n).segment(k0, count).cwiseAbs().maxCoeff();
      const float s = amax > 0 ? amax / 127.0f : 1.0f;
      out.scale[static_cast<std::size_t>(n * groups + g)] = s;
      for (Eigen::Index k = k0; k < k0 + count; ++k) {
        const auto v = static_cast<std::int8_t>(std::max(-127.0f, std::min(127.0f, std::nearbyint(w(n, k) / s))));
        out.q[static_cast<std::size_t>(n * w.cols() + k)] = v;
        w(n, k) = static_cast<float>(v) * s;
      }
    }
  return out;
}

/// Row 41 of x (100 rows) through `packed` with GELU: the same bits in a
/// 100-row call on 3 threads, in many-token calls starting at other rows on
/// 1 thread, and in few-token calls (20 rows, 1 row).
void check_row_is_the_same_in_every_call(const nn::PackedLinear& packed, const MatrixF& x) {
  const Eigen::Index in = x.cols(), out = packed.out_features();
  ThreadPool one(1), three(3);
  MatrixF all(100, out);
  packed.forward(x.data(), 100, in, all.data(), out, three, nn::Activation::Gelu);
  for (Eigen::Index first : {41, 30, 0}) {
    for (Eigen::Index rows : {100 - first, Eigen::Index{20}, Eigen::Index{1}}) {
      if (first + rows > 100 || 41 - first >= rows) continue;
      MatrixF part(rows, out);
      packed.forward(x.data() + first * in, rows, in, part.data(), out, rows == 1 ? three : one, nn::Activation::Gelu);
      INFO("rows " << first << " .. " << first + rows);
      CHECK(part.row(41 - first) == all.row(41));
    }
  }
}

}  // namespace

TEST_CASE("int8 GEMM equals the product with the weights it represents, at every SIMD level", "[linear][kernels][int8]") {
  struct Shape {
    Eigen::Index T, out, in;
  };
  for (const int bits : {16, 8}) {
    // group and panel remainders, few- and many-token paths, odd IN
    for (const Shape s : {Shape{1, 45, 29}, Shape{7, 96, 64}, Shape{33, 50, 384}, Shape{300, 70, 37}, Shape{5, 1, 100}}) {
      MatrixF w = random_matrix(s.out, s.in, 11);
      const Int8Weight q = quantize_int8(w);
      const MatrixF x = random_matrix(s.T, s.in, 12), bias = random_matrix(1, s.out, 13);
      const Matrix<double> expected =
          (x.cast<double>() * w.cast<double>().transpose()).rowwise() + bias.cast<double>().row(0);
      // activations are rounded per token (16 bits) or per token and group of
      // 32 (8 bits): an input moves by at most half a step, an output by the
      // sum of those times |w|
      Matrix<double> bound = Matrix<double>::Zero(s.T, s.out);
      for (Eigen::Index t = 0; t < s.T; ++t)
        for (Eigen::Index k0 = 0; k0 < s.in; k0 += (bits == 8 ? 32 : s.in)) {
          const Eigen::Index count = std::min<Eigen::Index>(bits == 8 ? 32 : s.in, s.in - k0);
          const double half_step = x.row(t).segment(k0, count).cwiseAbs().maxCoeff() / (bits == 8 ? 254.0 : 65534.0);
          for (Eigen::Index n = 0; n < s.out; ++n)
            bound(t, n) += half_step * w.row(n).segment(k0, count).cast<double>().cwiseAbs().sum();
        }
      MatrixF first_level;  // every level computes the same integer sums: the same bits
      for (const SimdLevel level : runnable_levels()) {
        INFO(bits << "-bit activations, " << embedrank::to_string(level) << " T=" << s.T << " out=" << s.out
                  << " in=" << s.in);
        const nn::PackedLinear packed(q.q.data(), io::DType::I8, bias.data(), s.out, s.in, level, q.scale.data(), bits);
        CHECK(packed.activation_bits() == bits);
        for (int threads : {1, 3}) {
          ThreadPool pool(threads);
          MatrixF y(s.T, s.out);
          packed.forward(x.data(), s.T, s.in, y.data(), s.out, pool);
          const double worst_excess =
              ((y.cast<double>() - expected).cwiseAbs() - bound - 1e-5 * (1 + expected.array().abs()).matrix())
                  .maxCoeff();
          CHECK(worst_excess <= 0);
          if (first_level.size() == 0) first_level = y;
          CHECK(y == first_level);
        }
      }
    }
  }
  CHECK_THROWS_WITH(nn::PackedLinear(nullptr, io::DType::I8, nullptr, 4, 4, SimdLevel::Portable, nullptr, 12),
                    Catch::Contains("[embedrank.input.bad_activation_bits]"));
}

TEST_CASE("int8 GEMM rows are bitwise the same for any thread count and any batch", "[linear][determinism][int8]") {
  for (const int bits : {16, 8})
  for (const SimdLevel level : runnable_levels()) {
    INFO(bits << "-bit activations, " << embedrank::to_string(level));
    const Eigen::Index in = 200, out = 150;
    MatrixF w = random_matrix(out, in, 14);
    const Int8Weight q = quantize_int8(w);
    const MatrixF bias = random_matrix(1, out, 15), x = random_matrix(100, in, 16);
    check_row_is_the_same_in_every_call(
        nn::PackedLinear(q.q.data(), io::DType::I8, bias.data(), out, in, level, q.scale.data(), bits), x);
  }
}

TEST_CASE("int8 rows of subnormal values quantize without overflow", "[linear][int8]") {
  // max |x| subnormal: 32767 / max|x| overflows a float, so the quantizer
  // divides instead (found by fuzzing the model file reader).
  MatrixF w = random_matrix(6, 40, 19);
  const Int8Weight q = quantize_int8(w);
  MatrixF x = random_matrix(2, 40, 20) * 1e-40f;
  x.row(1).setZero();
  x(1, 3) = 1e-45f;  // the smallest subnormal, alone in its row
  for (const int bits : {16, 8})
    for (const SimdLevel level : runnable_levels()) {
      INFO(bits << "-bit activations, " << embedrank::to_string(level));
      const nn::PackedLinear packed(q.q.data(), io::DType::I8, nullptr, 6, 40, level, q.scale.data(), bits);
      ThreadPool pool(1);
      MatrixF y(2, 6);
      packed.forward(x.data(), 2, 40, y.data(), 6, pool);
      CHECK(y.allFinite());
      CHECK(y.cwiseAbs().maxCoeff() < 1e-35f);
    }
}

TEST_CASE("int8 rows with a NaN or an infinity give NaN outputs, the others are untouched", "[linear][int8]") {
  for (const int bits : {16, 8}) {
  INFO(bits << "-bit activations");
  MatrixF w = random_matrix(20, 40, 17);
  const Int8Weight q = quantize_int8(w);
  MatrixF x = random_matrix(3, 40, 18);
  const nn::PackedLinear packed(q.q.data(), io::DType::I8, nullptr, 20, 40, embedrank::default_simd_level(),
                                q.scale.data(), bits);
  ThreadPool pool(1);
  MatrixF clean(3, 20);
  packed.forward(x.data(), 3, 40, clean.data(), 20, pool);
  x(0, 5) = std::numeric_limits<float>::quiet_NaN();
  x(2, 7) = std::numeric_limits<float>::infinity();
  MatrixF y(3, 20);
  packed.forward(x.data(), 3, 40, y.data(), 20, pool);
  CHECK(y.row(0).array().isNaN().all());
  CHECK(y.row(2).array().isNaN().all());
  CHECK(y.row(1) == clean.row(1));
  CHECK_THROWS_WITH(nn::PackedLinear(q.q.data(), io::DType::I8, nullptr, 20, 40),
                    Catch::Contains("[embedrank.input.missing_scale]"));
  }
}

TEST_CASE("packed GEMM equals Eigen at every SIMD level, weight type and shape", "[linear][kernels]") {
  struct Shape {
    Eigen::Index T, out, in;
  };
  for (const SimdLevel level : runnable_levels()) {
    for (const io::DType dtype : {io::DType::F32, io::DType::F16, io::DType::BF16}) {
      // few-token (column split) and many-token (row blocks) paths, panel
      // and tile remainders, a single row and a single column
      for (const Shape s : {Shape{1, 45, 29}, Shape{7, 96, 64}, Shape{33, 50, 384}, Shape{300, 70, 37}, Shape{5, 1, 8}}) {
        INFO(embedrank::to_string(level) << " " << embedrank::to_string(dtype) << " T=" << s.T << " out=" << s.out
                                               << " in=" << s.in);
        MatrixF w = random_matrix(s.out, s.in, 1);
        const MatrixF x = random_matrix(s.T, s.in, 2);
        const MatrixF bias = random_matrix(1, s.out, 3);
        std::vector<std::uint16_t> half;
        const void* data = w.data();
        if (dtype != io::DType::F32) {
          half = to_half_bits(w, dtype);
          data = half.data();
        }
        const nn::PackedLinear packed(data, dtype, bias.data(), s.out, s.in, level);
        CHECK(packed.level() == level);
        const Matrix<double> expected =
            (x.cast<double>() * w.cast<double>().transpose()).rowwise() + bias.cast<double>().row(0);
        for (int threads : {1, 3}) {
          ThreadPool pool(threads);
          MatrixF y(s.T, s.out);
          packed.forward(x.data(), s.T, s.in, y.data(), s.out, pool);
          const double tolerance = 1e-6 * static_cast<double>(s.in);
          CHECK((y.cast<double>() - expected).cwiseAbs().maxCoeff() < tolerance);

          // activation epilogue = activation after the product
          MatrixF activated(s.T, s.out);
          packed.forward(x.data(), s.T, s.in, activated.data(), s.out, pool, nn::Activation::Gelu);
          MatrixF then_activated = y;
          nn::activate_inplace(nn::Activation::Gelu, then_activated);
          CHECK((activated - then_activated).cwiseAbs().maxCoeff() < 1e-6f);

          // the row epilogue sees every row exactly once, after it is finished
          // (recorded per row on the pool's threads, checked here: Catch's
          // assertions are for one thread)
          std::vector<int> seen(static_cast<std::size_t>(s.T), 0), finished(static_cast<std::size_t>(s.T), 0);
          MatrixF z(s.T, s.out);
          packed.forward(x.data(), s.T, s.in, z.data(), s.out, pool, std::nullopt, [&](Eigen::Index b, Eigen::Index e) {
            for (Eigen::Index r = b; r < e; ++r) {
              seen[static_cast<std::size_t>(r)] += 1;
              finished[static_cast<std::size_t>(r)] = z.row(r) == y.row(r) ? 1 : 0;
            }
          });
          CHECK(std::count(seen.begin(), seen.end(), 1) == s.T);
          CHECK(std::count(finished.begin(), finished.end(), 1) == s.T);
        }
      }
    }
  }
}

TEST_CASE("packed GEMM rows are bitwise the same for any thread count and any batch they share", "[linear][determinism]") {
  for (const SimdLevel level : runnable_levels()) {
    INFO(embedrank::to_string(level));
    const Eigen::Index in = 200, out = 150;
    const MatrixF w = random_matrix(out, in, 4), bias = random_matrix(1, out, 5);
    const MatrixF x = random_matrix(100, in, 6);
    check_row_is_the_same_in_every_call(nn::PackedLinear(w.data(), io::DType::F32, bias.data(), out, in, level), x);
  }
}

TEST_CASE("fused attention equals the reference at every SIMD level", "[attention][kernels]") {
  struct Case {
    Eigen::Index H, NH;
    std::vector<std::size_t> offsets;
  };
  // head sizes 4, 10 and 32; sequences of 1 token, a few, and longer than a
  // query tile and a key panel
  const std::vector<Case> cases{{12, 3, {0, 5, 6, 13}}, {40, 4, {0, 1, 38, 41}}, {64, 2, {0, 130, 400}}};
  for (const SimdLevel level : runnable_levels()) {
    for (const Case& c : cases) {
      const auto TT = static_cast<Eigen::Index>(c.offsets.back());
      const MatrixF qkv = random_matrix(TT, 3 * c.H, 7);
      // MPNet's relative position bias, covering the longest sequence
      nn::RelativePositionBias<float> bias;
      for (std::size_t b = 0; b + 1 < c.offsets.size(); ++b)
        bias.radius = std::max(bias.radius, static_cast<Eigen::Index>(c.offsets[b + 1] - c.offsets[b]) - 1);
      bias.values = random_matrix(c.NH, 2 * bias.radius + 1, 8);
      nn::RelativePositionBias<double> bias_double{bias.values.cast<double>(), bias.radius};
      for (const bool scale_first : {false, true})
      for (const bool with_bias : {false, true}) {
        INFO(embedrank::to_string(level) << " H=" << c.H << " NH=" << c.NH << " scale_first=" << scale_first
                                               << " bias=" << with_bias);
        Matrix<double> expected(TT, c.H);
        std::vector<Matrix<double>> reference_scratch;
        ThreadPool pool(2);
        nn::multi_head_attention_reference<double>(qkv.cast<double>(), c.offsets, c.NH, scale_first,
                                                   with_bias ? &bias_double : nullptr, expected, reference_scratch, pool);
        MatrixF context(TT, c.H);
        std::vector<nn::AttentionScratch> scratch;
        nn::multi_head_attention<float>(qkv, c.offsets, c.NH, scale_first, with_bias ? &bias : nullptr, context,
                                        scratch, pool, level);
        CHECK((context.cast<double>() - expected).cwiseAbs().maxCoeff() < 2e-6);

        // each sequence alone, on one thread: bitwise the same rows
        for (std::size_t b = 0; b + 1 < c.offsets.size(); ++b) {
          const auto start = static_cast<Eigen::Index>(c.offsets[b]);
          const auto T = static_cast<Eigen::Index>(c.offsets[b + 1] - c.offsets[b]);
          const MatrixF alone_qkv = qkv.middleRows(start, T);
          MatrixF alone(T, c.H);
          ThreadPool one(1);
          nn::multi_head_attention<float>(alone_qkv, {0, static_cast<std::size_t>(T)}, c.NH, scale_first,
                                          with_bias ? &bias : nullptr, alone, scratch, one, level);
          CHECK(alone == context.middleRows(start, T));
        }
      }
    }
  }
}

TEST_CASE("the SIMD level can be named and capped", "[kernels]") {
  CHECK(embedrank::parse<embedrank::SimdLevel>("portable") == SimdLevel::Portable);
  CHECK(embedrank::parse<embedrank::SimdLevel>("avx2") == SimdLevel::Avx2);
  CHECK(embedrank::parse<embedrank::SimdLevel>("avx512") == SimdLevel::Avx512);
  CHECK_THROWS_WITH(embedrank::parse<embedrank::SimdLevel>("sse"), Catch::Contains("[embedrank.input.bad_simd_level]"));
  CHECK(embedrank::supported_simd_level(SimdLevel::Portable) == SimdLevel::Portable);
  CHECK(static_cast<int>(embedrank::supported_simd_level(SimdLevel::Avx512)) <=
        static_cast<int>(embedrank::detected_simd_level()));
}
