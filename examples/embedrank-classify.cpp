// embedrank-classify: labels and their scores for each stdin line with a
// model file converted from a *ForSequenceClassification checkpoint (an intent
// classifier, a category classifier, ...).
//
//   embedrank-classify --model FILE [--top K] [--batch N] [--threads N]
//
// Prints one JSON object per input line,
//   {"labels": [{"label": "...", "score": 0.93}, ...]}
// best first (ties in label order), as transformers' text-classification
// pipeline scores them: softmax over the labels, a sigmoid per label for
// multi-label models (and a single logit), the raw value for regression.
// --top K keeps the first K labels. A trailing "\r" is removed from each line.
// Exit status: 0 on success, 1 on a data or file error, 2 on a usage error.

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "classify_options.hpp"
#include "cli.hpp"
#include "embedrank/core/error.hpp"
#include "embedrank/model/sequence_classifier.hpp"

namespace {

using namespace classify_cli;

int run(const Options& o) {
  const auto classifier = embedrank::model::SequenceClassifier::open(o.model);
  embedrank::model::EncoderWorkspace<float> ws(o.threads);
  std::ios::sync_with_stdio(false);
  std::vector<std::string> texts;
  const auto flush = [&] {
    const embedrank::MatrixF scores = classifier->classify(texts, ws, o.batch);  // (texts, labels)
    std::string out;
    char number[32];
    for (Eigen::Index r = 0; r < scores.rows(); ++r) {
      auto ranked = classifier->ranked_labels(scores, r);
      if (o.top > 0 && ranked.size() > o.top) ranked.resize(o.top);
      out += "{\"labels\": [";
      for (std::size_t i = 0; i < ranked.size(); ++i) {
        out += i ? ", {\"label\": " : "{\"label\": ";
        cli::append_json_string(ranked[i].label, out);
        std::snprintf(number, sizeof number, "%.9g", static_cast<double>(ranked[i].score));
        out += std::string(", \"score\": ") + number + "}";
      }
      out += "]}\n";
    }
    std::cout << out;
    texts.clear();
  };
  for (std::string line; std::getline(std::cin, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    texts.push_back(line);
    if (texts.size() == 256) flush();
  }
  if (!texts.empty()) flush();
  std::cout.flush();
  if (!std::cout) throw embedrank::FileError("write", "stdout: write failed");
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return cli::main("embedrank-classify", kUsage, argc, argv, parse_options, run); }
