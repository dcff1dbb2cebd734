#pragma once
/// A small fixed-size pool for fork-join parallel regions. run(fn) calls
/// fn(chunk) for chunk = 0 .. size()-1, chunk 0 on the calling thread, and
/// returns when all chunks are done. A pool serves one caller at a time: give
/// each concurrently running request its own pool (the encoder keeps one per
/// workspace), so nothing is shared between requests.

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "embedrank/core/error.hpp"
#include "embedrank/core/parallel.hpp"

namespace embedrank {

class ThreadPool {
 public:
  /// `threads` <= 0 means all available CPUs; 1 runs everything inline.
  /// Throws InputError "too_many_threads" past 65535 threads.
  explicit ThreadPool(int threads = 0) : size_(resolve_threads(threads)) {
    if (size_ > static_cast<int>(kChunkMask))
      throw InputError("too_many_threads", std::to_string(size_) + " threads requested; at most " +
                                               std::to_string(kChunkMask) + " are supported");
    for (int i = 1; i < size_; ++i) workers_.emplace_back([this, i] { worker_loop(static_cast<std::size_t>(i)); });
  }

  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_.store(true, std::memory_order_release);
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
  }

  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return size_; }

  /// Runs fn(chunk) for every chunk in [0, chunks) (chunks <= size()), then
  /// rethrows the first exception any chunk threw.
  void run(std::size_t chunks, const std::function<void(std::size_t)>& fn) {
    if (chunks == 0) return;
    if (chunks > static_cast<std::size_t>(size_)) chunks = static_cast<std::size_t>(size_);
    if (chunks == 1) {
      fn(0);
      return;
    }
    errors_.assign(chunks, nullptr);
    job_ = &fn;
    pending_.store(chunks - 1, std::memory_order_relaxed);
    {
      // A new ticket (generation and chunk count in one word, so a worker
      // never pairs one region's generation with another's count) is
      // published under the mutex: a worker about to sleep either sees it or
      // is woken by the notify.
      std::lock_guard<std::mutex> lock(mutex_);
      const std::uint64_t generation = (ticket_.load(std::memory_order_relaxed) >> kChunkBits) + 1;
      ticket_.store(generation << kChunkBits | chunks, std::memory_order_release);
    }
    wake_.notify_all();
    run_chunk(0);
    // A parallel region of the encoder lasts tens of microseconds: spin a
    // little before sleeping, so that waking costs no system call.
    for (int i = 0; i < kSpinIterations && pending_.load(std::memory_order_acquire) != 0; ++i) cpu_relax();
    if (pending_.load(std::memory_order_acquire) != 0) {
      std::unique_lock<std::mutex> lock(mutex_);
      done_.wait(lock, [this] { return pending_.load(std::memory_order_acquire) == 0; });
    }
    job_ = nullptr;
    for (auto& e : errors_)
      if (e) std::rethrow_exception(e);
  }

  /// Splits [0, n) into at most size() contiguous ranges, calls fn(begin, end).
  template <typename Fn>
  void parallel_for(std::size_t n, Fn&& fn) {
    const std::size_t chunks = std::min<std::size_t>(n, static_cast<std::size_t>(size_));
    if (chunks == 0) return;
    run(chunks, [&](std::size_t c) { fn(n * c / chunks, n * (c + 1) / chunks); });
  }

 private:
  void run_chunk(std::size_t chunk) {
    try {
      (*job_)(chunk);
    } catch (...) {
      errors_[chunk] = std::current_exception();
    }
  }

  static void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }

  void worker_loop(std::size_t index) {
    std::uint64_t seen = 0;
    for (;;) {
      // Spin briefly for the next region (they follow each other closely in
      // the encoder), then sleep on the condition variable.
      for (int i = 0; i < kSpinIterations && ticket_.load(std::memory_order_acquire) == seen &&
                      !stopping_.load(std::memory_order_acquire);
           ++i)
        cpu_relax();
      if (ticket_.load(std::memory_order_acquire) == seen && !stopping_.load(std::memory_order_acquire)) {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] {
          return stopping_.load(std::memory_order_acquire) || ticket_.load(std::memory_order_acquire) != seen;
        });
      }
      if (stopping_.load(std::memory_order_acquire)) return;
      seen = ticket_.load(std::memory_order_acquire);
      if (index >= (seen & kChunkMask)) continue;
      run_chunk(index);
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lock(mutex_);
        done_.notify_one();
      }
    }
  }

  /// About 20-50 microseconds of pause instructions.
  static constexpr int kSpinIterations = 1 << 12;
  static constexpr int kChunkBits = 16;
  static constexpr std::uint64_t kChunkMask = (std::uint64_t{1} << kChunkBits) - 1;

  int size_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const std::function<void(std::size_t)>* job_ = nullptr;
  std::atomic<std::size_t> pending_{0};
  std::atomic<std::uint64_t> ticket_{0};  // generation << kChunkBits | chunks
  std::atomic<bool> stopping_{false};
  std::vector<std::exception_ptr> errors_;
};

}  // namespace embedrank
