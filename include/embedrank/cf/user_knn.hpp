#pragma once
/// User k-nearest-neighbour prediction (KNNBasic, KNNWithMeans, KNNWithZScore),
/// the fallback chain, and top-N recommendation. docs/cf.md has the formulas
/// and the Surprise-compatibility switches.
///
/// U = users, I = items, k = neighbours used per prediction,
/// N^k_i(u) = the k users most similar to u among those who rated i (sim > 0).
///
///   basic:       r^_ui = sum sim(u,v) r_vi / sum sim(u,v)
///   with_means:  r^_ui = mu_u + sum sim(u,v) (r_vi - mu_v) / sum sim(u,v)
///   with_zscore: r^_ui = mu_u + sigma_u sum sim(u,v) (r_vi - mu_v) / sigma_v / sum sim(u,v)

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "embedrank/cf/pearson.hpp"
#include "embedrank/cf/ratings.hpp"
#include "embedrank/core/enum_text.hpp"
#include "embedrank/core/error.hpp"
#include "embedrank/core/thread_pool.hpp"
#include "embedrank/core/top_k.hpp"

namespace embedrank::cf {

namespace detail {

/// Calls match(ia, ib) for every value found in both ascending lists a (na)
/// and b (nb), in ascending order. Lists of similar length are merged;
/// when one is much longer, each element of the short one is found in the
/// long one by a galloping search from the previous match (exponential
/// steps, then a binary search inside the bracket), O(short log(long/short)).
template <typename Match>
void intersect_sorted(const std::int32_t* a, std::size_t na, const std::int32_t* b, std::size_t nb, Match&& match) {
  const bool a_short = na <= nb;
  const std::int32_t* s = a_short ? a : b;
  const std::int32_t* l = a_short ? b : a;
  const std::size_t ns = a_short ? na : nb, nl = a_short ? nb : na;
  const auto report = [&](std::size_t is, std::size_t il) { a_short ? match(is, il) : match(il, is); };
  if (ns * 8 >= nl) {
    std::size_t is = 0, il = 0;
    while (is < ns && il < nl) {
      const std::int32_t x = s[is], y = l[il];
      if (x == y) report(is, il);
      is += x <= y ? 1 : 0;
      il += y <= x ? 1 : 0;
    }
    return;
  }
  std::size_t il = 0;
  for (std::size_t is = 0; is < ns && il < nl; ++is) {
    const std::int32_t x = s[is];
    std::size_t step = 1, hi = il;
    while (hi < nl && l[hi] < x) {  // first position with l[hi] >= x lies in (il + step/2, hi]
      il = hi + 1;
      hi += step;
      step *= 2;
    }
    il = static_cast<std::size_t>(std::lower_bound(l + il, l + std::min(hi, nl), x) - l);
    if (il < nl && l[il] == x) report(is, il++);
  }
}

}  // namespace detail

enum class KnnAlgorithm { Basic, WithMeans, WithZscore };

/// Names as embedrank-cf's --algo (Surprise's KNNBasic, KNNWithMeans, KNNWithZScore).
inline EnumText<KnnAlgorithm> enum_text(KnnAlgorithm) {
  static constexpr EnumName<KnnAlgorithm> names[] = {{KnnAlgorithm::Basic, "knn_basic"},
                                                     {KnnAlgorithm::WithMeans, "knn_with_means"},
                                                     {KnnAlgorithm::WithZscore, "knn_with_zscore"}};
  return {"kNN algorithm", "unknown_knn_algorithm", names};
}

/// How the k neighbours are picked among the item's raters. Both keep only
/// sim > 0 and give the same set of users up to ties at the k-th place.
enum class NeighborOrder {
  ByUserIndex,  ///< highest similarity first, ties by lower user index
  Surprise,     ///< Surprise: heapq.nlargest(k) by similarity over the item's raters in
                ///< training order (ties by earlier rating), then drop sim <= 0
};

inline EnumText<NeighborOrder> enum_text(NeighborOrder) {
  static constexpr EnumName<NeighborOrder> names[] = {{NeighborOrder::ByUserIndex, "by_user_index"},
                                                      {NeighborOrder::Surprise, "surprise"}};
  return {"neighbour order", "unknown_neighbor_order", names};
}

/// Where a prediction goes when the neighbour formula cannot be applied.
enum class FallbackPolicy {
  Chain,       ///< user mean, else item mean, else global mean
  GlobalMean,  ///< Surprise's default_prediction(): the global mean
};

inline EnumText<FallbackPolicy> enum_text(FallbackPolicy) {
  static constexpr EnumName<FallbackPolicy> names[] = {{FallbackPolicy::Chain, "chain"},
                                                       {FallbackPolicy::GlobalMean, "global_mean"}};
  return {"fallback policy", "unknown_fallback_policy", names};
}

/// Which level produced a prediction.
enum class PredictionLevel { Neighbors, UserMean, ItemMean, GlobalMean };

inline EnumText<PredictionLevel> enum_text(PredictionLevel) {
  static constexpr EnumName<PredictionLevel> names[] = {{PredictionLevel::Neighbors, "neighbors"},
                                                        {PredictionLevel::UserMean, "user_mean"},
                                                        {PredictionLevel::ItemMean, "item_mean"},
                                                        {PredictionLevel::GlobalMean, "global_mean"}};
  return {"prediction level", "unknown_prediction_level", names};
}

struct KnnOptions {
  KnnAlgorithm algorithm = KnnAlgorithm::WithMeans;
  int k = 40;      ///< maximum neighbours per prediction
  int min_k = 1;   ///< fewer neighbours than this: fall back (basic) or the user's mean (others)
  NeighborOrder order = NeighborOrder::ByUserIndex;
  FallbackPolicy fallback = FallbackPolicy::Chain;
  bool clip = true;  ///< clip predictions to [clip_min, clip_max] (Surprise clips by default too)
  double clip_min = std::numeric_limits<double>::quiet_NaN();  ///< NaN: the lowest training rating
  double clip_max = std::numeric_limits<double>::quiet_NaN();  ///< NaN: the highest training rating
  SimilarityOptions similarity;
};

/// The configuration whose predictions equal Surprise 1.1.x's KNN algorithms
/// with sim_options {"name": "pearson", "user_based": True, "min_support": m}
/// and predict(..., clip=False): co-rated Pearson, every positive neighbour
/// kept, Surprise's neighbour order and its global-mean fallback.
inline KnnOptions surprise_compatible(KnnAlgorithm algorithm, int k = 40, int min_k = 1, int min_support = 1) {
  KnnOptions options;
  options.algorithm = algorithm;
  options.k = k;
  options.min_k = min_k;
  options.order = NeighborOrder::Surprise;
  options.fallback = FallbackPolicy::GlobalMean;
  options.clip = false;
  options.similarity.mean = PearsonMean::CoRated;
  options.similarity.min_support = min_support;
  options.similarity.shrinkage = Shrinkage::None;
  options.similarity.max_neighbors = 0;
  return options;
}

struct Prediction {
  double value = 0.0;
  PredictionLevel level = PredictionLevel::GlobalMean;
  int actual_k = 0;  ///< neighbours that entered the formula
  bool fell_back() const { return level != PredictionLevel::Neighbors; }
};

/// One neighbour's part in a prediction: a user similar to the one predicted
/// for, who rated the item.
struct NeighborContribution {
  std::int32_t user = -1;
  double similarity = 0.0;
  double rating = 0.0;
};

struct Recommendation {
  std::int32_t item = -1;
  double score = 0.0;
  int actual_k = 0;
};

/// A fitted user-kNN model. Immutable after construction; predict and
/// recommend are const and safe to call from several threads.
class UserKnn {
 public:
  /// Pairs per task of predict_many.
  static constexpr std::size_t kPairsPerTask = 1024;

  /// Fits: keeps the ratings and computes the neighbour lists.
  /// Throws InputError "input.bad_option" for invalid options.
  explicit UserKnn(Ratings ratings, KnnOptions options = {})
      : ratings_(std::move(ratings)), options_(std::move(options)) {
    if (options_.k < 1) throw InputError("bad_option", "k must be >= 1");
    if (options_.min_k < 0) throw InputError("bad_option", "min_k must be >= 0");
    clip_min_ = std::isnan(options_.clip_min) ? ratings_.min_rating() : options_.clip_min;
    clip_max_ = std::isnan(options_.clip_max) ? ratings_.max_rating() : options_.clip_max;
    if (options_.clip && !(clip_min_ <= clip_max_)) throw InputError("bad_option", "clip_min must be <= clip_max");
    neighbors_ = compute_neighbors(ratings_, options_.similarity);
  }

  const Ratings& ratings() const { return ratings_; }
  const NeighborLists& neighbors() const { return neighbors_; }
  const KnnOptions& options() const { return options_; }

  /// Predicts user u's rating of item i by dense index; -1 means an unknown
  /// user or item (the prediction falls back). Throws InputError
  /// "input.bad_index" for any other index out of range.
  Prediction predict(std::int32_t u, std::int32_t i) const {
    check_index(u, i);
    if (u < 0 || i < 0) return finish(fallback(u, i, 0));
    Scratch scratch;
    collect_by_intersection(u, i, scratch.raters);
    return predict_from(u, i, scratch);
  }

  /// The neighbours whose ratings of item i entered predict(u, i), most
  /// similar first (ties in the neighbour order); empty when the prediction
  /// fell back or for an unknown user or item (-1). Throws as predict() does.
  std::vector<NeighborContribution> contributions(std::int32_t u, std::int32_t i) const {
    check_index(u, i);
    if (u < 0 || i < 0 || predict(u, i).fell_back()) return {};
    Scratch scratch;
    collect_by_intersection(u, i, scratch.raters);
    if (scratch.raters.size() > static_cast<std::size_t>(options_.k)) keep_best(static_cast<std::size_t>(options_.k), scratch);
    std::sort(scratch.raters.begin(), scratch.raters.end(), [](const Rater& a, const Rater& b) {
      return a.sim > b.sim || (a.sim == b.sim && a.tie < b.tie);
    });
    std::vector<NeighborContribution> out;
    for (const Rater& r : scratch.raters)
      out.push_back({ratings_.item_users()[r.at], r.sim, ratings_.item_values()[r.at]});
    return out;
  }

  /// Predictions for many (user, item) index pairs, equal to predict() on
  /// each bit for bit, on `pool` (the result does not depend on its size),
  /// kPairsPerTask pairs a task. Taken user by user: a user's neighbour
  /// similarities are spread once over a (U) array, so a prediction reads
  /// its item's raters' similarities directly instead of intersecting two
  /// sorted lists; that array is read at random, so when it is larger than
  /// a core's cache and the item has many more raters than the user has
  /// neighbours, the lists are intersected after all (galloping through the
  /// raters). Throws InputError "input.bad_index" (before any work) as
  /// predict() does.
  std::vector<Prediction> predict_many(const std::vector<std::pair<std::int32_t, std::int32_t>>& pairs,
                                       ThreadPool& pool) const {
    for (const auto& p : pairs) check_index(p.first, p.second);
    // Pair indices grouped by user (counting sort; unknown users first).
    const auto num_u = static_cast<std::size_t>(ratings_.num_users());
    std::vector<std::size_t> start(num_u + 2, 0);  // (U + 2)
    for (const auto& p : pairs) ++start[static_cast<std::size_t>(p.first + 1) + 1];
    for (std::size_t s = 1; s < start.size(); ++s) start[s] += start[s - 1];
    std::vector<std::size_t> order(pairs.size());  // (T) pair indices, by user
    for (std::size_t t = 0; t < pairs.size(); ++t) order[start[static_cast<std::size_t>(pairs[t].first + 1)]++] = t;

    // What a slot keeps from task to task: the similarities of its current user.
    struct SlotState {
      std::vector<double> similarity_to;  // (U) the current user's kept similarities, 0 elsewhere
      Scratch scratch;
      std::int32_t current = -1;
    };
    std::vector<Prediction> out(pairs.size());  // (T)
    const bool row_in_cache = num_u * sizeof(double) <= (std::size_t{256} << 10);
    const std::size_t tasks = (order.size() + kPairsPerTask - 1) / kPairsPerTask;
    std::vector<SlotState> slots(pool.slots(tasks));
    pool.parallel_for(tasks, [&](std::size_t task, std::size_t slot) {
      SlotState& state = slots[slot];
      if (state.similarity_to.empty()) state.similarity_to.assign(num_u, 0.0);
      const auto spread = [&](std::int32_t u, bool clear) {
        const NeighborSpan nb = neighbors_.of(u);
        for (std::size_t e = 0; e < nb.size; ++e)
          state.similarity_to[static_cast<std::size_t>(nb.users[e])] = clear ? 0.0 : nb.similarities[e];
      };
      const std::size_t end = std::min(order.size(), (task + 1) * kPairsPerTask);
      for (std::size_t o = task * kPairsPerTask; o < end; ++o) {
        const std::size_t t = order[o];
        const std::int32_t u = pairs[t].first, i = pairs[t].second;
        if (u < 0 || i < 0) {
          out[t] = finish(fallback(u, i, 0));
          continue;
        }
        if (u != state.current) {
          if (state.current >= 0) spread(state.current, /*clear=*/true);
          spread(u, /*clear=*/false);
          state.current = u;
        }
        const std::size_t item_raters = ratings_.item_end(i) - ratings_.item_begin(i);
        if (row_in_cache || item_raters <= 4 * neighbors_.of(u).size)
          collect_by_lookup(i, state.similarity_to.data(), state.scratch.raters);
        else
          collect_by_intersection(u, i, state.scratch.raters);
        out[t] = predict_from(u, i, state.scratch);
      }
    });
    return out;
  }

  /// predict_many() on at most `threads` threads of ThreadPool::shared()
  /// (<= 0: all of them; 1: on the calling thread).
  std::vector<Prediction> predict_many(const std::vector<std::pair<std::int32_t, std::int32_t>>& pairs,
                                       int threads = 0) const {
    ThreadPool pool(nullptr, threads);
    return predict_many(pairs, pool);
  }

  /// Predicts by external ids; unknown ids fall back.
  Prediction predict(const std::string& user_id, const std::string& item_id) const {
    return predict(ratings_.find_user(user_id), ratings_.find_item(item_id));
  }

  /// The n unseen items with the highest neighbour prediction for user u
  /// (score desc, ties by item index); items with fewer than max(min_k, 1)
  /// neighbours are left out. Scores equal predict(u, i) under
  /// NeighborOrder::ByUserIndex up to rounding (the same neighbours,
  /// summed most similar first here, in user order there). Throws InputError "input.bad_index".
  std::vector<Recommendation> recommend(std::int32_t u, std::size_t n) const {
    if (u < 0 || u >= ratings_.num_users()) throw InputError("bad_index", "user index " + std::to_string(u) + " out of range");
    const auto num_i = static_cast<std::size_t>(ratings_.num_items());
    std::vector<char> seen(num_i, 0);               // (I)
    std::vector<Accumulator> acc(num_i);            // (I)
    std::vector<std::int32_t> touched;
    for (std::size_t k = ratings_.user_begin(u); k < ratings_.user_end(u); ++k)
      seen[static_cast<std::size_t>(ratings_.user_items()[k])] = 1;

    // u's neighbours, most similar first, ties by lower index: each item takes its first k.
    std::vector<std::pair<double, std::int32_t>> order;
    const NeighborSpan nb = neighbors_.of(u);
    for (std::size_t e = 0; e < nb.size; ++e) order.emplace_back(nb.similarities[e], nb.users[e]);
    std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
      return a.first > b.first || (a.first == b.first && a.second < b.second);
    });
    for (const auto& neighbor : order) {
      const std::int32_t v = neighbor.second;
      for (std::size_t k = ratings_.user_begin(v); k < ratings_.user_end(v); ++k) {
        const auto i = static_cast<std::size_t>(ratings_.user_items()[k]);
        if (seen[i] || acc[i].count >= options_.k) continue;
        if (acc[i].count == 0) touched.push_back(static_cast<std::int32_t>(i));
        add(acc[i], v, neighbor.first, ratings_.user_values()[k]);
      }
    }

    std::vector<Recommendation> out;
    const int needed = std::max(options_.min_k, 1);
    for (std::int32_t i : touched) {
      const Accumulator& a = acc[static_cast<std::size_t>(i)];
      if (a.count < needed) continue;
      const Prediction p = finish(combine(u, i, a));
      out.push_back({i, p.value, p.actual_k});
    }
    keep_sorted_best(out, n, [](const Recommendation& a, const Recommendation& b) {
      return a.score > b.score || (a.score == b.score && a.item < b.item);
    });
    return out;
  }

  /// Recommends by external user id. Throws InputError "input.unknown_user".
  std::vector<Recommendation> recommend(const std::string& user_id, std::size_t n) const {
    const std::int32_t u = ratings_.find_user(user_id);
    if (u < 0) throw InputError("unknown_user", "user '" + user_id + "' has no ratings");
    return recommend(u, n);
  }

 private:
  // Running sums of the neighbour formula for one (u, i).
  struct Accumulator {
    double sum_sim = 0.0;
    double sum_weighted = 0.0;  // sum sim * term(v, r_vi)
    int count = 0;
  };

  // One rater of the item with positive similarity to u, as the neighbour
  // order ranks it: higher similarity first, ties by lower `tie` (the
  // rater's user index, or for Surprise's order its rank in the item's
  // training order). at: the rating's index in the by-item order. 16 bytes,
  // so selecting the k best moves little.
  struct Rater {
    double sim;
    std::uint32_t tie;
    std::uint32_t at;
  };

  std::uint32_t tie_of(std::size_t at) const {
    return options_.order == NeighborOrder::ByUserIndex ? static_cast<std::uint32_t>(ratings_.item_users()[at])
                                                          : ratings_.item_ranks()[at];
  }

  void check_index(std::int32_t u, std::int32_t i) const {
    if (u < -1 || u >= ratings_.num_users()) throw InputError("bad_index", "user index " + std::to_string(u) + " out of range");
    if (i < -1 || i >= ratings_.num_items()) throw InputError("bad_index", "item index " + std::to_string(i) + " out of range");
  }

  // Item i's raters among u's kept neighbours, by intersecting the two sorted lists.
  void collect_by_intersection(std::int32_t u, std::int32_t i, std::vector<Rater>& raters) const {
    const std::int32_t* item_users = ratings_.item_users().data();
    const NeighborSpan nb = neighbors_.of(u);
    const std::size_t item_first = ratings_.item_begin(i);
    raters.clear();
    raters.reserve(std::min(nb.size, ratings_.item_end(i) - item_first));
    detail::intersect_sorted(item_users + item_first, ratings_.item_end(i) - item_first, nb.users, nb.size,
                             [&](std::size_t k, std::size_t e) {
                               const double sim = nb.similarities[e];
                               const std::size_t at = item_first + k;
                               if (sim > 0.0) raters.push_back({sim, tie_of(at), static_cast<std::uint32_t>(at)});
                             });
  }

  // Item i's raters v with similarity_to[v] > 0, compacted without a branch per rater.
  void collect_by_lookup(std::int32_t i, const double* similarity_to, std::vector<Rater>& raters) const {
    const std::size_t first = ratings_.item_begin(i), last = ratings_.item_end(i);
    const std::int32_t* item_users = ratings_.item_users().data();
    raters.resize(last - first);
    std::size_t count = 0;
    const auto collect = [&](const auto* ties) {
      for (std::size_t at = first; at < last; ++at) {
        const double sim = similarity_to[static_cast<std::size_t>(item_users[at])];
        raters[count] = {sim, static_cast<std::uint32_t>(ties[at]), static_cast<std::uint32_t>(at)};
        count += sim > 0.0 ? 1 : 0;
      }
    };
    if (options_.order == NeighborOrder::ByUserIndex)
      collect(item_users);
    else
      collect(ratings_.item_ranks().data());
    raters.resize(count);
  }

  // One prediction's working lists, reused from prediction to prediction.
  struct Scratch {
    std::vector<Rater> raters;         // the item's raters with positive similarity, users ascending
    std::vector<double> values;        // their similarities, reordered by the selection
    std::vector<std::uint32_t> ties;   // tie keys of the raters at the k-th similarity
  };

  // Keeps the k best raters (k < raters.size()) in their order: every rater
  // above the k-th best similarity and, of those at it, the ones with the
  // lowest tie keys (core/top_k.hpp). No sort.
  static void keep_best(std::size_t k, Scratch& scratch) {
    std::vector<Rater>& raters = scratch.raters;
    scratch.values.resize(raters.size());
    scratch.ties.resize(raters.size());
    raters.resize(keep_best_in_order</*TiesInOrder=*/false>(
        raters.data(), raters.size(), k, [](const Rater& r) { return r.sim; }, [](const Rater& r) { return r.tie; },
        scratch.values.data(), scratch.ties.data()));
  }

  // The prediction from the item's raters with positive similarity (users
  // ascending): the k best in the neighbour order, summed in user order.
  Prediction predict_from(std::int32_t u, std::int32_t i, Scratch& scratch) const {
    const auto k = static_cast<std::size_t>(options_.k);
    if (scratch.raters.size() > k) keep_best(k, scratch);
    Accumulator acc;
    for (const Rater& r : scratch.raters) add(acc, ratings_.item_users()[r.at], r.sim, ratings_.item_values()[r.at]);
    return finish(combine(u, i, acc));
  }

  // The per-neighbour term: r (basic), r - mu_v (means), (r - mu_v) / sigma_v (z-score).
  double sigma(std::int32_t v) const {
    const double s = ratings_.user_stddevs()[static_cast<std::size_t>(v)];
    return s == 0.0 ? ratings_.global_stddev() : s;
  }

  void add(Accumulator& acc, std::int32_t v, double sim, double rating) const {
    double term = rating;
    if (options_.algorithm != KnnAlgorithm::Basic) term -= ratings_.user_means()[static_cast<std::size_t>(v)];
    if (options_.algorithm == KnnAlgorithm::WithZscore) {
      const double s = sigma(v);
      term = s > 0.0 ? term / s : 0.0;
    }
    acc.sum_sim += sim;
    acc.sum_weighted += sim * term;
    ++acc.count;
  }

  Prediction combine(std::int32_t u, std::int32_t i, const Accumulator& acc) const {
    const bool enough = acc.count >= options_.min_k && acc.count > 0;
    if (options_.algorithm == KnnAlgorithm::Basic) {
      if (!enough) return fallback(u, i, acc.count);
      return {acc.sum_weighted / acc.sum_sim, PredictionLevel::Neighbors, acc.count};
    }
    // With means: too few neighbours leave the user's mean (the formula with an empty sum).
    const double mu = ratings_.user_means()[static_cast<std::size_t>(u)];
    if (!enough) return {mu, PredictionLevel::UserMean, acc.count};
    double deviation = acc.sum_weighted / acc.sum_sim;
    if (options_.algorithm == KnnAlgorithm::WithZscore) deviation *= sigma(u);
    return {mu + deviation, PredictionLevel::Neighbors, acc.count};
  }

  Prediction fallback(std::int32_t u, std::int32_t i, int actual_k) const {
    if (options_.fallback == FallbackPolicy::Chain) {
      if (u >= 0) return {ratings_.user_means()[static_cast<std::size_t>(u)], PredictionLevel::UserMean, actual_k};
      if (i >= 0) return {ratings_.item_means()[static_cast<std::size_t>(i)], PredictionLevel::ItemMean, actual_k};
    }
    return {ratings_.global_mean(), PredictionLevel::GlobalMean, actual_k};
  }

  Prediction finish(Prediction p) const {
    if (options_.clip) p.value = std::max(clip_min_, std::min(clip_max_, p.value));
    return p;
  }

  Ratings ratings_;
  KnnOptions options_;
  NeighborLists neighbors_;
  double clip_min_ = 0.0;
  double clip_max_ = 0.0;
};

}  // namespace embedrank::cf
