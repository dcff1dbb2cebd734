#pragma once
// The shopping-guide page (server/page/, embedded into the program at build
// time) and the two routes only it needs:
//
//   GET /                  the page (index.html)
//   GET /page/{file}       its style sheet and script
//   GET /v1/users          ?limit=N (default 50, 1..10000): the shoppers a picker offers
//                          -> {"users": [{"user", "ratings", "named"}], "total"}
//   GET /v1/evaluation     the offline evaluation the server was started with
//                          -> {"source", "k", "content_weight", "rows": [{"method",
//                              "content_weight", "hit_rate", "ndcg"}]}
//
// /v1/users lists the named shoppers (--shoppers FILE: the first column of a
// table with a header, e.g. examples/data/histories.tsv) first, in the file's
// order, then the other users of the CF log in the order they first appear;
// "ratings" counts each one's interactions in the live log (new ones
// included). /v1/evaluation reads nothing at request time: --evaluation FILE
// is the TSV `shopping_guide --eval-out FILE` writes (method, content_weight,
// hit_rate_at_10, ndcg_at_10), read once at load; without it "rows" is empty.
// The figures are those of the catalogue and log the file was computed on,
// not of later live updates.

#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "embedrank/core/error.hpp"
#include "serve/service.hpp"

namespace serve {

namespace detail {

/// The tab-separated lines of a text file after its header line, a trailing '\r' dropped, blank lines skipped.
inline std::vector<std::vector<std::string>> read_table(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw embedrank::FileError("open", path + ": cannot open for reading");
  std::vector<std::vector<std::string>> rows;
  std::string line;
  for (bool header = true; std::getline(in, line); header = false) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (header || line.empty()) continue;
    std::vector<std::string> fields;
    for (std::size_t start = 0;;) {
      const std::size_t tab = line.find('\t', start);
      fields.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
      if (tab == std::string::npos) break;
      start = tab + 1;
    }
    rows.push_back(std::move(fields));
  }
  if (in.bad()) throw embedrank::FileError("read", path + ": read failed");
  return rows;
}

inline double table_number(const std::string& text, const std::string& where) {
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size())
    throw embedrank::ParseError("not_a_number", where + ": expected a number, got '" + text + "'");
  return v;
}

}  // namespace detail

/// The named shoppers of a table's first column (header skipped), each once, in order.
/// Throws embedrank::FileError when the file cannot be read.
inline std::vector<std::string> read_shoppers(const std::string& path) {
  std::vector<std::string> names;
  std::unordered_set<std::string> seen;
  for (const auto& fields : detail::read_table(path))
    if (!fields[0].empty() && seen.insert(fields[0]).second) names.push_back(fields[0]);
  return names;
}

/// The TSV of `shopping_guide --eval-out` as /v1/evaluation's answer (without
/// the server's content weight). Throws embedrank::FileError, and
/// embedrank::ParseError naming the line of a malformed row.
inline Json read_evaluation(const std::string& path) {
  Json rows = Json::array();
  std::size_t line = 1;
  for (const auto& f : detail::read_table(path)) {
    const std::string where = path + ":" + std::to_string(++line);
    if (f.size() != 4)
      throw embedrank::ParseError("malformed_line", where + ": expected method, content_weight, hit_rate_at_10, "
                                                            "ndcg_at_10 separated by tabs, got " +
                                                        std::to_string(f.size()) + " field(s)");
    rows.push_back({{"method", f[0]},
                    {"content_weight", f[1].empty() ? Json(nullptr) : Json(detail::table_number(f[1], where))},
                    {"hit_rate", detail::table_number(f[2], where)},
                    {"ndcg", detail::table_number(f[3], where)}});
  }
  return Json{{"source", path}, {"k", 10}, {"rows", rows}};
}

inline Response page_file(Service& service, const std::string& name) {
  for (const PageFile& file : service.options().page) {
    if (file.name != name) continue;
    Response r;
    r.content_type = std::string(file.content_type);
    r.body = std::string(file.body);
    r.headers.emplace_back("Cache-Control", "no-cache");
    return r;
  }
  throw HttpError{404, "not_found", service.options().page.empty() ? "this program serves no page"
                                                                   : "no page file '" + name + "'"};
}

inline Response page_index(Service& service, const Request&, const std::string&) {
  return page_file(service, "index.html");
}

inline Response page_asset(Service& service, const Request&, const std::string& name) {
  return page_file(service, name);
}

inline Response list_users(Service& service, const Request& request, const std::string&) {
  std::size_t limit = 50;
  if (const auto it = request.params.find("limit"); it != request.params.end()) {
    char* end = nullptr;
    const long v = std::strtol(it->second.c_str(), &end, 10);
    if (it->second.empty() || *end != '\0' || v < 1 || v > 10000)
      throw HttpError{422, "validation", "'limit' must be an integer from 1 to 10000, got '" + it->second + "'"};
    limit = static_cast<std::size_t>(v);
  }
  const std::vector<std::pair<std::string, std::size_t>> counts = service.users_in_log();
  std::unordered_map<std::string, std::size_t> ratings(counts.begin(), counts.end());
  const std::vector<std::string>& named = service.loaded().shoppers;
  const std::unordered_set<std::string> is_named(named.begin(), named.end());
  Json users = Json::array();
  const auto add = [&](const std::string& user, bool named_user) {
    if (users.size() == limit) return;
    const auto it = ratings.find(user);
    users.push_back({{"user", user}, {"ratings", it == ratings.end() ? 0 : it->second}, {"named", named_user}});
  };
  for (const std::string& user : named) add(user, true);
  std::size_t total = named.size();
  for (const auto& [user, n] : counts) {
    if (is_named.count(user)) continue;
    ++total;
    add(user, false);
  }
  return json_response(Json{{"users", users}, {"total", total}});
}

inline Response evaluation(Service& service, const Request&, const std::string&) {
  Json answer = service.loaded().evaluation.is_object() ? service.loaded().evaluation
                                                        : Json{{"source", nullptr}, {"k", 10}, {"rows", Json::array()}};
  answer["content_weight"] = service.options().content_weight;
  return json_response(answer);
}

}  // namespace serve
