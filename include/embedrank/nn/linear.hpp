#pragma once
/// Fully connected layer y = x W^T + b with PyTorch's (out, in) weight layout,
/// computed as one GEMM over all packed tokens, with an optional activation
/// and a row epilogue (residual + LayerNorm) fused into it.
///
/// T = tokens (all sequences of the batch packed), IN = input features,
/// OUT = output features.
///
/// float layers run on weights packed once at load (nn/packed_linear.hpp),
/// kept in the file's storage type (f32, f16 or bf16). double layers run
/// through Eigen on widened weights: the reference the packed path is
/// tested against.

#include <cstddef>
#include <memory>
#include <optional>
#include <type_traits>

#include "embedrank/core/tensor.hpp"
#include "embedrank/core/thread_pool.hpp"
#include "embedrank/nn/activations.hpp"
#include "embedrank/nn/packed_linear.hpp"

namespace embedrank::nn {

template <typename Scalar>
struct Linear {
  const Scalar* weight = nullptr;  // (OUT, IN), row-major; the Eigen path (double) only
  const Scalar* bias = nullptr;    // (OUT)
  Eigen::Index out_features = 0;
  Eigen::Index in_features = 0;
  std::shared_ptr<const PackedLinear> packed;  // the packed path (float) only

  /// y (T, OUT) = x (T, IN) W^T + b, then `act` on every element, then
  /// row_epilogue(begin, end) on finished rows. Each output element is
  /// computed by one thread in a fixed order, so y depends neither on the
  /// thread count nor on the other rows of x.
  template <typename In, typename Out, typename RowEpilogue = NoRowEpilogue>
  void forward(const In& x, Out& y, ThreadPool& pool, std::optional<Activation> act = std::nullopt,
               RowEpilogue&& row_epilogue = {}) const {
    const Eigen::Index T = x.rows();
    if constexpr (std::is_same<Scalar, float>::value) {
      packed->forward(x.data(), T, x.outerStride(), y.data(), y.outerStride(), pool, act,
                      std::forward<RowEpilogue>(row_epilogue));
    } else {
      const ConstMatrixMap<Scalar> W(weight, out_features, in_features);
      const Eigen::Map<const RowVector<Scalar>> b(bias, out_features);
      pool.parallel_ranges(static_cast<std::size_t>(T), [&](std::size_t begin, std::size_t end) {
        const auto r0 = static_cast<Eigen::Index>(begin), rows = static_cast<Eigen::Index>(end - begin);
        auto y_rows = y.middleRows(r0, rows);
        y_rows.noalias() = (x.middleRows(r0, rows) * W.transpose()).rowwise() + b;
        if (act) activate_inplace(*act, y_rows);
        row_epilogue(r0, r0 + rows);
      });
    }
  }
};

}  // namespace embedrank::nn
