#pragma once
// PyIndex: an EmbeddingIndex shared by Python threads (bind_index.cpp), also
// read by the Recommender and retrieve_then_rerank bindings.

#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <utility>

#include "common.hpp"
#include "embedrank/rank/embedding_index.hpp"

namespace embedrank_python {

namespace rank = embedrank::rank;

class PyIndex {
 public:
  explicit PyIndex(rank::EmbeddingIndex index, bool integer_ids)
      : index_(std::make_unique<rank::EmbeddingIndex>(std::move(index))), integer_ids_(integer_ids) {}

  /// Runs `work(index)` with the GIL released under a shared (read) lock.
  /// A Python callback of this thread's own read (retrieve_then_rerank's
  /// scorer) reads under the lock already held.
  template <typename Work>
  auto read(Work work) const {
    py::gil_scoped_release unlocked;
    if (reading_ == this) return work(static_cast<const rank::EmbeddingIndex&>(*index_));
    std::shared_lock<std::shared_mutex> lock(mutex_);
    const Reading mark(this);
    return work(static_cast<const rank::EmbeddingIndex&>(*index_));
  }
  /// Runs `work(index)` with the GIL released under an exclusive lock;
  /// InputError "input.index_in_use" from a callback of this thread's own
  /// read (waiting for the lock there would never end).
  template <typename Work>
  auto write(Work work) {
    if (reading_ == this)
      throw InputError("index_in_use", "the EmbeddingIndex cannot change while a call that reads it (retrieve_then_rerank) "
                                       "runs the callback that tries to");
    py::gil_scoped_release unlocked;
    std::unique_lock<std::shared_mutex> lock(mutex_);
    return work(*index_);
  }
  /// The index for what never changes after construction (dim, metric).
  const rank::EmbeddingIndex& unlocked() const { return *index_; }

  bool integer_ids() const { return integer_ids_; }
  void note_ids(bool integer) { integer_ids_ = integer_ids_ && integer; }

 private:
  // Marks this thread as reading `index` for the scope (nested reads of
  // other indexes restore the outer mark).
  struct Reading {
    explicit Reading(const PyIndex* index) : outer(reading_) { reading_ = index; }
    ~Reading() { reading_ = outer; }
    const PyIndex* outer;
  };
  static inline thread_local const PyIndex* reading_ = nullptr;

  std::unique_ptr<rank::EmbeddingIndex> index_;
  mutable std::shared_mutex mutex_;
  bool integer_ids_;  // every id so far was an int: results give int ids
};

}  // namespace embedrank_python
