// The hybrid recommender: profile from history, seen items excluded, content
// and CF scores blended, MMR diversity, explanations; against brute force on
// a hand-made catalogue and a small ratings set.

#include <catch2/catch.hpp>

#include <cmath>

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
