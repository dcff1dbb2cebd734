#pragma once
/// Fully connected layer y = x W^T + b with PyTorch's (out, in) weight layout,
/// computed as one GEMM over all packed tokens.
///
/// T = tokens (all sequences of the batch packed), IN = input features,
/// OUT = output features.

#include <cstddef>

#include "embedrank/core/tensor.hpp"
#include "embedrank/core/thread_pool.hpp"

namespace embedrank::nn {

/// Weights of one nn.Linear; the pointers reference the model's parameter
/// storage (often the memory-mapped file itself).
template <typename Scalar>
struct Linear {
  const Scalar* weight = nullptr;  // (OUT, IN), row-major
  const Scalar* bias = nullptr;    // (OUT)
  Eigen::Index out_features = 0;
  Eigen::Index in_features = 0;

  ConstMatrixMap<Scalar> W() const { return ConstMatrixMap<Scalar>(weight, out_features, in_features); }
  Eigen::Map<const RowVector<Scalar>> b() const { return Eigen::Map<const RowVector<Scalar>>(bias, out_features); }

  /// y = x W^T + b for x (T, IN) into y (T, OUT). The work is split across the
  /// pool: by rows when there are enough tokens, else by output columns, so a
  /// single short query still uses every core. Each output element is computed
  /// by exactly one thread, so results do not depend on the thread count.
  template <typename In, typename Out>
  void forward(const In& x, Out& y, ThreadPool& pool) const {
    const Eigen::Index T = x.rows();
    const auto threads = static_cast<Eigen::Index>(pool.size());
    if (T >= 16 * threads) {
      pool.parallel_for(static_cast<std::size_t>(T), [&](std::size_t begin, std::size_t end) {
        const auto rows = static_cast<Eigen::Index>(end - begin);
        auto y_rows = y.middleRows(static_cast<Eigen::Index>(begin), rows);
        // Start from the bias and accumulate the product onto it: one pass
        // over y instead of zero-fill, GEMM, then a separate bias pass.
        for (Eigen::Index r = 0; r < rows; ++r) y_rows.row(r) = b();
        y_rows.noalias() += x.middleRows(static_cast<Eigen::Index>(begin), rows) * W().transpose();
      });
    } else {
      pool.parallel_for(static_cast<std::size_t>(out_features), [&](std::size_t begin, std::size_t end) {
        const auto cols = static_cast<Eigen::Index>(end - begin);
        const auto c0 = static_cast<Eigen::Index>(begin);
        auto y_cols = y.middleCols(c0, cols);
        for (Eigen::Index r = 0; r < T; ++r) y_cols.row(r) = b().segment(c0, cols);
        y_cols.noalias() += x * W().middleRows(c0, cols).transpose();
      });
    }
  }
};

}  // namespace embedrank::nn
