// The lexical (BM25) index at N products: analysing and indexing a
// catalogue, and answering a query (top k = 10, and k = 100: what hybrid
// search asks the lexical side for, HybridOptions::candidates), over the
// generated catalogue of bench/lexical_corpus.hpp.
//
// Queries at 100k and 1M products, both k (BM_LexicalQuery/<products>/<k>):
//   build/bin/bench_lexical --benchmark_filter='Query/(100000|1000000)/' --benchmark_repetitions=5

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "embedrank/rank/lexical_index.hpp"
#include "lexical_corpus.hpp"

namespace {

using embedrank::rank::LexicalIndex;

using bench::lexical::Generator;

// One index per size, built once (the build benchmark measures building).
const LexicalIndex& index_of(std::size_t n) {
  static std::map<std::size_t, std::unique_ptr<LexicalIndex>> built;
  auto& slot = built[n];
  if (!slot) {
    Generator gen;
    slot = std::make_unique<LexicalIndex>();
    for (std::size_t row = 0; row < n; ++row) slot->set(row, gen.product());
  }
  return *slot;
}

/// Analyses and indexes N generated products (title and description).
void BM_LexicalBuild(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  Generator gen;
  std::vector<std::vector<std::string>> products(n);
  for (auto& p : products) p = gen.product();
  for (auto _ : state) {
    LexicalIndex index;
    for (std::size_t row = 0; row < n; ++row) index.set(row, products[row]);
    benchmark::DoNotOptimize(index.documents());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));  // products/s
}
BENCHMARK(BM_LexicalBuild)->Arg(100000)->Arg(1000000)->Unit(benchmark::kMillisecond)->Iterations(1);

/// Answers one query (analysis + top k by BM25) over N products.
void BM_LexicalQuery(benchmark::State& state) {
  const LexicalIndex& index = index_of(static_cast<std::size_t>(state.range(0)));
  const auto k = static_cast<std::size_t>(state.range(1));
  const std::vector<std::string> queries = bench::lexical::queries(256);
  std::size_t i = 0;
  for (auto _ : state) {
    const auto hits = index.search(index.query(queries[i++ % queries.size()]), k);
    benchmark::DoNotOptimize(hits.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));  // queries/s
}
// 10M products: the index takes ~2 min to build and ~7 GB (docs/benchmarks.md); filter it out for quick runs.
BENCHMARK(BM_LexicalQuery)
    ->ArgsProduct({{100000, 1000000, 10000000}, {10, 100}})
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
