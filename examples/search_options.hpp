#pragma once
// embedrank-search's command line: usage text, options and their parser, shared by the
// program (embedrank-search.cpp) and the command-line fuzz target (tests/fuzz/).

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

#include "cli.hpp"
#include "embedrank/rank/embedding_index.hpp"

namespace search_cli {

inline const char* const kUsage =
    "usage: embedrank-search --index ITEMS.npy [--ids IDS.txt] --queries QUERIES.npy --k K\n"
    "                        [--exclude FILE] [--metric ip|cosine] [--storage f32|f16]\n"
    "                        [--threads N] [--format tsv|json]\n";

using cli::UsageError;

struct Options {
  std::string index_path, ids_path, queries_path, exclude_path;
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
  if (options.queries_path.empty()) throw UsageError{"--queries is required"};
  if (!options.k_given) throw UsageError{"--k is required"};
  return options;
}

}  // namespace search_cli
