#pragma once
/// Element-wise activations of the feed-forward block, with Hugging Face's
/// names (transformers/activations.py) and formulas.

#include <cmath>
#include <string>

#include "embedrank/core/error.hpp"

namespace embedrank::nn {

enum class Activation {
  Gelu,       // "gelu": exact, x * Phi(x) with the error function
  GeluTanh,   // "gelu_new", "gelu_pytorch_tanh": tanh approximation
  GeluFast,   // "gelu_fast": tanh approximation, HF's FastGELUActivation constants
  QuickGelu,  // "quick_gelu": x * sigmoid(1.702 x)
  Relu,       // "relu"
  Silu,       // "silu", "swish": x * sigmoid(x)
};

/// Throws InputError naming the activation when it is not supported.
inline Activation activation_from_name(const std::string& name) {
  if (name == "gelu") return Activation::Gelu;
  if (name == "gelu_new" || name == "gelu_pytorch_tanh") return Activation::GeluTanh;
  if (name == "gelu_fast") return Activation::GeluFast;
  if (name == "quick_gelu") return Activation::QuickGelu;
  if (name == "relu") return Activation::Relu;
  if (name == "silu" || name == "swish") return Activation::Silu;
  throw InputError("unknown_activation", "activation '" + name + "' is not supported");
}

template <typename Scalar>
inline Scalar activate(Activation act, Scalar x) {
  using std::erf, std::exp, std::tanh, std::sqrt;
  const Scalar half = Scalar(0.5), one = Scalar(1);
  switch (act) {
    case Activation::Gelu: return half * x * (one + erf(x / Scalar(std::sqrt(2.0))));
    case Activation::GeluTanh:
      return half * x * (one + tanh(Scalar(std::sqrt(2.0 / M_PI)) * (x + Scalar(0.044715) * x * x * x)));
    case Activation::GeluFast: return half * x * (one + tanh(x * Scalar(0.7978845608) * (one + Scalar(0.044715) * x * x)));
    case Activation::QuickGelu: return x / (one + exp(Scalar(-1.702) * x));
    case Activation::Relu: return x > Scalar(0) ? x : Scalar(0);
    case Activation::Silu: return x / (one + exp(-x));
  }
  return x;
}

/// Applies `act` in place to every element of a dense block.
template <typename Derived>
void activate_inplace(Activation act, Eigen::DenseBase<Derived>& block) {
  using Scalar = typename Derived::Scalar;
  if (act == Activation::Relu) {
    block.derived() = block.derived().cwiseMax(Scalar(0));
    return;
  }
  for (Eigen::Index r = 0; r < block.rows(); ++r)
    for (Eigen::Index c = 0; c < block.cols(); ++c) block(r, c) = activate(act, block(r, c));
}

}  // namespace embedrank::nn
