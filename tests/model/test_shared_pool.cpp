// One thread pool per process (core/thread_pool.hpp): many request threads,
// each with its own EmbedderWorkspace, sharing one EmbeddingIndex, the
// tokenizer and a UserKnn model, add their own threads and nothing more.
// Before the shared pool, every workspace, index and per-call batch started
// a pool of available_cpus() threads: this test saw 44 to 49 threads on 2
// CPUs (bound: 22); with it, 18 (main, 16 callers, 1 worker).

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "embedrank/cf/user_knn.hpp"
#include "embedrank/core/thread_pool.hpp"
#include "embedrank/model/embedder.hpp"
#include "embedrank/rank/embedding_index.hpp"
#include "support/model_fixtures.hpp"

namespace {

using embedrank::MatrixF;
using embedrank::VectorF;

// Threads of this process right now (Linux: one /proc/self/task entry each).
int process_threads() {
  int n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

void raise_to(std::atomic<int>& max, int value) {
  int seen = max.load();
  while (value > seen && !max.compare_exchange_weak(seen, value)) {
  }
}

}  // namespace

TEST_CASE("16 callers of the encoder, index, tokenizer and CF share one pool", "[threads][shared_pool]") {
  constexpr int kCallers = 16;
  constexpr int kSlack = 4;  // the main thread and a spare few
  const int cpus = embedrank::available_cpus();

  const auto embedder = embedrank::model::Embedder::open(test_support::converted_model("bert_gelu_mean"));
  std::vector<std::string> texts;
  {
    std::ifstream in(test_support::model_source_dir("bert_gelu_mean") + "/texts.txt");
    for (std::string line; std::getline(in, line);) texts.push_back(line);
  }
  REQUIRE(!texts.empty());
  std::vector<std::string> many_texts;  // (64) enough for several encode_batch tasks
  for (std::size_t i = 0; many_texts.size() < 64; ++i) many_texts.push_back(texts[i % texts.size()] + " " + std::to_string(i));

  // References, computed on the calling thread alone.
  const MatrixF reference = embedder->embed(texts, 1);  // (B, D)
  const auto reference_ids = embedder->tokenizer().encode_batch(many_texts, {}, 1);

  // A catalogue big enough that a search is split into several tasks.
  const std::size_t n = 8192, d = static_cast<std::size_t>(reference.cols());
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  MatrixF items(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(d));  // (N, D)
  for (Eigen::Index r = 0; r < items.rows(); ++r)
    for (Eigen::Index c = 0; c < items.cols(); ++c) items(r, c) = normal(rng);
  std::vector<std::string> ids(n);
  for (std::size_t r = 0; r < n; ++r) ids[r] = "item" + std::to_string(r);
  embedrank::rank::EmbeddingIndex index(d, embedrank::rank::IndexOptions{embedrank::rank::Metric::Cosine});
  index.add_rows(ids, items);
  const VectorF query = reference.row(0).transpose();
  const auto reference_hits = index.search(query, 10);

  const embedrank::cf::Ratings train =
      embedrank::cf::read_ratings(std::string(EMBEDRANK_TEST_DATA_DIR) + "/cf/synthetic_train.tsv");
  embedrank::cf::KnnOptions knn_options;
  knn_options.k = 10;
  const embedrank::cf::UserKnn knn(train, knn_options);
  std::vector<std::pair<std::int32_t, std::int32_t>> pairs;
  for (std::int32_t u = 0; u < train.num_users(); u += 3)
    for (std::int32_t i = 0; i < train.num_items(); i += 7) pairs.emplace_back(u, i);
  const auto reference_predictions = knn.predict_many(pairs, 1);

  std::atomic<int> max_threads{process_threads()};
  std::atomic<int> ready{0};
  std::vector<int> mismatches(kCallers, 0);
  std::vector<std::thread> callers;
  for (int c = 0; c < kCallers; ++c)
    callers.emplace_back([&, c] {
      // Every caller's workspace exists before any of them starts: with a
      // pool per workspace, that is when the threads would pile up.
      embedrank::model::EmbedderWorkspace ws;  // default: all of the shared pool's threads
      ++ready;
      while (ready.load() < kCallers) std::this_thread::yield();
      raise_to(max_threads, process_threads());
      for (int round = 0; round < 3; ++round) {
        if (embedder->embed(texts, ws) != reference) ++mismatches[c];
        raise_to(max_threads, process_threads());
        const auto hits = index.search(query, 10);
        for (std::size_t h = 0; h < hits.size(); ++h)
          if (hits.size() != reference_hits.size() || hits[h].row != reference_hits[h].row) ++mismatches[c];
        raise_to(max_threads, process_threads());
        const auto encodings = embedder->tokenizer().encode_batch(many_texts, {}, 0);
        for (std::size_t t = 0; t < encodings.size(); ++t)
          if (encodings[t].ids != reference_ids[t].ids) ++mismatches[c];
        raise_to(max_threads, process_threads());
        const auto predictions = knn.predict_many(pairs, 0);
        for (std::size_t p = 0; p < predictions.size(); ++p)
          if (predictions[p].value != reference_predictions[p].value) ++mismatches[c];
        raise_to(max_threads, process_threads());
      }
    });
  for (auto& t : callers) t.join();
  const int after = process_threads();

  INFO("available CPUs " << cpus << "; most threads seen " << max_threads.load() << ", after " << after);
  for (int m : mismatches) CHECK(m == 0);
  CHECK(max_threads.load() <= cpus + kCallers + kSlack);
  CHECK(after <= cpus + kSlack);
}
