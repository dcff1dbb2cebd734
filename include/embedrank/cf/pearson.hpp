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
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "embedrank/cf/ratings.hpp"
#include "embedrank/core/error.hpp"
#include "embedrank/core/large_array.hpp"
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

/// The kept neighbours of one user: users ascending, similarities in (0, 1].
struct NeighborSpan {
  const std::int32_t* users = nullptr;
  const double* similarities = nullptr;
  std::size_t size = 0;
};

namespace detail {

/// One similarity: a touched pair (u, v) and its value.
struct Candidate {
  std::int32_t user;
  double similarity;
};

/// The kept similarities of one group of consecutive users as a kernel hands
/// them over: row r (user first_user + r) is entries [offsets[r], offsets[r + 1])
/// of users and similarities, users ascending. Each thread fills one,
/// reused from group to group.
struct GroupRows {
  std::int32_t first_user = 0;
  std::vector<std::size_t> offsets;   // (rows + 1)
  std::vector<std::int32_t> users;    // (kept in the group)
  std::vector<double> similarities;   // (kept in the group)

  void start(std::int32_t first) {
    first_user = first;
    offsets.assign(1, 0);
    users.clear();
    similarities.clear();
  }
  void add_row(const Candidate* row, std::size_t count) {
    const std::size_t at = users.size();
    users.resize(at + count);
    similarities.resize(at + count);
    for (std::size_t e = 0; e < count; ++e) {
      users[at + e] = row[e].user;
      similarities[at + e] = row[e].similarity;
    }
    offsets.push_back(at + count);
  }
  void add_row(const std::vector<Candidate>& row) { add_row(row.data(), row.size()); }
  std::int32_t rows() const { return static_cast<std::int32_t>(offsets.size()) - 1; }
  std::size_t size() const { return users.size(); }
};

}  // namespace detail

/// Top-M neighbours per user. A user is never their own neighbour. Stored in
/// groups of kGroupUsers consecutive users, each group set once, in its
/// exact size, by the thread that computed it, so the lists are never
/// copied into one array (which would briefly need twice their memory);
/// the groups' entries are slices of a few large blocks (SliceArena).
class NeighborLists {
 public:
  static constexpr std::int32_t kGroupUsers = 64;

  NeighborLists() = default;
  /// Empty lists for num_users users.
  explicit NeighborLists(std::int32_t num_users)
      : num_users_(num_users), groups_(static_cast<std::size_t>((num_users + kGroupUsers - 1) / kGroupUsers)) {}
  /// A moved-from NeighborLists has no users.
  NeighborLists(NeighborLists&& other) noexcept
      : num_users_(std::exchange(other.num_users_, 0)), groups_(std::move(other.groups_)), store_(std::move(other.store_)) {}
  NeighborLists& operator=(NeighborLists&& other) noexcept {
    num_users_ = std::exchange(other.num_users_, 0);
    groups_ = std::move(other.groups_);
    store_ = std::move(other.store_);
    return *this;
  }

  std::int32_t num_users() const { return num_users_; }

  NeighborSpan of(std::int32_t u) const {
    const Group& g = groups_[static_cast<std::size_t>(u / kGroupUsers)];
    const auto r = static_cast<std::size_t>(u % kGroupUsers);
    if (r + 1 >= g.offsets.size()) return {};
    const std::uint32_t first = g.offsets[r];
    return {g.users + first, g.similarities + first, g.offsets[r + 1] - first};
  }

  /// sim(u, v) if v is among u's kept neighbours, else 0 (binary search).
  double similarity(std::int32_t u, std::int32_t v) const {
    const NeighborSpan n = of(u);
    const std::int32_t* it = std::lower_bound(n.users, n.users + n.size, v);
    if (it == n.users + n.size || *it != v) return 0.0;
    return n.similarities[it - n.users];
  }

  /// Neighbours kept over all users.
  std::size_t total() const {
    std::size_t sum = 0;
    for (const Group& g : groups_) sum += g.size;
    return sum;
  }

  /// Bytes held by the lists (the blocks their entries are carved from included).
  std::size_t memory_bytes() const {
    std::size_t bytes = groups_.capacity() * sizeof(Group);
    if (store_) bytes += store_->users.reserved_bytes() + store_->similarities.reserved_bytes();
    for (const Group& g : groups_) bytes += g.offsets.capacity() * sizeof(std::uint32_t);
    return bytes;
  }

  /// Sets the lists of the group starting at rows.first_user (a multiple of
  /// kGroupUsers, with a row for every user of the group). Each group is set
  /// once; different groups may be set concurrently.
  void set_group(const detail::GroupRows& rows) {
    const std::int32_t first = rows.first_user;
    if (first < 0 || first >= num_users_ || first % kGroupUsers != 0 ||
        rows.rows() != std::min(kGroupUsers, num_users_ - first))
      throw Error("internal.order", "neighbour lists handed over out of group order at user " + std::to_string(first));
    if (rows.size() > std::numeric_limits<std::uint32_t>::max())
      throw InputError("over_budget", "more than 2^32 - 1 neighbours in the group of user " + std::to_string(first) +
                                          "; keep fewer neighbours (max_neighbors)");
    Group& g = groups_[static_cast<std::size_t>(first / kGroupUsers)];
    g.offsets.resize(rows.offsets.size());
    for (std::size_t r = 0; r < rows.offsets.size(); ++r) g.offsets[r] = static_cast<std::uint32_t>(rows.offsets[r]);
    g.size = rows.size();
    std::int32_t* users = store_->users.allocate(g.size);
    double* similarities = store_->similarities.allocate(g.size);
    std::copy(rows.users.begin(), rows.users.end(), users);
    std::copy(rows.similarities.begin(), rows.similarities.end(), similarities);
    g.users = users;
    g.similarities = similarities;
  }

 private:
  struct Group {
    std::vector<std::uint32_t> offsets;      // (users in the group + 1) into users / similarities
    const std::int32_t* users = nullptr;     // (size) in store_
    const double* similarities = nullptr;    // (size) in store_
    std::size_t size = 0;
  };
  struct Store {
    SliceArena<std::int32_t> users;
    SliceArena<double> similarities;
  };
  std::int32_t num_users_ = 0;
  std::vector<Group> groups_;                          // (ceil(U / kGroupUsers))
  std::unique_ptr<Store> store_ = std::make_unique<Store>();
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
    const double shift = mean == PearsonMean::co_rated ? std::round(mu * 16.0) / 16.0 : mu;
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
inline double fewest_for_floor(const SimilarityOptions& options, double floor) {
  if (!(floor > 0.0) || floor >= 1.0) return 0.0;
  const double lambda = options.shrinkage_lambda;
  double n = 0.0;
  switch (options.shrinkage) {
    case Shrinkage::none: return 0.0;
    case Shrinkage::n_minus_one: n = 1.0 + floor * lambda / (1.0 - floor); break;  // (n-1)/(n-1+lambda) >= floor
    case Shrinkage::n: n = floor * lambda / (1.0 - floor); break;                  // n/(n+lambda) >= floor
    case Shrinkage::capped: n = floor * lambda; break;                             // min(n,S)/S >= floor
  }
  return std::floor(n * (1.0 - 1e-9));
}

/// Which similarities of a row reach the caller.
enum class RowKeep {
  top_positive,  ///< the best max_neighbors positive ones (all positive ones when 0)
  nonzero,       ///< every nonzero one, negative included (the dense matrix)
};

/// Order of the top-M cut: higher similarity first, ties by lower user index.
inline bool better_neighbor(const Candidate& a, const Candidate& b) {
  return a.similarity > b.similarity || (a.similarity == b.similarity && a.user < b.user);
}

/// Collects one row's similarities and keeps what RowKeep asks for. For a
/// top-M cut it holds at most 2M candidates: when full it keeps the best M
/// and from then on admits only candidates better than the M-th, so a row
/// with hundreds of thousands of touched pairs costs a comparison per pair,
/// not a sort. The result is the same set as sorting every candidate.
class RowSelector {
 public:
  static constexpr bool kWholeTile = false;  // takes the pairs one by one (fused_row)

  RowSelector(RowKeep keep, int max_neighbors) : keep_(keep), limit_(static_cast<std::size_t>(max_neighbors)) {}

  void reset() {
    kept_.clear();
    gated_ = false;
  }

  /// No similarity below this can be kept.
  double floor() const {
    if (keep_ == RowKeep::nonzero) return -std::numeric_limits<double>::infinity();
    return gated_ ? worst_.similarity : 0.0;
  }

  /// Offers one similarity; true when this raised floor().
  bool offer(std::int32_t user, double similarity) {
    if (keep_ == RowKeep::nonzero) {
      if (similarity != 0.0) kept_.push_back({user, similarity});
      return false;
    }
    if (!(similarity > 0.0)) return false;
    const Candidate c{user, similarity};
    if (gated_ && !better_neighbor(c, worst_)) return false;
    kept_.push_back(c);
    if (limit_ == 0 || kept_.size() < 2 * limit_) return false;
    cut();
    return true;
  }

  /// The kept similarities, users ascending.
  std::vector<Candidate>& finish() {
    if (keep_ == RowKeep::top_positive && limit_ > 0 && kept_.size() > limit_) cut();
    const auto by_user = [](const Candidate& a, const Candidate& b) { return a.user < b.user; };
    if (!std::is_sorted(kept_.begin(), kept_.end(), by_user)) std::sort(kept_.begin(), kept_.end(), by_user);
    return kept_;
  }

 private:
  void cut() {
    std::nth_element(kept_.begin(), kept_.begin() + static_cast<std::ptrdiff_t>(limit_) - 1, kept_.end(), better_neighbor);
    kept_.resize(limit_);
    worst_ = kept_.back();
    gated_ = true;
  }

  RowKeep keep_;
  std::size_t limit_;
  std::vector<Candidate> kept_;
  Candidate worst_{0, 0.0};
  bool gated_ = false;
};

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
inline void locate_by_item(const Ratings& ratings, ShiftedRatings& in) {
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
/// above_u (then in.item_position must be filled), in tiles of users
/// so the sums being updated stay in cache; each tile's touched pairs become
/// similarities and are offered to a RowSelector, whose floor() is the
/// similarity a pair must beat to matter (or a DenseRowSink takes the
/// whole tile), and the sums are cleared for the next tile.
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
      const auto needed_now = [&] { return std::max(fewest, static_cast<T>(fewest_for_floor(options, sink.floor()))); };
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

/// Hands blocks 0..num_blocks-1 out to `threads` threads in order. Each
/// thread calls make_worker() once and runs the returned callable on each
/// block it takes. The first exception stops every thread at its next block
/// and is rethrown.
template <typename MakeWorker>
void run_blocks(std::size_t num_blocks, int threads, MakeWorker&& make_worker) {
  std::atomic<std::size_t> next_block{0};
  std::atomic<bool> failed{false};
  parallel_chunks(static_cast<std::size_t>(threads), threads, [&](std::size_t, std::size_t, std::size_t) {
    auto worker = make_worker();
    try {
      for (std::size_t b = next_block++; b < num_blocks && !failed.load(std::memory_order_relaxed); b = next_block++)
        worker(b);
    } catch (...) {
      failed = true;
      throw;
    }
  });
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
                           RowKeep keep, int threads, GroupDone& group_done) {
  const std::int32_t num_u = ratings.num_users();
  const ShiftedRatings in = shift_ratings(ratings, op, CoRated);
  constexpr std::int32_t kBlock = NeighborLists::kGroupUsers;  // users per task
  const auto num_blocks = static_cast<std::size_t>((num_u + kBlock - 1) / kBlock);
  run_blocks(num_blocks, threads, [&] {
    return [&, scratch = FusedScratch(), selector = RowSelector(keep, options.max_neighbors),
            rows = GroupRows()](std::size_t b) mutable {
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

/// Where the upper-triangle kernel's rows put their similarities: row u of
/// the dense matrix, written whole tile by tile, every value (the cut comes
/// after mirroring).
struct DenseRowSink {
  static constexpr bool kWholeTile = true;
  double* row;           // (U)
  const double* factor;  // (most items of a user + 1) shrinkage factor by co-rated count
};

/// The (k + 1)-th largest of a[0, n), k < n; reorders a. Quickselect whose
/// partitions move every element without a branch on its value (a row's
/// similarities are in random order, so a branch per comparison would be
/// mispredicted half the time); values equal to the pivot are set apart so
/// repeated values end the search. Falls back to std::nth_element if the
/// pivots keep being poor.
inline double kth_largest(double* a, std::size_t n, std::size_t k) {
  for (int rounds = 0; n > 32; ++rounds) {
    if (rounds == 64) {
      std::nth_element(a, a + k, a + n, [](double x, double y) { return x > y; });
      return a[k];
    }
    double lo = a[0], mid = a[n / 2], hi = a[n - 1];  // median of three
    if (lo > mid) std::swap(lo, mid);
    if (mid > hi) std::swap(mid, hi);
    if (lo > mid) std::swap(lo, mid);
    const double pivot = mid;
    std::size_t greater = 0;  // a[0, greater) > pivot
    for (std::size_t i = 0; i < n; ++i) {
      const double x = a[i];
      a[i] = a[greater];
      a[greater] = x;
      greater += x > pivot ? 1 : 0;
    }
    if (k < greater) {
      n = greater;
      continue;
    }
    std::size_t equal = greater;  // a[greater, equal) == pivot
    for (std::size_t i = greater; i < n; ++i) {
      const double x = a[i];
      a[i] = a[equal];
      a[equal] = x;
      equal += x == pivot ? 1 : 0;
    }
    if (k < equal) return pivot;
    a += equal;
    n -= equal;
    k -= equal;
  }
  std::sort(a, a + n, [](double x, double y) { return x > y; });
  return a[k];
}

/// What RowSelector keeps of a whole row of similarities (row[v] = sim(u, v),
/// 0 for none), users ascending, without sorting: the candidates are
/// compacted in user order (branch-free) into kept, and a top-M cut finds
/// the M-th best value t and keeps, in order, every value above t and the
/// first (lowest-index) ties at t until M are kept. kept and values: scratch
/// of num_u entries. Returns how many are kept.
inline std::size_t select_from_row(const double* row, std::int32_t num_u, RowKeep keep, int max_neighbors, Candidate* kept,
                                   double* values) {
  std::size_t count = 0;
  for (std::int32_t v = 0; v < num_u; ++v) {
    const double s = row[v];
    kept[count] = {v, s};
    values[count] = s;
    count += (keep == RowKeep::nonzero ? s != 0.0 : s > 0.0) ? 1 : 0;
  }
  const auto limit = static_cast<std::size_t>(max_neighbors);
  if (keep != RowKeep::top_positive || limit == 0 || count <= limit) return count;
  const double t = kth_largest(values, count, limit - 1);
  std::size_t ties = limit;  // how many of the values equal to t are kept: M minus those above t
  for (std::size_t e = 0; e < count; ++e) ties -= kept[e].similarity > t ? 1 : 0;
  std::size_t m = 0;
  for (std::size_t e = 0; e < count; ++e) {
    const Candidate c = kept[e];
    const bool tie = c.similarity == t && ties > 0;
    ties -= tie ? 1 : 0;
    kept[m] = c;
    m += c.similarity > t || tie ? 1 : 0;
  }
  return m;
}

/// Upper-triangle kernel, for small U: the fused rows, but row u only for
/// the users v > u, so each pair is accumulated and evaluated once (half the
/// fused kernel's work), into a dense (U, U) matrix. sim(u, v) = sim(v, u)
/// bit for bit (every sum runs over the same items in the same order), so
/// the lower triangle is a mirror of the upper one. Then each row is cut
/// like the fused kernel's, scanning v in order.
template <bool CoRated, typename GroupDone>
void similarity_rows_upper_triangle(const Ratings& ratings, const SimilarityOptions& options, const PearsonOperands& op,
                                    RowKeep keep, int threads, GroupDone& group_done) {
  const std::int32_t num_u = ratings.num_users();
  const auto stride = static_cast<std::size_t>(num_u);
  ShiftedRatings in = shift_ratings(ratings, op, CoRated);
  locate_by_item(ratings, in);
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
  run_blocks(num_blocks, threads, [&] {
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
  run_blocks(num_blocks, threads, [&] {
    return [&, kept = std::vector<Candidate>(stride), values = std::vector<double>(stride), rows = GroupRows()](std::size_t b) mutable {
      const auto first = static_cast<std::int32_t>(b) * kBlock;
      const std::int32_t last = std::min(num_u, first + kBlock);
      for (std::int32_t w_begin = 0; w_begin < last; w_begin += kBlock)
        for (std::int32_t u = first; u < last; ++u)
          for (std::int32_t w = w_begin; w < std::min(w_begin + kBlock, u); ++w)
            sim[static_cast<std::size_t>(u) * stride + static_cast<std::size_t>(w)] =
                sim[static_cast<std::size_t>(w) * stride + static_cast<std::size_t>(u)];
      rows.start(first);
      for (std::int32_t u = first; u < last; ++u) {
        const std::size_t count = select_from_row(sim.data() + static_cast<std::size_t>(u) * stride, num_u, keep,
                                                  options.max_neighbors, kept.data(), values.data());
        rows.add_row(kept.data(), count);
      }
      group_done(rows);
    };
  });
}

/// Blocked Eigen kernel: for a block of B users, the six (B, U) sparse
/// products n = E E^T, P = X X^T, Su = X E^T, Sv = E X^T, Qu = X^2 E^T,
/// Qv = E (X^2)^T with Eigen's sparse-sparse product, blocks sized so their
/// results fit block_budget. Slower than the fused kernel
/// (each product allocates, sorts and transposes its result); kept as the
/// reference the fused kernel is tested against.
template <typename GroupDone>
void similarity_rows_eigen(const Ratings& ratings, const SimilarityOptions& options, const PearsonOperands& op,
                           RowKeep keep, int threads, std::size_t block_budget, GroupDone& group_done) {
  const std::int32_t num_u = ratings.num_users();
  const bool co_rated = options.mean == PearsonMean::co_rated;

  // Bytes per touched pair in a block: the sparse results (value + index) of
  // every product, one transient copy for the product being formed, the candidate.
  const double bytes_per_pair = (co_rated ? 6.0 : 2.0) * 12.0 + 24.0 + 16.0;
  const double pair_budget =
      std::max(1.0, static_cast<double>(block_budget) / threads / bytes_per_pair);

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

  run_blocks(num_blocks, threads, [&] {
    return [&, selector = RowSelector(keep, options.max_neighbors), rows = GroupRows()](std::size_t b) mutable {
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

/// Bytes the similarity computation holds besides its results: the shifted
/// ratings and per-thread scratch (fused kernels; the upper-triangle
/// kernel's matrix comes on top, see choose_kernel) or the three (I, U)
/// operands (Eigen kernel, whose blocks then take what the budget leaves).
inline std::size_t working_bytes(const Ratings& ratings, const SimilarityOptions& options) {
  const auto num_r = static_cast<double>(ratings.num_ratings());
  const auto num_ui = static_cast<double>(ratings.num_users()) + ratings.num_items() + 2.0;
  const double threads = resolve_threads(options.threads);
  // A group's rows before they are set, per thread.
  const double row_bound = std::max(0.0, options.max_neighbors > 0 ? std::min<double>(options.max_neighbors, ratings.num_users() - 1.0)
                                                                   : ratings.num_users() - 1.0);
  const double staged = static_cast<double>(NeighborLists::kGroupUsers) * sizeof(Candidate) * row_bound;
  if (options.kernel == SimilarityKernel::eigen_products)
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

inline InputError over_budget(const std::string& what, std::size_t needed, std::size_t budget) {
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
inline SimilarityKernel choose_kernel(const Ratings& ratings, const SimilarityOptions& options, RowKeep keep,
                                      std::size_t fixed) {
  const auto num_u = static_cast<double>(ratings.num_users());
  const double matrix = num_u * num_u * sizeof(double);
  const double positions = static_cast<double>(ratings.num_ratings()) * sizeof(std::size_t);  // ShiftedRatings::item_position
  const double lists = keep == RowKeep::top_positive && options.max_neighbors == 0
                           ? num_u * ((num_u - 1.0) * (sizeof(std::int32_t) + sizeof(double)) + sizeof(std::uint32_t))
                           : 0.0;
  const double total = static_cast<double>(fixed) + matrix + positions + lists;
  const bool fits = total <= static_cast<double>(options.memory_budget_bytes);
  switch (options.kernel) {
    case SimilarityKernel::automatic:
      return matrix <= static_cast<double>(kUpperTriangleAutoBytes) && fits ? SimilarityKernel::upper_triangle
                                                                            : SimilarityKernel::fused;
    case SimilarityKernel::upper_triangle:
      if (!fits)
        throw over_budget("the upper-triangle kernel's (U, U) matrix", static_cast<std::size_t>(std::min(total, 1e18)),
                          options.memory_budget_bytes);
      return SimilarityKernel::upper_triangle;
    default: return options.kernel;
  }
}

/// Computes sim(u, v) for every user u and every v != u sharing at least one
/// item and calls group_done(rows) once per group of
/// NeighborLists::kGroupUsers users with the similarities `keep` selects
/// (GroupRows: a row per user, users ascending). group_done runs
/// concurrently for different groups. result_bytes: what the caller will
/// hold for the results (they and working_bytes must fit the budget).
/// Throws InputError "input.bad_option" for invalid options, "input.over_budget".
template <typename GroupDone>
void for_each_similarity_group(const Ratings& ratings, const SimilarityOptions& options, RowKeep keep,
                               std::size_t result_bytes, GroupDone&& group_done) {
  check_similarity_options(options);
  const std::size_t fixed = working_bytes(ratings, options) + result_bytes;
  if (fixed > options.memory_budget_bytes) throw over_budget("the similarity computation", fixed, options.memory_budget_bytes);
  const SimilarityKernel kernel = choose_kernel(ratings, options, keep, fixed);
  const bool eigen = kernel == SimilarityKernel::eigen_products;
  const PearsonOperands op = make_operands(ratings, options.mean, /*with_eigen_operands=*/eigen);
  const int threads = resolve_threads(options.threads);
  const bool co_rated = options.mean == PearsonMean::co_rated;
  if (eigen)
    similarity_rows_eigen(ratings, options, op, keep, threads, options.memory_budget_bytes - fixed, group_done);
  else if (kernel == SimilarityKernel::upper_triangle && co_rated)
    similarity_rows_upper_triangle<true>(ratings, options, op, keep, threads, group_done);
  else if (kernel == SimilarityKernel::upper_triangle)
    similarity_rows_upper_triangle<false>(ratings, options, op, keep, threads, group_done);
  else if (co_rated)
    similarity_rows_fused<true>(ratings, options, op, keep, threads, group_done);
  else
    similarity_rows_fused<false>(ratings, options, op, keep, threads, group_done);
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
    detail::for_each_similarity_group(ratings, options, detail::RowKeep::top_positive, bound,
                                      [&](const detail::GroupRows& rows) { lists.set_group(rows); });
    return lists;
  }
  // Every positive neighbour: the lists' size is known only as they grow.
  const std::size_t room = options.memory_budget_bytes - std::min(options.memory_budget_bytes, detail::working_bytes(ratings, options));
  std::atomic<std::size_t> kept_bytes{static_cast<std::size_t>(ratings.num_users()) * sizeof(std::uint32_t)};
  detail::for_each_similarity_group(ratings, options, detail::RowKeep::top_positive, 0,
                                    [&](const detail::GroupRows& rows) {
    const std::size_t bytes = kept_bytes += rows.size() * (sizeof(std::int32_t) + sizeof(double));
    if (bytes > room) throw detail::over_budget("keeping every positive neighbour", bytes, room);
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
  detail::for_each_similarity_group(ratings, options, detail::RowKeep::nonzero, matrix_bytes,
                                    [&](const detail::GroupRows& rows) {
    for (std::int32_t r = 0; r < rows.rows(); ++r)
      for (std::size_t e = rows.offsets[static_cast<std::size_t>(r)]; e < rows.offsets[static_cast<std::size_t>(r) + 1]; ++e)
        sim(rows.first_user + r, rows.users[e]) = rows.similarities[e];
  });
  return sim;
}

}  // namespace cf
}  // namespace embedrank
