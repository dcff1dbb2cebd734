#pragma once
/// Which SIMD kernels this CPU can run, decided once per process.
///
/// The library is header-only and compiled with whatever flags the user's
/// program has, so the fast kernels carry their own target attributes and are
/// chosen at run time by CPUID. The environment variable EMBEDRANK_SIMD
/// lowers the level ("portable", "avx2", "avx512"), so every path can be
/// tested on a bigger CPU; it never raises it past what the CPU has.

#include <cstdlib>
#include <string>

#include "embedrank/core/enum_text.hpp"
#include "embedrank/core/error.hpp"

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#define EMBEDRANK_X86_KERNELS 1
#include <cpuid.h>
// The instruction sets of the SIMD kernels, one attribute per SimdLevel: a
// kernel is compiled for its level whatever flags the program has, and runs
// only where default_simd_level() (or a level capped by it) selects it.
#define EMBEDRANK_TARGET_AVX2 __attribute__((target("avx2,fma,f16c")))
#define EMBEDRANK_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")))
#else
#define EMBEDRANK_X86_KERNELS 0
#endif

namespace embedrank {

/// Kernel families, in increasing order of capability.
enum class SimdLevel {
  Portable = 0,  ///< plain C++, no intrinsics
  Avx2 = 1,      ///< AVX2 + FMA + F16C (256-bit)
  Avx512 = 2,    ///< AVX-512 F/BW/VL/DQ (512-bit)
};

/// Names as EMBEDRANK_SIMD takes them; parse throws InputError "bad_simd_level".
inline EnumText<SimdLevel> enum_text(SimdLevel) {
  static constexpr EnumName<SimdLevel> names[] = {{SimdLevel::Portable, "portable"},
                                                  {SimdLevel::Avx2, "avx2"},
                                                  {SimdLevel::Avx512, "avx512"}};
  return {"SIMD level", "bad_simd_level", names};
}

/// The best level the CPU supports (CPUID; the OS saving the wide registers
/// is part of what the compiler's check reports).
inline SimdLevel detected_simd_level() {
#if EMBEDRANK_X86_KERNELS
  __builtin_cpu_init();
  // F16C by CPUID leaf 1 (ECX bit 29): not every compiler's builtin names it
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  const bool f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 29)) != 0;
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && f16c;
  const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  if (avx512) return SimdLevel::Avx512;
  if (avx2) return SimdLevel::Avx2;
#endif
  return SimdLevel::Portable;
}

/// `wanted` capped by what the CPU supports.
inline SimdLevel supported_simd_level(SimdLevel wanted) {
  const SimdLevel cpu = detected_simd_level();
  return static_cast<int>(wanted) < static_cast<int>(cpu) ? wanted : cpu;
}

/// The level kernels use by default: the CPU's, lowered by EMBEDRANK_SIMD when
/// set. Throws InputError "bad_simd_level" for an unknown EMBEDRANK_SIMD value.
inline SimdLevel default_simd_level() {
  const char* forced = std::getenv("EMBEDRANK_SIMD");
  if (forced == nullptr || *forced == '\0') return detected_simd_level();
  try {
    return supported_simd_level(parse<SimdLevel>(forced));
  } catch (const InputError&) {
    throw InputError("bad_simd_level", std::string("EMBEDRANK_SIMD='") + forced + "' is not portable, avx2 or avx512");
  }
}

}  // namespace embedrank
