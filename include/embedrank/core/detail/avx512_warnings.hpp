#pragma once
/// A pair of macros around code that calls AVX-512 intrinsics: the project's
/// AVX-512 kernels and Eigen's packet math (wherever <Eigen/...> is included).
///
/// GCC 12 reports "'__Y' may be used uninitialized [-Wmaybe-uninitialized]"
/// (for some intrinsics, such as the 256-bit extracts, "'__Y' is used
/// uninitialized [-Wuninitialized]") wherever one of its own AVX-512
/// intrinsics is inlined: avx512fintrin.h passes _mm512_undefined_*()
/// (`__m512 __Y = __Y;`) as the merge source of an unmasked instruction, a
/// value that is never read (GCC bug 105593, fixed in later releases).
/// Eigen being a system include does not help: the warning points into GCC's
/// header and is issued where the intrinsic is inlined. GCC checks diagnostic
/// pragmas at every point of the inlining chain, so wrapping the code that
/// calls the intrinsics silences exactly these reports; both warnings stay on
/// for all other code.

#if defined(__GNUC__) && !defined(__clang__)
#define EMBEDRANK_AVX512_WARNINGS_OFF                                 \
  _Pragma("GCC diagnostic push")                                      \
  _Pragma("GCC diagnostic ignored \"-Wmaybe-uninitialized\"")         \
  _Pragma("GCC diagnostic ignored \"-Wuninitialized\"")
#define EMBEDRANK_AVX512_WARNINGS_ON _Pragma("GCC diagnostic pop")
#else
#define EMBEDRANK_AVX512_WARNINGS_OFF
#define EMBEDRANK_AVX512_WARNINGS_ON
#endif
