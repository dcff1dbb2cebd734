#pragma once
/// The one top-k toolbox: the k best of a stream or of an array under a
/// strict total order, used by the ranker (rank/topk.hpp: hits by score,
/// then row) and by collaborative filtering (neighbours by similarity, then
/// user; recommendations by score, then item).
///
/// k = entries kept, N = candidates.
///
/// Every order here is strict and total over distinct keys (a score, then a
/// unique index breaking ties), so the k best of any candidate set are the
/// first k of the fully sorted set: top-k is a prefix of top-(k+1), and
/// merging per-thread top-k lists gives the same result as one pass. NaN
/// scores never enter.
///
///  - BestK: a stream of candidates. k <= kHeapMaxK: a binary heap of the k
///    best so far with the worst on top; a candidate costs one compare
///    against the threshold and O(log k) only when it enters. k > kHeapMaxK:
///    an unsorted buffer of capacity 2k; when full, nth_element keeps the k
///    best and the k-th becomes the threshold (amortised O(1) per entry).
///  - keep_sorted_best: the k best of a vector, sorted (partial_sort).
///  - kth_largest and keep_best_in_order: the k best of an array kept in
///    their original order, without sorting (a branch-free quickselect).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

namespace embedrank {

/// Largest k served by BestK's heap; larger k use the 2k buffer.
constexpr std::size_t kHeapMaxK = 64;

/// Accumulates the k best of a stream of entries. Order describes them:
///   using Entry = ...; using Score = float or double;
///   static Score score(const Entry&);
///   static bool before(const Entry& a, const Entry& b);  // a ranks higher (strict, total)
/// where before(a, b) implies score(a) >= score(b). Not thread-safe: use one
/// per thread and combine with merge_best.
template <typename Order>
class BestK {
 public:
  using Entry = typename Order::Entry;
  using Score = typename Order::Score;

  explicit BestK(std::size_t k = 0) { reset(k); }

  /// Empties the accumulator and sets k; keeps the allocated memory.
  void reset(std::size_t k) {
    k_ = k;
    use_heap_ = k <= kHeapMaxK;
    entries_.clear();
    entries_.reserve(use_heap_ ? k : 2 * k);
    threshold_ = -std::numeric_limits<Score>::infinity();
    full_ = false;
  }

  std::size_t k() const { return k_; }
  std::size_t size() const { return entries_.size(); }

  /// Score a candidate must reach (>=) to possibly enter; -inf until k
  /// entries are held. NaN never passes `score >= threshold()`, so this one
  /// compare is the whole fast-path gate.
  Score threshold() const { return threshold_; }

  /// Offers a candidate; NaN scores are ignored. True when this raised threshold().
  bool push(const Entry& entry) {
    if (!(Order::score(entry) >= threshold_) || k_ == 0) return false;
    return use_heap_ ? push_heap_mode(entry) : push_buffer_mode(entry);
  }

  /// The kept entries, best first (at most k). Leaves the accumulator empty.
  std::vector<Entry> take_sorted() {
    std::vector<Entry> out;
    take_unsorted(out);
    std::sort(out.begin(), out.end(), Order::before);
    return out;
  }

  /// Swaps the kept entries (at most k, in no particular order) into `out`
  /// and leaves the accumulator empty with out's old memory.
  void take_unsorted(std::vector<Entry>& out) {
    if (!use_heap_ && entries_.size() > k_) keep_best_k();
    out.clear();
    out.swap(entries_);
    reset(k_);
  }

 private:
  // heap ordered by before: the front is the worst kept entry
  bool push_heap_mode(const Entry& entry) {
    if (entries_.size() < k_) {
      entries_.push_back(entry);
      std::push_heap(entries_.begin(), entries_.end(), Order::before);
      if (entries_.size() < k_) return false;
      full_ = true;
      threshold_ = Order::score(entries_.front());
      return true;
    }
    if (!Order::before(entry, entries_.front())) return false;
    std::pop_heap(entries_.begin(), entries_.end(), Order::before);
    entries_.back() = entry;
    std::push_heap(entries_.begin(), entries_.end(), Order::before);
    threshold_ = Order::score(entries_.front());
    return true;
  }

  bool push_buffer_mode(const Entry& entry) {
    if (full_ && !Order::before(entry, worst_)) return false;
    entries_.push_back(entry);
    if (entries_.size() < 2 * k_) return false;
    keep_best_k();
    return true;
  }

  // nth_element puts the k-th best at k-1 and only better entries before it
  void keep_best_k() {
    std::nth_element(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(k_ - 1), entries_.end(),
                     Order::before);
    entries_.resize(k_);
    worst_ = entries_[k_ - 1];
    threshold_ = Order::score(worst_);
    full_ = true;
  }

  std::size_t k_ = 0;
  bool use_heap_ = true;
  bool full_ = false;
  Score threshold_ = -std::numeric_limits<Score>::infinity();
  Entry worst_{};                // buffer mode: the k-th best after the last compaction
  std::vector<Entry> entries_;   // heap mode: (<= k); buffer mode: (<= 2k)
};

/// Sorts the k best of `entries` under `before` to its front, best first,
/// and drops the rest.
template <typename Entry, typename Before>
void keep_sorted_best(std::vector<Entry>& entries, std::size_t k, Before before) {
  const std::size_t keep = std::min(k, entries.size());
  std::partial_sort(entries.begin(), entries.begin() + static_cast<std::ptrdiff_t>(keep), entries.end(), before);
  entries.resize(keep);
}

/// Merges per-part lists (disjoint keys) into the overall k best, best first.
template <typename Order>
std::vector<typename Order::Entry> merge_best(const std::vector<std::vector<typename Order::Entry>>& parts,
                                              std::size_t k) {
  std::vector<typename Order::Entry> all;
  std::size_t total = 0;
  for (const auto& part : parts) total += part.size();
  all.reserve(total);
  for (const auto& part : parts) all.insert(all.end(), part.begin(), part.end());
  keep_sorted_best(all, k, Order::before);
  return all;
}

/// The (k + 1)-th largest of a[0, n), k < n; reorders a. Quickselect whose
/// partitions move every element without a branch on its value (values in
/// random order would mispredict a branch per comparison half the time);
/// values equal to the pivot are set apart so repeated values end the
/// search. Falls back to std::nth_element if the pivots keep being poor.
template <typename T>
T kth_largest(T* a, std::size_t n, std::size_t k) {
  for (int rounds = 0; n > 32; ++rounds) {
    if (rounds == 64) {
      std::nth_element(a, a + k, a + n, [](T x, T y) { return x > y; });
      return a[k];
    }
    T lo = a[0], mid = a[n / 2], hi = a[n - 1];  // median of three
    if (lo > mid) std::swap(lo, mid);
    if (mid > hi) std::swap(mid, hi);
    if (lo > mid) std::swap(lo, mid);
    const T pivot = mid;
    std::size_t greater = 0;  // a[0, greater) > pivot
    for (std::size_t i = 0; i < n; ++i) {
      const T x = a[i];
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
      const T x = a[i];
      a[i] = a[equal];
      a[equal] = x;
      equal += x == pivot ? 1 : 0;
    }
    if (k < equal) return pivot;
    a += equal;
    n -= equal;
    k -= equal;
  }
  std::sort(a, a + n, [](T x, T y) { return x > y; });
  return a[k];
}

/// Keeps the k best (0 < k < count) of entries[0, count) in place and in
/// their order, under "higher score, then lower tie key": the k-th best
/// score t by kth_largest, then every entry above t and, of those at t, the
/// ones with the lowest tie keys. No sort, no branch per entry. When
/// TiesInOrder, tie keys rise along the array (the first ties are kept and
/// `ties` is not used); otherwise the cut among the ties at t is found by
/// nth_element. values: scratch of count scores; ties: scratch of count keys.
/// Returns how many are kept (k).
template <bool TiesInOrder, typename Entry, typename ScoreOf, typename TieOf, typename Score, typename Tie>
std::size_t keep_best_in_order(Entry* entries, std::size_t count, std::size_t k, ScoreOf score_of, TieOf tie_of,
                               Score* values, Tie* ties) {
  for (std::size_t e = 0; e < count; ++e) values[e] = score_of(entries[e]);
  const Score t = kth_largest(values, count, k - 1);
  std::size_t above = 0, tied = 0;
  for (std::size_t e = 0; e < count; ++e) {
    above += score_of(entries[e]) > t ? 1 : 0;
    if constexpr (!TiesInOrder) {
      ties[tied] = tie_of(entries[e]);
      tied += score_of(entries[e]) == t ? 1 : 0;
    }
  }
  std::size_t wanted = k - above;  // >= 1: t is the k-th best
  Tie cutoff = std::numeric_limits<Tie>::max();  // highest tie key kept at t
  if constexpr (!TiesInOrder) {
    if (tied > wanted) {
      const auto nth = ties + wanted - 1;
      std::nth_element(ties, nth, ties + tied);
      cutoff = *nth;
    }
  }
  std::size_t kept = 0;
  for (std::size_t e = 0; e < count; ++e) {
    const Entry c = entries[e];
    const Score s = score_of(c);
    bool tie = s == t;
    if constexpr (TiesInOrder) {
      tie = tie && wanted > 0;
      wanted -= tie ? 1 : 0;
    } else {
      tie = tie && tie_of(c) <= cutoff;
    }
    entries[kept] = c;
    kept += s > t || tie ? 1 : 0;
  }
  return kept;
}

}  // namespace embedrank
