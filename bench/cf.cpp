// Collaborative filtering benchmarks: neighbour lists (fused kernel and the
// blocked Eigen reference), predictions and top-N recommendations on seeded
// synthetic ratings in MovieLens-like proportions (U users, about 1.7 U^0.8
// items, 100 ratings per user, Zipf-like item popularity, 1-5 stars).
//
//   bench_cf --benchmark_filter=Neighbors
//   bench_cf --ratings FILE [--sep ,]   also times the fused kernel on a ratings file
//
// Side by side with Surprise: bench/compare_surprise.py.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "embedrank/cf/evaluation.hpp"
#include "embedrank/cf/pearson.hpp"
#include "embedrank/cf/user_knn.hpp"

namespace {

using namespace embedrank::cf;

/// Seeded synthetic ratings for `users` users (cached per size).
const Ratings& synthetic(std::int32_t users) {
  static std::map<std::int32_t, std::unique_ptr<Ratings>> cache;
  auto& slot = cache[users];
  if (slot) return *slot;
  const auto items = static_cast<std::int32_t>(1.7 * std::pow(static_cast<double>(users), 0.8)) + 50;
  std::mt19937_64 rng(12345);
  std::vector<double> cdf(static_cast<std::size_t>(items));  // (I) Zipf-like popularity
  double total = 0.0;
  for (std::int32_t i = 0; i < items; ++i) cdf[static_cast<std::size_t>(i)] = total += 1.0 / std::pow(i + 10.0, 0.8);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::lognormal_distribution<double> activity(std::log(60.0), 0.9);
  std::normal_distribution<double> noise(0.0, 0.9);
  std::vector<double> user_bias(static_cast<std::size_t>(users)), item_bias(static_cast<std::size_t>(items));
  for (double& b : user_bias) b = 0.5 * noise(rng);
  for (double& b : item_bias) b = 0.5 * noise(rng);
  RatingsBuilder builder("synthetic");
  for (std::int32_t u = 0; u < users; ++u) {
    const int count = std::max(1, std::min(items / 2, static_cast<int>(activity(rng))));
    for (int n = 0; n < count; ++n) {
      const auto i = static_cast<std::int32_t>(std::lower_bound(cdf.begin(), cdf.end(), uniform(rng) * total) - cdf.begin());
      const double score = 3.6 + user_bias[static_cast<std::size_t>(u)] + item_bias[static_cast<std::size_t>(i)] + noise(rng);
      builder.add(std::to_string(u), std::to_string(i), std::max(1.0, std::min(5.0, std::round(score))));
    }
  }
  slot = std::make_unique<Ratings>(builder.build(DuplicatePolicy::LastWins));
  return *slot;
}

double item_pair_terms(const Ratings& r) {
  double terms = 0.0;
  for (std::int32_t i = 0; i < r.num_items(); ++i) {
    const auto c = static_cast<double>(r.item_end(i) - r.item_begin(i));
    terms += c * c;
  }
  return terms;
}

/// Top-200 neighbour lists for every user with the fused row kernel (users/s; pair_terms = sum over items of raters^2).
void BM_NeighborsFused(benchmark::State& state) {
  const Ratings& r = synthetic(static_cast<std::int32_t>(state.range(0)));
  SimilarityOptions o;
  o.kernel = SimilarityKernel::Fused;
  o.threads = static_cast<int>(state.range(1));
  for (auto _ : state) benchmark::DoNotOptimize(compute_neighbors(r, o));
  state.SetItemsProcessed(state.iterations() * r.num_users());
  state.counters["ratings"] = static_cast<double>(r.num_ratings());
  state.counters["pair_terms"] = item_pair_terms(r);
}
BENCHMARK(BM_NeighborsFused)->ArgsProduct({{1000, 10000}, {1, 2}})->Unit(benchmark::kMillisecond)->UseRealTime();

/// The same lists with the upper-triangle kernel (each pair once, into a
/// dense matrix; what the automatic choice runs up to 2896 users), with
/// top-200 lists (arg 2 = 200) or every positive neighbour (0, as Surprise).
void BM_NeighborsUpperTriangle(benchmark::State& state) {
  const Ratings& r = synthetic(static_cast<std::int32_t>(state.range(0)));
  SimilarityOptions o;
  o.kernel = SimilarityKernel::UpperTriangle;
  o.threads = static_cast<int>(state.range(1));
  o.max_neighbors = static_cast<int>(state.range(2));
  for (auto _ : state) benchmark::DoNotOptimize(compute_neighbors(r, o));
  state.SetItemsProcessed(state.iterations() * r.num_users());
}
BENCHMARK(BM_NeighborsUpperTriangle)->ArgsProduct({{1000}, {1, 2}, {200, 0}})->Unit(benchmark::kMillisecond)->UseRealTime();

/// The same lists with the user-mean formula (two statistics instead of six).
void BM_NeighborsFusedUserMean(benchmark::State& state) {
  const Ratings& r = synthetic(static_cast<std::int32_t>(state.range(0)));
  SimilarityOptions o;
  o.mean = PearsonMean::User;
  o.threads = 2;
  for (auto _ : state) benchmark::DoNotOptimize(compute_neighbors(r, o));
  state.SetItemsProcessed(state.iterations() * r.num_users());
}
BENCHMARK(BM_NeighborsFusedUserMean)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond)->UseRealTime();

/// The same lists with blocked Eigen sparse-sparse products (the reference kernel).
void BM_NeighborsEigen(benchmark::State& state) {
  const Ratings& r = synthetic(static_cast<std::int32_t>(state.range(0)));
  SimilarityOptions o;
  o.kernel = SimilarityKernel::EigenProducts;
  o.threads = 2;
  for (auto _ : state) benchmark::DoNotOptimize(compute_neighbors(r, o));
  state.SetItemsProcessed(state.iterations() * r.num_users());
}
BENCHMARK(BM_NeighborsEigen)->Arg(1000)->Unit(benchmark::kMillisecond)->UseRealTime();

/// A default KNNWithMeans model for `users` users (fitted once per size) and
/// 1000 seeded (user, item) pairs to predict.
struct PredictFixture {
  const UserKnn& model;
  std::vector<std::pair<std::int32_t, std::int32_t>> pairs;
};

PredictFixture predict_fixture(std::int32_t users) {
  const Ratings& r = synthetic(users);
  static std::map<std::int32_t, std::unique_ptr<UserKnn>> models;
  auto& model = models[users];
  if (!model) model = std::make_unique<UserKnn>(r, KnnOptions{});
  std::mt19937_64 rng(7);
  std::vector<std::pair<std::int32_t, std::int32_t>> pairs(1000);
  for (auto& p : pairs)
    p = {static_cast<std::int32_t>(rng() % static_cast<std::uint64_t>(r.num_users())),
         static_cast<std::int32_t>(rng() % static_cast<std::uint64_t>(r.num_items()))};
  return {*model, std::move(pairs)};
}

/// KNNWithMeans predictions for seeded (user, item) pairs, one by one, one thread (predictions/s).
void BM_Predict(benchmark::State& state) {
  const PredictFixture f = predict_fixture(static_cast<std::int32_t>(state.range(0)));
  for (auto _ : state)
    for (const auto& p : f.pairs) benchmark::DoNotOptimize(f.model.predict(p.first, p.second));
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(f.pairs.size()));
}
BENCHMARK(BM_Predict)->Arg(1000)->Arg(10000)->Unit(benchmark::kMicrosecond);

/// The same predictions through predict_many, one thread: grouped by user,
/// each user's similarities spread over a dense row (predictions/s).
void BM_PredictMany(benchmark::State& state) {
  const PredictFixture f = predict_fixture(static_cast<std::int32_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(f.model.predict_many(f.pairs, 1));
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(f.pairs.size()));
}
BENCHMARK(BM_PredictMany)->Arg(1000)->Arg(10000)->Unit(benchmark::kMicrosecond);

/// Top-10 recommendations for seeded users (users/s).
void BM_Recommend(benchmark::State& state) {
  const Ratings& r = synthetic(static_cast<std::int32_t>(state.range(0)));
  static std::map<std::int64_t, std::unique_ptr<UserKnn>> models;
  auto& model = models[state.range(0)];
  if (!model) model = std::make_unique<UserKnn>(r, KnnOptions{});
  std::int32_t u = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(model->recommend(u, 10));
    u = (u + 97) % r.num_users();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Recommend)->Arg(1000)->Arg(10000)->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
  // --ratings FILE [--sep C]: time the fused kernel on a ratings file as well.
  std::string file;
  char separator = '\t';
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--ratings") == 0 && i + 1 < argc) {
      file = argv[++i];
    } else if (std::strcmp(argv[i], "--sep") == 0 && i + 1 < argc) {
      separator = argv[++i][0];
    } else {
      rest.push_back(argv[i]);
    }
  }
  static std::unique_ptr<Ratings> from_file;
  if (!file.empty()) {
    from_file = std::make_unique<Ratings>(read_ratings(file, RatingsFileOptions{separator, false}));
    benchmark::RegisterBenchmark("BM_NeighborsFusedFile", [](benchmark::State& state) {
      SimilarityOptions o;
      for (auto _ : state) benchmark::DoNotOptimize(compute_neighbors(*from_file, o));
      state.SetItemsProcessed(state.iterations() * from_file->num_users());
      state.counters["pair_terms"] = item_pair_terms(*from_file);
    })->Unit(benchmark::kMillisecond)->UseRealTime();
  }
  int count = static_cast<int>(rest.size());
  benchmark::Initialize(&count, rest.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
