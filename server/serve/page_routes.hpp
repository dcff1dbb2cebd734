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

#include <algorithm>
#include <cstdlib>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "embedrank/core/error.hpp"
#include "embedrank/shop/detail/table_reader.hpp"
#include "serve/service.hpp"

namespace serve {

namespace detail {

/// A table's number; ParseError naming `where` ("path:line: ") when it is none.
inline double table_number(const std::string& text, const std::string& where) {
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size())
    throw embedrank::ParseError("not_a_number", where + "expected a number, got '" + text + "'");
  return v;
}

}  // namespace detail

/// The named shoppers of a table's first column (TSV, CSV or JSON Lines, with
/// a header), each once, in order. Throws embedrank::FileError or ParseError.
inline std::vector<std::string> read_shoppers(const std::string& path) {
  std::vector<std::string> names;
  std::unordered_set<std::string> seen;
  for (const auto& record : embedrank::shop::detail::read_table(path).records)
    if (!record.values[0].empty() && seen.insert(record.values[0]).second) names.push_back(record.values[0]);
  return names;
}

/// The table of `shopping_guide --eval-out` (method, content_weight,
/// hit_rate_at_10, ndcg_at_10) as /v1/evaluation's answer (without the
/// server's content weight). Throws embedrank::FileError, and
/// embedrank::ParseError naming the line of a missing column or a bad number.
inline Json read_evaluation(const std::string& path) {
  const embedrank::shop::detail::Table table = embedrank::shop::detail::read_table(path);
  const auto column = [&](const char* name) {
    const auto it = std::find(table.columns.begin(), table.columns.end(), name);
    if (it == table.columns.end())
      throw embedrank::ParseError("missing_column", path + ": no column '" + name + "'");
    return static_cast<std::size_t>(it - table.columns.begin());
  };
  const std::size_t method = column("method"), weight = column("content_weight"), hit = column("hit_rate_at_10"),
                    ndcg = column("ndcg_at_10");
  Json rows = Json::array();
  for (const auto& r : table.records) {
    const std::string where = table.where(r.line);
    rows.push_back({{"method", r.values[method]},
                    {"content_weight",
                     r.values[weight].empty() ? Json(nullptr) : Json(detail::table_number(r.values[weight], where))},
                    {"hit_rate", detail::table_number(r.values[hit], where)},
                    {"ndcg", detail::table_number(r.values[ndcg], where)}});
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
