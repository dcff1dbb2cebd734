#pragma once
// embedrank-rerank's command line: usage text, options and their parser, shared by the
// program (embedrank-rerank.cpp) and the command-line fuzz target (tests/fuzz/).

#include <cstddef>
#include <string>

#include "cli.hpp"

namespace rerank_cli {

inline const char* const kUsage =
    "usage: embedrank-rerank --model FILE [--query TEXT --candidates FILE [--top K]]\n"
    "                        [--format tsv|json] [--batch N] [--threads N]\n"
    "       scores text pairs with a cross-encoder (a model converted from a CrossEncoder or\n"
    "       *ForSequenceClassification checkpoint): each stdin line QUERY<TAB>TEXT gets its\n"
    "       score(s); with --query, each line of --candidates (TEXT, or ID<TAB>TEXT) is\n"
    "       scored against the query and the candidates are printed best first\n";

using cli::UsageError;

struct Options {
  std::string model, query, candidates, format = "tsv";
  bool query_given = false;
  std::size_t top = 0;  // 0: every candidate
  std::size_t batch = 32;
  int threads = 0;
};

inline Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") throw UsageError{""};
    if (i + 1 >= argc) throw UsageError{flag.rfind("--", 0) == 0 ? flag + " needs a value" : "unexpected argument '" + flag + "'"};
    const std::string value = argv[++i];
    if (flag == "--model") o.model = value;
    else if (flag == "--query") {
      o.query = value;
      o.query_given = true;
    } else if (flag == "--candidates") o.candidates = value;
    else if (flag == "--format") o.format = value;
    else if (flag == "--top") o.top = static_cast<std::size_t>(cli::integer(flag, value, 1, 1 << 30));
    else if (flag == "--batch") o.batch = static_cast<std::size_t>(cli::integer(flag, value, 1, 1 << 16));
    else if (flag == "--threads") o.threads = static_cast<int>(cli::integer(flag, value, 0, cli::kMaxThreads));
    else throw UsageError{"unknown option " + flag};
  }
  if (o.model.empty()) throw UsageError{"--model FILE is required"};
  if (o.query_given != !o.candidates.empty()) throw UsageError{"--query and --candidates go together"};
  if (o.query_given && o.query.empty()) throw UsageError{"--query is empty"};
  if (o.top > 0 && !o.query_given) throw UsageError{"--top needs --query and --candidates"};
  if (o.format != "tsv" && o.format != "json") throw UsageError{"--format must be tsv or json, got '" + o.format + "'"};
  return o;
}

}  // namespace rerank_cli
