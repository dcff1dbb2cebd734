#pragma once
/// The one half-float header: IEEE binary16 (fp16) and bfloat16 to float32,
/// bit-exact, float32 to fp16 with round-to-nearest-even, and the 16-bit
/// storage types that half-size weights keep in memory.
///
/// The scalar conversions are plain C++ and give the bits F16C gives
/// (vcvtph2ps / vcvtps2ph), signalling NaNs quieted included, so a value
/// converts the same in every program whatever its compile flags. Whole
/// arrays convert with F16C when the CPU has it, chosen at run time
/// (half_simd_level(), EMBEDRANK_SIMD); the GEMM kernels widen panels with
/// F16C themselves (nn/detail/gemm_kernels.hpp).

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "embedrank/core/cpu_features.hpp"

#if EMBEDRANK_X86_KERNELS
#include <immintrin.h>
#endif

namespace embedrank {

inline float bits_to_float(std::uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

/// bfloat16 is the top half of a float32.
inline float bf16_to_float(std::uint16_t h) { return bits_to_float(static_cast<std::uint32_t>(h) << 16); }

/// IEEE 754 binary16 -> binary32 (exact), including subnormals, infinities and NaN.
/// A NaN comes out quiet (signalling NaNs get the quiet bit), as F16C gives it.
inline float fp16_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exponent = (h >> 10) & 0x1Fu;
  std::uint32_t mantissa = h & 0x3FFu;
  if (exponent == 0x1F) {
    if (mantissa == 0) return bits_to_float(sign | 0x7F800000u);     // inf
    return bits_to_float(sign | 0x7FC00000u | (mantissa << 13));     // NaN, payload kept, quiet bit set
  }
  if (exponent != 0) return bits_to_float(sign | ((exponent + 112) << 23) | (mantissa << 13));
  if (mantissa == 0) return bits_to_float(sign);  // signed zero
  // Subnormal: shift the mantissa up until its leading bit is the implicit one.
  std::uint32_t e = 113;
  while ((mantissa & 0x400u) == 0) {
    mantissa <<= 1;
    --e;
  }
  return bits_to_float(sign | (e << 23) | ((mantissa & 0x3FFu) << 13));
}

/// binary32 -> binary16 bits, round to nearest even; overflow -> +-inf, NaN stays NaN.
inline std::uint16_t float_to_fp16(float value) {
  std::uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  const std::uint32_t sign = (bits >> 16) & 0x8000u;
  std::uint32_t magnitude = bits & 0x7FFFFFFFu;
  if (magnitude >= 0x7F800000u)  // inf or NaN (NaN keeps a quiet payload bit)
    return static_cast<std::uint16_t>(sign | 0x7C00u | (magnitude > 0x7F800000u ? 0x200u | ((magnitude >> 13) & 0x3FFu) : 0u));
  if (magnitude >= 0x477FF000u) return static_cast<std::uint16_t>(sign | 0x7C00u);  // >= 65520 rounds to inf
  if (magnitude < 0x38800000u) {
    // below 2^-14: adding 0.5f aligns the half subnormal grid with the float
    // mantissa's last bits, so the FPU does the round-to-nearest-even
    float scaled;
    std::memcpy(&scaled, &magnitude, sizeof scaled);
    scaled += 0.5f;
    std::uint32_t scaled_bits;
    std::memcpy(&scaled_bits, &scaled, sizeof scaled_bits);
    return static_cast<std::uint16_t>(sign | (scaled_bits - 0x3F000000u));
  }
  // normal: rebias the exponent, round the 13 dropped mantissa bits to nearest even
  const std::uint32_t odd = (magnitude >> 13) & 1u;
  magnitude += 0xC8000FFFu + odd;  // (15 - 127) << 23, plus 0xFFF + odd for rounding
  return static_cast<std::uint16_t>(sign | (magnitude >> 13));
}

/// The level the array conversions below use by default: default_simd_level(),
/// read once per process. Throws InputError "bad_simd_level" for a bad EMBEDRANK_SIMD.
inline SimdLevel half_simd_level() {
  static const SimdLevel level = default_simd_level();
  return level;
}

#if EMBEDRANK_X86_KERNELS
namespace detail {

// F16C, 8 values at a time; the tail by the scalar code (same bits)
EMBEDRANK_TARGET_AVX2 inline void fp16_to_float_f16c(const std::uint16_t* in, float* out, std::size_t n) {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i))));
  for (; i < n; ++i) out[i] = fp16_to_float(in[i]);
}

EMBEDRANK_TARGET_AVX2 inline void float_to_fp16_f16c(const float* in, std::uint16_t* out, std::size_t n) {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT));
  for (; i < n; ++i) out[i] = float_to_fp16(in[i]);
}

}  // namespace detail
#endif

/// out[i] = fp16_to_float(in[i]) for i < n, with F16C when `level` is Avx2 or
/// above; the same bits on every level. `level` must be one the CPU supports
/// (half_simd_level, supported_simd_level).
inline void fp16_to_float(const std::uint16_t* in, float* out, std::size_t n, SimdLevel level = half_simd_level()) {
#if EMBEDRANK_X86_KERNELS
  if (level != SimdLevel::Portable) return detail::fp16_to_float_f16c(in, out, n);
#endif
  for (std::size_t i = 0; i < n; ++i) out[i] = fp16_to_float(in[i]);
}

/// out[i] = float_to_fp16(in[i]) for i < n, with F16C when `level` is Avx2 or
/// above; the same bits on every level. `level` must be one the CPU supports.
inline void float_to_fp16(const float* in, std::uint16_t* out, std::size_t n, SimdLevel level = half_simd_level()) {
#if EMBEDRANK_X86_KERNELS
  if (level != SimdLevel::Portable) return detail::float_to_fp16_f16c(in, out, n);
#endif
  for (std::size_t i = 0; i < n; ++i) out[i] = float_to_fp16(in[i]);
}

/// Storage types of half-size weights: the raw 16 bits as the file holds
/// them, widened to float where they are used (by F16C in the kernels).
struct Float16 {
  std::uint16_t bits;
};
struct BFloat16 {
  std::uint16_t bits;
};

inline float to_float(float x) { return x; }
inline float to_float(Float16 x) { return fp16_to_float(x.bits); }
inline float to_float(BFloat16 x) { return bf16_to_float(x.bits); }

}  // namespace embedrank
