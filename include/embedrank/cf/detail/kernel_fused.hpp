#pragma once
/// The fused kernel (SimilarityKernel::Fused): the six co-rating sums of a
/// row computed together, row by row (Gustavson), over cache-sized tiles of
/// users, in float where float is exact. Its rows are also what the
/// upper-triangle kernel runs (for v > u only). docs/cf.md, "Computation".
///
/// U = users, I = items, R = ratings, M = neighbours kept per user.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <vector>

#include "embedrank/cf/detail/block_schedule.hpp"
#include "embedrank/cf/detail/group_similarity_rows.hpp"
#include "embedrank/cf/detail/pearson_formula.hpp"
#include "embedrank/cf/detail/row_selection.hpp"
#include "embedrank/cf/neighbor_lists.hpp"
#include "embedrank/cf/ratings.hpp"
#include "embedrank/cf/similarity_options.hpp"

namespace embedrank::cf::detail {

/// Running co-rating sums of one pair in the fused kernel: half a cache line
/// in float, a whole one in double.
template <typename T>
struct alignas(8 * sizeof(T)) PairSums {
  T n = 0, p = 0, su = 0, sv = 0, qu = 0, qv = 0;
};

/// The ratings' values as the fused kernel walks them, shifted, in the
/// Ratings' two orders: by user (items ascending) and by item (raters ascending).
struct ShiftedRatings {
  std::vector<double> user_x;            // (R) by user: x = r - shift(u)
  std::vector<double> rater_x;           // (R) by item: x = r - shift(v)
  std::vector<float> rater_x_float;      // (R) rater_x in float, when float_rows is not all false
  std::vector<char> float_row;           // (U) 1: this user's row has exact float sums
  std::vector<std::size_t> item_position;  // (R) by user: where each rating sits by item (upper-triangle kernel only)
};

/// Fills in.item_position: for each rating in the by-user order, its index
/// in the by-item order. Items are walked in order, so each user's next
/// rating (items ascending) is the one met.
inline void fill_item_positions(const Ratings& ratings, ShiftedRatings& in) {
  in.item_position.resize(ratings.num_ratings());
  std::vector<std::size_t> next(static_cast<std::size_t>(ratings.num_users()));  // (U)
  for (std::int32_t u = 0; u < ratings.num_users(); ++u) next[static_cast<std::size_t>(u)] = ratings.user_begin(u);
  for (std::size_t e = 0; e < ratings.num_ratings(); ++e)
    in.item_position[next[static_cast<std::size_t>(ratings.item_users()[e])]++] = e;
}

/// Float sums are exact, and so equal the double ones bit for bit, when every
/// shifted rating is a multiple of 1/16 (ratings on a whole, half or
/// quarter-star grid; the co-rated shift is itself a multiple of 1/16) and
/// the row's sums stay below 2^24 grid units: with A = max |16 x| over all
/// ratings and K_u = items of u, every sum of row u is at most K_u A^2 units
/// of 1/256 (|x_u x_v| <= A^2 / 256). Such rows use float sums: half the
/// cache footprint, so twice the users per tile.
inline ShiftedRatings shift_ratings(const Ratings& ratings, const PearsonOperands& op, bool co_rated) {
  const std::int32_t num_u = ratings.num_users();
  ShiftedRatings s;
  s.user_x.resize(ratings.num_ratings());
  s.rater_x.resize(ratings.num_ratings());
  bool on_grid = co_rated;
  double max_units = 0.0;  // A
  for (std::int32_t u = 0; u < num_u; ++u) {
    const double shift = op.shift[static_cast<std::size_t>(u)];
    for (std::size_t k = ratings.user_begin(u); k < ratings.user_end(u); ++k) {
      const double x = ratings.user_values()[k] - shift;
      s.user_x[k] = x;
      const double units = x * 16.0;
      on_grid = on_grid && units == std::round(units) && std::abs(units) < 4096.0;
      max_units = std::max(max_units, std::abs(units));
    }
  }
  for (std::size_t e = 0; e < ratings.num_ratings(); ++e)
    s.rater_x[e] = ratings.item_values()[e] - op.shift[static_cast<std::size_t>(ratings.item_users()[e])];
  s.float_row.assign(static_cast<std::size_t>(num_u), 0);
  if (!on_grid) return s;
  const double exact_limit = 16777216.0;  // 2^24
  bool any = false;
  for (std::int32_t u = 0; u < num_u; ++u) {
    const auto items = static_cast<double>(ratings.user_end(u) - ratings.user_begin(u));
    const bool exact = items * std::max(1.0, max_units * max_units) < exact_limit;
    s.float_row[static_cast<std::size_t>(u)] = exact ? 1 : 0;
    any = any || exact;
  }
  if (any) s.rater_x_float.assign(s.rater_x.begin(), s.rater_x.end());
  return s;
}

/// Scratch of one thread of the fused kernel.
template <typename T>
struct TileScratch {
  // 64 KiB of sums: measured as fast as 32 KiB and 4-8% faster than 256-512 KiB.
  static constexpr std::int32_t kTile = static_cast<std::int32_t>((64 * 1024) / sizeof(PairSums<T>));
  std::vector<PairSums<T>> sums = std::vector<PairSums<T>>(static_cast<std::size_t>(kTile));  // (tile) by v - tile start
  // Slots hit, in order of first touch; one spare entry, written (and not
  // counted) by every term after all kTile slots have been touched.
  std::vector<std::int32_t> touched = std::vector<std::int32_t>(static_cast<std::size_t>(kTile) + 1);
  std::vector<std::int32_t> picked = std::vector<std::int32_t>(static_cast<std::size_t>(kTile));   // slots worth a similarity
};

/// Adds the products of row u for the users v in [v_begin, v_end) into sums
/// (indexed v - v_begin) and lists the entries touched for the first time in
/// touched; returns how many. cursor (one per item u rated) holds where each
/// item's rater list (users ascending) continues, and advances.
template <typename T, bool CoRated>
std::size_t accumulate_tile(const Ratings& ratings, const ShiftedRatings& in, const std::int32_t* user_items,
                            const std::int32_t* raters, const T* rater_x, std::int32_t u, std::int32_t v_begin,
                            std::int32_t v_end, std::size_t* cursor, PairSums<T>* sums, std::int32_t* touched) {
  std::size_t count = 0;
  const std::size_t k_begin = ratings.user_begin(u);
  const std::size_t k_end = ratings.user_end(u);
  for (std::size_t k = k_begin; k < k_end; ++k) {
    const auto xu = static_cast<T>(in.user_x[k]);
    const T xu2 = xu * xu;
    std::size_t e = cursor[k - k_begin];
    for (const std::size_t e_end = ratings.item_end(user_items[k]); e < e_end && raters[e] < v_end; ++e) {
      const std::int32_t slot = raters[e] - v_begin;
      const T xv = rater_x[e];
      PairSums<T>& s = sums[slot];
      touched[count] = slot;  // kept only on a first touch (branch-free)
      count += s.n == 0 ? 1 : 0;
      s.n += 1;
      s.p += xu * xv;
      if (CoRated) {
        s.su += xu;
        s.sv += xv;
        s.qu += xu2;
        s.qv += xv * xv;
      }
    }
    cursor[k - k_begin] = e;
  }
  return count;
}

/// pair_similarity for every pair of a tile of sums, writing out[slot]: the
/// same operations on the same values, so the same results bit for bit,
/// but with no branch per pair (a tile mixes pairs that do and do not
/// count, unpredictably). Pairs with fewer than `fewest` items, flat
/// ratings or a zero norm are computed on harmless stand-ins and set to 0.
/// norm_v: the user-mean denominators of the tile's users; factor[n]: the
/// shrinkage factor of n co-rated items.
template <typename T, bool CoRated>
void tile_similarities(const PairSums<T>* sums, std::int32_t width, T fewest, double norm_u, const double* norm_v,
                       const double* factor, double* out) {
  for (std::int32_t slot = 0; slot < width; ++slot) {
    const PairSums<T>& s = sums[slot];
    const double n = s.n;
    bool ok = false;
    double sim = 0.0;
    if constexpr (CoRated) {
      const double p = s.p, su = s.su, sv = s.sv, qu = s.qu, qv = s.qv;
      double num = n * p - su * sv;
      const double den_u = n * qu - su * su;
      const double den_v = n * qv - sv * sv;
      ok = s.n >= fewest && den_u > kPearsonZeroTolerance * n * qu && den_v > kPearsonZeroTolerance * n * qv;
      num = std::abs(num) <= kPearsonZeroTolerance * n * std::sqrt(qu * qv) ? 0.0 : num;
      sim = num / std::sqrt(ok ? den_u * den_v : 1.0);
    } else {
      const double den = norm_u * norm_v[slot];
      ok = s.n >= fewest && den > 0.0 && std::abs(static_cast<double>(s.p)) > kPearsonZeroTolerance * den;
      sim = s.p / (ok ? den : 1.0);
    }
    out[slot] = ok ? clamp_similarity(sim) * factor[static_cast<std::size_t>(s.n)] : 0.0;
  }
}

/// Row u of the fused kernel for every user v, or only for v > u when
/// above_u (then in.item_position must be filled), in tiles of users so the
/// sums being updated stay in cache; each tile's touched pairs become
/// similarities and are offered to a RowSelector, whose floor() is the
/// similarity a pair must beat to matter (or a DenseRowSink, in
/// kernel_upper_triangle.hpp, takes the whole tile), and the sums are
/// cleared for the next tile.
template <typename T, bool CoRated, typename Sink>
void fused_row(const ShiftedRatings& in, const Ratings& ratings, const SimilarityOptions& options,
               const PearsonOperands& op, std::int32_t u, bool above_u, std::vector<std::size_t>& cursor,
               TileScratch<T>& scratch, Sink& sink) {
  const std::int32_t num_u = ratings.num_users();
  const std::int32_t* user_items = ratings.user_items().data();
  const std::int32_t* raters = ratings.item_users().data();
  const T* rater_x;
  if constexpr (std::is_same<T, float>::value)
    rater_x = in.rater_x_float.data();
  else
    rater_x = in.rater_x.data();
  cursor.clear();
  for (std::size_t k = ratings.user_begin(u); k < ratings.user_end(u); ++k)
    cursor.push_back(above_u ? in.item_position[k] + 1 : ratings.item_begin(user_items[k]));
  // Co-rated Pearson of a single common item is 0 (its variance is exactly 0).
  const T fewest = static_cast<T>(std::max(options.min_support, CoRated ? 2 : 1));
  const double norm_u = op.norm[static_cast<std::size_t>(u)];
  for (std::int32_t v_begin = above_u ? u + 1 : 0; v_begin < num_u; v_begin += TileScratch<T>::kTile) {
    const std::int32_t v_end = num_u - v_begin > TileScratch<T>::kTile ? v_begin + TileScratch<T>::kTile : num_u;
    const std::size_t count = accumulate_tile<T, CoRated>(ratings, in, user_items, raters, rater_x, u, v_begin, v_end,
                                                          cursor.data(), scratch.sums.data(), scratch.touched.data());
    if constexpr (Sink::kWholeTile) {
      // Every pair of the tile gets its similarity (0 where too few items
      // join it), in order, then the tile is cleared.
      tile_similarities<T, CoRated>(scratch.sums.data(), v_end - v_begin, fewest, norm_u, op.norm.data() + v_begin,
                                    sink.factor, sink.row + v_begin);
      std::fill(scratch.sums.begin(), scratch.sums.begin() + (v_end - v_begin), PairSums<T>{});
    } else {
      // Under shrinkage, once the top-M cut is known, pairs with too few
      // co-rated items cannot reach it: skipped without computing them.
      const auto needed_now = [&] {
        return std::max(fewest, static_cast<T>(min_co_ratings_for_similarity_floor(options, sink.floor())));
      };
      T needed = needed_now();
      // Most touched pairs share one or two items: pick the few worth a
      // similarity without a branch per pair (each slot is written, and kept
      // by advancing the count), then compute those, then clear the tile.
      std::int32_t* picked = scratch.picked.data();
      std::size_t num_picked = 0;
      for (std::size_t t = 0; t < count; ++t) {
        const std::int32_t slot = scratch.touched[t];
        picked[num_picked] = slot;
        num_picked += scratch.sums[static_cast<std::size_t>(slot)].n >= needed ? 1 : 0;
      }
      for (std::size_t t = 0; t < num_picked; ++t) {
        const PairSums<T>& s = scratch.sums[static_cast<std::size_t>(picked[t])];
        const std::int32_t v = v_begin + picked[t];
        if (s.n < needed || v == u) continue;  // needed may have risen since
        const CoRatingStats d{s.n, s.p, s.su, s.sv, s.qu, s.qv};
        if (sink.offer(v, pair_similarity(options, d, norm_u, op.norm[static_cast<std::size_t>(v)])))
          needed = needed_now();
      }
      for (std::size_t t = 0; t < count; ++t) scratch.sums[static_cast<std::size_t>(scratch.touched[t])] = PairSums<T>{};
    }
  }
}

/// One thread's scratch for fused rows: sum tiles in float and in double
/// (each made on first use) and the rows' item cursors.
struct FusedScratch {
  std::unique_ptr<TileScratch<float>> float_tile;
  std::unique_ptr<TileScratch<double>> double_tile;
  std::vector<std::size_t> cursor;  // (items of u) position in each item's rater list

  /// Row u (every v, or v > u when above_u), in float sums when they are exact.
  template <bool CoRated, typename Sink>
  void row(const ShiftedRatings& in, const Ratings& ratings, const SimilarityOptions& options, const PearsonOperands& op,
           std::int32_t u, bool above_u, Sink& sink) {
    if (in.float_row[static_cast<std::size_t>(u)]) {
      if (!float_tile) float_tile = std::make_unique<TileScratch<float>>();
      fused_row<float, CoRated>(in, ratings, options, op, u, above_u, cursor, *float_tile, sink);
    } else {
      if (!double_tile) double_tile = std::make_unique<TileScratch<double>>();
      fused_row<double, CoRated>(in, ratings, options, op, u, above_u, cursor, *double_tile, sink);
    }
  }
};

/// Fused kernel: the six products C = A B^T (A = the user-major shifted
/// ratings, B = the item-major ones) computed together, row by row
/// (Gustavson): for user u, for each item u rated, for each rater v of that
/// item, accumulate into per-thread sums, one cache-sized tile of users v at
/// a time. One pass over the sum over items of raters^2 terms; a few hundred
/// KiB of scratch per thread. Users go to threads in blocks of 64.
template <bool CoRated, typename GroupDone>
void similarity_rows_fused(const Ratings& ratings, const SimilarityOptions& options, const PearsonOperands& op,
                           KeptSimilarities keep, ThreadPool& pool, GroupDone& group_done) {
  const std::int32_t num_u = ratings.num_users();
  const ShiftedRatings in = shift_ratings(ratings, op, CoRated);
  constexpr std::int32_t kBlock = NeighborLists::kGroupUsers;  // users per task
  const auto num_blocks = static_cast<std::size_t>((num_u + kBlock - 1) / kBlock);
  run_blocks(num_blocks, pool, [&] {
    return [&, scratch = FusedScratch(), selector = RowSelector(keep, options.max_neighbors),
            rows = GroupSimilarityRows()](std::size_t b) mutable {
      const auto first = static_cast<std::int32_t>(b) * kBlock;
      const std::int32_t last = std::min(num_u, first + kBlock);
      rows.start(first);
      for (std::int32_t u = first; u < last; ++u) {
        selector.reset();
        scratch.row<CoRated>(in, ratings, options, op, u, /*above_u=*/false, selector);
        rows.add_row(selector.finish());
      }
      group_done(rows);
    };
  });
}

}  // namespace embedrank::cf::detail
