// The one thread pool (core/thread_pool.hpp): every task runs exactly once,
// slots stay in range and are never shared at the same time, exceptions
// reach the caller, concurrent and nested callers do not mix their tasks.

#include <catch2/catch.hpp>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "embedrank/core/thread_pool.hpp"

using embedrank::ThreadPool;

TEST_CASE("ThreadPool runs every task once on slots 0..slots()-1", "[thread_pool]") {
  const int threads = GENERATE(1, 2, 4);
  ThreadPool pool(threads);
  const std::size_t tasks = GENERATE(1u, 2u, 97u);
  const int max_threads = GENERATE(0, 2);
  const std::size_t slots = pool.slots(tasks, max_threads);
  REQUIRE(slots >= 1);
  REQUIRE(slots <= tasks);
  std::vector<std::atomic<int>> runs(tasks);
  std::vector<std::atomic<int>> busy(slots);
  std::atomic<bool> slot_shared{false}, slot_out_of_range{false};
  for (int round = 0; round < 20; ++round) {
    for (auto& r : runs) r = 0;
    pool.parallel_for(
        tasks,
        [&](std::size_t task, std::size_t slot) {
          if (slot >= slots) {
            slot_out_of_range = true;
            return;
          }
          if (busy[slot].fetch_add(1) != 0) slot_shared = true;
          ++runs[task];
          busy[slot].fetch_sub(1);
        },
        max_threads);
    for (std::size_t t = 0; t < tasks; ++t) REQUIRE(runs[t].load() == 1);
  }
  REQUIRE_FALSE(slot_shared.load());
  REQUIRE_FALSE(slot_out_of_range.load());
}

TEST_CASE("ThreadPool::parallel_ranges covers [0, n) once in contiguous ranges", "[thread_pool]") {
  ThreadPool pool(3);
  for (std::size_t n : {0u, 1u, 2u, 10u, 1001u}) {
    std::vector<std::atomic<int>> covered(n);
    std::atomic<bool> empty_range{false};
    pool.parallel_ranges(n, [&](std::size_t begin, std::size_t end) {
      if (begin >= end) empty_range = true;
      for (std::size_t i = begin; i < end; ++i) ++covered[i];
    });
    REQUIRE_FALSE(empty_range.load());
    for (auto& c : covered) REQUIRE(c.load() == 1);
  }
}

TEST_CASE("ThreadPool rethrows the first exception and stays usable", "[thread_pool]") {
  ThreadPool pool(3);
  REQUIRE_THROWS_WITH(pool.parallel_for(50,
                                        [](std::size_t task) {
                                          if (task == 7) throw std::runtime_error("task 7 failed");
                                        }),
                      "task 7 failed");
  std::atomic<int> count{0};
  pool.parallel_for(50, [&](std::size_t) { ++count; });
  REQUIRE(count.load() == 50);
}

TEST_CASE("ThreadPool serves concurrent callers", "[thread_pool]") {
  ThreadPool pool(3);
  std::vector<std::atomic<int>> sums(4);
  std::vector<std::thread> callers;
  for (std::size_t c = 0; c < sums.size(); ++c)
    callers.emplace_back([&, c] {
      for (int round = 0; round < 25; ++round)
        pool.parallel_for(40, [&](std::size_t task) { sums[c] += static_cast<int>(task); });
    });
  for (auto& t : callers) t.join();
  for (auto& s : sums) REQUIRE(s.load() == 25 * (39 * 40 / 2));
}

TEST_CASE("A task may call back into its own pool", "[thread_pool]") {
  ThreadPool pool(2);
  std::atomic<int> count{0};
  pool.parallel_for(8, [&](std::size_t) { pool.parallel_for(5, [&](std::size_t) { ++count; }); });
  REQUIRE(count.load() == 40);
}

TEST_CASE("with_pool uses the given pool or one made for the call", "[thread_pool]") {
  ThreadPool pool(2);
  REQUIRE(embedrank::with_pool(&pool, 7, [](ThreadPool& p) { return p.size(); }) == 2);
  REQUIRE(embedrank::with_pool(nullptr, 3, [](ThreadPool& p) { return p.size(); }) == 3);
  REQUIRE(embedrank::threads_for(8, 0) == 1);
  REQUIRE(embedrank::threads_for(8, 3) == 3);
  REQUIRE(embedrank::threads_for(2, 30) == 2);
}
