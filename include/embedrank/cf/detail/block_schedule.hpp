#pragma once
/// How every kernel spreads its users over threads: blocks handed out in
/// order, the first exception stopping the others.

#include <atomic>
#include <cstddef>

#include "embedrank/core/parallel.hpp"

namespace embedrank::cf::detail {

/// Hands blocks 0..num_blocks-1 out to `threads` threads in order. Each
/// thread calls make_worker() once and runs the returned callable on each
/// block it takes. The first exception stops every thread at its next block
/// and is rethrown.
template <typename MakeWorker>
void run_blocks(std::size_t num_blocks, int threads, MakeWorker&& make_worker) {
  std::atomic<std::size_t> next_block{0};
  std::atomic<bool> failed{false};
  parallel_chunks(static_cast<std::size_t>(threads), threads, [&](std::size_t, std::size_t, std::size_t) {
    auto worker = make_worker();
    try {
      for (std::size_t b = next_block++; b < num_blocks && !failed.load(std::memory_order_relaxed); b = next_block++)
        worker(b);
    } catch (...) {
      failed = true;
      throw;
    }
  });
}

}  // namespace embedrank::cf::detail
