#pragma once
// embedrank-search's command line: usage text, options and their parser, shared by the
// program (embedrank-search.cpp) and the command-line fuzz target (tests/fuzz/).

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
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
  std::map<std::string, std::string> values;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") throw UsageError{""};
    if (flag.rfind("--", 0) != 0) throw UsageError{"unexpected argument '" + flag + "'"};
    if (i + 1 >= argc) throw UsageError{flag + " needs a value"};
    values[flag] = argv[++i];
  }
  Options options;
  for (const auto& [flag, value] : values) {
    if (flag == "--index") {
      options.index_path = value;
    } else if (flag == "--ids") {
      options.ids_path = value;
    } else if (flag == "--queries") {
      options.queries_path = value;
    } else if (flag == "--exclude") {
      options.exclude_path = value;
    } else if (flag == "--k") {
      options.k = static_cast<std::size_t>(cli::integer(flag, value, 1, std::numeric_limits<std::int32_t>::max()));
      options.k_given = true;
    } else if (flag == "--threads") {
      options.index.threads = static_cast<int>(cli::integer(flag, value, 0, cli::kMaxThreads));
    } else if (flag == "--metric") {
      if (value == "ip")
        options.index.metric = embedrank::rank::Metric::inner_product;
      else if (value == "cosine")
        options.index.metric = embedrank::rank::Metric::cosine;
      else
        throw UsageError{"--metric must be ip or cosine, got '" + value + "'"};
    } else if (flag == "--storage") {
      if (value == "f32")
        options.index.storage = embedrank::rank::Storage::float32;
      else if (value == "f16")
        options.index.storage = embedrank::rank::Storage::float16;
      else
        throw UsageError{"--storage must be f32 or f16, got '" + value + "'"};
    } else if (flag == "--format") {
      if (value != "tsv" && value != "json") throw UsageError{"--format must be tsv or json, got '" + value + "'"};
      options.format = value;
    } else {
      throw UsageError{"unknown option " + flag};
    }
  }
  if (options.index_path.empty()) throw UsageError{"--index is required"};
  if (options.queries_path.empty()) throw UsageError{"--queries is required"};
  if (!options.k_given) throw UsageError{"--k is required"};
  return options;
}

}  // namespace search_cli
