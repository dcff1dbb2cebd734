// The ranker's helper-thread pool (rank/detail/work_pool.hpp): every task runs
// exactly once, slots stay in range and are never shared at the same time,
// exceptions reach the caller, concurrent callers do not mix their tasks.

#include <catch2/catch.hpp>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

#include "embedrank/rank/detail/work_pool.hpp"

using embedrank::rank::detail::WorkPool;

TEST_CASE("WorkPool runs every task once on slots 0..helpers", "[work_pool]") {
  WorkPool pool;
  const int helpers = GENERATE(0, 1, 3);
  const std::size_t tasks = GENERATE(1u, 2u, 97u);
  std::vector<std::atomic<int>> runs(tasks);
  std::vector<std::atomic<int>> busy(static_cast<std::size_t>(helpers) + 1);
  std::atomic<bool> slot_shared{false}, slot_out_of_range{false};
  for (int round = 0; round < 20; ++round) {
    for (auto& r : runs) r = 0;
    pool.run(tasks, helpers, [&](std::size_t task, std::size_t slot) {
      if (slot > static_cast<std::size_t>(helpers)) {
        slot_out_of_range = true;
        return;
      }
      if (busy[slot].fetch_add(1) != 0) slot_shared = true;
      ++runs[task];
      busy[slot].fetch_sub(1);
    });
    for (std::size_t t = 0; t < tasks; ++t) REQUIRE(runs[t].load() == 1);
  }
  REQUIRE_FALSE(slot_shared.load());
  REQUIRE_FALSE(slot_out_of_range.load());
}

TEST_CASE("WorkPool rethrows the first exception and stays usable", "[work_pool]") {
  WorkPool pool;
  REQUIRE_THROWS_WITH(pool.run(50, 2,
                               [](std::size_t task, std::size_t) {
                                 if (task == 7) throw std::runtime_error("task 7 failed");
                               }),
                      "task 7 failed");
  std::atomic<int> count{0};
  pool.run(50, 2, [&](std::size_t, std::size_t) { ++count; });
  REQUIRE(count.load() == 50);
}

TEST_CASE("WorkPool serves concurrent callers", "[work_pool]") {
  WorkPool pool;
  std::vector<std::atomic<int>> sums(4);
  std::vector<std::thread> callers;
  for (std::size_t c = 0; c < sums.size(); ++c)
    callers.emplace_back([&, c] {
      for (int round = 0; round < 25; ++round)
        pool.run(40, 2, [&](std::size_t task, std::size_t) { sums[c] += static_cast<int>(task); });
    });
  for (auto& t : callers) t.join();
  for (auto& s : sums) REQUIRE(s.load() == 25 * (39 * 40 / 2));
}
