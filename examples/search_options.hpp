#pragma once
// embedrank-search's command line: usage text, options and their parser, shared by the
// program (embedrank-search.cpp) and the command-line fuzz target (tests/fuzz/).

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "cli.hpp"
#include "embedrank/rank/embedding_index.hpp"

namespace search_cli {

inline const char* const kUsage =
    "usage: embedrank-search --index ITEMS.npy [--ids IDS.txt] --k K\n"
    "                        (--queries QUERIES.npy | --model FILE (--query TEXT ... | --queries FILE))\n"
    "                        [--exclude FILE] [--metric ip|cosine] [--storage f32|f16]\n"
    "                        [--threads N] [--format tsv|json]\n"
    "       without --model, QUERIES.npy holds query vectors, (Q, D) or one (D,); with --model\n"
    "       the queries are texts (--query, repeatable, and/or --queries FILE, one per line),\n"
    "       embedded with the model that embedded ITEMS.npy, and each result row names its query\n";

using cli::UsageError;

struct Options {
  std::string index_path, ids_path, queries_path, exclude_path, model_path;
  std::vector<std::string> query_texts;  // --query, in command-line order
  std::size_t k = 0;
  bool k_given = false;
  embedrank::rank::IndexOptions index;
  std::string format = "tsv";
};

inline Options parse_options(int argc, char** argv) {
  Options options;
  cli::Flags()
      .text("--index", options.index_path)
      .text("--ids", options.ids_path)
      .text("--queries", options.queries_path)
      .text("--model", options.model_path)
      .value("--query", [&](const std::string&, const std::string& text) { options.query_texts.push_back(text); })
      .text("--exclude", options.exclude_path)
      .value("--k",
             [&](const std::string& flag, const std::string& value) {
               options.k = static_cast<std::size_t>(cli::integer(flag, value, 1, std::numeric_limits<std::int32_t>::max()));
               options.k_given = true;
             })
      .threads("--threads", options.index.threads)
      .choice("--metric", options.index.metric)
      .choice("--storage", options.index.storage)
      .one_of("--format", options.format, {"tsv", "json"})
      .parse(argc, argv);
  if (options.index_path.empty()) throw UsageError{"--index is required"};
  if (!options.query_texts.empty() && options.model_path.empty()) throw UsageError{"--query TEXT needs --model FILE"};
  if (options.queries_path.empty() && options.query_texts.empty())
    throw UsageError{options.model_path.empty() ? "--queries is required" : "--model needs --query TEXT or --queries FILE"};
  if (!options.k_given) throw UsageError{"--k is required"};
  return options;
}

}  // namespace search_cli
