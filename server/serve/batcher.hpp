#pragma once
// Dynamic batching: the sequences of concurrent requests are packed into one
// encoder batch, so 64 clients sending one short text each cost one forward
// pass of 64 sequences, not 64 passes of one.
//
// One worker thread owns the encoder. Request threads tokenize, enqueue their
// sequences and wait. The worker takes queued sequences in arrival order
// until the next would pass max_batch_tokens (a longer sequence runs alone),
// runs one packed forward pass on the process's thread pool, pools every
// sequence and hands each request its rows. While it runs, the next batch
// gathers. With `wait` > 0 a batch is held until that long after its first
// sequence arrived (or until it is full) for more to join; 0 runs whatever is
// queued at once, which adds nothing to a lone request.
//
// A batch never changes a sequence's bits: the encoder packs sequences
// without padding and computes each one's attention over its own tokens, so
// a request gets exactly the embedding Embedder::embed gives its text.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "embedrank/model/embedder.hpp"
#include "serve/metrics.hpp"

namespace serve {

struct BatcherOptions {
  std::size_t max_batch_tokens = 16384;  ///< tokens per encoder batch (a longer sequence runs alone)
  std::chrono::microseconds wait{0};     ///< how long a batch waits for more sequences
  int threads = 0;                       ///< encoder threads (<= 0: the whole pool)
};

/// The queue is closed: the service is shutting down.
struct BatcherStopped : std::runtime_error {
  BatcherStopped() : std::runtime_error("the encoder queue is closed") {}
};

class EmbedBatcher {
 public:
  EmbedBatcher(std::shared_ptr<const embedrank::model::Embedder> embedder, BatcherOptions options, Metrics* metrics)
      : embedder_(std::move(embedder)), options_(options), metrics_(metrics) {
    pooling_ = embedder_->encoder().pooling();
    pooling_.normalize = false;  // each request normalises (or not) its own rows
    worker_ = std::thread([this] { run(); });
  }
  ~EmbedBatcher() { stop(); }
  EmbedBatcher(const EmbedBatcher&) = delete;
  EmbedBatcher& operator=(const EmbedBatcher&) = delete;

  /// The pooled embeddings (B, D), not normalised, of `sequences` (each a
  /// finished encoder sequence, special tokens included). Blocks until every
  /// one has run. Throws what the encoder threw, or BatcherStopped.
  embedrank::MatrixF embed(const std::vector<embedrank::text::Encoding>& sequences) {
    Job job;
    job.out.resize(static_cast<Eigen::Index>(sequences.size()),
                   static_cast<Eigen::Index>(pooling_.modes.size()) * embedder_->encoder().config().hidden_size);
    job.remaining = sequences.size();
    if (sequences.empty()) return job.out;
    std::unique_lock<std::mutex> lock(mutex_);
    if (stopping_) throw BatcherStopped();
    const auto now = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < sequences.size(); ++i) {
      queue_.push_back(Pending{&job, &sequences[i], i, now});
      queued_tokens_ += sequences[i].ids.size();
    }
    if (metrics_) metrics_->queue_sequences = static_cast<std::int64_t>(queue_.size());
    wake_.notify_one();
    job.done.wait(lock, [&] { return job.remaining == 0; });
    if (job.error) std::rethrow_exception(job.error);
    return std::move(job.out);
  }

  /// Runs what is queued, then ends the worker; later embed() calls throw BatcherStopped.
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    if (worker_.joinable()) worker_.join();
  }

 private:
  struct Job {
    embedrank::MatrixF out;  // (B, D)
    std::size_t remaining = 0;
    std::exception_ptr error;
    std::condition_variable done;
  };
  struct Pending {
    Job* job;
    const embedrank::text::Encoding* sequence;
    std::size_t row;
    std::chrono::steady_clock::time_point since;
  };

  void run() {
    embedrank::model::EmbedderWorkspace ws(options_.threads);
    const auto& encoder = embedder_->encoder();
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      if (options_.wait.count() > 0 && !stopping_)
        wake_.wait_until(lock, queue_.front().since + options_.wait,
                         [&] { return stopping_ || queued_tokens_ >= options_.max_batch_tokens; });

      embedrank::model::TokenBatch batch;
      std::vector<Pending> taken;
      std::size_t tokens = 0;
      while (!queue_.empty()) {
        const Pending& next = queue_.front();
        const std::size_t n = next.sequence->ids.size();
        if (!taken.empty() && tokens + n > options_.max_batch_tokens) break;
        batch.add(next.sequence->ids, next.sequence->type_ids);
        tokens += n;
        taken.push_back(next);
        queue_.pop_front();
      }
      queued_tokens_ -= tokens;
      if (metrics_) metrics_->queue_sequences = static_cast<std::int64_t>(queue_.size());
      lock.unlock();

      embedrank::MatrixF pooled;
      std::exception_ptr error;
      try {
        pooled = encoder.pool(encoder.forward(batch, ws.encoder), batch, pooling_);  // (taken, D)
      } catch (...) {
        error = std::current_exception();
      }
      if (metrics_) metrics_->observe_batch(taken.size(), tokens);

      lock.lock();
      for (std::size_t i = 0; i < taken.size(); ++i) {
        Job& job = *taken[i].job;
        if (error)
          job.error = error;
        else
          job.out.row(static_cast<Eigen::Index>(taken[i].row)) = pooled.row(static_cast<Eigen::Index>(i));
        if (--job.remaining == 0) job.done.notify_one();
      }
    }
  }

  std::shared_ptr<const embedrank::model::Embedder> embedder_;
  BatcherOptions options_;
  Metrics* metrics_;
  embedrank::model::PoolingConfig pooling_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Pending> queue_;
  std::size_t queued_tokens_ = 0;
  bool stopping_ = false;
  std::thread worker_;  // started last: it reads everything above
};

}  // namespace serve
