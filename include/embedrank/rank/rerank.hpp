#pragma once
/// Retrieve, then rerank: the shop-search pipeline of a bi-encoder and a
/// cross-encoder.
///
///   1. retrieve: the top `candidates` items of an EmbeddingIndex for the
///      query vector (exact, by inner product or cosine);
///   2. rerank: a PairScorer scores (query text, item text) for each of them,
///      in batches of `batch_size` pairs;
///   3. the top k by the final score, best first:
///        score = rerank_score                                     (default)
///        score = (1 - w) * rerank_score + w * boost(id)           (boost_weight w > 0)
///      ties keep the retrieval order (retrieval score, then row).
///
/// The scorer is any callable, so rank/ does not depend on the model that
/// scores: a SequenceClassifier's predict() (a CrossEncoder) is the usual
/// one, Recommender::predict_score a usual boost.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "embedrank/core/error.hpp"
#include "embedrank/rank/embedding_index.hpp"

namespace embedrank::rank {

/// Scores (query, texts[i]) for every i: one score per text, higher is better.
using PairScorer = std::function<std::vector<float>(const std::string& query, const std::vector<std::string>& texts)>;

struct RerankOptions {
  std::size_t candidates = 100;  ///< N: items retrieved and reranked
  std::size_t k = 10;            ///< items returned; at most N
  std::size_t batch_size = 32;   ///< pairs per scorer call
  /// Optional extra score per item id (e.g. collaborative filtering), blended
  /// with weight boost_weight in [0, 1].
  std::function<float(const std::string& id)> boost;
  double boost_weight = 0.0;
};

struct RerankedItem {
  std::string id;
  float retrieval_score = 0.0f;  ///< the index's score of the query vector
  float rerank_score = 0.0f;     ///< the scorer's score of (query, item text)
  float boost = 0.0f;            ///< boost(id), 0 without a boost
  float score = 0.0f;            ///< the final score the items are ordered by
  std::size_t retrieval_rank = 0;
};

/// Reranks the index's top `options.candidates` for the query; `text_of(id)`
/// gives an item's text. Throws InputError for an empty query text, k = 0,
/// k > candidates, a boost weight outside [0, 1] or a scorer that returns
/// the wrong number of scores.
inline std::vector<RerankedItem> retrieve_then_rerank(const EmbeddingIndex& index, const VectorF& query_vector,
                                                      const std::string& query_text,
                                                      const std::function<std::string(const std::string& id)>& text_of,
                                                      const PairScorer& scorer, const RerankOptions& options,
                                                      const SearchFilter& filter = {}) {
  if (query_text.empty()) throw InputError("rerank.empty_query", "the query text is empty");
  if (options.k == 0 || options.k > options.candidates)
    throw InputError("rerank.bad_k", "k = " + std::to_string(options.k) + " must be in 1..candidates (" +
                                         std::to_string(options.candidates) + ")");
  if (!(options.boost_weight >= 0.0 && options.boost_weight <= 1.0))
    throw InputError("rerank.bad_weight", "boost_weight " + std::to_string(options.boost_weight) + " is outside [0, 1]");
  if (options.boost_weight > 0.0 && !options.boost)
    throw InputError("rerank.bad_weight", "boost_weight is set but there is no boost function");

  // 1. retrieve
  const std::vector<SearchResult> retrieved = index.search(query_vector, options.candidates, filter);
  std::vector<RerankedItem> items(retrieved.size());
  std::vector<std::string> texts(retrieved.size());
  for (std::size_t i = 0; i < retrieved.size(); ++i) {
    items[i].id = retrieved[i].id;
    items[i].retrieval_score = retrieved[i].score;
    items[i].retrieval_rank = i;
    texts[i] = text_of(retrieved[i].id);
  }

  // 2. rerank in batches of pairs
  const std::size_t step = std::max<std::size_t>(options.batch_size, 1);
  for (std::size_t begin = 0; begin < texts.size(); begin += step) {
    const std::size_t end = std::min(texts.size(), begin + step);
    const std::vector<std::string> batch(texts.begin() + static_cast<std::ptrdiff_t>(begin),
                                         texts.begin() + static_cast<std::ptrdiff_t>(end));
    const std::vector<float> scores = scorer(query_text, batch);
    if (scores.size() != batch.size())
      throw InputError("rerank.bad_scorer", "the scorer returned " + std::to_string(scores.size()) + " scores for " +
                                                std::to_string(batch.size()) + " pairs");
    for (std::size_t i = begin; i < end; ++i) items[i].rerank_score = scores[i - begin];
  }

  // 3. final score, top k (ties: retrieval order)
  const auto w = static_cast<float>(options.boost_weight);
  for (RerankedItem& item : items) {
    item.boost = options.boost ? options.boost(item.id) : 0.0f;
    item.score = w > 0.0f ? (1.0f - w) * item.rerank_score + w * item.boost : item.rerank_score;
  }
  // a NaN score (a broken scorer) ranks last instead of breaking the order
  const auto key = [](float s) { return std::isnan(s) ? -std::numeric_limits<float>::infinity() : s; };
  std::stable_sort(items.begin(), items.end(),
                   [&](const RerankedItem& a, const RerankedItem& b) { return key(a.score) > key(b.score); });
  if (items.size() > options.k) items.resize(options.k);
  return items;
}

}  // namespace embedrank::rank
