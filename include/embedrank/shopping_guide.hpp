#pragma once
/// The shopping guide as one object: a catalogue embedded by a sentence
/// encoder, searched by meaning with the query's attributes as filters and
/// boosts, and personalised recommendations that blend the content profile
/// of a user's history with collaborative filtering over everyone's ratings.
///
///   ShoppingGuide guide(embedder, products);                 // embeds and indexes
///   guide.fit_collaborative_filtering(ratings);              // user kNN (optional)
///   SearchAnswer a = guide.search("red dress under 50", 10, ws);
///   auto recs = guide.recommend("u0042", history, 10);
///
/// The parts, each usable alone:
///   model::Embedder            product and query texts -> unit vectors
///   rank::EmbeddingIndex       exact top-k by cosine
///   rank::CatalogueAttributes  brand / colour / category / price phrases in queries -> filter + boost
///   cf::UserKnn                Pearson user kNN on (user, product, rating)
///   rank::Recommender          content + CF blend, seen items excluded, explained
/// This header sits above model/ and rank/; rank/ does not depend on model/.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "embedrank/cf/ratings.hpp"
#include "embedrank/cf/user_knn.hpp"
#include "embedrank/core/error.hpp"
#include "embedrank/model/embedder.hpp"
#include "embedrank/rank/embedding_index.hpp"
#include "embedrank/rank/query_attributes.hpp"
#include "embedrank/rank/recommender.hpp"

namespace embedrank {

/// One catalogue item. The attribute fields may be empty (price NaN).
struct Product {
  std::string id;
  std::string category;
  std::string title;
  std::string description;
  std::string brand;
  std::string colour;
  double price = std::numeric_limits<double>::quiet_NaN();

  /// The text that is embedded: "title. description".
  std::string text() const { return description.empty() ? title : title + ". " + description; }
};

struct ShoppingGuideOptions {
  int threads = 0;  ///< embedding and search threads; <= 0: every CPU
  /// Which query attributes filter; a price phrase always does, the others
  /// (category, colour, brand unless listed) boost.
  rank::AttributePolicy attribute_policy{{"brand"}};
  double attribute_boost = 0.1;        ///< boost weight in search: (1 - w) * cosine + w * boost
  std::size_t search_candidates = 100;  ///< items re-scored by the boost
  cf::KnnOptions knn;                   ///< the collaborative-filtering model
};

/// A search's answer and how the query was understood.
struct SearchAnswer {
  rank::ParsedQuery query;                   ///< attributes, price range, the text that was embedded
  std::vector<rank::SearchResult> results;  ///< best first
};

class ShoppingGuide {
 public:
  /// Embeds every product's text() and indexes it. Throws InputError for an
  /// empty catalogue or a duplicate id, and what the embedder throws.
  ShoppingGuide(std::shared_ptr<const model::Embedder> embedder, std::vector<Product> products,
                ShoppingGuideOptions options = {})
      : embedder_(std::move(embedder)), products_(std::move(products)), options_(std::move(options)) {
    if (!embedder_) throw InputError("guide.no_model", "the shopping guide needs an embedder");
    if (products_.empty()) throw InputError("guide.empty_catalogue", "the catalogue is empty");
    std::vector<std::string> ids, texts;
    for (std::size_t p = 0; p < products_.size(); ++p) {
      if (!position_.emplace(products_[p].id, p).second)
        throw InputError("guide.duplicate_product", "product id '" + products_[p].id + "' appears twice");
      ids.push_back(products_[p].id);
      texts.push_back(products_[p].text());
    }
    model::EmbedderWorkspace ws(options_.threads);
    const MatrixF vectors = embedder_->embed(texts, ws);  // (N, D)
    rank::IndexOptions index_options;
    index_options.metric = rank::Metric::Cosine;
    index_options.threads = options_.threads;
    index_ = std::make_unique<rank::EmbeddingIndex>(static_cast<std::size_t>(vectors.cols()), index_options);
    index_->add_rows(ids, vectors);

    attributes_ = std::make_unique<rank::CatalogueAttributes>(*index_);
    for (const Product& p : products_) {
      if (!p.category.empty()) attributes_->add(p.id, "category", p.category);
      if (!p.brand.empty()) attributes_->add(p.id, "brand", p.brand);
      if (!p.colour.empty()) attributes_->add(p.id, "colour", p.colour);
      if (!std::isnan(p.price)) attributes_->set_price(p.id, p.price);
    }
  }

  /// Fits the collaborative-filtering model on (user, product id, rating);
  /// products missing from the catalogue shape the similarities but are
  /// never recommended. Replaces an earlier model.
  void fit_collaborative_filtering(cf::Ratings ratings) {
    knn_ = std::make_unique<cf::UserKnn>(std::move(ratings), options_.knn);
  }

  /// The k best products for a query: its attributes found (parse), its
  /// price phrases removed from the text that is embedded, the price and
  /// the policy's attributes filtering, the others boosting. Thread-safe
  /// with one workspace per thread.
  SearchAnswer search(const std::string& query, std::size_t k, model::EmbedderWorkspace& ws) const {
    SearchAnswer answer;
    answer.query = attributes_->parse(query);
    const std::string& text = answer.query.search_text.empty() ? query : answer.query.search_text;
    const rank::QueryConstraints constraints = attributes_->constraints(answer.query, options_.attribute_policy);
    answer.results = rank::search_with_constraints(*index_, embedder_->embed_one(text, ws), constraints, k,
                                                   std::max(options_.search_candidates, k), options_.attribute_boost);
    return answer;
  }

  /// The k best unseen products for a user: the profile of `history`
  /// blended with the CF model's predictions for `user` (content only
  /// without a model or for a user it does not know), each explained.
  /// Throws what Recommender throws (an unknown history id, bad weights).
  std::vector<rank::Recommended> recommend(const std::string& user, const std::vector<rank::HistoryItem>& history,
                                           std::size_t k, const rank::RecommendOptions& options = {}) const {
    const rank::Recommender recommender(*index_, knn_.get());
    return recommender.recommend(recommender.profile_from_history(history, options.recency_half_life), history, user,
                                 k, options);
  }

  /// The product with this id; throws InputError "guide.unknown_product".
  const Product& product(const std::string& id) const {
    const auto it = position_.find(id);
    if (it == position_.end()) throw InputError("guide.unknown_product", "product '" + id + "' is not in the catalogue");
    return products_[it->second];
  }
  const std::vector<Product>& products() const { return products_; }
  const model::Embedder& embedder() const { return *embedder_; }
  const rank::EmbeddingIndex& index() const { return *index_; }
  const rank::CatalogueAttributes& attributes() const { return *attributes_; }
  /// The CF model, or nullptr before fit_collaborative_filtering.
  const cf::UserKnn* collaborative_filtering() const { return knn_.get(); }
  const ShoppingGuideOptions& options() const { return options_; }

 private:
  std::shared_ptr<const model::Embedder> embedder_;
  std::vector<Product> products_;
  ShoppingGuideOptions options_;
  std::unordered_map<std::string, std::size_t> position_;  // id -> index in products_
  std::unique_ptr<rank::EmbeddingIndex> index_;
  std::unique_ptr<rank::CatalogueAttributes> attributes_;  // refers to *index_
  std::unique_ptr<cf::UserKnn> knn_;
};

}  // namespace embedrank
