#pragma once
/// An uninitialised array for large working memory. On Linux, from 4 to 16
/// MiB, it is aligned to 2 MiB and advised for transparent huge pages, so
/// first touching it costs one page fault per 2 MiB instead of one per 4
/// KiB. In a virtual machine a 4 KiB fault was measured at 3 us: for the
/// 1000-user fit, whose matrix and lists are about 14 MiB, huge pages took
/// the fit from 22-27 ms to 16-17 ms. Not above 16 MiB: there the faults
/// are a small part of the work, and a huge page the host has not backed
/// yet was measured 4x slower per byte to touch than 4 KiB pages (a 10k-user
/// fit with 400 MiB of lists took 3.3 s instead of 2.65 s). Where the advice
/// is not available or refused the memory is plain, with the same behaviour.

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <new>
#include <type_traits>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace embedrank {

template <typename T>
class LargeArray {
  static_assert(std::is_trivially_default_constructible<T>::value && std::is_trivially_destructible<T>::value,
                "LargeArray holds uninitialised trivial values");

 public:
  /// size values, not initialised. Throws std::bad_alloc.
  explicit LargeArray(std::size_t size) : size_(size) {
    if (size > static_cast<std::size_t>(-1) / sizeof(T)) throw std::bad_alloc();
    const std::size_t bytes = size * sizeof(T);
#if defined(__linux__)
    constexpr std::size_t kHugePage = std::size_t{2} << 20;
    if (bytes >= 2 * kHugePage && bytes <= 8 * kHugePage) {
      const std::size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;  // aligned_alloc wants a multiple
      data_ = static_cast<T*>(std::aligned_alloc(kHugePage, rounded));
      if (data_ == nullptr) throw std::bad_alloc();
      madvise(data_, rounded, MADV_HUGEPAGE);  // advice only: without huge pages the memory is plain
      return;
    }
#endif
    data_ = static_cast<T*>(std::malloc(bytes > 0 ? bytes : 1));
    if (data_ == nullptr) throw std::bad_alloc();
  }
  ~LargeArray() { std::free(data_); }
  LargeArray(const LargeArray&) = delete;
  LargeArray& operator=(const LargeArray&) = delete;

  T* data() { return data_; }
  const T* data() const { return data_; }
  T& operator[](std::size_t i) { return data_[i]; }
  const T& operator[](std::size_t i) const { return data_[i]; }
  std::size_t size() const { return size_; }

 private:
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

/// Hands out slices of LargeArray blocks to concurrent callers (a bump
/// pointer under a mutex): results built piece by piece by several threads
/// land in a few large blocks (the first ones huge-page-backed) instead of
/// thousands of separate allocations, each grown and faulted in page by
/// page. Blocks grow with what has been handed out, from 4 MiB to 256 MiB;
/// a block's unused tail is left when a slice does not fit. Slices live as
/// long as the arena.
template <typename T>
class SliceArena {
 public:
  /// count uninitialised values. Throws std::bad_alloc.
  T* allocate(std::size_t count) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (blocks_.empty() || used_ + count > blocks_.back()->size()) {
      const std::size_t smallest = (std::size_t{4} << 20) / sizeof(T), largest = (std::size_t{256} << 20) / sizeof(T);
      blocks_.push_back(std::make_unique<LargeArray<T>>(std::max(count, std::min(largest, std::max(smallest, reserved_)))));
      reserved_ += blocks_.back()->size();
      used_ = 0;
    }
    T* slice = blocks_.back()->data() + used_;
    used_ += count;
    return slice;
  }

  /// Bytes of the blocks.
  std::size_t reserved_bytes() const { return reserved_ * sizeof(T); }

 private:
  std::mutex mutex_;
  std::vector<std::unique_ptr<LargeArray<T>>> blocks_;
  std::size_t used_ = 0;      // values handed out from the last block
  std::size_t reserved_ = 0;  // values in all blocks
};

}  // namespace embedrank
