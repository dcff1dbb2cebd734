#pragma once
/// The Eigen kernel (SimilarityKernel::EigenProducts): the co-rating sums
/// as Eigen sparse-sparse products over blocks of users. The reference the
/// fused kernels are tested against; several times slower.
///
/// U = users, I = items, B = users in one block.

#include "embedrank/core/detail/avx512_warnings.hpp"
#include "embedrank/core/tensor.hpp"

EMBEDRANK_AVX512_WARNINGS_OFF  // GCC 12's false AVX-512 warnings in Eigen (core/detail/avx512_warnings.hpp)
#include <Eigen/SparseCore>
EMBEDRANK_AVX512_WARNINGS_ON

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <vector>

#include "embedrank/cf/detail/block_schedule.hpp"
#include "embedrank/cf/detail/group_similarity_rows.hpp"
#include "embedrank/cf/detail/pearson_formula.hpp"
#include "embedrank/cf/detail/row_selection.hpp"
#include "embedrank/cf/neighbor_lists.hpp"
#include "embedrank/cf/ratings.hpp"
#include "embedrank/cf/similarity_options.hpp"
#include "embedrank/core/error.hpp"

namespace embedrank::cf::detail {

/// Rows [first, last) of the user-major (U, I) matrix with values f(x), x = r - shift.
template <typename ValueOf>
SparseRows block_rows(const Ratings& ratings, const PearsonOperands& op, std::int32_t first, std::int32_t last,
                      ValueOf value_of) {
  const std::size_t base = ratings.user_begin(first);
  const std::size_t stop = ratings.user_end(last - 1);
  SparseRows block(last - first, ratings.num_items());  // (B, I)
  block.resizeNonZeros(static_cast<Eigen::Index>(stop - base));
  block.outerIndexPtr()[0] = 0;
  for (std::int32_t u = first; u < last; ++u) {
    const double shift = op.shift[static_cast<std::size_t>(u)];
    for (std::size_t k = ratings.user_begin(u); k < ratings.user_end(u); ++k) {
      block.innerIndexPtr()[k - base] = ratings.user_items()[k];
      block.valuePtr()[k - base] = value_of(ratings.user_values()[k] - shift);
    }
    block.outerIndexPtr()[u - first + 1] = static_cast<int>(ratings.user_end(u) - base);
  }
  return block;
}

/// True when two sparse matrices store entries at the same positions.
inline bool same_structure(const SparseRows& a, const SparseRows& b) {
  if (a.rows() != b.rows() || a.nonZeros() != b.nonZeros() || !a.isCompressed() || !b.isCompressed()) return false;
  return std::equal(a.outerIndexPtr(), a.outerIndexPtr() + a.rows() + 1, b.outerIndexPtr()) &&
         std::equal(a.innerIndexPtr(), a.innerIndexPtr() + a.nonZeros(), b.innerIndexPtr());
}

/// Blocked Eigen kernel: for a block of B users, the six (B, U) sparse
/// products n = E E^T, P = X X^T, Su = X E^T, Sv = E X^T, Qu = X^2 E^T,
/// Qv = E (X^2)^T with Eigen's sparse-sparse product, blocks sized so their
/// results fit block_budget. Slower than the fused kernel
/// (each product allocates, sorts and transposes its result); kept as the
/// reference the fused kernel is tested against.
template <typename GroupDone>
void similarity_rows_eigen(const Ratings& ratings, const SimilarityOptions& options, const PearsonOperands& op,
                           KeptSimilarities keep, ThreadPool& pool, std::size_t block_budget, GroupDone& group_done) {
  const std::int32_t num_u = ratings.num_users();
  const bool co_rated = options.mean == PearsonMean::CoRated;

  // Bytes per touched pair in a block: the sparse results (value + index) of
  // every product, one transient copy for the product being formed, the candidate.
  const double bytes_per_pair = (co_rated ? 6.0 : 2.0) * 12.0 + 24.0 + 16.0;
  const double pair_budget =
      std::max(1.0, static_cast<double>(block_budget) / pool.size() / bytes_per_pair);

  // Blocks of consecutive users whose estimated touched pairs fit the per-thread budget.
  std::vector<std::int32_t> block_start{0};
  double pairs_in_block = 0.0;
  for (std::int32_t u = 0; u < num_u; ++u) {
    const double pairs = std::min(op.product_terms[static_cast<std::size_t>(u)], static_cast<double>(num_u));
    // Blocks start at group boundaries: each group of users goes to one thread.
    if (u > block_start.back() && u % NeighborLists::kGroupUsers == 0 && pairs_in_block + pairs > pair_budget) {
      block_start.push_back(u);
      pairs_in_block = 0.0;
    }
    pairs_in_block += pairs;
  }
  block_start.push_back(num_u);
  const std::size_t num_blocks = block_start.size() - 1;

  run_blocks(num_blocks, pool, [&] {
    return [&, selector = RowSelector(keep, options.max_neighbors), rows = GroupSimilarityRows()](std::size_t b) mutable {
      const std::int32_t first = block_start[b];
      const std::int32_t last = block_start[b + 1];
      const SparseRows ones = block_rows(ratings, op, first, last, [](double) { return 1.0; });    // (B, I)
      const SparseRows values = block_rows(ratings, op, first, last, [](double x) { return x; });  // (B, I)

      const SparseRows count = ones * op.ones_by_item;     // (B, U) n
      const SparseRows prod = values * op.values_by_item;  // (B, U) P
      SparseRows sum_u, sum_v, sq_u, sq_v;                 // (B, U) Su, Sv, Qu, Qv
      if (co_rated) {
        const SparseRows squares = block_rows(ratings, op, first, last, [](double x) { return x * x; });
        sum_u = values * op.ones_by_item;
        sum_v = ones * op.values_by_item;
        sq_u = squares * op.ones_by_item;
        sq_v = ones * op.squares_by_item;
      }
      // Every product has the structure of `count` (the operands share one
      // pattern), so their rows are walked in lockstep.
      for (const SparseRows* m : std::initializer_list<const SparseRows*>{&prod, &sum_u, &sum_v, &sq_u, &sq_v})
        if ((co_rated || m == &prod) && !same_structure(count, *m))
          throw Error("internal.structure", "co-rating products disagree in structure");

      for (std::int32_t r = 0; r < last - first; ++r) {
        const std::int32_t u = first + r;
        if (u % NeighborLists::kGroupUsers == 0) rows.start(u);
        selector.reset();
        for (int e = count.outerIndexPtr()[r]; e < count.outerIndexPtr()[r + 1]; ++e) {
          const std::int32_t v = count.innerIndexPtr()[e];
          if (v == u) continue;
          CoRatingStats s;
          s.n = count.valuePtr()[e];
          s.p = prod.valuePtr()[e];
          if (co_rated) {
            s.su = sum_u.valuePtr()[e];
            s.sv = sum_v.valuePtr()[e];
            s.qu = sq_u.valuePtr()[e];
            s.qv = sq_v.valuePtr()[e];
          }
          selector.offer(v, pair_similarity(options, s, op.norm[static_cast<std::size_t>(u)],
                                            op.norm[static_cast<std::size_t>(v)]));
        }
        rows.add_row(selector.finish());
        if ((u + 1) % NeighborLists::kGroupUsers == 0 || u + 1 == num_u) group_done(rows);
      }
    };
  });
}

}  // namespace embedrank::cf::detail
