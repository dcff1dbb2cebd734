#pragma once
/// Integer GEMM micro-kernels for int8 weights (the int8 model files):
///
///   C (M, NR) = bias (NR) + row_scale (M) * sum over groups g of
///               group_scale (g, NR) * (A (M, K_g) * panel (K_g, NR))
///
/// A holds activations quantized per token to 16-bit integers, the panel
/// weights quantized to int8 with one scale per output column and group of
/// kGroupSize inputs (k), both symmetric. Within a group, products are
/// summed exactly in 32-bit integers, two k at a time (VPMADDWD:
/// a_k w_k + a_k+1 w_k+1, or its fused VNNI form VPDPWSSD), which cannot
/// saturate or overflow (|a| <= 32767, |w| <= 127, 32 terms). Each group's
/// sum is then scaled and added to a float accumulator, groups in order: the
/// result does not depend on how rows are tiled or threaded.
///
/// Panel layout, k-pairs: element (k2, j, e) = W[j][2*k2 + e], NR columns of
/// 2 bytes per k-pair, so one 16-byte load is 8 columns x 2 k, widened to
/// 16-bit lanes that VPMADDWD multiplies with a broadcast activation pair.
/// K is padded with zeros to whole groups.
///
///   kernels            MR x NR   accumulators
///   PortableInt8        4 x 16   int32 arrays
///   Avx2Int8            6 x 16   12 ymm (VPMADDWD + VPADDD)
///   Avx512VnniInt8      8 x 32   16 zmm (VPDPWSSD)

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "embedrank/core/cpu_features.hpp"
#include "embedrank/nn/detail/gemm_kernels.hpp"

#if EMBEDRANK_X86_KERNELS
#define EMBEDRANK_TARGET_AVX512_VNNI \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")))
#endif

namespace embedrank::nn::detail {

/// Inputs (k) sharing one weight scale per output column.
inline constexpr int kGroupSize = 32;
/// k-pairs per group.
inline constexpr int kGroupPairs = kGroupSize / 2;

/// Operands of one integer micro-kernel call.
struct MicroTileInt8 {
  const std::int16_t* a;     // (rows, kGroupSize * groups) quantized activations, row stride lda
  std::ptrdiff_t lda;
  const std::int8_t* panel;  // (groups * kGroupPairs, NR, 2) int8 weights
  std::ptrdiff_t groups;
  const float* bias;         // (NR)
  const float* col_scale;    // (groups, NR) weight scale per group and output column
  const float* row_scale;    // (rows) activation scale per row
  float* c;                  // (rows, cols) output, row stride ldc
  std::ptrdiff_t ldc;
  int rows;                  // 1 .. MR
  int cols;                  // 1 .. NR
};

using MicroKernelInt8 = void (*)(const MicroTileInt8&);

struct PortableInt8 {
  static constexpr int MR = 4, NR = 16;
  static constexpr SimdLevel level = SimdLevel::Portable;

  template <int M>
  static void tile(const MicroTileInt8& t) {
    float sum[M][NR] = {};
    const std::ptrdiff_t lda = t.lda;
    for (std::ptrdiff_t g = 0; g < t.groups; ++g) {
      std::int32_t acc[M][NR] = {};
      for (std::ptrdiff_t k = g * kGroupPairs; k < (g + 1) * kGroupPairs; ++k) {
        const std::int8_t* w = t.panel + k * NR * 2;
        for (int r = 0; r < M; ++r) {
          const std::int32_t a0 = t.a[r * lda + 2 * k], a1 = t.a[r * lda + 2 * k + 1];
          for (int j = 0; j < NR; ++j) acc[r][j] += a0 * w[2 * j] + a1 * w[2 * j + 1];
        }
      }
      for (int r = 0; r < M; ++r)
        for (int j = 0; j < NR; ++j) sum[r][j] = std::fma(static_cast<float>(acc[r][j]), t.col_scale[g * NR + j], sum[r][j]);
    }
    for (int r = 0; r < M; ++r)
      for (int j = 0; j < t.cols; ++j) t.c[r * t.ldc + j] = std::fma(sum[r][j], t.row_scale[r], t.bias[j]);
  }
};

#if EMBEDRANK_X86_KERNELS

struct Avx2Int8 {
  static constexpr int MR = 6, NR = 16;
  static constexpr SimdLevel level = SimdLevel::Avx2;

  template <int M>
  EMBEDRANK_TARGET_AVX2 static void tile(const MicroTileInt8& t) {
    // float sums of the groups so far, kept in L1 while the integer sums of
    // the current group stay in registers
    alignas(32) float sum[M][NR] = {};
    const std::int16_t* a = t.a;
    const std::ptrdiff_t lda = t.lda;
    for (std::ptrdiff_t g = 0; g < t.groups; ++g) {
      __m256i lo[M], hi[M];  // columns 0-7 and 8-15
#pragma GCC unroll 8
      for (int r = 0; r < M; ++r) lo[r] = hi[r] = _mm256_setzero_si256();
      for (std::ptrdiff_t k = g * kGroupPairs; k < (g + 1) * kGroupPairs; ++k) {
        const auto* w = reinterpret_cast<const __m128i*>(t.panel + k * NR * 2);
        prefetch_ahead(w);
        const __m256i w_lo = _mm256_cvtepi8_epi16(_mm_loadu_si128(w));      // columns 0-7, 2 k each
        const __m256i w_hi = _mm256_cvtepi8_epi16(_mm_loadu_si128(w + 1));  // columns 8-15
#pragma GCC unroll 8
        for (int r = 0; r < M; ++r) {
          std::int32_t pair;
          std::memcpy(&pair, a + r * lda + 2 * k, sizeof pair);
          const __m256i ar = _mm256_set1_epi32(pair);
          lo[r] = _mm256_add_epi32(lo[r], _mm256_madd_epi16(ar, w_lo));
          hi[r] = _mm256_add_epi32(hi[r], _mm256_madd_epi16(ar, w_hi));
        }
      }
      const __m256 scale_lo = _mm256_loadu_ps(t.col_scale + g * NR), scale_hi = _mm256_loadu_ps(t.col_scale + g * NR + 8);
#pragma GCC unroll 8
      for (int r = 0; r < M; ++r) {
        _mm256_store_ps(sum[r], _mm256_fmadd_ps(_mm256_cvtepi32_ps(lo[r]), scale_lo, _mm256_load_ps(sum[r])));
        _mm256_store_ps(sum[r] + 8, _mm256_fmadd_ps(_mm256_cvtepi32_ps(hi[r]), scale_hi, _mm256_load_ps(sum[r] + 8)));
      }
    }
    const __m256 bias_lo = _mm256_loadu_ps(t.bias), bias_hi = _mm256_loadu_ps(t.bias + 8);
    float out[M][NR];
#pragma GCC unroll 8
    for (int r = 0; r < M; ++r) {
      const __m256 rs = _mm256_set1_ps(t.row_scale[r]);
      _mm256_storeu_ps(out[r], _mm256_fmadd_ps(_mm256_load_ps(sum[r]), rs, bias_lo));
      _mm256_storeu_ps(out[r] + 8, _mm256_fmadd_ps(_mm256_load_ps(sum[r] + 8), rs, bias_hi));
    }
    for (int r = 0; r < M; ++r) std::memcpy(t.c + r * t.ldc, out[r], sizeof(float) * static_cast<std::size_t>(t.cols));
  }
};

struct Avx512VnniInt8 {
  static constexpr int MR = 8, NR = 32;
  static constexpr SimdLevel level = SimdLevel::Avx512;

  template <int M>
  EMBEDRANK_TARGET_AVX512_VNNI static void tile(const MicroTileInt8& t) {
    alignas(64) float sum[M][NR] = {};  // float sums of the groups so far (L1)
    const std::int16_t* a = t.a;
    const std::ptrdiff_t lda = t.lda;
    for (std::ptrdiff_t g = 0; g < t.groups; ++g) {
      __m512i lo[M], hi[M];  // columns 0-15 and 16-31
#pragma GCC unroll 8
      for (int r = 0; r < M; ++r) lo[r] = hi[r] = _mm512_setzero_si512();
      for (std::ptrdiff_t k = g * kGroupPairs; k < (g + 1) * kGroupPairs; ++k) {
        const auto* w = reinterpret_cast<const __m256i*>(t.panel + k * NR * 2);
        prefetch_ahead(w);
        const __m512i w_lo = _mm512_cvtepi8_epi16(_mm256_loadu_si256(w));      // columns 0-15, 2 k each
        const __m512i w_hi = _mm512_cvtepi8_epi16(_mm256_loadu_si256(w + 1));  // columns 16-31
#pragma GCC unroll 8
        for (int r = 0; r < M; ++r) {
          std::int32_t pair;
          std::memcpy(&pair, a + r * lda + 2 * k, sizeof pair);
          const __m512i ar = _mm512_set1_epi32(pair);
          lo[r] = _mm512_dpwssd_epi32(lo[r], ar, w_lo);
          hi[r] = _mm512_dpwssd_epi32(hi[r], ar, w_hi);
        }
      }
      const __m512 scale_lo = _mm512_loadu_ps(t.col_scale + g * NR), scale_hi = _mm512_loadu_ps(t.col_scale + g * NR + 16);
#pragma GCC unroll 8
      for (int r = 0; r < M; ++r) {
        _mm512_store_ps(sum[r], _mm512_fmadd_ps(_mm512_cvtepi32_ps(lo[r]), scale_lo, _mm512_load_ps(sum[r])));
        _mm512_store_ps(sum[r] + 16, _mm512_fmadd_ps(_mm512_cvtepi32_ps(hi[r]), scale_hi, _mm512_load_ps(sum[r] + 16)));
      }
    }
    const __m512 bias_lo = _mm512_loadu_ps(t.bias), bias_hi = _mm512_loadu_ps(t.bias + 16);
    float out[M][NR];
#pragma GCC unroll 8
    for (int r = 0; r < M; ++r) {
      const __m512 rs = _mm512_set1_ps(t.row_scale[r]);
      _mm512_storeu_ps(out[r], _mm512_fmadd_ps(_mm512_load_ps(sum[r]), rs, bias_lo));
      _mm512_storeu_ps(out[r] + 16, _mm512_fmadd_ps(_mm512_load_ps(sum[r] + 16), rs, bias_hi));
    }
    for (int r = 0; r < M; ++r) std::memcpy(t.c + r * t.ldc, out[r], sizeof(float) * static_cast<std::size_t>(t.cols));
  }
};

/// Whether the CPU has AVX-512 VNNI (VPDPWSSD), which the AVX-512 int8
/// kernel needs; without it int8 layers run the AVX2 kernel.
inline bool cpu_has_avx512_vnni() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512vnni");
}

#endif  // EMBEDRANK_X86_KERNELS

/// Calls Kernels::tile<M> for M = t.rows (1 .. Kernels::MR).
template <typename Kernels, int M = Kernels::MR>
void tile_any_rows_int8(const MicroTileInt8& t) {
  if constexpr (M == 1) {
    Kernels::template tile<1>(t);
  } else {
    if (t.rows == M) Kernels::template tile<M>(t);
    else tile_any_rows_int8<Kernels, M - 1>(t);
  }
}

}  // namespace embedrank::nn::detail
