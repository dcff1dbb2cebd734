#pragma once
/// Eigen aliases used across the library. Activations are row-major: one row
/// per token (or per item, or per query), which matches the packed
/// (total_tokens, H) layout of the encoder and PyTorch's (out, in) weights.

#include "embedrank/core/detail/avx512_warnings.hpp"

// The one place the library includes <Eigen/Core> (the other headers include
// this one), wrapped for GCC 12's false AVX-512 warnings in Eigen's packet math
// and for Eigen 3.4's unused bfloat16 packets, which a consumer that puts
// Eigen on -I rather than -isystem (its pkg-config file) would otherwise see
EMBEDRANK_AVX512_WARNINGS_OFF
#if defined(__GNUC__) && !defined(__clang__)  // inside the push of EMBEDRANK_AVX512_WARNINGS_OFF
#pragma GCC diagnostic ignored "-Wunused-variable"
#endif
#include <Eigen/Core>
EMBEDRANK_AVX512_WARNINGS_ON

namespace embedrank {

template <typename Scalar>
using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename Scalar>
using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
template <typename Scalar>
using RowVector = Eigen::Matrix<Scalar, 1, Eigen::Dynamic>;

template <typename Scalar>
using MatrixMap = Eigen::Map<Matrix<Scalar>>;
template <typename Scalar>
using ConstMatrixMap = Eigen::Map<const Matrix<Scalar>>;
template <typename Scalar>
using VectorMap = Eigen::Map<Vector<Scalar>>;
template <typename Scalar>
using ConstVectorMap = Eigen::Map<const Vector<Scalar>>;

using MatrixF = Matrix<float>;
using VectorF = Vector<float>;

}  // namespace embedrank
