#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cf/cf_test_util.hpp"
#include "embedrank/cf/user_knn.hpp"

using namespace embedrank;
using namespace embedrank::cf;
using Catch::Matchers::WithinAbs;

namespace {

KnnOptions all_neighbors(KnnAlgorithm algorithm, int k) {
  KnnOptions o;
  o.algorithm = algorithm;
  o.k = k;
  o.similarity.max_neighbors = 0;
  return o;
}

KnnAlgorithm algorithm_named(const std::string& name) {
  if (name == "knn_basic") return KnnAlgorithm::Basic;
  if (name == "knn_with_means") return KnnAlgorithm::WithMeans;
  return KnnAlgorithm::WithZscore;
}

struct SurpriseRow {
  std::string user, item;
  double est = 0.0;
  bool impossible = false;
  int actual_k = -1;
};

}  // namespace

// Ratings (items i1..i5):   A: 5 3 4 4 -   U1: 3 1 2 3 3   U2: 4 3 4 3 5   U3: 3 3 1 5 4
TEST_CASE("Predictions on the 4 x 5 example", "[knn]") {
  // sim(A, U1) = 2 / sqrt(5.5), sim(A, U2) = 1 / sqrt(2), sim(A, U3) = 0 (see test_pearson.cpp).
  const double s1 = 2.0 / std::sqrt(5.5), s2 = 1.0 / std::sqrt(2.0);
  const Ratings r = cf_test::alice_ratings();

  SECTION("basic: similarity-weighted mean of the neighbours' ratings of i5 (U1: 3, U2: 5)") {
    const UserKnn model(r, all_neighbors(KnnAlgorithm::Basic, 40));
    const Prediction p = model.predict("A", "i5");
    CHECK(p.level == PredictionLevel::Neighbors);
    CHECK(p.actual_k == 2);
    CHECK_THAT(p.value, WithinAbs((s1 * 3 + s2 * 5) / (s1 + s2), 1e-12));
  }
  SECTION("with means: A's mean 4 plus the weighted deviations from U1's 2.4 and U2's 3.8") {
    const UserKnn model(r, all_neighbors(KnnAlgorithm::WithMeans, 40));
    CHECK_THAT(model.predict("A", "i5").value, WithinAbs(4.0 + (s1 * 0.6 + s2 * 1.2) / (s1 + s2), 1e-12));
  }
  SECTION("with z-score: deviations over population standard deviations") {
    // sigma_A = sqrt(2/4), sigma_U1 = sqrt(3.2/5), sigma_U2 = sqrt(2.8/5).
    const double sa = std::sqrt(0.5), su1 = std::sqrt(0.64), su2 = std::sqrt(0.56);
    const UserKnn model(r, all_neighbors(KnnAlgorithm::WithZscore, 40));
    CHECK_THAT(model.predict("A", "i5").value,
               WithinAbs(4.0 + sa * (s1 * 0.6 / su1 + s2 * 1.2 / su2) / (s1 + s2), 1e-12));
  }
  SECTION("k = 1 keeps the most similar rater only") {
    const UserKnn model(r, all_neighbors(KnnAlgorithm::Basic, 1));
    const Prediction p = model.predict("A", "i5");
    CHECK(p.actual_k == 1);
    CHECK_THAT(p.value, WithinAbs(3.0, 1e-12));
  }
  SECTION("min_k above the available neighbours") {
    KnnOptions o = all_neighbors(KnnAlgorithm::Basic, 40);
    o.min_k = 3;
    const Prediction basic = UserKnn(r, o).predict("A", "i5");
    CHECK(basic.level == PredictionLevel::UserMean);
    CHECK(basic.value == 4.0);
    CHECK(basic.actual_k == 2);
    o.algorithm = KnnAlgorithm::WithMeans;
    const Prediction means = UserKnn(r, o).predict("A", "i5");
    CHECK(means.level == PredictionLevel::UserMean);
    CHECK(means.value == 4.0);
  }
}

TEST_CASE("Fallback chain and Surprise's global mean", "[knn][fallback]") {
  const Ratings r = cf_test::alice_ratings();
  const double global = r.global_mean();
  SECTION("chain: user mean, then item mean, then global mean") {
    const UserKnn model(r, all_neighbors(KnnAlgorithm::Basic, 40));
    const Prediction unknown_item = model.predict("U1", "new item");
    CHECK(unknown_item.level == PredictionLevel::UserMean);
    CHECK_THAT(unknown_item.value, WithinAbs(2.4, 1e-12));
    const Prediction unknown_user = model.predict("new user", "i5");
    CHECK(unknown_user.level == PredictionLevel::ItemMean);
    CHECK_THAT(unknown_user.value, WithinAbs(4.0, 1e-12));
    const Prediction neither = model.predict("new user", "new item");
    CHECK(neither.level == PredictionLevel::GlobalMean);
    CHECK_THAT(neither.value, WithinAbs(global, 1e-12));
    CHECK(neither.fell_back());
    // U3 rated i1 itself; it is not its own neighbour, U1 (sim > 0) is.
    const Prediction rated = model.predict("U3", "i1");
    CHECK(rated.level == PredictionLevel::Neighbors);
    CHECK(rated.actual_k == 1);
    CHECK_THAT(rated.value, WithinAbs(3.0, 1e-12));
  }
  SECTION("Surprise-compatible: every impossible prediction is the global mean") {
    const UserKnn model(r, surprise_compatible(KnnAlgorithm::Basic));
    CHECK(model.predict("U1", "new item").level == PredictionLevel::GlobalMean);
    CHECK(model.predict("new user", "i5").level == PredictionLevel::GlobalMean);
    CHECK_THAT(model.predict("new user", "i5").value, WithinAbs(global, 1e-12));
  }
  SECTION("clipping is on by default, off in the Surprise-compatible configuration") {
    CHECK(KnnOptions{}.clip);
    CHECK_FALSE(embedrank::cf::surprise_compatible(KnnAlgorithm::WithMeans).clip);
  }
  SECTION("clipping to the training scale or a given one") {
    KnnOptions o = all_neighbors(KnnAlgorithm::WithMeans, 40);
    o.clip = true;
    o.clip_max = 4.5;
    const Prediction p = UserKnn(r, o).predict("A", "i5");
    CHECK(p.value == 4.5);  // unclipped 4 + positive deviation > 4.5
    o.clip_max = std::numeric_limits<double>::quiet_NaN();  // the highest training rating, 5
    o.clip_min = 4.9;
    CHECK(UserKnn(r, o).predict("A", "i5").value == 4.9);
    o.clip_min = std::numeric_limits<double>::quiet_NaN();  // the lowest training rating, 1
    const Prediction unknown_user = UserKnn(r, o).predict("new user", "i5");
    CHECK(unknown_user.value == 4.0);  // the item mean, inside [1, 5]
  }
  SECTION("bad options and indices") {
    KnnOptions o;
    o.k = 0;
    CHECK_THROWS_AS(UserKnn(r, o), InputError);
    o = KnnOptions{};
    o.min_k = -1;
    CHECK_THROWS_AS(UserKnn(r, o), InputError);
    o = KnnOptions{};
    o.clip = true;
    o.clip_min = 5;
    o.clip_max = 1;
    CHECK_THROWS_AS(UserKnn(r, o), InputError);
    const UserKnn model(r);
    CHECK_THROWS_AS(model.predict(4, 0), InputError);
    CHECK_THROWS_AS(model.predict(0, -2), InputError);
    CHECK_THROWS_AS(model.recommend("nobody", 3), InputError);
  }
}

TEST_CASE("Predictions equal Surprise's KNNBasic, KNNWithMeans, KNNWithZScore", "[knn][parity]") {
  const Ratings train = read_ratings(cf_test::data_path("synthetic_train.tsv"));
  std::ifstream in(cf_test::data_path("surprise_predictions.tsv"));
  REQUIRE(in);
  // (config, algo) -> rows, plus the settings of each config.
  std::map<std::pair<std::string, std::string>, std::vector<SurpriseRow>> runs;
  std::map<std::string, std::vector<int>> settings;
  std::string line;
  std::getline(in, line);  // version header
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string config, algo;
    int k = 0, min_k = 0, min_support = 0, impossible = 0;
    double rating = 0.0;
    SurpriseRow row;
    f >> config >> k >> min_k >> min_support >> algo >> row.user >> row.item >> rating >> row.est >> impossible >>
        row.actual_k;
    REQUIRE(!f.fail());
    row.impossible = impossible != 0;
    runs[{config, algo}].push_back(row);
    settings[config] = {k, min_k, min_support};
  }
  REQUIRE(runs.size() == 9);

  for (const auto& run : runs) {
    const std::vector<int>& s = settings[run.first.first];
    const KnnAlgorithm algorithm = algorithm_named(run.first.second);
    DYNAMIC_SECTION(run.first.first << " " << run.first.second) {
      const UserKnn model(train, surprise_compatible(algorithm, s[0], s[1], s[2]));
      double max_difference = 0.0;
      std::size_t neighbor_predictions = 0;
      for (const SurpriseRow& row : run.second) {
        const Prediction p = model.predict(row.user, row.item);
        max_difference = std::max(max_difference, std::abs(p.value - row.est));
        INFO(row.user << " " << row.item << ": ours " << p.value << " (" << to_string(p.level) << ", k " << p.actual_k
                      << "), Surprise " << row.est << " (impossible " << row.impossible << ", k " << row.actual_k << ")");
        REQUIRE_THAT(p.value, WithinAbs(row.est, 1e-6));
        // Surprise's was_impossible is our global-mean level in this configuration.
        CHECK(row.impossible == (p.level == PredictionLevel::GlobalMean));
        if (!row.impossible) CHECK(p.actual_k == row.actual_k);
        neighbor_predictions += p.level == PredictionLevel::Neighbors;
      }
      // The batch path gives the same predictions, bit for bit.
      std::vector<std::pair<std::int32_t, std::int32_t>> pairs;
      for (const SurpriseRow& row : run.second) pairs.emplace_back(train.find_user(row.user), train.find_item(row.item));
      const std::vector<Prediction> batch = model.predict_many(pairs, 2);
      for (std::size_t t = 0; t < pairs.size(); ++t) {
        const Prediction p = model.predict(run.second[t].user, run.second[t].item);
        REQUIRE(batch[t].value == p.value);
        REQUIRE(batch[t].level == p.level);
      }
      INFO("regenerate with: /opt/cfenv/bin/python weights_tools/make_cf_fixtures.py tests/data/cf");
      INFO("max |ours - Surprise| = " << max_difference);
      CHECK(max_difference <= 1e-9);
      CHECK(neighbor_predictions > run.second.size() / 2);
    }
  }
}

TEST_CASE("One fitted model serves 8 threads at once, each result as when alone", "[knn][threads]") {
  const Ratings train = read_ratings(cf_test::data_path("synthetic_train.tsv"));
  KnnOptions o;
  o.algorithm = KnnAlgorithm::WithMeans;
  o.k = 10;
  const UserKnn model(train, o);
  std::vector<std::pair<std::int32_t, std::int32_t>> pairs;
  for (std::int32_t u = 0; u < train.num_users(); u += 7)
    for (std::int32_t i = 0; i < train.num_items(); i += 5) pairs.emplace_back(u, i);
  std::vector<double> expected;
  for (const auto& [u, i] : pairs) expected.push_back(model.predict(u, i).value);
  std::vector<std::vector<Recommendation>> expected_top;
  for (std::int32_t u = 0; u < train.num_users(); u += 11) expected_top.push_back(model.recommend(u, 10));
  std::vector<int> mismatches(8, 0);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < mismatches.size(); ++t)
    threads.emplace_back([&, t] {
      const std::vector<Prediction> batch = model.predict_many(pairs, 2);
      for (std::size_t p = 0; p < pairs.size(); ++p) {
        if (model.predict(pairs[p].first, pairs[p].second).value != expected[p]) ++mismatches[t];
        if (batch[p].value != expected[p]) ++mismatches[t];
      }
      std::size_t next = 0;
      for (std::int32_t u = 0; u < train.num_users(); u += 11) {
        const std::vector<Recommendation> top = model.recommend(u, 10);
        const std::vector<Recommendation>& want = expected_top[next++];
        if (top.size() != want.size()) ++mismatches[t];
        for (std::size_t r = 0; r < std::min(top.size(), want.size()); ++r)
          if (top[r].item != want[r].item || top[r].score != want[r].score) ++mismatches[t];
      }
    });
  for (auto& t : threads) t.join();
  for (int m : mismatches) CHECK(m == 0);
}

TEST_CASE("Batch predictions equal single ones, for any order of pairs and threads", "[knn]") {
  const Ratings train = read_ratings(cf_test::data_path("synthetic_train.tsv"));
  // Every 5th user with every 4th item, unknown users and items among them, shuffled.
  std::vector<std::pair<std::int32_t, std::int32_t>> pairs;
  for (std::int32_t u = -1; u < train.num_users(); u += 5)
    for (std::int32_t i = -1; i < train.num_items(); i += 4) pairs.emplace_back(u, i);
  std::shuffle(pairs.begin(), pairs.end(), std::mt19937_64(17));
  for (KnnAlgorithm algorithm : {KnnAlgorithm::Basic, KnnAlgorithm::WithMeans, KnnAlgorithm::WithZscore}) {
    for (NeighborOrder order : {NeighborOrder::ByUserIndex, NeighborOrder::Surprise}) {
      for (int max_neighbors : {0, 30}) {
        KnnOptions o;
        o.algorithm = algorithm;
        o.order = order;
        o.k = 7;
        o.min_k = 2;
        o.similarity.max_neighbors = max_neighbors;
        const UserKnn model(train, o);
        for (int threads : {1, 3}) {
          const std::vector<Prediction> batch = model.predict_many(pairs, threads);
          REQUIRE(batch.size() == pairs.size());
          std::size_t by_neighbors = 0;
          for (std::size_t t = 0; t < pairs.size(); ++t) {
            const Prediction p = model.predict(pairs[t].first, pairs[t].second);
            INFO("user " << pairs[t].first << " item " << pairs[t].second << ", M " << max_neighbors << ", threads " << threads);
            REQUIRE(batch[t].value == p.value);
            REQUIRE(batch[t].level == p.level);
            REQUIRE(batch[t].actual_k == p.actual_k);
            by_neighbors += p.level == PredictionLevel::Neighbors;
          }
          CHECK(by_neighbors > pairs.size() / 4);
        }
      }
    }
  }
  const UserKnn model(train);
  CHECK(model.predict_many({}).empty());
  CHECK_THROWS_AS(model.predict_many({{0, 0}, {train.num_users(), 0}}), InputError);
  CHECK_THROWS_AS(model.predict_many({{0, -2}}), InputError);
}

TEST_CASE("Batch predictions with more users than a cached row: both ways of finding raters", "[knn]") {
  // 34000 users (their similarity row is 272 KB, past the cached size).
  // Each rates one of 200 items and one of 10 (groups of 17 users share
  // both): those items have far more raters than a user's 20 neighbours
  // (found by intersecting the lists); every 50th user also rates one of 20
  // rare items with few raters (found through the row).
  std::mt19937_64 rng(23);
  std::vector<RatingTriplet> t;
  for (int u = 0; u < 34000; ++u) {
    t.push_back({std::to_string(u), "a" + std::to_string(u % 200), 1.0 + static_cast<double>(rng() % 5), 0});
    t.push_back({std::to_string(u), "b" + std::to_string(u / 200 % 10), 1.0 + static_cast<double>(rng() % 5), 0});
    if (u % 50 == 0) t.push_back({std::to_string(u), "rare" + std::to_string(rng() % 20), 1.0 + static_cast<double>(rng() % 5), 0});
  }
  const Ratings train = Ratings::from_triplets(t);
  for (NeighborOrder order : {NeighborOrder::ByUserIndex, NeighborOrder::Surprise}) {
    KnnOptions o;
    o.order = order;
    o.k = 5;
    o.similarity.max_neighbors = 20;
    o.similarity.shrinkage = Shrinkage::None;
    const UserKnn model(train, o);
    std::vector<std::pair<std::int32_t, std::int32_t>> pairs;
    for (std::int32_t u = 0; u < train.num_users(); u += 97) {
      for (std::size_t k = train.user_begin(u); k < train.user_end(u); ++k) pairs.emplace_back(u, train.user_items()[k]);
      for (std::int32_t i = 0; i < train.num_items(); i += 7) pairs.emplace_back(u, i);
    }
    const std::vector<Prediction> batch = model.predict_many(pairs, 2);
    std::size_t by_neighbors = 0;
    for (std::size_t p = 0; p < pairs.size(); ++p) {
      const Prediction single = model.predict(pairs[p].first, pairs[p].second);
      REQUIRE(batch[p].value == single.value);
      REQUIRE(batch[p].actual_k == single.actual_k);
      by_neighbors += single.level == PredictionLevel::Neighbors;
    }
    CHECK(by_neighbors > 100);
  }
}

TEST_CASE("Neighbour order switch only moves ties at the k-th place", "[knn]") {
  const Ratings train = read_ratings(cf_test::data_path("synthetic_train.tsv"));
  KnnOptions by_index = surprise_compatible(KnnAlgorithm::Basic, 40, 1, 1);
  by_index.order = NeighborOrder::ByUserIndex;
  const UserKnn a(train, by_index);
  const UserKnn b(train, surprise_compatible(KnnAlgorithm::Basic, 40, 1, 1));
  // With k larger than any item's positive raters there is no k-th place to tie at.
  const UserKnn c(train, [&] { KnnOptions o = by_index; o.k = 100000; return o; }());
  const UserKnn d(train, [&] { KnnOptions o = surprise_compatible(KnnAlgorithm::Basic, 100000, 1, 1); return o; }());
  std::size_t differing = 0;
  for (std::int32_t u = 0; u < train.num_users(); u += 7)
    for (std::int32_t i = 0; i < train.num_items(); i += 3) {
      REQUIRE_THAT(c.predict(u, i).value, WithinAbs(d.predict(u, i).value, 1e-12));
      differing += std::abs(a.predict(u, i).value - b.predict(u, i).value) > 1e-12;
    }
  CHECK(differing < 200);
}

TEST_CASE("Top-N recommendations", "[knn][recommend]") {
  const Ratings train = read_ratings(cf_test::data_path("synthetic_train.tsv"));
  for (KnnAlgorithm algorithm : {KnnAlgorithm::Basic, KnnAlgorithm::WithMeans, KnnAlgorithm::WithZscore}) {
    KnnOptions o;
    o.algorithm = algorithm;
    o.k = 10;
    o.min_k = 2;
    o.similarity.max_neighbors = 50;
    const UserKnn model(train, o);
    for (std::int32_t u = 0; u < train.num_users(); u += 11) {
      const std::vector<Recommendation> top = model.recommend(u, 15);
      for (std::size_t n = 0; n < top.size(); ++n) {
        INFO("user " << u << " rank " << n);
        CHECK(std::isnan(train.rating(u, top[n].item)));  // unseen
        const Prediction p = model.predict(u, top[n].item);
        CHECK(p.level == PredictionLevel::Neighbors);
        CHECK(p.actual_k == top[n].actual_k);
        CHECK_THAT(top[n].score, WithinAbs(p.value, 1e-12));
        if (n > 0) CHECK(top[n - 1].score >= top[n].score);
      }
      // Nothing left out scores higher than the last kept item.
      if (top.size() == 15) {
        for (std::int32_t i = 0; i < train.num_items(); ++i) {
          if (!std::isnan(train.rating(u, i))) continue;
          const Prediction p = model.predict(u, i);
          if (p.level != PredictionLevel::Neighbors) continue;
          const bool kept = std::any_of(top.begin(), top.end(), [&](const Recommendation& t) { return t.item == i; });
          if (!kept) CHECK(p.value <= top.back().score + 1e-12);
        }
      }
    }
  }
}

TEST_CASE("A prediction's contributions are its neighbours and rebuild its value", "[knn]") {
  const Ratings train = read_ratings(cf_test::data_path("synthetic_train.tsv"));
  for (NeighborOrder order : {NeighborOrder::ByUserIndex, NeighborOrder::Surprise}) {
    KnnOptions o;
    o.algorithm = KnnAlgorithm::WithMeans;
    o.order = order;
    o.k = 7;
    o.min_k = 2;
    o.clip = false;  // the formula's own value, which may pass the top of the scale
    const UserKnn model(train, o);
    std::size_t explained = 0;
    for (std::int32_t u = 0; u < train.num_users(); u += 7) {
      for (std::int32_t i = 0; i < train.num_items(); i += 5) {
        const Prediction p = model.predict(u, i);
        const std::vector<NeighborContribution> parts = model.contributions(u, i);
        if (p.fell_back()) {
          CHECK(parts.empty());
          continue;
        }
        ++explained;
        REQUIRE(static_cast<int>(parts.size()) == p.actual_k);
        // mu_u + sum sim (r - mu_v) / sum sim, most similar first
        double sum_sim = 0, sum_weighted = 0;
        for (std::size_t n = 0; n < parts.size(); ++n) {
          if (n > 0) CHECK(parts[n - 1].similarity >= parts[n].similarity);
          sum_sim += parts[n].similarity;
          sum_weighted += parts[n].similarity * (parts[n].rating - train.user_means()[static_cast<std::size_t>(parts[n].user)]);
        }
        CHECK_THAT(train.user_means()[static_cast<std::size_t>(u)] + sum_weighted / sum_sim, WithinAbs(p.value, 1e-9));
      }
    }
    CHECK(explained > 20);
  }
  const UserKnn model(train);
  CHECK(model.contributions(-1, 0).empty());
  CHECK_THROWS_AS(model.contributions(train.num_users(), 0), InputError);
}
