#pragma once
/// IEEE 754 binary16 ("float16") storage helpers: conversions with
/// round-to-nearest-even, using the F16C instructions when the build enables
/// them and an exact bit-level software path otherwise.

#include <cstdint>
#include <cstring>

#if defined(__F16C__)
#include <immintrin.h>
#endif

namespace embedrank {
namespace rank {
namespace detail {

/// float -> binary16 bits, round to nearest even; overflow -> +-inf, NaN stays NaN.
inline std::uint16_t float_to_half(float value) {
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

/// binary16 bits -> float (exact).
inline float half_to_float(std::uint16_t half) {
#if defined(__F16C__)
  return _cvtsh_ss(half);
#else
  const std::uint32_t sign = static_cast<std::uint32_t>(half & 0x8000u) << 16;
  const std::uint32_t exponent = (half >> 10) & 0x1Fu;
  const std::uint32_t mantissa = half & 0x3FFu;
  std::uint32_t bits;
  if (exponent == 0) {
    const float subnormal = static_cast<float>(mantissa) * 5.9604644775390625e-8f;  // mantissa * 2^-24
    std::memcpy(&bits, &subnormal, sizeof bits);
    bits |= sign;
  } else if (exponent == 31) {
    bits = sign | 0x7F800000u | (mantissa << 13);
  } else {
    bits = sign | ((exponent + 112u) << 23) | (mantissa << 13);
  }
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
#endif
}

}  // namespace detail
}  // namespace rank
}  // namespace embedrank
