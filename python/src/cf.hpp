#pragma once
// PyUserKnn: a fitted cf::UserKnn shared by Python threads (bind_cf.cpp), also
// read by the Recommender binding.

#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "common.hpp"
#include "embedrank/cf/user_knn.hpp"

namespace embedrank_python {

namespace cf = embedrank::cf;

/// Ratings as floats: any real numpy array or sequence of numbers.
std::vector<double> ratings_of(py::handle obj);
/// Ratings from parallel id and value lists (the GIL released while building).
cf::Ratings build_ratings(const std::vector<std::string>& users, const std::vector<std::string>& items,
                          const std::vector<double>& values, cf::DuplicatePolicy duplicates);
/// Ratings from Python sequences of user ids, item ids and ratings; tells
/// whether every user (item) id was an integer when asked.
cf::Ratings ratings_from_python(py::handle users, py::handle items, py::handle ratings,
                                cf::DuplicatePolicy duplicates = cf::DuplicatePolicy::LastWins,
                                bool* integer_users = nullptr, bool* integer_items = nullptr);

class PyUserKnn {
 public:
  cf::KnnOptions options;

  /// The fitted model under a shared lock; throws InputError "not_fitted" before fit().
  template <typename Work>
  auto read(Work work) const {
    py::gil_scoped_release unlocked;
    std::shared_lock<std::shared_mutex> lock(mutex_);
    if (!model_) throw InputError("not_fitted", "UserKnn.fit() has not been called");
    return work(*model_);
  }
  /// Fits on `ratings` (GIL released); the new model replaces the old one
  /// at once: a call running meanwhile on another thread answers wholly
  /// from the old model or wholly from the new one.
  void fit(cf::Ratings ratings, bool integer_users, bool integer_items) {
    py::gil_scoped_release unlocked;
    auto fitted = std::make_shared<const cf::UserKnn>(std::move(ratings), options);
    std::unique_lock<std::shared_mutex> lock(mutex_);
    model_ = std::move(fitted);
    integer_users_ = integer_users;
    integer_items_ = integer_items;
  }
  /// The model for a Recommender call (kept alive by the shared_ptr).
  std::shared_ptr<const cf::UserKnn> model() const {
    std::shared_lock<std::shared_mutex> lock(mutex_);
    return model_;
  }
  /// Whether the fitted model's user (item) ids were all integers: read it
  /// inside read()'s work, under the lock that keeps it the model's own.
  bool integer_users() const { return integer_users_; }
  bool integer_items() const { return integer_items_; }

 private:
  mutable std::shared_mutex mutex_;
  std::shared_ptr<const cf::UserKnn> model_;
  bool integer_users_ = false, integer_items_ = false;
};

}  // namespace embedrank_python
