#pragma once
/// Which of a row's similarities are kept: the top-M positive ones (the
/// neighbour lists) or every nonzero one (the dense matrix). RowSelector
/// takes a row pair by pair (fused and Eigen kernels); select_from_dense_row
/// cuts a whole row of the upper-triangle kernel's matrix, with kth_largest.
///
/// M = neighbours kept per user (max_neighbors).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "embedrank/cf/detail/group_similarity_rows.hpp"

namespace embedrank::cf::detail {

/// Which of a row's similarities a kernel keeps and hands over: the
/// neighbour lists want the best positive ones, the dense matrix all of them.
enum class KeptSimilarities {
  top_positive,  ///< the best max_neighbors positive ones (all positive ones when 0)
  nonzero,       ///< every nonzero one, negative included (the dense matrix)
};

/// Order of the top-M cut: higher similarity first, ties by lower user index.
inline bool better_neighbor(const UserSimilarity& a, const UserSimilarity& b) {
  return a.similarity > b.similarity || (a.similarity == b.similarity && a.user < b.user);
}

/// Collects one row's similarities, offered one by one, and keeps what
/// KeptSimilarities asks for. For a top-M cut it holds at most 2M
/// candidates: when full it keeps the best M and from then on admits only
/// candidates better than the M-th, so a row with hundreds of thousands of
/// touched pairs costs a comparison per pair, not a sort. The result is the
/// same set as sorting every candidate.
class RowSelector {
 public:
  static constexpr bool kWholeTile = false;  // takes the pairs one by one (fused_row)

  RowSelector(KeptSimilarities keep, int max_neighbors)
      : keep_(keep), limit_(static_cast<std::size_t>(max_neighbors)) {}

  void reset() {
    kept_.clear();
    gated_ = false;
  }

  /// No similarity below this can be kept.
  double floor() const {
    if (keep_ == KeptSimilarities::nonzero) return -std::numeric_limits<double>::infinity();
    return gated_ ? worst_.similarity : 0.0;
  }

  /// Offers one similarity; true when this raised floor().
  bool offer(std::int32_t user, double similarity) {
    if (keep_ == KeptSimilarities::nonzero) {
      if (similarity != 0.0) kept_.push_back({user, similarity});
      return false;
    }
    if (!(similarity > 0.0)) return false;
    const UserSimilarity c{user, similarity};
    if (gated_ && !better_neighbor(c, worst_)) return false;
    kept_.push_back(c);
    if (limit_ == 0 || kept_.size() < 2 * limit_) return false;
    cut();
    return true;
  }

  /// The kept similarities, users ascending.
  std::vector<UserSimilarity>& finish() {
    if (keep_ == KeptSimilarities::top_positive && limit_ > 0 && kept_.size() > limit_) cut();
    const auto by_user = [](const UserSimilarity& a, const UserSimilarity& b) { return a.user < b.user; };
    if (!std::is_sorted(kept_.begin(), kept_.end(), by_user)) std::sort(kept_.begin(), kept_.end(), by_user);
    return kept_;
  }

 private:
  void cut() {
    std::nth_element(kept_.begin(), kept_.begin() + static_cast<std::ptrdiff_t>(limit_) - 1, kept_.end(), better_neighbor);
    kept_.resize(limit_);
    worst_ = kept_.back();
    gated_ = true;
  }

  KeptSimilarities keep_;
  std::size_t limit_;
  std::vector<UserSimilarity> kept_;
  UserSimilarity worst_{0, 0.0};
  bool gated_ = false;
};

/// The (k + 1)-th largest of a[0, n), k < n; reorders a. Quickselect whose
/// partitions move every element without a branch on its value (a row's
/// similarities are in random order, so a branch per comparison would be
/// mispredicted half the time); values equal to the pivot are set apart so
/// repeated values end the search. Falls back to std::nth_element if the
/// pivots keep being poor.
inline double kth_largest(double* a, std::size_t n, std::size_t k) {
  for (int rounds = 0; n > 32; ++rounds) {
    if (rounds == 64) {
      std::nth_element(a, a + k, a + n, [](double x, double y) { return x > y; });
      return a[k];
    }
    double lo = a[0], mid = a[n / 2], hi = a[n - 1];  // median of three
    if (lo > mid) std::swap(lo, mid);
    if (mid > hi) std::swap(mid, hi);
    if (lo > mid) std::swap(lo, mid);
    const double pivot = mid;
    std::size_t greater = 0;  // a[0, greater) > pivot
    for (std::size_t i = 0; i < n; ++i) {
      const double x = a[i];
      a[i] = a[greater];
      a[greater] = x;
      greater += x > pivot ? 1 : 0;
    }
    if (k < greater) {
      n = greater;
      continue;
    }
    std::size_t equal = greater;  // a[greater, equal) == pivot
    for (std::size_t i = greater; i < n; ++i) {
      const double x = a[i];
      a[i] = a[equal];
      a[equal] = x;
      equal += x == pivot ? 1 : 0;
    }
    if (k < equal) return pivot;
    a += equal;
    n -= equal;
    k -= equal;
  }
  std::sort(a, a + n, [](double x, double y) { return x > y; });
  return a[k];
}

/// What RowSelector keeps of a whole row of similarities (row[v] = sim(u, v),
/// 0 for none), users ascending, without sorting: the candidates are
/// compacted in user order (branch-free) into kept, and a top-M cut finds
/// the M-th best value t and keeps, in order, every value above t and the
/// first (lowest-index) ties at t until M are kept. kept and values: scratch
/// of num_u entries. Returns how many are kept.
inline std::size_t select_from_dense_row(const double* row, std::int32_t num_u, KeptSimilarities keep, int max_neighbors,
                                         UserSimilarity* kept, double* values) {
  std::size_t count = 0;
  for (std::int32_t v = 0; v < num_u; ++v) {
    const double s = row[v];
    kept[count] = {v, s};
    values[count] = s;
    count += (keep == KeptSimilarities::nonzero ? s != 0.0 : s > 0.0) ? 1 : 0;
  }
  const auto limit = static_cast<std::size_t>(max_neighbors);
  if (keep != KeptSimilarities::top_positive || limit == 0 || count <= limit) return count;
  const double t = kth_largest(values, count, limit - 1);
  std::size_t ties = limit;  // how many of the values equal to t are kept: M minus those above t
  for (std::size_t e = 0; e < count; ++e) ties -= kept[e].similarity > t ? 1 : 0;
  std::size_t m = 0;
  for (std::size_t e = 0; e < count; ++e) {
    const UserSimilarity c = kept[e];
    const bool tie = c.similarity == t && ties > 0;
    ties -= tie ? 1 : 0;
    kept[m] = c;
    m += c.similarity > t || tie ? 1 : 0;
  }
  return m;
}

}  // namespace embedrank::cf::detail
