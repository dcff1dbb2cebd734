#pragma once
/// Pooling of token states into one vector per sequence, as
/// sentence-transformers' Pooling module (and BertPooler for "pooler").
///
/// TT = tokens of all sequences packed, B = sequences, H = hidden size,
/// M = number of pooling modes; the pooled vector of sequence b is the
/// concatenation of its M mode vectors, in the order given.

#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "embedrank/core/enum_text.hpp"
#include "embedrank/core/error.hpp"
#include "embedrank/core/tensor.hpp"
#include "embedrank/nn/linear.hpp"

namespace embedrank::nn {

enum class PoolingMode {
  Cls,          // "cls": the first token's state
  Max,          // "max": element-wise max over the sequence's tokens
  Mean,         // "mean": mean over tokens (count clamped to >= 1e-9)
  MeanSqrtLen,  // "mean_sqrt_len": sum over tokens / sqrt(token count)
  Pooler,       // "pooler": BertPooler, tanh(W h_first + b)
};

/// Names as sentence-transformers' pooling config; parse throws InputError "unknown_pooling".
inline EnumText<PoolingMode> enum_text(PoolingMode) {
  static constexpr EnumName<PoolingMode> names[] = {{PoolingMode::Cls, "cls"},
                                                    {PoolingMode::Max, "max"},
                                                    {PoolingMode::Mean, "mean"},
                                                    {PoolingMode::MeanSqrtLen, "mean_sqrt_len"},
                                                    {PoolingMode::Pooler, "pooler"}};
  return {"pooling mode", "unknown_pooling", names};
}

/// Pools states (TT, H) into (B, M*H). `pooler` is required for
/// PoolingMode::Pooler (InputError otherwise).
template <typename Scalar>
Matrix<Scalar> pool(const Matrix<Scalar>& states, const std::vector<std::size_t>& offsets,
                    const std::vector<PoolingMode>& modes, const Linear<Scalar>* pooler = nullptr) {
  const Eigen::Index H = states.cols();
  const std::size_t B = offsets.empty() ? 0 : offsets.size() - 1;
  if (modes.empty()) throw InputError("no_pooling", "no pooling mode given");
  Matrix<Scalar> pooled(static_cast<Eigen::Index>(B), static_cast<Eigen::Index>(modes.size()) * H);  // (B, M*H)
  for (std::size_t b = 0; b < B; ++b) {
    const auto start = static_cast<Eigen::Index>(offsets[b]);
    const auto T = static_cast<Eigen::Index>(offsets[b + 1] - offsets[b]);
    const auto tokens = states.middleRows(start, T);  // (T, H)
    for (std::size_t m = 0; m < modes.size(); ++m) {
      auto out = pooled.row(static_cast<Eigen::Index>(b)).segment(static_cast<Eigen::Index>(m) * H, H);
      switch (modes[m]) {
        case PoolingMode::Cls: out = tokens.row(0); break;
        case PoolingMode::Max: out = tokens.colwise().maxCoeff(); break;
        case PoolingMode::Mean: out = tokens.colwise().sum() / std::max(Scalar(T), Scalar(1e-9)); break;
        case PoolingMode::MeanSqrtLen: out = tokens.colwise().sum() / std::sqrt(Scalar(T)); break;
        case PoolingMode::Pooler: {
          if (pooler == nullptr || (pooler->weight == nullptr && pooler->packed == nullptr))
            throw InputError("no_pooler", "pooling mode 'pooler' needs the model's pooler.dense weights, which it lacks");
          // first_token_tensor = hidden_states[:, 0]; pooled_output = tanh(dense(first_token_tensor))
          const Matrix<Scalar> first_token = tokens.row(0);  // (1, H)
          Matrix<Scalar> dense(1, pooler->out_features);
          ThreadPool inline_pool(1);
          pooler->forward(first_token, dense, inline_pool);
          out = dense.array().tanh().matrix();
          break;
        }
      }
    }
  }
  return pooled;
}

/// Divides each row by max(||row||_2, eps), as torch.nn.functional.normalize.
template <typename Scalar>
void l2_normalize_rows(Matrix<Scalar>& x, Scalar eps = Scalar(1e-12)) {
  for (Eigen::Index r = 0; r < x.rows(); ++r) x.row(r) /= std::max(x.row(r).norm(), eps);
}

}  // namespace embedrank::nn
