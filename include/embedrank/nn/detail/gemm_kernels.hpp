#pragma once
/// GEMM micro-kernels, the only place in the library with intrinsics.
///
/// One call computes a register tile of C:
///
///   C (M, NR) = bias (NR) + A (M, K) * panel (K, NR)
///
/// where A is M rows of activations (row stride lda), `panel` NR output
/// columns of a packed weight (k-major, see nn/packed_linear.hpp) and M <= MR.
/// The M x NR accumulators stay in registers for the whole K loop: each
/// A element is broadcast once and multiplied into NR / lanes vectors, each
/// panel row is loaded (and widened from f16/bf16) once for all M rows.
///
/// The kernels prefetch the panel kPrefetchBytes ahead of the row they read:
/// for a few tokens the weights stream from memory, and the hardware
/// prefetcher alone keeps too few lines in flight (one 12-token query of
/// all-MiniLM-L6-v2 went from 2.17 to 1.33 ms with it).
///
/// Every output element is accumulated the same way whatever M is, starting
/// from its bias and adding a_k * b_k for k = 0, 1, ..., K-1 with one fused
/// multiply-add each: the result does not depend on how rows are grouped
/// into tiles, nor on which thread runs the tile.
///
///   kernels          MR x NR   registers
///   PortableKernels   4 x 16   whatever the compiler makes of plain C++
///   Avx2Kernels       6 x 16   12 ymm accumulators (AVX2 + FMA + F16C)
///   Avx512Kernels    12 x 32   24 zmm accumulators (AVX-512F/BW)

#include <cmath>
#include <cstddef>
#include <cstring>

#include "embedrank/core/cpu_features.hpp"
#include "embedrank/core/detail/avx512_warnings.hpp"
#include "embedrank/core/half.hpp"

#if EMBEDRANK_X86_KERNELS
#include <immintrin.h>
#endif

namespace embedrank::nn::detail {

/// Operands of one micro-kernel call.
struct MicroTile {
  const float* a;      // (rows, K) activations, row stride lda
  std::ptrdiff_t lda;
  const void* panel;   // (K, NR) packed weights of the kernel's storage type
  std::ptrdiff_t K;
  const float* bias;   // (NR), zero padded past the last output column
  float* c;            // (rows, cols) output, row stride ldc
  std::ptrdiff_t ldc;
  int rows;            // 1 .. MR
  int cols;            // 1 .. NR: columns of this panel that exist
};

using MicroKernel = void (*)(const MicroTile&);

/// How far ahead of the current panel row the kernels prefetch.
inline constexpr std::ptrdiff_t kPrefetchBytes = 16 * 1024;

/// Copies the first `cols` columns of an (M, NR) register tile, spilled to
/// `tile`, into C.
template <int M, int NR>
inline void store_partial(const float (&tile)[M][NR], const MicroTile& t) {
  for (int r = 0; r < M; ++r) std::memcpy(t.c + r * t.ldc, tile[r], sizeof(float) * static_cast<std::size_t>(t.cols));
}

/// Plain C++: runs anywhere, and is the reference the SIMD kernels are tested against.
struct PortableKernels {
  static constexpr int MR = 4, NR = 16;
  static constexpr SimdLevel level = SimdLevel::Portable;

  template <int M, typename W>
  static void tile(const MicroTile& t) {
    const W* b = static_cast<const W*>(t.panel);
    float acc[M][NR];
    for (int r = 0; r < M; ++r)
      for (int j = 0; j < NR; ++j) acc[r][j] = t.bias[j];
    const float* a = t.a;
    const std::ptrdiff_t lda = t.lda, K = t.K;
    for (std::ptrdiff_t k = 0; k < K; ++k) {
      float bk[NR];
      for (int j = 0; j < NR; ++j) bk[j] = to_float(b[k * NR + j]);
      for (int r = 0; r < M; ++r) {
        const float ar = a[r * lda + k];
        for (int j = 0; j < NR; ++j) acc[r][j] = std::fma(ar, bk[j], acc[r][j]);
      }
    }
    store_partial<M, NR>(acc, t);
  }
};

#if EMBEDRANK_X86_KERNELS
EMBEDRANK_AVX512_WARNINGS_OFF

EMBEDRANK_TARGET_AVX2 inline __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
EMBEDRANK_TARGET_AVX2 inline __m256 load8(const Float16* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
EMBEDRANK_TARGET_AVX2 inline __m256 load8(const BFloat16* p) {
  // bfloat16 is the top half of a float: zero-extend to 32 bits, shift up
  const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
}

/// Prefetches the two cache lines kPrefetchBytes past `p` (a panel row).
EMBEDRANK_TARGET_AVX2 inline void prefetch_ahead(const void* p) {
  const char* ahead = static_cast<const char*>(p) + kPrefetchBytes;
  _mm_prefetch(ahead, _MM_HINT_T0);
  _mm_prefetch(ahead + 64, _MM_HINT_T0);
}

struct Avx2Kernels {
  static constexpr int MR = 6, NR = 16;
  static constexpr SimdLevel level = SimdLevel::Avx2;

  template <int M, typename W>
  EMBEDRANK_TARGET_AVX2 static void tile(const MicroTile& t) {
    const W* b = static_cast<const W*>(t.panel);
    const float* a = t.a;
    const std::ptrdiff_t lda = t.lda;
    __m256 lo[M], hi[M];  // columns 0-7 and 8-15 of each row
    const __m256 bias_lo = _mm256_loadu_ps(t.bias), bias_hi = _mm256_loadu_ps(t.bias + 8);
#pragma GCC unroll 16
    for (int r = 0; r < M; ++r) lo[r] = bias_lo, hi[r] = bias_hi;
    const std::ptrdiff_t K = t.K;
    for (std::ptrdiff_t k = 0; k < K; ++k) {
      prefetch_ahead(b + NR * k);
      const __m256 b_lo = load8(b + NR * k), b_hi = load8(b + NR * k + 8);
#pragma GCC unroll 16
      for (int r = 0; r < M; ++r) {
        const __m256 ar = _mm256_set1_ps(a[r * lda + k]);
        lo[r] = _mm256_fmadd_ps(ar, b_lo, lo[r]);
        hi[r] = _mm256_fmadd_ps(ar, b_hi, hi[r]);
      }
    }
    if (t.cols == NR) {
#pragma GCC unroll 16
      for (int r = 0; r < M; ++r) {
        _mm256_storeu_ps(t.c + r * t.ldc, lo[r]);
        _mm256_storeu_ps(t.c + r * t.ldc + 8, hi[r]);
      }
      return;
    }
    float spill[M][NR];
    for (int r = 0; r < M; ++r) {
      _mm256_storeu_ps(spill[r], lo[r]);
      _mm256_storeu_ps(spill[r] + 8, hi[r]);
    }
    store_partial<M, NR>(spill, t);
  }
};

EMBEDRANK_TARGET_AVX512 inline __m512 load16(const float* p) { return _mm512_loadu_ps(p); }
EMBEDRANK_TARGET_AVX512 inline __m512 load16(const Float16* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
EMBEDRANK_TARGET_AVX512 inline __m512 load16(const BFloat16* p) {
  const __m512i wide = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
}

struct Avx512Kernels {
  static constexpr int MR = 12, NR = 32;
  static constexpr SimdLevel level = SimdLevel::Avx512;

  template <int M, typename W>
  EMBEDRANK_TARGET_AVX512 static void tile(const MicroTile& t) {
    const W* b = static_cast<const W*>(t.panel);
    const float* a = t.a;
    const std::ptrdiff_t lda = t.lda;
    __m512 lo[M], hi[M];  // columns 0-15 and 16-31 of each row
    const __m512 bias_lo = _mm512_loadu_ps(t.bias), bias_hi = _mm512_loadu_ps(t.bias + 16);
#pragma GCC unroll 16
    for (int r = 0; r < M; ++r) lo[r] = bias_lo, hi[r] = bias_hi;
    const std::ptrdiff_t K = t.K;
    for (std::ptrdiff_t k = 0; k < K; ++k) {
      prefetch_ahead(b + NR * k);
      const __m512 b_lo = load16(b + NR * k), b_hi = load16(b + NR * k + 16);
#pragma GCC unroll 16
      for (int r = 0; r < M; ++r) {
        const __m512 ar = _mm512_set1_ps(a[r * lda + k]);
        lo[r] = _mm512_fmadd_ps(ar, b_lo, lo[r]);
        hi[r] = _mm512_fmadd_ps(ar, b_hi, hi[r]);
      }
    }
    if (t.cols == NR) {
#pragma GCC unroll 16
      for (int r = 0; r < M; ++r) {
        _mm512_storeu_ps(t.c + r * t.ldc, lo[r]);
        _mm512_storeu_ps(t.c + r * t.ldc + 16, hi[r]);
      }
      return;
    }
    float spill[M][NR];
    for (int r = 0; r < M; ++r) {
      _mm512_storeu_ps(spill[r], lo[r]);
      _mm512_storeu_ps(spill[r] + 16, hi[r]);
    }
    store_partial<M, NR>(spill, t);
  }
};

EMBEDRANK_AVX512_WARNINGS_ON
#endif  // EMBEDRANK_X86_KERNELS

/// Calls Kernels::tile<M, W> for M = t.rows (1 .. Kernels::MR).
template <typename Kernels, typename W, int M = Kernels::MR>
void tile_any_rows(const MicroTile& t) {
  if constexpr (M == 1) {
    Kernels::template tile<1, W>(t);
  } else {
    if (t.rows == M) Kernels::template tile<M, W>(t);
    else tile_any_rows<Kernels, W, M - 1>(t);
  }
}

}  // namespace embedrank::nn::detail
