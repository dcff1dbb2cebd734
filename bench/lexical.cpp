// The lexical (BM25) index at N products: analysing and indexing a
// catalogue, and answering a query (top 10), over a generated catalogue.
//
// Products: a title of a brand, 2 to 4 words and, for one in four, a model
// number ("GT-3000", "K87"), and a description of 12 to 24 words; one in ten
// is Chinese (a title and description of CJK characters). Words and
// characters are drawn Zipf-like (rank r with probability ~ 1/r) from
// generated vocabularies of 20,000 words and 3,000 characters, seeded, so
// common terms have long postings lists as in a real shop. Queries: 2 or 3
// words from the same distribution, a model number, or 4 to 8 CJK characters.
//
//   build/bin/bench_lexical --benchmark_filter=Query --benchmark_repetitions=5

#include <benchmark/benchmark.h>

#include <cmath>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "embedrank/rank/lexical_index.hpp"
#include "embedrank/text/unicode.hpp"

namespace {

using embedrank::rank::LexicalIndex;

// Zipf-like ranks in [0, n): rank r with probability ~ 1 / (r + 1).
class Zipf {
 public:
  explicit Zipf(std::size_t n) : cdf_(n) {
    double sum = 0;
    for (std::size_t r = 0; r < n; ++r) cdf_[r] = sum += 1.0 / static_cast<double>(r + 1);
    for (double& c : cdf_) c /= sum;
  }
  std::size_t operator()(std::mt19937_64& rng) const {
    const double u = std::uniform_real_distribution<double>(0, 1)(rng);
    return static_cast<std::size_t>(std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin()) % cdf_.size();
  }

 private:
  std::vector<double> cdf_;
};

struct Generator {
  std::mt19937_64 rng{42};
  std::vector<std::string> words, brands;
  Zipf word_rank{20000}, char_rank{3000};

  Generator() {
    std::mt19937_64 g(7);
    const std::string letters = "abcdefghijklmnopqrstuvwxyz";
    for (int i = 0; i < 20000; ++i) {
      std::string w;
      const int len = 3 + static_cast<int>(g() % 7);
      for (int c = 0; c < len; ++c) w += letters[g() % 26];
      words.push_back(w);
    }
    for (int i = 0; i < 2000; ++i) brands.push_back(words[(g() % 19000) + 1000] + "co");
  }
  std::string word() { return words[word_rank(rng)]; }
  std::string cjk(std::size_t n) {
    std::string s;
    for (std::size_t i = 0; i < n; ++i) embedrank::text::append_utf8(static_cast<char32_t>(0x4E00 + char_rank(rng)), s);
    return s;
  }
  std::string model_number() {
    const char* const prefixes[] = {"gt", "k", "x", "pro", "rx", "a"};
    return std::string(prefixes[rng() % 6]) + (rng() % 2 ? "-" : "") + std::to_string(rng() % 5000);
  }
  std::vector<std::string> product() {
    if (rng() % 10 == 0) return {cjk(8 + rng() % 10), cjk(20 + rng() % 30)};
    std::string title = brands[rng() % brands.size()];
    for (std::size_t i = 0, n = 2 + rng() % 3; i < n; ++i) title += " " + word();
    if (rng() % 4 == 0) title += " " + model_number();
    std::string description;
    for (std::size_t i = 0, n = 12 + rng() % 13; i < n; ++i) description += word() + " ";
    return {title, description};
  }
  std::string query() {
    switch (rng() % 4) {
      case 0: return cjk(4 + rng() % 5);
      case 1: return brands[rng() % brands.size()] + " " + word() + " " + model_number();
      default: {
        std::string q = word();
        for (std::size_t i = 0, n = 1 + rng() % 2; i < n; ++i) q += " " + word();
        return q;
      }
    }
  }
};

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

/// Answers one query (analysis + top 10 by BM25) over N products.
void BM_LexicalQuery(benchmark::State& state) {
  const LexicalIndex& index = index_of(static_cast<std::size_t>(state.range(0)));
  Generator gen;
  gen.rng.seed(99);
  std::vector<std::string> queries(256);
  for (auto& q : queries) q = gen.query();
  std::size_t i = 0;
  for (auto _ : state) {
    const auto hits = index.search(index.query(queries[i++ % queries.size()]), 10);
    benchmark::DoNotOptimize(hits.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));  // queries/s
}
// 10M products: the index takes ~2 min to build and ~7 GB (docs/benchmarks.md); filter it out for quick runs.
BENCHMARK(BM_LexicalQuery)->Arg(100000)->Arg(1000000)->Arg(10000000)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
