#pragma once
/// ItemBitmap: one bit per catalogue row, for search exclusions and
/// attribute filters (rank/embedding_index.hpp, rank/query_attributes.hpp).

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "embedrank/core/error.hpp"

namespace embedrank::rank {

/// One bit per catalogue row. As SearchFilter::exclude, a set bit excludes
/// that row from a search, and rows at or past size() are not excluded
/// (items added after the bitmap was built). Row numbers change only in
/// EmbeddingIndex::compact().
class ItemBitmap {
 public:
  ItemBitmap() = default;
  explicit ItemBitmap(std::size_t size) : size_(size), words_((size + 63) / 64, 0) {}

  std::size_t size() const { return size_; }

  /// Sets the bit of `row`; throws InputError if row >= size().
  void set(std::size_t row) {
    check(row);
    words_[row / 64] |= std::uint64_t{1} << (row % 64);
  }
  /// Clears the bit of `row`; throws InputError if row >= size().
  void reset(std::size_t row) {
    check(row);
    words_[row / 64] &= ~(std::uint64_t{1} << (row % 64));
  }
  /// True if `row` is excluded; rows >= size() are not.
  bool test(std::size_t row) const { return row < size_ && ((words_[row / 64] >> (row % 64)) & 1u) != 0; }

  /// 64-bit word w holds rows [64 w, 64 w + 64), bit r % 64 for row r; 0 past the end.
  std::uint64_t word(std::size_t w) const { return w < words_.size() ? words_[w] : 0; }

 private:
  void check(std::size_t row) const {
    if (row >= size_)
      throw InputError("bitmap_out_of_range",
                       "row " + std::to_string(row) + " is outside an ItemBitmap of size " + std::to_string(size_));
  }

  std::size_t size_ = 0;
  std::vector<std::uint64_t> words_;  // (ceil(size / 64))
};

}  // namespace embedrank::rank
