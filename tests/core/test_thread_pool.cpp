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

TEST_CASE("with_pool uses the given pool or a capped view of the shared one", "[thread_pool]") {
  ThreadPool pool(2);
  const int shared = ThreadPool::shared().size();
  REQUIRE(shared == embedrank::available_cpus());
  REQUIRE(embedrank::with_pool(&pool, 7, [](ThreadPool& p) { return p.size(); }) == 2);
  REQUIRE(embedrank::with_pool(nullptr, 1, [](ThreadPool& p) { return p.size(); }) == 1);
  REQUIRE(embedrank::with_pool(nullptr, 0, [](ThreadPool& p) { return p.size(); }) == shared);
  REQUIRE(embedrank::with_pool(nullptr, shared + 5, [](ThreadPool& p) { return p.size(); }) == shared);
  REQUIRE(embedrank::pool_threads(&pool, 7) == 2);
  REQUIRE(embedrank::pool_threads(nullptr, 1) == 1);
  REQUIRE(embedrank::pool_threads(nullptr, 0) == shared);
}

TEST_CASE("ThreadPool::shared() is one pool; views of it start no thread", "[thread_pool]") {
  REQUIRE(&ThreadPool::shared() == &ThreadPool::shared());
  ThreadPool four(4);
  ThreadPool two(&four, 2), one(&four, 1), all(&four, 0), capped(&four, 9), nested(&two, 3);
  REQUIRE(two.size() == 2);
  REQUIRE(one.size() == 1);
  REQUIRE(all.size() == 4);
  REQUIRE(capped.size() == 4);
  REQUIRE(nested.size() == 2);
  REQUIRE(ThreadPool(nullptr, 0).size() == ThreadPool::shared().size());
  REQUIRE(ThreadPool(nullptr, 1).size() == 1);
  // A view's region runs on at most its size of slots; threads = 1 stays on the caller.
  for (ThreadPool* view : {&two, &one, &nested}) {
    std::vector<std::atomic<int>> runs(64);
    std::atomic<std::size_t> max_slot{0};
    const auto caller = std::this_thread::get_id();
    std::atomic<bool> left_caller{false};
    view->parallel_for(runs.size(), [&](std::size_t task, std::size_t slot) {
      ++runs[task];
      std::size_t seen = max_slot.load();
      while (slot > seen && !max_slot.compare_exchange_weak(seen, slot)) {
      }
      if (std::this_thread::get_id() != caller) left_caller = true;
    });
    for (auto& r : runs) REQUIRE(r.load() == 1);
    REQUIRE(max_slot.load() < static_cast<std::size_t>(view->size()));
    if (view->size() == 1) REQUIRE_FALSE(left_caller.load());
  }
}
