// embedrank-classify: labels and their scores for each stdin line with a
// model file converted from a *ForSequenceClassification checkpoint (an intent
// classifier, a category classifier, ...).
//
//   embedrank-classify --model FILE [--top K] [--batch N] [--threads N]
//   embedrank-classify --model FILE --tokens [--aggregation none|simple|first|average|max] [--stride N]
//
// Prints one JSON object per input line,
//   {"labels": [{"label": "...", "score": 0.93}, ...]}
// best first (ties in label order), as transformers' text-classification
// pipeline scores them: softmax over the labels, a sigmoid per label for
// multi-label models (and a single logit), the raw value for regression.
// --top K keeps the first K labels. With --tokens the model is a token
// classifier and each line gets its entity spans, as the token-classification
// pipeline with that aggregation_strategy (model/token_classifier.hpp):
//   {"entities": [{"label": "COLOR", "score": 0.91, "start": 0, "end": 3,
//                  "byte_start": 0, "byte_end": 3, "text": "red"}, ...]}
// (start/end in characters, byte_start/byte_end in UTF-8 bytes of the line).
// A trailing "\r" is removed from each line.
// Exit status: 0 on success, 1 on a data or file error, 2 on a usage error.

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "classify_options.hpp"
#include "cli.hpp"
#include "embedrank/core/error.hpp"
#include "embedrank/model/sequence_classifier.hpp"
#include "embedrank/model/token_classifier.hpp"

namespace {

using namespace classify_cli;

int run_tokens(const Options& o) {
  const auto classifier = embedrank::model::TokenClassifier::open(o.model);
  embedrank::model::EncoderWorkspace<float> ws(o.threads);
  std::ios::sync_with_stdio(false);
  for (std::string line; cli::read_line(std::cin, line);) {
    cli::Json entities = cli::Json::array();
    for (const auto& e : classifier->entities(line, ws, o.aggregation, o.stride))
      entities.push_back({{"label", e.label}, {"score", e.score}, {"start", e.begin}, {"end", e.end},
                          {"byte_start", e.byte_begin}, {"byte_end", e.byte_end}, {"text", e.text}});
    std::cout << cli::json_line({{"entities", std::move(entities)}}) << '\n';
  }
  cli::check_written(std::cout);
  return 0;
}

int run(const Options& o) {
  if (o.tokens) return run_tokens(o);
  const auto classifier = embedrank::model::SequenceClassifier::open(o.model);
  embedrank::model::EncoderWorkspace<float> ws(o.threads);
  std::ios::sync_with_stdio(false);
  std::vector<std::string> texts;
  const auto flush = [&] {
    const embedrank::MatrixF scores = classifier->classify(texts, ws, o.batch);  // (texts, labels)
    std::string out;
    for (Eigen::Index r = 0; r < scores.rows(); ++r) {
      auto ranked = classifier->ranked_labels(scores, r);
      if (o.top > 0 && ranked.size() > o.top) ranked.resize(o.top);
      cli::Json labels = cli::Json::array();
      for (const auto& label : ranked) labels.push_back({{"label", label.label}, {"score", label.score}});
      out += cli::json_line({{"labels", std::move(labels)}}) + "\n";
    }
    std::cout << out;
    texts.clear();
  };
  for (std::string line; cli::read_line(std::cin, line);) {
    texts.push_back(line);
    if (texts.size() == 256) flush();
  }
  if (!texts.empty()) flush();
  cli::check_written(std::cout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return cli::main("embedrank-classify", kUsage, argc, argv, parse_options, run); }
