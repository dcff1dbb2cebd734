#pragma once
// The service: the loaded models and shop, and handle(), which answers one
// HTTP request (as a plain value, no socket) by its route.
//
//   routes                                   family   file
//   POST /v1/embeddings                      OpenAI   embed_routes.hpp
//   POST /embed, /tokenize; GET /info        TEI      embed_routes.hpp
//   POST /rerank, /predict                   TEI      rerank_routes.hpp
//   POST /v1/rerank                          Cohere   rerank_routes.hpp
//   POST /v1/search, /v1/recommend, ...      shop     shop_routes.hpp
//   GET /health, /metrics, /v1/models        ops      here
//   GET /, /page/{file}                      page     page_routes.hpp
//   GET /v1/users, /v1/evaluation            page     page_routes.hpp
//
// Around every route, here: readiness (503 until load() finished, and while
// draining), authentication (--api-key: a Bearer token on every route but
// /health, /metrics and the page's files), admission (beyond --max-concurrent-requests a 429
// with Retry-After at once), CORS headers when asked, and the metrics.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "embedrank/core/error.hpp"
#include "embedrank/model/embedder.hpp"
#include "embedrank/model/sequence_classifier.hpp"
#include "embedrank/shop/shopping_guide.hpp"
#include "serve/batcher.hpp"
#include "serve/http.hpp"
#include "serve/metrics.hpp"

namespace serve {

/// One file of the shopping-guide page, as the program embeds it.
struct PageFile {
  std::string_view name;          ///< "index.html", "page.js", ...
  std::string_view content_type;  ///< "text/html; charset=utf-8", ...
  std::string_view body;
};

struct ServiceOptions {
  std::string model_id = "embedrank";          ///< the name /info and "model" answer with
  std::size_t max_client_batch_size = 32;      ///< inputs per request
  std::size_t max_concurrent_requests = 512;   ///< beyond it: 429
  bool auto_truncate = false;                  ///< over-long inputs: truncate (true) or 413 (false)
  std::string api_key;                         ///< non-empty: Bearer token required
  std::string cors_allow_origin;               ///< non-empty: CORS headers with this origin
  std::size_t refit_interactions = 1000;       ///< new interactions that trigger a CF refit
  double content_weight = 0.3;                 ///< /v1/recommend's default blend weight of content
  int threads = 0;                             ///< threads per request outside the batcher (<= 0: the pool's)
  BatcherOptions batcher;
  std::vector<PageFile> page;                  ///< GET / and /page/{file}; empty: no page
};

/// What load() brings: the models and the shop. Only `embedder` is required.
struct Loaded {
  std::shared_ptr<const embedrank::model::Embedder> embedder;
  std::string model_path;  ///< for /info
  std::shared_ptr<const embedrank::model::SequenceClassifier> reranker;    ///< /rerank, /v1/rerank
  std::shared_ptr<const embedrank::model::SequenceClassifier> classifier;  ///< /predict (else the reranker)
  std::unique_ptr<embedrank::ShoppingGuide> guide;                         ///< the shop routes
  std::vector<embedrank::cf::RatingTriplet> interactions;  ///< the CF log the guide was fitted on
  std::vector<std::string> shoppers;  ///< named shoppers /v1/users lists first (--shoppers)
  Json evaluation;                    ///< /v1/evaluation's figures (--evaluation), null when none
};

/// Encoder workspaces lent to request threads (one per concurrent request
/// at most, kept for reuse).
class WorkspacePool {
 public:
  explicit WorkspacePool(int threads) : threads_(threads) {}

  struct Lease {
    WorkspacePool* pool;
    std::unique_ptr<embedrank::model::EmbedderWorkspace> ws;
    Lease(WorkspacePool* p, std::unique_ptr<embedrank::model::EmbedderWorkspace> w) : pool(p), ws(std::move(w)) {}
    Lease(Lease&&) = default;
    ~Lease() {
      if (ws) pool->give_back(std::move(ws));
    }
  };

  Lease lend() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (free_.empty()) return Lease(this, std::make_unique<embedrank::model::EmbedderWorkspace>(threads_));
    auto ws = std::move(free_.back());
    free_.pop_back();
    return Lease(this, std::move(ws));
  }

 private:
  void give_back(std::unique_ptr<embedrank::model::EmbedderWorkspace> ws) {
    std::lock_guard<std::mutex> lock(mutex_);
    free_.push_back(std::move(ws));
  }
  int threads_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<embedrank::model::EmbedderWorkspace>> free_;
};

class Service {
 public:
  explicit Service(ServiceOptions options) : options_(std::move(options)), workspaces_(options_.threads) {}
  ~Service() {
    {
      std::lock_guard<std::mutex> lock(refit_mutex_);
      stop_refit_ = true;
    }
    refit_wake_.notify_one();
    if (refitter_.joinable()) refitter_.join();
    if (batcher_) batcher_->stop();
  }

  /// Takes the loaded models and shop; from now on the service is ready.
  void load(Loaded loaded) {
    batcher_ = std::make_unique<EmbedBatcher>(loaded.embedder, options_.batcher, &metrics_);
    log_ = loaded.interactions;
    loaded_ = std::move(loaded);
    if (loaded_.guide) refitter_ = std::thread([this] { refit_loop(); });
    ready_.store(true, std::memory_order_release);
  }

  /// From now on new requests get 503 (in-flight ones complete).
  void drain() { draining_.store(true); }
  bool ready() const { return ready_.load(std::memory_order_acquire) && !draining_.load(); }
  std::int64_t in_flight() const { return metrics_.in_flight.load(); }

  /// Stops the batcher once nothing is in flight (after drain()).
  void stop() {
    if (batcher_) batcher_->stop();
  }

  const ServiceOptions& options() const { return options_; }
  Metrics& metrics() { return metrics_; }

  /// The answer to one request. Never throws. (Defined in routes.hpp.)
  Response handle(const Request& request);

  // ---- for the route files ---------------------------------------------------
  const Loaded& loaded() const { return loaded_; }
  EmbedBatcher& batcher() { return *batcher_; }
  WorkspacePool& workspaces() { return workspaces_; }

  /// Appends interactions to the CF log; the refit thread refits the model
  /// once refit_interactions have gathered, or at once when `now`. Returns
  /// the interactions waiting for a refit after this call.
  std::size_t add_interactions(std::vector<embedrank::cf::RatingTriplet> ratings, bool now);
  /// The products `user` rated in the CF log, in log order.
  std::vector<std::string> rated_by(const std::string& user);
  /// Every user of the CF log with their interactions, in order of first appearance.
  std::vector<std::pair<std::string, std::size_t>> users_in_log();
  /// Refits so far, for the answers of /v1/interactions and /info.
  std::size_t refits() const { return refits_.load(); }

 private:
  using Handler = std::function<Response(Service&, const Request&, const std::string& id)>;
  struct Route {
    std::string method;
    std::string pattern;  // "/v1/products/{id}": one {id} segment at most
    Handler handler;
    bool open;            // answered without the API key and while loading (/health, /metrics)
  };
  static const std::vector<Route>& routes();
  static bool match(const std::string& pattern, const std::string& path, std::string& id);

  Response answer(const Request& request, const Route* route, const std::string& id, ErrorStyle style);
  bool authorised(const Request& request) const;
  void refit_loop();

  ServiceOptions options_;
  Metrics metrics_;
  WorkspacePool workspaces_;
  Loaded loaded_;
  std::unique_ptr<EmbedBatcher> batcher_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> draining_{false};

  std::mutex refit_mutex_;
  std::condition_variable refit_wake_;
  std::vector<embedrank::cf::RatingTriplet> log_;  // every interaction (the fitted ones and the new)
  std::size_t pending_ = 0;                 // appended since the last refit
  bool refit_now_ = false, stop_refit_ = false;
  std::atomic<std::size_t> refits_{0};
  std::thread refitter_;
};

}  // namespace serve
