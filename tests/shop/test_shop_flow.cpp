// The README's headline flow in C++ on the sample shop (examples/data) with a
// tiny model: load the catalogue, build the guide, fit CF, search, recommend,
// update, search again. Its answers are written, scores as exact hex floats,
// to <build>/test_work/shop_flow/cpp.tsv, which tests/python/test_shop.py
// compares with the same flow through the Python package, bit for bit.

#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "embedrank/cf/ratings.hpp"
#include "embedrank/shop/shopping_guide.hpp"
#include "support/model_fixtures.hpp"

namespace {

std::string hex(double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%a", value);
  return buffer;
}

}  // namespace

TEST_CASE("the headline flow, written for the Python parity test", "[shop_flow]") {
  const std::string data = std::string(EMBEDRANK_SOURCE_DIR) + "/examples/data/";
  auto embedder = embedrank::model::Embedder::open(test_support::converted_model("bert_gelu_mean"));
  embedrank::Catalogue catalogue = embedrank::Catalogue::read({data + "catalogue.tsv", data + "attributes.tsv"});
  embedrank::ShoppingGuideOptions options;
  options.knn.min_k = 20;
  embedrank::ShoppingGuide guide(embedder, catalogue, options);
  embedrank::cf::RatingsFileOptions ratings_options;
  ratings_options.header = true;  // user, product_id, rating, day: the fourth column is ignored
  guide.fit_collaborative_filtering(embedrank::cf::read_ratings(data + "interactions.tsv", ratings_options));

  const std::string dir = std::string(EMBEDRANK_TEST_WORK_DIR) + "/shop_flow";
  std::filesystem::create_directories(dir);
  std::ofstream out(dir + "/cpp.tsv");
  embedrank::model::EmbedderWorkspace ws;
  const auto searches = [&](const std::string& stage) {
    for (const std::string query : {"pacewell running shoes under 100", "我想买一件红色的连衣裙", "green tea", "red dress"}) {
      const embedrank::SearchAnswer answer = guide.search(query, 10, ws);
      for (const auto& a : answer.query.attributes)
        out << stage << "\tattribute\t" << query << '\t' << a.name << '\t' << a.value << '\t' << a.begin << '\t' << a.end << '\n';
      out << stage << "\tsearch_text\t" << query << '\t' << answer.query.search_text << '\n';
      for (std::size_t i = 0; i < answer.results.size(); ++i)
        out << stage << "\tsearch\t" << query << '\t' << i << '\t' << answer.results[i].id << '\t'
            << hex(answer.results[i].score) << '\n';
    }
  };
  searches("before");
  const std::vector<embedrank::rank::HistoryItem> history = {{"P0044", 2.0, 0.0}, {"P0046", 1.0, 0.0}, {"P0093", 1.0, 0.0}};
  embedrank::rank::RecommendOptions recommend_options;
  recommend_options.content_weight = 0.3;
  for (const std::string user : {"u0001", "u0002", "stranger"}) {
    const auto recs = guide.recommend(user, history, 10, recommend_options);
    for (std::size_t i = 0; i < recs.size(); ++i)
      out << "before\trecommend\t" << user << '\t' << i << '\t' << recs[i].id << '\t' << hex(recs[i].score) << '\t'
          << hex(recs[i].content_score) << '\t' << hex(recs[i].cf_score) << '\t' << recs[i].closest_history_id << '\n';
  }
  // a price cut, a new title, a new product, a removal
  embedrank::Product shoes = guide.product("P0046");
  shoes.price = 19.99;
  embedrank::Product tea = guide.product("P0035");
  tea.title += " (new season)";
  embedrank::Product added;
  added.id = "N0001";
  added.title = "Pacewell Trail Runner GTX waterproof running shoes";
  added.category = "Shoes";
  added.brand = "Pacewell";
  added.colour = "black";
  added.price = 89.0;
  const embedrank::UpsertReport report = guide.upsert({shoes, tea, added}, ws);
  CHECK(report.embedded == 2);
  CHECK(guide.remove({"P0044"}) == 1);
  searches("after");
  out.close();
  CHECK(std::filesystem::file_size(dir + "/cpp.tsv") > 1000);
}
