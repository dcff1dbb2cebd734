#pragma once
/// User-user Pearson similarity, computed from sparse matrix products over
/// co-rating counts and sums, in blocks of users, keeping the top-M
/// neighbours of each user. docs/cf.md derives the formulas.
///
/// U = users, I = items, R = ratings, B = users in one block,
/// M = neighbours kept per user, n = co-rated items of a pair (u, v).
///
/// Co-rated mean (Surprise, MyMediaLite, LibRec), over the co-rated items:
///   sim = (n P - Su Sv) / sqrt((n Qu - Su^2) (n Qv - Sv^2))
///   with P = sum x_u x_v, Su = sum x_u, Qu = sum x_u^2 (Sv, Qv likewise).
/// User mean (LensKit's centred cosine), x = r - mean over all the user's ratings:
///   sim = sum_{co-rated} x_u x_v / (sqrt(sum_{all of u} x_u^2) sqrt(sum_{all of v} x_v^2))

#include <Eigen/SparseCore>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "embedrank/cf/ratings.hpp"
#include "embedrank/core/error.hpp"
#include "embedrank/core/parallel.hpp"
#include "embedrank/core/tensor.hpp"

namespace embedrank {
namespace cf {

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

/// How the co-rating statistics are computed; both give bitwise equal results.
enum class SimilarityKernel {
  fused,           ///< one row-by-row pass for all six statistics, O(U) memory per thread (default)
  eigen_products,  ///< six blocked Eigen sparse-sparse products (reference; slower)
};

struct SimilarityOptions {
  PearsonMean mean = PearsonMean::co_rated;
  /// Pairs with fewer co-rated items get similarity 0 (Surprise's min_support).
  int min_support = 1;
  Shrinkage shrinkage = Shrinkage::none;
  double shrinkage_lambda = 100.0;
  /// Neighbours kept per user (positive similarity only, highest first, ties by
  /// user index); 0 keeps every positive neighbour.
  int max_neighbors = 200;
  /// Working memory of the similarity computation: the fused kernel needs
  /// about 84 U bytes per thread (fewer threads run when the budget is
  /// smaller, InputError below one); the Eigen kernel sizes its blocks of
  /// users to it. The ratings, the operands and the kept lists come on top.
  std::size_t memory_budget_bytes = std::size_t{1} << 30;
  SimilarityKernel kernel = SimilarityKernel::fused;
  /// Threads; <= 0 means every CPU this process may use. Results do not depend on it.
  int threads = 0;
};

/// Relative tolerance under which a variance or covariance that should be an
/// exact zero (constant ratings, no linear relation) is taken as zero; see docs/cf.md.
constexpr double kPearsonZeroTolerance = 1e-12;

/// Top-M neighbours per user: for user u, entries [begin(u), end(u)) of
/// neighbor_users() / neighbor_similarities(), users ascending, every
/// similarity in (0, 1]. A user is never their own neighbour.
class NeighborLists {
 public:
  NeighborLists() = default;
  NeighborLists(std::vector<std::size_t> offsets, std::vector<std::int32_t> users, std::vector<double> similarities)
      : offsets_(std::move(offsets)), users_(std::move(users)), similarities_(std::move(similarities)) {}

  std::int32_t num_users() const { return offsets_.empty() ? 0 : static_cast<std::int32_t>(offsets_.size() - 1); }
  std::size_t begin(std::int32_t u) const { return offsets_[static_cast<std::size_t>(u)]; }
  std::size_t end(std::int32_t u) const { return offsets_[static_cast<std::size_t>(u) + 1]; }
  std::size_t total() const { return users_.size(); }
  const std::vector<std::int32_t>& neighbor_users() const { return users_; }           // (sum of list sizes)
  const std::vector<double>& neighbor_similarities() const { return similarities_; }  // (sum of list sizes)

  /// sim(u, v) if v is among u's kept neighbours, else 0 (binary search).
  double similarity(std::int32_t u, std::int32_t v) const {
    const auto first = users_.begin() + static_cast<std::ptrdiff_t>(begin(u));
    const auto last = users_.begin() + static_cast<std::ptrdiff_t>(end(u));
    const auto it = std::lower_bound(first, last, v);
    if (it == last || *it != v) return 0.0;
    return similarities_[static_cast<std::size_t>(it - users_.begin())];
  }

  /// Bytes held by the lists.
  std::size_t memory_bytes() const {
    return offsets_.size() * sizeof(std::size_t) + users_.size() * (sizeof(std::int32_t) + sizeof(double));
  }

 private:
  std::vector<std::size_t> offsets_;     // (U + 1)
  std::vector<std::int32_t> users_;      // (sum of list sizes)
  std::vector<double> similarities_;     // (sum of list sizes)
};

namespace detail {

using SparseRows = Eigen::SparseMatrix<double, Eigen::RowMajor, int>;

inline void check_similarity_options(const SimilarityOptions& options) {
  if (options.min_support < 0) throw InputError("bad_option", "min_support must be >= 0");
  if (options.max_neighbors < 0) throw InputError("bad_option", "max_neighbors must be >= 0");
  if (options.shrinkage != Shrinkage::none && !(options.shrinkage_lambda >= 0.0 && std::isfinite(options.shrinkage_lambda)))
    throw InputError("bad_option", "shrinkage lambda must be finite and >= 0");
  if (options.shrinkage == Shrinkage::capped && !(options.shrinkage_lambda > 0.0))
    throw InputError("bad_option", "capped shrinkage needs lambda > 0");
}

inline double shrinkage_factor(const SimilarityOptions& options, double n) {
  const double lambda = options.shrinkage_lambda;
  switch (options.shrinkage) {
    case Shrinkage::none: return 1.0;
    case Shrinkage::n_minus_one: return n - 1.0 + lambda > 0.0 ? (n - 1.0) / (n - 1.0 + lambda) : 0.0;
    case Shrinkage::n: return n + lambda > 0.0 ? n / (n + lambda) : 0.0;
    case Shrinkage::capped: return std::min(n, lambda) / lambda;
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
  std::vector<double> product_terms;    // (U) sum over the user's items of raters per item: entries touched per row
};

inline PearsonOperands make_operands(const Ratings& ratings, PearsonMean mean, bool with_eigen_operands) {
  const std::int32_t num_u = ratings.num_users();
  const std::int32_t num_i = ratings.num_items();
  PearsonOperands op;
  op.shift.resize(static_cast<std::size_t>(num_u));
  op.norm.assign(static_cast<std::size_t>(num_u), 0.0);
  op.product_terms.assign(static_cast<std::size_t>(num_u), 0.0);
  for (std::int32_t u = 0; u < num_u; ++u) {
    const double mu = ratings.user_means()[static_cast<std::size_t>(u)];
    const double shift = mean == PearsonMean::co_rated ? std::round(mu * 16.0) / 16.0 : mu;
    double squares_sum = 0.0;
    double terms = 0.0;
    for (std::size_t k = ratings.user_begin(u); k < ratings.user_end(u); ++k) {
      const double x = ratings.user_values()[k] - shift;
      const std::int32_t i = ratings.user_items()[k];
      squares_sum += x * x;
      terms += static_cast<double>(ratings.item_end(i) - ratings.item_begin(i));
    }
    op.shift[static_cast<std::size_t>(u)] = shift;
    op.norm[static_cast<std::size_t>(u)] = std::sqrt(squares_sum);
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
  if (mean == PearsonMean::co_rated) op.squares_by_item = squares.transpose();
  return op;
}

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

/// One similarity: a touched pair (u, v) and its value, before top-M selection.
struct Candidate {
  std::int32_t user;
  double similarity;
};

/// Co-rating statistics of one pair (u, v) over the items both rated, in the
/// shifted ratings x: n = count, p = sum x_u x_v, su = sum x_u, sv = sum x_v,
/// qu = sum x_u^2, qv = sum x_v^2.
/// One cache line each, so an update touches one line.
struct alignas(64) CoRatingStats {
  double n = 0.0, p = 0.0, su = 0.0, sv = 0.0, qu = 0.0, qv = 0.0;
};

/// sim(u, v) from the pair's statistics (norm_u, norm_v: the user-mean
/// formula's denominators), with min_support, shrinkage and the [-1, 1] clamp.
inline double pair_similarity(const SimilarityOptions& options, const CoRatingStats& s, double norm_u, double norm_v) {
  if (s.n < options.min_support) return 0.0;
  double sim = 0.0;
  if (options.mean == PearsonMean::co_rated) {
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
    const double den = norm_u * norm_v;
    if (!(den > 0.0)) return 0.0;
    sim = s.p / den;
  }
  return std::max(-1.0, std::min(1.0, sim)) * shrinkage_factor(options, s.n);
}

/// Working bytes per thread of the fused kernel: one CoRatingStats and one
/// candidate per user, the touched list.
inline std::size_t fused_bytes_per_thread(std::int32_t num_users) {
  return static_cast<std::size_t>(num_users) * (sizeof(CoRatingStats) + sizeof(Candidate) + sizeof(std::int32_t));
}

/// Raw views of the ratings the fused kernel walks (kept in registers).
struct FusedOperands {
  const std::size_t* user_start;   // (U + 1)
  const std::int32_t* user_items;  // (R) by user, items ascending
  const double* user_r;            // (R) by user
  const std::size_t* item_start;   // (I + 1)
  const std::int32_t* raters;      // (R) by item, users ascending
  const double* rater_r;           // (R) by item
  const double* shift;             // (U)
};

/// Accumulates the entries v in [cursor's position, v_end) of row u of the
/// six products into stats (U) and writes the users touched for the first
/// time to touched; returns how many. cursor (one per item u rated) holds
/// where each item's rater list (users ascending) continues, and advances.
template <bool CoRated>
std::size_t accumulate_row_tile(const FusedOperands in, std::int32_t u, std::int32_t v_end, std::size_t* cursor,
                                CoRatingStats* stats, std::int32_t* touched) {
  std::size_t count = 0;
  const double shift_u = in.shift[u];
  const std::size_t k_begin = in.user_start[u];
  for (std::size_t k = k_begin, k_end = in.user_start[u + 1]; k < k_end; ++k) {
    const auto i = static_cast<std::size_t>(in.user_items[k]);
    const double xu = in.user_r[k] - shift_u;
    const double xu2 = xu * xu;
    std::size_t e = cursor[k - k_begin];
    for (const std::size_t e_end = in.item_start[i + 1]; e < e_end && in.raters[e] < v_end; ++e) {
      const std::int32_t v = in.raters[e];
      const double xv = in.rater_r[e] - in.shift[v];
      CoRatingStats& s = stats[v];
      if (s.n == 0.0) touched[count++] = v;
      s.n += 1.0;
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

/// Fused kernel: the six products C = A B^T (A = block rows of the user-major
/// operands, B = the item-major ones) computed together, row by row
/// (Gustavson): for user u, for each item u rated, for each rater v of that
/// item, accumulate into a dense per-thread row of statistics, one tile of v
/// at a time so the updates hit cache. One pass over the sum over items of
/// raters^2 terms, O(U) memory per thread. Summation order per pair is u's
/// items ascending, as in Eigen's product.
template <bool CoRated, typename RowDone>
void similarity_rows_fused(const Ratings& ratings, const SimilarityOptions& options, const PearsonOperands& op,
                           int threads, RowDone& row_done) {
  const std::int32_t num_u = ratings.num_users();
  std::vector<std::size_t> user_start(static_cast<std::size_t>(num_u) + 1);                 // (U + 1)
  std::vector<std::size_t> item_start(static_cast<std::size_t>(ratings.num_items()) + 1);  // (I + 1)
  for (std::int32_t u = 0; u <= num_u; ++u)
    user_start[static_cast<std::size_t>(u)] = u < num_u ? ratings.user_begin(u) : ratings.num_ratings();
  for (std::int32_t i = 0; i <= ratings.num_items(); ++i)
    item_start[static_cast<std::size_t>(i)] = i < ratings.num_items() ? ratings.item_begin(i) : ratings.num_ratings();
  const FusedOperands in{user_start.data(),          ratings.user_items().data(), ratings.user_values().data(),
                         item_start.data(),          ratings.item_users().data(), ratings.item_values().data(),
                         op.shift.data()};
  constexpr std::int32_t kBlock = 64;    // users per task
  constexpr std::int32_t kTile = 8192;   // users v per tile: 8192 x 64 bytes of statistics, L2-sized
  const std::int32_t num_blocks = (num_u + kBlock - 1) / kBlock;
  std::atomic<std::int32_t> next_block{0};

  parallel_chunks(static_cast<std::size_t>(threads), threads, [&](std::size_t, std::size_t, std::size_t) {
    std::vector<CoRatingStats> row(static_cast<std::size_t>(num_u));     // (U) statistics of (u, v) for every v
    std::vector<std::int32_t> touched(static_cast<std::size_t>(num_u));  // (U) users v with row[v].n > 0
    std::vector<Candidate> candidates;
    candidates.reserve(static_cast<std::size_t>(num_u));
    std::vector<std::size_t> cursor;  // (items of u) position in each item's rater list
    for (std::int32_t b = next_block++; b < num_blocks; b = next_block++) {
      const std::int32_t last = std::min(num_u, (b + 1) * kBlock);
      for (std::int32_t u = b * kBlock; u < last; ++u) {
        candidates.clear();
        cursor.clear();
        for (std::size_t k = user_start[static_cast<std::size_t>(u)]; k < user_start[static_cast<std::size_t>(u) + 1]; ++k)
          cursor.push_back(item_start[static_cast<std::size_t>(ratings.user_items()[k])]);
        const double norm_u = op.norm[static_cast<std::size_t>(u)];
        // Row u in tiles of kTile users v, so the statistics being updated stay in cache.
        for (std::int32_t tile = 0; tile < num_u; tile += kTile) {
          const std::int32_t v_end = num_u - tile > kTile ? tile + kTile : num_u;
          const std::size_t count = accumulate_row_tile<CoRated>(in, u, v_end, cursor.data(), row.data(), touched.data());
          for (std::size_t t = 0; t < count; ++t) {
            const std::int32_t v = touched[t];
            CoRatingStats& s = row[static_cast<std::size_t>(v)];
            if (v != u) candidates.push_back({v, pair_similarity(options, s, norm_u, op.norm[static_cast<std::size_t>(v)])});
            s = CoRatingStats{};
          }
        }
        row_done(u, candidates);
      }
    }
  });
}

/// Blocked Eigen kernel: for a block of B users, the six (B, U) sparse
/// products n = E E^T, P = X X^T, Su = X E^T, Sv = E X^T, Qu = X^2 E^T,
/// Qv = E (X^2)^T with Eigen's sparse-sparse product, blocks sized so their
/// results fit options.memory_budget_bytes. Slower than the fused kernel
/// (each product allocates, sorts and transposes its result); kept as the
/// reference the fused kernel is tested against.
template <typename RowDone>
void similarity_rows_eigen(const Ratings& ratings, const SimilarityOptions& options, const PearsonOperands& op,
                           int threads, RowDone& row_done) {
  const std::int32_t num_u = ratings.num_users();
  const bool co_rated = options.mean == PearsonMean::co_rated;

  // Bytes per touched pair in a block: the sparse results (value + index) of
  // every product, one transient copy for the product being formed, the candidate.
  const double bytes_per_pair = (co_rated ? 6.0 : 2.0) * 12.0 + 24.0 + 16.0;
  const double pair_budget =
      std::max(1.0, static_cast<double>(options.memory_budget_bytes) / threads / bytes_per_pair);

  // Blocks of consecutive users whose estimated touched pairs fit the per-thread budget.
  std::vector<std::int32_t> block_start{0};
  double pairs_in_block = 0.0;
  for (std::int32_t u = 0; u < num_u; ++u) {
    const double pairs = std::min(op.product_terms[static_cast<std::size_t>(u)], static_cast<double>(num_u));
    if (u > block_start.back() && pairs_in_block + pairs > pair_budget) {
      block_start.push_back(u);
      pairs_in_block = 0.0;
    }
    pairs_in_block += pairs;
  }
  block_start.push_back(num_u);
  const std::size_t num_blocks = block_start.size() - 1;

  std::atomic<std::size_t> next_block{0};
  parallel_chunks(static_cast<std::size_t>(threads), threads, [&](std::size_t, std::size_t, std::size_t) {
    std::vector<Candidate> candidates;
    for (std::size_t b = next_block++; b < num_blocks; b = next_block++) {
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
        candidates.clear();
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
          candidates.push_back({v, pair_similarity(options, s, op.norm[static_cast<std::size_t>(u)],
                                                   op.norm[static_cast<std::size_t>(v)])});
        }
        row_done(u, candidates);
      }
    }
  });
}

/// Computes sim(u, v) for every user u and every v != u sharing at least one
/// item and calls row_done(u, candidates) once per u (candidates in no
/// particular order, but the same order on every run; row_done may reorder
/// them). row_done runs concurrently for different u. Throws InputError "input.bad_option" for
/// invalid options, "input.over_budget" when one thread's working set of the
/// fused kernel (fused_bytes_per_thread) exceeds options.memory_budget_bytes.
template <typename RowDone>
void for_each_similarity_row(const Ratings& ratings, const SimilarityOptions& options, RowDone&& row_done) {
  check_similarity_options(options);
  const bool eigen = options.kernel == SimilarityKernel::eigen_products;
  const PearsonOperands op = make_operands(ratings, options.mean, /*with_eigen_operands=*/eigen);
  int threads = resolve_threads(options.threads);
  if (eigen) {
    similarity_rows_eigen(ratings, options, op, threads, row_done);
    return;
  }
  const std::size_t per_thread = fused_bytes_per_thread(ratings.num_users());
  if (per_thread > options.memory_budget_bytes)
    throw InputError("over_budget", "similarity of " + std::to_string(ratings.num_users()) + " users needs " +
                                        std::to_string(per_thread) + " bytes of working memory, budget is " +
                                        std::to_string(options.memory_budget_bytes));
  // Fewer threads when the budget does not cover one working set each.
  threads = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(threads), options.memory_budget_bytes / per_thread));
  if (options.mean == PearsonMean::co_rated)
    similarity_rows_fused<true>(ratings, options, op, threads, row_done);
  else
    similarity_rows_fused<false>(ratings, options, op, threads, row_done);
}

}  // namespace detail

/// Top-M positive neighbours of every user (M = options.max_neighbors, 0 = all),
/// highest similarity first and ties by lower user index when cutting at M.
/// Memory: the ratings three times as sparse (I, U) operands, the kept lists,
/// and options.memory_budget_bytes of block working set; never a (U, U) matrix.
/// Throws InputError "input.bad_option".
inline NeighborLists compute_neighbors(const Ratings& ratings, const SimilarityOptions& options = {}) {
  const std::int32_t num_u = ratings.num_users();
  std::vector<std::vector<detail::Candidate>> kept(static_cast<std::size_t>(num_u));  // (U) lists
  const auto limit = static_cast<std::size_t>(options.max_neighbors);
  detail::for_each_similarity_row(ratings, options, [&](std::int32_t u, std::vector<detail::Candidate>& row) {
    // Positive similarities to the front, then the best `limit` of them.
    auto end = std::partition(row.begin(), row.end(), [](const detail::Candidate& c) { return c.similarity > 0.0; });
    if (limit > 0 && static_cast<std::size_t>(end - row.begin()) > limit) {
      const auto better = [](const detail::Candidate& a, const detail::Candidate& b) {
        return a.similarity > b.similarity || (a.similarity == b.similarity && a.user < b.user);
      };
      std::nth_element(row.begin(), row.begin() + static_cast<std::ptrdiff_t>(limit) - 1, end, better);
      end = row.begin() + static_cast<std::ptrdiff_t>(limit);
    }
    std::sort(row.begin(), end, [](const detail::Candidate& a, const detail::Candidate& b) { return a.user < b.user; });
    kept[static_cast<std::size_t>(u)].assign(row.begin(), end);
  });

  std::vector<std::size_t> offsets(static_cast<std::size_t>(num_u) + 1, 0);  // (U + 1)
  for (std::int32_t u = 0; u < num_u; ++u)
    offsets[static_cast<std::size_t>(u) + 1] = offsets[static_cast<std::size_t>(u)] + kept[static_cast<std::size_t>(u)].size();
  std::vector<std::int32_t> users(offsets.back());
  std::vector<double> sims(offsets.back());
  for (std::int32_t u = 0; u < num_u; ++u) {
    std::size_t slot = offsets[static_cast<std::size_t>(u)];
    for (const detail::Candidate& c : kept[static_cast<std::size_t>(u)]) {
      users[slot] = c.user;
      sims[slot] = c.similarity;
      ++slot;
    }
    std::vector<detail::Candidate>().swap(kept[static_cast<std::size_t>(u)]);
  }
  return NeighborLists(std::move(offsets), std::move(users), std::move(sims));
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
  Matrix<double> sim = Matrix<double>::Zero(ratings.num_users(), ratings.num_users());  // (U, U)
  detail::for_each_similarity_row(ratings, options, [&](std::int32_t u, std::vector<detail::Candidate>& row) {
    for (const detail::Candidate& c : row) sim(u, c.user) = c.similarity;
  });
  return sim;
}

}  // namespace cf
}  // namespace embedrank
