#pragma once
/// Offline evaluation of rankings: hit rate, NDCG, recall, reciprocal rank
/// and average precision at a cutoff k, per query and as the mean over
/// queries; and the leave-newest-out split of an interaction log.
///
///   k = cutoff, L = the ranked list (ids, best first), R = the query's
///   relevant ids, |R| = their count, rel_i = 1 if L[i] is in R (i = 1..k,
///   1-based), g_i = the gain of L[i] (1 for relevant ids unless graded, 0
///   otherwise).
///
/// Conventions (docs/ranking.md, "Offline evaluation"):
///   - only the first k entries of L count; a shorter L is not padded;
///   - L's order is the ranking: ties in whatever score made it are the
///     caller's to break (trec_eval re-sorts by score and breaks ties by id;
///     here the list is taken as given);
///   - an id that appears twice in L is an error (InputError
///     "input.duplicate_ranked_id"), as trec_eval refuses duplicate documents;
///   - a query with no relevant ids (|R| = 0, or no positive gain) has no
///     defined metrics: it is excluded from the means and counted apart
///     (MeanMetrics::without_relevant).
/// The formulas are those of trec_eval / pytrec_eval / ir-measures
/// (success@k, ndcg_cut_k, recall_k, recip_rank cut at k), except MAP@k,
/// normalised by min(|R|, k) as in recommender-systems practice (Kaggle's
/// ml_metrics apk); trec_eval's map_cut_k divides by |R|, and the two agree
/// whenever |R| <= k (e.g. one held-out item per user).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "embedrank/core/error.hpp"

namespace embedrank::rank {

/// One query's metrics at cutoff k (all in [0, 1]).
struct QueryMetrics {
  double hit_rate = 0;           ///< HR@k = 1 if some rel_i = 1 (i <= k), else 0
  double ndcg = 0;               ///< NDCG@k = DCG@k / IDCG@k, DCG@k = sum_i g_i / log2(i + 1)
  double recall = 0;             ///< recall@k = sum_i rel_i / |R|
  double reciprocal_rank = 0;    ///< RR@k = 1 / (first i with rel_i = 1), 0 if none within k
  double average_precision = 0;  ///< AP@k = sum_i rel_i * P@i / min(|R|, k), P@i = sum_{j<=i} rel_j / i
  std::size_t relevant = 0;      ///< |R|; 0: the metrics are undefined (all 0) and the query is not averaged
};

/// The mean of each metric over the queries that have relevant ids.
struct MeanMetrics {
  double hit_rate = 0, ndcg = 0, recall = 0, mrr = 0, map = 0;  ///< means of QueryMetrics' fields (0 if queries == 0)
  std::size_t queries = 0;           ///< queries averaged
  std::size_t without_relevant = 0;  ///< queries left out because they had no relevant id
};

namespace detail {

/// Throws InputError "input.duplicate_ranked_id" if the first k ids of `ranked` repeat one.
template <typename Id>
void check_distinct(const std::vector<Id>& ranked, std::size_t k) {
  const std::size_t n = std::min(k, ranked.size());
  std::unordered_set<Id> seen;
  seen.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    if (!seen.insert(ranked[i]).second)
      throw InputError("duplicate_ranked_id", "ranked list position " + std::to_string(i + 1) +
                                                  " repeats an id already ranked above it");
}

/// 1 / log2(i + 1) for the 1-based position i.
inline double discount(std::size_t position) { return 1.0 / std::log2(static_cast<double>(position) + 1.0); }

}  // namespace detail

/// Metrics of one ranked list (L, best first) against a set of relevant ids
/// (binary relevance), at cutoff k >= 1. Id: any hashable, comparable type.
/// Throws InputError "input.bad_cutoff" for k = 0 and
/// "input.duplicate_ranked_id" when L repeats an id within its first k.
template <typename Id>
QueryMetrics evaluate_ranking(const std::vector<Id>& ranked, const std::unordered_set<Id>& relevant, std::size_t k) {
  if (k == 0) throw InputError("bad_cutoff", "the cutoff k must be at least 1");
  detail::check_distinct(ranked, k);
  QueryMetrics m;
  m.relevant = relevant.size();
  if (relevant.empty()) return m;
  const std::size_t n = std::min(k, ranked.size());
  double dcg = 0, precision_sum = 0;
  std::size_t hits = 0;
  for (std::size_t i = 1; i <= n; ++i) {
    if (relevant.count(ranked[i - 1]) == 0) continue;
    ++hits;
    if (hits == 1) m.reciprocal_rank = 1.0 / static_cast<double>(i);
    dcg += detail::discount(i);
    precision_sum += static_cast<double>(hits) / static_cast<double>(i);  // P@i at a relevant i
  }
  // IDCG@k: every relevant id ranked first, i.e. min(|R|, k) gains of 1.
  double ideal = 0;
  for (std::size_t i = 1; i <= std::min(k, relevant.size()); ++i) ideal += detail::discount(i);
  m.hit_rate = hits > 0 ? 1.0 : 0.0;
  m.ndcg = dcg / ideal;
  m.recall = static_cast<double>(hits) / static_cast<double>(relevant.size());
  m.average_precision = precision_sum / static_cast<double>(std::min(k, relevant.size()));
  return m;
}

/// The same with graded relevance: `gains` maps ids to their gain (> 0:
/// relevant; ids absent or with gain <= 0 are not). NDCG@k uses the gains
/// as they are (linear, as trec_eval's ndcg_cut: DCG = sum_i g_i / log2(i + 1),
/// IDCG the same over the gains sorted in decreasing order); the other
/// metrics use rel_i = (g_i > 0). Throws as the binary overload, and
/// InputError "input.bad_gain" for a gain that is not finite.
template <typename Id>
QueryMetrics evaluate_ranking(const std::vector<Id>& ranked, const std::unordered_map<Id, double>& gains,
                              std::size_t k) {
  std::unordered_set<Id> relevant;
  std::vector<double> positive;  // the relevant ids' gains
  for (const auto& [id, gain] : gains) {
    if (!std::isfinite(gain)) throw InputError("bad_gain", "a relevance gain is not finite");
    if (gain > 0) {
      relevant.insert(id);
      positive.push_back(gain);
    }
  }
  QueryMetrics m = evaluate_ranking(ranked, relevant, k);
  if (m.relevant == 0) return m;
  double dcg = 0, ideal = 0;
  const std::size_t n = std::min(k, ranked.size());
  for (std::size_t i = 1; i <= n; ++i) {
    const auto it = gains.find(ranked[i - 1]);
    if (it != gains.end() && it->second > 0) dcg += it->second * detail::discount(i);
  }
  std::sort(positive.begin(), positive.end(), std::greater<double>());
  for (std::size_t i = 1; i <= std::min(k, positive.size()); ++i) ideal += positive[i - 1] * detail::discount(i);
  m.ndcg = dcg / ideal;
  return m;
}

/// Running means of QueryMetrics, summed in the order added (so the result
/// does not depend on anything but that order).
class MetricsMean {
 public:
  /// Adds one query; one without relevant ids (relevant == 0) is only counted.
  void add(const QueryMetrics& m) {
    if (m.relevant == 0) {
      ++without_relevant_;
      return;
    }
    ++queries_;
    sum_.hit_rate += m.hit_rate;
    sum_.ndcg += m.ndcg;
    sum_.recall += m.recall;
    sum_.mrr += m.reciprocal_rank;
    sum_.map += m.average_precision;
  }

  /// The means over the queries added with relevant ids (all 0 if none).
  MeanMetrics mean() const {
    MeanMetrics out;
    out.queries = queries_;
    out.without_relevant = without_relevant_;
    if (queries_ == 0) return out;
    const double n = static_cast<double>(queries_);
    out.hit_rate = sum_.hit_rate / n;
    out.ndcg = sum_.ndcg / n;
    out.recall = sum_.recall / n;
    out.mrr = sum_.mrr / n;
    out.map = sum_.map / n;
    return out;
  }

 private:
  MeanMetrics sum_;  // sums, not means
  std::size_t queries_ = 0, without_relevant_ = 0;
};

/// One event of an interaction log.
struct Interaction {
  std::string user;
  std::string item;
  double rating = 0;
  double time = 0;  ///< any increasing clock (days, seconds)
};

/// A split of a log (N events) into training events and one held-out event
/// per user, as indices into the log.
struct HoldoutSplit {
  std::vector<std::size_t> train;     ///< every event not held out, in log order
  std::vector<std::size_t> held_out;  ///< one per user that has an eligible event, in increasing order of user id
};

/// Leave-newest-out: for each user, the eligible event with the largest time
/// is held out (ties: the first such event in log order); all other events
/// train. `eligible` (null: every event) chooses which events may be held
/// out, e.g. ratings >= 4 of users under evaluation; users without an
/// eligible event keep all their events in train. Throws InputError
/// "input.bad_time" for a time that is NaN.
inline HoldoutSplit leave_newest_out(const std::vector<Interaction>& log,
                                     const std::function<bool(const Interaction&)>& eligible = nullptr) {
  std::map<std::string, std::size_t> newest;  // user -> index of the held-out event
  for (std::size_t i = 0; i < log.size(); ++i) {
    const Interaction& x = log[i];
    if (std::isnan(x.time)) throw InputError("bad_time", "event " + std::to_string(i) + " of user '" + x.user + "' has time NaN");
    if (eligible && !eligible(x)) continue;
    const auto [it, added] = newest.emplace(x.user, i);
    if (!added && log[it->second].time < x.time) it->second = i;
  }
  HoldoutSplit split;
  std::vector<char> is_held_out(log.size(), 0);
  for (const auto& [user, i] : newest) {
    split.held_out.push_back(i);
    is_held_out[i] = 1;
  }
  for (std::size_t i = 0; i < log.size(); ++i)
    if (!is_held_out[i]) split.train.push_back(i);
  return split;
}

}  // namespace embedrank::rank
