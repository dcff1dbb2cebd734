#pragma once
/// The files of a saved shop state (ShoppingGuide::save / open) and the
/// directory that holds them, written whole or not at all.
///
///   manifest.tsv      key <TAB> value: format, model fingerprint, dimension, storage, rows, text template
///   products.jsonl    every catalogue row in row order (Catalogue::write_rows)
///   removed.txt       the removed rows, one row number a line
///   vectors.f32|f16   the index's stored rows (EmbeddingIndex::write_stored_rows), mapped at open
///   cf_ratings.tsv    the CF model's ratings, ids in index order (when CF is fitted)
///   cf_options.tsv    the CF model's options
///
/// Values are escaped (\t \n \r \\) so any text fits on one line.

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "embedrank/cf/ratings.hpp"
#include "embedrank/cf/user_knn.hpp"
#include "embedrank/core/enum_text.hpp"
#include "embedrank/core/error.hpp"

namespace embedrank::shop::detail {

inline constexpr const char* kStateFormat = "embedrank-shop-state 1";

inline std::string escape(const std::string& s) {
  std::string out;
  for (const char c : s) {
    if (c == '\t') out += "\\t";
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\\') out += "\\\\";
    else out.push_back(c);
  }
  return out;
}

inline std::string unescape(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out.push_back(s[i]);
      continue;
    }
    const char c = s[++i];
    out.push_back(c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c);
  }
  return out;
}

/// Lines of "field <TAB> field ..." with a trailing '\r' dropped; blank lines skipped.
inline std::vector<std::vector<std::string>> read_tsv_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileError("open", path + ": cannot open for reading");
  std::vector<std::vector<std::string>> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::vector<std::string> fields;
    for (std::size_t start = 0;;) {
      const std::size_t tab = line.find('\t', start);
      fields.push_back(unescape(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start)));
      if (tab == std::string::npos) break;
      start = tab + 1;
    }
    lines.push_back(std::move(fields));
  }
  if (in.bad()) throw FileError("read", path + ": read failed");
  return lines;
}

/// key <TAB> value pairs.
class Manifest {
 public:
  void set(const std::string& key, const std::string& value) { values_[key] = value; }

  void write(std::ostream& out) const {
    out << "format\t" << kStateFormat << '\n';
    for (const auto& [key, value] : values_) out << escape(key) << '\t' << escape(value) << '\n';
  }

  /// Throws FileError, FormatError "shop.bad_state" for a file that is no
  /// shop state manifest.
  static Manifest read(const std::string& path) {
    Manifest m;
    m.path_ = path;
    for (auto& fields : read_tsv_lines(path)) {
      if (fields.size() != 2) throw FormatError("shop.bad_state", path + ": a line is not 'key <TAB> value'");
      m.values_[fields[0]] = fields[1];
    }
    if (m.values_["format"] != kStateFormat)
      throw FormatError("shop.bad_state", path + ": not a shop state of this version (format '" + m.values_["format"] +
                                              "', expected '" + kStateFormat + "')");
    return m;
  }

  bool has(const std::string& key) const { return values_.count(key) != 0; }
  /// Throws FormatError "shop.bad_state" for a missing key.
  const std::string& get(const std::string& key) const {
    const auto it = values_.find(key);
    if (it == values_.end()) throw FormatError("shop.bad_state", path_ + ": no '" + key + "'");
    return it->second;
  }
  std::size_t get_size(const std::string& key) const {
    const std::string& text = get(key);
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || errno != 0 || text[0] == '-')
      throw FormatError("shop.bad_state", path_ + ": '" + key + "' is not a count: '" + text + "'");
    return static_cast<std::size_t>(v);
  }

 private:
  std::string path_;
  std::map<std::string, std::string> values_;
};

/// Row numbers, one a line, each < rows, as flags (rows).
inline std::vector<bool> read_removed_rows(const std::string& path, std::size_t rows) {
  std::vector<bool> removed(rows, false);
  for (const auto& fields : read_tsv_lines(path)) {
    char* end = nullptr;
    const unsigned long long row = std::strtoull(fields[0].c_str(), &end, 10);
    if (fields.size() != 1 || *end != '\0' || fields[0].empty() || fields[0][0] == '-' || row >= rows)
      throw FormatError("shop.bad_state", path + ": '" + fields[0] + "' is not a row below " + std::to_string(rows));
    removed[static_cast<std::size_t>(row)] = true;
  }
  return removed;
}

/// The ratings so that read_ratings() builds them with the same user and
/// item indices and each item's ratings in the same training order:
/// "user <TAB> id" and "item <TAB> id" lines in index order, then
/// "rating <TAB> u <TAB> i <TAB> value" lines by rank within the item.
inline void write_ratings(std::ostream& out, const cf::Ratings& ratings) {
  for (std::int32_t u = 0; u < ratings.num_users(); ++u) out << "user\t" << escape(ratings.user_id(u)) << '\n';
  for (std::int32_t i = 0; i < ratings.num_items(); ++i) out << "item\t" << escape(ratings.item_id(i)) << '\n';
  std::vector<std::tuple<std::uint32_t, std::int32_t, std::size_t>> order;  // (rank, item, entry)
  order.reserve(ratings.num_ratings());
  for (std::int32_t i = 0; i < ratings.num_items(); ++i)
    for (std::size_t e = ratings.item_begin(i); e < ratings.item_end(i); ++e)
      order.emplace_back(ratings.item_ranks()[e], i, e);
  std::sort(order.begin(), order.end());
  char value[40];
  for (const auto& [rank, item, entry] : order) {
    std::snprintf(value, sizeof value, "%.17g", ratings.item_values()[entry]);
    out << "rating\t" << ratings.item_users()[entry] << '\t' << item << '\t' << value << '\n';
  }
}

inline cf::Ratings read_ratings(const std::string& path) {
  cf::RatingsBuilder builder(path);
  std::vector<std::string> users, items;
  std::size_t line = 0;
  const auto bad = [&](const std::string& why) { throw FormatError("shop.bad_state", path + ":" + std::to_string(line) + ": " + why); };
  for (const auto& fields : read_tsv_lines(path)) {
    ++line;
    if (fields[0] == "user" && fields.size() == 2) {
      builder.declare_user(fields[1]);
      users.push_back(fields[1]);
    } else if (fields[0] == "item" && fields.size() == 2) {
      builder.declare_item(fields[1]);
      items.push_back(fields[1]);
    } else if (fields[0] == "rating" && fields.size() == 4) {
      char* end = nullptr;
      const unsigned long u = std::strtoul(fields[1].c_str(), &end, 10);
      if (*end != '\0' || u >= users.size()) bad("bad user index");
      const unsigned long i = std::strtoul(fields[2].c_str(), &end, 10);
      if (*end != '\0' || i >= items.size()) bad("bad item index");
      const double value = std::strtod(fields[3].c_str(), &end);
      if (*end != '\0') bad("bad rating");
      builder.add(users[u], items[i], value, line);
    } else {
      bad("unknown line");
    }
  }
  return builder.build(cf::DuplicatePolicy::Error);
}

/// The options that shape a fitted model (not threads or memory limits).
inline void write_knn_options(std::ostream& out, const cf::KnnOptions& o) {
  char number[40];
  const auto real = [&](double v) {
    std::snprintf(number, sizeof number, "%.17g", v);
    return std::string(number);
  };
  out << "algorithm\t" << to_string(o.algorithm) << "\nk\t" << o.k << "\nmin_k\t" << o.min_k << "\norder\t"
      << to_string(o.order) << "\nfallback\t" << to_string(o.fallback) << "\nclip\t" << (o.clip ? 1 : 0)
      << "\nclip_min\t" << real(o.clip_min) << "\nclip_max\t" << real(o.clip_max) << "\nsimilarity.mean\t"
      << to_string(o.similarity.mean) << "\nsimilarity.min_support\t" << o.similarity.min_support
      << "\nsimilarity.shrinkage\t" << to_string(o.similarity.shrinkage) << "\nsimilarity.shrinkage_lambda\t"
      << real(o.similarity.shrinkage_lambda) << "\nsimilarity.max_neighbors\t" << o.similarity.max_neighbors << '\n';
}

/// `base` with the saved options set (base keeps threads, pool, memory budget, kernel).
inline cf::KnnOptions read_knn_options(const std::string& path, cf::KnnOptions base) {
  std::map<std::string, std::string> v;
  for (const auto& fields : read_tsv_lines(path))
    if (fields.size() == 2) v[fields[0]] = fields[1];
  const auto get = [&](const std::string& key) -> const std::string& {
    const auto it = v.find(key);
    if (it == v.end()) throw FormatError("shop.bad_state", path + ": no '" + key + "'");
    return it->second;
  };
  const auto integer = [&](const std::string& key) {
    char* end = nullptr;
    const long x = std::strtol(get(key).c_str(), &end, 10);
    if (*end != '\0') throw FormatError("shop.bad_state", path + ": '" + key + "' is not an integer");
    return static_cast<int>(x);
  };
  const auto real = [&](const std::string& key) {
    char* end = nullptr;
    const double x = std::strtod(get(key).c_str(), &end);
    if (*end != '\0') throw FormatError("shop.bad_state", path + ": '" + key + "' is not a number");
    return x;
  };
  base.algorithm = parse<cf::KnnAlgorithm>(get("algorithm"));
  base.k = integer("k");
  base.min_k = integer("min_k");
  base.order = parse<cf::NeighborOrder>(get("order"));
  base.fallback = parse<cf::FallbackPolicy>(get("fallback"));
  base.clip = integer("clip") != 0;
  base.clip_min = real("clip_min");
  base.clip_max = real("clip_max");
  base.similarity.mean = parse<cf::PearsonMean>(get("similarity.mean"));
  base.similarity.min_support = integer("similarity.min_support");
  base.similarity.shrinkage = parse<cf::Shrinkage>(get("similarity.shrinkage"));
  base.similarity.shrinkage_lambda = real("similarity.shrinkage_lambda");
  base.similarity.max_neighbors = integer("similarity.max_neighbors");
  return base;
}

/// A state directory written whole or not at all: files go into a new
/// directory beside the target; commit() puts it in the target's place in
/// one rename (swapping with an existing target, which is then deleted).
/// Without commit() the new directory is deleted.
class StateWriter {
 public:
  /// Throws FileError "open" when the new directory cannot be made.
  explicit StateWriter(std::string dir) : dir_(std::move(dir)) {
    while (!dir_.empty() && dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
    static std::atomic<unsigned> counter{0};
    for (int attempt = 0; attempt < 100; ++attempt) {
      temporary_ = dir_ + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
      std::error_code ec;
      if (std::filesystem::create_directory(temporary_, ec)) return;
      if (ec) throw FileError("open", temporary_ + ": cannot create the directory: " + ec.message());
    }
    throw FileError("open", dir_ + ": cannot create a temporary directory beside it");
  }
  ~StateWriter() {
    std::error_code ec;
    if (!committed_) std::filesystem::remove_all(temporary_, ec);
  }
  StateWriter(const StateWriter&) = delete;
  StateWriter& operator=(const StateWriter&) = delete;

  /// Writes file `name` of the state through fn(stream). Throws FileError.
  void write(const std::string& name, const std::function<void(std::ostream&)>& fn) {
    const std::string path = temporary_ + "/" + name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) throw FileError("open", path + ": cannot open for writing");
    fn(out);
    out.flush();
    if (!out) throw FileError("write", path + ": write failed (disk full?)");
  }

  /// Puts the new directory in place. Throws FileError.
  void commit() {
    std::error_code ec;
    if (!std::filesystem::exists(dir_, ec)) {
      if (std::rename(temporary_.c_str(), dir_.c_str()) != 0)
        throw FileError("rename", dir_ + ": cannot put the new state in place: " + std::strerror(errno));
    } else {
#if defined(__linux__) && defined(RENAME_EXCHANGE)
      if (::renameat2(AT_FDCWD, temporary_.c_str(), AT_FDCWD, dir_.c_str(), RENAME_EXCHANGE) != 0)
        throw FileError("rename", dir_ + ": cannot swap in the new state: " + std::strerror(errno));
#else
      const std::string old = temporary_ + ".old";
      if (std::rename(dir_.c_str(), old.c_str()) != 0 || std::rename(temporary_.c_str(), dir_.c_str()) != 0)
        throw FileError("rename", dir_ + ": cannot put the new state in place: " + std::strerror(errno));
      temporary_ = old;
#endif
      std::filesystem::remove_all(temporary_, ec);  // the old state
    }
    committed_ = true;
  }

 private:
  std::string dir_;
  std::string temporary_;
  bool committed_ = false;
};

}  // namespace embedrank::shop::detail
