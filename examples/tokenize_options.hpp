#pragma once
// embedrank-tokenize's command line: usage text, options and their parser, shared by the
// program (embedrank-tokenize.cpp) and the command-line fuzz target (tests/fuzz/).

#include <cstddef>
#include <string>

#include "cli.hpp"

namespace tokenize_cli {

inline const char* const kUsage =
    "usage: embedrank-tokenize --model FILE [--no-special] [--pair] [--json] [--offsets] [--max-length N]\n"
    "                          [INPUT]\n"
    "       reads lines (with --pair: FIRST<TAB>SECOND) from INPUT (default: stdin), prints their\n"
    "       token ids;\n"
    "       --offsets adds each token's character and byte offsets (JSON)\n";

using cli::UsageError;

struct Options {
  std::string model, input = "-";
  bool special = true, pair = false, json = false, offsets = false;
  std::size_t max_length = 0;
};

inline Options parse_options(int argc, char** argv) {
  Options options;
  bool have_input = false;
  cli::Flags()
      .text("--model", options.model)
      .toggle("--no-special", options.special, false)
      .toggle("--pair", options.pair)
      .toggle("--json", options.json)
      .toggle("--offsets", [&] { options.json = options.offsets = true; })
      .integer("--max-length", options.max_length, 0, 1 << 20)
      .positional([&](const std::string& input) {
        if (have_input) throw UsageError{"more than one INPUT given"};
        options.input = input;
        have_input = true;
      })
      .parse(argc, argv);
  if (options.model.empty()) throw UsageError{"--model is required"};
  return options;
}

}  // namespace tokenize_cli
