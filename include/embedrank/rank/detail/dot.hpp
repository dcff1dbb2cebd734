#pragma once
/// Dot-product kernels for the ranker. Every (query, item) score is computed
/// in one canonical order, whatever the tile shape, thread split or SIMD level:
///
///   lanes[l] = fma(q[j + l], x[j + l], lanes[l])   for j = 0, 8, 16, ... < DP
///   score    = ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7))
///
/// so a single query, a batch, the scalar reference and every kernel family
/// give bit-identical scores. DP = dimension padded to a multiple of 8 (rows
/// and queries are stored zero-padded to DP, so there is no tail).
///
/// QT = queries per register tile, IT = items per register tile.
///
///   kernels       one (query, item) pair in
///   PortableDot   eight float lanes in plain C++ (dot_reference)
///   Avx2Dot       one ymm (AVX2 + FMA; F16C widens fp16 items)
///   Avx512Dot     one 256-bit half of a zmm: two items side by side share
///                 each FMA, each half is exactly the AVX2 lane order
///                 (batches; a single query runs the AVX2 tiles)
///
/// The family is chosen at run time (core/cpu_features.hpp: CPUID, lowered by
/// EMBEDRANK_SIMD), never by the program's compile flags: every kernel
/// carries its own target attribute.

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "embedrank/core/cpu_features.hpp"
#include "embedrank/core/detail/avx512_warnings.hpp"
#include "embedrank/core/half.hpp"

#if EMBEDRANK_X86_KERNELS
#include <immintrin.h>
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

/// Plain C++: runs anywhere.
struct PortableDot {
  static constexpr SimdLevel level = SimdLevel::Portable;

  /// scores[q * IT + i] = <queries[q], items[i]> for a QT x IT tile.
  template <int QT, int IT, typename Item>
  static void tile(const float* const* queries, const Item* const* items, std::size_t padded_dim, float* scores) {
    for (int q = 0; q < QT; ++q)
      for (int i = 0; i < IT; ++i) scores[q * IT + i] = dot_reference(queries[q], items[i], padded_dim);
  }
};

#if EMBEDRANK_X86_KERNELS
EMBEDRANK_AVX512_WARNINGS_OFF

EMBEDRANK_TARGET_AVX2 inline __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
EMBEDRANK_TARGET_AVX2 inline __m256 load8(const std::uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7)), as in dot_reference
EMBEDRANK_TARGET_AVX2 inline float reduce8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

/// AVX2 + FMA (+ F16C for fp16 items): one ymm accumulator per (query, item).
struct Avx2Dot {
  static constexpr SimdLevel level = SimdLevel::Avx2;

  /// scores[q * IT + i] = <queries[q], items[i]> for a QT x IT tile.
  template <int QT, int IT, typename Item>
  EMBEDRANK_TARGET_AVX2 static void tile(const float* const* queries, const Item* const* items, std::size_t padded_dim,
                                         float* scores) {
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
};

// Lanes j .. j + 7 of items a (low half) and b (high half).
EMBEDRANK_TARGET_AVX512 inline __m512 load8x2(const float* a, const float* b) {
  return _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_loadu_ps(a)), _mm256_loadu_ps(b), 1);
}
EMBEDRANK_TARGET_AVX512 inline __m512 load8x2(const std::uint16_t* a, const std::uint16_t* b) {
  const __m256i halves = _mm256_inserti128_si256(
      _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a))),
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(b)), 1);
  return _mm512_cvtph_ps(halves);
}

// Lanes j .. j + 7 of a query in both halves.
EMBEDRANK_TARGET_AVX512 inline __m512 broadcast8(const float* p) { return _mm512_broadcast_f32x8(_mm256_loadu_ps(p)); }

/// AVX-512 for batches: the items of a tile in pairs, one item per 256-bit
/// half of a zmm, so each FMA advances two (query, item) pairs and each half
/// accumulates in the canonical 8-lane order. A single query (QT = 1) and an
/// odd item count (IT = 1) run on Avx2Dot: a single query's scan is
/// memory-bound, and pairing its rows measured slower on Zen 5 (two rows per
/// chain one after the other: half the speed; all pairs at once: 8% faster
/// in cache, 18% slower from memory); batches gain 30-40%
/// (docs/benchmarks.md).
struct Avx512Dot {
  static constexpr SimdLevel level = SimdLevel::Avx512;

  /// scores[q * IT + i] = <queries[q], items[i]> for a QT x IT tile.
  template <int QT, int IT, typename Item>
  EMBEDRANK_TARGET_AVX512 static void tile(const float* const* queries, const Item* const* items,
                                           std::size_t padded_dim, float* scores) {
    if constexpr (QT == 1 || IT % 2 != 0) {
      Avx2Dot::tile<QT, IT>(queries, items, padded_dim, scores);
    } else {
      constexpr int P = IT / 2;  // item pairs
      __m512 acc[QT][P];
      for (int q = 0; q < QT; ++q)
        for (int p = 0; p < P; ++p) acc[q][p] = _mm512_setzero_ps();
      for (std::size_t j = 0; j < padded_dim; j += kLanes) {
        __m512 qv[QT];
        for (int q = 0; q < QT; ++q) qv[q] = broadcast8(queries[q] + j);
        for (int p = 0; p < P; ++p) {
          const __m512 x = load8x2(items[2 * p] + j, items[2 * p + 1] + j);
          for (int q = 0; q < QT; ++q) acc[q][p] = _mm512_fmadd_ps(qv[q], x, acc[q][p]);
        }
      }
      for (int q = 0; q < QT; ++q)
        for (int p = 0; p < P; ++p) store_pair(acc[q][p], scores + q * IT + 2 * p);
    }
  }

 private:
  // scores[0], scores[1] = the canonical sums of the low and high half
  EMBEDRANK_TARGET_AVX512 static void store_pair(__m512 acc, float* scores) {
    scores[0] = reduce8(_mm512_castps512_ps256(acc));
    scores[1] = reduce8(_mm512_extractf32x8_ps(acc, 1));
  }
};

EMBEDRANK_AVX512_WARNINGS_ON
#endif  // EMBEDRANK_X86_KERNELS

/// Calls f(Kernels{}) with the dot kernels of `level` (PortableDot, Avx2Dot or
/// Avx512Dot) and returns its result. `level` must be one the CPU supports
/// (supported_simd_level, default_simd_level).
template <typename F>
decltype(auto) with_dot_kernels(SimdLevel level, F&& f) {
#if EMBEDRANK_X86_KERNELS
  if (level == SimdLevel::Avx512) return f(Avx512Dot{});
  if (level == SimdLevel::Avx2) return f(Avx2Dot{});
#endif
  return f(PortableDot{});
}

/// scores[q * IT + i] = <queries[q], items[i]> for a QT x IT tile, on the
/// kernels of `level` (one the CPU supports).
template <int QT, int IT, typename Item>
void dot_tile(SimdLevel level, const float* const* queries, const Item* const* items, std::size_t padded_dim,
              float* scores) {
  with_dot_kernels(level, [&](auto kernels) {
    decltype(kernels)::template tile<QT, IT>(queries, items, padded_dim, scores);
  });
}

}  // namespace embedrank::rank::detail
