#pragma once
// Shop routes, on the live ShoppingGuide:
//
//   POST   /v1/search                 {"query", "k", "filters", "price_min", "price_max", "ignore",
//                                       "mode": "dense" | "lexical" | "hybrid" (default)}
//                                      -> {"query": {"text", "search_text", "attributes": [{"name",
//                                          "value", "begin", "end", "role": "filter" | "boost"}], "price",
//                                          "unknown_token_share", "mode", "lexical_weight"},
//                                          "results": [product + score, similarity, boost,
//                                          dense_score, lexical_score]}
//   POST   /v1/recommend              {"user", "history", "k", "content_weight", "mmr_lambda"}
//   GET    /v1/products/{id}          the product
//   GET    /v1/products/{id}/similar  ?k=10: the nearest products by embedding
//   PUT    /v1/products/{id}          add or replace one product
//   DELETE /v1/products/{id}          remove it
//   POST   /v1/products               {"products": [...]}: bulk upsert
//   POST   /v1/interactions           {"interactions": [{"user", "product_id", "rating"}], "refit"}
//
// A product in JSON: {"id", "title", "description", "category", "brand",
// "colour" (or "color"), "price" (number or null), "attributes": {name: value}}.

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "serve/service.hpp"

namespace serve {

namespace detail {

inline embedrank::ShoppingGuide& guide(Service& service) {
  if (!service.loaded().guide)
    throw HttpError{400, "validation", "this server runs no shop (start it with --catalogue FILE or --state DIR)"};
  return *service.loaded().guide;
}

inline Json product_json(const embedrank::Product& p) {
  Json attributes = Json::object();
  for (const auto& [name, value] : p.attributes) attributes[name] = value;
  return {{"id", p.id},
          {"title", p.title},
          {"description", p.description},
          {"category", p.category},
          {"brand", p.brand},
          {"colour", p.colour},
          {"price", std::isnan(p.price) ? Json(nullptr) : Json(p.price)},
          {"attributes", attributes}};
}

/// A product from its JSON object; `id` is the id the path names (the body's must agree).
inline embedrank::Product product_of(const Json& j, const std::string& id) {
  if (!j.is_object()) throw HttpError{422, "validation", "a product must be a JSON object"};
  embedrank::Product p;
  p.id = id.empty() ? require_string(j, "id") : id;
  if (!id.empty() && j.contains("id") && !(j["id"].is_string() && j["id"].get<std::string>() == id))
    throw HttpError{422, "validation", "the body's 'id' differs from the path's '" + id + "'"};
  if (p.id.empty()) throw HttpError{422, "validation", "a product's 'id' is empty"};
  p.title = get_string(j, "title", "");
  p.description = get_string(j, "description", "");
  p.category = get_string(j, "category", "");
  p.brand = get_string(j, "brand", "");
  p.colour = get_string(j, "colour", get_string(j, "color", ""));
  const double price = get_number(j, "price", std::nan(""));
  if (!std::isnan(price) && !(price >= 0 && std::isfinite(price)))
    throw HttpError{422, "validation", "product '" + p.id + "': 'price' must be a finite number from 0"};
  p.price = price;
  if (j.contains("attributes") && !j["attributes"].is_null()) {
    if (!j["attributes"].is_object()) throw wrong_type("attributes", "an object of strings");
    for (const auto& [name, value] : j["attributes"].items()) {
      if (!value.is_string()) throw wrong_type("attributes." + name, "a string");
      p.attributes[name] = value.get<std::string>();
    }
  }
  return p;
}

inline Json price_json(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }

/// Library errors of a shop call as HTTP errors: an unknown product id 404, other bad input 422.
template <typename Fn>
decltype(auto) shop_call(Fn&& fn) {
  try {
    return fn();
  } catch (const embedrank::Error& e) {
    const std::string& id = e.id();
    const bool unknown = id.find("unknown_product") != std::string::npos || id == "input.unknown_id";
    throw HttpError{unknown ? 404 : 422, id, e.what()};
  }
}

}  // namespace detail

inline Response shop_search(Service& service, const Request& request, const std::string&) {
  const Json body = parse_object(request.body);
  auto& guide = detail::guide(service);
  const std::string query = require_string(body, "query");
  if (query.empty()) throw HttpError{400, "empty", "'query' is empty"};
  const auto k = static_cast<std::size_t>(get_integer(body, "k", 10, 1, 1000));
  embedrank::SearchOptions options;
  options.price.min = get_number(body, "price_min", options.price.min);
  options.price.max = get_number(body, "price_max", options.price.max);
  if (const auto f = body.find("filters"); f != body.end() && !f->is_null()) {
    if (!f->is_object()) throw wrong_type("filters", "an object of attribute: value strings");
    for (const auto& [name, value] : f->items()) {
      if (!value.is_string()) throw wrong_type("filters." + name, "a string");
      options.filters.emplace_back(name == "color" ? "colour" : name, value.get<std::string>());
    }
  }
  if (const auto ig = body.find("ignore"); ig != body.end() && !ig->is_null()) {
    if (!ig->is_array()) throw wrong_type("ignore", "an array of attribute names");
    for (const Json& name : *ig) {
      if (!name.is_string()) throw wrong_type("ignore", "an array of attribute names");
      options.ignore.insert(name.get<std::string>());
    }
  }
  if (const auto mode = body.find("mode"); mode != body.end() && !mode->is_null()) {
    if (!mode->is_string()) throw wrong_type("mode", "\"dense\", \"lexical\" or \"hybrid\"");
    options.mode = detail::shop_call([&] { return embedrank::parse<embedrank::rank::SearchMode>(mode->get<std::string>()); });
  }
  auto lease = service.workspaces().lend();
  const embedrank::SearchAnswer answer = detail::shop_call([&] { return guide.search(query, k, *lease.ws, options); });

  // role: what the attribute does to the ranking (the guide's policy, and "filters" filter)
  const auto filters = [&](const std::string& name) {
    if (name == "price" || guide.options().attribute_policy.filters.count(name)) return true;
    for (const auto& f : options.filters)
      if (f.first == name) return true;
    return false;
  };
  Json attributes = Json::array();
  for (const auto& a : answer.query.attributes)
    attributes.push_back({{"name", a.name},
                          {"value", a.value},
                          {"begin", a.begin},
                          {"end", a.end},
                          {"role", filters(a.name) ? "filter" : "boost"}});
  Json results = Json::array();
  guide.read([&](const embedrank::Catalogue& catalogue, const embedrank::rank::EmbeddingIndex&,
                 const embedrank::rank::CatalogueAttributes&) {
    for (const auto& r : answer.results) {
      if (!catalogue.contains(r.id)) continue;  // removed since the search
      Json item = detail::product_json(catalogue.product(r.id));
      item["score"] = r.score;
      item["similarity"] = r.similarity;
      item["boost"] = r.boost;
      item["dense_score"] = r.similarity;
      item["lexical_score"] = r.lexical;
      results.push_back(std::move(item));
    }
  });
  const std::string& search_text = answer.query.search_text.empty() ? query : answer.query.search_text;
  return json_response(Json{
      {"query",
       {{"text", query},
        {"search_text", search_text},
        {"attributes", attributes},
        {"price", {{"min", detail::price_json(answer.query.price.min)}, {"max", detail::price_json(answer.query.price.max)}}},
        {"unknown_token_share", answer.unknown_share},
        {"mode", embedrank::to_string(answer.mode)},
        {"lexical_weight", answer.lexical_weight},
        {"other_script_lexical_weight", answer.other_script_lexical_weight}}},
      {"results", results}});
}

inline Response shop_recommend(Service& service, const Request& request, const std::string&) {
  const Json body = parse_object(request.body);
  auto& guide = detail::guide(service);
  const std::string user = get_string(body, "user", "");
  std::vector<embedrank::rank::HistoryItem> history;
  if (const auto h = body.find("history"); h != body.end() && !h->is_null()) {
    if (!h->is_array()) throw wrong_type("history", "an array of product ids or {\"id\", \"weight\", \"age\"} objects");
    for (const Json& x : *h) {
      embedrank::rank::HistoryItem item;
      if (x.is_string()) {
        item.item_id = x.get<std::string>();
      } else if (x.is_object()) {
        item.item_id = require_string(x, "id");
        item.weight = get_number(x, "weight", 1.0);
        item.age = get_number(x, "age", 0.0);
      } else {
        throw wrong_type("history", "an array of product ids or {\"id\", \"weight\", \"age\"} objects");
      }
      history.push_back(std::move(item));
    }
  } else if (!user.empty()) {
    const std::vector<std::string> rated = service.rated_by(user);
    guide.read([&](const embedrank::Catalogue& c, const auto&, const auto&) {  // one lock for the whole history
      for (const std::string& id : rated)
        if (c.contains(id)) history.push_back({id, 1.0, 0.0});
    });
  }
  if (user.empty() && history.empty())
    throw HttpError{422, "validation", "give a 'user' or a non-empty 'history'"};
  const auto k = static_cast<std::size_t>(get_integer(body, "k", 10, 1, 1000));
  embedrank::rank::RecommendOptions options;
  options.content_weight = get_number(body, "content_weight", service.options().content_weight);
  options.mmr_lambda = get_number(body, "mmr_lambda", 1.0);
  const std::vector<embedrank::rank::Recommended> recommended =
      detail::shop_call([&] { return guide.recommend(user, history, k, options); });

  Json results = Json::array();
  guide.read([&](const embedrank::Catalogue& catalogue, const embedrank::rank::EmbeddingIndex&,
                 const embedrank::rank::CatalogueAttributes&) {
    for (const auto& r : recommended) {
      if (!catalogue.contains(r.id)) continue;
      Json item = detail::product_json(catalogue.product(r.id));
      Json neighbours = Json::array();
      for (const auto& n : r.cf_neighbors)
        neighbours.push_back({{"user", n.user_id}, {"similarity", n.similarity}, {"rating", n.rating}});
      item["score"] = r.score;
      item["content_score"] = r.content_score;
      item["cf_score"] = std::isnan(r.cf_score) ? Json(nullptr) : Json(r.cf_score);
      item["closest_history_id"] = r.closest_history_id;
      item["closest_similarity"] = r.closest_similarity;
      item["cf_neighbors"] = neighbours;
      results.push_back(std::move(item));
    }
  });
  Json used = Json::array();
  for (const auto& h : history) used.push_back(h.item_id);
  return json_response(Json{{"user", user}, {"history", used}, {"content_weight", options.content_weight}, {"results", results}});
}

inline Response shop_product(Service& service, const Request&, const std::string& id) {
  auto& guide = detail::guide(service);
  return json_response(detail::product_json(detail::shop_call([&] { return guide.product(id); })));
}

inline Response shop_similar(Service& service, const Request& request, const std::string& id) {
  auto& guide = detail::guide(service);
  std::size_t k = 10;
  if (const auto it = request.params.find("k"); it != request.params.end()) {
    char* end = nullptr;
    const long v = std::strtol(it->second.c_str(), &end, 10);
    if (it->second.empty() || *end != '\0' || v < 1 || v > 1000)
      throw HttpError{422, "validation", "'k' must be an integer from 1 to 1000, got '" + it->second + "'"};
    k = static_cast<std::size_t>(v);
  }
  Json results = Json::array();
  guide.read([&](const embedrank::Catalogue& catalogue, const embedrank::rank::EmbeddingIndex& index,
                 const embedrank::rank::CatalogueAttributes&) {
    if (!catalogue.contains(id)) throw HttpError{404, "catalogue.unknown_product", "no product has id '" + id + "'"};
    const std::size_t row = index.row_of(id);
    embedrank::rank::SearchFilter filter;
    filter.keep = [row](std::size_t r) { return r != row; };
    for (const auto& r : index.search(index.vector(row), k, filter)) {
      Json item = detail::product_json(catalogue.product(r.id));
      item["score"] = r.score;
      results.push_back(std::move(item));
    }
  });
  return json_response(Json{{"id", id}, {"results", results}});
}

inline Json upsert_answer(const embedrank::UpsertReport& report) {
  return {{"added", report.added}, {"updated", report.updated}, {"embedded", report.embedded}};
}

inline Response shop_put_product(Service& service, const Request& request, const std::string& id) {
  auto& guide = detail::guide(service);
  std::vector<embedrank::Product> products{detail::product_of(parse_object(request.body), id)};
  auto lease = service.workspaces().lend();
  const embedrank::UpsertReport report = detail::shop_call([&] { return guide.upsert(std::move(products), *lease.ws); });
  Json out = upsert_answer(report);
  out["product"] = detail::product_json(guide.product(id));
  return json_response(out, report.added ? 201 : 200);
}

inline Response shop_delete_product(Service& service, const Request&, const std::string& id) {
  auto& guide = detail::guide(service);
  if (guide.remove({id}) == 0) throw HttpError{404, "catalogue.unknown_product", "no product has id '" + id + "'"};
  return json_response(Json{{"id", id}, {"removed", true}});
}

inline Response shop_upsert_products(Service& service, const Request& request, const std::string&) {
  const Json body = parse_object(request.body);
  auto& guide = detail::guide(service);
  const auto it = body.find("products");
  if (it == body.end() || !it->is_array()) throw HttpError{422, "validation", "'products' must be an array of products"};
  if (it->empty()) throw HttpError{400, "empty", "'products' is empty"};
  std::vector<embedrank::Product> products;
  for (const Json& p : *it) products.push_back(detail::product_of(p, ""));
  auto lease = service.workspaces().lend();
  return json_response(upsert_answer(detail::shop_call([&] { return guide.upsert(std::move(products), *lease.ws); })));
}

inline Response shop_interactions(Service& service, const Request& request, const std::string&) {
  const Json body = parse_object(request.body);
  detail::guide(service);
  const auto it = body.find("interactions");
  if (it == body.end() || !it->is_array())
    throw HttpError{422, "validation", "'interactions' must be an array of {\"user\", \"product_id\", \"rating\"}"};
  std::vector<embedrank::cf::RatingTriplet> ratings;
  for (const Json& x : *it) {
    if (!x.is_object()) throw wrong_type("interactions", "an array of {\"user\", \"product_id\", \"rating\"} objects");
    embedrank::cf::RatingTriplet r;
    r.user = require_string(x, "user");
    r.item = require_string(x, "product_id");
    if (r.user.empty() || r.item.empty()) throw HttpError{422, "validation", "an interaction's user or product_id is empty"};
    if (!x.contains("rating") || !x["rating"].is_number()) throw wrong_type("interactions[].rating", "a number");
    r.rating = x["rating"].get<double>();
    if (!std::isfinite(r.rating) || std::abs(r.rating) > 1e6)
      throw HttpError{422, "validation", "an interaction's rating must be a finite number"};
    ratings.push_back(std::move(r));
  }
  const bool refit = get_bool(body, "refit", false);
  const std::size_t accepted = ratings.size();
  const std::size_t pending = service.add_interactions(std::move(ratings), refit);
  return json_response(Json{{"accepted", accepted},
                            {"pending", pending},
                            {"refit_after", service.options().refit_interactions},
                            {"refits", service.refits()}},
                       202);
}

}  // namespace serve
