#pragma once
/// Dot-product kernels for the ranker. Every (query, item) score is computed
/// in one canonical order, whatever the tile shape or thread split:
///
///   lanes[l] = fma(q[j + l], x[j + l], lanes[l])   for j = 0, 8, 16, ... < DP
///   score    = ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7))
///
/// so a single query, a batch and the scalar reference give bit-identical
/// scores. DP = dimension padded to a multiple of 8 (rows and queries are
/// stored zero-padded to DP, so there is no tail).
///
/// QT = queries per register tile, IT = items per register tile.

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "embedrank/core/half.hpp"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>
#define EMBEDRANK_RANK_AVX2 1
#endif

namespace embedrank::rank::detail {

constexpr std::size_t kLanes = 8;

inline std::size_t padded_dimension(std::size_t dim) { return (dim + kLanes - 1) / kLanes * kLanes; }

inline float to_float(float value) { return value; }
inline float to_float(std::uint16_t value) { return fp16_to_float(value); }

/// The canonical score in plain C++ (std::fma per lane); the reference the
/// vector kernels are tested against bit for bit.
template <typename Item>
float dot_reference(const float* query, const Item* item, std::size_t padded_dim) {
  float lanes[kLanes] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (std::size_t j = 0; j < padded_dim; j += kLanes)
    for (std::size_t l = 0; l < kLanes; ++l) lanes[l] = std::fma(query[j + l], to_float(item[j + l]), lanes[l]);
  const float a0 = lanes[0] + lanes[4], a1 = lanes[1] + lanes[5], a2 = lanes[2] + lanes[6], a3 = lanes[3] + lanes[7];
  return (a0 + a2) + (a1 + a3);
}

#if defined(EMBEDRANK_RANK_AVX2)

inline __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
inline __m256 load8(const std::uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }

// ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7)), as in dot_reference
inline float reduce8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

/// scores[q * IT + i] = <queries[q], items[i]> for a QT x IT tile.
template <int QT, int IT, typename Item>
inline void dot_tile(const float* const* queries, const Item* const* items, std::size_t padded_dim, float* scores) {
  if (QT == 1) {
    // one row after the other: a single linear stream for the prefetchers
    for (int i = 0; i < IT; ++i) {
      __m256 row_acc = _mm256_setzero_ps();
      for (std::size_t j = 0; j < padded_dim; j += kLanes)
        row_acc = _mm256_fmadd_ps(_mm256_loadu_ps(queries[0] + j), load8(items[i] + j), row_acc);
      scores[i] = reduce8(row_acc);
    }
    return;
  }
  __m256 acc[QT][IT];
  for (int q = 0; q < QT; ++q)
    for (int i = 0; i < IT; ++i) acc[q][i] = _mm256_setzero_ps();
  for (std::size_t j = 0; j < padded_dim; j += kLanes) {
    __m256 qv[QT];
    for (int q = 0; q < QT; ++q) qv[q] = _mm256_loadu_ps(queries[q] + j);
    for (int i = 0; i < IT; ++i) {
      const __m256 x = load8(items[i] + j);
      for (int q = 0; q < QT; ++q) acc[q][i] = _mm256_fmadd_ps(qv[q], x, acc[q][i]);
    }
  }
  for (int q = 0; q < QT; ++q)
    for (int i = 0; i < IT; ++i) scores[q * IT + i] = reduce8(acc[q][i]);
}

#else

/// scores[q * IT + i] = <queries[q], items[i]> for a QT x IT tile.
template <int QT, int IT, typename Item>
inline void dot_tile(const float* const* queries, const Item* const* items, std::size_t padded_dim, float* scores) {
  for (int q = 0; q < QT; ++q)
    for (int i = 0; i < IT; ++i) scores[q * IT + i] = dot_reference(queries[q], items[i], padded_dim);
}

#endif

}  // namespace embedrank::rank::detail
