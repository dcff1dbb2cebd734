// ShoppingGuide, the facade over Embedder + EmbeddingIndex +
// CatalogueAttributes + UserKnn + Recommender, on a tiny model: its parts
// give what they give alone (the search equals embedding the query text and
// searching the index with the constraints; recommend equals a Recommender
// over the same index and CF model), and bad input gets typed errors.

#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "embedrank/shop/shopping_guide.hpp"
#include "support/model_fixtures.hpp"

using embedrank::InputError;
using embedrank::Product;
using embedrank::ShoppingGuide;
using test_support::converted_model;

namespace {

std::vector<Product> small_catalogue() {
  const char* const colours[] = {"red", "blue", "green"};
  const char* const brands[] = {"Acme", "Zenith"};
  const char* const things[] = {"summer dress", "running shoes", "frying pan", "green tea", "tent", "keyboard"};
  std::vector<Product> products;
  for (int i = 0; i < 24; ++i) {
    Product p;
    p.id = "P" + std::to_string(i);
    p.category = i % 6 < 2 ? "Clothing" : "Home";
    p.brand = brands[i % 2];
    p.colour = colours[i % 3];
    p.title = p.brand + " " + p.colour + " " + things[i % 6];
    p.description = "item number " + std::to_string(i);
    p.price = 5.0 + 10.0 * i;
    products.push_back(p);
  }
  return products;
}

embedrank::cf::Ratings small_ratings() {
  embedrank::cf::RatingsBuilder builder;
  for (int u = 0; u < 30; ++u)
    for (int i = 0; i < 24; ++i)
      if ((u * 7 + i * 3) % 5 < 2) builder.add("u" + std::to_string(u), "P" + std::to_string(i), 1 + (u + i) % 5);
  return builder.build();
}

}  // namespace

TEST_CASE("search: attributes understood, price filtered, equal to the parts", "[guide]") {
  auto embedder = embedrank::model::Embedder::open(converted_model("bert_gelu_mean"));
  embedrank::ShoppingGuideOptions options;
  options.threads = 1;
  const ShoppingGuide guide(embedder, small_catalogue(), options);
  embedrank::model::EmbedderWorkspace ws(1);

  const embedrank::SearchAnswer answer = guide.search("acme red dress under 100", 5, ws);
  CHECK(answer.query.search_text == "acme red dress");
  CHECK(answer.query.price.max == 100);
  REQUIRE(answer.query.attributes.size() == 3);
  CHECK(answer.query.attributes[0].name == "brand");
  CHECK(answer.query.attributes[1].name == "colour");
  REQUIRE(!answer.results.empty());
  for (const auto& r : answer.results) {
    CHECK(guide.product(r.id).brand == "Acme");  // brand filters by default
    CHECK(guide.product(r.id).price <= 100);
  }
  // the same through the parts
  const auto constraints = guide.attributes().constraints(answer.query, options.attribute_policy);
  const auto expected = embedrank::rank::search_with_constraints(
      guide.index(), embedder->embed_one("acme red dress", ws), constraints, 5, options.search_candidates,
      options.attribute_boost);
  REQUIRE(answer.results.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CHECK(answer.results[i].id == expected[i].id);
    CHECK(answer.results[i].score == expected[i].score);
  }
}

TEST_CASE("recommend: content only before CF, the blend after, explained", "[guide]") {
  auto embedder = embedrank::model::Embedder::open(converted_model("bert_gelu_mean"));
  embedrank::ShoppingGuideOptions options;
  options.threads = 1;
  options.knn.min_k = 2;
  ShoppingGuide guide(embedder, small_catalogue(), options);
  const std::vector<embedrank::rank::HistoryItem> history = {{"P0", 2.0, 0.0}, {"P6", 1.0, 0.0}};

  const auto content_only = guide.recommend("u3", history, 5);
  REQUIRE(content_only.size() == 5);
  for (const auto& r : content_only) {
    CHECK(std::isnan(r.cf_score));
    CHECK(r.id != "P0");
    CHECK(r.id != "P6");
    CHECK((r.closest_history_id == "P0" || r.closest_history_id == "P6"));
  }

  guide.fit_collaborative_filtering(small_ratings());
  REQUIRE(guide.collaborative_filtering() != nullptr);
  embedrank::rank::RecommendOptions recommend_options;
  recommend_options.content_weight = 0.5;
  const auto blended = guide.recommend("u3", history, 5, recommend_options);
  const embedrank::rank::Recommender recommender(guide.index(), guide.collaborative_filtering());
  const auto expected =
      recommender.recommend(recommender.profile_from_history(history), history, "u3", 5, recommend_options);
  REQUIRE(blended.size() == expected.size());
  bool some_cf = false;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CHECK(blended[i].id == expected[i].id);
    CHECK(blended[i].score == expected[i].score);
    if (!std::isnan(blended[i].cf_score)) {
      some_cf = true;
      // the neighbours named are users who rated the item, most similar first
      REQUIRE(!blended[i].cf_neighbors.empty());
      CHECK(blended[i].cf_neighbors.size() <= recommend_options.explain_neighbors);
      for (std::size_t n = 1; n < blended[i].cf_neighbors.size(); ++n)
        CHECK(blended[i].cf_neighbors[n - 1].similarity >= blended[i].cf_neighbors[n].similarity);
      const auto& ratings = guide.collaborative_filtering()->ratings();
      const auto u = ratings.find_user(blended[i].cf_neighbors[0].user_id);
      const auto item = ratings.find_item(blended[i].id);
      bool rated = false;
      for (std::size_t k = ratings.user_begin(u); k < ratings.user_end(u); ++k)
        rated = rated || ratings.user_items()[k] == item;
      CHECK(rated);
    }
  }
  CHECK(some_cf);
  // a user the CF model does not know: content only
  for (const auto& r : guide.recommend("stranger", history, 5)) CHECK(std::isnan(r.cf_score));
}

TEST_CASE("bad shopping-guide input gets typed errors", "[guide]") {
  auto embedder = embedrank::model::Embedder::open(converted_model("bert_gelu_mean"));
  embedrank::ShoppingGuideOptions options;
  options.threads = 1;
  CHECK_THROWS_AS(ShoppingGuide(embedder, std::vector<Product>{}, options), InputError);
  CHECK_THROWS_AS(ShoppingGuide(nullptr, small_catalogue(), options), InputError);
  auto twice = small_catalogue();
  twice.push_back(twice.front());
  CHECK_THROWS_AS(ShoppingGuide(embedder, twice, options), InputError);
  auto bad_price = small_catalogue();
  bad_price[3].price = -1;
  CHECK_THROWS_AS(ShoppingGuide(embedder, bad_price, options), InputError);
  const ShoppingGuide guide(embedder, small_catalogue(), options);
  CHECK_THROWS_AS(guide.product("nope"), InputError);
  CHECK_THROWS_AS(guide.recommend("u1", {{"nope", 1.0, 0.0}}, 3), InputError);
}
