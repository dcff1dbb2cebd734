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

  /// Normalises one row x (H) in place:
  /// y = (x - mean) / sqrt(var + eps) * gamma + beta.
  void normalize(Scalar* x) const {
    // Two passes (mean, then centred sum of squares): no cancellation.
    const Scalar mean = lane_sum(x, [](Scalar v) { return v; }) / Scalar(size);
    const Scalar variance = lane_sum(x, [mean](Scalar v) { return (v - mean) * (v - mean); }) / Scalar(size);
    const Scalar inv_std = Scalar(1) / std::sqrt(variance + eps);
    for (Eigen::Index i = 0; i < size; ++i) x[i] = (x[i] - mean) * inv_std * weight[i] + bias[i];
  }

  /// Normalises rows [begin, end) of x (T, H), row-major, in place.
  template <typename Mat>
  void forward_rows(Mat& x, Eigen::Index begin, Eigen::Index end) const {
    for (Eigen::Index t = begin; t < end; ++t) normalize(&x(t, 0));
  }

 private:
  /// Sum of f(x[i]) over the row in 16 fixed lanes, then the lanes in order:
  /// vectorisable, and the same rounding wherever the row sits in memory.
  template <typename F>
  Scalar lane_sum(const Scalar* x, F f) const {
    constexpr Eigen::Index kLanes = 16;
    Scalar lanes[kLanes] = {};
    Eigen::Index i = 0;
    for (; i + kLanes <= size; i += kLanes)
      for (Eigen::Index l = 0; l < kLanes; ++l) lanes[l] += f(x[i + l]);
    for (Eigen::Index l = 0; i + l < size; ++l) lanes[l] += f(x[i + l]);
    Scalar total = 0;
    for (Eigen::Index l = 0; l < kLanes; ++l) total += lanes[l];
    return total;
  }
};

}  // namespace embedrank::nn
