#pragma once
/// Pieces shared by the float and int8 GEMM loops of nn/packed_linear.hpp:
/// aligned storage, the split of rows into register tiles, and the
/// activation epilogue of a tile.

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include "embedrank/core/tensor.hpp"

#include "embedrank/nn/activations.hpp"

namespace embedrank::nn::detail {

/// 64-byte aligned storage (one cache line, one AVX-512 vector).
struct AlignedFree {
  void operator()(void* p) const { std::free(p); }
};
using AlignedBytes = std::unique_ptr<unsigned char[], AlignedFree>;

inline AlignedBytes aligned_bytes(std::size_t n) {
  const std::size_t rounded = (std::max<std::size_t>(n, 1) + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded);
  if (p == nullptr) throw std::bad_alloc();
  std::memset(p, 0, rounded);
  return AlignedBytes(static_cast<unsigned char*>(p));
}

/// Applies `act` to `cols` values in place. The values pass through a fixed,
/// aligned buffer so every element takes the same vectorised path whatever
/// its address: the result of an element never depends on where its row sits.
inline void activate_span(Activation act, float* values, int cols) {
  constexpr int kWidth = 32;
  alignas(64) Eigen::Matrix<float, kWidth, 1> buffer;
  for (int c0 = 0; c0 < cols; c0 += kWidth) {
    const int n = std::min(kWidth, cols - c0);
    if (n == kWidth) {
      std::memcpy(buffer.data(), values + c0, sizeof(float) * kWidth);  // a fixed size: no library call
    } else {
      buffer.setZero();
      for (int i = 0; i < n; ++i) buffer[i] = values[c0 + i];
    }
    activate_inplace(act, buffer);
    if (n == kWidth) std::memcpy(values + c0, buffer.data(), sizeof(float) * kWidth);
    else for (int i = 0; i < n; ++i) values[c0 + i] = buffer[i];
  }
}

/// Splits rows [r0, r1) into the fewest register tiles of at most `mr` rows,
/// of near-equal size (12 rows with MR 12: one tile; 16: two of 8), and calls
/// fn(row, rows) for each. A row's result does not depend on its tile.
template <typename Fn>
void for_each_row_tile(Eigen::Index r0, Eigen::Index r1, Eigen::Index mr, Fn&& fn) {
  const Eigen::Index n = r1 - r0;
  if (n <= 0) return;
  const Eigen::Index tiles = (n + mr - 1) / mr, base = n / tiles, longer = n % tiles;
  for (Eigen::Index t = 0, r = r0; t < tiles; ++t) {
    const Eigen::Index rows = base + (t < longer ? 1 : 0);
    fn(r, rows);
    r += rows;
  }
}

}  // namespace embedrank::nn::detail
