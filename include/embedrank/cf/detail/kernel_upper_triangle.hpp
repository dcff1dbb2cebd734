#pragma once
/// The upper-triangle kernel (SimilarityKernel::UpperTriangle), which
/// SimilarityKernel::Automatic picks for small U (docs/cf.md, "Computation").
///
/// U = users, M = neighbours kept per user.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "embedrank/cf/detail/block_schedule.hpp"
#include "embedrank/cf/detail/group_similarity_rows.hpp"
#include "embedrank/cf/detail/kernel_fused.hpp"
#include "embedrank/cf/detail/pearson_formula.hpp"
#include "embedrank/cf/detail/row_selection.hpp"
#include "embedrank/cf/neighbor_lists.hpp"
#include "embedrank/cf/ratings.hpp"
#include "embedrank/cf/similarity_options.hpp"
#include "embedrank/core/large_array.hpp"

namespace embedrank::cf::detail {

/// Where the upper-triangle kernel's rows put their similarities: row u of
/// the dense matrix, written whole tile by tile, every value (the cut comes
/// after mirroring).
struct DenseRowSink {
  static constexpr bool kWholeTile = true;
  double* row;           // (U)
  const double* factor;  // (most items of a user + 1) shrinkage factor by co-rated count
};

/// Upper-triangle kernel, for small U: the fused rows, but row u only for
/// the users v > u, so each pair is accumulated and evaluated once (half the
/// fused kernel's work), into a dense (U, U) matrix. sim(u, v) = sim(v, u)
/// bit for bit (every sum runs over the same items in the same order), so
/// the lower triangle is a mirror of the upper one. Then each row is cut
/// like the fused kernel's, scanning v in order.
template <bool CoRated, typename GroupDone>
void similarity_rows_upper_triangle(const Ratings& ratings, const SimilarityOptions& options, const PearsonOperands& op,
                                    KeptSimilarities keep, ThreadPool& pool, GroupDone& group_done) {
  const std::int32_t num_u = ratings.num_users();
  const auto stride = static_cast<std::size_t>(num_u);
  ShiftedRatings in = shift_ratings(ratings, op, CoRated);
  fill_item_positions(ratings, in);
  std::size_t most_items = 0;
  for (std::int32_t u = 0; u < num_u; ++u) most_items = std::max(most_items, ratings.user_end(u) - ratings.user_begin(u));
  std::vector<double> factor(most_items + 1);  // (most items + 1) by co-rated count
  for (std::size_t n = 0; n <= most_items; ++n) factor[n] = shrinkage_factor(options, static_cast<double>(n));
  // (U, U): row u at u * U; 0 = no similarity. Not cleared here: each row's
  // thread writes every cell of it (faulting its pages in, in parallel).
  LargeArray<double> sim(stride * stride);
  constexpr std::int32_t kBlock = NeighborLists::kGroupUsers;  // users per task
  const auto num_blocks = static_cast<std::size_t>((num_u + kBlock - 1) / kBlock);

  // Upper triangle. Early rows carry the most pairs; blocks go out in order,
  // so the light ones at the end even out the threads. Every cell has one writer.
  run_blocks(num_blocks, pool, [&] {
    return [&, scratch = FusedScratch()](std::size_t b) mutable {
      const auto first = static_cast<std::int32_t>(b) * kBlock;
      const std::int32_t last = std::min(num_u, first + kBlock);
      for (std::int32_t u = first; u < last; ++u) {
        double* row = sim.data() + static_cast<std::size_t>(u) * stride;
        row[u] = 0.0;  // the rest of the row's upper part is written whole
        DenseRowSink sink{row, factor.data()};
        scratch.row<CoRated>(in, ratings, options, op, u, /*above_u=*/true, sink);
      }
    };
  });

  // Each block of rows copies its lower triangle from the upper one (which
  // nothing writes any more) in kBlock x kBlock tiles, then cuts its rows.
  run_blocks(num_blocks, pool, [&] {
    return [&, kept = std::vector<UserSimilarity>(stride), values = std::vector<double>(stride),
            rows = GroupSimilarityRows()](std::size_t b) mutable {
      const auto first = static_cast<std::int32_t>(b) * kBlock;
      const std::int32_t last = std::min(num_u, first + kBlock);
      for (std::int32_t w_begin = 0; w_begin < last; w_begin += kBlock)
        for (std::int32_t u = first; u < last; ++u)
          for (std::int32_t w = w_begin; w < std::min(w_begin + kBlock, u); ++w)
            sim[static_cast<std::size_t>(u) * stride + static_cast<std::size_t>(w)] =
                sim[static_cast<std::size_t>(w) * stride + static_cast<std::size_t>(u)];
      rows.start(first);
      for (std::int32_t u = first; u < last; ++u) {
        const std::size_t count = select_from_dense_row(sim.data() + static_cast<std::size_t>(u) * stride, num_u, keep,
                                                  options.max_neighbors, kept.data(), values.data());
        rows.add_row(kept.data(), count);
      }
      group_done(rows);
    };
  });
}

}  // namespace embedrank::cf::detail
