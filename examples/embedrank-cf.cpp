// embedrank-cf: user-user Pearson kNN rating prediction, evaluated on a test
// file or by k-fold cross-validation.
//
//   embedrank-cf --train FILE (--test FILE | --cv K [--seed S]) [--sep TAB] [--header]
//                --algo knn_basic|knn_with_means|knn_with_zscore [--similarity pearson]
//                [--mean co_rated|user] [--k 40] [--min-k 1] [--min-support 1]
//                [--shrinkage n_minus_one|none|n|capped] [--shrinkage-lambda 100]
//                [--max-neighbors 200] [--memory-budget-mb 4096] [--threads N]
//                [--order by_user_index|surprise] [--fallback chain|global_mean]
//                [--surprise-compatible] [--clip] [--duplicates last_wins|error]
//                [--predictions OUT.tsv]
//
// Rating files hold user, item, rating[, timestamp] per line (MovieLens u.data
// is tab separated: --sep TAB, the default; --sep , for CSV).
// --surprise-compatible sets --order surprise --fallback global_mean
// --max-neighbors 0 (keep every positive neighbour), as Surprise computes.
// Prints one JSON object on stdout: the settings, RMSE, MAE, fallbacks, fit and
// predict seconds (per fold and their means with --cv; with --test, fit is the
// similarity and neighbour lists, reading the training file is load_seconds). With --test and
// --predictions, writes TSV: user, item, rating, prediction, fell_back (0/1),
// level, actual_k.
// Exit status: 0 on success, 1 on a data error, 2 on a usage error.

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli.hpp"
#include "cf_options.hpp"
#include "embedrank/cf/evaluation.hpp"
#include "embedrank/core/error.hpp"
#include "embedrank/core/output_file.hpp"

namespace {

using namespace cf_cli;

// JSON has no NaN or infinity: such a value is written as null, and named
// in a warning on stderr.
std::string json_number(double x, const char* name) {
  if (!std::isfinite(x)) {
    std::fprintf(stderr, "embedrank-cf: warning: %s is %s, written as null\n", name, std::isnan(x) ? "NaN" : "infinite");
    return "null";
  }
  std::ostringstream s;
  s.precision(17);
  s << x;
  return s.str();
}

std::string settings_json(const Options& o) {
  const cf::SimilarityOptions& sim = o.knn.similarity;
  std::ostringstream s;
  s << "\"algo\": \"" << o.algo_name << "\", \"similarity\": \"pearson\", \"mean\": \""
    << embedrank::to_string(sim.mean) << "\", \"k\": " << o.knn.k
    << ", \"min_k\": " << o.knn.min_k << ", \"min_support\": " << sim.min_support << ", \"shrinkage\": \""
    << embedrank::to_string(sim.shrinkage) << "\", \"shrinkage_lambda\": " << json_number(sim.shrinkage_lambda, "shrinkage_lambda")
    << ", \"max_neighbors\": " << sim.max_neighbors << ", \"order\": \""
    << embedrank::to_string(o.knn.order) << "\", \"fallback\": \"" << embedrank::to_string(o.knn.fallback)
    << "\", \"clip\": " << (o.knn.clip ? "true" : "false") << ", \"threads\": " << embedrank::pool_threads(sim.pool, sim.threads);
  return s.str();
}

std::string evaluation_json(const cf::Evaluation& e) {
  std::ostringstream s;
  s << "\"test_ratings\": " << e.accuracy.count << ", \"rmse\": " << json_number(e.accuracy.rmse, "rmse")
    << ", \"mae\": " << json_number(e.accuracy.mae, "mae") << ", \"fallbacks\": " << e.accuracy.fallbacks
    << ", \"fit_seconds\": " << json_number(e.fit_seconds, "fit_seconds") << ", \"predict_seconds\": " << json_number(e.predict_seconds, "predict_seconds");
  return s.str();
}

void write_predictions(embedrank::AtomicOutputFile& file, const std::vector<cf::RatingTriplet>& test,
                       const std::vector<cf::Prediction>& predictions) {
  std::ofstream& out = file.stream();
  out.precision(17);
  out << "user\titem\trating\tprediction\tfell_back\tlevel\tactual_k\n";
  for (std::size_t t = 0; t < test.size(); ++t)
    out << test[t].user << '\t' << test[t].item << '\t' << test[t].rating << '\t' << predictions[t].value << '\t'
        << (predictions[t].fell_back() ? 1 : 0) << '\t' << embedrank::to_string(predictions[t].level) << '\t'
        << predictions[t].actual_k << '\n';
  file.commit();
}

int run(const Options& o) {
  // --predictions is opened (and so checked) before any work
  std::optional<embedrank::AtomicOutputFile> predictions;
  if (!o.predictions_path.empty()) predictions.emplace(o.predictions_path);
  std::ostringstream json;
  json << "{" << settings_json(o);
  if (o.folds > 0) {
    const std::vector<cf::RatingTriplet> train = cf::read_rating_triplets(o.train_path, o.file);
    json << ", \"train_ratings\": " << train.size();
    const cf::CrossValidation cv = cf::cross_validate(train, o.folds, o.seed, o.knn, o.duplicates);
    json << ", \"folds\": " << o.folds << ", \"seed\": " << o.seed << ", \"mean_rmse\": " << json_number(cv.mean_rmse, "mean_rmse")
         << ", \"mean_mae\": " << json_number(cv.mean_mae, "mean_mae")
         << ", \"mean_fit_seconds\": " << json_number(cv.mean_fit_seconds, "mean_fit_seconds")
         << ", \"mean_predict_seconds\": " << json_number(cv.mean_predict_seconds, "mean_predict_seconds") << ", \"per_fold\": [";
    for (std::size_t f = 0; f < cv.folds.size(); ++f) json << (f ? ", " : "") << "{" << evaluation_json(cv.folds[f]) << "}";
    json << "]";
  } else {
    // The training file goes straight into Ratings (no text triplets held).
    const auto load_start = std::chrono::steady_clock::now();
    cf::Ratings train = cf::read_ratings(o.train_path, o.file, o.duplicates);
    const double load_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
    json << ", \"train_ratings\": " << train.num_ratings() << ", \"users\": " << train.num_users()
         << ", \"items\": " << train.num_items() << ", \"load_seconds\": " << json_number(load_seconds, "load_seconds");
    const std::vector<cf::RatingTriplet> test = cf::read_rating_triplets(o.test_path, o.file);
    const cf::Evaluation e = cf::train_test(std::move(train), test, o.knn);
    json << ", " << evaluation_json(e);
    if (predictions) write_predictions(*predictions, test, e.predictions);
  }
  json << "}\n";
  std::cout << json.str();
  cli::check_written(std::cout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return cli::main("embedrank-cf", kUsage, argc, argv, parse_options, run); }
