#pragma once
// Cross-encoder and classifier routes: TEI's POST /rerank and POST /predict,
// Cohere/Jina's POST /v1/rerank. The reranker is a sequence classifier with
// one label (a sentence-transformers CrossEncoder); a score is
// CrossEncoder.predict's (the model's activation over the logit, sigmoid by
// default), or the raw logit with raw_scores. The pairs of one request run
// as one packed batch in the request's thread.

#include <algorithm>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "serve/service.hpp"

namespace serve {

namespace detail {

inline const embedrank::model::SequenceClassifier& reranker(Service& service) {
  if (!service.loaded().reranker)
    throw HttpError{400, "validation", "this server has no reranker model (start it with --reranker MODEL)"};
  return *service.loaded().reranker;
}

/// Scores of (query, text) for every text, best first as (index, score).
inline std::vector<std::pair<std::size_t, float>> rerank(Service& service, const std::string& query,
                                                         const std::vector<std::string>& texts, bool raw_scores) {
  const auto& model = reranker(service);
  if (model.labels().size() != 1)
    throw HttpError{400, "validation",
                    "the reranker model has " + std::to_string(model.labels().size()) + " labels, a reranker has one"};
  std::vector<std::pair<std::string, std::string>> pairs;
  pairs.reserve(texts.size());
  for (const std::string& t : texts) pairs.emplace_back(query, t);
  auto lease = service.workspaces().lend();
  embedrank::MatrixF scores;
  try {
    scores = raw_scores ? model.pair_logits(pairs, lease.ws->encoder, pairs.size())
                        : model.predict(pairs, lease.ws->encoder, pairs.size());
  } catch (const embedrank::InputError& e) {
    throw HttpError{422, "validation", e.what()};
  }
  std::vector<std::pair<std::size_t, float>> ranked;
  for (std::size_t i = 0; i < texts.size(); ++i) ranked.emplace_back(i, scores(static_cast<Eigen::Index>(i), 0));
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  return ranked;
}

}  // namespace detail

inline Response tei_rerank(Service& service, const Request& request, const std::string&) {
  const Json body = parse_object(request.body);
  const std::string query = require_string(body, "query");
  if (query.empty()) throw HttpError{400, "empty", "'query' is empty"};
  const std::vector<std::string> texts = require_strings(body, "texts", service.options().max_client_batch_size);
  const bool raw = get_bool(body, "raw_scores", false);
  const bool return_text = get_bool(body, "return_text", false);
  get_bool(body, "truncate", false);  // pairs are always truncated to the model's length, as CrossEncoder does
  Json out = Json::array();
  for (const auto& [index, score] : detail::rerank(service, query, texts, raw)) {
    Json item = {{"index", index}, {"score", score}};
    if (return_text) item["text"] = texts[index];
    out.push_back(std::move(item));
  }
  return json_response(out);
}

inline Response cohere_rerank(Service& service, const Request& request, const std::string&) {
  const Json body = parse_object(request.body);
  const std::string query = require_string(body, "query");
  if (query.empty()) throw HttpError{400, "empty", "'query' is empty"};
  const auto it = body.find("documents");
  if (it == body.end() || !it->is_array())
    throw HttpError{422, "validation", "'documents' must be an array of strings or of {\"text\": ...} objects"};
  if (it->empty()) throw HttpError{400, "empty", "'documents' is empty"};
  if (it->size() > service.options().max_client_batch_size)
    throw HttpError{413, "validation",
                    "'documents' has " + std::to_string(it->size()) + " items, at most " +
                        std::to_string(service.options().max_client_batch_size) +
                        " are taken (--max-client-batch-size)"};
  std::vector<std::string> texts;
  for (const Json& d : *it) {
    if (d.is_string())
      texts.push_back(d.get<std::string>());
    else if (d.is_object() && d.contains("text") && d["text"].is_string())
      texts.push_back(d["text"].get<std::string>());
    else
      throw HttpError{422, "validation", "'documents' must be an array of strings or of {\"text\": ...} objects"};
  }
  const auto top_n = static_cast<std::size_t>(
      get_integer(body, "top_n", static_cast<long long>(texts.size()), 1, static_cast<long long>(texts.size())));
  const bool return_documents = get_bool(body, "return_documents", false);
  get_string(body, "model", "");
  Json results = Json::array();
  for (const auto& [index, score] : detail::rerank(service, query, texts, false)) {
    if (results.size() == top_n) break;
    Json item = {{"index", index}, {"relevance_score", score}};
    if (return_documents) item["document"] = {{"text", texts[index]}};
    results.push_back(std::move(item));
  }
  return json_response(Json{{"model", service.options().model_id}, {"results", results}});
}

inline Response tei_predict(Service& service, const Request& request, const std::string&) {
  const Json body = parse_object(request.body);
  const auto& loaded = service.loaded();
  const auto* model = loaded.classifier ? loaded.classifier.get() : loaded.reranker.get();
  if (!model) throw HttpError{400, "validation", "this server has no classifier model (start it with --classifier MODEL)"};
  const bool raw = get_bool(body, "raw_scores", false);
  const auto it = body.find("inputs");
  if (it == body.end() || it->is_null()) throw HttpError{422, "validation", "'inputs' is required"};
  // TEI's shapes: "text" | ["first", "second"] (one pair) | [sequence, ...] (a batch)
  const char* expected = "a string, a pair [first, second] or an array of those";
  const auto is_pair = [](const Json& j) { return j.is_array() && j.size() == 2 && j[0].is_string() && j[1].is_string(); };
  std::vector<Json> sequences;
  bool batch = false;
  if (it->is_string() || is_pair(*it)) {
    sequences.push_back(*it);
  } else if (it->is_array()) {
    if (it->empty()) throw HttpError{400, "empty", "'inputs' is empty"};
    batch = true;
    for (const Json& s : *it) {
      if (!s.is_string() && !is_pair(s)) throw wrong_type("inputs", expected);
      sequences.push_back(s);
    }
  } else {
    throw wrong_type("inputs", expected);
  }
  if (sequences.size() > service.options().max_client_batch_size)
    throw HttpError{413, "validation",
                    "'inputs' has " + std::to_string(sequences.size()) + " items, at most " +
                        std::to_string(service.options().max_client_batch_size) + " are taken (--max-client-batch-size)"};
  auto lease = service.workspaces().lend();
  Json out = Json::array();
  for (const Json& s : sequences) {
    embedrank::MatrixF scores;
    try {
      if (s.is_string()) {
        scores = raw ? model->logits({s.get<std::string>()}, lease.ws->encoder)
                     : model->classify({s.get<std::string>()}, lease.ws->encoder);
      } else {
        scores = model->pair_logits({{s[0].get<std::string>(), s[1].get<std::string>()}}, lease.ws->encoder);
        if (!raw) embedrank::model::apply_score_function(model->classify_function(), scores);
      }
    } catch (const embedrank::InputError& e) {
      throw HttpError{422, "validation", e.what()};
    }
    Json labels = Json::array();
    for (const auto& ls : model->ranked_labels(scores, 0)) labels.push_back({{"score", ls.score}, {"label", ls.label}});
    out.push_back(std::move(labels));
  }
  return json_response(batch ? out : out[0]);
}

}  // namespace serve
