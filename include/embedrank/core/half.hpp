#pragma once
/// The one half-float header: IEEE binary16 (fp16) and bfloat16 to float32,
/// bit-exact, float32 to fp16 with round-to-nearest-even, and the 16-bit
/// storage types that half-size weights keep in memory. The scalar
/// conversions use F16C when the build enables it and an exact bit-level
/// path otherwise; the GEMM kernels convert whole panels with F16C chosen
/// at run time (nn/detail/gemm_kernels.hpp).

#include <cstdint>
#include <cstring>

#if defined(__F16C__)
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
inline float fp16_to_float(std::uint16_t h) {
#if defined(__F16C__)
  return _cvtsh_ss(h);
#else
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exponent = (h >> 10) & 0x1Fu;
  std::uint32_t mantissa = h & 0x3FFu;
  if (exponent == 0x1F) return bits_to_float(sign | 0x7F800000u | (mantissa << 13));  // inf / NaN
  if (exponent != 0) return bits_to_float(sign | ((exponent + 112) << 23) | (mantissa << 13));
  if (mantissa == 0) return bits_to_float(sign);  // signed zero
  // Subnormal: shift the mantissa up until its leading bit is the implicit one.
  std::uint32_t e = 113;
  while ((mantissa & 0x400u) == 0) {
    mantissa <<= 1;
    --e;
  }
  return bits_to_float(sign | (e << 23) | ((mantissa & 0x3FFu) << 13));
#endif
}

/// binary32 -> binary16 bits, round to nearest even; overflow -> +-inf, NaN stays NaN.
inline std::uint16_t float_to_fp16(float value) {
#if defined(__F16C__)
  return static_cast<std::uint16_t>(_cvtss_sh(value, _MM_FROUND_TO_NEAREST_INT));
#else
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
#endif
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
