// Encoder throughput at all-MiniLM-L6-v2's dimensions (H = 384, L = 6,
// NH = 12, I = 1536; random weights), beside plain Eigen GEMMs of the same
// shapes measured in the same program.
//
//   ./build/bin/bench_encoder --benchmark_counters_tabular=true
//
// Counters: tokens/s; GFLOP/s of the encoder (projections, feed-forward and
// attention products); gemm_GFLOP/s, the same linear-layer GEMMs alone on the
// same thread count; efficiency = encoder GFLOP/s / gemm GFLOP/s.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <random>

#include "embedrank/model/transformer_encoder.hpp"
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

// Seconds per pass of the encoder's linear-layer GEMMs (x W^T for the four
// projections of every layer) on `threads` threads, split by rows as the
// encoder does; median of several runs.
double gemm_seconds(Eigen::Index TT, int threads) {
  static std::map<std::pair<Eigen::Index, int>, double> cache;
  const auto key = std::make_pair(TT, threads);
  if (cache.count(key)) return cache[key];
  const Eigen::Index H = kShape.hidden, I = kShape.intermediate;
  const MatrixF x = MatrixF::Random(TT, H), xi = MatrixF::Random(TT, I);
  const MatrixF w_qkv = MatrixF::Random(3 * H, H), w_o = MatrixF::Random(H, H), w_i = MatrixF::Random(I, H),
                w_out = MatrixF::Random(H, I);
  MatrixF y_qkv(TT, 3 * H), y_o(TT, H), y_i(TT, I), y_out(TT, H);
  embedrank::ThreadPool pool(threads);
  auto run = [&] {
    pool.parallel_for(static_cast<std::size_t>(TT), [&](std::size_t b, std::size_t e) {
      const auto r = static_cast<Eigen::Index>(b), n = static_cast<Eigen::Index>(e - b);
      y_qkv.middleRows(r, n).noalias() = x.middleRows(r, n) * w_qkv.transpose();
      y_o.middleRows(r, n).noalias() = x.middleRows(r, n) * w_o.transpose();
      y_i.middleRows(r, n).noalias() = x.middleRows(r, n) * w_i.transpose();
      y_out.middleRows(r, n).noalias() = xi.middleRows(r, n) * w_out.transpose();
    });
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
  state.counters["efficiency"] = benchmark::Counter(flops * static_cast<double>(state.iterations()) / 1e9 / gemm_gflops,
                                                    benchmark::Counter::kIsRate);
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

/// Opening the 90 MB model file: map, validate, bind tensors (no copy).
void BM_OpenModel(benchmark::State& state) {
  encoder();
  for (auto _ : state)
    benchmark::DoNotOptimize(TransformerEncoder<float>::open("/tmp/embedrank_bench_minilm_random.bin").get());
  state.SetLabel("all-MiniLM-L6-v2 shape, f32");
}
BENCHMARK(BM_OpenModel)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
