#pragma once
/// Explicit ratings for collaborative filtering: (user, item, rating) triplets
/// with external ids mapped to dense indices, stored twice (by user and by
/// item), plus the per-user, per-item and global statistics the predictors use.
///
/// U = users, I = items, R = ratings (after duplicates are resolved).
///
/// External ids are kept as text: an int64 id is its decimal text, so the id
/// 196 and the string "196" name the same user. Dense indices are given in
/// order of first appearance.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "embedrank/core/enum_text.hpp"
#include "embedrank/core/error.hpp"

namespace embedrank::cf {

/// The largest |rating| accepted: up to it, every statistic over up to 2^31
/// ratings stays finite, down to the co-rated Pearson formula's product of
/// two variance sums (n^4 r^4 <= 2^124 * 1e200).
constexpr double kMaxRatingMagnitude = 1e50;

/// One rating with external ids, as read from a file or given by a caller.
/// `line` is the 1-based source line (0 when the triplet did not come from a file).
struct RatingTriplet {
  std::string user;
  std::string item;
  double rating = 0.0;
  std::size_t line = 0;
};

/// What to do when the same (user, item) pair is rated twice.
enum class DuplicatePolicy {
  LastWins,  ///< the later rating replaces the earlier one (keeping the earlier one's position)
  Error,     ///< throw InputError "input.duplicate_rating"
};

inline EnumText<DuplicatePolicy> enum_text(DuplicatePolicy) {
  static constexpr EnumName<DuplicatePolicy> names[] = {{DuplicatePolicy::LastWins, "last_wins"},
                                                        {DuplicatePolicy::Error, "error"}};
  return {"duplicate policy", "unknown_duplicate_policy", names};
}

class Ratings;

/// Collects ratings one at a time (interning ids, keeping insertion order)
/// and builds Ratings. Used by the file reader, so a file never exists in
/// memory as text triplets.
class RatingsBuilder {
 public:
  /// `source` names the origin in error messages (a file name, or "ratings").
  explicit RatingsBuilder(std::string source = "ratings") : source_(std::move(source)) {}

  /// Adds one rating; `line` is the 1-based source line (0: not from a file).
  /// Throws InputError "input.non_finite_rating" for NaN/inf,
  /// "input.rating_out_of_range" past kMaxRatingMagnitude,
  /// "input.too_many_ratings" beyond 2^31 - 1 ratings, users or items.
  void add(const std::string& user, const std::string& item, double rating, std::size_t line = 0) {
    if (!std::isfinite(rating))
      throw InputError("non_finite_rating",
                       where(line) + ": rating of user '" + user + "' for item '" + item + "' is not finite");
    if (std::abs(rating) > kMaxRatingMagnitude)
      throw InputError("rating_out_of_range", where(line) + ": rating of user '" + user + "' for item '" + item +
                                                  "' is past +-1e50, where sums of squares could overflow");
    if (values_.size() >= static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()))
      throw InputError("too_many_ratings", source_ + ": more than 2^31 - 1 ratings");
    users_.push_back(intern(user, user_index_, user_ids_));
    items_.push_back(intern(item, item_index_, item_ids_));
    values_.push_back(rating);
    lines_.push_back(line);
  }

  std::size_t size() const { return values_.size(); }

  /// Gives the next user (item) index to `id` before its first rating, so
  /// indices follow a saved order rather than first appearance. A known id
  /// keeps its index.
  void declare_user(const std::string& id) { intern(id, user_index_, user_ids_); }
  void declare_item(const std::string& id) { intern(id, item_index_, item_ids_); }

  /// Builds and empties the builder. Throws InputError "input.empty_ratings"
  /// when nothing was added, "input.duplicate_rating" for a repeated
  /// (user, item) under DuplicatePolicy::Error (naming the later line).
  inline Ratings build(DuplicatePolicy duplicates = DuplicatePolicy::LastWins);

 private:
  friend class Ratings;

  std::string where(std::size_t line) const { return line > 0 ? source_ + ":" + std::to_string(line) : source_; }

  std::int32_t intern(const std::string& id, std::unordered_map<std::string, std::int32_t>& index,
                      std::vector<std::string>& ids) {
    auto found = index.find(id);
    if (found != index.end()) return found->second;
    if (ids.size() >= static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()))
      throw InputError("too_many_ratings", source_ + ": more than 2^31 - 1 users or items");
    const auto next = static_cast<std::int32_t>(ids.size());
    index.emplace(id, next);
    ids.push_back(id);
    return next;
  }

  std::string source_;
  std::unordered_map<std::string, std::int32_t> user_index_;
  std::unordered_map<std::string, std::int32_t> item_index_;
  std::vector<std::string> user_ids_;
  std::vector<std::string> item_ids_;
  std::vector<std::int32_t> users_;  // (R0) ratings as added, duplicates included
  std::vector<std::int32_t> items_;  // (R0)
  std::vector<double> values_;       // (R0)
  std::vector<std::size_t> lines_;   // (R0)
};

/// Dense-index rating storage with statistics. Immutable once built.
class Ratings {
 public:
  /// Builds from triplets in order. `source` names the origin in error messages.
  /// Throws what RatingsBuilder::add and RatingsBuilder::build throw.
  static Ratings from_triplets(const std::vector<RatingTriplet>& triplets,
                               DuplicatePolicy duplicates = DuplicatePolicy::LastWins,
                               const std::string& source = "ratings") {
    RatingsBuilder builder(source);
    for (const RatingTriplet& t : triplets) builder.add(t.user, t.item, t.rating, t.line);
    return builder.build(duplicates);
  }

  std::int32_t num_users() const { return static_cast<std::int32_t>(user_ids_.size()); }
  std::int32_t num_items() const { return static_cast<std::int32_t>(item_ids_.size()); }
  std::size_t num_ratings() const { return user_items_.size(); }

  /// Dense index of an external id, or -1 when unknown.
  std::int32_t find_user(const std::string& id) const { return lookup(user_index_, id); }
  std::int32_t find_item(const std::string& id) const { return lookup(item_index_, id); }
  std::int32_t find_user(std::int64_t id) const { return lookup(user_index_, std::to_string(id)); }
  std::int32_t find_item(std::int64_t id) const { return lookup(item_index_, std::to_string(id)); }

  const std::string& user_id(std::int32_t u) const { return user_ids_.at(static_cast<std::size_t>(u)); }
  const std::string& item_id(std::int32_t i) const { return item_ids_.at(static_cast<std::size_t>(i)); }

  /// User u's ratings: items ascending, entries [user_begin(u), user_end(u)) of
  /// user_items() / user_values().
  std::size_t user_begin(std::int32_t u) const { return user_offsets_[static_cast<std::size_t>(u)]; }
  std::size_t user_end(std::int32_t u) const { return user_offsets_[static_cast<std::size_t>(u) + 1]; }
  const std::vector<std::int32_t>& user_items() const { return user_items_; }  // (R)
  const std::vector<double>& user_values() const { return user_values_; }      // (R)

  /// Item i's raters, users ascending, entries [item_begin(i), item_end(i)) of
  /// item_users() / item_values() / item_ranks(); item_ranks() gives each
  /// rating's place in the order the item's ratings were given (the training
  /// file's order: 0 for the first), which Surprise's tie-breaking follows.
  std::size_t item_begin(std::int32_t i) const { return item_offsets_[static_cast<std::size_t>(i)]; }
  std::size_t item_end(std::int32_t i) const { return item_offsets_[static_cast<std::size_t>(i) + 1]; }
  const std::vector<std::int32_t>& item_users() const { return item_users_; }   // (R)
  const std::vector<double>& item_values() const { return item_values_; }       // (R)
  const std::vector<std::uint32_t>& item_ranks() const { return item_ranks_; }  // (R)

  /// The rating of (u, i), or NaN when u did not rate i (binary search).
  double rating(std::int32_t u, std::int32_t i) const {
    const auto first = user_items_.begin() + static_cast<std::ptrdiff_t>(user_begin(u));
    const auto last = user_items_.begin() + static_cast<std::ptrdiff_t>(user_end(u));
    const auto it = std::lower_bound(first, last, i);
    if (it == last || *it != i) return std::numeric_limits<double>::quiet_NaN();
    return user_values_[static_cast<std::size_t>(it - user_items_.begin())];
  }

  /// Mean and population standard deviation of each user's ratings, shape (U).
  const std::vector<double>& user_means() const { return user_means_; }
  const std::vector<double>& user_stddevs() const { return user_stddevs_; }
  /// Mean of each item's ratings, shape (I).
  const std::vector<double>& item_means() const { return item_means_; }
  double global_mean() const { return global_mean_; }
  /// Population standard deviation of all ratings.
  double global_stddev() const { return global_stddev_; }
  double min_rating() const { return min_rating_; }
  double max_rating() const { return max_rating_; }

 private:
  static std::int32_t lookup(const std::unordered_map<std::string, std::int32_t>& index, const std::string& id) {
    auto found = index.find(id);
    return found == index.end() ? -1 : found->second;
  }

  // Mean in double over the given values, then the population variance of the
  // centred values (two passes, no cancellation).
  template <typename Values>
  static std::pair<double, double> mean_and_stddev(const Values& values, std::size_t begin, std::size_t end) {
    const double count = static_cast<double>(end - begin);
    double sum = 0.0;
    for (std::size_t k = begin; k < end; ++k) sum += values[k];
    const double mean = sum / count;
    double squares = 0.0;
    for (std::size_t k = begin; k < end; ++k) squares += (values[k] - mean) * (values[k] - mean);
    return {mean, std::sqrt(squares / count)};
  }

  friend class RatingsBuilder;

  // Sorts the builder's ratings into both orientations. Duplicates are found
  // by sorting each user's ratings by item: the first rating's position stays,
  // the last one's value wins (or the later line is reported).
  void build_from(RatingsBuilder& b, DuplicatePolicy duplicates) {
    const std::size_t num_u = user_ids_.size();
    const std::size_t num_i = item_ids_.size();
    const std::size_t raw = b.values_.size();

    // Raw positions grouped by user (stable), then by item within each user.
    std::vector<std::size_t> user_start(num_u + 1, 0);  // (U + 1)
    for (std::int32_t u : b.users_) ++user_start[static_cast<std::size_t>(u) + 1];
    for (std::size_t u = 0; u < num_u; ++u) user_start[u + 1] += user_start[u];
    std::vector<std::uint32_t> by_user(raw);  // (R0) raw positions
    {
      std::vector<std::size_t> next(user_start.begin(), user_start.end() - 1);
      for (std::size_t k = 0; k < raw; ++k) by_user[next[static_cast<std::size_t>(b.users_[k])]++] = static_cast<std::uint32_t>(k);
    }
    // kept[k]: raw position k is the first rating of its pair; its value is the pair's last.
    std::vector<char> kept(raw, 0);  // (R0)
    for (std::size_t u = 0; u < num_u; ++u) {
      const auto first = by_user.begin() + static_cast<std::ptrdiff_t>(user_start[u]);
      const auto last = by_user.begin() + static_cast<std::ptrdiff_t>(user_start[u + 1]);
      std::sort(first, last, [&](std::uint32_t x, std::uint32_t y) {
        return b.items_[x] < b.items_[y] || (b.items_[x] == b.items_[y] && x < y);
      });
      for (auto it = first; it != last;) {
        auto run_end = it + 1;
        while (run_end != last && b.items_[*run_end] == b.items_[*it]) ++run_end;
        if (run_end - it > 1) {
          if (duplicates == DuplicatePolicy::Error)
            throw InputError("duplicate_rating", b.where(b.lines_[*(it + 1)]) + ": user '" + user_ids_[u] +
                                                     "' rated item '" + item_ids_[static_cast<std::size_t>(b.items_[*it])] +
                                                     "' more than once");
          b.values_[*it] = b.values_[*(run_end - 1)];
        }
        kept[*it] = 1;
        it = run_end;
      }
    }
    std::vector<std::size_t>().swap(b.lines_);

    // Each kept rating's rank in its item's insertion order.
    item_offsets_.assign(num_i + 1, 0);
    std::size_t num_r = 0;
    std::vector<std::uint32_t> rank(raw, 0);  // (R0)
    for (std::size_t k = 0; k < raw; ++k)
      if (kept[k]) {
        rank[k] = static_cast<std::uint32_t>(item_offsets_[static_cast<std::size_t>(b.items_[k]) + 1]++);
        ++num_r;
      }
    for (std::size_t i = 0; i < num_i; ++i) item_offsets_[i + 1] += item_offsets_[i];

    // Item lists sorted by user: a counting sort by item over the users' groups.
    item_users_.resize(num_r);
    item_values_.resize(num_r);
    item_ranks_.resize(num_r);
    {
      std::vector<std::size_t> next(item_offsets_.begin(), item_offsets_.end() - 1);
      for (std::size_t p = 0; p < raw; ++p) {
        const std::uint32_t k = by_user[p];
        if (!kept[k]) continue;
        const std::size_t slot = next[static_cast<std::size_t>(b.items_[k])]++;
        item_users_[slot] = b.users_[k];
        item_values_[slot] = b.values_[k];
        item_ranks_[slot] = rank[k];
      }
    }

    // User lists: items ascending, straight from the sorted groups.
    user_offsets_.assign(num_u + 1, 0);
    user_items_.resize(num_r);
    user_values_.resize(num_r);
    std::size_t slot = 0;
    for (std::size_t u = 0; u < num_u; ++u) {
      for (std::size_t p = user_start[u]; p < user_start[u + 1]; ++p) {
        const std::uint32_t k = by_user[p];
        if (!kept[k]) continue;
        user_items_[slot] = b.items_[k];
        user_values_[slot] = b.values_[k];
        ++slot;
      }
      user_offsets_[u + 1] = slot;
    }
    std::vector<std::int32_t>().swap(b.users_);
    std::vector<std::int32_t>().swap(b.items_);
    std::vector<double>().swap(b.values_);

    user_means_.resize(num_u);
    user_stddevs_.resize(num_u);
    for (std::size_t u = 0; u < num_u; ++u) {
      const auto ms = mean_and_stddev(user_values_, user_offsets_[u], user_offsets_[u + 1]);
      user_means_[u] = ms.first;
      user_stddevs_[u] = ms.second;
    }
    item_means_.resize(num_i);
    for (std::size_t i = 0; i < num_i; ++i)
      item_means_[i] = mean_and_stddev(item_values_, item_offsets_[i], item_offsets_[i + 1]).first;
    const auto global = mean_and_stddev(user_values_, 0, num_r);
    global_mean_ = global.first;
    global_stddev_ = global.second;
    const auto range = std::minmax_element(user_values_.begin(), user_values_.end());
    min_rating_ = *range.first;
    max_rating_ = *range.second;
  }

  std::unordered_map<std::string, std::int32_t> user_index_;
  std::unordered_map<std::string, std::int32_t> item_index_;
  std::vector<std::string> user_ids_;  // (U)
  std::vector<std::string> item_ids_;  // (I)

  std::vector<std::size_t> user_offsets_;  // (U + 1)
  std::vector<std::int32_t> user_items_;   // (R)
  std::vector<double> user_values_;        // (R)
  std::vector<std::size_t> item_offsets_;  // (I + 1)
  std::vector<std::int32_t> item_users_;   // (R)
  std::vector<double> item_values_;        // (R)
  std::vector<std::uint32_t> item_ranks_;  // (R)

  std::vector<double> user_means_;    // (U)
  std::vector<double> user_stddevs_;  // (U)
  std::vector<double> item_means_;    // (I)
  double global_mean_ = 0.0;
  double global_stddev_ = 0.0;
  double min_rating_ = 0.0;
  double max_rating_ = 0.0;
};

inline Ratings RatingsBuilder::build(DuplicatePolicy duplicates) {
  if (values_.empty()) throw InputError("empty_ratings", source_ + ": no ratings");
  Ratings r;
  r.user_index_ = std::move(user_index_);
  r.item_index_ = std::move(item_index_);
  r.user_ids_ = std::move(user_ids_);
  r.item_ids_ = std::move(item_ids_);
  r.build_from(*this, duplicates);
  *this = RatingsBuilder(source_);
  return r;
}

/// How a ratings text file is laid out: one rating per line, fields
/// user, item, rating, then anything (a timestamp) which is ignored.
struct RatingsFileOptions {
  char separator = '\t';  ///< MovieLens u.data uses a tab; ',' for CSV
  bool header = false;    ///< skip the first line
};

namespace detail {

/// A separator as messages show it: quoted, a tab as '\t' and any other
/// control byte as '\xNN', so it is visible.
inline std::string visible_separator(char c) {
  if (c == '\t') return "'\\t'";
  const auto byte = static_cast<unsigned char>(c);
  if (byte < 0x20 || byte == 0x7f) {
    const char hex[] = "0123456789abcdef";
    return std::string("'\\x") + hex[byte >> 4] + hex[byte & 15] + "'";
  }
  return std::string("'") + c + "'";
}

inline std::string trim(const std::string& s) {
  const char* space = " \t\r\n";
  const auto first = s.find_first_not_of(space);
  if (first == std::string::npos) return {};
  const auto last = s.find_last_not_of(space);
  return s.substr(first, last - first + 1);
}


/// Parses a ratings file and calls on_rating(user, item, rating, line) per
/// rating; see read_rating_triplets for the format and what is thrown.
template <typename OnRating>
void parse_ratings_file(const std::string& path, const RatingsFileOptions& options, OnRating&& on_rating) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileError("open", path + ": cannot open ratings file");
  std::string line, user, item, text;
  std::size_t line_number = 0, count = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (options.header && line_number == 1) continue;
    const auto where = [&] { return path + ":" + std::to_string(line_number); };
    // Fields 0..2: [start, end) of each, split on the separator.
    std::size_t bounds[3][2];
    std::size_t start = 0, fields = 0;
    while (fields < 3) {
      const std::size_t stop = line.find(options.separator, start);
      bounds[fields][0] = start;
      bounds[fields][1] = stop == std::string::npos ? line.size() : stop;
      ++fields;
      if (stop == std::string::npos) break;
      start = stop + 1;
    }
    if (fields < 3) {
      if (trim(line).empty()) continue;
      throw ParseError("malformed_line", where() + ": expected user, item, rating separated by " +
                                             visible_separator(options.separator) + ", got " + std::to_string(fields) +
                                             " field(s)");
    }
    user = trim(line.substr(bounds[0][0], bounds[0][1] - bounds[0][0]));
    item = trim(line.substr(bounds[1][0], bounds[1][1] - bounds[1][0]));
    text = trim(line.substr(bounds[2][0], bounds[2][1] - bounds[2][0]));
    if (user.empty() || item.empty()) throw ParseError("malformed_line", where() + ": empty user or item id");
    char* end = nullptr;
    const double rating = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size())
      throw ParseError("bad_rating", where() + ": rating '" + text + "' is not a number");
    if (!std::isfinite(rating)) throw ParseError("non_finite_rating", where() + ": rating '" + text + "' is not finite");
    if (std::abs(rating) > kMaxRatingMagnitude)
      throw ParseError("rating_out_of_range", where() + ": rating '" + text + "' is past +-1e50");
    on_rating(user, item, rating, line_number);
    ++count;
  }
  if (in.bad()) throw FileError("read", path + ": read error");
  if (count == 0) throw ParseError("empty_file", path + ": no ratings");
}

}  // namespace detail

/// Reads rating triplets from a text file: one rating per line, fields user,
/// item, rating, then anything (a timestamp) which is ignored; blank lines
/// are skipped, spaces around fields trimmed.
/// Throws FileError "file.open" when the file cannot be read; ParseError
/// "parse.malformed_line" (fewer than 3 fields or an empty id),
/// "parse.bad_rating" (not a number), "parse.non_finite_rating" (NaN/inf),
/// "parse.rating_out_of_range" (|rating| > kMaxRatingMagnitude),
/// "parse.empty_file" (no ratings at all), each naming file and line.
inline std::vector<RatingTriplet> read_rating_triplets(const std::string& path,
                                                       const RatingsFileOptions& options = {}) {
  std::vector<RatingTriplet> triplets;
  detail::parse_ratings_file(path, options,
                             [&](const std::string& user, const std::string& item, double rating, std::size_t line) {
                               triplets.push_back({user, item, rating, line});
                             });
  return triplets;
}

/// Reads a ratings file straight into Ratings, without holding the file as
/// triplets. Throws what read_rating_triplets and RatingsBuilder throw.
inline Ratings read_ratings(const std::string& path, const RatingsFileOptions& options = {},
                            DuplicatePolicy duplicates = DuplicatePolicy::LastWins) {
  RatingsBuilder builder(path);
  detail::parse_ratings_file(path, options,
                             [&](const std::string& user, const std::string& item, double rating, std::size_t line) {
                               builder.add(user, item, rating, line);
                             });
  return builder.build(duplicates);
}

}  // namespace embedrank::cf
