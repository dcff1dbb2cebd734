// The live shop's costs at N products (D = 384): what the reader/writer lock
// adds to a search, what a copy-on-write snapshot would cost per update (the
// alternative the lock was chosen over), an upsert that changes a price and
// one that changes a title, and opening a saved shop state.
//
// The catalogue is synthetic (titles and attributes from small word lists,
// vectors seeded random): the guide takes the vectors as an index whose rows
// are the catalogue's, so nothing is embedded to build it. Embedding a
// changed title and a query uses the model at EMBEDRANK_MODEL (default
// models/all-MiniLM-L6-v2.f32.bin).
//
//   build/bin/bench_shop --benchmark_filter=Upsert --benchmark_repetitions=5

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <shared_mutex>
#include <string>
#include <vector>

#include "embedrank/core/shared_mutex.hpp"
#include "embedrank/shop/shopping_guide.hpp"

namespace {

using embedrank::Catalogue;
using embedrank::Product;
using embedrank::ShoppingGuide;

const char* const kBrands[] = {"Acme", "Zenith", "Orbit", "Pacewell", "Orla Rae", "Linden & Lark"};
const char* const kColours[] = {"red", "blue", "green", "black", "white"};
const char* const kThings[] = {"summer dress", "running shoes", "frying pan", "green tea", "tent", "keyboard"};

std::string model_path() {
  const char* path = std::getenv("EMBEDRANK_MODEL");
  return path != nullptr ? path : "models/all-MiniLM-L6-v2.f32.bin";
}

std::shared_ptr<const embedrank::model::Embedder> embedder() {
  static auto e = embedrank::model::Embedder::open(model_path());
  return e;
}

Product product(std::size_t i) {
  Product p;
  p.id = "P" + std::to_string(i);
  p.brand = kBrands[i % 6];
  p.colour = kColours[i % 5];
  p.category = i % 3 == 0 ? "Clothing" : "Home";
  p.title = p.brand + " " + p.colour + " " + kThings[i % 6] + " model " + std::to_string(i);
  p.description = "Item number " + std::to_string(i) + " of the synthetic shop.";
  p.price = 1.0 + static_cast<double>(i % 500);
  return p;
}

// A guide over n synthetic products with random unit vectors (nothing embedded).
std::unique_ptr<ShoppingGuide> guide_of(std::size_t n) {
  Catalogue catalogue;
  std::vector<Product> products;
  for (std::size_t i = 0; i < n; ++i) products.push_back(product(i));
  catalogue.upsert(products);
  embedrank::rank::IndexOptions options;
  options.metric = embedrank::rank::Metric::Cosine;
  embedrank::rank::EmbeddingIndex index(384, options);
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  embedrank::MatrixF vectors(static_cast<Eigen::Index>(n), 384);
  for (Eigen::Index r = 0; r < vectors.rows(); ++r)
    for (Eigen::Index c = 0; c < 384; ++c) vectors(r, c) = normal(rng);
  std::vector<std::string> ids;
  for (const Product& p : products) ids.push_back(p.id);
  index.add_rows(ids, vectors);
  embedrank::ShoppingGuideOptions guide_options;
  guide_options.threads = 1;
  return std::make_unique<ShoppingGuide>(embedder(), std::move(catalogue), std::move(index), guide_options);
}

ShoppingGuide& cached_guide(std::size_t n) {
  static std::size_t cached_n = 0;
  static std::unique_ptr<ShoppingGuide> guide;
  if (cached_n != n) {
    guide = guide_of(n);
    cached_n = n;
  }
  return *guide;
}

/// One shared lock and unlock of the guide's SharedMutex, uncontended: its cost per search.
void BM_SharedLock(benchmark::State& state) {
  static embedrank::SharedMutex mutex;
  for (auto _ : state) {
    std::shared_lock<embedrank::SharedMutex> lock(mutex);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_SharedLock)->ThreadRange(1, 2);

/// The index scan of one search (query vector given) at N products, without a lock.
void BM_ScanOnly(benchmark::State& state) {
  ShoppingGuide& guide = cached_guide(static_cast<std::size_t>(state.range(0)));
  const embedrank::VectorF query = guide.index().vector(7);
  for (auto _ : state) benchmark::DoNotOptimize(guide.index().search(query, 10));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ScanOnly)->Arg(10000)->Arg(100000)->Unit(benchmark::kMicrosecond);

/// The same scan inside the guide's read lock, as search() and read() take it.
void BM_ScanUnderLock(benchmark::State& state) {
  ShoppingGuide& guide = cached_guide(static_cast<std::size_t>(state.range(0)));
  const embedrank::VectorF query = guide.index().vector(7);
  for (auto _ : state)
    benchmark::DoNotOptimize(guide.read([&](const Catalogue&, const embedrank::rank::EmbeddingIndex& index,
                                            const embedrank::rank::CatalogueAttributes&) {
      return index.search(query, 10);
    }));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ScanUnderLock)->Arg(10000)->Arg(100000)->Unit(benchmark::kMicrosecond);

/// What a copy-on-write snapshot pays per update: a copy of the catalogue and the index.
void BM_SnapshotCopy(benchmark::State& state) {
  ShoppingGuide& guide = cached_guide(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    Catalogue catalogue = guide.catalogue();
    embedrank::rank::EmbeddingIndex index = guide.index();
    benchmark::DoNotOptimize(catalogue);
    benchmark::DoNotOptimize(index);
  }
}
BENCHMARK(BM_SnapshotCopy)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);

// A new value every call, across runs and repetitions, so every upsert changes something.
std::size_t next_change() {
  static std::size_t counter = 0;
  return counter++;
}

/// upsert() of one product whose price changed: no embedding.
void BM_UpsertPrice(benchmark::State& state) {
  ShoppingGuide& guide = cached_guide(static_cast<std::size_t>(state.range(0)));
  embedrank::model::EmbedderWorkspace ws(1);
  for (auto _ : state) {
    const std::size_t i = next_change();
    Product p = product(i % 1000);
    p.price = 1000.0 + static_cast<double>(i);
    benchmark::DoNotOptimize(guide.upsert({p}, ws));
  }
}
BENCHMARK(BM_UpsertPrice)->Arg(10000)->Arg(100000)->Unit(benchmark::kMicrosecond);

/// upsert() of one product whose title changed: one text embedded.
void BM_UpsertTitle(benchmark::State& state) {
  ShoppingGuide& guide = cached_guide(static_cast<std::size_t>(state.range(0)));
  embedrank::model::EmbedderWorkspace ws(1);
  for (auto _ : state) {
    const std::size_t i = next_change();
    Product p = product(i % 1000);
    p.title += " edition " + std::to_string(i);
    benchmark::DoNotOptimize(guide.upsert({p}, ws));
  }
}
BENCHMARK(BM_UpsertTitle)->Arg(10000)->Arg(100000)->Unit(benchmark::kMicrosecond);

/// ShoppingGuide::open of a saved state of N products: vectors mapped, catalogue parsed.
void BM_OpenState(benchmark::State& state) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  const std::string dir = (std::filesystem::temp_directory_path() / ("embedrank-bench-shop-" + std::to_string(n))).string();
  cached_guide(n).save(dir);
  for (auto _ : state) benchmark::DoNotOptimize(ShoppingGuide::open(dir, embedder()));
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_OpenState)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);

/// The vectors' part of open: EmbeddingIndex::open_stored_rows maps the file (ids given).
void BM_OpenVectors(benchmark::State& state) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  ShoppingGuide& guide = cached_guide(n);
  const std::string path =
      (std::filesystem::temp_directory_path() / ("embedrank-bench-vectors-" + std::to_string(n))).string();
  {
    std::ofstream out(path, std::ios::binary);
    guide.index().write_stored_rows(out);
  }
  std::vector<std::string> ids;
  for (std::size_t row = 0; row < n; ++row) ids.push_back(guide.catalogue().product(row).id);
  const std::vector<bool> removed(n, false);
  embedrank::rank::IndexOptions options;
  options.metric = embedrank::rank::Metric::Cosine;
  for (auto _ : state)
    benchmark::DoNotOptimize(embedrank::rank::EmbeddingIndex::open_stored_rows(path, 384, ids, removed, options));
  std::filesystem::remove(path);
}
BENCHMARK(BM_OpenVectors)->Arg(10000)->Arg(100000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
