#pragma once
/// The shopping guide as one object over a live catalogue: products embedded
/// by a sentence encoder, searched by meaning with the query's attributes as
/// filters and boosts, personalised recommendations that blend the content
/// profile of a user's history with collaborative filtering, and updates
/// while searches run.
///
///   auto guide = std::make_unique<ShoppingGuide>(embedder, Catalogue::read({"catalogue.tsv", "attributes.tsv"}));
///   guide->fit_collaborative_filtering(ratings);                 // user kNN (optional)
///   SearchAnswer a = guide->search("red dress under 50", 10, ws);
///   auto recs = guide->recommend("u0042", history, 10);
///   guide->upsert({product});                                    // embeds only new or changed texts
///   guide->remove({"P0007"});
///   guide->save("shop-state");                                   // ShoppingGuide::open("shop-state", embedder)
///
/// Its options and answers (ShoppingGuideOptions, SearchOptions,
/// SearchAnswer, UpsertReport) are in shop/guide_types.hpp.
///
/// The parts, each usable alone:
///   Catalogue                  product identity: ids -> stable rows, columns, the text to embed
///   model::Embedder            product and query texts -> unit vectors
///   rank::EmbeddingIndex       exact top-k by cosine, one row per catalogue row
///   rank::LexicalIndex         BM25 over title and description, one document per catalogue row
///   rank::hybrid_search        the lexical and dense lists fused, weighted per query
///   rank::CatalogueAttributes  brand / colour / category / price phrases in queries -> filter + boost
///   cf::UserKnn + rank::CfBridge   Pearson user kNN, its items mapped to catalogue rows once
///   rank::Recommender          content + CF blend, seen items excluded, explained
///
/// Every holder of per-product data is keyed by the catalogue's rows and
/// changed in the same step under one lock: searches and recommendations on
/// other threads see the shop before or after an update, never half of it.
/// Thread safety: every member function may be called from any thread;
/// search, recommend, product and save run concurrently, writers (upsert,
/// remove, compact, fit_collaborative_filtering) one at a time. The
/// reference accessors (catalogue(), index(), ...) are for code that knows
/// no writer runs.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "embedrank/cf/ratings.hpp"
#include "embedrank/cf/user_knn.hpp"
#include "embedrank/core/error.hpp"
#include "embedrank/core/row_remap.hpp"
#include "embedrank/core/shared_mutex.hpp"
#include "embedrank/model/embedder.hpp"
#include "embedrank/rank/embedding_index.hpp"
#include "embedrank/rank/hybrid_search.hpp"
#include "embedrank/rank/language_centering.hpp"
#include "embedrank/rank/lexical_index.hpp"
#include "embedrank/rank/query_attributes.hpp"
#include "embedrank/rank/recommender.hpp"
#include "embedrank/shop/catalogue.hpp"
#include "embedrank/shop/detail/state_files.hpp"
#include "embedrank/shop/guide_types.hpp"

namespace embedrank {

class ShoppingGuide {
 public:
  /// Embeds every live product's text and indexes it. A catalogue with
  /// removed rows is compacted first. Throws InputError
  /// "guide.no_model"/"guide.empty_catalogue", and what the embedder throws.
  ShoppingGuide(std::shared_ptr<const model::Embedder> embedder, Catalogue catalogue, ShoppingGuideOptions options = {})
      : ShoppingGuide(std::move(embedder), std::move(catalogue), nullptr, std::move(options)) {}

  /// As above, reusing the vectors `index` already holds: an index whose
  /// rows are the catalogue's (same ids, same removed rows, cosine, the
  /// options' storage) is taken as it is; otherwise each product whose id
  /// the index holds gets that vector and only the others are embedded.
  /// The vectors must come from this embedder (the guide cannot tell), as
  /// it embeds them (not centered: the guide centers them when it centers).
  /// Throws InputError "guide.dimension_mismatch" besides the above.
  ShoppingGuide(std::shared_ptr<const model::Embedder> embedder, Catalogue catalogue, rank::EmbeddingIndex index,
                ShoppingGuideOptions options = {})
      : ShoppingGuide(std::move(embedder), std::move(catalogue), &index, std::move(options)) {}

  /// The catalogue of `products` (ids unique); see the Catalogue constructor.
  ShoppingGuide(std::shared_ptr<const model::Embedder> embedder, std::vector<Product> products,
                ShoppingGuideOptions options = {})
      : ShoppingGuide(std::move(embedder), catalogue_of(std::move(products)), nullptr, std::move(options)) {}

  ShoppingGuide(const ShoppingGuide&) = delete;
  ShoppingGuide& operator=(const ShoppingGuide&) = delete;

  // ---- reading -------------------------------------------------------------

  /// The k best products for a query: its attributes found (parse), its
  /// price phrases removed from the text that is searched, the price and
  /// the policy's attributes filtering, the others boosting; by options.mode
  /// the text is embedded and searched by cosine, analysed and searched by
  /// BM25, or both, fused (rank/hybrid_search.hpp). One workspace per
  /// calling thread. The query is embedded outside the lock; if the
  /// catalogue changed meanwhile its attributes are read again.
  /// An empty query, or one of separators only, has no lexical terms: the
  /// lexical mode finds nothing and the hybrid mode ranks by the dense side.
  /// Throws InputError "search.bad_utf8" (the query is not UTF-8),
  /// "search.query_too_long" (over options().max_query_bytes).
  SearchAnswer search(const std::string& query, std::size_t k, model::EmbedderWorkspace& ws,
                      const SearchOptions& options = {}) const {
    if (query.size() > options_.max_query_bytes)
      throw InputError("search.query_too_long", "the query has " + std::to_string(query.size()) +
                                                    " bytes, more than the " + std::to_string(options_.max_query_bytes) +
                                                    " allowed (ShoppingGuideOptions::max_query_bytes)");
    if (!text::is_valid_utf8(query)) throw InputError("search.bad_utf8", "the query is not valid UTF-8");
    SearchAnswer answer;
    std::uint64_t seen = 0;
    {
      std::shared_lock<SharedMutex> lock(mutex_);
      answer.query = understand(query, options);
      seen = version_;
    }
    std::string text = search_text(answer.query, query);
    VectorF vector = query_vector(text, ws);
    std::shared_lock<SharedMutex> lock(mutex_);
    while (version_ != seen) {  // an update landed while the query was embedded
      answer.query = understand(query, options);
      seen = version_;
      std::string now = search_text(answer.query, query);
      if (now == text) break;
      lock.unlock();
      vector = query_vector(now, ws);
      text = std::move(now);
      lock.lock();
    }
    rank::AttributePolicy policy = options_.attribute_policy;
    for (const auto& filter : options.filters) policy.filters.insert(filter.first);
    const rank::QueryConstraints constraints = attributes_.constraints(answer.query, policy);
    rank::HybridOptions hybrid = options_.hybrid;
    hybrid.candidates = std::max(options_.search_candidates, k);
    hybrid.boost_weight = options_.attribute_boost;
    answer.unknown_share = unknown_share(text);
    rank::HybridAnswer fused = rank::hybrid_search(index_, lexical_, vector, lexical_.query(text), constraints, k,
                                                   options.mode, hybrid, answer.unknown_share);
    answer.results = std::move(fused.results);
    answer.mode = options.mode;
    answer.lexical_weight = fused.lexical_weight;
    answer.other_script_lexical_weight = fused.other_script_lexical_weight;
    return answer;
  }

  /// The k best unseen products for a user: the profile of `history`
  /// blended with the CF model's predictions for `user` (content only
  /// without a model or for a user it does not know), each explained.
  /// Throws what Recommender throws (an unknown history id, bad weights).
  std::vector<rank::Recommended> recommend(const std::string& user, const std::vector<rank::HistoryItem>& history,
                                           std::size_t k, const rank::RecommendOptions& options = {}) const {
    std::shared_lock<SharedMutex> lock(mutex_);
    const rank::Recommender recommender(index_, knn_.get(), knn_ ? &bridge_ : nullptr);
    return recommender.recommend(recommender.profile_from_history(history, options.recency_half_life), history, user,
                                 k, options);
  }

  /// A copy of the live product with this id; throws InputError "catalogue.unknown_product".
  Product product(const std::string& id) const {
    std::shared_lock<SharedMutex> lock(mutex_);
    return catalogue_.product(id);
  }
  /// Live products.
  std::size_t size() const {
    std::shared_lock<SharedMutex> lock(mutex_);
    return catalogue_.size();
  }
  /// Calls fn(catalogue, index, attributes) with the shop held still (a
  /// shared lock): a consistent view for reads the accessors do not cover.
  template <typename Fn>
  decltype(auto) read(Fn&& fn) const {
    std::shared_lock<SharedMutex> lock(mutex_);
    return fn(static_cast<const Catalogue&>(catalogue_), static_cast<const rank::EmbeddingIndex&>(index_),
              static_cast<const rank::CatalogueAttributes&>(attributes_));
  }

  const Catalogue& catalogue() const { return catalogue_; }
  const model::Embedder& embedder() const { return *embedder_; }
  const rank::EmbeddingIndex& index() const { return index_; }
  const rank::CatalogueAttributes& attributes() const { return attributes_; }
  const rank::LexicalIndex& lexical_index() const { return lexical_; }
  /// The CF model, or nullptr before fit_collaborative_filtering.
  const cf::UserKnn* collaborative_filtering() const { return knn_.get(); }
  const ShoppingGuideOptions& options() const { return options_; }
  /// The per-language means subtracted from product and query vectors (empty: no centering).
  const rank::LanguageCentering& language_centering() const { return centering_; }

  // ---- writing -------------------------------------------------------------

  /// Adds new products and replaces existing ones (by id), embedding only
  /// new products and changed texts (a changed price or attribute is no new
  /// embedding). The texts are embedded before the lock is taken; the
  /// catalogue, index, attributes and CF bridge then change in one step.
  /// Throws what Catalogue::upsert and the embedder throw; nothing changes then.
  UpsertReport upsert(std::vector<Product> products, model::EmbedderWorkspace& ws) {
    std::lock_guard<std::mutex> writer(writer_mutex_);  // the catalogue holds still: only writers change it
    Catalogue::check(products);
    std::vector<std::size_t> to_embed;  // positions in `products`
    std::vector<std::string> texts;
    for (std::size_t p = 0; p < products.size(); ++p) {
      const std::size_t row = catalogue_.find(products[p].id);
      std::string text = catalogue_.text_template().render(products[p]);
      if (row == Catalogue::npos || catalogue_.text(row) != text) {
        to_embed.push_back(p);
        texts.push_back(std::move(text));
      }
    }
    MatrixF vectors = embed_texts(texts, ws);  // (E, D)
    centering_.apply_rows(texts, vectors);   // the means fitted at construction
    std::vector<std::size_t> vector_of(products.size(), Catalogue::npos);
    for (std::size_t e = 0; e < to_embed.size(); ++e) vector_of[to_embed[e]] = e;

    std::unique_lock<SharedMutex> lock(mutex_);
    UpsertReport report;
    report.changes = catalogue_.upsert(std::move(products));
    report.embedded = to_embed.size();
    for (std::size_t p = 0; p < report.changes.size(); ++p) {
      const ProductChange& change = report.changes[p];
      const Product& product = catalogue_.product(change.row);
      if (change.added) {
        ++report.added;
        index_.add(product.id, vectors.row(static_cast<Eigen::Index>(vector_of[p])).data(), index_.dim());
        if (knn_) bridge_.link(change.row, knn_->ratings().find_item(product.id));
      } else if (change.text_changed || change.attributes_changed) {
        ++report.updated;
        if (change.text_changed)
          index_.set_vector(change.row, vectors.row(static_cast<Eigen::Index>(vector_of[p])).data(), index_.dim());
      }
      if (change.attributes_changed) {
        attributes_.clear(change.row);
        add_attributes(change.row, product);
      }
      if (change.added || change.text_changed || change.attributes_changed) index_lexical(change.row, product);
    }
    ++version_;
    return report;
  }
  /// upsert() with a workspace of the options' threads.
  UpsertReport upsert(std::vector<Product> products) {
    model::EmbedderWorkspace ws(options_.threads);
    return upsert(std::move(products), ws);
  }

  /// Removes products by id (tombstones until compact()); unknown ids are
  /// ignored. Returns how many were removed.
  std::size_t remove(const std::vector<std::string>& ids) {
    std::lock_guard<std::mutex> writer(writer_mutex_);
    std::unique_lock<SharedMutex> lock(mutex_);
    const std::vector<std::size_t> rows = catalogue_.remove(ids);
    std::size_t removed = 0;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (rows[i] == Catalogue::npos) continue;
      ++removed;
      index_.remove(ids[i]);
      attributes_.clear(rows[i]);
      lexical_.clear(rows[i]);
      bridge_.unlink(rows[i]);
    }
    ++version_;
    return removed;
  }

  /// Drops the removed products' rows everywhere in one step and returns
  /// the remap (rows of live products keep their order).
  RowRemap compact() {
    std::lock_guard<std::mutex> writer(writer_mutex_);
    std::unique_lock<SharedMutex> lock(mutex_);
    RowRemap remap = catalogue_.compact();
    const RowRemap index_remap = index_.compact();
    if (index_remap.new_row != remap.new_row)
      throw Error("guide.inconsistent", "the index and the catalogue disagree on removed rows");
    attributes_.apply(remap);
    lexical_.apply(remap);
    bridge_.apply(remap);
    ++version_;
    return remap;
  }

  /// Fits the collaborative-filtering model on (user, product id, rating);
  /// products missing from the catalogue shape the similarities but are
  /// never recommended. Replaces an earlier model. Searches go on while it
  /// is fitted.
  void fit_collaborative_filtering(cf::Ratings ratings) {
    std::lock_guard<std::mutex> writer(writer_mutex_);
    auto knn = std::make_unique<cf::UserKnn>(std::move(ratings), options_.knn);
    rank::CfBridge bridge = rank::CfBridge::build(index_, knn->ratings());
    std::unique_lock<SharedMutex> lock(mutex_);
    knn_ = std::move(knn);
    bridge_ = std::move(bridge);
    ++version_;
  }

  // ---- state on disk -------------------------------------------------------

  /// Writes the whole shop state to directory `dir`: the catalogue (every
  /// row, removed ones flagged), the vectors as stored, the CF ratings and
  /// options, and the model file's fingerprint. Written into a new
  /// directory beside `dir`, then put in its place in one rename (an
  /// existing `dir` is replaced whole): `dir` holds the old state or the
  /// new one, never a mix. Searches go on meanwhile. Throws FileError.
  void save(const std::string& dir) const {
    std::shared_lock<SharedMutex> lock(mutex_);
    shop::detail::StateWriter writer(dir);
    shop::detail::Manifest manifest;
    manifest.set("model_fingerprint", embedder_->encoder().file().fingerprint());
    manifest.set("model_path", embedder_->encoder().file().path());
    manifest.set("dimension", std::to_string(index_.dim()));
    manifest.set("storage", to_string(index_.storage()));
    manifest.set("rows", std::to_string(catalogue_.rows()));
    manifest.set("text_template", catalogue_.text_template().source());
    manifest.set("collaborative_filtering", knn_ ? "1" : "0");
    manifest.set("language_centering", centering_.empty() ? "0" : "1");
    writer.write("products.jsonl", [&](std::ostream& out) { catalogue_.write_rows(out); });
    writer.write("removed.txt", [&](std::ostream& out) {
      for (std::size_t row = 0; row < catalogue_.rows(); ++row)
        if (catalogue_.removed(row)) out << row << '\n';
    });
    writer.write(vectors_file(index_.storage()), [&](std::ostream& out) { index_.write_stored_rows(out); });
    if (!centering_.empty())
      writer.write("language_means.f32", [&](std::ostream& out) { centering_.write(out); });
    if (knn_) {
      writer.write("cf_ratings.tsv", [&](std::ostream& out) { shop::detail::write_ratings(out, knn_->ratings()); });
      writer.write("cf_options.tsv", [&](std::ostream& out) { shop::detail::write_knn_options(out, knn_->options()); });
    }
    writer.write("manifest.tsv", [&](std::ostream& out) { manifest.write(out); });
    writer.commit();
  }

  /// Opens a state that save() wrote: the vectors are memory-mapped and used
  /// in place, the catalogue read, the attributes and the lexical index
  /// rebuilt from it (docs/architecture.md says why they are not stored), the CF model refitted from
  /// its saved ratings and options (the same model: fitting is
  /// deterministic). The guide answers as the saved one did, bit for bit.
  /// `options` give the runtime settings (threads, boosts; storage and the
  /// CF options come from the state). Throws FileError, FormatError
  /// "shop.model_mismatch" when `embedder` is not the model the vectors were
  /// made with, "shop.bad_state" for a damaged state, and ParseError.
  static std::unique_ptr<ShoppingGuide> open(const std::string& dir, std::shared_ptr<const model::Embedder> embedder,
                                             ShoppingGuideOptions options = {}) {
    if (!embedder) throw InputError("guide.no_model", "the shopping guide needs an embedder");
    const shop::detail::Manifest manifest = shop::detail::Manifest::read(dir + "/manifest.tsv");
    const std::string& fingerprint = embedder->encoder().file().fingerprint();
    if (manifest.get("model_fingerprint") != fingerprint)
      throw FormatError("shop.model_mismatch", dir + ": the vectors were made by model " +
                                                   manifest.get("model_fingerprint") + " (" + manifest.get("model_path") +
                                                   "), not by " + embedder->encoder().file().path() + " (" +
                                                   fingerprint + ")");
    const std::size_t dim = manifest.get_size("dimension");
    if (dim != static_cast<std::size_t>(embedder->dimension()))
      throw FormatError("shop.model_mismatch", dir + ": vectors of dimension " + std::to_string(dim) +
                                                   ", the model gives " + std::to_string(embedder->dimension()));
    options.storage = parse<rank::Storage>(manifest.get("storage"));
    const std::size_t rows = manifest.get_size("rows");

    const shop::detail::Table table = shop::detail::read_table(dir + "/products.jsonl");
    std::vector<Product> products = Catalogue::products_of(table);
    if (products.size() != rows)
      throw FormatError("shop.bad_state", dir + "/products.jsonl: " + std::to_string(products.size()) +
                                              " products, the manifest says " + std::to_string(rows));
    const std::vector<bool> removed = shop::detail::read_removed_rows(dir + "/removed.txt", rows);
    CatalogueOptions catalogue_options;
    catalogue_options.text_template = manifest.get("text_template");
    Catalogue catalogue = Catalogue::from_rows(std::move(products), removed, catalogue_options);

    std::vector<std::string> ids;
    ids.reserve(rows);
    for (std::size_t row = 0; row < rows; ++row) ids.push_back(catalogue.product(row).id);
    rank::EmbeddingIndex index = rank::EmbeddingIndex::open_stored_rows(
        dir + "/" + vectors_file(options.storage), dim, std::move(ids), removed, index_options(options));
    if (manifest.get("collaborative_filtering") == "1")
      options.knn = shop::detail::read_knn_options(dir + "/cf_options.tsv", options.knn);
    // The stored vectors are centered already (or not at all): the saved means come with them.
    rank::LanguageCentering centering;
    if (manifest.has("language_centering") && manifest.get("language_centering") == "1") {
      const std::string path = dir + "/language_means.f32";
      std::ifstream in(path, std::ios::binary);
      if (!in) throw FileError("open", path + ": cannot open for reading");
      centering = rank::LanguageCentering::read(in, dim, path);
    }
    options.center_languages = !centering.empty();
    auto guide = std::unique_ptr<ShoppingGuide>(
        new ShoppingGuide(std::move(embedder), std::move(catalogue), &index, std::move(options), &centering));
    if (manifest.get("collaborative_filtering") == "1")
      guide->fit_collaborative_filtering(shop::detail::read_ratings(dir + "/cf_ratings.tsv"));
    return guide;
  }

 private:
  // `saved`: the centering of a saved state's vectors (`given`, taken as
  // they are); null: vectors are embedded or given as the model makes them.
  ShoppingGuide(std::shared_ptr<const model::Embedder> embedder, Catalogue catalogue, rank::EmbeddingIndex* given,
                ShoppingGuideOptions options, const rank::LanguageCentering* saved = nullptr)
      : embedder_(std::move(embedder)),
        options_(std::move(options)),
        catalogue_(std::move(catalogue)),
        index_(embedder_ ? static_cast<std::size_t>(embedder_->dimension()) : 1, index_options(options_)),
        lexical_(options_.lexical_fields, options_.bm25) {
    if (!embedder_) throw InputError("guide.no_model", "the shopping guide needs an embedder");
    if (catalogue_.size() == 0) throw InputError("guide.empty_catalogue", "the catalogue is empty");
    if (given != nullptr && given->dim() != index_.dim())
      throw InputError("guide.dimension_mismatch", "the index holds vectors of dimension " +
                                                       std::to_string(given->dim()) + ", the model gives " +
                                                       std::to_string(embedder_->dimension()));
    const bool center = options_.center_languages.value_or(
        embedder_->encoder().file().metadata().get_bool("embedder.multilingual", false));
    if (saved != nullptr) centering_ = *saved;
    // Given vectors to be centered go through build_index, which fits the means.
    if (given != nullptr && aligned(*given) && (saved != nullptr || !center)) {
      index_ = std::move(*given);
      index_.set_threads(options_.threads);
    } else {
      catalogue_.compact();
      build_index(given, center);
    }
    for (std::size_t row = 0; row < catalogue_.rows(); ++row)
      if (!catalogue_.removed(row)) {
        add_attributes(row, catalogue_.product(row));
        index_lexical(row, catalogue_.product(row));
      }
  }

  static Catalogue catalogue_of(std::vector<Product> products) {
    Catalogue catalogue;
    catalogue.upsert(std::move(products));
    return catalogue;
  }

  static rank::IndexOptions index_options(const ShoppingGuideOptions& options) {
    rank::IndexOptions index_options;
    index_options.metric = rank::Metric::Cosine;
    index_options.storage = options.storage;
    index_options.threads = options.threads;
    return index_options;
  }

  static std::string vectors_file(rank::Storage storage) {
    return storage == rank::Storage::Float32 ? "vectors.f32" : "vectors.f16";
  }

  // The index's rows are the catalogue's: same ids, same removed rows.
  bool aligned(const rank::EmbeddingIndex& index) const {
    if (index.metric() != rank::Metric::Cosine || index.storage() != options_.storage ||
        index.rows() != catalogue_.rows())
      return false;
    for (std::size_t row = 0; row < catalogue_.rows(); ++row) {
      if (index.removed(row) != catalogue_.removed(row)) return false;
      if (!catalogue_.removed(row) && index.id_at(row) != catalogue_.product(row).id) return false;
    }
    return true;
  }

  // One index row per catalogue row (no removed rows): vectors from `given`
  // where it has the id, the others embedded; centered per language when
  // `center`, with means fitted on them.
  void build_index(const rank::EmbeddingIndex* given, bool center) {
    const std::size_t n = catalogue_.rows();
    std::vector<std::string> ids(n), texts;
    std::vector<std::size_t> embedded_rows;
    for (std::size_t row = 0; row < n; ++row) {
      ids[row] = catalogue_.product(row).id;
      if (given == nullptr || !given->contains(ids[row])) {
        embedded_rows.push_back(row);
        texts.push_back(catalogue_.text(row));
      }
    }
    model::EmbedderWorkspace ws(options_.threads);
    const MatrixF embedded = embed_texts(texts, ws);  // (E, D)
    MatrixF vectors(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(index_.dim()));  // (N, D)
    for (std::size_t e = 0; e < embedded_rows.size(); ++e)
      vectors.row(static_cast<Eigen::Index>(embedded_rows[e])) = embedded.row(static_cast<Eigen::Index>(e));
    if (given != nullptr)
      for (std::size_t row = 0; row < n; ++row)
        if (given->contains(ids[row]))
          vectors.row(static_cast<Eigen::Index>(row)) = given->vector(given->row_of(ids[row])).transpose();
    if (center) {
      std::vector<std::string> all_texts(n);
      for (std::size_t row = 0; row < n; ++row) all_texts[row] = catalogue_.text(row);
      centering_ = rank::LanguageCentering::fit(all_texts, vectors);
      centering_.apply_rows(all_texts, vectors);
    }
    index_.add_rows(ids, vectors);
  }

  // The search vector of a query text: embedded as a query, centered as its language.
  VectorF query_vector(const std::string& text, model::EmbedderWorkspace& ws) const {
    VectorF vector = embedder_->embed_one(text, ws, embedder_->query_options());
    centering_.apply(text, vector.data(), static_cast<std::size_t>(vector.size()));
    return vector;
  }

  // (texts, D), options_.embed_batch texts per call
  MatrixF embed_texts(const std::vector<std::string>& texts, model::EmbedderWorkspace& ws) const {
    MatrixF out(static_cast<Eigen::Index>(texts.size()), static_cast<Eigen::Index>(embedder_->dimension()));
    const std::size_t batch = std::max<std::size_t>(1, options_.embed_batch);
    for (std::size_t begin = 0; begin < texts.size(); begin += batch) {
      const std::size_t end = std::min(texts.size(), begin + batch);
      const std::vector<std::string> part(texts.begin() + static_cast<std::ptrdiff_t>(begin),
                                          texts.begin() + static_cast<std::ptrdiff_t>(end));
      out.middleRows(static_cast<Eigen::Index>(begin), static_cast<Eigen::Index>(end - begin)) =
          embedder_->embed(part, ws, embedder_->document_options());
    }
    return out;
  }

  void add_attributes(std::size_t row, const Product& p) {
    for (const auto& [name, value] : p.attribute_values()) {
      if (rank::CatalogueAttributes::is_blank(value)) continue;
      attributes_.add(row, name, value);
    }
    if (!std::isnan(p.price)) attributes_.set_price(row, p.price);
  }

  void index_lexical(std::size_t row, const Product& p) {
    std::vector<std::string> texts;
    for (const rank::LexicalField& field : options_.lexical_fields) texts.push_back(p.column(field.name));
    lexical_.set(row, texts);
  }

  // The share of the text's tokens (special tokens aside) the model reads as unknown.
  double unknown_share(const std::string& text) const {
    const std::vector<std::int32_t> ids = embedder_->content_ids(text);
    if (ids.empty()) return 0.0;
    std::size_t unknown = 0;
    for (std::int32_t id : ids) unknown += id == embedder_->tokenizer().unk_id() ? 1 : 0;
    return static_cast<double>(unknown) / static_cast<double>(ids.size());
  }

  // The query's attributes and price (parse), less the ignored ones, plus
  // the explicit filters. Called under the lock.
  rank::ParsedQuery understand(const std::string& query, const SearchOptions& options) const {
    rank::ParsedQuery parsed = attributes_.parse(query);
    if (!options.ignore.empty()) {
      parsed.attributes.erase(std::remove_if(parsed.attributes.begin(), parsed.attributes.end(),
                                             [&](const rank::QueryAttribute& a) { return options.ignore.count(a.name) > 0; }),
                              parsed.attributes.end());
      if (options.ignore.count("price")) parsed.price = rank::PriceRange{};
    }
    for (const auto& [name, value] : options.filters) {
      rank::QueryAttribute a;
      a.name = name;
      a.value = value;
      parsed.attributes.push_back(std::move(a));
    }
    parsed.price.min = std::max(parsed.price.min, options.price.min);
    parsed.price.max = std::min(parsed.price.max, options.price.max);
    return parsed;
  }

  static std::string search_text(const rank::ParsedQuery& parsed, const std::string& query) {
    return parsed.search_text.empty() ? query : parsed.search_text;
  }

  std::shared_ptr<const model::Embedder> embedder_;
  ShoppingGuideOptions options_;
  mutable SharedMutex mutex_;  // readers share; an update holds it alone
  std::mutex writer_mutex_;    // one writer at a time (it embeds before taking mutex_)
  std::uint64_t version_ = 0;  // counts updates, for searches that embed outside the lock
  Catalogue catalogue_;
  rank::EmbeddingIndex index_;            // row r = catalogue row r
  rank::CatalogueAttributes attributes_;  // by catalogue row
  rank::LexicalIndex lexical_;            // by catalogue row
  rank::LanguageCentering centering_;     // per-language means subtracted from vectors (empty: none)
  std::unique_ptr<cf::UserKnn> knn_;
  rank::CfBridge bridge_;  // catalogue rows <-> knn_'s items
};

}  // namespace embedrank
