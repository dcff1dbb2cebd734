#pragma once
/// A small pool of persistent helper threads for the ranker's scans.
///
/// run(tasks, helpers, fn) calls fn(task, slot) once for every task in
/// [0, tasks). The calling thread works too (slot 0); up to `helpers` pool
/// threads join in (slots 1..helpers), each claiming tasks one at a time from
/// a shared counter. A slot is used by one thread at a time, so per-slot
/// accumulators need no locking.
///
/// Why not one std::thread per call: on a busy machine a fresh thread may not
/// be scheduled for a whole time slice, and joining it stalls the query. Here
/// a helper that arrives late simply finds no task left; the caller only ever
/// waits for tasks that some thread has already started.

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace embedrank {
namespace rank {
namespace detail {

class WorkPool {
 public:
  /// The process-wide pool used by EmbeddingIndex searches.
  static WorkPool& shared() {
    static WorkPool pool;
    return pool;
  }

  WorkPool() = default;
  WorkPool(const WorkPool&) = delete;
  WorkPool& operator=(const WorkPool&) = delete;

  ~WorkPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto& worker : workers_) worker.join();
  }

  /// Runs fn(task, slot) for every task in [0, tasks), slots 0..helpers; returns
  /// when all tasks are done and rethrows the first exception a task threw
  /// (the remaining tasks are then skipped).
  void run(std::size_t tasks, int helpers, const std::function<void(std::size_t, std::size_t)>& fn) {
    if (tasks == 0) return;
    helpers = std::max(0, std::min<int>(helpers, static_cast<int>(tasks) - 1));
    auto job = std::make_shared<Job>(fn, tasks, static_cast<std::size_t>(helpers) + 1);
    if (helpers > 0) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        while (workers_.size() < static_cast<std::size_t>(helpers)) workers_.emplace_back([this] { work(); });
        jobs_.push_back(job);
      }
      wake_.notify_all();
    }
    job->work_on(0);
    {
      std::unique_lock<std::mutex> lock(job->mutex);
      job->finished.wait(lock, [&] { return job->done == job->tasks; });
    }
    if (helpers > 0) retire(job);
    if (job->error) std::rethrow_exception(job->error);
  }

 private:
  struct Job {
    Job(const std::function<void(std::size_t, std::size_t)>& fn_, std::size_t tasks_, std::size_t slots_)
        : fn(fn_), tasks(tasks_), slots(slots_) {}

    // claims tasks until none is left; every claimed task is counted in `done`
    void work_on(std::size_t slot) {
      for (std::size_t task = next.fetch_add(1); task < tasks; task = next.fetch_add(1)) {
        if (!failed.load()) {
          try {
            fn(task, slot);
          } catch (...) {
            std::lock_guard<std::mutex> lock(mutex);
            if (!error) error = std::current_exception();
            failed.store(true);
          }
        }
        std::lock_guard<std::mutex> lock(mutex);
        if (++done == tasks) finished.notify_all();
      }
    }

    const std::function<void(std::size_t, std::size_t)>& fn;
    const std::size_t tasks;
    const std::size_t slots;
    std::atomic<std::size_t> next{0};
    std::atomic<std::size_t> next_slot{1};  // slot 0 is the caller's
    std::atomic<bool> failed{false};
    std::mutex mutex;
    std::condition_variable finished;
    std::size_t done = 0;  // guarded by mutex
    std::exception_ptr error;
  };

  void retire(const std::shared_ptr<Job>& job) {
    std::lock_guard<std::mutex> lock(mutex_);
    jobs_.erase(std::remove(jobs_.begin(), jobs_.end(), job), jobs_.end());
  }

  void work() {
    for (;;) {
      std::shared_ptr<Job> job;
      std::size_t slot = 0;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        for (;;) {
          wake_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
          if (stopping_) return;
          job = jobs_.front();
          slot = job->next_slot.fetch_add(1);
          // a job leaves the queue once all its slots are taken or its tasks claimed
          if (slot + 1 >= job->slots || job->next.load() >= job->tasks) jobs_.pop_front();
          if (slot < job->slots && job->next.load() < job->tasks) break;
        }
      }
      job->work_on(slot);
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Job>> jobs_;
  std::vector<std::thread> workers_;
  bool stopping_ = false;
};

}  // namespace detail
}  // namespace rank
}  // namespace embedrank
