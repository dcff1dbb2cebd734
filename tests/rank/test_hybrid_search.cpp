// Hybrid search (rank/hybrid_search.hpp) on a hand-made shop of six
// products: the weighted fusion, the automatic lexical weight and
// reciprocal-rank fusion recomputed from their formulas, from the cosines
// (EmbeddingIndex::scores_of) and the BM25 scores (LexicalIndex) alone.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "embedrank/rank/hybrid_search.hpp"

using Catch::Matchers::WithinAbs;
using embedrank::VectorF;
using embedrank::rank::EmbeddingIndex;
using embedrank::rank::Fusion;
using embedrank::rank::HybridAnswer;
using embedrank::rank::HybridOptions;
using embedrank::rank::LexicalIndex;
using embedrank::rank::QueryConstraints;
using embedrank::rank::SearchMode;

namespace {

struct Shop {
  std::vector<std::string> titles = {"red silk dress",     "red running shoes", "blue summer dress",
                                     "红色 连衣裙 夏季", "green tea",         "手工 挂面 礼盒"};
  EmbeddingIndex index{2};
  LexicalIndex lexical{{{"title", 1.0}}};

  Shop() {
    // Unit vectors at these angles (degrees): the query below sits at 20.
    const double angles[] = {30, 80, 45, 10, 170, 25};
    for (std::size_t row = 0; row < titles.size(); ++row) {
      VectorF v(2);
      v << static_cast<float>(std::cos(angles[row] * M_PI / 180)), static_cast<float>(std::sin(angles[row] * M_PI / 180));
      index.add("P" + std::to_string(row), v);
      lexical.set(row, {titles[row]});
    }
  }
  VectorF query_vector() const {
    VectorF v(2);
    v << static_cast<float>(std::cos(20 * M_PI / 180)), static_cast<float>(std::sin(20 * M_PI / 180));
    return v;
  }
};

// Each result's score from the formulas, with its cosine and BM25 recomputed.
std::map<std::size_t, double> expected_weighted(const Shop& shop, const std::string& text, double a) {
  const VectorF q = shop.query_vector();
  std::vector<std::size_t> rows(shop.titles.size());
  for (std::size_t r = 0; r < rows.size(); ++r) rows[r] = r;
  const std::vector<float> cosines = shop.index.scores_of(q, rows);
  const auto lq = shop.lexical.query(text);
  const double cos_top = *std::max_element(cosines.begin(), cosines.end());
  const double cos_floor = *std::min_element(cosines.begin(), cosines.end());  // C covers every row
  double bm25_top = 0;
  for (std::size_t r : rows) bm25_top = std::max(bm25_top, shop.lexical.score(lq, r));
  std::map<std::size_t, double> fused;
  for (std::size_t r : rows) {
    const double dense_n = (cosines[r] - cos_floor) / (cos_top - cos_floor);
    const double lexical_n = bm25_top > 0 ? shop.lexical.score(lq, r) / bm25_top : 0.0;
    fused[r] = a * lexical_n + (1 - a) * dense_n;
  }
  return fused;
}

}  // namespace

TEST_CASE("weighted fusion: a lexical_n + (1 - a) dense_n over both lists", "[hybrid]") {
  const Shop shop;
  HybridOptions options;
  options.candidates = 6;
  options.lexical_weight = 0.4;
  const std::string text = "red dress";
  const HybridAnswer answer = hybrid_search(shop.index, shop.lexical, shop.query_vector(), shop.lexical.query(text),
                                            QueryConstraints{}, 6, SearchMode::Hybrid, options);
  CHECK(answer.lexical_weight == 0.4);
  const auto want = expected_weighted(shop, text, 0.4);
  REQUIRE(answer.results.size() == 6);
  for (std::size_t i = 0; i < answer.results.size(); ++i) {
    INFO("result " << i << " row " << answer.results[i].row);
    CHECK_THAT(answer.results[i].score, WithinAbs(want.at(answer.results[i].row), 1e-6));
    if (i > 0) CHECK(answer.results[i - 1].score >= answer.results[i].score);
  }
  CHECK(answer.results[0].row == 0);  // "red silk dress": both words, and close to the query
}

TEST_CASE("the automatic lexical weight: u ck a_unread + (1 - u) c a_read, the unread part only across scripts",
          "[hybrid]") {
  const Shop shop;
  HybridOptions options;
  options.candidates = 6;
  const std::string text = "red dress handmade";  // "handmade" is in no title: c < 1 = ck
  const auto lq = shop.lexical.query(text);
  const auto best = shop.lexical.search(lq, 1);
  REQUIRE(best.size() == 1);
  const double c = best[0].coverage, ck = best[0].known_coverage;
  CHECK(c < 1.0);
  CHECK(ck == 1.0);
  CHECK(lq.script == embedrank::rank::kOther);
  CHECK(shop.lexical.script(3) == embedrank::rank::kCjk);
  CHECK(shop.lexical.script(5) == embedrank::rank::kCjk);
  for (const double u : {0.0, 0.25}) {
    INFO("u = " << u);
    const HybridAnswer answer = hybrid_search(shop.index, shop.lexical, shop.query_vector(), lq, QueryConstraints{}, 6,
                                              SearchMode::Hybrid, options, u);
    const double a = u * ck * 1.0 + (1 - u) * c * 0.5, a_other = u * ck * 1.0;
    CHECK_THAT(answer.lexical_weight, WithinAbs(a, 1e-12));
    CHECK_THAT(answer.other_script_lexical_weight, WithinAbs(a_other, 1e-12));
    // Latin rows fused with a, the Chinese rows (3, 5) with a_other.
    const auto with_a = expected_weighted(shop, text, a), with_other = expected_weighted(shop, text, a_other);
    REQUIRE(answer.results.size() == 6);
    for (const auto& r : answer.results) {
      INFO("row " << r.row);
      const bool cjk = r.row == 3 || r.row == 5;
      CHECK_THAT(r.score, WithinAbs((cjk ? with_other : with_a).at(r.row), 1e-6));
    }
    // Row 5 (手工 挂面 礼盒) sits closest to the query after row 3, and no
    // English word can count against it: it ranks above the English
    // products that only share words.
    const auto at = [&](std::size_t row) {
      for (std::size_t i = 0; i < answer.results.size(); ++i)
        if (answer.results[i].row == row) return i;
      return answer.results.size();
    };
    if (u == 0.0) CHECK(at(5) < at(1));
  }
  // A given weight applies to every row; the modes that use one side report 0 or 1.
  HybridOptions fixed = options;
  fixed.lexical_weight = 0.3;
  const HybridAnswer given = hybrid_search(shop.index, shop.lexical, shop.query_vector(), lq, QueryConstraints{}, 6,
                                           SearchMode::Hybrid, fixed);
  CHECK(given.lexical_weight == 0.3);
  CHECK(given.other_script_lexical_weight == 0.3);
  const auto want = expected_weighted(shop, text, 0.3);
  for (const auto& r : given.results) CHECK_THAT(r.score, WithinAbs(want.at(r.row), 1e-6));
  CHECK(hybrid_search(shop.index, shop.lexical, shop.query_vector(), lq, QueryConstraints{}, 6, SearchMode::Dense, options)
            .lexical_weight == 0.0);
  CHECK(hybrid_search(shop.index, shop.lexical, shop.query_vector(), lq, QueryConstraints{}, 6, SearchMode::Lexical,
                      options)
            .lexical_weight == 1.0);
}

TEST_CASE("reciprocal-rank fusion: a / (k + rank_L) + (1 - a) / (k + rank_D), scaled by its largest", "[hybrid]") {
  const Shop shop;
  HybridOptions options;
  options.candidates = 6;
  options.fusion = Fusion::ReciprocalRank;
  const auto lq = shop.lexical.query("red dress");
  const HybridAnswer answer = hybrid_search(shop.index, shop.lexical, shop.query_vector(), lq, QueryConstraints{}, 6,
                                            SearchMode::Hybrid, options);
  CHECK(answer.lexical_weight == 0.5);
  // Ranks from the two lists on their own.
  const auto dense = shop.index.search(shop.query_vector(), 6);
  const auto lexical = shop.lexical.search(lq, 6);
  std::map<std::size_t, double> fused;
  for (std::size_t i = 0; i < dense.size(); ++i) fused[dense[i].row] += 0.5 / (60.0 + static_cast<double>(i + 1));
  for (std::size_t i = 0; i < lexical.size(); ++i) fused[lexical[i].row] += 0.5 / (60.0 + static_cast<double>(i + 1));
  double top = 0;
  for (const auto& [row, f] : fused) top = std::max(top, f);
  REQUIRE(answer.results.size() == 6);
  for (const auto& r : answer.results) CHECK_THAT(r.score, WithinAbs(fused.at(r.row) / top, 1e-6));
}
