#pragma once
/// A linear layer's weight packed once, at model open, into the panels its
/// GEMM kernel reads, and the loops around the kernel (BLIS's structure).
///
///   T = tokens (rows of x), IN = input features, OUT = output features,
///   NR = panel width (the kernel's register tile width), P = ceil(OUT / NR)
///
/// PyTorch stores W as (OUT, IN), row-major. Packed, panel p holds output
/// columns [p*NR, (p+1)*NR) of W^T as an (IN, NR) k-major block, zero padded
/// past OUT, in the file's own storage type (f32, f16 or bf16: half-size
/// weights stay half-size and are widened inside the kernel). The kernel then
/// reads one contiguous stream of NR weights per k.
///
/// Two loop orders around the kernel, both computing every output element
/// with the same kernel in the same order (so results never depend on them):
///
///   few tokens (T <= kFewTokens): threads split the panels (output columns);
///     each panel is read once from memory for all T rows, so one query costs
///     one pass over the weights, shared by the threads;
///   many tokens: threads split the rows in blocks sized to stay in the L2
///     cache; each block runs over every panel.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <type_traits>

#include <Eigen/Core>

#include "embedrank/core/cpu_features.hpp"
#include "embedrank/core/error.hpp"
#include "embedrank/core/half.hpp"
#include "embedrank/core/thread_pool.hpp"
#include "embedrank/io/weight_file.hpp"
#include "embedrank/nn/activations.hpp"
#include "embedrank/nn/detail/gemm_kernels.hpp"

namespace embedrank::nn {

namespace detail {

/// 64-byte aligned storage (one cache line, one AVX-512 vector).
struct AlignedFree {
  void operator()(void* p) const { std::free(p); }
};
using AlignedBytes = std::unique_ptr<unsigned char[], AlignedFree>;

inline AlignedBytes aligned_bytes(std::size_t n) {
  const std::size_t rounded = (std::max<std::size_t>(n, 1) + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded);
  if (p == nullptr) throw std::bad_alloc();
  std::memset(p, 0, rounded);
  return AlignedBytes(static_cast<unsigned char*>(p));
}

/// Applies `act` to `cols` values in place. The values pass through a fixed,
/// aligned buffer so every element takes the same vectorised path whatever
/// its address: the result of an element never depends on where its row sits.
inline void activate_span(Activation act, float* values, int cols) {
  constexpr int kWidth = 32;
  alignas(64) Eigen::Matrix<float, kWidth, 1> buffer;
  for (int c0 = 0; c0 < cols; c0 += kWidth) {
    const int n = std::min(kWidth, cols - c0);
    buffer.setZero();
    std::memcpy(buffer.data(), values + c0, sizeof(float) * static_cast<std::size_t>(n));
    activate_inplace(act, buffer);
    std::memcpy(values + c0, buffer.data(), sizeof(float) * static_cast<std::size_t>(n));
  }
}

/// A micro-kernel chosen for one SIMD level and weight storage type, with
/// its register tile (MR rows x NR columns).
struct GemmKernel {
  MicroKernel tile = nullptr;
  Eigen::Index mr = 1, nr = 1;
  SimdLevel level = SimdLevel::Portable;
};

template <typename Kernels>
GemmKernel kernels_for(io::DType dtype) {
  GemmKernel k;
  k.mr = Kernels::MR;
  k.nr = Kernels::NR;
  k.level = Kernels::level;
  switch (dtype) {
    case io::DType::F32: k.tile = &tile_any_rows<Kernels, float>; break;
    case io::DType::F16: k.tile = &tile_any_rows<Kernels, Float16>; break;
    case io::DType::BF16: k.tile = &tile_any_rows<Kernels, BFloat16>; break;
  }
  return k;
}

/// The kernel for `level` (capped by the CPU) reading weights of `dtype`.
inline GemmKernel gemm_kernel(SimdLevel level, io::DType dtype) {
  switch (supported_simd_level(level)) {
#if EMBEDRANK_X86_KERNELS
    case SimdLevel::Avx512: return kernels_for<Avx512Kernels>(dtype);
    case SimdLevel::Avx2: return kernels_for<Avx2Kernels>(dtype);
#endif
    default: return kernels_for<PortableKernels>(dtype);
  }
}

/// Packs W (OUT, IN), elements of `elem` bytes with row stride `ld`
/// elements, into ceil(OUT / NR) panels of (IN, NR), k-major, at `dst`
/// (which must hold ceil(OUT / NR) * NR * IN elements, zeroed beyond OUT).
inline void pack_panels(const void* weight, std::size_t elem, Eigen::Index out, Eigen::Index in, Eigen::Index ld,
                        Eigen::Index nr, unsigned char* dst) {
  const auto* src = static_cast<const unsigned char*>(weight);
  for (Eigen::Index n = 0; n < out; ++n) {
    // output column n goes to panel n / NR, lane n % NR
    const unsigned char* row = src + static_cast<std::size_t>(n * ld) * elem;
    unsigned char* lane = dst + static_cast<std::size_t>((n / nr) * in * nr + n % nr) * elem;
    if (elem == 4) {
      for (Eigen::Index k = 0; k < in; ++k) std::memcpy(lane + static_cast<std::size_t>(k * nr) * 4, row + 4 * k, 4);
    } else {
      for (Eigen::Index k = 0; k < in; ++k)
        std::memcpy(lane + static_cast<std::size_t>(k * nr) * elem, row + static_cast<std::size_t>(k) * elem, elem);
    }
  }
}

/// y rows [r0, r1) x panels [p0, p1) = x W^T + bias, then `act`: for each
/// panel, every register tile of rows (the panel stays in cache meanwhile).
/// `panels` holds ceil(OUT / NR) panels of (IN, NR) of the kernel's type;
/// `bias` ceil(OUT / NR) * NR floats.
inline void gemm_panels(const GemmKernel& kernel, const float* x, Eigen::Index ldx, Eigen::Index r0, Eigen::Index r1,
                        const unsigned char* panels, std::size_t panel_bytes, Eigen::Index p0, Eigen::Index p1,
                        Eigen::Index in, Eigen::Index out, const float* bias, float* y, Eigen::Index ldy,
                        const std::optional<Activation>& act) {
  const Eigen::Index mr = kernel.mr, nr = kernel.nr;
  for (Eigen::Index p = p0; p < p1; ++p) {
    const int cols = static_cast<int>(std::min(nr, out - p * nr));
    for (Eigen::Index r = r0; r < r1; r += mr) {
      const MicroTile tile{x + r * ldx, ldx, panels + static_cast<std::size_t>(p) * panel_bytes, in, bias + p * nr,
                           y + r * ldy + p * nr, ldy, static_cast<int>(std::min(mr, r1 - r)), cols};
      kernel.tile(tile);
      if (act)
        for (int i = 0; i < tile.rows; ++i) activate_span(*act, tile.c + i * ldy, cols);
    }
  }
}

}  // namespace detail

/// A no-op row epilogue (see PackedLinear::forward).
struct NoRowEpilogue {
  void operator()(Eigen::Index, Eigen::Index) const {}
};

class PackedLinear {
 public:
  /// Few-token calls (T <= kFewTokens) split output columns across threads.
  static constexpr Eigen::Index kFewTokens = 32;

  /// Packs `weight` (OUT, IN), row-major in `dtype`, and `bias` (OUT, may be
  /// null for zeros) for the kernels of `level` (capped by the CPU).
  PackedLinear(const void* weight, io::DType dtype, const float* bias, Eigen::Index out_features,
               Eigen::Index in_features, SimdLevel level = default_simd_level())
      : out_(out_features), in_(in_features), dtype_(dtype), kernel_(detail::gemm_kernel(level, dtype)) {
    if (out_ <= 0 || in_ <= 0)
      throw InputError("bad_shape", "linear layer shape (" + std::to_string(out_) + ", " + std::to_string(in_) + ")");
    panels_ = (out_ + kernel_.nr - 1) / kernel_.nr;
    const std::size_t elem = io::dtype_size(dtype_);
    weights_ = detail::aligned_bytes(static_cast<std::size_t>(panels_ * kernel_.nr * in_) * elem);
    bias_ = detail::aligned_bytes(static_cast<std::size_t>(panels_ * kernel_.nr) * sizeof(float));
    detail::pack_panels(weight, elem, out_, in_, in_, kernel_.nr, weights_.get());
    if (bias != nullptr) std::memcpy(bias_.get(), bias, sizeof(float) * static_cast<std::size_t>(out_));
  }

  Eigen::Index out_features() const { return out_; }
  Eigen::Index in_features() const { return in_; }
  io::DType dtype() const { return dtype_; }
  SimdLevel level() const { return kernel_.level; }
  /// Bytes of packed weights and padded bias held for the layer's lifetime.
  std::size_t bytes() const {
    return static_cast<std::size_t>(panels_ * kernel_.nr) *
           (static_cast<std::size_t>(in_) * io::dtype_size(dtype_) + sizeof(float));
  }

  /// y (T, OUT) = x (T, IN) W^T + b, then, if given, `act` on every element
  /// (applied to each register tile as it is stored), then
  /// row_epilogue(begin, end) on finished rows [begin, end) (e.g. residual +
  /// LayerNorm). x and y are row-major with row strides ldx and ldy; y must
  /// not overlap x. Each output element is computed by one kernel call in a
  /// fixed order, so y does not depend on the pool size or on T.
  template <typename RowEpilogue = NoRowEpilogue>
  void forward(const float* x, Eigen::Index T, Eigen::Index ldx, float* y, Eigen::Index ldy, ThreadPool& pool,
               std::optional<Activation> act = std::nullopt, RowEpilogue&& row_epilogue = {}) const {
    if (T <= 0) return;
    if (T <= kFewTokens) {
      // Threads split the panels; every panel is streamed once for all rows.
      pool.parallel_for(static_cast<std::size_t>(panels_), [&](std::size_t p0, std::size_t p1) {
        run(x, ldx, 0, T, static_cast<Eigen::Index>(p0), static_cast<Eigen::Index>(p1), y, ldy, act);
      });
      if constexpr (!std::is_same<std::decay_t<RowEpilogue>, NoRowEpilogue>::value)
        pool.parallel_for(static_cast<std::size_t>(T), [&](std::size_t r0, std::size_t r1) {
          row_epilogue(static_cast<Eigen::Index>(r0), static_cast<Eigen::Index>(r1));
        });
      return;
    }
    // Threads split row blocks of about 96 KiB of x each (an L2-resident
    // block that every panel passes over), rounded to whole register tiles.
    const Eigen::Index mr = kernel_.mr;
    const Eigen::Index block = std::max<Eigen::Index>(mr, (96 * 1024 / (4 * in_)) / mr * mr);
    const Eigen::Index blocks = (T + block - 1) / block;
    pool.parallel_for(static_cast<std::size_t>(blocks), [&](std::size_t b0, std::size_t b1) {
      for (auto b = static_cast<Eigen::Index>(b0); b < static_cast<Eigen::Index>(b1); ++b) {
        const Eigen::Index r0 = b * block, r1 = std::min(T, r0 + block);
        run(x, ldx, r0, r1, 0, panels_, y, ldy, act);
        row_epilogue(r0, r1);
      }
    });
  }

 private:
  void run(const float* x, Eigen::Index ldx, Eigen::Index r0, Eigen::Index r1, Eigen::Index p0, Eigen::Index p1, float* y,
           Eigen::Index ldy, const std::optional<Activation>& act) const {
    const std::size_t panel_bytes = static_cast<std::size_t>(in_ * kernel_.nr) * io::dtype_size(dtype_);
    detail::gemm_panels(kernel_, x, ldx, r0, r1, weights_.get(), panel_bytes, p0, p1, in_, out_,
                        reinterpret_cast<const float*>(bias_.get()), y, ldy, act);
  }

  Eigen::Index out_ = 0, in_ = 0;
  io::DType dtype_ = io::DType::F32;
  detail::GemmKernel kernel_;
  Eigen::Index panels_ = 0;
  detail::AlignedBytes weights_;  // (P, IN, NR) in dtype_
  detail::AlignedBytes bias_;     // (P * NR) float
};

}  // namespace embedrank::nn
