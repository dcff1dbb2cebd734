#pragma once
// embedrank-tokenize's command line: usage text, options and their parser, shared by the
// program (embedrank-tokenize.cpp) and the command-line fuzz target (tests/fuzz/).

#include <cstddef>
#include <string>

#include "cli.hpp"

namespace tokenize_cli {

inline const char* const kUsage =
    "usage: embedrank-tokenize --model FILE [--no-special] [--pair] [--json] [--offsets] [--max-length N]\n"
    "       reads lines (with --pair: FIRST<TAB>SECOND) from stdin, prints their token ids;\n"
    "       --offsets adds each token's character and byte offsets (JSON)\n";

using cli::UsageError;

struct Options {
  std::string model;
  bool special = true, pair = false, json = false, offsets = false;
  std::size_t max_length = 0;
};

inline Options parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") throw UsageError{""};
    if (flag == "--no-special") {
      options.special = false;
    } else if (flag == "--pair") {
      options.pair = true;
    } else if (flag == "--json") {
      options.json = true;
    } else if (flag == "--offsets") {
      options.json = options.offsets = true;
    } else if (flag == "--model" || flag == "--max-length") {
      if (i + 1 >= argc) throw UsageError{flag + " needs a value"};
      const std::string value = argv[++i];
      if (flag == "--model") {
        options.model = value;
      } else {
        options.max_length = static_cast<std::size_t>(cli::integer(flag, value, 0, 1 << 20));
      }
    } else {
      throw UsageError{"unexpected argument '" + flag + "'"};
    }
  }
  if (options.model.empty()) throw UsageError{"--model is required"};
  return options;
}

}  // namespace tokenize_cli
