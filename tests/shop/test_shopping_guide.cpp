// ShoppingGuide, the facade over Embedder + EmbeddingIndex + LexicalIndex +
// CatalogueAttributes + UserKnn + Recommender, on a tiny model: its parts
// give what they give alone (the dense search equals embedding the query
// text and searching the index with the constraints, the hybrid and lexical
// searches equal hybrid_search over the same parts; recommend equals a
// Recommender over the same index and CF model), and bad input gets typed
// errors or its documented answer.

#include <catch2/catch.hpp>

#include <atomic>
#include <cmath>
#include <string>
#include <thread>
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

  embedrank::SearchOptions dense;
  dense.mode = embedrank::rank::SearchMode::Dense;
  const embedrank::SearchAnswer answer = guide.search("acme red dress under 100", 5, ws, dense);
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
  const auto lexical_query = guide.lexical_index().query("acme red dress");
  for (std::size_t i = 0; i < expected.size(); ++i) {
    CHECK(answer.results[i].id == expected[i].id);
    CHECK(answer.results[i].score == expected[i].score);
    CHECK(answer.results[i].lexical == static_cast<float>(guide.lexical_index().score(lexical_query, expected[i].row)));
  }
  CHECK(answer.lexical_weight == 0.0);
}

TEST_CASE("search modes: hybrid and lexical equal hybrid_search over the parts", "[guide][hybrid]") {
  auto embedder = embedrank::model::Embedder::open(converted_model("bert_gelu_mean"));
  embedrank::ShoppingGuideOptions options;
  options.threads = 1;
  const ShoppingGuide guide(embedder, small_catalogue(), options);
  embedrank::model::EmbedderWorkspace ws(1);
  for (const std::string query : {"acme red dress under 100", "green tea", "zenith keyboard", "item number 7"}) {
    for (const auto mode : {embedrank::rank::SearchMode::Hybrid, embedrank::rank::SearchMode::Lexical}) {
      INFO(query << " mode " << static_cast<int>(mode));
      embedrank::SearchOptions search_options;
      search_options.mode = mode;
      const embedrank::SearchAnswer answer = guide.search(query, 6, ws, search_options);
      const std::string text = answer.query.search_text.empty() ? query : answer.query.search_text;
      const auto constraints = guide.attributes().constraints(answer.query, options.attribute_policy);
      embedrank::rank::HybridOptions hybrid = options.hybrid;
      hybrid.candidates = options.search_candidates;
      hybrid.boost_weight = options.attribute_boost;
      const auto vector = embedder->embed_one(text, ws);
      const auto lexical_query = guide.lexical_index().query(text);
      const auto expected = embedrank::rank::hybrid_search(guide.index(), guide.lexical_index(), vector, lexical_query,
                                                           constraints, 6, mode, hybrid, answer.unknown_share);
      REQUIRE(!answer.results.empty());
      REQUIRE(answer.results.size() == expected.results.size());
      CHECK(answer.lexical_weight == expected.lexical_weight);
      CHECK(answer.other_script_lexical_weight == expected.other_script_lexical_weight);
      const auto cosines = guide.index().scores_of(vector, [&] {
        std::vector<std::size_t> rows;
        for (const auto& r : answer.results) rows.push_back(r.row);
        return rows;
      }());
      for (std::size_t i = 0; i < expected.results.size(); ++i) {
        CHECK(answer.results[i].id == expected.results[i].id);
        CHECK(answer.results[i].score == expected.results[i].score);
        // both scores reported, whichever list the result came from
        CHECK(answer.results[i].similarity == cosines[i]);
        CHECK(answer.results[i].lexical ==
              static_cast<float>(guide.lexical_index().score(lexical_query, answer.results[i].row)));
        if (mode == embedrank::rank::SearchMode::Lexical) CHECK(answer.results[i].lexical > 0);
      }
      if (mode == embedrank::rank::SearchMode::Lexical) CHECK(answer.lexical_weight == 1.0);
      if (query == "acme red dress under 100")  // the filters hold for both sides' results
        for (const auto& r : answer.results) {
          CHECK(guide.product(r.id).brand == "Acme");
          CHECK(guide.product(r.id).price <= 100);
        }
      for (std::size_t i = 1; i < answer.results.size(); ++i)
        CHECK(answer.results[i - 1].score >= answer.results[i].score);
    }
  }
  // "item number 7" is only in one description: lexical search puts that product first
  embedrank::SearchOptions lexical;
  lexical.mode = embedrank::rank::SearchMode::Lexical;
  CHECK(guide.search("item number 7", 3, ws, lexical).results.front().id == "P7");
  CHECK(guide.search("item number 7", 3, ws).results.front().id == "P7");
}

TEST_CASE("search: bad queries get a typed error or their documented answer", "[guide][hybrid][bad_input]") {
  auto embedder = embedrank::model::Embedder::open(converted_model("bert_gelu_mean"));
  embedrank::ShoppingGuideOptions options;
  options.threads = 1;
  const ShoppingGuide guide(embedder, small_catalogue(), options);
  embedrank::model::EmbedderWorkspace ws(1);
  embedrank::SearchOptions lexical, dense;
  lexical.mode = embedrank::rank::SearchMode::Lexical;
  dense.mode = embedrank::rank::SearchMode::Dense;
  for (const std::string& query : {std::string(), std::string("?!... ，。 ---"), std::string("the of and")}) {
    INFO("'" << query << "'");
    // no lexical terms: the lexical mode finds nothing, the hybrid ranks by the dense side
    CHECK(guide.search(query, 5, ws, lexical).results.empty());
    const auto hybrid = guide.search(query, 5, ws), by_dense = guide.search(query, 5, ws, dense);
    CHECK(hybrid.lexical_weight == 0.0);
    REQUIRE(hybrid.results.size() == 5);
    REQUIRE(by_dense.results.size() == 5);
    for (std::size_t i = 0; i < 5; ++i) CHECK(hybrid.results[i].id == by_dense.results[i].id);
  }
  std::string big;
  while (big.size() < 100 * 1024) big += "acme red dress ";
  try {
    guide.search(big, 5, ws);
    FAIL("a 100 kB query was accepted");
  } catch (const InputError& e) {
    CHECK(e.id() == "input.search.query_too_long");
  }
  CHECK(guide.search(big.substr(0, options.max_query_bytes), 5, ws).results.size() == 5);
  for (const std::string& bad : {std::string("red \xff dress"), std::string("\xe7\xba"), std::string("\xed\xa0\x80")}) {
    try {
      guide.search(bad, 5, ws);
      FAIL("invalid UTF-8 was accepted");
    } catch (const InputError& e) {
      CHECK(e.id() == "input.search.bad_utf8");
    }
  }
}

TEST_CASE("one guide serves 8 searching threads at once, each answer as when alone", "[guide][threads]") {
  // ShoppingGuide: every member function may be called from any thread. Two
  // threads of the shared pool inside, eight callers outside, each with its
  // own workspace; every mode, and recommend with the CF model.
  auto embedder = embedrank::model::Embedder::open(converted_model("bert_gelu_mean"));
  embedrank::ShoppingGuideOptions options;
  options.threads = 2;
  options.knn.min_k = 2;
  ShoppingGuide guide(embedder, small_catalogue(), options);
  guide.fit_collaborative_filtering(small_ratings());
  const std::vector<std::string> queries = {"acme red dress under 100", "running shoes", "green tea",
                                            "zenith keyboard over 50", "tent", ""};
  std::vector<embedrank::SearchOptions> modes(3);
  modes[0].mode = embedrank::rank::SearchMode::Dense;
  modes[1].mode = embedrank::rank::SearchMode::Lexical;
  modes[2].mode = embedrank::rank::SearchMode::Hybrid;
  const std::vector<embedrank::rank::HistoryItem> history = {{"P0", 2.0, 0.0}, {"P6", 1.0, 0.0}};

  auto key = [](const std::vector<embedrank::rank::SearchResult>& results) {
    std::vector<std::pair<std::string, float>> out;
    for (const auto& r : results) out.emplace_back(r.id, r.score);
    return out;
  };
  // References, on this thread alone.
  std::vector<std::vector<std::pair<std::string, float>>> expected;
  {
    embedrank::model::EmbedderWorkspace ws(1);
    for (const auto& q : queries)
      for (const auto& m : modes) expected.push_back(key(guide.search(q, 5, ws, m).results));
  }
  std::vector<std::string> expected_recommended;
  for (const auto& r : guide.recommend("u3", history, 5)) expected_recommended.push_back(r.id);
  REQUIRE(expected_recommended.size() == 5);

  constexpr int kThreads = 8;
  std::atomic<int> ready{0}, mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      embedrank::model::EmbedderWorkspace ws(1);
      ++ready;
      while (ready.load() < kThreads) std::this_thread::yield();
      for (std::size_t k = 0; k < expected.size(); ++k) {
        const std::size_t i = (k + static_cast<std::size_t>(t) * 5) % expected.size();  // threads start apart
        if (key(guide.search(queries[i / modes.size()], 5, ws, modes[i % modes.size()]).results) != expected[i])
          ++mismatches;
      }
      std::vector<std::string> recommended;
      for (const auto& r : guide.recommend("u3", history, 5)) recommended.push_back(r.id);
      if (recommended != expected_recommended) ++mismatches;
    });
  for (auto& t : threads) t.join();
  CHECK(mismatches.load() == 0);
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
