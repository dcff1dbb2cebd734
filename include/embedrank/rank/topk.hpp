#pragma once
/// Top-k selection with one total order on (score, index), so results are
/// defined, prefix-stable and independent of how the work was split.
///
/// k = number of results kept, N = number of candidates pushed.
///
/// The order: a hit is better than another if its score is higher, or the
/// scores are equal and its item index is lower. NaN scores are never kept.
/// Because this is a strict total order over distinct indices, the top-k of
/// any candidate set is the first k elements of the fully sorted set, hence
/// top-k is a prefix of top-(k+1), and merging per-thread top-k lists gives
/// the same result as one sequential pass.
///
/// Selection (see docs/ranking.md):
///  - k <= kHeapMaxK: a binary heap of the k best so far with the worst on
///    top; a candidate costs one compare against the threshold (the heap top)
///    and O(log k) only when it enters.
///  - k >  kHeapMaxK: an unsorted buffer of capacity 2k; when full,
///    nth_element keeps the k best and the k-th becomes the threshold.
///    Amortised O(1) per entering candidate.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

namespace embedrank {
namespace rank {

/// One scored item: its row index in the catalogue and its score.
struct Hit {
  float score = 0.0f;
  std::size_t index = 0;
};

/// True if `a` ranks before `b`: higher score, then lower index.
inline bool ranks_before(const Hit& a, const Hit& b) {
  return a.score > b.score || (a.score == b.score && a.index < b.index);
}

/// Largest k served by the heap; larger k use the 2k buffer.
constexpr std::size_t kHeapMaxK = 64;

/// Accumulates the k best hits of a stream of (score, index) candidates.
/// Not thread-safe: use one per thread and combine with merge_top_k.
class TopK {
 public:
  explicit TopK(std::size_t k = 0) { reset(k); }

  /// Empties the accumulator and sets k; keeps the allocated memory.
  void reset(std::size_t k) {
    k_ = k;
    use_heap_ = k <= kHeapMaxK;
    hits_.clear();
    hits_.reserve(use_heap_ ? k : 2 * k);
    threshold_ = -std::numeric_limits<float>::infinity();
    full_ = false;
  }

  std::size_t k() const { return k_; }

  /// Score a candidate must reach (>=) to possibly enter; -inf until k hits
  /// are held. NaN never passes `score >= threshold()`, so this one compare
  /// is the whole fast-path gate.
  float threshold() const { return threshold_; }

  /// Offers a candidate. NaN scores are ignored.
  void push(float score, std::size_t index) {
    if (!(score >= threshold_) || k_ == 0) return;
    const Hit hit{score, index};
    if (use_heap_) {
      push_heap_mode(hit);
    } else {
      push_buffer_mode(hit);
    }
  }

  /// The kept hits, best first (at most k). Leaves the accumulator empty.
  std::vector<Hit> take_sorted() {
    if (!use_heap_ && hits_.size() > k_) keep_best_k();
    std::sort(hits_.begin(), hits_.end(), ranks_before);
    std::vector<Hit> out;
    out.swap(hits_);
    reset(k_);
    return out;
  }

 private:
  // heap ordered by ranks_before: the front is the worst kept hit
  void push_heap_mode(const Hit& hit) {
    if (hits_.size() < k_) {
      hits_.push_back(hit);
      std::push_heap(hits_.begin(), hits_.end(), ranks_before);
      if (hits_.size() == k_) {
        full_ = true;
        threshold_ = hits_.front().score;
      }
      return;
    }
    if (!ranks_before(hit, hits_.front())) return;
    std::pop_heap(hits_.begin(), hits_.end(), ranks_before);
    hits_.back() = hit;
    std::push_heap(hits_.begin(), hits_.end(), ranks_before);
    threshold_ = hits_.front().score;
  }

  void push_buffer_mode(const Hit& hit) {
    if (full_ && !ranks_before(hit, worst_)) return;
    hits_.push_back(hit);
    if (hits_.size() == 2 * k_) keep_best_k();
  }

  // nth_element puts the k-th best at k-1 and only better hits before it
  void keep_best_k() {
    std::nth_element(hits_.begin(), hits_.begin() + static_cast<std::ptrdiff_t>(k_ - 1), hits_.end(), ranks_before);
    hits_.resize(k_);
    worst_ = hits_[k_ - 1];
    threshold_ = worst_.score;
    full_ = true;
  }

  std::size_t k_ = 0;
  bool use_heap_ = true;
  bool full_ = false;
  float threshold_ = -std::numeric_limits<float>::infinity();
  Hit worst_;               // buffer mode: the k-th best after the last compaction
  std::vector<Hit> hits_;   // heap mode: (<= k); buffer mode: (<= 2k)
};

/// Merges sorted per-part top-k lists (each best first, disjoint indices)
/// into the overall top-k, best first.
inline std::vector<Hit> merge_top_k(const std::vector<std::vector<Hit>>& parts, std::size_t k) {
  std::vector<Hit> all;
  std::size_t total = 0;
  for (const auto& part : parts) total += part.size();
  all.reserve(total);
  for (const auto& part : parts) all.insert(all.end(), part.begin(), part.end());
  const std::size_t keep = std::min(k, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(keep), all.end(), ranks_before);
  all.resize(keep);
  return all;
}

}  // namespace rank
}  // namespace embedrank
