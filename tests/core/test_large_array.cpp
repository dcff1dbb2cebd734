#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <thread>
#include <vector>

#include "embedrank/core/large_array.hpp"

using namespace embedrank;

TEST_CASE("LargeArray holds what is written, small and huge-page sized", "[large_array]") {
  for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{1000}, (std::size_t{9} << 20) / sizeof(double) + 3}) {
    LargeArray<double> a(size);
    REQUIRE(a.size() == size);
    REQUIRE(a.data() != nullptr);
    for (std::size_t i = 0; i < size; ++i) a[i] = static_cast<double>(i) * 0.5;
    bool same = true;
    for (std::size_t i = 0; i < size; ++i) same = same && a[i] == static_cast<double>(i) * 0.5;
    CHECK(same);
  }
  CHECK_THROWS_AS(LargeArray<double>(static_cast<std::size_t>(-1) / 4), std::bad_alloc);
}

TEST_CASE("SliceArena gives disjoint slices to concurrent callers", "[large_array]") {
  SliceArena<std::int32_t> arena;
  constexpr int kThreads = 4, kSlicesEach = 300;
  std::vector<std::vector<std::pair<std::int32_t*, std::size_t>>> slices(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int s = 0; s < kSlicesEach; ++s) {
        // Sizes from 1 to past a first block (4 MiB = 2^20 values): every slice fits somewhere.
        const std::size_t count = s == 7 ? (std::size_t{3} << 20) / 2 : static_cast<std::size_t>(1 + (s * 7919 + t * 104729) % 5000);
        std::int32_t* slice = arena.allocate(count);
        std::fill(slice, slice + count, t * kSlicesEach + s);
        slices[static_cast<std::size_t>(t)].emplace_back(slice, count);
      }
    });
  for (std::thread& th : threads) th.join();
  // Every slice still holds its own value: none overlapped another.
  bool intact = true;
  std::size_t total = 0;
  for (int t = 0; t < kThreads; ++t)
    for (int s = 0; s < kSlicesEach; ++s) {
      const auto& slice = slices[static_cast<std::size_t>(t)][static_cast<std::size_t>(s)];
      total += slice.second;
      intact = intact && std::all_of(slice.first, slice.first + slice.second,
                                     [&](std::int32_t v) { return v == t * kSlicesEach + s; });
    }
  CHECK(intact);
  CHECK(arena.reserved_bytes() >= total * sizeof(std::int32_t));
}
