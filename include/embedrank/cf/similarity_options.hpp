#pragma once
/// What the Pearson similarity computes and keeps: the mean the ratings are
/// centred on, the shrinkage, the kernel, the neighbours kept per user and
/// the memory budget. docs/cf.md explains each choice.

#include <cmath>
#include <cstddef>

#include "embedrank/core/enum_text.hpp"
#include "embedrank/core/error.hpp"
#include "embedrank/core/thread_pool.hpp"

namespace embedrank::cf {

/// Which mean the ratings are centred on.
enum class PearsonMean {
  CoRated,  ///< each user's mean over the items both users rated (the textbook correlation)
  User,     ///< each user's mean over all their ratings (denominators over each user's own items)
};

inline EnumText<PearsonMean> enum_text(PearsonMean) {
  static constexpr EnumName<PearsonMean> names[] = {{PearsonMean::CoRated, "co_rated"}, {PearsonMean::User, "user"}};
  return {"Pearson mean", "unknown_pearson_mean", names};
}

/// Significance weighting: sim *= factor(n), n = co-rated count.
enum class Shrinkage {
  None,       ///< factor 1
  NMinusOne,  ///< (n - 1) / (n - 1 + lambda)  (Surprise's pearson_baseline)
  N,          ///< n / (n + lambda)
  Capped,     ///< min(n, S) / S  (Herlocker's significance weighting, S = lambda)
};

inline EnumText<Shrinkage> enum_text(Shrinkage) {
  static constexpr EnumName<Shrinkage> names[] = {{Shrinkage::None, "none"},
                                                  {Shrinkage::NMinusOne, "n_minus_one"},
                                                  {Shrinkage::N, "n"},
                                                  {Shrinkage::Capped, "capped"}};
  return {"shrinkage", "unknown_shrinkage", names};
}

/// How the co-rating statistics are computed. All give the same lists
/// (bitwise on a rating grid; docs/cf.md).
enum class SimilarityKernel {
  Automatic,      ///< UpperTriangle when its matrix is at most kUpperTriangleAutoBytes and fits the budget, else fused (default)
  Fused,          ///< one row-by-row pass for all six statistics, O(U) memory per thread; each pair is met from both ends
  UpperTriangle,  ///< the fused rows for v > u only, into a dense (U, U) matrix that is then mirrored: each pair once, U^2 doubles
  EigenProducts,  ///< six blocked Eigen sparse-sparse products (reference; slower)
};

inline EnumText<SimilarityKernel> enum_text(SimilarityKernel) {
  static constexpr EnumName<SimilarityKernel> names[] = {{SimilarityKernel::Automatic, "automatic"},
                                                         {SimilarityKernel::Fused, "fused"},
                                                         {SimilarityKernel::UpperTriangle, "upper_triangle"},
                                                         {SimilarityKernel::EigenProducts, "eigen_products"}};
  return {"similarity kernel", "unknown_similarity_kernel", names};
}

/// The largest (U, U) matrix the automatic kernel choice accepts: 64 MiB, U <= 2896.
constexpr std::size_t kUpperTriangleAutoBytes = std::size_t{64} << 20;

/// How compute_neighbors and similarity_matrix compute and keep similarities.
struct SimilarityOptions {
  PearsonMean mean = PearsonMean::CoRated;
  /// Pairs with fewer co-rated items get similarity 0 (Surprise's min_support).
  int min_support = 1;
  /// Default (n - 1) / (n - 1 + 100): without it, pairs with two co-rated
  /// items score +-1 and fill the top-M lists (docs/cf.md measures the cost).
  Shrinkage shrinkage = Shrinkage::NMinusOne;
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
  SimilarityKernel kernel = SimilarityKernel::Automatic;
  /// Threads of ThreadPool::shared() the computation uses at most when
  /// `pool` is null; <= 0 means all of them. Results do not depend on it.
  int threads = 0;
  /// Runs the computation on this pool instead of the shared one. Not
  /// owned: it must outlive the calls that use it (compute_neighbors,
  /// similarity_matrix, UserKnn's constructor, predict_all).
  ThreadPool* pool = nullptr;
};

/// Relative tolerance under which a variance or covariance that should be an
/// exact zero (constant ratings, no linear relation) is taken as zero; see docs/cf.md.
constexpr double kPearsonZeroTolerance = 1e-12;

namespace detail {

/// Threads the computation runs on: the pool's, else options.threads of the shared pool.
inline int similarity_threads(const SimilarityOptions& options) { return pool_threads(options.pool, options.threads); }

/// Throws InputError "input.bad_option" for options no kernel accepts.
inline void check_similarity_options(const SimilarityOptions& options) {
  if (options.min_support < 0) throw InputError("bad_option", "min_support must be >= 0");
  if (options.max_neighbors < 0) throw InputError("bad_option", "max_neighbors must be >= 0");
  if (options.shrinkage != Shrinkage::None && !(options.shrinkage_lambda >= 0.0 && std::isfinite(options.shrinkage_lambda)))
    throw InputError("bad_option", "shrinkage lambda must be finite and >= 0");
  if (options.shrinkage == Shrinkage::Capped && !(options.shrinkage_lambda > 0.0))
    throw InputError("bad_option", "capped shrinkage needs lambda > 0");
}

}  // namespace detail

}  // namespace embedrank::cf
