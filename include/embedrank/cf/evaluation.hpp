#pragma once
/// Evaluation of rating predictors: RMSE and MAE, train/test runs, and k-fold
/// cross-validation with a seeded, platform-independent shuffle.
///
/// T = test ratings, K = folds.

#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "embedrank/cf/ratings.hpp"
#include "embedrank/cf/user_knn.hpp"
#include "embedrank/core/error.hpp"
#include "embedrank/core/thread_pool.hpp"

namespace embedrank::cf {

struct Accuracy {
  double rmse = 0.0;
  double mae = 0.0;
  std::size_t count = 0;
  std::size_t fallbacks = 0;  ///< predictions not made by the neighbour formula
};

/// RMSE = sqrt(mean (r - r^)^2), MAE = mean |r - r^| over the pairs.
/// Throws InputError "input.empty_predictions" when there are none,
/// "input.size_mismatch" when the lengths differ.
inline Accuracy accuracy(const std::vector<RatingTriplet>& truth, const std::vector<Prediction>& predictions) {
  if (truth.size() != predictions.size())
    throw InputError("size_mismatch", std::to_string(truth.size()) + " ratings but " +
                                          std::to_string(predictions.size()) + " predictions");
  if (truth.empty()) throw InputError("empty_predictions", "no predictions to evaluate");
  Accuracy a;
  double squares = 0.0, absolutes = 0.0;
  for (std::size_t t = 0; t < truth.size(); ++t) {
    const double error = truth[t].rating - predictions[t].value;
    squares += error * error;
    absolutes += std::abs(error);
    if (predictions[t].fell_back()) ++a.fallbacks;
  }
  a.count = truth.size();
  a.rmse = std::sqrt(squares / static_cast<double>(a.count));
  a.mae = absolutes / static_cast<double>(a.count);
  return a;
}

/// Predictions for each test triplet (T), computed on
/// model.options().similarity.pool, else on its `threads` of the shared
/// pool; the result does not depend on it.
/// Unknown users or items fall back.
inline std::vector<Prediction> predict_all(const UserKnn& model, const std::vector<RatingTriplet>& test) {
  std::vector<std::pair<std::int32_t, std::int32_t>> pairs(test.size());  // (T) dense indices, -1 unknown
  for (std::size_t t = 0; t < test.size(); ++t)
    pairs[t] = {model.ratings().find_user(test[t].user), model.ratings().find_item(test[t].item)};
  const SimilarityOptions& similarity = model.options().similarity;
  if (similarity.pool != nullptr) return model.predict_many(pairs, *similarity.pool);
  return model.predict_many(pairs, similarity.threads);
}

struct Evaluation {
  Accuracy accuracy;
  double fit_seconds = 0.0;
  double predict_seconds = 0.0;
  std::vector<Prediction> predictions;  // (T), in test order
};

/// Fits on ratings already built (fit_seconds: the similarity and the
/// neighbour lists), predicts every test triplet, scores them. Throws what
/// UserKnn and accuracy() throw.
inline Evaluation train_test(Ratings train, const std::vector<RatingTriplet>& test, const KnnOptions& options) {
  using Clock = std::chrono::steady_clock;
  Evaluation e;
  const auto fit_start = Clock::now();
  const UserKnn model(std::move(train), options);
  const auto predict_start = Clock::now();
  e.predictions = predict_all(model, test);
  const auto predict_end = Clock::now();
  e.fit_seconds = std::chrono::duration<double>(predict_start - fit_start).count();
  e.predict_seconds = std::chrono::duration<double>(predict_end - predict_start).count();
  e.accuracy = accuracy(test, e.predictions);
  return e;
}

/// Fits on `train`, predicts every test triplet, scores them. Throws what
/// Ratings::from_triplets and UserKnn throw, and accuracy()'s errors.
inline Evaluation train_test(const std::vector<RatingTriplet>& train, const std::vector<RatingTriplet>& test,
                             const KnnOptions& options, DuplicatePolicy duplicates = DuplicatePolicy::LastWins) {
  using Clock = std::chrono::steady_clock;
  // fit_seconds here also counts building the Ratings from the triplets.
  const auto build_start = Clock::now();
  Ratings ratings = Ratings::from_triplets(train, duplicates, "train");
  const double build_seconds = std::chrono::duration<double>(Clock::now() - build_start).count();
  Evaluation e = train_test(std::move(ratings), test, options);
  e.fit_seconds += build_seconds;
  return e;
}

/// Fold of each of `count` items for K-fold cross-validation: a Fisher-Yates
/// shuffle driven by std::mt19937_64(seed) (its output is fixed by the
/// standard, so folds are the same on every platform), then position p goes
/// to fold p * K / count. Throws InputError "input.bad_folds" unless 2 <= K <= count.
inline std::vector<int> kfold_assignment(std::size_t count, int folds, std::uint64_t seed) {
  if (folds < 2 || static_cast<std::size_t>(folds) > count)
    throw InputError("bad_folds", "need 2 <= folds <= ratings, got " + std::to_string(folds) + " folds for " +
                                      std::to_string(count) + " ratings");
  std::vector<std::size_t> order(count);
  for (std::size_t p = 0; p < count; ++p) order[p] = p;
  std::mt19937_64 rng(seed);
  for (std::size_t p = count; p > 1; --p) {
    const std::size_t j = static_cast<std::size_t>(rng() % p);
    std::swap(order[p - 1], order[j]);
  }
  std::vector<int> fold_of(count);
  for (std::size_t p = 0; p < count; ++p)
    fold_of[order[p]] = static_cast<int>(p * static_cast<std::size_t>(folds) / count);
  return fold_of;
}

struct CrossValidation {
  std::vector<Evaluation> folds;  // (K)
  double mean_rmse = 0.0;
  double mean_mae = 0.0;
  double mean_fit_seconds = 0.0;
  double mean_predict_seconds = 0.0;
};

/// K-fold cross-validation: fold f is the test set, the rest the training set.
/// Throws InputError "input.bad_folds" and whatever train_test throws.
inline CrossValidation cross_validate(const std::vector<RatingTriplet>& ratings, int folds, std::uint64_t seed,
                                      const KnnOptions& options,
                                      DuplicatePolicy duplicates = DuplicatePolicy::LastWins) {
  const std::vector<int> fold_of = kfold_assignment(ratings.size(), folds, seed);
  CrossValidation cv;
  for (int f = 0; f < folds; ++f) {
    std::vector<RatingTriplet> train, test;
    for (std::size_t r = 0; r < ratings.size(); ++r) (fold_of[r] == f ? test : train).push_back(ratings[r]);
    cv.folds.push_back(train_test(train, test, options, duplicates));
    const Evaluation& e = cv.folds.back();
    cv.mean_rmse += e.accuracy.rmse / folds;
    cv.mean_mae += e.accuracy.mae / folds;
    cv.mean_fit_seconds += e.fit_seconds / folds;
    cv.mean_predict_seconds += e.predict_seconds / folds;
  }
  return cv;
}

}  // namespace embedrank::cf
