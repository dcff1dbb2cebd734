// Exact top-k search throughput (queries/s) of EmbeddingIndex, and the
// machine's plain memory-read bandwidth over a buffer of the catalogue's
// size, measured in the same run so single-query searches can be reported as
// a fraction of it.
//
// N = items, D = 384, k = results, Q = queries per call.
//
// Synthetic mode (no extra flags): seeded uniform data, N in {10k, 100k, 1M},
// k in {10, 100}, Q in {1, 64}, without and with an exclusion bitmap of 10%
// of the items (every row with hash(row) % 10 == 0).
//
// File mode (used by bench/compare_faiss.py, so FAISS and embedrank search
// the same data): --items ITEMS.npy --queries QUERIES.npy [--exclude ROWS.txt]
// [--k 10,100] [--threads T]; ROWS.txt lists excluded row numbers, one per
// line. Google Benchmark flags (--benchmark_*) pass through.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "embedrank/core/cpu_features.hpp"
#include "embedrank/core/npy.hpp"
#include "embedrank/core/thread_pool.hpp"
#include "embedrank/rank/embedding_index.hpp"

#if EMBEDRANK_X86_KERNELS
#include <immintrin.h>
#endif

namespace {

using embedrank::MatrixF;
using embedrank::rank::EmbeddingIndex;
using embedrank::rank::ItemBitmap;
using embedrank::rank::SearchFilter;

constexpr std::size_t kDim = 384;  // D
constexpr std::size_t kBatch = 64;

struct Workload {
  std::unique_ptr<EmbeddingIndex> index;
  MatrixF queries;  // (Q, D)
  ItemBitmap excluded;
  std::size_t excluded_count = 0;
  std::vector<float> read_buffer;  // (N * D) floats for the read-bandwidth reference
};

int g_threads = 0;
// The pool every search and the read reference run on, made once in main().
std::unique_ptr<embedrank::ThreadPool> g_pool;

embedrank::rank::IndexOptions index_options() {
  embedrank::rank::IndexOptions options;
  options.threads = g_threads;
  options.pool = g_pool.get();
  return options;
}

std::uint64_t mix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// deterministic values in [-1, 1)
float uniform(std::uint64_t seed) { return static_cast<float>(mix(seed) >> 40) / 8388608.0f - 1.0f; }

void fill_read_buffer(Workload& w, std::size_t n) {
  w.read_buffer.assign(n * kDim, 0.0f);
  for (std::size_t i = 0; i < w.read_buffer.size(); i += 997) w.read_buffer[i] = uniform(i);
}

// One synthetic workload alive at a time (the 1M catalogue is 1.5 GB).
Workload& synthetic(std::size_t n) {
  static std::size_t current_n = 0;
  static Workload w;
  if (current_n == n) return w;
  w = Workload{};
  current_n = n;
  w.index = std::make_unique<EmbeddingIndex>(kDim, index_options());
  const std::size_t block = 4096;
  MatrixF rows(static_cast<Eigen::Index>(block), static_cast<Eigen::Index>(kDim));  // (block, D)
  for (std::size_t begin = 0; begin < n; begin += block) {
    const std::size_t count = std::min(block, n - begin);
    std::vector<std::string> ids;
    for (std::size_t i = 0; i < count; ++i) {
      ids.push_back(std::to_string(begin + i));
      for (std::size_t j = 0; j < kDim; ++j)
        rows(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = uniform((begin + i) * kDim + j);
    }
    w.index->add_rows(ids, rows.data(), count, kDim);
  }
  w.queries.resize(static_cast<Eigen::Index>(kBatch), static_cast<Eigen::Index>(kDim));
  for (Eigen::Index q = 0; q < w.queries.rows(); ++q)
    for (Eigen::Index j = 0; j < w.queries.cols(); ++j)
      w.queries(q, j) = uniform(0xABCDEFull + static_cast<std::uint64_t>(q * w.queries.cols() + j));
  w.excluded = ItemBitmap(n);
  for (std::size_t row = 0; row < n; ++row)
    if (mix(row ^ 0x5151ull) % 10 == 0) {
      w.excluded.set(row);
      ++w.excluded_count;
    }
  fill_read_buffer(w, n);
  return w;
}

Workload g_file_workload;

// sum of [p, last), a multiple of 64 floats; AVX2 when the CPU has it, chosen
// at run time like the index's kernels, so bench_topk_portable reads as fast
#if EMBEDRANK_X86_KERNELS
EMBEDRANK_TARGET_AVX2 float sum_floats_avx2(const float* p, const float* last) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (; p < last; p += 64) {
    a0 = _mm256_add_ps(a0, _mm256_add_ps(_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8)));
    a1 = _mm256_add_ps(a1, _mm256_add_ps(_mm256_loadu_ps(p + 16), _mm256_loadu_ps(p + 24)));
    a2 = _mm256_add_ps(a2, _mm256_add_ps(_mm256_loadu_ps(p + 32), _mm256_loadu_ps(p + 40)));
    a3 = _mm256_add_ps(a3, _mm256_add_ps(_mm256_loadu_ps(p + 48), _mm256_loadu_ps(p + 56)));
  }
  float lanes[8];
  _mm256_storeu_ps(lanes, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  float sum = 0.0f;
  for (float v : lanes) sum += v;
  return sum;
}
#endif
float sum_floats(const float* p, const float* last) {
#if EMBEDRANK_X86_KERNELS
  static const bool avx2 = embedrank::detected_simd_level() != embedrank::SimdLevel::Portable;
  if (avx2) return sum_floats_avx2(p, last);
#endif
  float sum = 0.0f;
  for (; p < last; ++p) sum += *p;
  return sum;
}

// sum of all floats with all threads: the plain read bandwidth a scan could
// reach. Same work split as the search (64-row tasks claimed dynamically by
// the caller and the pool's workers), so both see the same machine.
float read_all(const std::vector<float>& buffer) {
  const std::size_t blocks = buffer.size() / 64;  // 64-float blocks (256 bytes)
  const std::size_t tasks = std::min(blocks, static_cast<std::size_t>(g_pool->size()) * 16);
  std::vector<float> partial(g_pool->slots(tasks), 0.0f);
  g_pool->parallel_for(tasks, [&](std::size_t task, std::size_t slot) {
    const float* p = buffer.data() + blocks * task / tasks * 64;
    const float* last = buffer.data() + blocks * (task + 1) / tasks * 64;
    partial[slot] += sum_floats(p, last);
  });
  float total = 0.0f;
  for (float v : partial) total += v;
  return total;
}

void run_search(benchmark::State& state, Workload& w, std::size_t k, std::size_t queries, bool filtered) {
  SearchFilter filter;
  if (filtered) filter.exclude = &w.excluded;
  const std::size_t n = w.index->rows();
  const std::size_t query_rows = static_cast<std::size_t>(w.queries.rows());
  std::size_t next = 0;
  for (auto _ : state) {
    if (queries == 1) {
      // a different query each time, as in a serving loop
      auto result = w.index->search(w.queries.row(static_cast<Eigen::Index>(next)).data(), kDim, k, filter);
      benchmark::DoNotOptimize(result.data());
      next = (next + 1) % query_rows;
    } else {
      auto result = w.index->search_batch(w.queries.data(), queries, kDim, k, filter);
      benchmark::DoNotOptimize(result.data());
    }
  }
  const std::size_t rows_read = n - (filtered ? w.excluded_count : 0);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * queries));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * rows_read * kDim * sizeof(float)));
  state.counters["threads"] = static_cast<double>(w.index->threads());
}

/// Queries/s of search (Q = 1) or search_batch (Q = 64), args: N, k, Q, filter (0/1).
void BM_Search(benchmark::State& state) {
  Workload& w = synthetic(static_cast<std::size_t>(state.range(0)));
  run_search(state, w, static_cast<std::size_t>(state.range(1)), static_cast<std::size_t>(state.range(2)),
             state.range(3) != 0);
}

/// Plain read bandwidth over N * D floats with the same threads, arg: N.
void BM_ReadBandwidth(benchmark::State& state) {
  Workload& w = synthetic(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(read_all(w.read_buffer));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * w.read_buffer.size() * sizeof(float)));
  state.counters["threads"] = g_pool->size();
}

void register_synthetic() {
  for (long n : {10000L, 100000L, 1000000L}) {
    benchmark::RegisterBenchmark("BM_ReadBandwidth", BM_ReadBandwidth)->Arg(n)->UseRealTime();
    for (long k : {10L, 100L})
      for (long q : {1L, 64L})
        for (long filter : {0L, 1L})
          benchmark::RegisterBenchmark("BM_Search", BM_Search)
              ->Args({n, k, q, filter})
              ->ArgNames({"N", "k", "Q", "filter"})
              ->UseRealTime();
  }
}

std::vector<std::size_t> parse_list(const std::string& text) {
  std::vector<std::size_t> out;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) out.push_back(static_cast<std::size_t>(std::stoull(item)));
  return out;
}

void register_file_mode(const std::string& items_path, const std::string& queries_path, const std::string& exclude_path,
                        const std::vector<std::size_t>& ks) {
  Workload& w = g_file_workload;
  w.index = std::make_unique<EmbeddingIndex>(
      EmbeddingIndex::load(items_path, "", index_options()));
  w.queries = embedrank::read_npy(queries_path);
  const std::size_t n = w.index->rows();
  w.excluded = ItemBitmap(n);
  if (!exclude_path.empty()) {
    std::ifstream in(exclude_path);
    std::string line;
    while (std::getline(in, line))
      if (!line.empty()) {
        w.excluded.set(static_cast<std::size_t>(std::stoull(line)));
        ++w.excluded_count;
      }
  }
  fill_read_buffer(w, n);
  const std::size_t batch = static_cast<std::size_t>(w.queries.rows());
  benchmark::RegisterBenchmark("BM_ReadBandwidth", [](benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(read_all(g_file_workload.read_buffer));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * g_file_workload.read_buffer.size() * sizeof(float)));
  })->UseRealTime();
  for (std::size_t k : ks)
    for (std::size_t q : {std::size_t{1}, batch})
      for (bool filtered : {false, true}) {
        if (filtered && exclude_path.empty()) continue;
        const std::string name = "BM_Search/k:" + std::to_string(k) + "/Q:" + std::to_string(q) +
                                 "/filter:" + std::to_string(filtered ? 1 : 0);
        benchmark::RegisterBenchmark(name.c_str(), [k, q, filtered](benchmark::State& state) {
          run_search(state, g_file_workload, k, q, filtered);
        })->UseRealTime();
      }
}

}  // namespace

int main(int argc, char** argv) {
  std::string items_path, queries_path, exclude_path;
  std::vector<std::size_t> ks = {10, 100};
  std::vector<char*> passed_on = {argv[0]};
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    const bool has_value = i + 1 < argc;
    if (flag == "--items" && has_value) {
      items_path = argv[++i];
    } else if (flag == "--queries" && has_value) {
      queries_path = argv[++i];
    } else if (flag == "--exclude" && has_value) {
      exclude_path = argv[++i];
    } else if (flag == "--k" && has_value) {
      ks = parse_list(argv[++i]);
    } else if (flag == "--threads" && has_value) {
      g_threads = std::atoi(argv[++i]);
    } else {
      passed_on.push_back(argv[i]);
    }
  }
  int passed_count = static_cast<int>(passed_on.size());
  benchmark::Initialize(&passed_count, passed_on.data());
  if (benchmark::ReportUnrecognizedArguments(passed_count, passed_on.data())) return 1;
  try {
    g_pool = std::make_unique<embedrank::ThreadPool>(g_threads);
    if (!items_path.empty())
      register_file_mode(items_path, queries_path, exclude_path, ks);
    else
      register_synthetic();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_topk: %s\n", e.what());
    return 1;
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
