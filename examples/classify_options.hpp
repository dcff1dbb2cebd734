#pragma once
// embedrank-classify's command line: usage text, options and their parser, shared by the
// program (embedrank-classify.cpp) and the command-line fuzz target (tests/fuzz/).

#include <cstddef>
#include <string>

#include "cli.hpp"

namespace classify_cli {

inline const char* const kUsage =
    "usage: embedrank-classify --model FILE [--top K] [--batch N] [--threads N]\n"
    "       embedrank-classify --model FILE --tokens [--aggregation none|simple|first|average|max]\n"
    "       classifies each stdin line with a sequence-classification model and prints\n"
    "       {\"labels\": [{\"label\": ..., \"score\": ...}, ...]} per line, best first: softmax\n"
    "       over the labels, a sigmoid per label for multi-label models, the raw value for\n"
    "       regression (as transformers' text-classification pipeline); with --tokens, a\n"
    "       token-classification model's entity spans {\"entities\": [{\"label\", \"score\",\n"
    "       \"start\", \"end\", \"byte_start\", \"byte_end\", \"text\"}, ...]} (default: simple)\n";

using cli::UsageError;

struct Options {
  std::string model, aggregation = "simple";
  bool tokens = false;
  std::size_t top = 0;  // 0: every label
  std::size_t batch = 32;
  int threads = 0;
};

inline Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") throw UsageError{""};
    if (flag == "--tokens") {
      o.tokens = true;
      continue;
    }
    if (i + 1 >= argc) throw UsageError{flag.rfind("--", 0) == 0 ? flag + " needs a value" : "unexpected argument '" + flag + "'"};
    const std::string value = argv[++i];
    if (flag == "--model") o.model = value;
    else if (flag == "--aggregation") o.aggregation = value;
    else if (flag == "--top") o.top = static_cast<std::size_t>(cli::integer(flag, value, 1, 1 << 20));
    else if (flag == "--batch") o.batch = static_cast<std::size_t>(cli::integer(flag, value, 1, 1 << 16));
    else if (flag == "--threads") o.threads = static_cast<int>(cli::integer(flag, value, 0, cli::kMaxThreads));
    else throw UsageError{"unknown option " + flag};
  }
  if (o.model.empty()) throw UsageError{"--model FILE is required"};
  if (o.aggregation != "none" && o.aggregation != "simple" && o.aggregation != "first" && o.aggregation != "average" &&
      o.aggregation != "max")
    throw UsageError{"--aggregation must be none, simple, first, average or max, got '" + o.aggregation + "'"};
  if (o.top > 0 && o.tokens) throw UsageError{"--top applies to labels, not to --tokens"};
  return o;
}

}  // namespace classify_cli
