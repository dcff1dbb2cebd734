// embedrank-search: exact top-k search of query vectors over an item catalogue.
//
//   embedrank-search --index ITEMS.npy [--ids IDS.txt] --queries QUERIES.npy --k K
//                    [--exclude FILE] [--metric ip|cosine] [--storage f32|f16]
//                    [--threads N] [--format tsv|json]
//
// ITEMS.npy is (N, D) float32, QUERIES.npy (Q, D) float32 (what
// `embedrank-embed --format npy` writes). IDS.txt has one id per line (N
// lines); without it items are named by row, 0..N-1. FILE lists ids to
// exclude, one per line (ids not in the catalogue are ignored). Output on
// stdout: TSV "query<TAB>rank<TAB>id<TAB>score" with a header line, or JSON
// [{"query": q, "results": [{"id": ..., "score": ...}, ...]}, ...].
// Rows with a NaN or an infinity are never returned; a warning on stderr
// counts them.
// Exit status: 0 on success, 1 on a data or file error, 2 on a usage error.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

#include "cli.hpp"
#include "search_options.hpp"
#include "embedrank/core/error.hpp"
#include "embedrank/core/npy.hpp"
#include "embedrank/rank/embedding_index.hpp"

namespace {

using namespace search_cli;

// TSV scores: 9 significant digits read back as the same float; infinities
// (possible with huge or infinite inputs) as Python writes them. JSON writes
// scores exactly and an infinite one as null.
std::string score_text(float score) {
  if (std::isinf(score)) return score > 0 ? "Infinity" : "-Infinity";
  char text[32];
  std::snprintf(text, sizeof text, "%.9g", static_cast<double>(score));
  return text;
}

void write_results(const std::vector<std::vector<embedrank::rank::SearchResult>>& results, const std::string& format) {
  std::string out;
  if (format == "tsv") {
    out += "query\trank\tid\tscore\n";
    for (std::size_t q = 0; q < results.size(); ++q)
      for (std::size_t r = 0; r < results[q].size(); ++r)
        out += std::to_string(q) + '\t' + std::to_string(r + 1) + '\t' + results[q][r].id + '\t' +
               score_text(results[q][r].score) + '\n';
  } else {
    cli::Json queries = cli::Json::array();
    for (std::size_t q = 0; q < results.size(); ++q) {
      cli::Json found = cli::Json::array();
      for (const auto& r : results[q]) found.push_back({{"id", r.id}, {"score", r.score}});
      queries.push_back({{"query", q}, {"results", std::move(found)}});
    }
    out = cli::json_line(queries) + "\n";
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
}

// one id per line; blank lines and repeats are harmless in an exclusion list
std::vector<std::string> read_exclusions(const std::string& path) {
  std::vector<std::string> ids = cli::read_lines(path);
  ids.erase(std::remove(ids.begin(), ids.end(), std::string()), ids.end());
  return ids;
}

int run(const Options& options) {
  const auto index = embedrank::rank::EmbeddingIndex::load(options.index_path, options.ids_path, options.index);
  std::size_t unsearchable = 0;  // rows with a NaN or an infinity: never returned
  for (std::size_t row = 0; row < index.rows(); ++row)
    if (!index.vector(row).allFinite()) ++unsearchable;
  if (unsearchable > 0)
    std::fprintf(stderr, "embedrank-search: warning: %zu of %zu rows of %s have a NaN or an infinity and are never returned\n",
                 unsearchable, index.rows(), options.index_path.c_str());
  const embedrank::MatrixF queries = embedrank::read_npy(options.queries_path);  // (Q, D)
  if (static_cast<std::size_t>(queries.cols()) != index.dim() && queries.rows() > 0)
    throw embedrank::InputError("dimension_mismatch", options.queries_path + ": queries have dimension " +
                                                          std::to_string(queries.cols()) + ", " + options.index_path +
                                                          " has " + std::to_string(index.dim()));
  embedrank::rank::ItemBitmap excluded;
  embedrank::rank::SearchFilter filter;
  if (!options.exclude_path.empty()) {
    excluded = index.exclusion(read_exclusions(options.exclude_path));
    filter.exclude = &excluded;
  }
  std::vector<std::vector<embedrank::rank::SearchResult>> results;
  if (queries.rows() > 0)
    results = index.search_batch(queries.data(), static_cast<std::size_t>(queries.rows()), index.dim(), options.k, filter);
  write_results(results, options.format);
  if (std::fflush(stdout) != 0) throw embedrank::FileError("write", "stdout: write failed");
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return cli::main("embedrank-search", kUsage, argc, argv, parse_options, run); }
