// embedrank.Catalogue, embedrank.ShoppingGuide and embedrank.CatalogueAttributes:
// the live shop (shop/catalogue.hpp, shop/shopping_guide.hpp) and query
// understanding (rank/query_attributes.hpp).

#include <pybind11/stl.h>

#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common.hpp"
#include "embedder.hpp"
#include "cf.hpp"
#include "embedrank/cf/ratings.hpp"
#include "embedrank/rank/query_attributes.hpp"
#include "embedrank/shop/shopping_guide.hpp"
#include "recommender.hpp"

namespace embedrank_python {

namespace rank = embedrank::rank;
using embedrank::Catalogue;
using embedrank::Product;
using embedrank::ShoppingGuide;

namespace {

/// A Product from a Product, or a dict of columns (id, title, description,
/// category, brand, colour/color, price; any other key an attribute).
Product product_of(py::handle obj) {
  if (py::isinstance<Product>(obj)) return obj.cast<Product>();
  if (!py::isinstance<py::dict>(obj))
    throw py::type_error("a product must be an embedrank.Product or a dict of columns, not " + type_name(obj));
  Product p;
  for (auto [key_obj, value] : py::reinterpret_borrow<py::dict>(obj)) {
    const std::string key = utf8_of(key_obj);
    if (key == "price") {
      p.price = value.is_none() ? std::numeric_limits<double>::quiet_NaN() : value.cast<double>();
      continue;
    }
    if (key == "attributes") {
      for (auto [name, v] : py::reinterpret_borrow<py::dict>(value)) p.attributes[utf8_of(name)] = utf8_of(v);
      continue;
    }
    if (value.is_none()) continue;  // an empty column
    bool integer = false;
    const std::string text = value.is_none() ? std::string() : key == "id" ? id_of(value, "id", integer) : utf8_of(value);
    if (key == "id") p.id = text;
    else if (key == "title") p.title = text;
    else if (key == "description") p.description = text;
    else if (key == "category") p.category = text;
    else if (key == "brand") p.brand = text;
    else if (key == "colour" || key == "color") p.colour = text;
    else p.attributes[key] = text;
  }
  return p;
}

std::vector<Product> products_of(py::handle obj) {
  if (py::isinstance<py::dict>(obj) || py::isinstance<Product>(obj)) return {product_of(obj)};
  std::vector<Product> products;
  for (py::handle p : obj) products.push_back(product_of(p));
  return products;
}

/// A str or os.PathLike as a path.
std::string path_of(py::handle obj) { return utf8_of(py::module_::import("os").attr("fspath")(obj)); }

/// One path or a sequence of paths.
std::vector<std::string> paths_of(py::handle obj) {
  if (py::isinstance<py::str>(obj) || py::hasattr(obj, "__fspath__")) return {path_of(obj)};
  std::vector<std::string> paths;
  for (py::handle p : obj) paths.push_back(path_of(p));
  return paths;
}

/// A guide shared by Python threads: the library's guide is thread-safe
/// itself; this keeps the model object alive and one workspace per caller.
class PyGuide {
 public:
  PyGuide(std::unique_ptr<ShoppingGuide> guide, py::object model, int threads)
      : guide_(std::move(guide)), model_(std::move(model)), workspace_(threads) {}

  ShoppingGuide& guide() { return *guide_; }
  const ShoppingGuide& guide() const { return *guide_; }

  template <typename Work>
  auto with_workspace(Work work) {
    py::gil_scoped_release unlocked;
    return workspace_.run(work);
  }

 private:
  std::unique_ptr<ShoppingGuide> guide_;
  py::object model_;  // the Embedder the guide embeds with
  WorkspaceSlot<embedrank::model::EmbedderWorkspace> workspace_;
};

embedrank::ShoppingGuideOptions guide_options(int threads, double attribute_boost, std::size_t search_candidates,
                                              const std::vector<std::string>& filter_attributes, int knn_k,
                                              int knn_min_k, const std::string& storage) {
  embedrank::ShoppingGuideOptions options;
  options.threads = threads;
  options.attribute_boost = attribute_boost;
  options.search_candidates = search_candidates;
  options.attribute_policy.filters = {filter_attributes.begin(), filter_attributes.end()};
  options.knn.k = knn_k;
  options.knn.min_k = knn_min_k;
  options.storage = enum_of<rank::Storage>(storage);
  return options;
}

/// The shared model of an embedrank.Embedder.
std::shared_ptr<const embedrank::model::Embedder> embedder_of(py::handle model) {
  if (!py::isinstance<PyEmbedder>(model)) throw py::type_error("model must be an embedrank.Embedder, not " + type_name(model));
  return model.cast<const PyEmbedder&>().shared();
}

std::string repr_price(double v) { return std::isnan(v) ? "None" : std::to_string(v); }

}  // namespace

void bind_shop(py::module_& m) {
  register_enum_names<rank::SearchMode>(m, "mode");
  py::class_<Product>(m, "Product", "One catalogue item; every field but the id may be empty (price None).")
      .def(py::init([](py::object id, std::string title, std::string description, std::string category,
                       std::string brand, std::string colour, py::object price,
                       std::map<std::string, std::string> attributes) {
             Product p;
             bool integer = false;
             p.id = id_of(id, "id", integer);
             p.title = std::move(title);
             p.description = std::move(description);
             p.category = std::move(category);
             p.brand = std::move(brand);
             p.colour = std::move(colour);
             p.price = price.is_none() ? std::numeric_limits<double>::quiet_NaN() : price.cast<double>();
             p.attributes = std::move(attributes);
             return p;
           }),
           py::arg("id"), py::arg("title") = "", py::arg("description") = "", py::arg("category") = "",
           py::arg("brand") = "", py::arg("colour") = "", py::arg("price") = py::none(),
           py::arg("attributes") = std::map<std::string, std::string>{})
      .def_readwrite("id", &Product::id)
      .def_readwrite("title", &Product::title)
      .def_readwrite("description", &Product::description)
      .def_readwrite("category", &Product::category)
      .def_readwrite("brand", &Product::brand)
      .def_readwrite("colour", &Product::colour)
      .def_property(
          "price",
          [](const Product& p) -> py::object {
            if (std::isnan(p.price)) return py::none();
            return py::float_(p.price);
          },
          [](Product& p, py::object v) { p.price = v.is_none() ? std::numeric_limits<double>::quiet_NaN() : v.cast<double>(); })
      .def_readwrite("attributes", &Product::attributes)
      .def("__repr__", [](const Product& p) {
        return "Product(id='" + p.id + "', title='" + p.title + "', price=" + repr_price(p.price) + ")";
      });

  py::class_<embedrank::ProductChange>(m, "ProductChange", "What an upsert did to one product.")
      .def_readonly("row", &embedrank::ProductChange::row)
      .def_readonly("added", &embedrank::ProductChange::added)
      .def_readonly("text_changed", &embedrank::ProductChange::text_changed)
      .def_readonly("attributes_changed", &embedrank::ProductChange::attributes_changed);

  py::class_<Catalogue, std::shared_ptr<Catalogue>>(
      m, "Catalogue", "The one owner of product identity: ids -> stable rows, columns, the text to embed.")
      .def(py::init([](const std::string& text_template) {
             embedrank::CatalogueOptions options;
             options.text_template = text_template;
             return std::make_shared<Catalogue>(options);
           }),
           py::arg("text_template") = "{title}. {description}")
      .def_static(
          "read",
          [](py::handle paths, const std::string& text_template) {
            const std::vector<std::string> files = paths_of(paths);
            embedrank::CatalogueOptions options;
            options.text_template = text_template;
            py::gil_scoped_release unlocked;
            return std::make_shared<Catalogue>(Catalogue::read(files, options));
          },
          py::arg("paths"), py::arg("text_template") = "{title}. {description}",
          "Reads TSV, CSV or JSON Lines (by extension); further files are joined by id.")
      .def("__len__", &Catalogue::size)
      .def("__contains__", &Catalogue::contains)
      .def_property_readonly("rows", &Catalogue::rows, "Stored rows, removed ones included.")
      .def("row_of", &Catalogue::row_of, py::arg("id"))
      .def("product", py::overload_cast<const std::string&>(&Catalogue::product, py::const_), py::arg("id"))
      .def("product_at", py::overload_cast<std::size_t>(&Catalogue::product, py::const_), py::arg("row"))
      .def("removed", &Catalogue::removed, py::arg("row"))
      .def("text", &Catalogue::text, py::arg("row"), "The text embedded for the product at `row`.")
      .def("live_rows", &Catalogue::live_rows)
      .def("upsert", [](Catalogue& c, py::handle products) { return c.upsert(products_of(products)); },
           py::arg("products"))
      .def("remove", &Catalogue::remove, py::arg("ids"))
      .def("compact", [](Catalogue& c) { return c.compact().new_row; },
           "Drops removed rows; returns each old row's new row (-1 as 2**64-1 for dropped rows).");

  py::class_<rank::QueryAttribute>(m, "QueryAttribute", "One attribute found in a query: a typed span.")
      .def_readonly("name", &rank::QueryAttribute::name)
      .def_readonly("value", &rank::QueryAttribute::value)
      .def_readonly("begin", &rank::QueryAttribute::begin)
      .def_readonly("end", &rank::QueryAttribute::end)
      .def_readonly("byte_begin", &rank::QueryAttribute::byte_begin)
      .def_readonly("byte_end", &rank::QueryAttribute::byte_end)
      .def("__repr__", [](const rank::QueryAttribute& a) {
        return "QueryAttribute(name='" + a.name + "', value='" + a.value + "', begin=" + std::to_string(a.begin) +
               ", end=" + std::to_string(a.end) + ")";
      });

  py::class_<rank::ParsedQuery>(m, "ParsedQuery", "A query's attributes, price range and the text that is embedded.")
      .def_readonly("attributes", &rank::ParsedQuery::attributes)
      .def_property_readonly("price", [](const rank::ParsedQuery& q) { return std::make_pair(q.price.min, q.price.max); })
      .def_readonly("search_text", &rank::ParsedQuery::search_text);

  py::class_<rank::SearchResult>(m, "SearchResult",
                                 "One search result: id, score and row; with query constraints the score is "
                                 "(1 - w) * fused + w * boost, fused the dense, lexical or hybrid score of the "
                                 "search mode. dense_score (= similarity) is the cosine, lexical_score the BM25.")
      .def_readonly("id", &rank::SearchResult::id)
      .def_readonly("score", &rank::SearchResult::score)
      .def_readonly("row", &rank::SearchResult::row)
      .def_readonly("similarity", &rank::SearchResult::similarity)
      .def_readonly("boost", &rank::SearchResult::boost)
      .def_readonly("dense_score", &rank::SearchResult::similarity)
      .def_readonly("lexical_score", &rank::SearchResult::lexical)
      .def("__repr__", [](const rank::SearchResult& r) {
        return "SearchResult(id='" + r.id + "', score=" + std::to_string(r.score) + ")";
      });

  py::class_<embedrank::SearchAnswer>(m, "SearchAnswer", "A search's results and how the query was understood.")
      .def_readonly("query", &embedrank::SearchAnswer::query)
      .def_readonly("results", &embedrank::SearchAnswer::results)
      .def_property_readonly("mode", [](const embedrank::SearchAnswer& a) { return std::string(embedrank::to_string(a.mode)); })
      .def_readonly("lexical_weight", &embedrank::SearchAnswer::lexical_weight,
                    "The lexical side's weight in the fusion (0 for dense, 1 for lexical).")
      .def_readonly("other_script_lexical_weight", &embedrank::SearchAnswer::other_script_lexical_weight,
                    "The lexical weight of products written in another script than the query "
                    "(the lexical side cannot match their words).")
      .def_readonly("unknown_share", &embedrank::SearchAnswer::unknown_share,
                    "The share of the searched text's tokens the model reads as unknown.");

  py::class_<embedrank::UpsertReport>(m, "UpsertReport", "What one upsert did.")
      .def_readonly("added", &embedrank::UpsertReport::added)
      .def_readonly("updated", &embedrank::UpsertReport::updated)
      .def_readonly("embedded", &embedrank::UpsertReport::embedded)
      .def_readonly("changes", &embedrank::UpsertReport::changes);

  py::class_<rank::CatalogueAttributes>(m, "CatalogueAttributes",
                                        "Query understanding from the catalogue's own values, by catalogue row.")
      .def(py::init<>())
      .def("add", &rank::CatalogueAttributes::add, py::arg("row"), py::arg("attribute"), py::arg("value"))
      .def("set_price", &rank::CatalogueAttributes::set_price, py::arg("row"), py::arg("price"))
      .def("clear", &rank::CatalogueAttributes::clear, py::arg("row"))
      .def("price", &rank::CatalogueAttributes::price, py::arg("row"))
      .def("parse", [](const rank::CatalogueAttributes& a, const std::string& query) { return a.parse(query); },
           py::arg("query"), "The attributes and price phrases of `query`.");

  py::class_<PyGuide>(m, "ShoppingGuide",
                      "The shopping guide over a live catalogue: search with understood attributes, explained "
                      "recommendations, upsert/remove while searches run, save/open.")
      .def(py::init([](py::object model, py::handle catalogue, int threads, double attribute_boost,
                       std::size_t search_candidates, std::vector<std::string> filter_attributes, int knn_k,
                       int knn_min_k, const std::string& storage) {
             const auto embedder = embedder_of(model);
             const auto options = guide_options(threads, attribute_boost, search_candidates, filter_attributes, knn_k,
                                                knn_min_k, storage);
             Catalogue c = py::isinstance<Catalogue>(catalogue) ? catalogue.cast<const Catalogue&>() : [&] {
               Catalogue built;
               built.upsert(products_of(catalogue));
               return built;
             }();
             std::unique_ptr<ShoppingGuide> guide;
             {
               py::gil_scoped_release unlocked;
               guide = std::make_unique<ShoppingGuide>(embedder, std::move(c), options);
             }
             return std::make_unique<PyGuide>(std::move(guide), model, threads);
           }),
           py::arg("model"), py::arg("catalogue"), py::arg("threads") = 0, py::arg("attribute_boost") = 0.1,
           py::arg("search_candidates") = 100, py::arg("filter_attributes") = std::vector<std::string>{"brand"},
           py::arg("knn_k") = 40, py::arg("knn_min_k") = 20, py::arg("storage") = "float32")
      .def_static(
          "open",
          [](py::handle dir_obj, py::object model, int threads, double attribute_boost, std::size_t search_candidates,
             std::vector<std::string> filter_attributes) {
            const std::string dir = path_of(dir_obj);
            const auto embedder = embedder_of(model);
            const auto options = guide_options(threads, attribute_boost, search_candidates, filter_attributes, 40, 1,
                                               "float32");
            std::unique_ptr<ShoppingGuide> guide;
            {
              py::gil_scoped_release unlocked;
              guide = ShoppingGuide::open(dir, embedder, options);
            }
            return std::make_unique<PyGuide>(std::move(guide), model, threads);
          },
          py::arg("dir"), py::arg("model"), py::arg("threads") = 0, py::arg("attribute_boost") = 0.1,
          py::arg("search_candidates") = 100, py::arg("filter_attributes") = std::vector<std::string>{"brand"},
          "Opens a state save() wrote; the vectors are memory-mapped; another model's state is refused.")
      .def("save", [](const PyGuide& g, py::handle dir_obj) {
             const std::string dir = path_of(dir_obj);
             py::gil_scoped_release unlocked;
             g.guide().save(dir);
           },
           py::arg("dir"), "Writes the whole shop state to `dir`, atomically.")
      .def("fit_collaborative_filtering",
           [](PyGuide& g, py::handle users, py::handle items, py::handle ratings) {
             embedrank::cf::Ratings built = ratings_from_python(users, items, ratings);
             py::gil_scoped_release unlocked;
             g.guide().fit_collaborative_filtering(std::move(built));
           },
           py::arg("users"), py::arg("items"), py::arg("ratings"),
           "Fits user kNN on (user, product id, rating) triples; replaces an earlier model.")
      .def("search",
           [](PyGuide& g, const std::string& query, std::size_t k, const std::string& mode,
              const std::vector<std::string>& ignore, const std::map<std::string, std::string>& filters,
              double price_min, double price_max) {
             embedrank::SearchOptions options;
             options.mode = enum_of<rank::SearchMode>(mode);
             options.ignore.insert(ignore.begin(), ignore.end());
             options.filters.assign(filters.begin(), filters.end());
             options.price.min = price_min;
             options.price.max = price_max;
             return g.with_workspace(
                 [&](embedrank::model::EmbedderWorkspace& ws) { return g.guide().search(query, k, ws, options); });
           },
           py::arg("query"), py::arg("k") = 10, py::arg("mode") = "hybrid",
           py::arg("ignore") = std::vector<std::string>{}, py::arg("filters") = std::map<std::string, std::string>{},
           py::arg("price_min") = -std::numeric_limits<double>::infinity(),
           py::arg("price_max") = std::numeric_limits<double>::infinity(),
           "The k best products: mode 'dense' (cosine), 'lexical' (BM25) or 'hybrid' (both fused, weighted per "
           "query); each result carries its dense_score and lexical_score. ignore: understood attributes to drop "
           "by name ('price' included); filters: {attribute: value}, each must hold; price_min/price_max: a price "
           "range intersected with the query's.")
      .def("recommend",
           [](const PyGuide& g, py::handle user, py::handle history, std::size_t k, double content_weight,
              std::size_t candidates, double mmr_lambda, double recency_half_life, std::size_t explain_neighbors) {
             bool integer = false;
             const std::string user_id = user.is_none() ? "" : id_of(user, "user", integer);
             const std::vector<rank::HistoryItem> items = history_of(history);
             rank::RecommendOptions options;
             options.content_weight = content_weight;
             options.candidates = candidates;
             options.mmr_lambda = mmr_lambda;
             options.recency_half_life = recency_half_life;
             options.explain_neighbors = explain_neighbors;
             py::gil_scoped_release unlocked;
             return g.guide().recommend(user_id, items, k, options);
           },
           py::arg("user"), py::arg("history"), py::arg("k") = 10, py::arg("content_weight") = 0.3,
           py::arg("candidates") = 200, py::arg("mmr_lambda") = 1.0, py::arg("recency_half_life") = 0.0,
           py::arg("explain_neighbors") = 3)
      .def("upsert",
           [](PyGuide& g, py::handle products) {
             std::vector<Product> batch = products_of(products);
             return g.with_workspace(
                 [&](embedrank::model::EmbedderWorkspace& ws) { return g.guide().upsert(std::move(batch), ws); });
           },
           py::arg("products"), "Adds or replaces products; embeds only new or changed texts.")
      .def("remove",
           [](PyGuide& g, std::vector<std::string> ids) {
             py::gil_scoped_release unlocked;
             return g.guide().remove(ids);
           },
           py::arg("ids"))
      .def("compact",
           [](PyGuide& g) {
             py::gil_scoped_release unlocked;
             return g.guide().compact().new_row;
           })
      .def("product",
           [](const PyGuide& g, const std::string& id) {
             py::gil_scoped_release unlocked;
             return g.guide().product(id);
           },
           py::arg("id"))
      .def("__len__", [](const PyGuide& g) { return g.guide().size(); })
      .def_property_readonly("catalogue", [](const PyGuide& g) {
        return g.guide().read([](const Catalogue& c, const rank::EmbeddingIndex&, const rank::CatalogueAttributes&) {
          return std::make_shared<Catalogue>(c);
        });
      }, "A copy of the catalogue as it is now.");
}

}  // namespace embedrank_python
