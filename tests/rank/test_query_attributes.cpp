// Catalogue-driven query understanding: attribute values and price phrases
// found in queries (spans in characters and bytes), the filter and boost they
// become, a model's entity spans mapped to catalogue values, and the search
// that applies them, against a brute-force reference on random data.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "embedrank/rank/query_attributes.hpp"

using embedrank::InputError;
using embedrank::VectorF;
using embedrank::rank::AttributePolicy;
using embedrank::rank::CatalogueAttributes;
using embedrank::rank::EmbeddingIndex;
using embedrank::rank::EntitySpan;
using embedrank::rank::ParsedQuery;
using embedrank::rank::QueryAttribute;

namespace {

VectorF random_vector(std::mt19937& rng, int dim) {
  std::normal_distribution<float> normal;
  VectorF v(dim);
  for (int d = 0; d < dim; ++d) v(d) = normal(rng);
  return v;
}

// Six items: brands, colours, categories (one in Chinese), prices.
struct Shop {
  EmbeddingIndex index{4};
  CatalogueAttributes attributes;

  static EmbeddingIndex& fill(EmbeddingIndex& index) {
    std::mt19937 rng(3);
    for (const char* id : {"dress1", "dress2", "shoe1", "shoe2", "kettle", "qun"}) index.add(id, random_vector(rng, 4));
    return index;
  }
  Shop() {
    fill(index);
    attributes.add(index.row_of("dress1"), "brand", "Orla Rae");
    attributes.add(index.row_of("dress1"), "colour", "Red");
    attributes.add(index.row_of("dress1"), "category", "Dresses");
    attributes.add(index.row_of("dress2"), "brand", "Linden & Lark");
    attributes.add(index.row_of("dress2"), "colour", "Navy Blue");
    attributes.add(index.row_of("dress2"), "category", "Dresses");
    attributes.add(index.row_of("shoe1"), "brand", "Pacewell");
    attributes.add(index.row_of("shoe1"), "colour", "Red");
    attributes.add(index.row_of("shoe1"), "category", "Shoes");
    attributes.add(index.row_of("shoe2"), "brand", "Orla Rae");
    attributes.add(index.row_of("shoe2"), "colour", "Blue");
    attributes.add(index.row_of("shoe2"), "category", "Shoes");
    attributes.add(index.row_of("kettle"), "colour", "Red");
    attributes.add(index.row_of("qun"), "brand", "素锦");
    attributes.add(index.row_of("qun"), "colour", "红色");
    attributes.set_price(index.row_of("dress1"), 39.0);
    attributes.set_price(index.row_of("dress2"), 55.5);
    attributes.set_price(index.row_of("shoe1"), 120.0);
    attributes.set_price(index.row_of("shoe2"), 49.99);
    attributes.set_price(index.row_of("qun"), 199.0);
  }
};

std::vector<std::string> describe(const ParsedQuery& q) {
  std::vector<std::string> out;
  for (const QueryAttribute& a : q.attributes)
    out.push_back(a.name + "=" + a.value + "@" + std::to_string(a.begin) + "-" + std::to_string(a.end));
  return out;
}

}  // namespace

TEST_CASE("values are found as whole words, longest first, case and plural folded", "[attributes]") {
  Shop shop;
  const ParsedQuery q = shop.attributes.parse("ORLA RAE  red dresses, navy blue shoe");
  CHECK(describe(q) == std::vector<std::string>{"brand=Orla Rae@0-8", "colour=Red@10-13", "category=Dresses@14-21",
                                                "colour=Navy Blue@23-32", "category=Shoes@33-37"});
  CHECK(q.search_text == "ORLA RAE red dresses, navy blue shoe");
  CHECK_FALSE(q.price.bounded());

  // "blue" alone is a value; inside "navy blue" the longer value wins; not inside words
  CHECK(describe(shop.attributes.parse("blue bluebird redshoes")) == std::vector<std::string>{"colour=Blue@0-4"});
  // punctuation inside a value (Linden & Lark)
  CHECK(describe(shop.attributes.parse("linden & lark")) == std::vector<std::string>{"brand=Linden & Lark@0-13"});
}

TEST_CASE("CJK values match without spaces; spans in characters and bytes", "[attributes]") {
  Shop shop;
  const ParsedQuery q = shop.attributes.parse("我想买素锦的红色连衣裙");
  REQUIRE(q.attributes.size() == 2);
  CHECK(q.attributes[0].name == "brand");
  CHECK(q.attributes[0].begin == 3);
  CHECK(q.attributes[0].end == 5);
  CHECK(q.attributes[0].byte_begin == 9);
  CHECK(q.attributes[0].byte_end == 15);
  CHECK(q.attributes[1].value == "红色");
  CHECK(q.attributes[1].begin == 6);
}

TEST_CASE("byte spans are the query's own bytes, ill-formed ones included", "[attributes]") {
  Shop shop;
  const std::string query = std::string("sh\x81\x00\x00 navy blue", 15);  // one bad byte, two NULs
  const ParsedQuery q = shop.attributes.parse(query);
  REQUIRE(q.attributes.size() == 1);
  CHECK(q.attributes[0].value == "Navy Blue");
  CHECK(query.substr(q.attributes[0].byte_begin, q.attributes[0].byte_end - q.attributes[0].byte_begin) == "navy blue");
  CHECK(q.attributes[0].begin == 6);  // the bad byte is one character
}

TEST_CASE("price phrases become ranges and leave the search text", "[attributes]") {
  Shop shop;
  struct Case {
    const char* query;
    double min, max;
    const char* search_text;
  };
  const double inf = std::numeric_limits<double>::infinity();
  for (const Case& c : {Case{"red dress under 50", -inf, 50, "red dress"},
                        Case{"red dress under €49.50", -inf, 49.5, "red dress"},
                        Case{"shoes less than 100 euros please", -inf, 100, "shoes please"},
                        Case{"shoes between 20 and 60", 20, 60, "shoes"},
                        Case{"shoes from $20 to $60", 20, 60, "shoes"},
                        Case{"shoes over 100", 100, inf, "shoes"},
                        Case{"dress 30-60 eur", 30, 60, "dress"},
                        Case{"dress £30 - 60", 30, 60, "dress"},
                        Case{"连衣裙 200元以下", -inf, 200, "连衣裙"},
                        Case{"不超过100元的连衣裙", -inf, 100, "的连衣裙"},
                        Case{"dress under 60 but over 40", 40, 60, "dress but"},
                        Case{"laptop under 1,000 dollars", -inf, 1000, "laptop"},
                        Case{"tv between 1,500 and 2,000,000", 1500, 2000000, "tv"},
                        Case{"dress under 49,90 eur", -inf, 49.9, "dress"}}) {
    INFO(c.query);
    const ParsedQuery q = shop.attributes.parse(c.query);
    CHECK(q.price.min == c.min);
    CHECK(q.price.max == c.max);
    CHECK(q.search_text == c.search_text);
  }
  // numbers that are not prices
  for (const char* query : {"pan 26 cm", "toy for 3 years", "a 2-3 year old", "under 5 kg", "USB cable 2 m", "iphone 15"}) {
    INFO(query);
    CHECK_FALSE(shop.attributes.parse(query).price.bounded());
  }
  const ParsedQuery q = shop.attributes.parse("red dress under 50");
  REQUIRE(q.attributes.size() == 2);
  CHECK(q.attributes[1].name == "price");
  CHECK(q.attributes[1].value == "<= 50");
  CHECK(q.attributes[1].begin == 10);
  CHECK(q.attributes[1].end == 18);
}

TEST_CASE("constraints: price and chosen attributes filter, the rest boost", "[attributes]") {
  Shop shop;
  const EmbeddingIndex& index = shop.index;
  auto row = [&](const char* id) { return index.row_of(id); };

  SECTION("boost only") {
    const auto c = shop.attributes.constraints(shop.attributes.parse("red orla rae"));
    CHECK(c.filter_attributes == 0);
    CHECK(c.boost_attributes == 2);
    CHECK_FALSE(c.filter.keep);
    CHECK(c.boost(row("dress1")) == 1.0f);  // red and Orla Rae
    CHECK(c.boost(row("shoe1")) == 0.5f);   // red
    CHECK(c.boost(row("shoe2")) == 0.5f);   // Orla Rae
    CHECK(c.boost(row("dress2")) == 0.0f);
  }
  SECTION("price and brand filter, colour boosts") {
    AttributePolicy policy;
    policy.filters = {"brand"};
    const auto c = shop.attributes.constraints(shop.attributes.parse("blue orla rae under 50"), policy);
    CHECK(c.filter_attributes == 2);
    CHECK(c.boost_attributes == 1);
    CHECK(c.filter.keep(row("dress1")));       // Orla Rae, 39
    CHECK(c.filter.keep(row("shoe2")));        // Orla Rae, 49.99
    CHECK_FALSE(c.filter.keep(row("dress2")));  // other brand
    CHECK_FALSE(c.filter.keep(row("kettle")));  // no price
    CHECK(c.boost(row("shoe2")) == 1.0f);
    CHECK(c.boost(row("dress1")) == 0.0f);
  }
  SECTION("two values of one filter attribute: either passes") {
    AttributePolicy policy;
    policy.filters = {"category"};
    const auto c = shop.attributes.constraints(shop.attributes.parse("dresses or shoes"), policy);
    for (const char* id : {"dress1", "dress2", "shoe1", "shoe2"}) CHECK(c.filter.keep(row(id)));
    CHECK_FALSE(c.filter.keep(row("kettle")));
  }
}

TEST_CASE("a model's entity spans map to catalogue values", "[attributes]") {
  Shop shop;
  const std::string query = "orla rae shoes in red under 50";
  const ParsedQuery q = shop.attributes.from_entities(
      query, {EntitySpan{"brand", 0, 8}, EntitySpan{"colour", 18, 21}, EntitySpan{"brand", 9, 14}});
  // "shoes" is not a brand value: dropped; the price comes from the text
  CHECK(describe(q) == std::vector<std::string>{"brand=Orla Rae@0-8", "colour=Red@18-21", "price=<= 50@22-30"});
  CHECK_THROWS_AS(shop.attributes.from_entities(query, {EntitySpan{"brand", 5, 100}}), InputError);
}

TEST_CASE("search_with_constraints equals filtering and re-scoring every item", "[attributes]") {
  std::mt19937 rng(17);
  const int n = 300;
  EmbeddingIndex index(16);
  for (int i = 0; i < n; ++i) index.add("item" + std::to_string(i), random_vector(rng, 16));
  CatalogueAttributes attributes;
  const std::vector<std::string> colours = {"red", "green", "blue"};
  const std::vector<std::string> brands = {"acme", "zenith", "orbit", "nova"};
  std::uniform_real_distribution<double> price(5, 200);
  std::vector<double> prices(n);
  for (int i = 0; i < n; ++i) {
    const std::string id = "item" + std::to_string(i);
    attributes.add(index.row_of(id), "colour", colours[static_cast<std::size_t>(i) % 3]);
    attributes.add(index.row_of(id), "brand", brands[static_cast<std::size_t>(i * 7) % 4]);
    prices[static_cast<std::size_t>(i)] = price(rng);
    attributes.set_price(index.row_of(id), prices[static_cast<std::size_t>(i)]);
  }
  AttributePolicy policy;
  policy.filters = {"brand"};
  const ParsedQuery parsed = attributes.parse("green acme or nova under 120");
  const auto constraints = attributes.constraints(parsed, policy);
  const VectorF query = random_vector(rng, 16);
  for (double w : {0.0, 0.3, 1.0}) {
    const auto got = embedrank::rank::search_with_constraints(index, query, constraints, 10, n, w);
    // reference: every item, filtered, re-scored, sorted (ties by similarity, then row)
    struct Scored {
      float score, similarity;
      std::size_t row;
    };
    std::vector<Scored> expected;
    for (std::size_t r = 0; r < static_cast<std::size_t>(n); ++r) {
      const std::string brand = brands[(r * 7) % 4];
      if (!(brand == "acme" || brand == "nova") || prices[r] > 120) continue;
      const float sim = query.dot(index.vector(r));
      const float boost = r % 3 == 1 ? 1.0f : 0.0f;
      const auto wf = static_cast<float>(w);
      expected.push_back({w == 0 ? sim : (1 - wf) * sim + wf * boost, sim, r});
    }
    std::sort(expected.begin(), expected.end(), [](const Scored& a, const Scored& b) {
      return a.score > b.score || (a.score == b.score && (a.similarity > b.similarity ||
                                                          (a.similarity == b.similarity && a.row < b.row)));
    });
    REQUIRE(got.size() == 10);
    for (std::size_t i = 0; i < 10; ++i) {
      CHECK(got[i].row == expected[i].row);
      CHECK(got[i].score == Approx(expected[i].score).margin(1e-5));
    }
  }
}

TEST_CASE("bad attribute input gets typed errors", "[attributes]") {
  Shop shop;
  CHECK_THROWS_AS(shop.attributes.add(0, "", "x"), InputError);
  CHECK_THROWS_AS(shop.attributes.add(0, "price", "x"), InputError);
  CHECK_THROWS_AS(shop.attributes.add(0, "brand", "  "), InputError);
  CHECK_THROWS_AS(shop.attributes.set_price(0, -1), InputError);
  CHECK_THROWS_AS(shop.attributes.set_price(0, std::nan("")), InputError);
  const auto c = shop.attributes.constraints(shop.attributes.parse("red"));
  CHECK_THROWS_AS(embedrank::rank::search_with_constraints(shop.index, VectorF::Zero(4), c, 3, 2), InputError);
  CHECK_THROWS_AS(embedrank::rank::search_with_constraints(shop.index, VectorF::Zero(4), c, 3, 10, 1.5), InputError);
  // nothing in the query: no constraints, the plain search
  const auto none = shop.attributes.constraints(shop.attributes.parse("something nice"));
  CHECK(none.filter_attributes + none.boost_attributes == 0);
  CHECK(shop.attributes.parse("").attributes.empty());
}
