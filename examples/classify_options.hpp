#pragma once
// embedrank-classify's command line: usage text, options and their parser, shared by the
// program (embedrank-classify.cpp) and the command-line fuzz target (tests/fuzz/).

#include <cstddef>
#include <string>

#include "cli.hpp"
#include "embedrank/model/token_classifier.hpp"

namespace classify_cli {

inline const char* const kUsage =
    "usage: embedrank-classify --model FILE [--top K] [--batch N] [--threads N]\n"
    "       embedrank-classify --model FILE --tokens [--aggregation none|simple|first|average|max] [--stride N]\n"
    "       classifies each stdin line with a sequence-classification model and prints\n"
    "       {\"labels\": [{\"label\": ..., \"score\": ...}, ...]} per line, best first: softmax\n"
    "       over the labels, a sigmoid per label for multi-label models, the raw value for\n"
    "       regression (as transformers' text-classification pipeline); with --tokens, a\n"
    "       token-classification model's entity spans {\"entities\": [{\"label\", \"score\",\n"
    "       \"start\", \"end\", \"byte_start\", \"byte_end\", \"text\"}, ...]} (default: simple); --stride N\n"
    "       reads a line longer than the model's window in windows overlapping by N tokens\n"
    "       (the pipeline's stride; not with --aggregation none), else it is truncated\n";

using cli::UsageError;

struct Options {
  std::string model;
  embedrank::model::Aggregation aggregation = embedrank::model::Aggregation::Simple;
  bool tokens = false;
  std::size_t top = 0;  // 0: every label
  std::size_t batch = 32;
  std::size_t stride = 0;  // 0: truncate long lines
  int threads = 0;
};

inline Options parse_options(int argc, char** argv) {
  Options o;
  cli::Flags()
      .text("--model", o.model)
      .toggle("--tokens", o.tokens)
      .choice("--aggregation", o.aggregation)
      .integer("--top", o.top, 1, 1 << 20)
      .integer("--batch", o.batch, 1, 1 << 16)
      .integer("--stride", o.stride, 1, 1 << 16)
      .threads("--threads", o.threads)
      .parse(argc, argv);
  if (o.model.empty()) throw UsageError{"--model FILE is required"};
  if (o.top > 0 && o.tokens) throw UsageError{"--top applies to labels, not to --tokens"};
  if (o.stride > 0 && !o.tokens) throw UsageError{"--stride applies to --tokens"};
  if (o.stride > 0 && o.aggregation == embedrank::model::Aggregation::None)
    throw UsageError{"--stride needs an --aggregation other than none"};
  return o;
}

}  // namespace classify_cli
