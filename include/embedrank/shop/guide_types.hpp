#pragma once
/// The shopping guide's options and what its calls return
/// (shop/shopping_guide.hpp): ShoppingGuideOptions, SearchOptions,
/// SearchAnswer, UpsertReport.

#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "embedrank/cf/user_knn.hpp"
#include "embedrank/rank/hybrid_search.hpp"
#include "embedrank/rank/lexical_index.hpp"
#include "embedrank/rank/query_attributes.hpp"
#include "embedrank/rank/search_types.hpp"
#include "embedrank/shop/catalogue.hpp"

namespace embedrank {

struct ShoppingGuideOptions {
  int threads = 0;  ///< embedding and search threads; <= 0: every CPU
  /// Which query attributes filter; a price phrase always does, the others
  /// (category, colour, brand unless listed) boost.
  rank::AttributePolicy attribute_policy{{"brand"}};
  double attribute_boost = 0.1;         ///< boost weight in search: (1 - w) * cosine + w * boost
  std::size_t search_candidates = 100;  ///< items re-scored by the boost
  /// The collaborative-filtering model. min_k = 20: with fewer neighbours a
  /// CF score is noise for top-N (docs/ranking.md, "Choosing min_k"). No
  /// clipping: CF scores rank items, and clipping would tie all those
  /// predicted above the top of the scale.
  cf::KnnOptions knn = [] {
    cf::KnnOptions options;
    options.min_k = 20;
    options.clip = false;
    return options;
  }();
  rank::Storage storage = rank::Storage::Float32;  ///< how product vectors are kept (float16 halves memory)
  std::size_t embed_batch = 256;        ///< texts per embedding call when products are embedded
  /// The lexical index's fields (Product columns) and weights, and its BM25 parameters.
  std::vector<rank::LexicalField> lexical_fields{{"title", 2.0}, {"description", 1.0}};
  rank::Bm25Options bm25;
  /// How hybrid search fuses; its candidates and boost_weight are
  /// search_candidates and attribute_boost above.
  rank::HybridOptions hybrid;
  std::size_t max_query_bytes = 4096;  ///< longer queries are refused ("search.query_too_long")
  /// Per-language centering of the vectors (rank/language_centering.hpp),
  /// which lets a multilingual model match across languages; nullopt: on
  /// when the model file says it is multilingual (embedder.multilingual).
  /// The means are fitted when the products are embedded and kept with the
  /// saved state; upserts are centered with them.
  std::optional<bool> center_languages;
};

/// What a search adds to the query's own understanding: understood
/// attributes to drop (by name, "price" included; the removable chips of a
/// search page) and explicit filters (attribute = value, a price range).
/// An attribute named by an explicit filter filters, whatever the policy.
struct SearchOptions {
  std::set<std::string> ignore;  ///< understood attributes to drop, by name
  std::vector<std::pair<std::string, std::string>> filters;  ///< (attribute, value), each must hold
  rank::PriceRange price;        ///< intersected with the query's price phrases
  rank::SearchMode mode = rank::SearchMode::Hybrid;  ///< dense, lexical or both fused
};

/// A search's answer and how the query was understood.
struct SearchAnswer {
  rank::ParsedQuery query;                   ///< attributes, price range, the text that was embedded
  std::vector<rank::SearchResult> results;  ///< best first; similarity: dense score, lexical: BM25
  rank::SearchMode mode = rank::SearchMode::Hybrid;  ///< the mode searched
  double lexical_weight = 0.0;  ///< the lexical side's weight in the fusion (0 dense, 1 lexical)
  double unknown_share = 0.0;   ///< share of the search text's tokens the model reads as unknown
  double other_script_lexical_weight = 0.0;  ///< the lexical weight of products not in the query's script
};

/// What one upsert did.
struct UpsertReport {
  std::size_t added = 0;     ///< new products
  std::size_t updated = 0;   ///< existing products with any change
  std::size_t embedded = 0;  ///< texts embedded (new products and changed texts)
  std::vector<ProductChange> changes;  ///< per product, in batch order
};

}  // namespace embedrank
