#pragma once
// embedrank-cf's command line: usage text, options and their parser, shared by the
// program (embedrank-cf.cpp) and the command-line fuzz target (tests/fuzz/).

#include <limits>
#include <map>
#include <set>
#include <string>

#include "cli.hpp"
#include "embedrank/cf/evaluation.hpp"

namespace cf_cli {

namespace cf = embedrank::cf;

inline const char* const kUsage =
    "usage: embedrank-cf --train FILE (--test FILE | --cv K [--seed S]) [--sep TAB] [--header]\n"
    "                    --algo knn_basic|knn_with_means|knn_with_zscore [--similarity pearson]\n"
    "                    [--mean co_rated|user] [--k 40] [--min-k 1] [--min-support 1]\n"
    "                    [--shrinkage n_minus_one|none|n|capped] [--shrinkage-lambda 100]\n"
    "                    [--max-neighbors 200] [--memory-budget-mb 4096] [--threads N]\n"
    "                    [--order by_user_index|surprise] [--fallback chain|global_mean]\n"
    "                    [--surprise-compatible] [--clip] [--duplicates last_wins|error]\n"
    "                    [--predictions OUT.tsv]\n";

using cli::UsageError;

struct Options {
  std::string train_path, test_path, predictions_path, algo_name;
  int folds = 0;
  unsigned long long seed = 0;
  cf::RatingsFileOptions file;
  cf::DuplicatePolicy duplicates = cf::DuplicatePolicy::last_wins;
  cf::KnnOptions knn;
};

constexpr long long kMaxInt = std::numeric_limits<int>::max();

inline char parse_separator(const std::string& text) {
  if (text == "TAB" || text == "tab" || text == "\\t" || text == "\t") return '\t';
  if (text == "COMMA" || text == "comma") return ',';
  if (text.size() != 1) throw UsageError{"--sep needs one character or TAB, got '" + text + "'"};
  return text[0];
}

template <typename Enum>
inline Enum parse_choice(const std::string& flag, const std::string& value, const std::map<std::string, Enum>& choices) {
  const auto found = choices.find(value);
  if (found == choices.end()) {
    std::string names;
    for (const auto& c : choices) names += (names.empty() ? "" : "|") + c.first;
    throw UsageError{flag + " must be one of " + names + ", got '" + value + "'"};
  }
  return found->second;
}

inline Options parse_options(int argc, char** argv) {
  const std::set<std::string> switches = {"--header", "--clip", "--surprise-compatible"};
  std::map<std::string, std::string> values;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") throw UsageError{""};
    if (flag.rfind("--", 0) != 0) throw UsageError{"unexpected argument '" + flag + "'"};
    if (switches.count(flag)) {
      values[flag] = "1";
      continue;
    }
    if (i + 1 >= argc) throw UsageError{flag + " needs a value"};
    values[flag] = argv[++i];
  }

  Options o;
  cf::SimilarityOptions& sim = o.knn.similarity;
  // --surprise-compatible first, so explicit flags can still override its parts.
  if (values.count("--surprise-compatible")) {
    const cf::KnnOptions compatible = cf::surprise_compatible(o.knn.algorithm);
    o.knn.order = compatible.order;
    o.knn.fallback = compatible.fallback;
    sim = compatible.similarity;
  }
  for (const auto& [flag, value] : values) {
    if (flag == "--train") {
      o.train_path = value;
    } else if (flag == "--test") {
      o.test_path = value;
    } else if (flag == "--predictions") {
      o.predictions_path = value;
    } else if (flag == "--cv") {
      o.folds = static_cast<int>(cli::integer(flag, value, 2, 1000));
    } else if (flag == "--seed") {
      o.seed = static_cast<unsigned long long>(cli::integer(flag, value, 0, std::numeric_limits<long long>::max()));
    } else if (flag == "--sep") {
      o.file.separator = parse_separator(value);
    } else if (flag == "--header") {
      o.file.header = true;
    } else if (flag == "--algo") {
      o.algo_name = value;
      o.knn.algorithm = parse_choice<cf::KnnAlgorithm>(flag, value,
                                                       {{"knn_basic", cf::KnnAlgorithm::basic},
                                                        {"knn_with_means", cf::KnnAlgorithm::with_means},
                                                        {"knn_with_zscore", cf::KnnAlgorithm::with_zscore}});
    } else if (flag == "--similarity") {
      if (value != "pearson") throw UsageError{"--similarity supports only pearson, got '" + value + "'"};
    } else if (flag == "--mean") {
      sim.mean = parse_choice<cf::PearsonMean>(flag, value,
                                               {{"co_rated", cf::PearsonMean::co_rated}, {"user", cf::PearsonMean::user}});
    } else if (flag == "--k") {
      o.knn.k = static_cast<int>(cli::integer(flag, value, 1, kMaxInt));
    } else if (flag == "--min-k") {
      o.knn.min_k = static_cast<int>(cli::integer(flag, value, 0, kMaxInt));
    } else if (flag == "--min-support") {
      sim.min_support = static_cast<int>(cli::integer(flag, value, 0, kMaxInt));
    } else if (flag == "--shrinkage") {
      sim.shrinkage = parse_choice<cf::Shrinkage>(flag, value,
                                                  {{"none", cf::Shrinkage::none},
                                                   {"n_minus_one", cf::Shrinkage::n_minus_one},
                                                   {"n", cf::Shrinkage::n},
                                                   {"capped", cf::Shrinkage::capped}});
    } else if (flag == "--shrinkage-lambda") {
      sim.shrinkage_lambda = cli::number(flag, value, 0, 1e12);
    } else if (flag == "--max-neighbors") {
      sim.max_neighbors = static_cast<int>(cli::integer(flag, value, 0, kMaxInt));
    } else if (flag == "--memory-budget-mb") {
      sim.memory_budget_bytes = static_cast<std::size_t>(cli::integer(flag, value, 1, 1LL << 30)) << 20;
    } else if (flag == "--threads") {
      sim.threads = static_cast<int>(cli::integer(flag, value, 0, cli::kMaxThreads));
    } else if (flag == "--order") {
      o.knn.order = parse_choice<cf::NeighborOrder>(
          flag, value, {{"by_user_index", cf::NeighborOrder::by_user_index}, {"surprise", cf::NeighborOrder::surprise}});
    } else if (flag == "--fallback") {
      o.knn.fallback = parse_choice<cf::FallbackPolicy>(
          flag, value, {{"chain", cf::FallbackPolicy::chain}, {"global_mean", cf::FallbackPolicy::global_mean}});
    } else if (flag == "--clip") {
      o.knn.clip = true;
    } else if (flag == "--duplicates") {
      o.duplicates = parse_choice<cf::DuplicatePolicy>(
          flag, value, {{"last_wins", cf::DuplicatePolicy::last_wins}, {"error", cf::DuplicatePolicy::error}});
    } else if (flag != "--surprise-compatible") {
      throw UsageError{"unknown option " + flag};
    }
  }
  if (o.train_path.empty()) throw UsageError{"--train is required"};
  if (o.algo_name.empty()) throw UsageError{"--algo is required"};
  if (o.test_path.empty() == (o.folds == 0)) throw UsageError{"give exactly one of --test and --cv"};
  if (values.count("--seed") && o.folds == 0) throw UsageError{"--seed goes with --cv"};
  if (!o.predictions_path.empty() && o.test_path.empty()) throw UsageError{"--predictions needs --test"};
  return o;
}

}  // namespace cf_cli
