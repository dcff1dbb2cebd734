#pragma once
/// The ranker's top-k: hits ordered by score, then row, selected with the
/// library's one top-k toolbox (core/top_k.hpp), so results are defined,
/// prefix-stable and independent of how the work was split.
///
/// The order: a hit is better than another if its score is higher, or the
/// scores are equal and its item index is lower. NaN scores are never kept.
/// Selection costs are described in core/top_k.hpp and docs/ranking.md.

#include <cstddef>
#include <vector>

#include "embedrank/core/top_k.hpp"

namespace embedrank::rank {

/// One scored item: its row index in the catalogue and its score.
struct Hit {
  float score = 0.0f;
  std::size_t index = 0;
};

/// True if `a` ranks before `b`: higher score, then lower index.
inline bool ranks_before(const Hit& a, const Hit& b) {
  return a.score > b.score || (a.score == b.score && a.index < b.index);
}

/// The order of hits, as BestK takes it.
struct HitRank {
  using Entry = Hit;
  using Score = float;
  static float score(const Hit& h) { return h.score; }
  static bool before(const Hit& a, const Hit& b) { return ranks_before(a, b); }
};

using embedrank::kHeapMaxK;

/// Accumulates the k best hits of a stream of (score, index) candidates.
/// Not thread-safe: use one per thread and combine with merge_top_k.
class TopK : public BestK<HitRank> {
 public:
  using BestK<HitRank>::BestK;
  using BestK<HitRank>::push;

  /// Offers a candidate. NaN scores are ignored.
  void push(float score, std::size_t index) { push(Hit{score, index}); }
};

/// Merges sorted per-part top-k lists (each best first, disjoint indices)
/// into the overall top-k, best first.
inline std::vector<Hit> merge_top_k(const std::vector<std::vector<Hit>>& parts, std::size_t k) {
  return merge_best<HitRank>(parts, k);
}

}  // namespace embedrank::rank
