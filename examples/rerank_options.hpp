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
  cli::Flags()
      .text("--model", o.model)
      .value("--query",
             [&](const std::string&, const std::string& value) {
               o.query = value;
               o.query_given = true;
             })
      .text("--candidates", o.candidates)
      .one_of("--format", o.format, {"tsv", "json"})
      .integer("--top", o.top, 1, 1 << 30)
      .integer("--batch", o.batch, 1, 1 << 16)
      .threads("--threads", o.threads)
      .parse(argc, argv);
  if (o.model.empty()) throw UsageError{"--model FILE is required"};
  if (o.query_given != !o.candidates.empty()) throw UsageError{"--query and --candidates go together"};
  if (o.query_given && o.query.empty()) throw UsageError{"--query is empty"};
  if (o.top > 0 && !o.query_given) throw UsageError{"--top needs --query and --candidates"};
  return o;
}

}  // namespace rerank_cli
