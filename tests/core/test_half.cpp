// Tests of the half-float conversions (core/half.hpp): the array conversions
// give the scalar code's bits on every SIMD level the CPU runs (F16C from
// Avx2 up), for all 65536 halves and a sweep of floats that includes NaN
// payloads, infinities, subnormals, overflow and round-to-nearest-even ties.

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "embedrank/core/cpu_features.hpp"
#include "embedrank/core/half.hpp"

using embedrank::SimdLevel;

namespace {

std::vector<SimdLevel> runnable_levels() {
  std::vector<SimdLevel> levels;
  for (SimdLevel level : {SimdLevel::Portable, SimdLevel::Avx2, SimdLevel::Avx512})
    if (embedrank::supported_simd_level(level) == level) levels.push_back(level);
  return levels;
}

std::uint32_t float_bits(float f) {
  std::uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return bits;
}

float float_of(std::uint32_t bits) { return embedrank::bits_to_float(bits); }

// floats around every half: the half's own value, its neighbours one float
// ulp away, the tie half way to the next half and the floats either side of
// the tie; plus a stride over all bit patterns and the special values
std::vector<float> float_sweep() {
  std::vector<float> floats;
  for (std::uint32_t h = 0; h < 0x10000; ++h) {
    const auto half = static_cast<std::uint16_t>(h);
    if ((half & 0x7C00) == 0x7C00) continue;  // inf and NaN come below
    const std::uint32_t at = float_bits(embedrank::fp16_to_float(half));
    const std::uint32_t next = float_bits(embedrank::fp16_to_float(static_cast<std::uint16_t>(half + 1)));
    const std::uint32_t tie = at + (next - at) / 2;  // same sign, so the bit midpoint is the value midpoint
    for (std::uint32_t bits : {at, at + 1, at - 1, tie, tie - 1, tie + 1}) floats.push_back(float_of(bits));
  }
  for (std::uint64_t bits = 0; bits < (std::uint64_t{1} << 32); bits += 4093)
    floats.push_back(float_of(static_cast<std::uint32_t>(bits)));
  const float inf = std::numeric_limits<float>::infinity();
  for (float f : {0.0f, -0.0f, inf, -inf, std::numeric_limits<float>::quiet_NaN(),
                  std::numeric_limits<float>::signaling_NaN(), std::numeric_limits<float>::denorm_min(),
                  std::numeric_limits<float>::min(), std::numeric_limits<float>::max(), 65504.0f, 65519.996f,
                  65520.0f, 5.9604644775390625e-8f, 2.98023223876953125e-8f, 2.98023259404089913e-8f})
    for (float sign : {1.0f, -1.0f}) floats.push_back(sign * f);
  // NaNs with payloads only in the bits fp16 drops, only in the bits it keeps, and both; signalling and quiet
  for (std::uint32_t payload : {0x1u, 0x1FFFu, 0x2000u, 0x3FE000u, 0x400000u, 0x7FFFFFu, 0x2AAAAAu})
    for (std::uint32_t sign : {0u, 0x80000000u}) floats.push_back(float_of(sign | 0x7F800000u | payload));
  floats.push_back(1.0f);  // an odd count, so the vector loops have a tail
  if (floats.size() % 8 == 0) floats.push_back(2.0f);
  return floats;
}

}  // namespace

TEST_CASE("fp16 -> float gives the same bits on every SIMD level, all 65536 halves", "[half][simd]") {
  std::vector<std::uint16_t> halves(0x10000 + 3);  // + 3: a tail past the last 8
  for (std::size_t i = 0; i < halves.size(); ++i) halves[i] = static_cast<std::uint16_t>(i);
  std::vector<std::uint32_t> want(halves.size());
  for (std::size_t i = 0; i < halves.size(); ++i) want[i] = float_bits(embedrank::fp16_to_float(halves[i]));
  for (const SimdLevel level : runnable_levels()) {
    std::vector<float> out(halves.size());
    embedrank::fp16_to_float(halves.data(), out.data(), halves.size(), level);
    std::size_t mismatches = 0;
    for (std::size_t i = 0; i < halves.size(); ++i)
      if (float_bits(out[i]) != want[i]) {
        if (mismatches++ < 5)
          UNSCOPED_INFO(std::hex << "half 0x" << halves[i] << ": 0x" << float_bits(out[i]) << ", scalar 0x" << want[i]);
      }
    INFO("level " << embedrank::to_string(level));
    REQUIRE(mismatches == 0);
  }
  SECTION("signalling NaNs come out quiet, payload kept, as F16C gives them") {
    REQUIRE(float_bits(embedrank::fp16_to_float(0x7C01)) == 0x7FC02000u);
    REQUIRE(float_bits(embedrank::fp16_to_float(0xFDFF)) == 0xFFFFE000u);
    REQUIRE(float_bits(embedrank::fp16_to_float(0x7E00)) == 0x7FC00000u);
  }
}

TEST_CASE("float -> fp16 gives the same bits on every SIMD level, NaN, inf, subnormals and ties included",
          "[half][simd]") {
  const std::vector<float> floats = float_sweep();
  std::vector<std::uint16_t> want(floats.size());
  for (std::size_t i = 0; i < floats.size(); ++i) want[i] = embedrank::float_to_fp16(floats[i]);
  for (const SimdLevel level : runnable_levels()) {
    std::vector<std::uint16_t> out(floats.size());
    embedrank::float_to_fp16(floats.data(), out.data(), floats.size(), level);
    std::size_t mismatches = 0;
    for (std::size_t i = 0; i < floats.size(); ++i)
      if (out[i] != want[i]) {
        if (mismatches++ < 5)
          UNSCOPED_INFO(std::hex << "float 0x" << float_bits(floats[i]) << ": 0x" << out[i] << ", scalar 0x" << want[i]);
      }
    INFO("level " << embedrank::to_string(level) << ", " << floats.size() << " floats");
    REQUIRE(mismatches == 0);
  }
  SECTION("ties round to even, overflow to inf, the smallest subnormal and below") {
    REQUIRE(embedrank::float_to_fp16(1.0f + 1.0f / 2048.0f) == 0x3C00);
    REQUIRE(embedrank::float_to_fp16(1.0f + 3.0f / 2048.0f) == 0x3C02);
    REQUIRE(embedrank::float_to_fp16(65519.996f) == 0x7BFF);
    REQUIRE(embedrank::float_to_fp16(65520.0f) == 0x7C00);
    REQUIRE(embedrank::float_to_fp16(2.98023223876953125e-8f) == 0x0000);  // half the smallest subnormal: tie to 0
    REQUIRE(embedrank::float_to_fp16(2.98023259404089913e-8f) == 0x0001);  // just above: up
    REQUIRE(embedrank::float_to_fp16(float_of(0x7F800001u)) == 0x7E00);    // signalling NaN, payload dropped: quiet
  }
}
