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

#include "embedrank/core/error.hpp"

namespace embedrank {
namespace cf {

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
  last_wins,  ///< the later rating replaces the earlier one (keeping the earlier one's position)
  error,      ///< throw InputError "input.duplicate_rating"
};

/// Dense-index rating storage with statistics. Immutable once built.
class Ratings {
 public:
  /// Builds from triplets in order. `source` names the origin in error messages
  /// (a file name, or "ratings"). Throws InputError: "input.empty_ratings" when
  /// there are no triplets, "input.non_finite_rating" for NaN/inf,
  /// "input.duplicate_rating" under DuplicatePolicy::error, "input.too_many_ratings"
  /// beyond 2^31 - 1 ratings, users or items.
  static Ratings from_triplets(const std::vector<RatingTriplet>& triplets,
                               DuplicatePolicy duplicates = DuplicatePolicy::last_wins,
                               const std::string& source = "ratings") {
    if (triplets.empty()) throw InputError("empty_ratings", source + ": no ratings");
    const auto int_max = static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max());
    if (triplets.size() > int_max)
      throw InputError("too_many_ratings", source + ": more than 2^31 - 1 ratings");

    Ratings r;
    std::vector<std::int32_t> users;   // (R) in insertion order
    std::vector<std::int32_t> items;   // (R)
    std::vector<double> values;        // (R)
    users.reserve(triplets.size());
    items.reserve(triplets.size());
    values.reserve(triplets.size());
    std::unordered_map<std::uint64_t, std::size_t> position_of_pair;
    position_of_pair.reserve(triplets.size());

    for (const RatingTriplet& t : triplets) {
      const std::string where = t.line > 0 ? source + ":" + std::to_string(t.line) : source;
      if (!std::isfinite(t.rating))
        throw InputError("non_finite_rating", where + ": rating of user '" + t.user + "' for item '" + t.item +
                                                  "' is not finite");
      const std::int32_t u = intern(t.user, r.user_index_, r.user_ids_, source);
      const std::int32_t i = intern(t.item, r.item_index_, r.item_ids_, source);
      const std::uint64_t key = (static_cast<std::uint64_t>(u) << 32) | static_cast<std::uint32_t>(i);
      auto found = position_of_pair.find(key);
      if (found != position_of_pair.end()) {
        if (duplicates == DuplicatePolicy::error)
          throw InputError("duplicate_rating",
                           where + ": user '" + t.user + "' rated item '" + t.item + "' more than once");
        values[found->second] = t.rating;
        continue;
      }
      position_of_pair.emplace(key, values.size());
      users.push_back(u);
      items.push_back(i);
      values.push_back(t.rating);
    }
    r.build(users, items, values);
    return r;
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

  /// Item i's raters in the order their ratings were given (the training
  /// file's order), entries [item_begin(i), item_end(i)) of item_users() / item_values().
  std::size_t item_begin(std::int32_t i) const { return item_offsets_[static_cast<std::size_t>(i)]; }
  std::size_t item_end(std::int32_t i) const { return item_offsets_[static_cast<std::size_t>(i) + 1]; }
  const std::vector<std::int32_t>& item_users() const { return item_users_; }  // (R)
  const std::vector<double>& item_values() const { return item_values_; }      // (R)

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
  static std::int32_t intern(const std::string& id, std::unordered_map<std::string, std::int32_t>& index,
                             std::vector<std::string>& ids, const std::string& source) {
    auto found = index.find(id);
    if (found != index.end()) return found->second;
    if (ids.size() >= static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()))
      throw InputError("too_many_ratings", source + ": more than 2^31 - 1 users or items");
    const auto next = static_cast<std::int32_t>(ids.size());
    index.emplace(id, next);
    ids.push_back(id);
    return next;
  }

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

  void build(const std::vector<std::int32_t>& users, const std::vector<std::int32_t>& items,
             const std::vector<double>& values) {
    const std::size_t num_u = user_ids_.size();
    const std::size_t num_i = item_ids_.size();
    const std::size_t num_r = values.size();

    // Counting sort by item, stable: each item's raters stay in insertion order.
    item_offsets_.assign(num_i + 1, 0);
    for (std::int32_t i : items) ++item_offsets_[static_cast<std::size_t>(i) + 1];
    for (std::size_t i = 0; i < num_i; ++i) item_offsets_[i + 1] += item_offsets_[i];
    item_users_.resize(num_r);
    item_values_.resize(num_r);
    {
      std::vector<std::size_t> next(item_offsets_.begin(), item_offsets_.end() - 1);
      for (std::size_t k = 0; k < num_r; ++k) {
        const std::size_t slot = next[static_cast<std::size_t>(items[k])]++;
        item_users_[slot] = users[k];
        item_values_[slot] = values[k];
      }
    }

    // Counting sort by user over the item-sorted order: each user's items come out ascending.
    user_offsets_.assign(num_u + 1, 0);
    for (std::int32_t u : users) ++user_offsets_[static_cast<std::size_t>(u) + 1];
    for (std::size_t u = 0; u < num_u; ++u) user_offsets_[u + 1] += user_offsets_[u];
    user_items_.resize(num_r);
    user_values_.resize(num_r);
    {
      std::vector<std::size_t> next(user_offsets_.begin(), user_offsets_.end() - 1);
      for (std::size_t i = 0; i < num_i; ++i)
        for (std::size_t k = item_offsets_[i]; k < item_offsets_[i + 1]; ++k) {
          const std::size_t slot = next[static_cast<std::size_t>(item_users_[k])]++;
          user_items_[slot] = static_cast<std::int32_t>(i);
          user_values_[slot] = item_values_[k];
        }
    }

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
    const auto global = mean_and_stddev(values, 0, num_r);
    global_mean_ = global.first;
    global_stddev_ = global.second;
    const auto range = std::minmax_element(values.begin(), values.end());
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

  std::vector<double> user_means_;    // (U)
  std::vector<double> user_stddevs_;  // (U)
  std::vector<double> item_means_;    // (I)
  double global_mean_ = 0.0;
  double global_stddev_ = 0.0;
  double min_rating_ = 0.0;
  double max_rating_ = 0.0;
};

/// How a ratings text file is laid out: one rating per line, fields
/// user, item, rating, then anything (a timestamp) which is ignored.
struct RatingsFileOptions {
  char separator = '\t';  ///< MovieLens u.data uses a tab; ',' for CSV
  bool header = false;    ///< skip the first line
};

namespace detail {

inline std::string trim(const std::string& s) {
  const char* space = " \t\r\n";
  const auto first = s.find_first_not_of(space);
  if (first == std::string::npos) return {};
  const auto last = s.find_last_not_of(space);
  return s.substr(first, last - first + 1);
}

inline std::vector<std::string> split_fields(const std::string& line, char separator) {
  std::vector<std::string> fields;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = line.find(separator, start);
    fields.push_back(line.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return fields;
}

}  // namespace detail

/// Reads rating triplets from a text file (blank lines are skipped).
/// Throws FileError "file.open" when the file cannot be read; ParseError
/// "parse.malformed_line" (fewer than 3 fields or an empty id),
/// "parse.bad_rating" (not a number), "parse.non_finite_rating" (NaN/inf),
/// "parse.empty_file" (no ratings at all), each naming file and line.
inline std::vector<RatingTriplet> read_rating_triplets(const std::string& path,
                                                       const RatingsFileOptions& options = {}) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileError("open", path + ": cannot open ratings file");
  std::vector<RatingTriplet> triplets;
  std::string line;
  std::size_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (options.header && line_number == 1) continue;
    if (detail::trim(line).empty()) continue;
    const std::string where = path + ":" + std::to_string(line_number);
    const std::vector<std::string> fields = detail::split_fields(line, options.separator);
    if (fields.size() < 3)
      throw ParseError("malformed_line", where + ": expected user, item, rating separated by '" +
                                             std::string(1, options.separator) + "', got " +
                                             std::to_string(fields.size()) + " field(s)");
    RatingTriplet t;
    t.user = detail::trim(fields[0]);
    t.item = detail::trim(fields[1]);
    t.line = line_number;
    if (t.user.empty() || t.item.empty()) throw ParseError("malformed_line", where + ": empty user or item id");
    const std::string text = detail::trim(fields[2]);
    char* end = nullptr;
    t.rating = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size())
      throw ParseError("bad_rating", where + ": rating '" + text + "' is not a number");
    if (!std::isfinite(t.rating))
      throw ParseError("non_finite_rating", where + ": rating '" + text + "' is not finite");
    triplets.push_back(std::move(t));
  }
  if (in.bad()) throw FileError("read", path + ": read error");
  if (triplets.empty()) throw ParseError("empty_file", path + ": no ratings");
  return triplets;
}

/// Reads a ratings file straight into Ratings (see read_rating_triplets and
/// Ratings::from_triplets for what is thrown).
inline Ratings read_ratings(const std::string& path, const RatingsFileOptions& options = {},
                            DuplicatePolicy duplicates = DuplicatePolicy::last_wins) {
  return Ratings::from_triplets(read_rating_triplets(path, options), duplicates, path);
}

}  // namespace cf
}  // namespace embedrank
