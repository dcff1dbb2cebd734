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
/// reads one contiguous stream of NR weights per k. int8 weights (one scale
/// per output row and group of 32 inputs) are packed for the integer kernels
/// (nn/detail/int8_gemm.hpp), and each call quantizes its rows of x per
/// token first, to 16 or 8 bits as the layer says.
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
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "embedrank/core/tensor.hpp"

#include "embedrank/core/cpu_features.hpp"
#include "embedrank/core/error.hpp"
#include "embedrank/core/half.hpp"
#include "embedrank/core/thread_pool.hpp"
#include "embedrank/io/weight_file.hpp"
#include "embedrank/nn/activations.hpp"
#include "embedrank/nn/detail/gemm_common.hpp"
#include "embedrank/nn/detail/gemm_kernels.hpp"
#include "embedrank/nn/detail/int8_gemm.hpp"

namespace embedrank::nn {

namespace detail {

/// A micro-kernel chosen for one SIMD level and weight storage type, with
/// its register tile (MR rows x NR columns): `tile` for float activations
/// (f32/f16/bf16 weights), `tile_int8` for int8 weights, whose panels are
/// k-quads (`quads`, 8-bit activations as bytes) or k-pairs.
struct GemmKernel {
  MicroKernel tile = nullptr;
  MicroKernelInt8 tile_int8 = nullptr;
  bool quads = false;
  Eigen::Index mr = 1, nr = 1;
  SimdLevel level = SimdLevel::Portable;
};

template <typename Kernels>
GemmKernel int8_kernels() {
  GemmKernel k;
  k.tile_int8 = &tile_any_rows_int8<Kernels>;
  k.quads = Kernels::quads;
  k.mr = Kernels::MR;
  k.nr = Kernels::NR;
  k.level = Kernels::level;
  return k;
}

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
    case io::DType::I8: break;  // int8_kernels()
  }
  return k;
}

/// The kernel for `level` (capped by the CPU) reading weights of `dtype`;
/// for int8, multiplying activations of `activation_bits` (8 or 16).
inline GemmKernel gemm_kernel(SimdLevel level, io::DType dtype, int activation_bits = 16) {
  if (dtype == io::DType::I8) {
#if EMBEDRANK_X86_KERNELS
    const SimdLevel supported = supported_simd_level(level);
    if (supported == SimdLevel::Avx512 && cpu_has_avx512_vnni())
      return activation_bits == 8 ? int8_kernels<Avx512VnniU8>() : int8_kernels<Avx512VnniInt8>();
    if (supported != SimdLevel::Portable) return int8_kernels<Avx2Int8>();
#endif
    return int8_kernels<PortableInt8>();
  }
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
  const Eigen::Index nr = kernel.nr;
  for (Eigen::Index p = p0; p < p1; ++p) {
    const int cols = static_cast<int>(std::min(nr, out - p * nr));
    for_each_row_tile(r0, r1, kernel.mr, [&](Eigen::Index r, Eigen::Index rows) {
      const MicroTile tile{x + r * ldx, ldx, panels + static_cast<std::size_t>(p) * panel_bytes, in, bias + p * nr,
                           y + r * ldy + p * nr, ldy, static_cast<int>(rows), cols};
      kernel.tile(tile);
      if (act)
        for (int i = 0; i < tile.rows; ++i) activate_span(*act, tile.c + i * ldy, cols);
    });
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
  /// null for zeros) for the kernels of `level` (capped by the CPU). int8
  /// weights need `weight_scale` (OUT, ceil(IN / 32)): W[n][k] is
  /// weight[n][k] * weight_scale[n][k / 32]; each call then quantizes x to
  /// `activation_bits` (16: one scale per token; 8: per token and group of
  /// 32 inputs). Throws InputError for a bad shape, missing scales or
  /// activation bits other than 8 and 16.
  PackedLinear(const void* weight, io::DType dtype, const float* bias, Eigen::Index out_features,
               Eigen::Index in_features, SimdLevel level = default_simd_level(), const float* weight_scale = nullptr,
               int activation_bits = 16)
      : out_(out_features),
        in_(in_features),
        dtype_(dtype),
        activation_bits_(activation_bits),
        kernel_(detail::gemm_kernel(level, dtype, activation_bits)) {
    if (out_ <= 0 || in_ <= 0)
      throw InputError("bad_shape", "linear layer shape (" + std::to_string(out_) + ", " + std::to_string(in_) + ")");
    if (activation_bits != 8 && activation_bits != 16)
      throw InputError("bad_activation_bits", "int8 layers quantize activations to 8 or 16 bits, not " +
                                                  std::to_string(activation_bits));
    panels_ = (out_ + kernel_.nr - 1) / kernel_.nr;
    const auto padded_out = static_cast<std::size_t>(panels_ * kernel_.nr);
    bias_ = detail::aligned_bytes(padded_out * sizeof(float));
    if (bias != nullptr) std::memcpy(bias_.get(), bias, sizeof(float) * static_cast<std::size_t>(out_));
    if (dtype_ == io::DType::I8) {
      if (weight_scale == nullptr) throw InputError("missing_scale", "int8 linear weights need their per-row scales");
      const auto groups = static_cast<std::size_t>(detail::int8_groups(in_));
      weights_ = detail::aligned_bytes(padded_out * groups * detail::kGroupSize);
      weight_scale_ = detail::aligned_bytes(padded_out * groups * sizeof(float));
      if (kernel_.quads) weight_offset_ = detail::aligned_bytes(padded_out * groups * sizeof(std::int32_t));
      detail::pack_panels_int8(static_cast<const std::int8_t*>(weight), weight_scale, out_, in_, kernel_.nr,
                               kernel_.quads ? 4 : 2, reinterpret_cast<std::int8_t*>(weights_.get()),
                               reinterpret_cast<float*>(weight_scale_.get()),
                               reinterpret_cast<std::int32_t*>(weight_offset_.get()));
      return;
    }
    const std::size_t elem = io::dtype_size(dtype_);
    weights_ = detail::aligned_bytes(padded_out * static_cast<std::size_t>(in_) * elem);
    detail::pack_panels(weight, elem, out_, in_, in_, kernel_.nr, weights_.get());
  }

  Eigen::Index out_features() const { return out_; }
  Eigen::Index in_features() const { return in_; }
  io::DType dtype() const { return dtype_; }
  SimdLevel level() const { return kernel_.level; }
  /// int8 layers: the width activations are quantized to (8 or 16).
  int activation_bits() const { return activation_bits_; }
  /// Bytes of packed weights and padded bias held for the layer's lifetime.
  std::size_t bytes() const {
    const auto padded_out = static_cast<std::size_t>(panels_ * kernel_.nr);
    if (dtype_ == io::DType::I8) {
      const auto groups = static_cast<std::size_t>(detail::int8_groups(in_));
      const std::size_t offsets = kernel_.quads ? groups * sizeof(std::int32_t) : 0;
      return padded_out * (groups * (detail::kGroupSize + sizeof(float)) + offsets + sizeof(float));
    }
    return padded_out * (static_cast<std::size_t>(in_) * io::dtype_size(dtype_) + sizeof(float));
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
    // int8 weights: each row of x is quantized once, by the thread that owns it
    detail::Int8Rows rows;
    if (dtype_ == io::DType::I8) {
      const Eigen::Index groups = detail::int8_groups(in_);
      const auto values = static_cast<std::size_t>(T * groups * detail::kGroupSize);
      if (kernel_.quads) rows.q8.resize(values);
      else rows.q16.resize(values);
      rows.act_row = activation_bits_ == 8 ? groups : 1;
      rows.act_group = activation_bits_ == 8 ? 1 : 0;
      rows.scale.resize(static_cast<std::size_t>(T * rows.act_row));
    }
    if (T <= kFewTokens) {
      quantize(x, ldx, 0, T, rows);
      // Threads split the panels; every panel is streamed once for all rows.
      pool.parallel_ranges(static_cast<std::size_t>(panels_), [&](std::size_t p0, std::size_t p1) {
        run(x, ldx, 0, T, static_cast<Eigen::Index>(p0), static_cast<Eigen::Index>(p1), y, ldy, act, rows);
      });
      if constexpr (!std::is_same<std::decay_t<RowEpilogue>, NoRowEpilogue>::value)
        pool.parallel_ranges(static_cast<std::size_t>(T), [&](std::size_t r0, std::size_t r1) {
          row_epilogue(static_cast<Eigen::Index>(r0), static_cast<Eigen::Index>(r1));
        });
      return;
    }
    // Threads split row blocks of about 96 KiB of x each (an L2-resident
    // block that every panel passes over), rounded to whole register tiles.
    const Eigen::Index mr = kernel_.mr;
    const Eigen::Index block = std::max<Eigen::Index>(mr, (96 * 1024 / (4 * in_)) / mr * mr);
    const Eigen::Index blocks = (T + block - 1) / block;
    pool.parallel_ranges(static_cast<std::size_t>(blocks), [&](std::size_t b0, std::size_t b1) {
      for (auto b = static_cast<Eigen::Index>(b0); b < static_cast<Eigen::Index>(b1); ++b) {
        const Eigen::Index r0 = b * block, r1 = std::min(T, r0 + block);
        quantize(x, ldx, r0, r1, rows);
        run(x, ldx, r0, r1, 0, panels_, y, ldy, act, rows);
        row_epilogue(r0, r1);
      }
    });
  }

 private:
  /// int8 only: quantizes rows [r0, r1) of x into `rows`.
  void quantize(const float* x, Eigen::Index ldx, Eigen::Index r0, Eigen::Index r1, detail::Int8Rows& rows) const {
    if (dtype_ != io::DType::I8) return;
    const Eigen::Index padded = detail::int8_groups(in_) * detail::kGroupSize;
    for (Eigen::Index r = r0; r < r1; ++r) {
      float* scale = rows.scale.data() + r * rows.act_row;
      if (activation_bits_ == 16) detail::quantize_row_16(x + r * ldx, in_, rows.q16.data() + r * padded, scale);
      else if (kernel_.quads) detail::quantize_row_8(x + r * ldx, in_, rows.q8.data() + r * padded, scale);
      else detail::quantize_row_8(x + r * ldx, in_, rows.q16.data() + r * padded, scale);
    }
  }

  void run(const float* x, Eigen::Index ldx, Eigen::Index r0, Eigen::Index r1, Eigen::Index p0, Eigen::Index p1, float* y,
           Eigen::Index ldy, const std::optional<Activation>& act, const detail::Int8Rows& rows) const {
    if (dtype_ == io::DType::I8) {
      detail::gemm_panels_int8(kernel_.tile_int8, kernel_.mr, kernel_.nr, rows, detail::int8_groups(in_), r0, r1,
                               reinterpret_cast<const std::int8_t*>(weights_.get()),
                               reinterpret_cast<const float*>(weight_scale_.get()),
                               reinterpret_cast<const std::int32_t*>(weight_offset_.get()), p0, p1, out_,
                               reinterpret_cast<const float*>(bias_.get()), y, ldy, act);
      return;
    }
    const std::size_t panel_bytes = static_cast<std::size_t>(in_ * kernel_.nr) * io::dtype_size(dtype_);
    detail::gemm_panels(kernel_, x, ldx, r0, r1, weights_.get(), panel_bytes, p0, p1, in_, out_,
                        reinterpret_cast<const float*>(bias_.get()), y, ldy, act);
  }

  Eigen::Index out_ = 0, in_ = 0;
  io::DType dtype_ = io::DType::F32;
  int activation_bits_ = 16;
  detail::GemmKernel kernel_;
  Eigen::Index panels_ = 0;
  detail::AlignedBytes weights_;  // (P, IN, NR) in dtype_
  detail::AlignedBytes bias_;     // (P * NR) float
  detail::AlignedBytes weight_scale_;   // int8: (P, groups, NR) float
  detail::AlignedBytes weight_offset_;  // int8 k-quads: (P, groups, NR) int32, 128 * sum of the group's weights
};

}  // namespace embedrank::nn
