#pragma once
/// LayerNorm over the feature dimension, as torch.nn.LayerNorm: biased
/// variance, eps inside the square root.
///
/// T = tokens, H = hidden size.

#include <cmath>

#include "embedrank/core/tensor.hpp"

namespace embedrank::nn {

template <typename Scalar>
struct LayerNorm {
  const Scalar* weight = nullptr;  // gamma, (H)
  const Scalar* bias = nullptr;    // beta, (H)
  Eigen::Index size = 0;
  Scalar eps = Scalar(1e-12);

  /// Normalises rows [begin, end) of x (T, H) in place:
  /// y = (x - mean) / sqrt(var + eps) * gamma + beta.
  template <typename Mat>
  void forward_rows(Mat& x, Eigen::Index begin, Eigen::Index end) const {
    const Eigen::Map<const RowVector<Scalar>> gamma(weight, size);
    const Eigen::Map<const RowVector<Scalar>> beta(bias, size);
    for (Eigen::Index t = begin; t < end; ++t) {
      auto row = x.row(t);
      // Two passes (mean, then centred sum of squares): no cancellation.
      const Scalar mean = row.mean();
      row.array() -= mean;
      const Scalar variance = row.squaredNorm() / Scalar(size);
      const Scalar inv_std = Scalar(1) / std::sqrt(variance + eps);
      row = (row.array() * inv_std * gamma.array() + beta.array()).matrix();
    }
  }
};

}  // namespace embedrank::nn
