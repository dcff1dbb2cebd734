#pragma once
/// Integer GEMM micro-kernels for int8 weights (the int8 model files):
///
///   C (M, NR) = bias (NR) + sum over groups g of
///               col_scale (g, NR) * act_scale (M, g) * (A (M, K_g) * panel (K_g, NR))
///
/// The panel holds weights quantized to int8 with one scale per output
/// column and group of kGroupSize inputs (k). A holds the activations
/// quantized per token, symmetric, either to 16 bits with one scale per token
/// or to 8 bits with one scale per token and group (a layer's choice, see
/// nn/packed_linear.hpp). Within a group, products are summed exactly in
/// 32-bit integers; each group's sum is then scaled and added to a float
/// accumulator, groups in order. Nothing can saturate or overflow (32 terms of
/// at most 32767 x 127), and the result does not depend on how rows are tiled
/// or threaded. 8-bit activations give the same integer sums, hence the same
/// bits, on every kernel.
///
/// Two panel layouts:
///   k-pairs, element (k2, j, e) = W[j][2*k2 + e]: NR columns of 2 bytes per
///     k-pair; a 16-byte load is 8 columns x 2 k, widened to 16-bit lanes that
///     VPMADDWD / VPDPWSSD multiply with a broadcast pair of 16-bit
///     activations (two products per 32-bit lane);
///   k-quads, element (k4, j, e) = W[j][4*k4 + e]: for VPDPBUSD, which
///     multiplies four unsigned bytes by four signed bytes per 32-bit lane;
///     8-bit activations are stored as q + 128 and the kernel subtracts
///     128 * sum_k w_k per group (precomputed at packing).
/// K is padded with zeros to whole groups.
///
///   kernels             MR x NR   layout    activations
///   PortableInt8         4 x 16   k-pairs   int16
///   Avx2Int8             6 x 16   k-pairs   int16   (VPMADDWD + VPADDD)
///   Avx512VnniInt8       8 x 32   k-pairs   int16   (VPDPWSSD)
///   Avx512VnniU8         8 x 32   k-quads   uint8   (VPDPBUSD)

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "embedrank/core/cpu_features.hpp"
#include "embedrank/core/detail/avx512_warnings.hpp"
#include "embedrank/nn/detail/gemm_kernels.hpp"

#if EMBEDRANK_X86_KERNELS
#define EMBEDRANK_TARGET_AVX512_VNNI \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")))
#endif

namespace embedrank::nn::detail {

/// Inputs (k) sharing one weight scale per output column.
inline constexpr int kGroupSize = 32;

/// Operands of one integer micro-kernel call.
struct MicroTileInt8 {
  const void* a;               // (rows, kGroupSize * groups) activations: int16, or uint8 (q + 128) for k-quads
  std::ptrdiff_t lda;          // row stride of a, in elements
  const std::int8_t* panel;    // (groups * kGroupSize, NR) int8 weights in the kernel's layout
  const std::int32_t* offset;  // k-quads: (groups, NR) 128 * sum of the group's weights
  std::ptrdiff_t groups;
  const float* bias;           // (NR)
  const float* col_scale;      // (groups, NR) weight scale per group and output column
  const float* act_scale;      // activation scale of row r, group g: act_scale[r * act_row + g * act_group]
  std::ptrdiff_t act_row, act_group;
  float* c;                    // (rows, cols) output, row stride ldc
  std::ptrdiff_t ldc;
  int rows;                    // 1 .. MR
  int cols;                    // 1 .. NR
};

using MicroKernelInt8 = void (*)(const MicroTileInt8&);

inline float activation_scale(const MicroTileInt8& t, int r, std::ptrdiff_t g) {
  return t.act_scale[r * t.act_row + g * t.act_group];
}

struct PortableInt8 {
  static constexpr int MR = 4, NR = 16;
  static constexpr SimdLevel level = SimdLevel::Portable;
  static constexpr bool quads = false;

  template <int M>
  static void tile(const MicroTileInt8& t) {
    float sum[M][NR] = {};
    const auto* a = static_cast<const std::int16_t*>(t.a);
    const std::ptrdiff_t lda = t.lda;
    for (std::ptrdiff_t g = 0; g < t.groups; ++g) {
      std::int32_t acc[M][NR] = {};
      for (std::ptrdiff_t k = g * kGroupSize / 2; k < (g + 1) * kGroupSize / 2; ++k) {
        const std::int8_t* w = t.panel + k * NR * 2;
        for (int r = 0; r < M; ++r) {
          const std::int32_t a0 = a[r * lda + 2 * k], a1 = a[r * lda + 2 * k + 1];
          for (int j = 0; j < NR; ++j) acc[r][j] += a0 * w[2 * j] + a1 * w[2 * j + 1];
        }
      }
      for (int r = 0; r < M; ++r) {
        const float as = activation_scale(t, r, g);
        for (int j = 0; j < NR; ++j)
          sum[r][j] = std::fma(static_cast<float>(acc[r][j]), t.col_scale[g * NR + j] * as, sum[r][j]);
      }
    }
    for (int r = 0; r < M; ++r)
      for (int j = 0; j < t.cols; ++j) t.c[r * t.ldc + j] = sum[r][j] + t.bias[j];
  }
};

#if EMBEDRANK_X86_KERNELS
EMBEDRANK_AVX512_WARNINGS_OFF

struct Avx2Int8 {
  static constexpr int MR = 6, NR = 16;
  static constexpr SimdLevel level = SimdLevel::Avx2;
  static constexpr bool quads = false;

  template <int M>
  EMBEDRANK_TARGET_AVX2 static void tile(const MicroTileInt8& t) {
    // float sums of the groups so far, kept in L1 while the integer sums of
    // the current group stay in registers
    alignas(32) float sum[M][NR] = {};
    const auto* a = static_cast<const std::int16_t*>(t.a);
    const std::ptrdiff_t lda = t.lda;
    for (std::ptrdiff_t g = 0; g < t.groups; ++g) {
      __m256i lo[M], hi[M];  // columns 0-7 and 8-15
#pragma GCC unroll 8
      for (int r = 0; r < M; ++r) lo[r] = hi[r] = _mm256_setzero_si256();
      for (std::ptrdiff_t k = g * kGroupSize / 2; k < (g + 1) * kGroupSize / 2; ++k) {
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
        const __m256 as = _mm256_set1_ps(activation_scale(t, r, g));
        _mm256_store_ps(sum[r], _mm256_fmadd_ps(_mm256_cvtepi32_ps(lo[r]), _mm256_mul_ps(scale_lo, as),
                                                _mm256_load_ps(sum[r])));
        _mm256_store_ps(sum[r] + 8, _mm256_fmadd_ps(_mm256_cvtepi32_ps(hi[r]), _mm256_mul_ps(scale_hi, as),
                                                    _mm256_load_ps(sum[r] + 8)));
      }
    }
    const __m256 bias_lo = _mm256_loadu_ps(t.bias), bias_hi = _mm256_loadu_ps(t.bias + 8);
    if (t.cols == NR) {
#pragma GCC unroll 8
      for (int r = 0; r < M; ++r) {
        _mm256_storeu_ps(t.c + r * t.ldc, _mm256_add_ps(_mm256_load_ps(sum[r]), bias_lo));
        _mm256_storeu_ps(t.c + r * t.ldc + 8, _mm256_add_ps(_mm256_load_ps(sum[r] + 8), bias_hi));
      }
      return;
    }
    float out[M][NR];
#pragma GCC unroll 8
    for (int r = 0; r < M; ++r) {
      _mm256_storeu_ps(out[r], _mm256_add_ps(_mm256_load_ps(sum[r]), bias_lo));
      _mm256_storeu_ps(out[r] + 8, _mm256_add_ps(_mm256_load_ps(sum[r] + 8), bias_hi));
    }
    for (int r = 0; r < M; ++r) std::memcpy(t.c + r * t.ldc, out[r], sizeof(float) * static_cast<std::size_t>(t.cols));
  }
};

/// The AVX-512 epilogue of one group: sum[r] += float(lo|hi[r]) * col_scale * act_scale(r).
template <int M>
EMBEDRANK_TARGET_AVX512_VNNI inline void add_group(const MicroTileInt8& t, std::ptrdiff_t g, const __m512i (&lo)[M],
                                                  const __m512i (&hi)[M], float (&sum)[M][32]) {
  const __m512 scale_lo = _mm512_loadu_ps(t.col_scale + g * 32), scale_hi = _mm512_loadu_ps(t.col_scale + g * 32 + 16);
#pragma GCC unroll 8
  for (int r = 0; r < M; ++r) {
    const __m512 as = _mm512_set1_ps(activation_scale(t, r, g));
    _mm512_store_ps(sum[r], _mm512_fmadd_ps(_mm512_cvtepi32_ps(lo[r]), _mm512_mul_ps(scale_lo, as), _mm512_load_ps(sum[r])));
    _mm512_store_ps(sum[r] + 16, _mm512_fmadd_ps(_mm512_cvtepi32_ps(hi[r]), _mm512_mul_ps(scale_hi, as),
                                                 _mm512_load_ps(sum[r] + 16)));
  }
}

/// The AVX-512 end of a tile: C = sum + bias, the first t.cols columns.
template <int M>
EMBEDRANK_TARGET_AVX512_VNNI inline void store_sum(const MicroTileInt8& t, float (&sum)[M][32]) {
  const __m512 bias_lo = _mm512_loadu_ps(t.bias), bias_hi = _mm512_loadu_ps(t.bias + 16);
  if (t.cols == 32) {
#pragma GCC unroll 8
    for (int r = 0; r < M; ++r) {
      _mm512_storeu_ps(t.c + r * t.ldc, _mm512_add_ps(_mm512_load_ps(sum[r]), bias_lo));
      _mm512_storeu_ps(t.c + r * t.ldc + 16, _mm512_add_ps(_mm512_load_ps(sum[r] + 16), bias_hi));
    }
    return;
  }
  float out[M][32];
#pragma GCC unroll 8
  for (int r = 0; r < M; ++r) {
    _mm512_storeu_ps(out[r], _mm512_add_ps(_mm512_load_ps(sum[r]), bias_lo));
    _mm512_storeu_ps(out[r] + 16, _mm512_add_ps(_mm512_load_ps(sum[r] + 16), bias_hi));
  }
  for (int r = 0; r < M; ++r) std::memcpy(t.c + r * t.ldc, out[r], sizeof(float) * static_cast<std::size_t>(t.cols));
}

struct Avx512VnniInt8 {
  static constexpr int MR = 8, NR = 32;
  static constexpr SimdLevel level = SimdLevel::Avx512;
  static constexpr bool quads = false;

  template <int M>
  EMBEDRANK_TARGET_AVX512_VNNI static void tile(const MicroTileInt8& t) {
    alignas(64) float sum[M][NR] = {};  // float sums of the groups so far (L1)
    const std::int16_t* row[M];          // each row's current group
#pragma GCC unroll 8
    for (int r = 0; r < M; ++r) row[r] = static_cast<const std::int16_t*>(t.a) + r * t.lda;
    for (std::ptrdiff_t g = 0; g < t.groups; ++g) {
      __m512i lo[M], hi[M];  // columns 0-15 and 16-31
#pragma GCC unroll 8
      for (int r = 0; r < M; ++r) lo[r] = hi[r] = _mm512_setzero_si512();
      const std::int8_t* panel = t.panel + g * kGroupSize * NR;
#pragma GCC unroll 16
      for (int k = 0; k < kGroupSize / 2; ++k) {
        const auto* w = reinterpret_cast<const __m256i*>(panel + k * NR * 2);
        prefetch_ahead(w);
        const __m512i w_lo = _mm512_cvtepi8_epi16(_mm256_loadu_si256(w));      // columns 0-15, 2 k each
        const __m512i w_hi = _mm512_cvtepi8_epi16(_mm256_loadu_si256(w + 1));  // columns 16-31
#pragma GCC unroll 8
        for (int r = 0; r < M; ++r) {
          std::int32_t pair;
          std::memcpy(&pair, row[r] + 2 * k, sizeof pair);
          const __m512i ar = _mm512_set1_epi32(pair);
          lo[r] = _mm512_dpwssd_epi32(lo[r], ar, w_lo);
          hi[r] = _mm512_dpwssd_epi32(hi[r], ar, w_hi);
        }
      }
#pragma GCC unroll 8
      for (int r = 0; r < M; ++r) row[r] += kGroupSize;
      add_group<M>(t, g, lo, hi, sum);
    }
    store_sum<M>(t, sum);
  }
};

struct Avx512VnniU8 {
  static constexpr int MR = 8, NR = 32;
  static constexpr SimdLevel level = SimdLevel::Avx512;
  static constexpr bool quads = true;

  template <int M>
  EMBEDRANK_TARGET_AVX512_VNNI static void tile(const MicroTileInt8& t) {
    alignas(64) float sum[M][NR] = {};
    const std::uint8_t* row[M];  // each row's current group
#pragma GCC unroll 8
    for (int r = 0; r < M; ++r) row[r] = static_cast<const std::uint8_t*>(t.a) + r * t.lda;
    for (std::ptrdiff_t g = 0; g < t.groups; ++g) {
      // (q + 128) w summed: start from -128 * sum w of the group to take it back off
      const __m512i start_lo = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_loadu_si512(t.offset + g * NR));
      const __m512i start_hi = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_loadu_si512(t.offset + g * NR + 16));
      __m512i lo[M], hi[M];
#pragma GCC unroll 8
      for (int r = 0; r < M; ++r) {
        lo[r] = start_lo;
        hi[r] = start_hi;
      }
      const std::int8_t* panel = t.panel + g * kGroupSize * NR;
#pragma GCC unroll 8
      for (int k = 0; k < kGroupSize / 4; ++k) {
        const auto* w = reinterpret_cast<const __m512i*>(panel + k * NR * 4);
        prefetch_ahead(w);
        const __m512i w_lo = _mm512_loadu_si512(w);      // columns 0-15, 4 k each
        const __m512i w_hi = _mm512_loadu_si512(w + 1);  // columns 16-31
#pragma GCC unroll 8
        for (int r = 0; r < M; ++r) {
          std::int32_t quad;
          std::memcpy(&quad, row[r] + 4 * k, sizeof quad);
          const __m512i ar = _mm512_set1_epi32(quad);
          lo[r] = _mm512_dpbusd_epi32(lo[r], ar, w_lo);
          hi[r] = _mm512_dpbusd_epi32(hi[r], ar, w_hi);
        }
      }
#pragma GCC unroll 8
      for (int r = 0; r < M; ++r) row[r] += kGroupSize;
      add_group<M>(t, g, lo, hi, sum);
    }
    store_sum<M>(t, sum);
  }
};

/// Whether the CPU has AVX-512 VNNI (VPDPWSSD, VPDPBUSD), which the AVX-512
/// int8 kernels need; without it int8 layers run the AVX2 kernel.
inline bool cpu_has_avx512_vnni() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512vnni");
}

EMBEDRANK_AVX512_WARNINGS_ON
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
