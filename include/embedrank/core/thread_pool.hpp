#pragma once
/// A small fixed-size pool for fork-join parallel regions. run(fn) calls
/// fn(chunk) for chunk = 0 .. size()-1, chunk 0 on the calling thread, and
/// returns when all chunks are done. A pool serves one caller at a time: give
/// each concurrently running request its own pool (the encoder keeps one per
/// workspace), so nothing is shared between requests.

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "embedrank/core/parallel.hpp"

namespace embedrank {

class ThreadPool {
 public:
  /// `threads` <= 0 means all available CPUs; 1 runs everything inline.
  explicit ThreadPool(int threads = 0) : size_(resolve_threads(threads)) {
    for (int i = 1; i < size_; ++i) workers_.emplace_back([this, i] { worker_loop(static_cast<std::size_t>(i)); });
  }

  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
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
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = &fn;
      chunks_ = chunks;
      pending_ = chunks - 1;
      ++generation_;
    }
    wake_.notify_all();
    run_chunk(0);
    {
      std::unique_lock<std::mutex> lock(mutex_);
      done_.wait(lock, [this] { return pending_ == 0; });
      job_ = nullptr;
    }
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

  void worker_loop(std::size_t index) {
    std::size_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
        if (stopping_) return;
        seen = generation_;
        if (index >= chunks_) continue;
      }
      run_chunk(index);
      std::lock_guard<std::mutex> lock(mutex_);
      if (--pending_ == 0) done_.notify_one();
    }
  }

  int size_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const std::function<void(std::size_t)>* job_ = nullptr;
  std::size_t chunks_ = 0;
  std::size_t pending_ = 0;
  std::size_t generation_ = 0;
  bool stopping_ = false;
  std::vector<std::exception_ptr> errors_;
};

}  // namespace embedrank
