#pragma once
/// What the Pearson similarity computes and keeps: the mean the ratings are
/// centred on, the shrinkage, the kernel, the neighbours kept per user and
/// the memory budget. docs/cf.md explains each choice.

#include <cmath>
#include <cstddef>

#include "embedrank/core/error.hpp"

namespace embedrank::cf {

/// Which mean the ratings are centred on.
enum class PearsonMean {
  co_rated,  ///< each user's mean over the items both users rated (the textbook correlation)
  user,      ///< each user's mean over all their ratings (denominators over each user's own items)
};

/// Significance weighting: sim *= factor(n), n = co-rated count.
enum class Shrinkage {
  none,         ///< factor 1
  n_minus_one,  ///< (n - 1) / (n - 1 + lambda)  (Surprise's pearson_baseline)
  n,            ///< n / (n + lambda)
  capped,       ///< min(n, S) / S  (Herlocker's significance weighting, S = lambda)
};

/// How the co-rating statistics are computed. All give the same lists
/// (bitwise on a rating grid; docs/cf.md).
enum class SimilarityKernel {
  automatic,       ///< upper_triangle when its matrix is at most kUpperTriangleAutoBytes and fits the budget, else fused (default)
  fused,           ///< one row-by-row pass for all six statistics, O(U) memory per thread; each pair is met from both ends
  upper_triangle,  ///< the fused rows for v > u only, into a dense (U, U) matrix that is then mirrored: each pair once, U^2 doubles
  eigen_products,  ///< six blocked Eigen sparse-sparse products (reference; slower)
};

/// The largest (U, U) matrix the automatic kernel choice accepts: 64 MiB, U <= 2896.
constexpr std::size_t kUpperTriangleAutoBytes = std::size_t{64} << 20;

/// How compute_neighbors and similarity_matrix compute and keep similarities.
struct SimilarityOptions {
  PearsonMean mean = PearsonMean::co_rated;
  /// Pairs with fewer co-rated items get similarity 0 (Surprise's min_support).
  int min_support = 1;
  /// Default (n - 1) / (n - 1 + 100): without it, pairs with two co-rated
  /// items score +-1 and fill the top-M lists (docs/cf.md measures the cost).
  Shrinkage shrinkage = Shrinkage::n_minus_one;
  double shrinkage_lambda = 100.0;
  /// Neighbours kept per user (positive similarity only, highest first, ties by
  /// user index); 0 keeps every positive neighbour.
  int max_neighbors = 200;
  /// Bound on what the computation allocates beyond the Ratings: the kept
  /// lists (12 bytes a neighbour), the shifted copies of the ratings (20
  /// bytes a rating; 36 for the Eigen kernel) and working memory (a few
  /// hundred KiB per thread; the Eigen kernel sizes its blocks of users to
  /// what is left). Checked before the work starts when max_neighbors > 0
  /// (U M 12 bytes at most) and as the lists grow when it is 0:
  /// InputError "input.over_budget" either way.
  std::size_t memory_budget_bytes = std::size_t{4} << 30;
  SimilarityKernel kernel = SimilarityKernel::automatic;
  /// Threads; <= 0 means every CPU this process may use. Results do not depend on it.
  int threads = 0;
};

/// Relative tolerance under which a variance or covariance that should be an
/// exact zero (constant ratings, no linear relation) is taken as zero; see docs/cf.md.
constexpr double kPearsonZeroTolerance = 1e-12;

namespace detail {

/// Throws InputError "input.bad_option" for options no kernel accepts.
inline void check_similarity_options(const SimilarityOptions& options) {
  if (options.min_support < 0) throw InputError("bad_option", "min_support must be >= 0");
  if (options.max_neighbors < 0) throw InputError("bad_option", "max_neighbors must be >= 0");
  if (options.shrinkage != Shrinkage::none && !(options.shrinkage_lambda >= 0.0 && std::isfinite(options.shrinkage_lambda)))
    throw InputError("bad_option", "shrinkage lambda must be finite and >= 0");
  if (options.shrinkage == Shrinkage::capped && !(options.shrinkage_lambda > 0.0))
    throw InputError("bad_option", "capped shrinkage needs lambda > 0");
}

}  // namespace detail

}  // namespace embedrank::cf
