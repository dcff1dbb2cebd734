// The sample shop bundled for examples/shopping_guide.cpp (examples/data):
// shape of each file, ids, references between files, UTF-8, and the share of
// Chinese products. No model is needed. Each checker returns the problems it
// finds, so a broken sample can show that the checks do fire.

#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "embedrank/text/unicode.hpp"

namespace {

const std::string kDataDir = std::string(EMBEDRANK_SOURCE_DIR) + "/examples/data";

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> fields;
  std::size_t begin = 0;
  for (;;) {
    const std::size_t tab = line.find('\t', begin);
    fields.push_back(line.substr(begin, tab == std::string::npos ? std::string::npos : tab - begin));
    if (tab == std::string::npos) return fields;
    begin = tab + 1;
  }
}

bool has_cjk(const std::string& text) {
  for (const char32_t c : embedrank::text::decode_utf8(text))
    if (c >= 0x4E00 && c <= 0x9FFF) return true;
  return false;
}

bool is_product_id(const std::string& id) {
  return id.size() == 5 && id[0] == 'P' &&
         std::all_of(id.begin() + 1, id.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool trimmed(const std::string& field) {
  return !field.empty() && field.front() != ' ' && field.back() != ' ';
}

struct Catalogue {
  std::map<std::string, std::string> title_of;  // id -> title
  std::set<std::string> categories;
  std::size_t chinese = 0;  // products whose title contains CJK ideographs
  std::vector<std::string> problems;
};

Catalogue check_catalogue(const std::vector<std::string>& lines) {
  Catalogue c;
  if (lines.empty() || lines[0] != "id\tcategory\ttitle\tdescription") c.problems.push_back("line 1: bad header");
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::string where = "line " + std::to_string(i + 1) + ": ";
    if (!embedrank::text::is_valid_utf8(lines[i])) {
      c.problems.push_back(where + "invalid UTF-8");
      continue;
    }
    if (!lines[i].empty() && lines[i].back() == '\r') c.problems.push_back(where + "CRLF line ending");
    const std::vector<std::string> f = split_tabs(lines[i]);
    if (f.size() != 4) {
      c.problems.push_back(where + std::to_string(f.size()) + " fields");
      continue;
    }
    if (!is_product_id(f[0])) c.problems.push_back(where + "bad id '" + f[0] + "'");
    if (!std::all_of(f.begin(), f.end(), trimmed)) c.problems.push_back(where + "empty or untrimmed field");
    if (!c.title_of.emplace(f[0], f[2]).second) c.problems.push_back(where + "duplicate id " + f[0]);
    c.categories.insert(f[1]);
    if (has_cjk(f[2])) ++c.chinese;
  }
  return c;
}

struct Histories {
  std::map<std::string, std::size_t> events_of, purchases_of;  // user -> count
  std::vector<std::string> problems;
};

Histories check_histories(const std::vector<std::string>& lines, const Catalogue& catalogue) {
  Histories h;
  if (lines.empty() || lines[0] != "user\tevent\tproduct_id") h.problems.push_back("line 1: bad header");
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::string where = "line " + std::to_string(i + 1) + ": ";
    const std::vector<std::string> f = split_tabs(lines[i]);
    if (f.size() != 3) {
      h.problems.push_back(where + std::to_string(f.size()) + " fields");
      continue;
    }
    if (f[0].empty()) h.problems.push_back(where + "empty user");
    if (f[1] != "view" && f[1] != "purchase") h.problems.push_back(where + "bad event '" + f[1] + "'");
    if (catalogue.title_of.count(f[2]) == 0) h.problems.push_back(where + "unknown product " + f[2]);
    ++h.events_of[f[0]];
    if (f[1] == "purchase") ++h.purchases_of[f[0]];
  }
  return h;
}

}  // namespace

TEST_CASE("bundled shop catalogue", "[shopping_guide][data]") {
  const Catalogue catalogue = check_catalogue(read_lines(kDataDir + "/catalogue.tsv"));

  SECTION("every line is well formed") {
    INFO(Catch::Detail::stringify(catalogue.problems));
    CHECK(catalogue.problems.empty());
  }
  SECTION("a few hundred products over many categories") {
    CHECK(catalogue.title_of.size() >= 250);
    CHECK(catalogue.title_of.size() <= 400);
    CHECK(catalogue.categories.size() >= 10);
  }
  SECTION("about one product in eight is Chinese") {
    const double share = static_cast<double>(catalogue.chinese) / static_cast<double>(catalogue.title_of.size());
    CHECK(share >= 0.10);
    CHECK(share <= 0.15);
  }
}

TEST_CASE("bundled user histories", "[shopping_guide][data]") {
  const Catalogue catalogue = check_catalogue(read_lines(kDataDir + "/catalogue.tsv"));
  const Histories histories = check_histories(read_lines(kDataDir + "/histories.tsv"), catalogue);

  SECTION("every event names a known product") {
    INFO(Catch::Detail::stringify(histories.problems));
    CHECK(histories.problems.empty());
  }
  SECTION("6 to 10 users, each with a history and at least one purchase") {
    CHECK(histories.events_of.size() >= 6);
    CHECK(histories.events_of.size() <= 10);
    for (const auto& [user, events] : histories.events_of) {
      INFO(user);
      CHECK(events >= 5);
      CHECK(histories.purchases_of.count(user) == 1);
    }
  }
}

TEST_CASE("bundled queries", "[shopping_guide][data]") {
  std::vector<std::string> queries;
  for (const std::string& line : read_lines(kDataDir + "/queries.txt"))
    if (!line.empty() && line[0] != '#') queries.push_back(line);

  CHECK(queries.size() >= 10);
  CHECK(queries.size() <= 20);
  for (const std::string& q : {std::string("a red summer dress"), std::string("我想买一件红色的连衣裙"),
                               std::string("wireless earbuds for running")}) {
    INFO(q);
    CHECK(std::count(queries.begin(), queries.end(), q) == 1);
  }
  for (const std::string& q : queries) {
    INFO(q);
    CHECK(embedrank::text::is_valid_utf8(q));
    CHECK(trimmed(q));
  }
}

TEST_CASE("bundled attributes and interaction log", "[shopping_guide][data]") {
  const Catalogue catalogue = check_catalogue(read_lines(kDataDir + "/catalogue.tsv"));
  SECTION("attributes: one line per product, prices >= 0") {
    const auto lines = read_lines(kDataDir + "/attributes.tsv");
    REQUIRE(!lines.empty());
    CHECK(lines[0] == "id\tbrand\tcolour\tprice");
    std::set<std::string> ids;
    std::size_t branded = 0, coloured = 0;
    for (std::size_t i = 1; i < lines.size(); ++i) {
      INFO("attributes.tsv line " << i + 1);
      const auto f = split_tabs(lines[i]);
      REQUIRE(f.size() == 4);
      CHECK(catalogue.title_of.count(f[0]) == 1);
      CHECK(ids.insert(f[0]).second);
      branded += f[1].empty() ? 0 : 1;
      coloured += f[2].empty() ? 0 : 1;
      const double price = std::stod(f[3]);
      CHECK(price >= 0);
    }
    CHECK(ids.size() == catalogue.title_of.size());
    CHECK(branded > ids.size() / 2);
    CHECK(coloured >= 20);
  }
  SECTION("interactions: a few thousand users, ratings 1-5 of catalogue products") {
    const auto lines = read_lines(kDataDir + "/interactions.tsv");
    REQUIRE(!lines.empty());
    CHECK(lines[0] == "user\tproduct_id\trating\tday");
    std::map<std::string, std::size_t> ratings_of;
    for (std::size_t i = 1; i < lines.size(); ++i) {
      INFO("interactions.tsv line " << i + 1);
      const auto f = split_tabs(lines[i]);
      REQUIRE(f.size() == 4);
      CHECK(catalogue.title_of.count(f[1]) == 1);
      CHECK((f[2] == "1" || f[2] == "2" || f[2] == "3" || f[2] == "4" || f[2] == "5"));
      ++ratings_of[f[0]];
    }
    CHECK(ratings_of.size() >= 2000);
    // the users of histories.tsv are in the log, so the demo's CF knows them
    const Histories histories = check_histories(read_lines(kDataDir + "/histories.tsv"), catalogue);
    for (const auto& [user, events] : histories.events_of) CHECK(ratings_of.count(user) == 1);
  }
}

TEST_CASE("shop data checks catch broken files", "[shopping_guide][data]") {
  const Catalogue catalogue = check_catalogue({"id\tcategory\ttitle\tdescription", "P0001\tToys\tKite\tA red kite.",
                                               "P0001\tToys\tBall\tA ball.", "P02\tToys\tBat\tA bat.",
                                               "P0003\tToys\tonly three fields", "P0004\tToys\t \tBlank title."});
  SECTION("catalogue: duplicate id, bad id, field count, blank field") {
    CHECK(catalogue.problems == std::vector<std::string>{"line 3: duplicate id P0001", "line 4: bad id 'P02'",
                                                         "line 5: 3 fields", "line 6: empty or untrimmed field"});
  }
  SECTION("histories: unknown product, bad event, field count, header") {
    const Histories histories =
        check_histories({"user\tevent", "ann\tview\tP0001", "ann\tbuy\tP0001", "ann\tview\tP9999", "ann\tview"},
                        catalogue);
    CHECK(histories.problems == std::vector<std::string>{"line 1: bad header", "line 3: bad event 'buy'",
                                                         "line 4: unknown product P9999", "line 5: 2 fields"});
  }
}
