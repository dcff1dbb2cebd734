#pragma once
/// The shopping guide's last step: personalised top-k over a catalogue,
/// blending content scores (a user profile against the item vectors) with
/// collaborative-filtering scores (user kNN), excluding what the user has
/// already seen, optionally diversified by maximal marginal relevance, and
/// explained item by item.
///
///   N = catalogue items, D = vector size, C = candidates per source, k = results
///
/// Scores: content = profile . item (cosine for normalised vectors); CF = the
/// user-kNN predicted rating, only where the prediction came from neighbours
/// (a fallback to a mean says nothing about the item). Each is min-max
/// normalised to [0, 1] over the candidates, then
///   blended = w * content + (1 - w) * cf       (w = content_weight)
/// with a missing CF score counting as 0. Without a CF model, or for a user
/// it does not know, blended = content.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <unordered_map>
#include <vector>

#include "embedrank/cf/user_knn.hpp"
#include "embedrank/core/error.hpp"
#include "embedrank/core/row_remap.hpp"
#include "embedrank/core/tensor.hpp"
#include "embedrank/rank/embedding_index.hpp"

namespace embedrank::rank {

/// One item of a user's history. weight: e.g. 1 for a view, 2 for a purchase;
/// age: how long ago (any unit), used with RecommendOptions::recency_half_life.
struct HistoryItem {
  std::string item_id;
  double weight = 1.0;
  double age = 0.0;
};

struct RecommendOptions {
  double content_weight = 0.3;    ///< w in [0, 1]; CF gets 1 - w when it has a score (0.3: docs/ranking.md, "Choosing min_k")
  std::size_t candidates = 200;   ///< C: candidates taken from each source before blending
  double mmr_lambda = 1.0;        ///< 1: pure relevance; lower trades relevance for diversity (MMR)
  double recency_half_life = 0.0; ///< > 0: a history item's weight halves every half-life of age
  std::size_t explain_neighbors = 3;  ///< CF neighbours named per recommendation
};

/// A neighbour behind a CF score: a user similar to this one who rated the item.
struct CfNeighbor {
  std::string user_id;
  double similarity = 0.0;
  double rating = 0.0;
};

/// One recommendation and why.
struct Recommended {
  std::string id;
  std::size_t row = 0;
  double score = 0.0;          ///< blended (after MMR selection, still the blended relevance)
  double content_score = 0.0;  ///< profile . item, raw
  double cf_score = std::numeric_limits<double>::quiet_NaN();  ///< predicted rating, NaN if none
  std::string closest_history_id;  ///< the history item most similar to this one ("" without history)
  double closest_similarity = 0.0; ///< item . closest history item
  std::vector<CfNeighbor> cf_neighbors;  ///< the most similar neighbours behind cf_score (at most RecommendOptions::explain_neighbors)
};

/// Catalogue rows <-> CF item indices: which product a CF item is. Built
/// once when the CF model is fitted (ids matched as strings, once), then
/// kept up to date with the catalogue's rows, so a recommendation maps
/// candidates by index, never by id.
struct CfBridge {
  static constexpr std::size_t npos = std::numeric_limits<std::size_t>::max();
  std::vector<std::int32_t> item_of_row;  ///< (N) CF item of each catalogue row, -1 if none
  std::vector<std::size_t> row_of_item;   ///< (I) catalogue row of each CF item, npos if none

  /// The bridge between the live rows of `index` and the items of `ratings`.
  static CfBridge build(const EmbeddingIndex& index, const cf::Ratings& ratings) {
    CfBridge bridge;
    bridge.item_of_row.assign(index.rows(), -1);
    bridge.row_of_item.assign(static_cast<std::size_t>(ratings.num_items()), npos);
    for (std::int32_t i = 0; i < ratings.num_items(); ++i)
      if (index.contains(ratings.item_id(i))) bridge.link(index.row_of(ratings.item_id(i)), i);
    return bridge;
  }

  /// CF item of a row (-1 if none or past the bridge).
  std::int32_t item(std::size_t row) const { return row < item_of_row.size() ? item_of_row[row] : -1; }
  /// Catalogue row of a CF item (npos if none).
  std::size_t row(std::int32_t item) const {
    return item >= 0 && static_cast<std::size_t>(item) < row_of_item.size() ? row_of_item[static_cast<std::size_t>(item)]
                                                                            : npos;
  }

  /// Row `row` is CF item `item` (-1: none); the row's former link is cut.
  void link(std::size_t row, std::int32_t item) {
    if (row >= item_of_row.size()) item_of_row.resize(row + 1, -1);
    unlink(row);
    item_of_row[row] = item;
    if (item >= 0) row_of_item.at(static_cast<std::size_t>(item)) = row;
  }
  /// Row `row` is no CF item any more (a removed product).
  void unlink(std::size_t row) {
    if (row >= item_of_row.size()) return;
    const std::int32_t item = item_of_row[row];
    if (item >= 0) row_of_item[static_cast<std::size_t>(item)] = npos;
    item_of_row[row] = -1;
  }
  /// Renumbers rows as the catalogue's compact() did.
  void apply(const RowRemap& remap) {
    std::vector<std::int32_t> items(remap.rows_after, -1);
    for (std::size_t row = 0; row < item_of_row.size(); ++row)
      if (remap(row) != RowRemap::kRemoved) items[remap(row)] = item_of_row[row];
    item_of_row = std::move(items);
    for (std::size_t& r : row_of_item)
      if (r != npos) r = remap(r) == RowRemap::kRemoved ? npos : remap(r);
  }
};

class Recommender {
 public:
  /// `catalogue` must outlive the Recommender; `cf` (optional) and `bridge`
  /// too. Without a bridge, one is built here from the ids (once per
  /// Recommender: keep one Recommender, or pass the bridge, when calls repeat).
  explicit Recommender(const EmbeddingIndex& catalogue, const cf::UserKnn* cf = nullptr,
                       const CfBridge* bridge = nullptr)
      : catalogue_(catalogue), cf_(cf), bridge_(bridge) {
    if (cf_ != nullptr && bridge_ == nullptr) {
      own_bridge_ = CfBridge::build(catalogue_, cf_->ratings());
      bridge_ = &own_bridge_;
    }
  }
  Recommender(const Recommender&) = delete;
  Recommender& operator=(const Recommender&) = delete;

  /// Weighted mean of the history items' vectors (D), L2-normalised; with
  /// recency_half_life > 0 each weight is multiplied by 0.5^(age / half-life).
  /// Throws InputError naming an unknown item id, a negative or non-finite
  /// weight, or a history whose weights sum to zero.
  VectorF profile_from_history(const std::vector<HistoryItem>& history, double recency_half_life = 0.0) const {
    VectorF profile = VectorF::Zero(static_cast<Eigen::Index>(catalogue_.dim()));
    double total = 0.0;
    for (const HistoryItem& h : history) {
      if (!std::isfinite(h.weight) || h.weight < 0 || !std::isfinite(h.age))
        throw InputError("bad_history_weight", "history item '" + h.item_id + "' has an invalid weight or age");
      const double w = recency_half_life > 0 ? h.weight * std::pow(0.5, h.age / recency_half_life) : h.weight;
      profile += static_cast<float>(w) * catalogue_.vector(catalogue_.row_of(h.item_id));
      total += w;
    }
    if (!(total > 0)) throw InputError("empty_history", "the history is empty or all its weights are zero");
    profile /= static_cast<float>(total);
    const float norm = profile.norm();
    if (norm > 0) profile /= norm;
    return profile;
  }

  /// The k best items the user has not seen (history items are excluded, as
  /// are rows in filter.exclude; filter.keep applies to content candidates),
  /// best first, each explained. `cf_user` is the user's id in the CF model
  /// ("" or an unknown id: content only). Throws InputError on a profile of
  /// the wrong dimension, an unknown history id, or options out of range.
  std::vector<Recommended> recommend(const VectorF& profile, const std::vector<HistoryItem>& history,
                                     const std::string& cf_user, std::size_t k, const RecommendOptions& options = {},
                                     const SearchFilter& filter = {}) const {
    if (!(options.content_weight >= 0 && options.content_weight <= 1))
      throw InputError("bad_option", "content_weight must be in [0, 1]");
    if (!(options.mmr_lambda >= 0 && options.mmr_lambda <= 1)) throw InputError("bad_option", "mmr_lambda must be in [0, 1]");
    if (k == 0) return {};

    // Seen items (and the caller's exclusions) never enter the candidates.
    ItemBitmap excluded(catalogue_.rows());
    std::vector<std::size_t> history_rows;
    for (const HistoryItem& h : history) {
      const std::size_t row = catalogue_.row_of(h.item_id);
      excluded.set(row);
      history_rows.push_back(row);
    }
    if (filter.exclude != nullptr)
      for (std::size_t row = 0; row < catalogue_.rows(); ++row)
        if (filter.exclude->test(row)) excluded.set(row);
    SearchFilter content_filter{&excluded, filter.keep};

    // Candidates: the content top-C and the CF top-C, merged by row.
    const std::size_t C = std::max(options.candidates, k);
    std::vector<Recommended> candidates;
    std::unordered_map<std::size_t, std::size_t> position;  // row -> index in candidates
    for (const SearchResult& r : catalogue_.search(profile, C, content_filter)) {
      position.emplace(r.row, candidates.size());
      candidates.push_back(make_candidate(r.row, r.score));
    }
    const std::int32_t cf_u = cf_ && !cf_user.empty() ? cf_->ratings().find_user(cf_user) : -1;
    if (cf_u >= 0) {
      std::vector<std::size_t> cf_rows;  // CF candidates the content search did not bring
      for (const cf::Recommendation& r : cf_->recommend(cf_u, C)) {
        const std::size_t row = bridge_->row(r.item);
        if (row == CfBridge::npos || row >= catalogue_.rows() || catalogue_.removed(row)) continue;
        if (excluded.test(row) || (filter.keep && !filter.keep(row)) || position.count(row)) continue;
        position.emplace(row, candidates.size());
        cf_rows.push_back(row);
        candidates.push_back(make_candidate(row, 0.0));
      }
      const std::vector<float> content = catalogue_.scores_of(profile, cf_rows);
      for (std::size_t j = 0; j < cf_rows.size(); ++j)
        candidates[candidates.size() - cf_rows.size() + j].content_score = content[j];
      std::vector<std::pair<std::int32_t, std::int32_t>> pairs;  // (user, item) per candidate
      for (const Recommended& c : candidates) pairs.emplace_back(cf_u, bridge_->item(c.row));
      const std::vector<cf::Prediction> predictions = cf_->predict_many(pairs, /*threads=*/1);
      for (std::size_t j = 0; j < candidates.size(); ++j)
        if (!predictions[j].fell_back()) candidates[j].cf_score = predictions[j].value;
    }
    blend(candidates, cf_u >= 0 ? options.content_weight : 1.0);

    // Best first, ties by row: the same inputs always give the same list.
    std::sort(candidates.begin(), candidates.end(), [](const Recommended& a, const Recommended& b) {
      return a.score > b.score || (a.score == b.score && a.row < b.row);
    });
    std::vector<Recommended> chosen = options.mmr_lambda < 1.0 ? select_mmr(candidates, k, options.mmr_lambda)
                                                               : std::vector<Recommended>(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(std::min(k, candidates.size())));
    for (Recommended& r : chosen) explain(r, history_rows, cf_u, options.explain_neighbors);
    return chosen;
  }

  /// The CF model's predicted rating of item `item_id` for `cf_user`, or NaN
  /// when it has none from neighbours (no CF model, an unknown user or item,
  /// a fallback to a mean). A boost for rerank or search.
  double cf_score(const std::string& cf_user, const std::string& item_id) const {
    if (cf_ == nullptr) return std::numeric_limits<double>::quiet_NaN();
    const std::int32_t u = cf_->ratings().find_user(cf_user), i = cf_->ratings().find_item(item_id);
    if (u < 0 || i < 0) return std::numeric_limits<double>::quiet_NaN();
    const cf::Prediction p = cf_->predict(u, i);
    return p.fell_back() ? std::numeric_limits<double>::quiet_NaN() : p.value;
  }

 private:
  Recommended make_candidate(std::size_t row, double content) const {
    Recommended r;
    r.id = catalogue_.id_at(row);
    r.row = row;
    r.content_score = content;
    return r;
  }

  // score = w * minmax(content) + (1 - w) * minmax(cf), a missing CF score as 0.
  static void blend(std::vector<Recommended>& candidates, double w) {
    auto range = [&](auto get) {
      double lo = std::numeric_limits<double>::infinity(), hi = -lo;
      for (const auto& c : candidates) {
        const double v = get(c);
        if (std::isnan(v)) continue;
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
      return std::make_pair(lo, hi);
    };
    auto scale = [](double v, std::pair<double, double> r) {
      if (std::isnan(v)) return 0.0;
      return r.second > r.first ? (v - r.first) / (r.second - r.first) : 1.0;
    };
    const auto content_range = range([](const Recommended& c) { return c.content_score; });
    const auto cf_range = range([](const Recommended& c) { return c.cf_score; });
    for (Recommended& c : candidates)
      c.score = w * scale(c.content_score, content_range) + (1 - w) * scale(c.cf_score, cf_range);
  }

  // Maximal marginal relevance: repeatedly take the candidate maximising
  // lambda * relevance - (1 - lambda) * (its highest similarity to those taken).
  std::vector<Recommended> select_mmr(const std::vector<Recommended>& candidates, std::size_t k, double lambda) const {
    std::vector<std::size_t> rows;  // (C)
    for (const auto& c : candidates) rows.push_back(c.row);
    std::vector<double> max_similarity(candidates.size(), -std::numeric_limits<double>::infinity());
    std::vector<char> taken(candidates.size(), 0);
    std::vector<Recommended> chosen;
    while (chosen.size() < std::min(k, candidates.size())) {
      std::size_t best = candidates.size();
      double best_value = -std::numeric_limits<double>::infinity();
      for (std::size_t i = 0; i < candidates.size(); ++i) {
        if (taken[i]) continue;
        const double redundancy = chosen.empty() ? 0.0 : max_similarity[i];
        const double value = lambda * candidates[i].score - (1 - lambda) * redundancy;
        if (value > best_value) {  // strict: ties keep the earlier (better-ranked) candidate
          best_value = value;
          best = i;
        }
      }
      taken[best] = 1;
      chosen.push_back(candidates[best]);
      const std::vector<float> similarity = catalogue_.scores_of(catalogue_.vector(rows[best]), rows);  // (C)
      for (std::size_t i = 0; i < candidates.size(); ++i)
        if (!taken[i]) max_similarity[i] = std::max(max_similarity[i], static_cast<double>(similarity[i]));
    }
    return chosen;
  }

  // The closest history item, and the neighbours behind the CF score.
  void explain(Recommended& r, const std::vector<std::size_t>& history_rows, std::int32_t cf_u,
               std::size_t neighbors) const {
    const std::vector<float> similarity = catalogue_.scores_of(catalogue_.vector(r.row), history_rows);
    double best = -std::numeric_limits<double>::infinity();
    for (std::size_t h = 0; h < history_rows.size(); ++h) {
      if (similarity[h] > best) {
        best = similarity[h];
        r.closest_history_id = catalogue_.id_at(history_rows[h]);
        r.closest_similarity = best;
      }
    }
    if (cf_u < 0 || std::isnan(r.cf_score)) return;
    for (const cf::NeighborContribution& c : cf_->contributions(cf_u, bridge_->item(r.row))) {
      if (r.cf_neighbors.size() >= neighbors) break;
      r.cf_neighbors.push_back({cf_->ratings().user_id(c.user), c.similarity, c.rating});
    }
  }

  const EmbeddingIndex& catalogue_;
  const cf::UserKnn* cf_;
  const CfBridge* bridge_;
  CfBridge own_bridge_;  // when no bridge is handed in
};

}  // namespace embedrank::rank
