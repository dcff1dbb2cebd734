#pragma once
/// The memory budget: what the computation holds besides its results
/// (working_bytes), the bound of the kept lists, the over-budget error, and
/// the choice of kernel, which depends on what fits.
///
/// U = users, R = ratings, M = neighbours kept per user.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "embedrank/cf/detail/group_similarity_rows.hpp"
#include "embedrank/cf/detail/row_selection.hpp"
#include "embedrank/cf/neighbor_lists.hpp"
#include "embedrank/cf/ratings.hpp"
#include "embedrank/cf/similarity_options.hpp"
#include "embedrank/core/error.hpp"

namespace embedrank::cf::detail {

/// Bytes the similarity computation holds besides its results: the shifted
/// ratings and per-thread scratch (fused kernels; the upper-triangle
/// kernel's matrix comes on top, see choose_kernel) or the three (I, U)
/// operands (Eigen kernel, whose blocks then take what the budget leaves).
inline std::size_t working_bytes(const Ratings& ratings, const SimilarityOptions& options) {
  const auto num_r = static_cast<double>(ratings.num_ratings());
  const auto num_ui = static_cast<double>(ratings.num_users()) + ratings.num_items() + 2.0;
  const double threads = similarity_threads(options);
  // A group's rows before they are set, per thread.
  const double row_bound = std::max(0.0, options.max_neighbors > 0 ? std::min<double>(options.max_neighbors, ratings.num_users() - 1.0)
                                                                   : ratings.num_users() - 1.0);
  const double staged = static_cast<double>(NeighborLists::kGroupUsers) * sizeof(UserSimilarity) * row_bound;
  if (options.kernel == SimilarityKernel::EigenProducts)
    return static_cast<std::size_t>(3.0 * (12.0 * num_r + 4.0 * num_ui) + threads * staged);
  // Float and double tiles, the selector.
  const double scratch = 2.0 * 64.0 * 1024.0 * 1.25 + 32.0 * options.max_neighbors + staged;
  return static_cast<std::size_t>(20.0 * num_r + ratings.num_users() + threads * scratch);
}

/// Upper bound of the kept lists' bytes when max_neighbors > 0 (0 otherwise).
inline std::size_t list_bytes_bound(const Ratings& ratings, const SimilarityOptions& options) {
  const auto num_u = static_cast<std::size_t>(ratings.num_users());
  if (options.max_neighbors == 0) return 0;
  const std::size_t per_user = std::min(num_u, static_cast<std::size_t>(options.max_neighbors));
  return num_u * (per_user * (sizeof(std::int32_t) + sizeof(double)) + sizeof(std::uint32_t)) +
         (num_u / NeighborLists::kGroupUsers + 1) * 80;
}

/// InputError "input.over_budget": `what` needs `needed` bytes, more than `budget`.
inline InputError over_budget_error(const std::string& what, std::size_t needed, std::size_t budget) {
  return InputError("over_budget", what + " needs " + std::to_string(needed >> 20) + " MiB, memory budget is " +
                                       std::to_string(budget >> 20) +
                                       " MiB (raise memory_budget_bytes or keep fewer neighbours)");
}

/// The kernel that runs. The upper-triangle kernel holds a (U, U) matrix of
/// doubles and 8 bytes a rating besides `fixed` (working memory and
/// results); when every
/// positive neighbour is kept it also reserves the lists' worst case,
/// U (U - 1) neighbours, so all it allocates is bounded before it starts.
/// automatic takes it when the matrix is at most kUpperTriangleAutoBytes
/// and that total fits the budget; asked for explicitly, it must fit
/// (InputError "input.over_budget").
inline SimilarityKernel choose_kernel(const Ratings& ratings, const SimilarityOptions& options, KeptSimilarities keep,
                                      std::size_t fixed) {
  const auto num_u = static_cast<double>(ratings.num_users());
  const double matrix = num_u * num_u * sizeof(double);
  const double positions = static_cast<double>(ratings.num_ratings()) * sizeof(std::size_t);  // ShiftedRatings::item_position
  const double lists = keep == KeptSimilarities::TopPositive && options.max_neighbors == 0
                           ? num_u * ((num_u - 1.0) * (sizeof(std::int32_t) + sizeof(double)) + sizeof(std::uint32_t))
                           : 0.0;
  const double total = static_cast<double>(fixed) + matrix + positions + lists;
  const bool fits = total <= static_cast<double>(options.memory_budget_bytes);
  switch (options.kernel) {
    case SimilarityKernel::Automatic:
      return matrix <= static_cast<double>(kUpperTriangleAutoBytes) && fits ? SimilarityKernel::UpperTriangle
                                                                            : SimilarityKernel::Fused;
    case SimilarityKernel::UpperTriangle:
      if (!fits)
        throw over_budget_error("the upper-triangle kernel's (U, U) matrix",
                                static_cast<std::size_t>(std::min(total, 1e18)), options.memory_budget_bytes);
      return SimilarityKernel::UpperTriangle;
    default: return options.kernel;
  }
}

}  // namespace embedrank::cf::detail
