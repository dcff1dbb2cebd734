#pragma once
// embedrank-cf's command line: usage text, options and their parser, shared by the
// program (embedrank-cf.cpp) and the command-line fuzz target (tests/fuzz/).

#include <limits>
#include <string>

#include "cli.hpp"
#include "embedrank/cf/evaluation.hpp"

namespace cf_cli {

namespace cf = embedrank::cf;

inline const char* const kUsage =
    "usage: embedrank-cf --train FILE (--test FILE | --cv K [--seed S] | --recommend USERS [--top N]\n"
    "                    [--format tsv|json]) [--sep TAB] [--header]\n"
    "                    --algo knn_basic|knn_with_means|knn_with_zscore [--similarity pearson]\n"
    "                    [--mean co_rated|user] [--k 40] [--min-k 1] [--min-support 1]\n"
    "                    [--shrinkage n_minus_one|none|n|capped] [--shrinkage-lambda 100]\n"
    "                    [--max-neighbors 200] [--memory-budget-mb 4096] [--threads N]\n"
    "                    [--order by_user_index|surprise] [--fallback chain|global_mean]\n"
    "                    [--surprise-compatible] [--no-clip] [--duplicates last_wins|error]\n"
    "                    [--predictions OUT.tsv]\n"
    "       --recommend USERS: the --top N (default 10) unseen items with the highest neighbour\n"
    "       prediction for each user (USERS: ids separated by commas, or @FILE of one id a line)\n";

using cli::UsageError;

struct Options {
  std::string train_path, test_path, predictions_path, algo_name;
  std::string recommend;          // --recommend: user ids, or @FILE
  std::size_t top = 10;           // recommendations per user
  std::string format = "tsv";     // of the recommendations
  int folds = 0;
  unsigned long long seed = 0;
  cf::RatingsFileOptions file;
  cf::DuplicatePolicy duplicates = cf::DuplicatePolicy::LastWins;
  cf::KnnOptions knn;
};

constexpr long long kMaxInt = std::numeric_limits<int>::max();

inline char parse_separator(const std::string& text) {
  if (text == "TAB" || text == "tab" || text == "\\t" || text == "\t") return '\t';
  if (text == "COMMA" || text == "comma") return ',';
  if (text.size() != 1)
    throw UsageError{"--sep needs one character or TAB, got '" + text + "' (" + std::to_string(text.size()) + " characters)"};
  return text[0];
}

inline Options parse_options(int argc, char** argv) {
  Options o;
  cf::SimilarityOptions& sim = o.knn.similarity;
  bool seed_given = false, recommend_flags = false;
  cli::Flags()
      .text("--train", o.train_path)
      .text("--test", o.test_path)
      .text("--predictions", o.predictions_path)
      .integer("--cv", o.folds, 2, 1000)
      .text("--recommend", o.recommend)
      .value("--top",
             [&](const std::string& flag, const std::string& value) {
               o.top = static_cast<std::size_t>(cli::integer(flag, value, 1, 1 << 20));
               recommend_flags = true;
             })
      .value("--format",
             [&](const std::string& flag, const std::string& value) {
               o.format = cli::choice(flag, value, cli::Choices<std::string>{{"tsv", "tsv"}, {"json", "json"}});
               recommend_flags = true;
             })
      .value("--seed",
             [&](const std::string& flag, const std::string& value) {
               o.seed = static_cast<unsigned long long>(cli::integer(flag, value, 0, std::numeric_limits<long long>::max()));
               seed_given = true;
             })
      .value("--sep", [&](const std::string&, const std::string& value) { o.file.separator = parse_separator(value); })
      .toggle("--header", o.file.header)
      .value("--algo",
             [&](const std::string& flag, const std::string& value) {
               o.knn.algorithm = cli::choice(flag, value, cli::choices_of<cf::KnnAlgorithm>());
               o.algo_name = value;
             })
      .value("--similarity",
             [](const std::string&, const std::string& value) {
               if (value != "pearson") throw UsageError{"--similarity supports only pearson, got '" + value + "'"};
             })
      .choice("--mean", sim.mean)
      .integer("--k", o.knn.k, 1, kMaxInt)
      .integer("--min-k", o.knn.min_k, 0, kMaxInt)
      .integer("--min-support", sim.min_support, 0, kMaxInt)
      .choice("--shrinkage", sim.shrinkage)
      .number("--shrinkage-lambda", sim.shrinkage_lambda, 0, 1e12)
      .integer("--max-neighbors", sim.max_neighbors, 0, kMaxInt)
      .value("--memory-budget-mb",
             [&](const std::string& flag, const std::string& value) {
               sim.memory_budget_bytes = static_cast<std::size_t>(cli::integer(flag, value, 1, 1LL << 30)) << 20;
             })
      .threads("--threads", sim.threads)
      .choice("--order", o.knn.order)
      .choice("--fallback", o.knn.fallback)
      .toggle("--clip", o.knn.clip)
      .toggle("--no-clip", o.knn.clip, false)
      .choice("--duplicates", o.duplicates)
      // Before the other flags wherever it stands, so explicit flags can still override its parts.
      .toggle("--surprise-compatible",
              [&] {
                const cf::KnnOptions compatible = cf::surprise_compatible(o.knn.algorithm);
                o.knn.order = compatible.order;
                o.knn.fallback = compatible.fallback;
                o.knn.clip = compatible.clip;
                sim = compatible.similarity;
              },
              /*before_others=*/true)
      .parse(argc, argv);
  if (o.train_path.empty()) throw UsageError{"--train is required"};
  if (o.algo_name.empty()) throw UsageError{"--algo is required"};
  if (!o.test_path.empty() + (o.folds > 0) + !o.recommend.empty() != 1)
    throw UsageError{"give exactly one of --test, --cv and --recommend"};
  if (seed_given && o.folds == 0) throw UsageError{"--seed goes with --cv"};
  if (recommend_flags && o.recommend.empty()) throw UsageError{"--top and --format go with --recommend"};
  if (!o.predictions_path.empty() && o.test_path.empty()) throw UsageError{"--predictions needs --test"};
  return o;
}

}  // namespace cf_cli
