#pragma once
/// How every kernel spreads its users over the pool: blocks claimed in
/// order, one worker (its scratch) per slot, the first exception stopping
/// the others.

#include <cstddef>
#include <optional>
#include <vector>

#include "embedrank/core/thread_pool.hpp"

namespace embedrank::cf::detail {

/// Runs blocks 0..num_blocks-1 on `pool`, claimed in order. Each slot calls
/// make_worker() once, on its first block, and runs the returned callable
/// on each block it claims. The first exception skips the blocks not yet
/// started and is rethrown.
template <typename MakeWorker>
void run_blocks(std::size_t num_blocks, ThreadPool& pool, MakeWorker&& make_worker) {
  using Worker = decltype(make_worker());
  std::vector<std::optional<Worker>> workers(pool.slots(num_blocks));  // (slots)
  pool.parallel_for(num_blocks, [&](std::size_t block, std::size_t slot) {
    if (!workers[slot]) workers[slot].emplace(make_worker());
    (*workers[slot])(block);
  });
}

}  // namespace embedrank::cf::detail
