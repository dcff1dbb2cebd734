#pragma once
// The route table and Service::handle(): everything a request goes through
// before and after its route (readiness, auth, admission, CORS, metrics,
// errors), and the operations routes (/health, /metrics, /v1/models).
// Include this one header to get the whole service.

#include <algorithm>
#include <chrono>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "serve/embed_routes.hpp"
#include "serve/page_routes.hpp"
#include "serve/rerank_routes.hpp"
#include "serve/service.hpp"
#include "serve/shop_routes.hpp"

namespace serve {

inline Response health(Service& service, const Request&, const std::string&) {
  if (!service.ready()) throw HttpError{503, "unhealthy", "the model or the shop is not loaded yet, or the server is draining"};
  return json_response(Json{{"status", "ok"}});
}

inline Response metrics_text(Service& service, const Request&, const std::string&) {
  Response r;
  r.content_type = "text/plain; version=0.0.4";
  r.body = service.metrics().text();
  return r;
}

inline Response models(Service& service, const Request&, const std::string&) {
  return json_response(
      Json{{"object", "list"},
           {"data", Json::array({{{"id", service.options().model_id}, {"object", "model"}, {"owned_by", "embedrank"}}})}});
}

inline const std::vector<Service::Route>& Service::routes() {
  static const std::vector<Route> table = {
      {"GET", "/health", health, true},
      {"GET", "/metrics", metrics_text, true},
      {"GET", "/info", info, false},
      {"GET", "/v1/models", models, false},
      {"POST", "/v1/embeddings", openai_embeddings, false},
      {"POST", "/embed", tei_embed, false},
      {"POST", "/tokenize", tei_tokenize, false},
      {"POST", "/rerank", tei_rerank, false},
      {"POST", "/predict", tei_predict, false},
      {"POST", "/v1/rerank", cohere_rerank, false},
      {"POST", "/v1/search", shop_search, false},
      {"POST", "/v1/recommend", shop_recommend, false},
      {"GET", "/v1/products/{id}", shop_product, false},
      {"GET", "/v1/products/{id}/similar", shop_similar, false},
      {"PUT", "/v1/products/{id}", shop_put_product, false},
      {"DELETE", "/v1/products/{id}", shop_delete_product, false},
      {"POST", "/v1/products", shop_upsert_products, false},
      {"POST", "/v1/interactions", shop_interactions, false},
      {"GET", "/", page_index, true},
      {"GET", "/page/{id}", page_asset, true},
      {"GET", "/v1/users", list_users, false},
      {"GET", "/v1/evaluation", evaluation, false},
  };
  return table;
}

inline bool Service::match(const std::string& pattern, const std::string& path, std::string& id) {
  const std::size_t brace = pattern.find("{id}");
  if (brace == std::string::npos) return pattern == path;
  const std::string before = pattern.substr(0, brace), after = pattern.substr(brace + 4);
  if (path.size() <= before.size() + after.size() || path.compare(0, before.size(), before) != 0 ||
      path.compare(path.size() - after.size(), after.size(), after) != 0)
    return false;
  std::string segment = path.substr(before.size(), path.size() - before.size() - after.size());
  if (segment.find('/') != std::string::npos) return false;
  id = std::move(segment);
  return true;
}

inline bool Service::authorised(const Request& request) const {
  if (options_.api_key.empty()) return true;
  const std::string* header = request.header("authorization");
  const std::string expected = "Bearer " + options_.api_key;
  if (!header || header->size() != expected.size()) return false;
  unsigned char diff = 0;  // compared in constant time
  for (std::size_t i = 0; i < expected.size(); ++i)
    diff |= static_cast<unsigned char>((*header)[i] ^ expected[i]);
  return diff == 0;
}

inline Response Service::handle(const Request& request) {
  const auto start = std::chrono::steady_clock::now();
  const ErrorStyle style = request.path.rfind("/v1/", 0) == 0 ? ErrorStyle::OpenAI : ErrorStyle::Tei;
  const Route* route = nullptr;
  std::string id;
  bool path_known = false;
  for (const Route& r : routes()) {
    std::string segment;
    if (!match(r.pattern, request.path, segment)) continue;
    path_known = true;
    if (r.method == request.method) {
      route = &r;
      id = std::move(segment);
      break;
    }
  }
  Response response;
  if (request.method == "OPTIONS" && !options_.cors_allow_origin.empty() && path_known) {
    response.status = 204;
    response.content_type.clear();
    response.headers = {{"Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS"},
                        {"Access-Control-Allow-Headers", "Authorization, Content-Type"},
                        {"Access-Control-Max-Age", "600"}};
  } else if (!route) {
    response.status = path_known ? 405 : 404;
    response.body = error_body(HttpError{response.status, path_known ? "method_not_allowed" : "not_found",
                                         (path_known ? "method " + request.method + " is not allowed on "
                                                     : std::string("no route ")) + request.path},
                               style);
  } else {
    response = answer(request, route, id, style);
  }
  if (!options_.cors_allow_origin.empty()) {
    response.headers.emplace_back("Access-Control-Allow-Origin", options_.cors_allow_origin);
    response.headers.emplace_back("Vary", "Origin");
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  metrics_.count_request(route ? route->pattern : "unmatched", response.status, seconds);
  return response;
}

inline Response Service::answer(const Request& request, const Route* route, const std::string& id, ErrorStyle style) {
  const auto refuse = [&](const HttpError& e) {
    Response r;
    r.status = e.status;
    r.body = error_body(e, style);
    return r;
  };
  if (!route->open) {
    if (!authorised(request))
      return refuse(HttpError{401, "invalid_api_key", "a valid API key is required: 'Authorization: Bearer KEY'"});
    if (draining_.load()) {
      metrics_.count_rejected("draining");
      return refuse(HttpError{503, "unhealthy", "the server is shutting down"});
    }
    if (!ready_.load(std::memory_order_acquire))
      return refuse(HttpError{503, "unhealthy", "the model and the shop are still loading"});
  }
  // Admission: counted before any work; beyond the limit a 429 at once.
  const std::int64_t now_in_flight = ++metrics_.in_flight;
  struct Leave {
    std::atomic<std::int64_t>& n;
    ~Leave() { --n; }
  } leave{metrics_.in_flight};
  if (!route->open && now_in_flight > static_cast<std::int64_t>(options_.max_concurrent_requests)) {
    metrics_.count_rejected("overloaded");
    Response r = refuse(HttpError{429, "overloaded",
                                  "more than " + std::to_string(options_.max_concurrent_requests) +
                                      " requests are in flight (--max-concurrent-requests); retry shortly"});
    r.headers.emplace_back("Retry-After", "1");
    return r;
  }
  try {
    return route->handler(*this, request, id);
  } catch (const HttpError& e) {
    return refuse(e);
  } catch (const embedrank::InputError& e) {
    return refuse(HttpError{422, "validation", e.what()});
  } catch (const std::bad_alloc&) {
    return refuse(HttpError{424, "backend", "not enough memory"});
  } catch (const std::exception& e) {
    return refuse(HttpError{500, "internal", e.what()});
  }
}

inline std::vector<std::string> Service::rated_by(const std::string& user) {
  std::lock_guard<std::mutex> lock(refit_mutex_);
  std::vector<std::string> items;
  for (const auto& r : log_)
    if (r.user == user) items.push_back(r.item);
  return items;
}

inline std::vector<std::pair<std::string, std::size_t>> Service::users_in_log() {
  std::lock_guard<std::mutex> lock(refit_mutex_);
  std::vector<std::pair<std::string, std::size_t>> users;
  std::unordered_map<std::string, std::size_t> position;
  for (const auto& r : log_) {
    const auto [it, added] = position.emplace(r.user, users.size());
    if (added) users.emplace_back(r.user, 0);
    ++users[it->second].second;
  }
  return users;
}

inline std::size_t Service::add_interactions(std::vector<embedrank::cf::RatingTriplet> ratings, bool now) {
  std::size_t pending = 0;
  {
    std::lock_guard<std::mutex> lock(refit_mutex_);
    pending_ += ratings.size();
    log_.insert(log_.end(), std::make_move_iterator(ratings.begin()), std::make_move_iterator(ratings.end()));
    refit_now_ = refit_now_ || now || pending_ >= options_.refit_interactions;
    pending = pending_;
  }
  refit_wake_.notify_one();
  return pending;
}

inline void Service::refit_loop() {
  std::unique_lock<std::mutex> lock(refit_mutex_);
  for (;;) {
    refit_wake_.wait(lock, [&] { return stop_refit_ || refit_now_; });
    if (stop_refit_) return;
    refit_now_ = false;
    pending_ = 0;
    std::vector<embedrank::cf::RatingTriplet> log = log_;
    lock.unlock();
    try {
      loaded_.guide->fit_collaborative_filtering(embedrank::cf::Ratings::from_triplets(log));
      ++refits_;
    } catch (const std::exception&) {
      // a log the model cannot fit (e.g. one user) keeps the earlier model
    }
    lock.lock();
  }
}

}  // namespace serve
