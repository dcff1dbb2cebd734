#pragma once
/// Typed access to a WeightFile's tensors for a given compute Scalar.
///
/// float parameters stored as f32 are used in place in the memory map (zero
/// copy: a model opens in milliseconds and processes share the pages). Any
/// other combination (f16/bf16 storage, or double compute) is widened once at
/// load into storage owned by the ParameterStore.

#include <cmath>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include "embedrank/core/error.hpp"
#include "embedrank/core/half.hpp"
#include "embedrank/io/weight_file.hpp"

namespace embedrank::io {

template <typename Scalar>
class ParameterStore {
  static_assert(std::is_floating_point<Scalar>::value, "Scalar must be float or double");

 public:
  explicit ParameterStore(std::shared_ptr<const WeightFile> file) : file_(std::move(file)) {}

  const WeightFile& file() const { return *file_; }

  /// Pointer to the values of `name`, checked to have `shape`. 1-D tensors
  /// (biases, LayerNorm parameters) are also checked to be finite: a NaN or
  /// infinity there is a FormatError "non_finite" naming the tensor.
  const Scalar* get(const std::string& name, const std::vector<std::int64_t>& shape) {
    const TensorInfo& t = file_->tensor(name, shape);
    const Scalar* values = nullptr;
    if (std::is_same<Scalar, float>::value && t.dtype == DType::F32) {
      values = reinterpret_cast<const Scalar*>(t.data);
    } else {
      owned_.emplace_back(static_cast<std::size_t>(t.numel));
      widen(t, owned_.back().data());
      values = owned_.back().data();
    }
    if (shape.size() == 1) {
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

  /// Bytes this store copied out of the file (0 for float models stored as f32).
  std::size_t owned_bytes() const {
    std::size_t n = 0;
    for (const auto& v : owned_) n += v.size() * sizeof(Scalar);
    return n;
  }

 private:
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
