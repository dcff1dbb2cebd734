// embedrank-cf: user-user Pearson kNN rating prediction, evaluated on a test
// file or by k-fold cross-validation, or top-N recommendations for users.
//
//   embedrank-cf --train FILE (--test FILE | --cv K [--seed S] | --recommend USERS [--top N]
//                [--format tsv|json]) [--sep TAB] [--header]
//                --algo knn_basic|knn_with_means|knn_with_zscore [--similarity pearson]
//                [--mean co_rated|user] [--k 40] [--min-k 1] [--min-support 1]
//                [--shrinkage n_minus_one|none|n|capped] [--shrinkage-lambda 100]
//                [--max-neighbors 200] [--memory-budget-mb 4096] [--threads N]
//                [--order by_user_index|surprise] [--fallback chain|global_mean]
//                [--surprise-compatible] [--no-clip] [--duplicates last_wins|error]
//                [--predictions OUT.tsv]
//
// Rating files hold user, item, rating[, timestamp] per line (MovieLens u.data
// is tab separated: --sep TAB, the default; --sep , for CSV).
// --surprise-compatible sets --order surprise --fallback global_mean
// --max-neighbors 0 (keep every positive neighbour) --no-clip, as Surprise's
// predict(clip=False) computes. Predictions are clipped to the training
// ratings' range unless --no-clip (--clip is the default, kept for old
// command lines).
// --recommend USERS (ids separated by commas, or @FILE with one id a line)
// fits on --train and writes each user's --top N unseen items with the
// highest neighbour prediction (UserKnn::recommend) on stdout: TSV
// "user<TAB>rank<TAB>item<TAB>score<TAB>neighbors" with a header line, or
// JSON [{"user": ..., "items": [{"item": ..., "score": ..., "neighbors": ...}]}].
// A user without training ratings gets no rows, and a warning on stderr.
// Prints one JSON object on stdout: the settings, RMSE, MAE, fallbacks, fit and
// predict seconds (per fold and their means with --cv; with --test, fit is the
// similarity and neighbour lists, reading the training file is load_seconds). With --test and
// --predictions, writes TSV: user, item, rating, prediction, fell_back (0/1),
// level, actual_k.
// Exit status: 0 on success, 1 on a data error, 2 on a usage error.

#include <chrono>
#include <cmath>
#include <cstdint>
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
cli::Json json_number(double x, const char* name) {
  if (!std::isfinite(x)) {
    std::fprintf(stderr, "embedrank-cf: warning: %s is %s, written as null\n", name, std::isnan(x) ? "NaN" : "infinite");
    return nullptr;
  }
  return x;
}

cli::Json settings_json(const Options& o) {
  const cf::SimilarityOptions& sim = o.knn.similarity;
  return {{"algo", o.algo_name},
          {"similarity", "pearson"},
          {"mean", embedrank::to_string(sim.mean)},
          {"k", o.knn.k},
          {"min_k", o.knn.min_k},
          {"min_support", sim.min_support},
          {"shrinkage", embedrank::to_string(sim.shrinkage)},
          {"shrinkage_lambda", json_number(sim.shrinkage_lambda, "shrinkage_lambda")},
          {"max_neighbors", sim.max_neighbors},
          {"order", embedrank::to_string(o.knn.order)},
          {"fallback", embedrank::to_string(o.knn.fallback)},
          {"clip", o.knn.clip},
          {"threads", embedrank::pool_threads(sim.pool, sim.threads)}};
}

void add_evaluation(cli::Json& json, const cf::Evaluation& e) {
  json["test_ratings"] = e.accuracy.count;
  json["rmse"] = json_number(e.accuracy.rmse, "rmse");
  json["mae"] = json_number(e.accuracy.mae, "mae");
  json["fallbacks"] = e.accuracy.fallbacks;
  json["fit_seconds"] = json_number(e.fit_seconds, "fit_seconds");
  json["predict_seconds"] = json_number(e.predict_seconds, "predict_seconds");
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

// The users of --recommend: "a,b,c", or "@FILE" with one id a line (blank lines skipped).
std::vector<std::string> recommend_users(const std::string& spec) {
  std::vector<std::string> users;
  if (!spec.empty() && spec[0] == '@') {
    for (std::string& line : cli::read_lines(spec.substr(1)))
      if (!line.empty()) users.push_back(std::move(line));
  } else {
    std::stringstream list(spec);
    for (std::string user; std::getline(list, user, ',');)
      if (!user.empty()) users.push_back(std::move(user));
  }
  if (users.empty()) throw embedrank::InputError("cli.no_users", "--recommend names no user");
  return users;
}

int recommend(const Options& o) {
  const std::vector<std::string> users = recommend_users(o.recommend);
  const cf::UserKnn model(cf::read_ratings(o.train_path, o.file, o.duplicates), o.knn);
  std::string out = o.format == "tsv" ? "user\trank\titem\tscore\tneighbors\n" : "";
  cli::Json json = cli::Json::array();
  std::size_t unknown = 0;
  for (const std::string& user : users) {
    const std::int32_t u = model.ratings().find_user(user);
    const std::vector<cf::Recommendation> found = u < 0 ? std::vector<cf::Recommendation>{} : model.recommend(u, o.top);
    if (u < 0 && unknown++ == 0)
      std::fprintf(stderr, "embedrank-cf: warning: user '%s' has no ratings in %s and gets no recommendations\n",
                   user.c_str(), o.train_path.c_str());
    cli::Json items = cli::Json::array();
    for (std::size_t r = 0; r < found.size(); ++r) {
      const std::string& item = model.ratings().item_id(found[r].item);
      if (o.format == "tsv") {
        std::ostringstream line;
        line.precision(17);
        line << user << '\t' << r + 1 << '\t' << item << '\t' << found[r].score << '\t' << found[r].actual_k << '\n';
        out += line.str();
      } else {
        items.push_back({{"item", item}, {"score", json_number(found[r].score, "score")}, {"neighbors", found[r].actual_k}});
      }
    }
    if (o.format == "json") json.push_back({{"user", user}, {"items", std::move(items)}});
  }
  if (unknown > 1) std::fprintf(stderr, "embedrank-cf: warning: %zu users have no ratings\n", unknown);
  if (o.format == "json") out = cli::json_line(json) + "\n";
  std::fwrite(out.data(), 1, out.size(), stdout);
  if (std::fflush(stdout) != 0) throw embedrank::FileError("write", "stdout: write failed");
  return 0;
}

int run(const Options& o) {
  if (!o.recommend.empty()) return recommend(o);
  // --predictions is opened (and so checked) before any work
  std::optional<embedrank::AtomicOutputFile> predictions;
  if (!o.predictions_path.empty()) predictions.emplace(o.predictions_path);
  cli::Json json = settings_json(o);
  if (o.folds > 0) {
    const std::vector<cf::RatingTriplet> train = cf::read_rating_triplets(o.train_path, o.file);
    json["train_ratings"] = train.size();
    const cf::CrossValidation cv = cf::cross_validate(train, o.folds, o.seed, o.knn, o.duplicates);
    json["folds"] = o.folds;
    json["seed"] = o.seed;
    json["mean_rmse"] = json_number(cv.mean_rmse, "mean_rmse");
    json["mean_mae"] = json_number(cv.mean_mae, "mean_mae");
    json["mean_fit_seconds"] = json_number(cv.mean_fit_seconds, "mean_fit_seconds");
    json["mean_predict_seconds"] = json_number(cv.mean_predict_seconds, "mean_predict_seconds");
    cli::Json folds = cli::Json::array();
    for (const cf::Evaluation& fold : cv.folds) {
      cli::Json f = cli::Json::object();
      add_evaluation(f, fold);
      folds.push_back(std::move(f));
    }
    json["per_fold"] = std::move(folds);
  } else {
    // The training file goes straight into Ratings (no text triplets held).
    const auto load_start = std::chrono::steady_clock::now();
    cf::Ratings train = cf::read_ratings(o.train_path, o.file, o.duplicates);
    const double load_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
    json["train_ratings"] = train.num_ratings();
    json["users"] = train.num_users();
    json["items"] = train.num_items();
    json["load_seconds"] = json_number(load_seconds, "load_seconds");
    const std::vector<cf::RatingTriplet> test = cf::read_rating_triplets(o.test_path, o.file);
    const cf::Evaluation e = cf::train_test(std::move(train), test, o.knn);
    add_evaluation(json, e);
    if (predictions) write_predictions(*predictions, test, e.predictions);
  }
  std::cout << cli::json_line(json) << '\n';
  cli::check_written(std::cout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return cli::main("embedrank-cf", kUsage, argc, argv, parse_options, run); }
