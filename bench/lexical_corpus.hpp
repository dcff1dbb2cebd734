#pragma once
// The generated shop catalogue that the lexical (BM25) benchmarks search:
// bench_lexical (Google Benchmark) and bench_lexical_qps (embedrank against
// Tantivy, bench/lexical_peers.py) draw the same products and queries.
//
// Products: a title of a brand, 2 to 4 words and, for one in four, a model
// number ("GT-3000", "K87"), and a description of 12 to 24 words; one in ten
// is Chinese (a title and description of CJK characters). Words and
// characters are drawn Zipf-like (rank r with probability ~ 1/r) from
// generated vocabularies of 20,000 words and 3,000 characters, seeded, so
// common terms have long postings lists as in a real shop. Queries: 2 or 3
// words from the same distribution, a model number, or 4 to 8 CJK characters.
//
// Deterministic: a Generator draws the same sequence on every run and
// platform (std::mt19937_64 with fixed seeds). The benchmarks draw products
// from a fresh Generator (seed 42) and queries from queries() (seed 99).

#include <algorithm>
#include <cstddef>
#include <random>
#include <string>
#include <vector>

#include "embedrank/text/unicode.hpp"

namespace bench::lexical {

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

/// Products ({title, description}) and queries of the catalogue above.
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

/// The benchmarks' queries: the first `count` of the query stream (seed 99).
inline std::vector<std::string> queries(std::size_t count) {
  Generator gen;
  gen.rng.seed(99);
  std::vector<std::string> out(count);
  for (std::string& q : out) q = gen.query();
  return out;
}

}  // namespace bench::lexical
