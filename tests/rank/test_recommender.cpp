// The hybrid recommender: profile from history, seen items excluded, content
// and CF scores blended, MMR diversity, explanations; against brute force on
// a hand-made catalogue and a small ratings set.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "embedrank/rank/recommender.hpp"

using Catch::Matchers::WithinAbs;
using embedrank::InputError;
using embedrank::VectorF;
using embedrank::rank::EmbeddingIndex;
using embedrank::rank::HistoryItem;
using embedrank::rank::Recommender;
using embedrank::rank::RecommendOptions;

namespace {

VectorF vec(float x, float y, float z) {
  VectorF v(3);
  v << x, y, z;
  return v.normalized();
}

// Six items in 3-D: two "running" items near x, two "baby" items near y,
// one "kitchen" item on z, one between running and baby.
EmbeddingIndex catalogue() {
  EmbeddingIndex index(3);
  index.add("shoes", vec(1, 0, 0));
  index.add("socks", vec(0.9f, 0.1f, 0));
  index.add("bottle", vec(0, 1, 0));
  index.add("bib", vec(0, 0.9f, 0.1f));
  index.add("pan", vec(0, 0, 1));
  index.add("stroller_for_runners", vec(0.7f, 0.7f, 0));
  index.set_threads(1);
  return index;
}

}  // namespace

TEST_CASE("profile is the weighted, normalised mean of the history", "[recommender]") {
  const EmbeddingIndex index = catalogue();
  const Recommender rec(index);
  const VectorF p = rec.profile_from_history({{"shoes", 2.0}, {"bottle", 1.0}});
  CHECK_THAT(p[0], WithinAbs(2 / std::sqrt(5.0), 1e-6));
  CHECK_THAT(p[1], WithinAbs(1 / std::sqrt(5.0), 1e-6));
  // Recency: with a half-life of 1, an item of age 1 counts half.
  const VectorF r = rec.profile_from_history({{"shoes", 1.0, 1.0}, {"bottle", 1.0, 0.0}}, /*recency_half_life=*/1.0);
  CHECK_THAT(r[1] / r[0], WithinAbs(2.0, 1e-5));
  CHECK_THROWS_AS(rec.profile_from_history({{"no_such_item"}}), InputError);
  CHECK_THROWS_AS(rec.profile_from_history({}), InputError);
  CHECK_THROWS_AS(rec.profile_from_history({{"shoes", -1.0}}), InputError);
}

TEST_CASE("content-only recommendations exclude history and follow the profile", "[recommender]") {
  const EmbeddingIndex index = catalogue();
  const Recommender rec(index);
  const std::vector<HistoryItem> history{{"shoes", 2.0}, {"bottle", 1.0}};
  const VectorF profile = rec.profile_from_history(history);
  const auto got = rec.recommend(profile, history, "", 10);
  REQUIRE(got.size() == 4);  // six items, two seen
  // Brute force: every unseen item by profile . item, best first.
  std::vector<std::pair<double, std::string>> expected;
  for (const char* id : {"socks", "bib", "pan", "stroller_for_runners"})
    expected.emplace_back(profile.dot(index.vector(index.row_of(id))), id);
  std::sort(expected.rbegin(), expected.rend());
  for (std::size_t i = 0; i < got.size(); ++i) {
    CHECK(got[i].id == expected[i].second);
    CHECK_THAT(got[i].content_score, WithinAbs(expected[i].first, 1e-6));
    CHECK(std::isnan(got[i].cf_score));
  }
  CHECK(got.front().score == 1.0);  // min-max normalised relevance
  CHECK(got.back().score == 0.0);
  // Explanations: the history item each one is closest to.
  for (const auto& r : got) {
    const double to_shoes = index.vector(r.row).dot(index.vector(index.row_of("shoes")));
    const double to_bottle = index.vector(r.row).dot(index.vector(index.row_of("bottle")));
    CHECK(r.closest_history_id == (to_shoes >= to_bottle ? "shoes" : "bottle"));
    CHECK_THAT(r.closest_similarity, WithinAbs(std::max(to_shoes, to_bottle), 1e-6));
  }
  // k is a prefix; k = 0 is empty; extra exclusions apply.
  const auto top2 = rec.recommend(profile, history, "", 2);
  REQUIRE(top2.size() == 2);
  CHECK(top2[0].id == got[0].id);
  CHECK(top2[1].id == got[1].id);
  CHECK(rec.recommend(profile, history, "", 0).empty());
  embedrank::rank::ItemBitmap out_of_stock = index.exclusion({got[0].id});
  const auto filtered = rec.recommend(profile, history, "", 10, {}, {&out_of_stock, nullptr});
  REQUIRE(filtered.size() == 3);
  CHECK(filtered[0].id == got[1].id);
}

TEST_CASE("maximal marginal relevance trades relevance for diversity", "[recommender][mmr]") {
  const EmbeddingIndex index = catalogue();
  const Recommender rec(index);
  const std::vector<HistoryItem> history{{"shoes"}};
  const VectorF profile = rec.profile_from_history(history);
  RecommendOptions relevance, diverse;
  diverse.mmr_lambda = 0.3;
  const auto plain = rec.recommend(profile, history, "", 3, relevance);
  const auto mmr = rec.recommend(profile, history, "", 3, diverse);
  REQUIRE(plain.size() == 3);
  REQUIRE(mmr.size() == 3);
  CHECK(mmr[0].id == plain[0].id);  // the first pick is always the most relevant
  CHECK(plain[1].id == "stroller_for_runners");
  // After "socks", MMR prefers an item unlike it over the near-duplicate direction.
  CHECK(mmr[1].id != plain[1].id);
}

TEST_CASE("maximal marginal relevance picks by its objective on a hand-made case", "[recommender][mmr]") {
  // profile p = (0.8, 0, 0.6); content = p . item:
  //   a (1, 0, 0)       0.80      b (0.8, 0.6, 0)   0.64
  //   g (0, 0, 1)       0.60      h (0, 0.6, 0.8)   0.48
  // relevance = min-max over the four: a 1, b 0.5, g 0.375, h 0.
  // Similarities: a.b = 0.8, g.h = 0.8, every other pair 0.
  // With lambda = 0.6, value = 0.6 * relevance - 0.4 * (max similarity to those taken):
  //   pick 1: a 0.6, b 0.3, g 0.225, h 0                  -> a
  //   pick 2: b 0.3 - 0.32 = -0.02, g 0.225, h 0          -> g
  //   pick 3: b -0.02, h 0 - 0.32 = -0.32                 -> b
  // Plain relevance would give a, b, g.
  EmbeddingIndex index(3);
  index.add("a", vec(1, 0, 0));
  index.add("b", vec(0.8f, 0.6f, 0));
  index.add("g", vec(0, 0, 1));
  index.add("h", vec(0, 0.6f, 0.8f));
  index.set_threads(1);
  const Recommender rec(index);
  const VectorF profile = vec(0.8f, 0, 0.6f);
  RecommendOptions diverse;
  diverse.mmr_lambda = 0.6;
  const auto plain = rec.recommend(profile, {}, "", 3);
  const auto mmr = rec.recommend(profile, {}, "", 3, diverse);
  REQUIRE(plain.size() == 3);
  REQUIRE(mmr.size() == 3);
  CHECK(plain[0].id == "a");
  CHECK(plain[1].id == "b");
  CHECK(plain[2].id == "g");
  CHECK(mmr[0].id == "a");
  CHECK(mmr[1].id == "g");
  CHECK(mmr[2].id == "b");
  // Each keeps its blended relevance, not its MMR value.
  CHECK_THAT(mmr[0].score, WithinAbs(1.0, 1e-6));
  CHECK_THAT(mmr[1].score, WithinAbs(0.375, 1e-6));
  CHECK_THAT(mmr[2].score, WithinAbs(0.5, 1e-6));
  CHECK_THAT(mmr[1].content_score, WithinAbs(0.6, 1e-6));
}

TEST_CASE("collaborative-filtering scores blend in for users the CF model knows", "[recommender][cf]") {
  const EmbeddingIndex index = catalogue();
  // u1 (our user) and u2 agree on shoes and bottle; u2 loves the pan, which
  // content alone ranks last for u1.
  std::vector<embedrank::cf::RatingTriplet> triplets = {
      {"u1", "shoes", 5}, {"u1", "bottle", 1}, {"u1", "bib", 2},
      {"u2", "shoes", 5}, {"u2", "bottle", 1}, {"u2", "pan", 5}, {"u2", "bib", 2},
      {"u3", "shoes", 1}, {"u3", "bottle", 5}, {"u3", "pan", 1}, {"u3", "socks", 4},
  };
  embedrank::cf::KnnOptions knn;
  knn.algorithm = embedrank::cf::KnnAlgorithm::WithMeans;
  const embedrank::cf::UserKnn cf(embedrank::cf::Ratings::from_triplets(triplets), knn);
  const Recommender rec(index, &cf);
  const std::vector<HistoryItem> history{{"shoes", 2.0}, {"bottle", 1.0}};
  const VectorF profile = rec.profile_from_history(history);

  RecommendOptions cf_only;
  cf_only.content_weight = 0.0;
  const auto by_cf = rec.recommend(profile, history, "u1", 4, cf_only);
  REQUIRE_FALSE(by_cf.empty());
  CHECK(by_cf[0].id == "pan");
  CHECK_THAT(by_cf[0].cf_score, WithinAbs(cf.predict("u1", "pan").value, 1e-12));
  CHECK_FALSE(cf.predict("u1", "pan").fell_back());

  RecommendOptions content_only;
  content_only.content_weight = 1.0;
  const auto by_content = rec.recommend(profile, history, "u1", 4, content_only);
  CHECK(by_content[0].id != "pan");
  // An unknown CF user falls back to content.
  const auto stranger = rec.recommend(profile, history, "nobody", 4, cf_only);
  CHECK(stranger[0].id == by_content[0].id);

  // The explanation names u2, who rated the pan, as the neighbour behind its CF score.
  REQUIRE(by_cf[0].cf_neighbors.size() == 1);
  CHECK(by_cf[0].cf_neighbors[0].user_id == "u2");
  CHECK(by_cf[0].cf_neighbors[0].rating == 5.0);
  // cf_score: the prediction when it comes from neighbours, else NaN (a boost for rerank).
  CHECK(rec.cf_score("u1", "pan") == cf.predict("u1", "pan").value);
  CHECK(std::isnan(rec.cf_score("nobody", "pan")));
  CHECK(std::isnan(rec.cf_score("u1", "not-rated-by-anyone")));
  CHECK(std::isnan(Recommender(index).cf_score("u1", "pan")));

  RecommendOptions bad;
  bad.content_weight = 1.5;
  CHECK_THROWS_AS(rec.recommend(profile, history, "u1", 4, bad), InputError);
  CHECK_THROWS_AS(rec.recommend(VectorF::Ones(4), history, "u1", 4), InputError);
}

TEST_CASE("a blend of 0 < w < 1 is the documented formula over the candidates", "[recommender][cf]") {
  const EmbeddingIndex index = catalogue();
  std::vector<embedrank::cf::RatingTriplet> triplets = {
      {"u1", "shoes", 5}, {"u1", "bottle", 1}, {"u1", "bib", 2},
      {"u2", "shoes", 5}, {"u2", "bottle", 1}, {"u2", "pan", 5}, {"u2", "bib", 2}, {"u2", "socks", 3},
      {"u3", "shoes", 1}, {"u3", "bottle", 5}, {"u3", "pan", 1}, {"u3", "socks", 4},
  };
  embedrank::cf::KnnOptions knn;
  knn.algorithm = embedrank::cf::KnnAlgorithm::WithMeans;
  const embedrank::cf::UserKnn cf(embedrank::cf::Ratings::from_triplets(triplets), knn);
  const Recommender rec(index, &cf);
  const std::vector<HistoryItem> history{{"shoes", 2.0}, {"bottle", 1.0}};
  const VectorF profile = rec.profile_from_history(history);

  // By hand: every unseen item is a candidate (C = 200 > 4). content =
  // profile . item; cf = the kNN prediction where it came from neighbours,
  // else missing; each min-max scaled over the candidates that have it;
  // blended = w * content' + (1 - w) * cf', a missing cf' counting as 0.
  const std::vector<std::string> unseen{"socks", "bib", "pan", "stroller_for_runners"};
  std::vector<double> content, cf_score;
  for (const std::string& id : unseen) {
    content.push_back(profile.dot(index.vector(index.row_of(id))));
    const embedrank::cf::Prediction p = cf.predict("u1", id);
    cf_score.push_back(p.fell_back() ? std::numeric_limits<double>::quiet_NaN() : p.value);
  }
  auto minmax = [](const std::vector<double>& v) {
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (double x : v)
      if (!std::isnan(x)) lo = std::min(lo, x), hi = std::max(hi, x);
    std::vector<double> scaled;
    for (double x : v) scaled.push_back(std::isnan(x) ? 0.0 : hi > lo ? (x - lo) / (hi - lo) : 1.0);
    return scaled;
  };
  const std::vector<double> content_scaled = minmax(content), cf_scaled = minmax(cf_score);
  // Two CF scores at least, of different values: otherwise the test says little.
  REQUIRE(std::count_if(cf_score.begin(), cf_score.end(), [](double x) { return !std::isnan(x); }) >= 2);
  CHECK(std::isnan(cf_score[3]));  // the stroller has no ratings

  for (const double w : {0.25, 0.5, 0.8}) {
    CAPTURE(w);
    RecommendOptions options;
    options.content_weight = w;
    std::vector<std::pair<double, std::size_t>> expected;  // (blended, row), best first, ties by row
    for (std::size_t j = 0; j < unseen.size(); ++j)
      expected.emplace_back(w * content_scaled[j] + (1 - w) * cf_scaled[j], index.row_of(unseen[j]));
    std::sort(expected.begin(), expected.end(), [](const auto& a, const auto& b) {
      return a.first > b.first || (a.first == b.first && a.second < b.second);
    });
    const auto got = rec.recommend(profile, history, "u1", 10, options);
    REQUIRE(got.size() == unseen.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      CAPTURE(i, got[i].id);
      CHECK(got[i].row == expected[i].second);
      CHECK_THAT(got[i].score, WithinAbs(expected[i].first, 1e-6));
      const std::size_t j = static_cast<std::size_t>(
          std::find(unseen.begin(), unseen.end(), got[i].id) - unseen.begin());
      REQUIRE(j < unseen.size());
      CHECK_THAT(got[i].content_score, WithinAbs(content[j], 1e-6));
      if (std::isnan(cf_score[j]))
        CHECK(std::isnan(got[i].cf_score));
      else
        CHECK_THAT(got[i].cf_score, WithinAbs(cf_score[j], 1e-12));
    }
  }
}
