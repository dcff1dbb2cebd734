// Tests of the selection primitives (rank/topk.hpp) and the dot kernels
// (rank/detail/dot.hpp, core/half.hpp).

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <random>
#include <vector>

#include "embedrank/core/cpu_features.hpp"
#include "embedrank/core/half.hpp"
#include "embedrank/rank/detail/dot.hpp"
#include "embedrank/rank/topk.hpp"

using embedrank::rank::Hit;
using embedrank::rank::TopK;

namespace {

// the tie rule written out independently: score descending, index ascending
std::vector<Hit> sorted_reference(std::vector<Hit> hits, std::size_t k) {
  hits.erase(std::remove_if(hits.begin(), hits.end(), [](const Hit& h) { return std::isnan(h.score); }), hits.end());
  std::sort(hits.begin(), hits.end(), [](const Hit& a, const Hit& b) {
    if (a.score != b.score) return a.score > b.score;
    return a.index < b.index;
  });
  if (hits.size() > k) hits.resize(k);
  return hits;
}

void require_same(const std::vector<Hit>& got, const std::vector<Hit>& want) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("position " << i);
    REQUIRE(got[i].index == want[i].index);
    REQUIRE(got[i].score == want[i].score);
  }
}

// candidates with many exact ties (scores on a coarse grid) and some NaN
std::vector<Hit> tied_candidates(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> grid(-5, 5);
  std::uniform_int_distribution<int> nan_one_in(0, 9);
  std::vector<Hit> hits;
  for (std::size_t i = 0; i < n; ++i) {
    const float score = nan_one_in(rng) == 0 ? std::numeric_limits<float>::quiet_NaN() : static_cast<float>(grid(rng));
    hits.push_back(Hit{score, i});
  }
  return hits;
}

}  // namespace

TEST_CASE("TopK keeps the k best in (score desc, index asc) order", "[topk]") {
  const std::size_t n = 300;
  const auto candidates = tied_candidates(n, 7);

  SECTION("every k from 0 to n + 5, heap and buffer modes, in index order and shuffled") {
    for (std::size_t k = 0; k <= n + 5; ++k) {
      INFO("k = " << k);
      const auto want = sorted_reference(candidates, k);
      TopK top(k);
      for (const auto& c : candidates) top.push(c.score, c.index);
      require_same(top.take_sorted(), want);

      auto shuffled = candidates;
      std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937(static_cast<unsigned>(k)));
      for (const auto& c : shuffled) top.push(c.score, c.index);
      require_same(top.take_sorted(), want);
    }
  }

  SECTION("top-k is a prefix of top-(k+1)") {
    TopK top(0);
    std::vector<Hit> previous;
    for (std::size_t k = 1; k <= 120; ++k) {
      top.reset(k);
      for (const auto& c : candidates) top.push(c.score, c.index);
      const auto current = top.take_sorted();
      REQUIRE(current.size() == previous.size() + 1);
      for (std::size_t i = 0; i < previous.size(); ++i) REQUIRE(current[i].index == previous[i].index);
      previous = current;
    }
  }

  SECTION("NaN is never kept, infinities are") {
    TopK top(3);
    top.push(std::numeric_limits<float>::quiet_NaN(), 0);
    top.push(-std::numeric_limits<float>::infinity(), 1);
    top.push(std::numeric_limits<float>::infinity(), 2);
    const auto got = top.take_sorted();
    REQUIRE(got.size() == 2);
    REQUIRE(got[0].index == 2);
    REQUIRE(got[1].index == 1);
  }

  SECTION("k = 0 keeps nothing") {
    TopK top(0);
    top.push(1.0f, 0);
    REQUIRE(top.take_sorted().empty());
  }
}

TEST_CASE("merge_top_k equals one sequential pass for any split", "[topk]") {
  const auto candidates = tied_candidates(500, 11);
  for (std::size_t k : {1u, 5u, 64u, 65u, 200u, 600u}) {
    for (std::size_t parts_count : {1u, 2u, 3u, 7u}) {
      INFO("k = " << k << ", parts = " << parts_count);
      std::vector<std::vector<Hit>> parts;
      for (std::size_t p = 0; p < parts_count; ++p) {
        TopK top(k);
        const std::size_t begin = candidates.size() * p / parts_count;
        const std::size_t end = candidates.size() * (p + 1) / parts_count;
        for (std::size_t i = begin; i < end; ++i) top.push(candidates[i].score, candidates[i].index);
        parts.push_back(top.take_sorted());
      }
      require_same(embedrank::rank::merge_top_k(parts, k), sorted_reference(candidates, k));
    }
  }
}

namespace {

// the SIMD levels this CPU runs (each lower level is forced the way EMBEDRANK_SIMD would)
std::vector<embedrank::SimdLevel> runnable_levels() {
  std::vector<embedrank::SimdLevel> levels;
  for (auto level : {embedrank::SimdLevel::Portable, embedrank::SimdLevel::Avx2, embedrank::SimdLevel::Avx512})
    if (embedrank::supported_simd_level(level) == level) levels.push_back(level);
  return levels;
}

// the tile's QT x IT scores on `level` equal dot_reference bit for bit
template <int QT, int IT, typename Item>
void check_tile_against_reference(embedrank::SimdLevel level, const std::vector<float>& queries,
                                  const std::vector<Item>& items, std::size_t dp) {
  const float* query_rows[QT];
  const Item* item_rows[IT];
  for (int q = 0; q < QT; ++q) query_rows[q] = queries.data() + static_cast<std::size_t>(q) * dp;
  for (int i = 0; i < IT; ++i) item_rows[i] = items.data() + static_cast<std::size_t>(IT - 1 - i) * dp;
  float scores[QT * IT];
  embedrank::rank::detail::dot_tile<QT, IT>(level, query_rows, item_rows, dp, scores);
  for (int q = 0; q < QT; ++q)
    for (int i = 0; i < IT; ++i) {
      const float want = embedrank::rank::detail::dot_reference(query_rows[q], item_rows[i], dp);
      INFO("level " << embedrank::to_string(level) << ", tile " << QT << "x" << IT << " query " << q << " item " << i);
      REQUIRE(std::memcmp(&scores[q * IT + i], &want, sizeof want) == 0);
    }
}

// every tile shape the index uses, and the other small ones
template <typename Item>
void check_all_tiles(embedrank::SimdLevel level, const std::vector<float>& queries, const std::vector<Item>& items,
                     std::size_t dp) {
  check_tile_against_reference<1, 1>(level, queries, items, dp);
  check_tile_against_reference<1, 2>(level, queries, items, dp);
  check_tile_against_reference<1, 4>(level, queries, items, dp);
  check_tile_against_reference<1, 8>(level, queries, items, dp);
  check_tile_against_reference<2, 1>(level, queries, items, dp);
  check_tile_against_reference<2, 4>(level, queries, items, dp);
  check_tile_against_reference<2, 8>(level, queries, items, dp);
  check_tile_against_reference<3, 1>(level, queries, items, dp);
  check_tile_against_reference<3, 2>(level, queries, items, dp);
  check_tile_against_reference<3, 4>(level, queries, items, dp);
}

}  // namespace

TEST_CASE("dot tiles on every SIMD level are bit-identical to the canonical reference order", "[topk][dot][simd]") {
  namespace detail = embedrank::rank::detail;
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (const std::size_t dim : {389u, 8u, 384u}) {
    const std::size_t dp = detail::padded_dimension(dim);
    std::vector<float> queries(3 * dp, 0.0f), items(8 * dp, 0.0f);  // zero-padded to DP, as the index stores them
    for (std::size_t r = 0; r < 3; ++r)
      for (std::size_t j = 0; j < dim; ++j) queries[r * dp + j] = normal(rng);
    for (std::size_t r = 0; r < 8; ++r)
      for (std::size_t j = 0; j < dim; ++j) items[r * dp + j] = normal(rng);
    std::vector<std::uint16_t> halves(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) halves[i] = embedrank::float_to_fp16(items[i]);
    for (const auto level : runnable_levels()) {
      INFO("D = " << dim << ", level " << embedrank::to_string(level));
      SECTION("float32 items, D = " + std::to_string(dim) + ", " + embedrank::to_string(level)) {
        check_all_tiles(level, queries, items, dp);
      }
      SECTION("float16 items, D = " + std::to_string(dim) + ", " + embedrank::to_string(level)) {
        check_all_tiles(level, queries, halves, dp);
      }
    }
  }
  SECTION("the canonical score is within float rounding of the double dot product") {
    const std::size_t dp = detail::padded_dimension(389);
    REQUIRE(dp == 392);
    std::vector<float> queries(dp), items(dp);
    for (auto& v : queries) v = normal(rng);
    for (auto& v : items) v = normal(rng);
    double exact = 0.0;
    for (std::size_t j = 0; j < dp; ++j) exact += static_cast<double>(queries[j]) * items[j];
    REQUIRE_THAT(detail::dot_reference(queries.data(), items.data(), dp), Catch::Matchers::WithinAbs(exact, 1e-4));
  }
}

TEST_CASE("float16 conversion rounds to nearest even and round-trips halves", "[topk][half]") {
  namespace detail = embedrank::rank::detail;
  SECTION("known values") {
    REQUIRE(embedrank::float_to_fp16(1.0f) == 0x3C00);
    REQUIRE(embedrank::float_to_fp16(-2.0f) == 0xC000);
    REQUIRE(embedrank::float_to_fp16(65504.0f) == 0x7BFF);
    REQUIRE(embedrank::float_to_fp16(65520.0f) == 0x7C00);
    REQUIRE(embedrank::float_to_fp16(5.9604644775390625e-8f) == 0x0001);
    REQUIRE(embedrank::float_to_fp16(1.0f + 1.0f / 2048.0f) == 0x3C00);       // tie -> even
    REQUIRE(embedrank::float_to_fp16(1.0f + 3.0f / 2048.0f) == 0x3C02);       // tie -> even
    REQUIRE(std::isnan(embedrank::fp16_to_float(embedrank::float_to_fp16(std::numeric_limits<float>::quiet_NaN()))));
  }
  SECTION("every finite half converts to float and back unchanged") {
    for (std::uint32_t bits = 0; bits < 0x10000; ++bits) {
      const auto half = static_cast<std::uint16_t>(bits);
      if ((half & 0x7C00) == 0x7C00) continue;  // inf and NaN
      REQUIRE(embedrank::float_to_fp16(embedrank::fp16_to_float(half)) == half);
    }
  }
}
