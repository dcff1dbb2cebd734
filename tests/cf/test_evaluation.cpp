#include <catch2/catch.hpp>

#include <cmath>
#include <set>

#include "cf/cf_test_util.hpp"
#include "embedrank/cf/evaluation.hpp"

using namespace embedrank;
using namespace embedrank::cf;
using Catch::Matchers::WithinAbs;

TEST_CASE("RMSE and MAE", "[evaluation]") {
  const auto truth = cf_test::triplets({{"a", "x", 4}, {"a", "y", 2}, {"b", "x", 5}});
  std::vector<Prediction> predicted(3);
  predicted[0] = {3.0, PredictionLevel::Neighbors, 3};
  predicted[1] = {2.5, PredictionLevel::UserMean, 0};
  predicted[2] = {5.0, PredictionLevel::Neighbors, 1};
  const Accuracy a = accuracy(truth, predicted);
  // errors 1, -0.5, 0
  CHECK_THAT(a.rmse, WithinAbs(std::sqrt((1.0 + 0.25) / 3.0), 1e-15));
  CHECK_THAT(a.mae, WithinAbs(1.5 / 3.0, 1e-15));
  CHECK(a.count == 3);
  CHECK(a.fallbacks == 1);
  SECTION("bad input") {
    CHECK_THROWS_AS(accuracy({}, {}), InputError);
    CHECK_THROWS_AS(accuracy(truth, std::vector<Prediction>(2)), InputError);
  }
}

TEST_CASE("K-fold assignment is a seeded partition", "[evaluation]") {
  const std::vector<int> folds = kfold_assignment(103, 5, 42);
  std::vector<int> sizes(5, 0);
  for (int f : folds) {
    REQUIRE(f >= 0);
    REQUIRE(f < 5);
    ++sizes[static_cast<std::size_t>(f)];
  }
  for (int s : sizes) CHECK((s == 20 || s == 21));
  CHECK(kfold_assignment(103, 5, 42) == folds);
  CHECK(kfold_assignment(103, 5, 43) != folds);
  CHECK_THROWS_AS(kfold_assignment(10, 1, 0), InputError);
  CHECK_THROWS_AS(kfold_assignment(3, 4, 0), InputError);
}

TEST_CASE("Train/test and cross-validation on the synthetic set", "[evaluation]") {
  const auto train = read_rating_triplets(cf_test::data_path("synthetic_train.tsv"));
  const auto test = read_rating_triplets(cf_test::data_path("synthetic_test.tsv"));
  KnnOptions o;
  o.algorithm = KnnAlgorithm::WithMeans;

  const Evaluation e = train_test(train, test, o);
  REQUIRE(e.predictions.size() == test.size());
  CHECK(e.accuracy.rmse > 0.5);
  CHECK(e.accuracy.rmse < 1.5);
  CHECK(e.accuracy.mae <= e.accuracy.rmse);
  CHECK(e.accuracy.fallbacks >= 7);  // the unknown users and items at least
  SECTION("same predictions with one thread") {
    KnnOptions single = o;
    single.similarity.threads = 1;
    const Evaluation e1 = train_test(train, test, single);
    for (std::size_t t = 0; t < test.size(); ++t) REQUIRE(e1.predictions[t].value == e.predictions[t].value);
  }
  SECTION("cross-validation") {
    const CrossValidation cv = cross_validate(train, 3, 7, o);
    REQUIRE(cv.folds.size() == 3);
    std::size_t tested = 0;
    for (const Evaluation& f : cv.folds) tested += f.accuracy.count;
    CHECK(tested == train.size());
    CHECK(cv.mean_rmse > 0.5);
    CHECK(cv.mean_rmse < 1.5);
    CHECK(cross_validate(train, 3, 7, o).mean_rmse == cv.mean_rmse);
  }
}
