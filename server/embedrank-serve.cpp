// embedrank-serve: the embedding, rerank and shop-search service over HTTP,
// a drop-in for OpenAI and text-embeddings-inference clients (docs/serve.md).
//
// This file is the program around serve::Service (serve/): the command
// line, loading the models and the shop in the background (/health says 503
// until they are in), the HTTP server (cpp-httplib, a thread per
// connection), the access log, and the shutdown: SIGTERM or SIGINT drains
// (new requests get 503, in-flight ones complete), then the server stops
// and the program exits 0.

#include <atomic>
#include <cctype>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <condition_variable>
#include <string>
#include <thread>
#include <vector>

#include "cli.hpp"
#include "embedrank/cf/ratings.hpp"
#include "embedrank/shop/shopping_guide.hpp"
#include "serve/page_files.hpp"
#include "serve/routes.hpp"

// After Eigen: httplib.h brings <resolv.h>, whose _res macro breaks Eigen's headers.
#include <httplib.h>

namespace {

const char* const kUsage =
    "usage: embedrank-serve --model MODEL.bin [options]\n"
    "models:\n"
    "  --model, --model-id PATH      the embedding model file (required)\n"
    "  --served-model-name NAME      the name answered in \"model\" and /info (default: the file's name)\n"
    "  --reranker PATH               a cross-encoder model file for /rerank and /v1/rerank\n"
    "  --classifier PATH             a sequence classifier for /predict (default: the reranker)\n"
    "shop (the /v1/search, /v1/recommend and /v1/products routes):\n"
    "  --catalogue FILE              a catalogue table (TSV, CSV, JSON Lines); repeat to join by id\n"
    "  --text-template T             the text embedded per product (default \"{title}. {description}\")\n"
    "  --interactions FILE           user<TAB>product_id<TAB>rating[<TAB>...] with a header: the CF log\n"
    "  --state DIR                   open a saved shop state instead of --catalogue\n"
    "  --min-k N                     CF neighbours needed for a prediction (default 20)\n"
    "  --content-weight W            /v1/recommend's default weight of content vs CF (default 0.3)\n"
    "  --refit-interactions N        refit CF after N new interactions (default 1000)\n"
    "the page at / (the shopping guide in a browser):\n"
    "  --shoppers FILE               a table whose first column names shoppers the page offers first\n"
    "                                (header line first; e.g. examples/data/histories.tsv)\n"
    "  --evaluation FILE             the offline evaluation it shows: `shopping_guide --eval-out` TSV\n"
    "serving:\n"
    "  --host, --hostname ADDR       address to bind (default 127.0.0.1)\n"
    "  --port N                      port (default 8080; 0: any free port, printed)\n"
    "  --max-concurrent-requests N   requests in flight before 429 (default 512)\n"
    "  --max-batch-tokens N          tokens per encoder batch (default 16384)\n"
    "  --max-client-batch-size N     inputs per request (default 32)\n"
    "  --batch-wait-us N             how long a batch waits for more requests (default 0)\n"
    "  --payload-limit BYTES         largest request body; larger gets 413 (default 2000000)\n"
    "  --auto-truncate               truncate over-long inputs instead of answering 413\n"
    "  --api-key KEY                 require 'Authorization: Bearer KEY' (not on /health, /metrics, the page)\n"
    "  --cors-allow-origin ORIGIN    send CORS headers for ORIGIN ('*' for any)\n"
    "  --threads N                   encoder threads (default 0: every CPU)\n"
    "  --http-threads N              most connections served at once (default 4096)\n"
    "  --drain-timeout S             longest wait for in-flight requests at shutdown (default 30)\n"
    "  --quiet                       no access log\n";

struct Options {
  std::string model, served_name, reranker, classifier;
  std::vector<std::string> catalogue;
  std::string text_template = "{title}. {description}";
  std::string interactions, state;
  std::string shoppers, evaluation;
  int min_k = 20;
  std::string host = "127.0.0.1";
  int port = 8080;
  std::size_t payload_limit = 2000000;
  std::size_t http_threads = 4096;
  int drain_timeout = 30;
  bool quiet = false;
  serve::ServiceOptions service;
};

Options parse_options(int argc, char** argv) {
  Options o;
  long long wait_us = 0;
  cli::Flags()
      .text("--model", o.model)
      .text("--model-id", o.model)
      .text("--served-model-name", o.served_name)
      .text("--reranker", o.reranker)
      .text("--classifier", o.classifier)
      .value("--catalogue", [&](const std::string&, const std::string& v) { o.catalogue.push_back(v); })
      .text("--text-template", o.text_template)
      .text("--interactions", o.interactions)
      .text("--state", o.state)
      .text("--shoppers", o.shoppers)
      .text("--evaluation", o.evaluation)
      .integer("--min-k", o.min_k, 1, 1000000)
      .number("--content-weight", o.service.content_weight, 0.0, 1.0)
      .integer("--refit-interactions", o.service.refit_interactions, 1, 1LL << 40)
      .text("--host", o.host)
      .text("--hostname", o.host)
      .integer("--port", o.port, 0, 65535)
      .integer("--max-concurrent-requests", o.service.max_concurrent_requests, 1, 1000000)
      .integer("--max-batch-tokens", o.service.batcher.max_batch_tokens, 1, 1LL << 30)
      .integer("--max-client-batch-size", o.service.max_client_batch_size, 1, 1000000)
      .integer("--batch-wait-us", wait_us, 0, 10000000)
      .integer("--payload-limit", o.payload_limit, 1, 1LL << 40)
      .toggle("--auto-truncate", o.service.auto_truncate)
      .text("--api-key", o.service.api_key)
      .text("--cors-allow-origin", o.service.cors_allow_origin)
      .threads("--threads", o.service.batcher.threads)
      .integer("--http-threads", o.http_threads, 1, 100000)
      .integer("--drain-timeout", o.drain_timeout, 0, 3600)
      .toggle("--quiet", o.quiet)
      .parse(argc, argv);
  if (o.model.empty()) throw cli::UsageError{"--model is required"};
  if (!o.state.empty() && !o.catalogue.empty()) throw cli::UsageError{"--state and --catalogue exclude each other"};
  if (!o.interactions.empty() && o.catalogue.empty() && o.state.empty())
    throw cli::UsageError{"--interactions needs a shop (--catalogue or --state)"};
  o.service.batcher.wait = std::chrono::microseconds(wait_us);
  o.service.threads = o.service.batcher.threads;
  if (o.served_name.empty()) {
    const std::size_t slash = o.model.find_last_of('/');
    o.served_name = slash == std::string::npos ? o.model : o.model.substr(slash + 1);
  }
  o.service.model_id = o.served_name;
  o.service.page = serve::embedded_page();
  return o;
}

/// Everything --model, --reranker, --classifier and the shop flags name, loaded.
serve::Loaded load(const Options& o) {
  serve::Loaded loaded;
  loaded.model_path = o.model;
  loaded.embedder = embedrank::model::Embedder::open(o.model);
  if (!o.reranker.empty()) loaded.reranker = embedrank::model::SequenceClassifier::open(o.reranker);
  if (!o.classifier.empty()) loaded.classifier = embedrank::model::SequenceClassifier::open(o.classifier);
  embedrank::ShoppingGuideOptions guide_options;
  guide_options.knn.min_k = o.min_k;
  guide_options.threads = o.service.threads;
  if (!o.state.empty()) {
    loaded.guide = embedrank::ShoppingGuide::open(o.state, loaded.embedder, guide_options);
  } else if (!o.catalogue.empty()) {
    embedrank::CatalogueOptions catalogue_options;
    catalogue_options.text_template = o.text_template;
    embedrank::Catalogue catalogue = embedrank::Catalogue::read(o.catalogue, catalogue_options);
    loaded.guide = std::make_unique<embedrank::ShoppingGuide>(loaded.embedder, std::move(catalogue), guide_options);
  }
  if (!o.interactions.empty()) {
    embedrank::cf::RatingsFileOptions file;
    file.header = true;
    loaded.interactions = embedrank::cf::read_rating_triplets(o.interactions, file);
    loaded.guide->fit_collaborative_filtering(embedrank::cf::Ratings::from_triplets(loaded.interactions, embedrank::cf::DuplicatePolicy::LastWins, o.interactions));
  }
  if (!o.shoppers.empty()) loaded.shoppers = serve::read_shoppers(o.shoppers);
  if (!o.evaluation.empty()) loaded.evaluation = serve::read_evaluation(o.evaluation);
  return loaded;
}

/// httplib's task queue with a thread per connection, started when one is
/// needed and kept for the next: no connection waits behind a busy fixed
/// pool (which would turn overload into timeouts instead of 429s), and no
/// thread exists before a connection needs it. Past `max_threads`
/// connections wait for a thread.
class ConnectionThreads : public httplib::TaskQueue {
 public:
  explicit ConnectionThreads(std::size_t max_threads) : max_threads_(max_threads) {}

  void enqueue(std::function<void()> fn) override {
    std::unique_lock<std::mutex> lock(mutex_);
    jobs_.push_back(std::move(fn));
    if (idle_ < jobs_.size() && threads_.size() < max_threads_) {
      threads_.emplace_back([this] { work(); });
    } else {
      wake_.notify_one();
    }
  }

  void shutdown() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : threads_) t.join();
  }

 private:
  void work() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      ++idle_;
      wake_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      --idle_;
      if (jobs_.empty()) return;  // stopping
      std::function<void()> fn = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      fn();
      lock.lock();
    }
  }

  std::size_t max_threads_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  std::size_t idle_ = 0;
  bool stopping_ = false;
};

serve::Request request_of(const httplib::Request& req) {
  serve::Request r;
  r.method = req.method;
  r.path = req.path;
  r.body = req.body;
  for (const auto& [name, value] : req.headers) {
    std::string lower = name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers.emplace(std::move(lower), value);
  }
  for (const auto& [name, value] : req.params) r.params.emplace(name, value);
  return r;
}

void access_log(const httplib::Request& req, int status, std::size_t bytes, double ms) {
  char when[32];
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  std::fprintf(stderr, "%s %s %s %s %d %zuB %.2fms\n", when, req.remote_addr.c_str(), req.method.c_str(),
               req.path.c_str(), status, bytes, ms);
}

int run(const Options& o) {
  // SIGTERM and SIGINT are taken by one thread (sigwait); block them in
  // every thread before any starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  serve::Service service(o.service);
  httplib::Server server;
  server.new_task_queue = [n = o.http_threads] { return new ConnectionThreads(n); };
  server.set_payload_max_length(o.payload_limit);
  server.set_keep_alive_max_count(100000);
  server.set_tcp_nodelay(true);  // headers and body go out as separate writes: without this, Nagle and delayed ACKs add 40 ms
  server.set_read_timeout(30, 0);
  const bool quiet = o.quiet;
  const auto handler = [&service, quiet](const httplib::Request& req, httplib::Response& res) {
    const auto start = std::chrono::steady_clock::now();
    serve::Response r = service.handle(request_of(req));
    res.status = r.status;
    for (const auto& [name, value] : r.headers) res.set_header(name.c_str(), value);
    if (!r.content_type.empty()) res.set_content(std::move(r.body), r.content_type.c_str());
    if (!quiet)
      access_log(req, res.status, res.body.size(),
                 std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  };
  for (const char* pattern : {".*"}) {
    server.Get(pattern, handler);
    server.Post(pattern, handler);
    server.Put(pattern, handler);
    server.Delete(pattern, handler);
    server.Options(pattern, handler);
  }
  // httplib's own refusals (413 past --payload-limit, 400 for bad HTTP) get a JSON body too.
  server.set_error_handler(httplib::Server::HandlerWithResponse(
      [&service, quiet](const httplib::Request& req, httplib::Response& res) -> httplib::Server::HandlerResponse {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    const std::string message = res.status == 413 ? "the request body is larger than --payload-limit"
                                                  : "the request could not be read as HTTP";
    const serve::ErrorStyle style =
        req.path.rfind("/v1/", 0) == 0 ? serve::ErrorStyle::OpenAI : serve::ErrorStyle::Tei;
    res.set_content(serve::error_body(serve::HttpError{res.status, res.status == 413 ? "validation" : "bad_request",
                                                       message},
                                      style),
                    "application/json");
    service.metrics().count_request("unmatched", res.status, 0.0);
    if (!quiet) access_log(req, res.status, res.body.size(), 0.0);
    return httplib::Server::HandlerResponse::Handled;
  }));

  const int port = o.port == 0 ? server.bind_to_any_port(o.host) : (server.bind_to_port(o.host, o.port) ? o.port : -1);
  if (port < 0) throw embedrank::FileError("bind", o.host + ":" + std::to_string(o.port) + ": cannot listen there");
  std::printf("embedrank-serve: listening on http://%s:%d (loading %s)\n", o.host.c_str(), port, o.model.c_str());
  std::fflush(stdout);

  std::exception_ptr load_error;
  std::atomic<bool> load_failed{false};
  std::thread loader([&] {
    try {
      service.load(load(o));
      std::printf("embedrank-serve: ready\n");
      std::fflush(stdout);
    } catch (...) {
      load_error = std::current_exception();
      load_failed = true;
      server.stop();
    }
  });

  std::thread signal_waiter([&] {
    int signal = 0;
    sigwait(&signals, &signal);
    if (load_failed) return;  // woken by the main thread after a failed load
    std::fprintf(stderr, "embedrank-serve: %s, draining\n", signal == SIGTERM ? "SIGTERM" : "SIGINT");
    service.drain();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(o.drain_timeout);
    while (service.in_flight() > 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    server.stop();
  });

  server.listen_after_bind();
  loader.join();
  if (load_error) {
    pthread_kill(signal_waiter.native_handle(), SIGTERM);  // wake it; it stops nothing more
    signal_waiter.join();
    std::rethrow_exception(load_error);
  }
  signal_waiter.join();
  service.stop();
  std::fprintf(stderr, "embedrank-serve: stopped\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return cli::main("embedrank-serve", kUsage, argc, argv, parse_options, run);
}
