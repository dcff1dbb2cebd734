#pragma once
/// User-user Pearson similarity, computed from sparse matrix products over
/// co-rating counts and sums, in blocks of users, keeping the top-M
/// neighbours of each user. docs/cf.md derives the formulas.
///
/// U = users, I = items, R = ratings, M = neighbours kept per user.
///
/// The entry points are here; the pieces they run (under cf/):
///   similarity_options.hpp               options and enums
///   neighbor_lists.hpp                   the kept neighbours (the result)
///   detail/pearson_formula.hpp           one pair's similarity, shrinkage, clamp, shifted operands
///   detail/kernel_fused.hpp              SimilarityKernel::Fused
///   detail/kernel_upper_triangle.hpp     SimilarityKernel::UpperTriangle
///   detail/kernel_eigen.hpp              SimilarityKernel::EigenProducts
///   detail/memory_budget.hpp             working memory, list bound, over-budget error, kernel choice
///   detail/row_selection.hpp             which similarities of a row are kept (top-M, k-th largest)
///   detail/group_similarity_rows.hpp     the rows a kernel hands over, a group of users at a time
///   detail/block_schedule.hpp            blocks of users spread over the threads

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "embedrank/cf/detail/group_similarity_rows.hpp"
#include "embedrank/cf/detail/kernel_eigen.hpp"
#include "embedrank/cf/detail/kernel_fused.hpp"
#include "embedrank/cf/detail/kernel_upper_triangle.hpp"
#include "embedrank/cf/detail/memory_budget.hpp"
#include "embedrank/cf/detail/pearson_formula.hpp"
#include "embedrank/cf/detail/row_selection.hpp"
#include "embedrank/cf/neighbor_lists.hpp"
#include "embedrank/cf/ratings.hpp"
#include "embedrank/cf/similarity_options.hpp"
#include "embedrank/core/error.hpp"
#include "embedrank/core/thread_pool.hpp"
#include "embedrank/core/tensor.hpp"

namespace embedrank::cf {

namespace detail {

/// Computes sim(u, v) for every user u and every v != u sharing at least one
/// item and calls group_done(rows) once per group of
/// NeighborLists::kGroupUsers users with the similarities `keep` selects
/// (GroupSimilarityRows: a row per user, users ascending). group_done runs
/// concurrently for different groups. result_bytes: what the caller will
/// hold for the results (they and working_bytes must fit the budget).
/// Throws InputError "input.bad_option" for invalid options, "input.over_budget".
template <typename GroupDone>
void for_each_similarity_group(const Ratings& ratings, const SimilarityOptions& options, KeptSimilarities keep,
                               std::size_t result_bytes, GroupDone&& group_done) {
  check_similarity_options(options);
  const std::size_t fixed = working_bytes(ratings, options) + result_bytes;
  if (fixed > options.memory_budget_bytes)
    throw over_budget_error("the similarity computation", fixed, options.memory_budget_bytes);
  const SimilarityKernel kernel = choose_kernel(ratings, options, keep, fixed);
  const bool eigen = kernel == SimilarityKernel::EigenProducts;
  const PearsonOperands op = make_operands(ratings, options.mean, /*with_eigen_operands=*/eigen);
  const bool co_rated = options.mean == PearsonMean::CoRated;
  with_pool(options.pool, options.threads, [&](ThreadPool& pool) {
    if (eigen)
      similarity_rows_eigen(ratings, options, op, keep, pool, options.memory_budget_bytes - fixed, group_done);
    else if (kernel == SimilarityKernel::UpperTriangle && co_rated)
      similarity_rows_upper_triangle<true>(ratings, options, op, keep, pool, group_done);
    else if (kernel == SimilarityKernel::UpperTriangle)
      similarity_rows_upper_triangle<false>(ratings, options, op, keep, pool, group_done);
    else if (co_rated)
      similarity_rows_fused<true>(ratings, options, op, keep, pool, group_done);
    else
      similarity_rows_fused<false>(ratings, options, op, keep, pool, group_done);
  });
}

}  // namespace detail

/// Top-M positive neighbours of every user (M = options.max_neighbors, 0 = all),
/// highest similarity first and ties by lower user index when cutting at M.
/// Never a (U, U) matrix: memory is the lists (12 bytes a neighbour) plus
/// detail::working_bytes, all within options.memory_budget_bytes.
/// Throws InputError "input.bad_option", "input.over_budget" (before the
/// work when the lists of M > 0 neighbours cannot fit; when they outgrow it
/// for M = 0).
inline NeighborLists compute_neighbors(const Ratings& ratings, const SimilarityOptions& options = {}) {
  NeighborLists lists(ratings.num_users());
  const std::size_t bound = detail::list_bytes_bound(ratings, options);
  if (bound > 0) {
    detail::for_each_similarity_group(ratings, options, detail::KeptSimilarities::TopPositive, bound,
                                      [&](const detail::GroupSimilarityRows& rows) { lists.set_group(rows); });
    return lists;
  }
  // Every positive neighbour: the lists' size is known only as they grow.
  const std::size_t room = options.memory_budget_bytes - std::min(options.memory_budget_bytes, detail::working_bytes(ratings, options));
  std::atomic<std::size_t> kept_bytes{static_cast<std::size_t>(ratings.num_users()) * sizeof(std::uint32_t)};
  detail::for_each_similarity_group(ratings, options, detail::KeptSimilarities::TopPositive, 0,
                                    [&](const detail::GroupSimilarityRows& rows) {
    const std::size_t bytes = kept_bytes += rows.size() * (sizeof(std::int32_t) + sizeof(double));
    if (bytes > room) throw detail::over_budget_error("keeping every positive neighbour", bytes, room);
    lists.set_group(rows);
  });
  return lists;
}

/// Dense (U, U) similarity matrix with every value (negative ones too) and a
/// zero diagonal, for small data and for inspection. Throws InputError
/// "input.over_budget" when U^2 doubles exceed options.memory_budget_bytes,
/// "input.bad_option" for invalid options.
inline Matrix<double> similarity_matrix(const Ratings& ratings, const SimilarityOptions& options = {}) {
  const auto num_u = static_cast<double>(ratings.num_users());
  if (num_u * num_u * sizeof(double) > static_cast<double>(options.memory_budget_bytes))
    throw InputError("over_budget", "a dense " + std::to_string(ratings.num_users()) + " x " +
                                        std::to_string(ratings.num_users()) +
                                        " similarity matrix exceeds the memory budget; use compute_neighbors");
  const auto matrix_bytes = static_cast<std::size_t>(num_u * num_u * sizeof(double));
  Matrix<double> sim = Matrix<double>::Zero(ratings.num_users(), ratings.num_users());  // (U, U)
  detail::for_each_similarity_group(ratings, options, detail::KeptSimilarities::Nonzero, matrix_bytes,
                                    [&](const detail::GroupSimilarityRows& rows) {
    for (std::int32_t r = 0; r < rows.rows(); ++r)
      for (std::size_t e = rows.offsets[static_cast<std::size_t>(r)]; e < rows.offsets[static_cast<std::size_t>(r) + 1]; ++e)
        sim(rows.first_user + r, rows.users[e]) = rows.similarities[e];
  });
  return sim;
}

}  // namespace embedrank::cf
