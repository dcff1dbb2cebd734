// embedrank-search: exact top-k search of query vectors or query texts over an
// item catalogue.
//
//   embedrank-search --index ITEMS.npy [--ids IDS.txt] --k K
//                    (--queries QUERIES.npy | --model FILE (--query TEXT ... | --queries FILE))
//                    [--exclude FILE] [--metric ip|cosine] [--storage f32|f16]
//                    [--threads N] [--format tsv|json]
//
// ITEMS.npy is (N, D) float32, QUERIES.npy (Q, D) float32 or one query of
// shape (D,) (what `embedrank-embed --format npy` writes). With --model the
// queries are texts instead: each --query TEXT, then each line of --queries
// FILE, embedded by the model file with its own pooling and default prompt
// (the model that embedded ITEMS.npy). IDS.txt has one id per line (N
// lines; `embedrank-embed --id-column` writes it beside the npy); without
// it items are named by row, 0..N-1. FILE lists ids to exclude, one per
// line (ids not in the catalogue are ignored). Output on stdout: TSV
// "query<TAB>rank<TAB>id<TAB>score" with a header line, or JSON
// [{"query": q, "results": [{"id": ..., "score": ...}, ...]}, ...], where
// the query is its number (from 0) for vectors and its text for texts (in
// TSV a tab or line break in it is written as a space).
// Rows with a NaN or an infinity are never returned; a warning on stderr
// counts them.
// Exit status: 0 on success, 1 on a data or file error, 2 on a usage error.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "cli.hpp"
#include "search_options.hpp"
#include "embedrank/core/error.hpp"
#include "embedrank/core/npy.hpp"
#include "embedrank/model/embedder.hpp"
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

// A query text as one TSV field: tabs and line breaks become spaces.
std::string tsv_field(std::string text) {
  for (char& c : text)
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  return text;
}

// labels: the query texts, or empty to number the queries from 0
void write_results(const std::vector<std::vector<embedrank::rank::SearchResult>>& results,
                   const std::vector<std::string>& labels, const std::string& format) {
  std::string out;
  if (format == "tsv") {
    out += "query\trank\tid\tscore\n";
    for (std::size_t q = 0; q < results.size(); ++q) {
      const std::string label = labels.empty() ? std::to_string(q) : tsv_field(labels[q]);
      for (std::size_t r = 0; r < results[q].size(); ++r)
        out += label + '\t' + std::to_string(r + 1) + '\t' + results[q][r].id + '\t' + score_text(results[q][r].score) +
               '\n';
    }
  } else {
    cli::Json queries = cli::Json::array();
    for (std::size_t q = 0; q < results.size(); ++q) {
      cli::Json found = cli::Json::array();
      for (const auto& r : results[q]) found.push_back({{"id", r.id}, {"score", r.score}});
      cli::Json label = labels.empty() ? cli::Json(q) : cli::Json(labels[q]);
      queries.push_back({{"query", std::move(label)}, {"results", std::move(found)}});
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

// The query texts: each --query, then each line of --queries.
std::vector<std::string> query_texts(const Options& options) {
  std::vector<std::string> texts = options.query_texts;
  if (!options.queries_path.empty())
    for (std::string& line : cli::read_lines(options.queries_path)) texts.push_back(std::move(line));
  return texts;
}

int run(const Options& options) {
  // The model and the query texts are read first: a bad model file fails before the index is loaded.
  std::shared_ptr<const embedrank::model::Embedder> embedder;
  std::vector<std::string> labels;
  if (!options.model_path.empty()) {
    embedder = embedrank::model::Embedder::open(options.model_path);
    labels = query_texts(options);
  }
  const auto index = embedrank::rank::EmbeddingIndex::load(options.index_path, options.ids_path, options.index);
  std::size_t unsearchable = 0;  // rows with a NaN or an infinity: never returned
  for (std::size_t row = 0; row < index.rows(); ++row)
    if (!index.vector(row).allFinite()) ++unsearchable;
  if (unsearchable > 0)
    std::fprintf(stderr, "embedrank-search: warning: %zu of %zu rows of %s have a NaN or an infinity and are never returned\n",
                 unsearchable, index.rows(), options.index_path.c_str());
  const embedrank::MatrixF queries =  // (Q, D)
      embedder ? embedder->embed(labels, options.index.threads) : embedrank::read_npy(options.queries_path, /*vector_as_row=*/true);
  const std::string source = embedder ? options.model_path + " (its embeddings)" : options.queries_path;
  if (static_cast<std::size_t>(queries.cols()) != index.dim() && queries.rows() > 0)
    throw embedrank::InputError("dimension_mismatch", source + ": queries have dimension " +
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
  write_results(results, labels, options.format);
  if (std::fflush(stdout) != 0) throw embedrank::FileError("write", "stdout: write failed");
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return cli::main("embedrank-search", kUsage, argc, argv, parse_options, run); }
