#pragma once
/// Which of a row's similarities are kept: the top-M positive ones (the
/// neighbour lists) or every nonzero one (the dense matrix). RowSelector
/// takes a row pair by pair (fused and Eigen kernels); select_from_dense_row
/// cuts a whole row of the upper-triangle kernel's matrix. Both select with
/// core/top_k.hpp.
///
/// M = neighbours kept per user (max_neighbors).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "embedrank/cf/detail/group_similarity_rows.hpp"
#include "embedrank/core/top_k.hpp"

namespace embedrank::cf::detail {

/// Which of a row's similarities a kernel keeps and hands over: the
/// neighbour lists want the best positive ones, the dense matrix all of them.
enum class KeptSimilarities {
  TopPositive,  ///< the best max_neighbors positive ones (all positive ones when 0)
  Nonzero,      ///< every nonzero one, negative included (the dense matrix)
};

/// Order of the top-M cut: higher similarity first, ties by lower user index.
struct NeighborRank {
  using Entry = UserSimilarity;
  using Score = double;
  static double score(const UserSimilarity& e) { return e.similarity; }
  static bool before(const UserSimilarity& a, const UserSimilarity& b) {
    return a.similarity > b.similarity || (a.similarity == b.similarity && a.user < b.user);
  }
};

/// Collects one row's similarities, offered one by one, and keeps what
/// KeptSimilarities asks for. A top-M cut is a BestK (core/top_k.hpp): a
/// row with hundreds of thousands of touched pairs costs a comparison per
/// pair, not a sort, and the result is the same set as sorting every
/// candidate.
class RowSelector {
 public:
  static constexpr bool kWholeTile = false;  // takes the pairs one by one (fused_row)

  RowSelector(KeptSimilarities keep, int max_neighbors)
      : keep_(keep), limit_(static_cast<std::size_t>(max_neighbors)), best_(limit_) {}

  void reset() {
    kept_.clear();
    best_.reset(limit_);
  }

  /// No similarity below this can be kept.
  double floor() const {
    if (keep_ == KeptSimilarities::Nonzero) return -std::numeric_limits<double>::infinity();
    return std::max(0.0, best_.threshold());
  }

  /// Offers one similarity; true when this raised floor().
  bool offer(std::int32_t user, double similarity) {
    if (keep_ == KeptSimilarities::Nonzero) {
      if (similarity != 0.0) kept_.push_back({user, similarity});
      return false;
    }
    if (!(similarity > 0.0)) return false;
    if (limit_ == 0) {
      kept_.push_back({user, similarity});
      return false;
    }
    return best_.push({user, similarity});
  }

  /// The kept similarities, users ascending.
  std::vector<UserSimilarity>& finish() {
    if (keep_ == KeptSimilarities::TopPositive && limit_ > 0) best_.take_unsorted(kept_);
    const auto by_user = [](const UserSimilarity& a, const UserSimilarity& b) { return a.user < b.user; };
    if (!std::is_sorted(kept_.begin(), kept_.end(), by_user)) std::sort(kept_.begin(), kept_.end(), by_user);
    return kept_;
  }

 private:
  KeptSimilarities keep_;
  std::size_t limit_;
  BestK<NeighborRank> best_;
  std::vector<UserSimilarity> kept_;
};

/// What RowSelector keeps of a whole row of similarities (row[v] = sim(u, v),
/// 0 for none), users ascending, without sorting: the candidates are
/// compacted in user order (branch-free) into kept, and a top-M cut keeps,
/// in order, the M best (keep_best_in_order, ties by lower user index).
/// kept and values: scratch of num_u entries. Returns how many are kept.
inline std::size_t select_from_dense_row(const double* row, std::int32_t num_u, KeptSimilarities keep, int max_neighbors,
                                         UserSimilarity* kept, double* values) {
  std::size_t count = 0;
  for (std::int32_t v = 0; v < num_u; ++v) {
    const double s = row[v];
    kept[count] = {v, s};
    count += (keep == KeptSimilarities::Nonzero ? s != 0.0 : s > 0.0) ? 1 : 0;
  }
  const auto limit = static_cast<std::size_t>(max_neighbors);
  if (keep != KeptSimilarities::TopPositive || limit == 0 || count <= limit) return count;
  return keep_best_in_order</*TiesInOrder=*/true>(
      kept, count, limit, NeighborRank::score, [](const UserSimilarity& e) { return e.user; }, values,
      static_cast<std::int32_t*>(nullptr));
}

}  // namespace embedrank::cf::detail
