#pragma once
/// Explicit, bounded threading. Work is split into contiguous chunks, one per
/// thread; the caller's thread runs the first chunk. Results never depend on
/// the thread count when callers combine per-chunk results deterministically.

#include <algorithm>
#include <cstddef>
#include <exception>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <sched.h>
#endif

namespace embedrank {

/// Number of CPUs this process may run on (affinity mask), at least 1.
inline int available_cpus() {
#if defined(__linux__)
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
#endif
  const unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? static_cast<int>(n) : 1;
}

/// Resolves a caller's thread request: <= 0 means "all available CPUs".
inline int resolve_threads(int requested) { return requested > 0 ? requested : available_cpus(); }

/// Calls fn(begin, end, chunk_index) on `chunks` contiguous slices of [0, n),
/// chunk i on its own thread (chunk 0 on the calling thread). chunks is
/// clamped to [1, n]. The first exception thrown by any chunk is rethrown
/// after all threads have joined.
template <typename Fn>
void parallel_chunks(std::size_t n, int chunks, Fn&& fn) {
  if (n == 0) return;
  const std::size_t c = std::max<std::size_t>(1, std::min<std::size_t>(n, static_cast<std::size_t>(std::max(1, chunks))));
  if (c == 1) {
    fn(std::size_t{0}, n, std::size_t{0});
    return;
  }
  std::vector<std::exception_ptr> errors(c);
  auto run = [&](std::size_t i) {
    const std::size_t begin = n * i / c;
    const std::size_t end = n * (i + 1) / c;
    try {
      fn(begin, end, i);
    } catch (...) {
      errors[i] = std::current_exception();
    }
  };
  std::vector<std::thread> workers;
  workers.reserve(c - 1);
  for (std::size_t i = 1; i < c; ++i) workers.emplace_back(run, i);
  run(0);
  for (auto& w : workers) w.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace embedrank
