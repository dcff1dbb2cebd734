#pragma once
/// Typed access to a WeightFile's tensors for a given compute Scalar.
///
/// float parameters stored as f32 are used in place in the memory map (zero
/// copy: processes share the pages). Any other combination (f16/bf16 storage,
/// or double compute) is widened once at load into storage owned by the
/// ParameterStore. Tables used a row at a time (rows()) and tensors that
/// layers repack themselves (tensor(), the linear weights) stay in the
/// file's own storage type.

#include <cmath>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "embedrank/core/tensor.hpp"

#include "embedrank/core/error.hpp"
#include "embedrank/core/half.hpp"
#include "embedrank/io/weight_file.hpp"

namespace embedrank::io {

/// Inputs per int8 scale: an i8 tensor's "<name>_scale" has one f32 scale
/// per row and group of this many columns (the last group may be shorter).
inline constexpr std::int64_t kInt8Group = 32;

/// Rows of a 2-D table (an embedding table) in the file's own storage type,
/// widened one row at a time where they are looked up, so f16/bf16 tables
/// stay half-size in memory and i8 tables (q times the scale of the row's
/// group of kInt8Group columns) quarter-size.
template <typename Scalar>
struct RowTable {
  const unsigned char* data = nullptr;
  DType dtype = DType::F32;
  std::int64_t rows = 0, cols = 0;
  const float* scale = nullptr;  // i8 only: (rows, ceil(cols / kInt8Group))

  /// out[i] += table[row][i] for i < cols; row must be in [0, rows).
  void add_row(std::int64_t row, Scalar* out) const {
    const std::size_t first = static_cast<std::size_t>(row * cols);
    switch (dtype) {
      case DType::F32: {
        const auto* values = reinterpret_cast<const float*>(data) + first;  // 64-byte aligned in the file
        for (std::int64_t i = 0; i < cols; ++i) out[i] += static_cast<Scalar>(values[i]);
        break;
      }
      case DType::I8: {
        const auto* q = reinterpret_cast<const std::int8_t*>(data) + first;
        const float* row_scale = scale + row * ((cols + kInt8Group - 1) / kInt8Group);
        for (std::int64_t i = 0; i < cols; ++i)
          out[i] += static_cast<Scalar>(static_cast<float>(q[i]) * row_scale[i / kInt8Group]);
        break;
      }
      case DType::F16:
      case DType::BF16: {
        const auto* bits = reinterpret_cast<const std::uint16_t*>(data) + first;
        for (std::int64_t i = 0; i < cols; ++i)
          out[i] += static_cast<Scalar>(dtype == DType::F16 ? fp16_to_float(bits[i]) : bf16_to_float(bits[i]));
        break;
      }
    }
  }
};

template <typename Scalar>
class ParameterStore {
  static_assert(std::is_floating_point<Scalar>::value, "Scalar must be float or double");

 public:
  explicit ParameterStore(std::shared_ptr<const WeightFile> file) : file_(std::move(file)) {}

  const WeightFile& file() const { return *file_; }

  /// Pointer to the values of `name`, checked to have `shape`. 1-D tensors
  /// (biases, LayerNorm parameters) and int8 scales ("*_scale") are also
  /// checked to be finite: a NaN or infinity there is a FormatError
  /// "non_finite" naming the tensor.
  const Scalar* get(const std::string& name, const std::vector<std::int64_t>& shape) {
    const TensorInfo& t = file_->tensor(name, shape);
    refuse_int8(t);
    const Scalar* values = nullptr;
    if (std::is_same<Scalar, float>::value && t.dtype == DType::F32) {
      values = reinterpret_cast<const Scalar*>(t.data);
    } else {
      owned_.emplace_back(static_cast<std::size_t>(t.numel));
      widen(t, owned_.back().data());
      values = owned_.back().data();
    }
    const bool is_scale = name.size() >= 6 && name.compare(name.size() - 6, 6, "_scale") == 0;
    if (shape.size() == 1 || is_scale) {
      for (std::int64_t i = 0; i < t.numel; ++i)
        if (!std::isfinite(values[i]))
          throw FormatError("non_finite", file_->path() + ": tensor " + name + " has a non-finite value at index " +
                                              std::to_string(i));
    }
    return values;
  }

  /// The tensor `name` as the file stores it (any dtype), checked to have
  /// `shape`: for layers that keep the file's own storage type.
  const TensorInfo& tensor(const std::string& name, const std::vector<std::int64_t>& shape) const {
    return file_->tensor(name, shape);
  }

  /// The 2-D tensor `name` of `shape` as a table of rows, in place; an i8
  /// table with its f32 "<name>_scale" (checked finite).
  RowTable<Scalar> rows(const std::string& name, const std::vector<std::int64_t>& shape) const {
    const TensorInfo& t = tensor(name, shape);
    RowTable<Scalar> table{t.data, t.dtype, shape.at(0), shape.at(1)};
    if (t.dtype == DType::I8) {
      const std::string scale_name = name + "_scale";
      const TensorInfo& s = tensor(scale_name, {shape.at(0), (shape.at(1) + kInt8Group - 1) / kInt8Group});
      if (s.dtype != DType::F32)
        throw FormatError("unsupported_dtype", file_->path() + ": tensor " + scale_name + " is " + to_string(s.dtype) +
                                                   "; int8 scales are f32");
      table.scale = reinterpret_cast<const float*>(s.data);  // 64-byte aligned in the file
      for (std::int64_t i = 0; i < s.numel; ++i)
        if (!std::isfinite(table.scale[i]))
          throw FormatError("non_finite", file_->path() + ": tensor " + scale_name + " has a non-finite value at index " +
                                              std::to_string(i));
    }
    return table;
  }

  /// Bytes this store copied out of the file (0 for float models stored as f32).
  std::size_t owned_bytes() const {
    std::size_t n = 0;
    for (const auto& v : owned_) n += v.size() * sizeof(Scalar);
    return n;
  }

 private:
  /// int8 is for linear weights, which float layers read through tensor()
  /// with their scales, and tables read through rows(); anywhere else it is
  /// a FormatError naming the tensor.
  void refuse_int8(const TensorInfo& t) const {
    if (t.dtype == DType::I8)
      throw FormatError("unsupported_dtype", file_->path() + ": tensor " + t.name +
                                                 " is i8; int8 is for the linear weights and embedding tables of a float encoder only");
  }

  static void widen(const TensorInfo& t, Scalar* out) {
    const auto n = static_cast<std::size_t>(t.numel);
    switch (t.dtype) {
      case DType::F32:
        for (std::size_t i = 0; i < n; ++i) {
          float v;
          std::memcpy(&v, t.data + 4 * i, 4);
          out[i] = static_cast<Scalar>(v);
        }
        break;
      case DType::I8: break;  // refused before
      case DType::F16:
      case DType::BF16:
        for (std::size_t i = 0; i < n; ++i) {
          std::uint16_t bits;
          std::memcpy(&bits, t.data + 2 * i, 2);
          out[i] = static_cast<Scalar>(t.dtype == DType::F16 ? fp16_to_float(bits) : bf16_to_float(bits));
        }
        break;
    }
  }

  std::shared_ptr<const WeightFile> file_;
  std::deque<std::vector<Scalar, Eigen::aligned_allocator<Scalar>>> owned_;
};

}  // namespace embedrank::io
