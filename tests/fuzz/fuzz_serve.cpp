// libFuzzer target of embedrank-serve's request handling (server/serve/):
// arbitrary bodies to every route through serve::Service::handle, no socket.
// Byte 0 picks the route; the rest is the body (and, for the routes with a
// product id, the id up to the first newline). The service runs a tiny
// embedder, a tiny CrossEncoder as reranker and classifier, and a small
// shop that the fuzzed PUT/DELETE/bulk routes change as they go.
// Every answer must be a status the service documents (never 500, the
// status of an unexpected exception) with a JSON body, or 204 with none.
// Built and run by scripts/fuzz.sh (the converted tiny models come from
// `ctest -R convert_fixtures|convert_head_fixtures`, which it runs).
#include <cstdint>
#include <set>
#include <string>

#include "fuzz/fuzz_support.hpp"
#include "serve/routes.hpp"

namespace {

serve::Service& service() {
  static serve::Service* s = [] {
    serve::ServiceOptions options;
    options.max_client_batch_size = 16;
    options.refit_interactions = 8;
    options.threads = 1;
    options.batcher.threads = 1;
    auto* created = new serve::Service(options);
    serve::Loaded loaded;
    const std::string work = EMBEDRANK_TEST_WORK_DIR;
    loaded.embedder = embedrank::model::Embedder::open(work + "/models/bert_gelu_mean.f32.bin");
    loaded.reranker = embedrank::model::SequenceClassifier::open(work + "/heads/bert_cross_encoder.f32.bin");
    loaded.classifier = embedrank::model::SequenceClassifier::open(work + "/heads/bert_seq_cls.f32.bin");
    std::vector<embedrank::Product> products;
    const char* titles[] = {"red summer dress", "Pacewell running shoes", "green tea", "USB-C 65W charger",
                            "红色连衣裙", "wireless earbuds"};
    for (int i = 0; i < 6; ++i) {
      embedrank::Product p;
      p.id = "P" + std::to_string(i);
      p.title = titles[i];
      p.brand = i % 2 ? "Pacewell" : "Orla";
      p.category = i < 2 ? "Clothing" : "Home";
      p.price = 10.0 * (i + 1);
      products.push_back(p);
    }
    embedrank::ShoppingGuideOptions guide_options;
    guide_options.threads = 1;
    guide_options.knn.min_k = 1;
    loaded.guide = std::make_unique<embedrank::ShoppingGuide>(loaded.embedder, products, guide_options);
    for (int u = 0; u < 4; ++u)
      for (int i = 0; i < 6; ++i)
        loaded.interactions.push_back({"u" + std::to_string(u), "P" + std::to_string(i), 1.0 + (u * 7 + i * 3) % 5, 0});
    loaded.guide->fit_collaborative_filtering(embedrank::cf::Ratings::from_triplets(loaded.interactions));
    created->load(std::move(loaded));
    return created;
  }();
  return *s;
}

struct Target {
  const char* method;
  const char* path;  // "{id}" is replaced by the id from the input
};

const Target kTargets[] = {
    {"POST", "/v1/embeddings"}, {"POST", "/embed"},        {"POST", "/tokenize"},      {"POST", "/rerank"},
    {"POST", "/predict"},       {"POST", "/v1/rerank"},    {"POST", "/v1/search"},     {"POST", "/v1/recommend"},
    {"GET", "/v1/products/{id}"}, {"GET", "/v1/products/{id}/similar"}, {"PUT", "/v1/products/{id}"},
    {"DELETE", "/v1/products/{id}"}, {"POST", "/v1/products"}, {"POST", "/v1/interactions"}, {"GET", "/info"},
    {"GET", "/health"},         {"GET", "/metrics"},       {"GET", "/v1/models"},      {"OPTIONS", "/embed"},
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const Target& target = kTargets[data[0] % (sizeof kTargets / sizeof kTargets[0])];
  std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
  serve::Request request;
  request.method = target.method;
  request.path = target.path;
  if (const std::size_t brace = request.path.find("{id}"); brace != std::string::npos) {
    const std::size_t newline = rest.find('\n');
    const std::string id = rest.substr(0, newline);
    rest = newline == std::string::npos ? "" : rest.substr(newline + 1);
    request.path.replace(brace, 4, id);
    request.params["k"] = std::to_string(1 + data[0] % 7);
  }
  request.body = rest;
  const serve::Response response = service().handle(request);
  static const std::set<int> documented = {200, 201, 202, 204, 400, 401, 404, 405, 413, 422, 424, 429, 503};
  fuzz::check(documented.count(response.status) == 1, "a documented status (500: an unexpected exception)");
  if (response.status == 204) return 0;
  if (response.content_type == "application/json") {
    fuzz::check(nlohmann::json::accept(response.body), "a JSON body");
  } else {
    fuzz::check(response.content_type.rfind("text/plain", 0) == 0, "JSON, or the metrics text");
  }
  return 0;
}
