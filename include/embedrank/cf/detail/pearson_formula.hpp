#pragma once
/// The Pearson formula of one pair (u, v) from its co-rating sums, with
/// min_support, shrinkage and the [-1, 1] clamp, and the shifted operands
/// every kernel reads. docs/cf.md derives the formulas.
///
/// U = users, I = items, n = co-rated items of a pair (u, v).
///
/// Co-rated mean (Surprise, MyMediaLite, LibRec), over the co-rated items:
///   sim = (n P - Su Sv) / sqrt((n Qu - Su^2) (n Qv - Sv^2))
///   with P = sum x_u x_v, Su = sum x_u, Qu = sum x_u^2 (Sv, Qv likewise).
/// User mean (LensKit's centred cosine), x = r - mean over all the user's ratings:
///   sim = sum_{co-rated} x_u x_v / (sqrt(sum_{all of u} x_u^2) sqrt(sum_{all of v} x_v^2))

#include "embedrank/core/detail/avx512_warnings.hpp"
#include "embedrank/core/tensor.hpp"

EMBEDRANK_AVX512_WARNINGS_OFF  // GCC 12's false AVX-512 warnings in Eigen (core/detail/avx512_warnings.hpp)
#include <Eigen/SparseCore>
EMBEDRANK_AVX512_WARNINGS_ON

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <vector>

#include "embedrank/cf/ratings.hpp"
#include "embedrank/cf/similarity_options.hpp"

namespace embedrank::cf::detail {

/// Row-major sparse matrix of doubles: the Eigen kernel's operands and products.
using SparseRows = Eigen::SparseMatrix<double, Eigen::RowMajor, int>;

/// factor(n) of options.shrinkage: what the similarity of a pair with n
/// co-rated items is multiplied by.
inline double shrinkage_factor(const SimilarityOptions& options, double n) {
  const double lambda = options.shrinkage_lambda;
  switch (options.shrinkage) {
    case Shrinkage::None: return 1.0;
    case Shrinkage::NMinusOne: return n - 1.0 + lambda > 0.0 ? (n - 1.0) / (n - 1.0 + lambda) : 0.0;
    case Shrinkage::N: return n + lambda > 0.0 ? n / (n + lambda) : 0.0;
    case Shrinkage::Capped: return std::min(n, lambda) / lambda;
  }
  return 1.0;
}

/// The matrices the blocked products read. Ratings are shifted per user
/// before the products: by the user's mean rounded to 1/16 for the co-rated
/// formula (removes the offset, and keeps ratings on a grid such as whole or
/// half stars exact, so every sum below is exact), by the exact user mean for
/// the user-mean formula (where the centring is the formula).
struct PearsonOperands {
  std::vector<double> shift;            // (U) subtracted from each user's ratings
  SparseRows values_by_item;            // (I, U) x = r - shift (Eigen kernel only)
  SparseRows ones_by_item;              // (I, U) 1 where rated (Eigen kernel only)
  SparseRows squares_by_item;           // (I, U) x^2 (Eigen kernel only)
  std::vector<double> norm;             // (U) sqrt(sum of x^2 over the user's ratings), user-mean formula
  std::vector<double> product_terms;    // (U) sum over the user's items of raters per item: entries touched per row (Eigen kernel only)
};

inline PearsonOperands make_operands(const Ratings& ratings, PearsonMean mean, bool with_eigen_operands) {
  const std::int32_t num_u = ratings.num_users();
  const std::int32_t num_i = ratings.num_items();
  PearsonOperands op;
  op.shift.resize(static_cast<std::size_t>(num_u));
  op.norm.assign(static_cast<std::size_t>(num_u), 0.0);
  if (with_eigen_operands) op.product_terms.assign(static_cast<std::size_t>(num_u), 0.0);
  for (std::int32_t u = 0; u < num_u; ++u) {
    const double mu = ratings.user_means()[static_cast<std::size_t>(u)];
    const double shift = mean == PearsonMean::CoRated ? std::round(mu * 16.0) / 16.0 : mu;
    double squares_sum = 0.0;
    for (std::size_t k = ratings.user_begin(u); k < ratings.user_end(u); ++k) {
      const double x = ratings.user_values()[k] - shift;
      squares_sum += x * x;
    }
    op.shift[static_cast<std::size_t>(u)] = shift;
    op.norm[static_cast<std::size_t>(u)] = std::sqrt(squares_sum);
    if (!with_eigen_operands) continue;
    double terms = 0.0;
    for (std::size_t k = ratings.user_begin(u); k < ratings.user_end(u); ++k) {
      const std::int32_t i = ratings.user_items()[k];
      terms += static_cast<double>(ratings.item_end(i) - ratings.item_begin(i));
    }
    op.product_terms[static_cast<std::size_t>(u)] = terms;
  }
  if (!with_eigen_operands) return op;

  // (U, I) user-major matrices filled straight from the user lists (items
  // ascending), transposed once into the (I, U) right-hand sides.
  const auto nnz = static_cast<Eigen::Index>(ratings.num_ratings());
  SparseRows ones(num_u, num_i), values(num_u, num_i), squares(num_u, num_i);
  for (SparseRows* m : {&ones, &values, &squares}) {
    m->resizeNonZeros(nnz);
    for (std::int32_t u = 0; u <= num_u; ++u)
      m->outerIndexPtr()[u] = static_cast<int>(u < num_u ? ratings.user_begin(u) : ratings.num_ratings());
  }
  for (std::int32_t u = 0; u < num_u; ++u) {
    for (std::size_t k = ratings.user_begin(u); k < ratings.user_end(u); ++k) {
      const double x = ratings.user_values()[k] - op.shift[static_cast<std::size_t>(u)];
      for (SparseRows* m : {&ones, &values, &squares}) m->innerIndexPtr()[k] = ratings.user_items()[k];
      ones.valuePtr()[k] = 1.0;
      values.valuePtr()[k] = x;
      squares.valuePtr()[k] = x * x;
    }
  }
  op.values_by_item = values.transpose();
  op.ones_by_item = ones.transpose();
  if (mean == PearsonMean::CoRated) op.squares_by_item = squares.transpose();
  return op;
}

/// A similarity clamped to [-1, 1]; a NaN or an infinity (no defined
/// correlation) is 0, never a clamped +-1.
inline double clamp_similarity(double sim) { return std::isfinite(sim) ? std::max(-1.0, std::min(1.0, sim)) : 0.0; }

/// Co-rating statistics of one pair (u, v) over the items both rated, in the
/// shifted ratings x: n = count, p = sum x_u x_v, su = sum x_u, sv = sum x_v,
/// qu = sum x_u^2, qv = sum x_v^2.
struct CoRatingStats {
  double n = 0.0, p = 0.0, su = 0.0, sv = 0.0, qu = 0.0, qv = 0.0;
};

/// sim(u, v) from the pair's statistics (norm_u, norm_v: the user-mean
/// formula's denominators), with min_support, shrinkage and the [-1, 1] clamp.
inline double pair_similarity(const SimilarityOptions& options, const CoRatingStats& s, double norm_u, double norm_v) {
  if (s.n < options.min_support) return 0.0;
  double sim = 0.0;
  if (options.mean == PearsonMean::CoRated) {
    // n * covariance and n * variances over the co-rated items.
    double num = s.n * s.p - s.su * s.sv;
    const double den_u = s.n * s.qu - s.su * s.su;
    const double den_v = s.n * s.qv - s.sv * s.sv;
    // Constant ratings over the co-rated items (exactly 0 on a rating grid;
    // within rounding of 0 otherwise) have no correlation.
    const bool flat_u = den_u <= kPearsonZeroTolerance * s.n * s.qu;
    const bool flat_v = den_v <= kPearsonZeroTolerance * s.n * s.qv;
    if (flat_u || flat_v) return 0.0;
    if (std::abs(num) <= kPearsonZeroTolerance * s.n * std::sqrt(s.qu * s.qv)) num = 0.0;
    sim = num / std::sqrt(den_u * den_v);
  } else {
    // A covariance within rounding of 0 relative to its denominator is 0,
    // as in the co-rated formula.
    const double den = norm_u * norm_v;
    if (!(den > 0.0) || std::abs(s.p) <= kPearsonZeroTolerance * den) return 0.0;
    sim = s.p / den;
  }
  return clamp_similarity(sim) * shrinkage_factor(options, s.n);
}

/// The fewest co-rated items a pair needs for its similarity to reach
/// `floor` > 0 under shrinkage (|sim| <= factor(n), and factor grows with n),
/// rounded down so no pair that could reach it is skipped; 0 without a bound.
/// The fused kernel skips pairs with fewer items once a row's top-M cut is known.
inline double min_co_ratings_for_similarity_floor(const SimilarityOptions& options, double floor) {
  if (!(floor > 0.0) || floor >= 1.0) return 0.0;
  const double lambda = options.shrinkage_lambda;
  double n = 0.0;
  switch (options.shrinkage) {
    case Shrinkage::None: return 0.0;
    case Shrinkage::NMinusOne: n = 1.0 + floor * lambda / (1.0 - floor); break;  // (n-1)/(n-1+lambda) >= floor
    case Shrinkage::N: n = floor * lambda / (1.0 - floor); break;                  // n/(n+lambda) >= floor
    case Shrinkage::Capped: n = floor * lambda; break;                             // min(n,S)/S >= floor
  }
  return std::floor(n * (1.0 - 1e-9));
}

}  // namespace embedrank::cf::detail
