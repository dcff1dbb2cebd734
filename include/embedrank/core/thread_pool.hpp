#pragma once
/// The one thread pool. Every parallel region in the library (encoder,
/// tokenizer batches, the CF kernels and predictions, the ranker's scans)
/// runs on a ThreadPool.
///
/// One pool per process: ThreadPool::shared() is created on first use with
/// available_cpus() threads (available_cpus() - 1 workers plus the caller)
/// and serves every component that is not handed a pool of its own.
/// Components take an optional `ThreadPool*` (null: the shared pool) and a
/// `threads` count, which caps the threads one region of theirs uses
/// (ThreadPool(pool, max_threads) is such a capped view; it starts no
/// thread): threads = 1 runs on the calling thread only (not even starting
/// the shared pool), and a count above the pool's size is capped at it
/// (hand in a bigger pool for more). No component starts threads per call
/// or per workspace, so N request threads add N threads, never N times the
/// CPU count.
///
/// parallel_for(tasks, fn) calls fn(task) or fn(task, slot) once for every
/// task in [0, tasks). The calling thread works too (slot 0); up to size() - 1
/// workers join in (slots 1..), each claiming the next task from one atomic
/// counter, so uneven tasks even out. A slot is used by one thread at a time:
/// per-slot accumulators need no locking. Results must not depend on which
/// slot ran which task (callers combine per-slot results in a fixed order).
///
/// The caller waits only for tasks that have been claimed: a worker that
/// wakes late finds no task left and leaves. A pool runs one region at a
/// time; a caller that finds it busy (another thread's region, or a task
/// calling back into its own pool) runs its region on its own thread. That
/// is what bounds a process's threads: the pool's workers plus the callers'
/// own threads.

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__linux__)
#include <sched.h>
#endif

#include "embedrank/core/error.hpp"

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

class ThreadPool {
 public:
  /// A pool of `threads` threads, the caller's included (<= 0: all available
  /// CPUs); starts threads - 1 workers, none for 1 (everything runs on the
  /// caller). Throws InputError "too_many_threads" past 65535. Most code
  /// wants shared() or a view of it (below) instead of a pool of its own.
  explicit ThreadPool(int threads = 0) : size_(resolve_threads(threads)) {
    if (size_ > kMaxThreads)
      throw InputError("too_many_threads", std::to_string(size_) + " threads requested; at most " +
                                               std::to_string(kMaxThreads) + " are supported");
    if (size_ > 1) own_ = std::make_unique<Workers>(size_);
    workers_ = own_.get();
  }

  /// A view of `*pool` (null: shared()) that starts no thread: its regions
  /// run on the pool's workers, at most `max_threads` threads each (<= 0:
  /// all of the pool's; more than its size is capped at it). It shares the
  /// pool's one-region-at-a-time rule; the pool must outlive it. With
  /// max_threads = 1 everything runs on the calling thread and the pool is
  /// not touched (shared() is not even started).
  ThreadPool(ThreadPool* pool, int max_threads) : size_(1) {
    if (max_threads == 1) return;
    ThreadPool& base = pool != nullptr ? *pool : shared();
    size_ = max_threads > 0 ? std::min(max_threads, base.size_) : base.size_;
    workers_ = size_ > 1 ? base.workers_ : nullptr;
  }

  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  /// The process's pool: available_cpus() threads, started on first use and
  /// never stopped (it stays usable while the process exits, e.g. by Python
  /// threads still running then). One instance for all translation units of
  /// a program; each shared library that inlines this header with hidden
  /// symbols has its own.
  static ThreadPool& shared() {
    static ThreadPool* const pool = new ThreadPool(0);
    return *pool;
  }

  /// Threads a region may use, the caller's included.
  int size() const { return size_; }

  /// Slots a region of `tasks` tasks uses with at most `max_threads` threads
  /// (<= 0: no limit): min(size(), tasks, max_threads). Size per-slot state by it.
  std::size_t slots(std::size_t tasks, int max_threads = 0) const {
    std::size_t n = std::min(tasks, static_cast<std::size_t>(size_));
    if (max_threads > 0) n = std::min(n, static_cast<std::size_t>(max_threads));
    return n;
  }

  /// Runs fn(task) or fn(task, slot) for every task in [0, tasks) on
  /// slots(tasks, max_threads) slots, returns when all are done and rethrows
  /// the first exception a task threw (the tasks not yet started are then
  /// skipped).
  template <typename Fn>
  void parallel_for(std::size_t tasks, Fn&& fn, int max_threads = 0) {
    // the region holds a wrapper of one reference: no allocation
    if constexpr (std::is_invocable_v<Fn&, std::size_t, std::size_t>) {
      run_region(tasks, slots(tasks, max_threads), Task([&fn](std::size_t task, std::size_t slot) { fn(task, slot); }));
    } else {
      run_region(tasks, slots(tasks, max_threads), Task([&fn](std::size_t task, std::size_t) { fn(task); }));
    }
  }

  /// Splits [0, n) into slots(n) contiguous ranges of near-equal size and
  /// calls fn(begin, end) on each, one range per task.
  template <typename Fn>
  void parallel_ranges(std::size_t n, Fn&& fn) {
    const std::size_t parts = slots(n);
    parallel_for(parts, [&](std::size_t p) { fn(n * p / parts, n * (p + 1) / parts); });
  }

 private:
  using Task = std::function<void(std::size_t, std::size_t)>;

  // The worker threads of a pool and the regions they run.
  class Workers {
   public:
    /// Starts `threads` - 1 workers (slots 1 .. threads - 1).
    explicit Workers(int threads) {
      threads_.reserve(static_cast<std::size_t>(threads - 1));
      for (int i = 1; i < threads; ++i) threads_.emplace_back([this, i] { worker_loop(static_cast<std::size_t>(i)); });
    }

    ~Workers() {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_.store(true);
      }
      wake_.notify_all();
      for (auto& t : threads_) t.join();
    }

    Workers(const Workers&) = delete;
    Workers& operator=(const Workers&) = delete;

    /// Runs fn(task, slot) for every task on `slot_count` (>= 2) slots, or on
    /// the calling thread alone when a region is already running.
    void run(std::size_t tasks, std::size_t slot_count, const Task& fn) {
      bool idle = false;
      if (!busy_.compare_exchange_strong(idle, true)) return run_inline(tasks, fn);
      struct Release {
        std::atomic<bool>& busy;
        ~Release() { busy.store(false); }
      } release{busy_};

      const std::uint64_t generation = ++last_generation_;
      Region& r = regions_[generation % kRegions];
      r.generation.store(0);  // closed: late visitors of its previous use leave
      while (r.visitors.load() != 0) cpu_relax();
      r.fn = &fn;
      r.tasks = tasks;
      r.slots = slot_count;
      r.next.store(0);
      r.done.store(0);
      r.failed.store(false);
      r.error = nullptr;
      r.generation.store(generation);
      {
        // published under the mutex: a worker about to sleep either sees the
        // new ticket or is woken by the notify
        std::lock_guard<std::mutex> lock(mutex_);
        ticket_.store(generation);
      }
      wake_.notify_all();

      r.work(0);
      // The regions of one query follow each other within microseconds: spin
      // a little for the workers' last tasks before sleeping (kSpinIterations).
      for (int i = 0; i < kSpinIterations && r.done.load(std::memory_order_acquire) != tasks; ++i) cpu_relax();
      if (r.done.load(std::memory_order_acquire) != tasks) {
        std::unique_lock<std::mutex> lock(mutex_);
        done_.wait(lock, [&] { return r.done.load(std::memory_order_acquire) == tasks; });
      }
      if (r.error) std::rethrow_exception(r.error);
    }

    static void run_inline(std::size_t tasks, const Task& fn) {
      for (std::size_t task = 0; task < tasks; ++task) fn(task, 0);
    }

   private:
    // One parallel region. Workers enter it through its generation: a worker
    // announces itself (visitors), then checks the generation; the caller
    // closes a region (generation 0) and waits for visitors to leave before
    // reusing it. Four regions rotate, so a worker late for one region never
    // delays the caller of the next.
    struct Region {
      std::atomic<std::uint64_t> generation{0};
      std::atomic<int> visitors{0};
      const Task* fn = nullptr;
      std::size_t tasks = 0;
      std::size_t slots = 0;
      std::atomic<std::size_t> next{0};
      std::atomic<std::size_t> done{0};
      std::atomic<bool> failed{false};
      std::mutex error_mutex;
      std::exception_ptr error;

      // Claims tasks until none is left; every claimed task counts in `done`.
      // Returns true if this thread finished the region's last task.
      bool work(std::size_t slot) {
        bool last = false;
        for (std::size_t task = next.fetch_add(1); task < tasks; task = next.fetch_add(1)) {
          if (!failed.load(std::memory_order_relaxed)) {
            try {
              (*fn)(task, slot);
            } catch (...) {
              std::lock_guard<std::mutex> lock(error_mutex);
              if (!error) error = std::current_exception();
              failed.store(true);
            }
          }
          if (done.fetch_add(1, std::memory_order_acq_rel) + 1 == tasks) last = true;
        }
        return last;
      }
    };

    static void cpu_relax() {
  #if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
  #else
      std::this_thread::yield();
  #endif
    }

    void enter(std::uint64_t generation, std::size_t slot) {
      Region& r = regions_[generation % kRegions];
      r.visitors.fetch_add(1);
      if (r.generation.load() == generation && slot < r.slots && r.work(slot)) {
        std::lock_guard<std::mutex> lock(mutex_);
        done_.notify_all();
      }
      r.visitors.fetch_sub(1);
    }

    void worker_loop(std::size_t slot) {
      std::uint64_t seen = 0;
      for (;;) {
        // Spin briefly for the next region (a query's regions follow each
        // other closely), then sleep on the condition variable.
        for (int i = 0; i < kSpinIterations && ticket_.load(std::memory_order_acquire) == seen && !stopping_.load(); ++i)
          cpu_relax();
        if (ticket_.load(std::memory_order_acquire) == seen && !stopping_.load()) {
          std::unique_lock<std::mutex> lock(mutex_);
          wake_.wait(lock, [&] { return stopping_.load() || ticket_.load(std::memory_order_acquire) != seen; });
        }
        if (stopping_.load()) return;
        seen = ticket_.load(std::memory_order_acquire);
        enter(seen, slot);
      }
    }

    // Pause instructions a waiting thread spins before it sleeps: about 12 us
    // on Zen 5 (~48 ns a pause). Long enough to bridge the gaps between one
    // query's regions; short enough that workers sleep between queries and
    // leave the cores to other work. Chosen by a query's p50/p99 on a loaded
    // 2-core machine against 4096 (~200 us), 1024, and 256 followed by
    // sched_yield or by running solo after a late worker (docs/benchmarks.md).
    static constexpr int kSpinIterations = 256;
    static constexpr std::size_t kRegions = 4;

    std::vector<std::thread> threads_;  // slots 1 .. threads - 1
    std::atomic<bool> busy_{false};  // a region is running
    std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable done_;
    std::atomic<std::uint64_t> ticket_{0};  // generation of the latest region
    std::atomic<bool> stopping_{false};
    std::uint64_t last_generation_ = 0;  // written by the caller holding busy_
    Region regions_[kRegions];
  };

  void run_region(std::size_t tasks, std::size_t slot_count, const Task& fn) {
    if (tasks == 0) return;
    if (slot_count <= 1 || workers_ == nullptr) return Workers::run_inline(tasks, fn);
    workers_->run(tasks, slot_count, fn);
  }

  static constexpr int kMaxThreads = 65535;

  int size_;
  std::unique_ptr<Workers> own_;  // a pool's workers; null in a view and for one thread
  Workers* workers_ = nullptr;    // own_, or the viewed pool's; null: everything inline
};

/// Threads a region run by with_pool(pool, threads, ...) uses at most:
/// pool->size(), else min(threads, the shared pool's size) (<= 0: all of it).
inline int pool_threads(const ThreadPool* pool, int threads) {
  if (pool != nullptr) return pool->size();
  if (threads == 1) return 1;
  const int shared = ThreadPool::shared().size();
  return threads > 0 ? std::min(threads, shared) : shared;
}

/// Runs fn(pool) on `pool` when one is given, else on a view of the shared
/// pool capped at `threads` threads (<= 0: all of it; 1: the calling thread
/// only). Starts no thread.
template <typename Fn>
decltype(auto) with_pool(ThreadPool* pool, int threads, Fn&& fn) {
  if (pool != nullptr) return fn(*pool);
  ThreadPool view(nullptr, threads);
  return fn(view);
}

}  // namespace embedrank
