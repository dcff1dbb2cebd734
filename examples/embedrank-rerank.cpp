// embedrank-rerank: cross-encoder scores of text pairs with a model file
// converted from a sentence-transformers CrossEncoder (or any
// *ForSequenceClassification checkpoint).
//
//   embedrank-rerank --model FILE [--query TEXT --candidates FILE [--top K]]
//                    [--format tsv|json] [--batch N] [--threads N]
//
// Without --query: each stdin line "QUERY<TAB>TEXT" gets a line with its
// score (CrossEncoder.predict: the model's activation applied; models with
// several labels print one score per label, tab-separated), or with
// --format json {"scores": [...]}. With --query: each line of --candidates is
// TEXT or ID<TAB>TEXT (the id defaults to the line number, from 1); all are
// scored against the query and printed best first (ties in file order) as
// "RANK<TAB>ID<TAB>SCORE<TAB>TEXT", or as one JSON array of
// {"id", "score", "text"}; --top K keeps the first K. Reranking a candidate
// list needs a model with one score per pair.
// Exit status: 0 on success, 1 on a data or file error, 2 on a usage error.

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "cli.hpp"
#include "embedrank/core/error.hpp"
#include "embedrank/model/sequence_classifier.hpp"
#include "rerank_options.hpp"

namespace {

using namespace rerank_cli;

std::string format_score(float score) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.9g", static_cast<double>(score));
  return buffer;
}

// stdin QUERY<TAB>TEXT lines, a slice at a time
void score_pairs(const embedrank::model::SequenceClassifier& classifier, embedrank::model::EncoderWorkspace<float>& ws,
                 const Options& o) {
  std::size_t line_number = 0;
  std::vector<std::pair<std::string, std::string>> pairs;
  const auto flush = [&] {
    const embedrank::MatrixF scores = classifier.predict(pairs, ws, o.batch);  // (pairs, NL)
    std::string out;
    for (Eigen::Index r = 0; r < scores.rows(); ++r) {
      if (o.format == "json") {
        cli::Json row = cli::Json::array();
        for (Eigen::Index c = 0; c < scores.cols(); ++c) row.push_back(scores(r, c));
        out += cli::json_line({{"scores", std::move(row)}}) + "\n";
        continue;
      }
      for (Eigen::Index c = 0; c < scores.cols(); ++c) out += (c ? "\t" : "") + format_score(scores(r, c));
      out += "\n";
    }
    std::cout << out;
    pairs.clear();
  };
  for (std::string line; cli::read_line(std::cin, line);) {
    ++line_number;
    const std::size_t tab = line.find('\t');
    if (tab == std::string::npos)
      throw embedrank::InputError("cli.no_pair", "stdin line " + std::to_string(line_number) +
                                                      ": expected QUERY<TAB>TEXT, found no tab");
    pairs.emplace_back(line.substr(0, tab), line.substr(tab + 1));
    if (pairs.size() == 256) flush();
  }
  if (!pairs.empty()) flush();
}

// every candidate against one query, best first
void rank_candidates(const embedrank::model::SequenceClassifier& classifier,
                     embedrank::model::EncoderWorkspace<float>& ws, const Options& o) {
  if (classifier.labels().size() != 1)
    throw embedrank::InputError("rerank.not_a_reranker",
                                o.model + ": the model gives " + std::to_string(classifier.labels().size()) +
                                    " scores per pair; ranking candidates needs one (a CrossEncoder)");
  std::vector<std::string> ids;
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const std::string& line : cli::read_lines(o.candidates)) {
    const std::size_t tab = line.find('\t');
    ids.push_back(tab == std::string::npos ? std::to_string(ids.size() + 1) : line.substr(0, tab));
    pairs.emplace_back(o.query, tab == std::string::npos ? line : line.substr(tab + 1));
  }
  const embedrank::MatrixF scores = classifier.predict(pairs, ws, o.batch);  // (candidates, 1)
  std::vector<std::size_t> order(pairs.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return scores(static_cast<Eigen::Index>(a), 0) > scores(static_cast<Eigen::Index>(b), 0);
  });
  if (o.top > 0 && order.size() > o.top) order.resize(o.top);
  if (o.format == "json") {
    cli::Json ranked = cli::Json::array();
    for (const std::size_t i : order)
      ranked.push_back({{"id", ids[i]}, {"score", scores(static_cast<Eigen::Index>(i), 0)}, {"text", pairs[i].second}});
    std::cout << cli::json_line(ranked) << '\n';
    return;
  }
  std::string out;
  for (std::size_t rank = 0; rank < order.size(); ++rank) {
    const std::size_t i = order[rank];
    out += std::to_string(rank + 1) + "\t" + ids[i] + "\t" + format_score(scores(static_cast<Eigen::Index>(i), 0)) +
           "\t" + pairs[i].second + "\n";
  }
  std::cout << out;
}

int run(const Options& o) {
  const auto classifier = embedrank::model::SequenceClassifier::open(o.model);
  embedrank::model::EncoderWorkspace<float> ws(o.threads);
  std::ios::sync_with_stdio(false);
  if (o.query_given) rank_candidates(*classifier, ws, o);
  else score_pairs(*classifier, ws, o);
  cli::check_written(std::cout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return cli::main("embedrank-rerank", kUsage, argc, argv, parse_options, run); }
