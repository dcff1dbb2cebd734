#pragma once
/// IEEE half (fp16) and bfloat16 to float32, bit-exact, without hardware
/// support, and the 16-bit storage types that half-size weights keep in memory.

#include <cstdint>
#include <cstring>

namespace embedrank {

inline float bits_to_float(std::uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

/// bfloat16 is the top half of a float32.
inline float bf16_to_float(std::uint16_t h) { return bits_to_float(static_cast<std::uint32_t>(h) << 16); }

/// IEEE 754 binary16 -> binary32, including subnormals, infinities and NaN.
inline float fp16_to_float(std::uint16_t h) {
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
