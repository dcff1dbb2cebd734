// Encoder throughput at all-MiniLM-L6-v2's dimensions (H = 384, L = 6,
// NH = 12, I = 1536; random weights), beside the machine's limits measured in
// the same program.
//
//   ./build/bin/bench_encoder --benchmark_counters_tabular=true
//   EMBEDRANK_SIMD=avx2 ./build/bin/bench_encoder ...   (a lower kernel level)
//
// Counters: tokens/s; GFLOP/s of the encoder (projections, feed-forward and
// attention products); gemm_GFLOP/s, the encoder's linear-layer GEMMs alone
// (the packed kernels, same shapes, same thread count); peak_GFLOP/s, the
// cores' fused multiply-add peak at the kernels' SIMD level, from a loop of
// independent FMAs on `threads` threads; gemm_peak = gemm / peak and
// encoder_peak = encoder / peak; bytes_floor_ms, the packed weights' bytes
// over the read bandwidth from memory of `threads` cores, and
// flops_floor_ms, the pass's FLOPs over the peak: the two floors of one
// pass (a single query is near the first).

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <random>
#include <vector>

#include "embedrank/core/cpu_features.hpp"
#include "embedrank/core/detail/avx512_warnings.hpp"
#include "embedrank/model/transformer_encoder.hpp"
#include "embedrank/nn/packed_linear.hpp"
#include "random_model.hpp"

namespace {

using embedrank::MatrixF;
using embedrank::model::TokenBatch;
using embedrank::model::TransformerEncoder;

const bench_support::BertShape kShape;  // all-MiniLM-L6-v2

const TransformerEncoder<float>& encoder() {
  static const auto model = [] {
    const std::string path = "/tmp/embedrank_bench_minilm_random.bin";
    bench_support::write_random_bert(path, kShape);
    return TransformerEncoder<float>::open(path);
  }();
  return *model;
}

TokenBatch make_batch(const std::vector<int>& lengths, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<std::int32_t> id(1000, static_cast<std::int32_t>(kShape.vocab) - 1);
  TokenBatch batch;
  for (int n : lengths) {
    std::vector<std::int32_t> ids(static_cast<std::size_t>(n));
    for (auto& x : ids) x = id(rng);
    ids.front() = 101;  // [CLS]
    ids.back() = 102;   // [SEP]
    batch.add(ids);
  }
  return batch;
}

// Floating-point operations of one forward pass (multiply-add = 2).
double encoder_flops(const TokenBatch& batch) {
  const double H = static_cast<double>(kShape.hidden), I = static_cast<double>(kShape.intermediate);
  const double TT = static_cast<double>(batch.total_tokens());
  double attention = 0;  // Q K^T and P V per sequence: 2 * 2 * T^2 * H
  for (std::size_t b = 0; b < batch.size(); ++b) attention += 4.0 * std::pow(static_cast<double>(batch.length(b)), 2) * H;
  const double linear = 2.0 * TT * (3 * H * H + H * H + 2 * H * I);
  return static_cast<double>(kShape.layers) * (linear + attention);
}

// Seconds per pass of the encoder's linear-layer GEMMs (x W^T + b for the
// four projections of every layer, packed kernels) on `threads` threads;
// median of several runs.
double gemm_seconds(Eigen::Index TT, int threads) {
  static std::map<std::pair<Eigen::Index, int>, double> cache;
  const auto key = std::make_pair(TT, threads);
  if (cache.count(key)) return cache[key];
  const Eigen::Index H = kShape.hidden, I = kShape.intermediate;
  const MatrixF x = MatrixF::Random(TT, H), xi = MatrixF::Random(TT, I);
  const MatrixF w_qkv = MatrixF::Random(3 * H, H), w_o = MatrixF::Random(H, H), w_i = MatrixF::Random(I, H),
                w_out = MatrixF::Random(H, I), bias = MatrixF::Zero(1, 3 * H);
  using embedrank::nn::PackedLinear;
  const auto f32 = embedrank::io::DType::F32;
  const PackedLinear qkv(w_qkv.data(), f32, bias.data(), 3 * H, H), o(w_o.data(), f32, bias.data(), H, H),
      inter(w_i.data(), f32, bias.data(), I, H), out(w_out.data(), f32, bias.data(), H, I);
  MatrixF y_qkv(TT, 3 * H), y_o(TT, H), y_i(TT, I), y_out(TT, H);
  embedrank::ThreadPool pool(threads);
  auto run = [&] {
    qkv.forward(x.data(), TT, H, y_qkv.data(), 3 * H, pool);
    o.forward(x.data(), TT, H, y_o.data(), H, pool);
    inter.forward(x.data(), TT, H, y_i.data(), I, pool);
    out.forward(xi.data(), TT, I, y_out.data(), H, pool);
  };
  run();
  std::vector<double> times;
  for (int rep = 0; rep < 15; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    run();
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  benchmark::DoNotOptimize(y_out.data());
  std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
  return cache[key] = times[times.size() / 2] * static_cast<double>(kShape.layers);
}

#if EMBEDRANK_X86_KERNELS
EMBEDRANK_AVX512_WARNINGS_OFF  // _mm512_reduce_add_ps (core/detail/avx512_warnings.hpp)
// 12 independent accumulator chains hide the FMA latency on every x86 core
// with two FMA pipes; each iteration is 12 FMAs of `lanes` floats.
__attribute__((target("avx512f"))) double fma_loop_avx512(long iterations) {
  __m512 acc[12];
  for (auto& a : acc) a = _mm512_set1_ps(1.0f);
  const __m512 m = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
  for (long i = 0; i < iterations; ++i)
    for (auto& a : acc) a = _mm512_fmadd_ps(a, m, c);
  float sum = 0;
  for (auto& a : acc) sum += _mm512_reduce_add_ps(a);
  return sum;
}
EMBEDRANK_AVX512_WARNINGS_ON
__attribute__((target("avx2,fma"))) double fma_loop_avx2(long iterations) {
  __m256 acc[12];
  for (auto& a : acc) a = _mm256_set1_ps(1.0f);
  const __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
  for (long i = 0; i < iterations; ++i)
    for (auto& a : acc) a = _mm256_fmadd_ps(a, m, c);
  alignas(32) float out[8];
  float sum = 0;
  for (auto& a : acc) {
    _mm256_store_ps(out, a);
    for (float v : out) sum += v;
  }
  return sum;
}
#endif

// FMA peak of `threads` cores at the kernels' SIMD level, GFLOP/s (portable: 0).
double peak_gflops(int threads) {
  static std::map<int, double> cache;
  if (cache.count(threads)) return cache[threads];
  const embedrank::SimdLevel level = embedrank::default_simd_level();
  if (level == embedrank::SimdLevel::Portable) return cache[threads] = 0;
  const double lanes = level == embedrank::SimdLevel::Avx512 ? 16 : 8;
  const long iterations = 20'000'000;
  std::vector<double> per_thread(static_cast<std::size_t>(threads));
  embedrank::ThreadPool pool(threads);
  std::vector<double> best(static_cast<std::size_t>(threads), 0);
  for (int rep = 0; rep < 3; ++rep)
    pool.parallel_for(static_cast<std::size_t>(threads), [&](std::size_t t) {
      const auto t0 = std::chrono::steady_clock::now();
#if EMBEDRANK_X86_KERNELS
      benchmark::DoNotOptimize(level == embedrank::SimdLevel::Avx512 ? fma_loop_avx512(iterations)
                                                                    : fma_loop_avx2(iterations));
#endif
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      best[t] = std::max(best[t], 12.0 * lanes * 2.0 * static_cast<double>(iterations) / s / 1e9);
    });
  double total = 0;
  for (double b : best) total += b;
  return cache[threads] = total;
}

// Read bandwidth from memory of `threads` cores, GB/s: each thread sums its
// share of a 512 MiB buffer (far past any L3), best of 3 passes.
double read_bandwidth_gbs(int threads) {
  static std::map<int, double> cache;
  if (cache.count(threads)) return cache[threads];
  static const std::vector<float> buffer(std::size_t{128} << 20, 1.0f);
  embedrank::ThreadPool pool(threads);
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    pool.parallel_ranges(buffer.size(), [&](std::size_t begin, std::size_t end) {
      float lanes[16] = {};
      for (std::size_t i = begin; i + 16 <= end; i += 16)
        for (int l = 0; l < 16; ++l) lanes[l] += buffer[i + static_cast<std::size_t>(l)];
      benchmark::DoNotOptimize(lanes);
    });
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, static_cast<double>(buffer.size() * sizeof(float)) / s / 1e9);
  }
  return cache[threads] = best;
}

void report(benchmark::State& state, const TokenBatch& batch, int threads) {
  const double flops = encoder_flops(batch);
  const double H = static_cast<double>(kShape.hidden), I = static_cast<double>(kShape.intermediate);
  const double linear_flops =
      static_cast<double>(kShape.layers) * 2.0 * static_cast<double>(batch.total_tokens()) * (4 * H * H + 2 * H * I);
  const double gemm_gflops = linear_flops / gemm_seconds(static_cast<Eigen::Index>(batch.total_tokens()), threads) / 1e9;
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch.total_tokens()));
  state.counters["GFLOP/s"] = benchmark::Counter(flops * static_cast<double>(state.iterations()) / 1e9,
                                                 benchmark::Counter::kIsRate);
  state.counters["gemm_GFLOP/s"] = gemm_gflops;
  state.counters["sequences"] = static_cast<double>(batch.size());
  state.counters["tokens"] = static_cast<double>(batch.total_tokens());
  const double peak = peak_gflops(threads);
  state.counters["peak_GFLOP/s"] = peak;
  state.counters["gemm_peak"] = peak > 0 ? gemm_gflops / peak : 0;
  state.counters["encoder_peak"] = benchmark::Counter(
      peak > 0 ? flops * static_cast<double>(state.iterations()) / 1e9 / peak : 0, benchmark::Counter::kIsRate);
  // The floors of one pass: every packed weight read once from memory, and
  // every FLOP at the FMA peak.
  state.counters["bytes_floor_ms"] =
      static_cast<double>(encoder().packed_weight_bytes()) / (read_bandwidth_gbs(threads) * 1e9) * 1e3;
  state.counters["flops_floor_ms"] = peak > 0 ? flops / (peak * 1e9) * 1e3 : 0;
  state.SetLabel(embedrank::to_string(embedrank::default_simd_level()));
}

/// Uniform batches: args = {sequences, tokens per sequence, threads}.
void BM_Encoder(benchmark::State& state) {
  const auto& model = encoder();
  const int threads = static_cast<int>(state.range(2));
  const TokenBatch batch =
      make_batch(std::vector<int>(static_cast<std::size_t>(state.range(0)), static_cast<int>(state.range(1))), 1);
  embedrank::model::EncoderWorkspace<float> ws(threads);
  for (auto _ : state) benchmark::DoNotOptimize(model.forward(batch, ws).data());
  report(state, batch, threads);
}
BENCHMARK(BM_Encoder)
    ->ArgNames({"batch", "tokens", "threads"})
    ->ArgsProduct({{1, 32}, {16, 64, 128}, {1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

/// 32 shop titles of mixed length (8 to 64 tokens), packed without padding.
void BM_EncoderMixed(benchmark::State& state) {
  const auto& model = encoder();
  const int threads = static_cast<int>(state.range(0));
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> length(8, 64);
  std::vector<int> lengths(32);
  for (auto& n : lengths) n = length(rng);
  const TokenBatch batch = make_batch(lengths, 2);
  embedrank::model::EncoderWorkspace<float> ws(threads);
  for (auto _ : state) benchmark::DoNotOptimize(model.forward(batch, ws).data());
  report(state, batch, threads);
}
BENCHMARK(BM_EncoderMixed)->ArgNames({"threads"})->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

/// Opening the 90 MB model file: map, validate, pack every linear layer's weight.
void BM_OpenModel(benchmark::State& state) {
  encoder();
  for (auto _ : state)
    benchmark::DoNotOptimize(TransformerEncoder<float>::open("/tmp/embedrank_bench_minilm_random.bin").get());
  state.SetLabel("all-MiniLM-L6-v2 shape, f32");
}
BENCHMARK(BM_OpenModel)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
