// The live shop: upserts embed only new or changed texts, removals and
// compaction keep every holder (catalogue, index, attributes, CF bridge) in
// step, readers on other threads never see half an update, and a saved state
// reopens to answer bit for bit as the guide that saved it.

#include <catch2/catch.hpp>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "embedrank/shop/shopping_guide.hpp"
#include "support/model_fixtures.hpp"

using embedrank::Catalogue;
using embedrank::InputError;
using embedrank::Product;
using embedrank::ShoppingGuide;
using embedrank::ShoppingGuideOptions;
using test_support::converted_model;

namespace {

const char* const kColours[] = {"red", "blue", "green"};
const char* const kBrands[] = {"Acme", "Zenith", "Orbit"};
const char* const kThings[] = {"summer dress", "running shoes", "frying pan", "green tea", "tent", "keyboard"};

Product make_product(int i, int version = 0) {
  Product p;
  p.id = "P" + std::to_string(i);
  p.category = i % 6 < 2 ? "Clothing" : "Home";
  p.brand = kBrands[(i + version) % 3];
  p.colour = kColours[i % 3];
  p.title = p.brand + " " + p.colour + " " + kThings[(i + version) % 6];
  p.description = "item " + std::to_string(i) + (version > 0 ? " v" + std::to_string(version) : "");
  p.price = 5.0 + 10.0 * ((i + version) % 17);
  return p;
}

std::vector<Product> catalogue_of(int n) {
  std::vector<Product> products;
  for (int i = 0; i < n; ++i) products.push_back(make_product(i));
  return products;
}

embedrank::cf::Ratings ratings() {
  embedrank::cf::RatingsBuilder builder;
  for (int u = 0; u < 30; ++u)
    for (int i = 0; i < 40; ++i)
      if ((u * 7 + i * 3) % 5 < 2) builder.add("u" + std::to_string(u), "P" + std::to_string(i), 1 + (u + i) % 5);
  return builder.build();
}

ShoppingGuideOptions one_thread() {
  ShoppingGuideOptions options;
  options.threads = 1;
  options.knn.min_k = 1;
  return options;
}

const std::vector<std::string> kQueries = {"acme red dress under 100", "zenith running shoes", "green tea",
                                           "a tent for camping over 50", "blue keyboard between 20 and 90"};

// Every answer of `a` equals `b`'s bit for bit: searches (ids, scores, parsed
// attributes) and recommendations (ids, scores, explanations).
void require_same_answers(const ShoppingGuide& a, const ShoppingGuide& b) {
  embedrank::model::EmbedderWorkspace ws(1);
  for (const std::string& q : kQueries) {
    INFO(q);
    const auto x = a.search(q, 8, ws), y = b.search(q, 8, ws);
    REQUIRE(x.results.size() == y.results.size());
    for (std::size_t i = 0; i < x.results.size(); ++i) {
      CHECK(x.results[i].id == y.results[i].id);
      CHECK(x.results[i].score == y.results[i].score);
    }
    REQUIRE(x.query.attributes.size() == y.query.attributes.size());
    for (std::size_t i = 0; i < x.query.attributes.size(); ++i) {
      CHECK(x.query.attributes[i].name == y.query.attributes[i].name);
      CHECK(x.query.attributes[i].value == y.query.attributes[i].value);
    }
  }
  const std::vector<embedrank::rank::HistoryItem> history = {{"P1", 2.0, 0.0}, {"P7", 1.0, 0.0}};
  for (const char* user : {"u3", "u11", "stranger"}) {
    INFO(user);
    const auto x = a.recommend(user, history, 6), y = b.recommend(user, history, 6);
    REQUIRE(x.size() == y.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
      CHECK(x[i].id == y[i].id);
      CHECK(x[i].score == y[i].score);
      CHECK(x[i].content_score == y[i].content_score);
      CHECK((x[i].cf_score == y[i].cf_score || (std::isnan(x[i].cf_score) && std::isnan(y[i].cf_score))));
      CHECK(x[i].closest_history_id == y[i].closest_history_id);
      REQUIRE(x[i].cf_neighbors.size() == y[i].cf_neighbors.size());
      for (std::size_t n = 0; n < x[i].cf_neighbors.size(); ++n)
        CHECK(x[i].cf_neighbors[n].user_id == y[i].cf_neighbors[n].user_id);
    }
  }
}

// A guide built from scratch over the live products of `guide`, in row order.
std::unique_ptr<ShoppingGuide> fresh_copy(std::shared_ptr<const embedrank::model::Embedder> embedder,
                                          const ShoppingGuide& guide, bool with_cf) {
  std::vector<Product> live;
  guide.read([&](const Catalogue& c, const embedrank::rank::EmbeddingIndex&, const embedrank::rank::CatalogueAttributes&) {
    for (std::size_t row : c.live_rows()) live.push_back(c.product(row));
  });
  auto fresh = std::make_unique<ShoppingGuide>(std::move(embedder), live, guide.options());
  if (with_cf) fresh->fit_collaborative_filtering(ratings());
  return fresh;
}

// Holders agree: index rows are catalogue rows, attribute prices are product
// prices (a bool, for threads: Catch's assertions are for the main thread).
bool consistent(const Catalogue& c, const embedrank::rank::EmbeddingIndex& index,
                const embedrank::rank::CatalogueAttributes& attributes) {
  if (index.rows() != c.rows() || index.size() != c.size()) return false;
  for (std::size_t row = 0; row < c.rows(); ++row) {
    if (index.removed(row) != c.removed(row)) return false;
    if (c.removed(row)) continue;
    if (index.id_at(row) != c.product(row).id) return false;
    const double price = attributes.price(row);
    if (!(price == c.product(row).price || (std::isnan(price) && std::isnan(c.product(row).price)))) return false;
  }
  return true;
}

void check_consistent(const ShoppingGuide& guide) { CHECK(guide.read(consistent)); }

}  // namespace

TEST_CASE("upsert embeds only new or changed texts, and the next search sees the change", "[live]") {
  auto embedder = embedrank::model::Embedder::open(converted_model("bert_gelu_mean"));
  ShoppingGuide guide(embedder, catalogue_of(24), one_thread());
  embedrank::model::EmbedderWorkspace ws(1);

  // a new price: no embedding, and the price filter reads it at once
  Product p3 = guide.product("P3");
  p3.price = 999;
  auto report = guide.upsert({p3}, ws);
  CHECK(report.embedded == 0);
  CHECK(report.updated == 1);
  CHECK(report.added == 0);
  CHECK(guide.product("P3").price == 999);
  for (const auto& r : guide.search("frying pan over 900", 5, ws).results) CHECK(r.id == "P3");

  // a new title: that text alone is embedded, its row stays
  const std::size_t row = guide.catalogue().row_of("P4");
  Product p4 = guide.product("P4");
  p4.title = "Orbit waterproof hiking tent";
  report = guide.upsert({p4, make_product(30)}, ws);
  CHECK(report.embedded == 2);
  CHECK(report.added == 1);
  CHECK(report.changes[0].row == row);
  CHECK(report.changes[0].text_changed);
  const embedrank::VectorF expected = embedder->embed_one(guide.catalogue().text(row), ws);
  CHECK((guide.index().vector(row) - expected / expected.norm()).cwiseAbs().maxCoeff() < 1e-6f);

  // a removed product is never found again; its attributes are gone
  CHECK(guide.remove({"P30", "nope"}) == 1);
  for (const auto& q : kQueries)
    for (const auto& r : guide.search(q, 30, ws).results) CHECK(r.id != "P30");
  CHECK_THROWS_AS(guide.product("P30"), InputError);
  CHECK_THROWS_AS(guide.upsert({make_product(1), make_product(1)}, ws), InputError);
}

TEST_CASE("after upserts, removals and compaction the guide equals one built fresh", "[live]") {
  auto embedder = embedrank::model::Embedder::open(converted_model("bert_gelu_mean"));
  ShoppingGuide guide(embedder, catalogue_of(30), one_thread());
  guide.fit_collaborative_filtering(ratings());
  embedrank::model::EmbedderWorkspace ws(1);
  guide.upsert({make_product(3, 1), make_product(31), make_product(32)}, ws);
  guide.remove({"P5", "P31"});
  guide.upsert({make_product(5, 2), make_product(8, 1)}, ws);  // P5 comes back on a new row
  check_consistent(guide);
  require_same_answers(guide, *fresh_copy(embedder, guide, true));

  const embedrank::RowRemap remap = guide.compact();
  CHECK(remap.rows_after == guide.catalogue().size());
  CHECK(guide.catalogue().rows() == guide.catalogue().size());
  check_consistent(guide);
  require_same_answers(guide, *fresh_copy(embedder, guide, true));
  // the CF bridge moved with the rows: recommendations still name CF neighbours
  bool some_cf = false;
  for (const auto& r : guide.recommend("u3", {{"P1", 1.0, 0.0}}, 10)) some_cf = some_cf || !std::isnan(r.cf_score);
  CHECK(some_cf);
}

TEST_CASE("readers see the shop before or after each update, never half", "[live][threads]") {
  auto embedder = embedrank::model::Embedder::open(converted_model("bert_gelu_mean"));
  ShoppingGuide guide(embedder, catalogue_of(40), one_thread());
  guide.fit_collaborative_filtering(ratings());
  std::atomic<bool> done{false};
  std::atomic<int> reads{0}, failures{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 8; ++t) {
    readers.emplace_back([&, t] {
      embedrank::model::EmbedderWorkspace ws(1);
      for (int i = 0; !done.load() || i < 4; ++i) {
        const std::string& q = kQueries[static_cast<std::size_t>(i + t) % kQueries.size()];
        const auto answer = guide.search(q, 5, ws);
        for (std::size_t r = 1; r < answer.results.size(); ++r)
          if (!(answer.results[r - 1].score >= answer.results[r].score)) ++failures;
        if (!guide.read(consistent)) ++failures;
        if (i % 4 == 0) {
          try {
            (void)guide.recommend("u" + std::to_string(t), {{"P" + std::to_string(i % 50), 1.0, 0.0}}, 5);
          } catch (const InputError&) {
            // the history's product is not in the shop at this moment
          }
        }
        ++reads;
      }
    });
  }
  // one writer: 1,000 upserts and removals (prices, titles, new and returning products)
  std::mt19937 rng(7);
  embedrank::model::EmbedderWorkspace ws(1);
  for (int step = 0; step < 1000; ++step) {
    const int i = static_cast<int>(rng() % 50);
    if (step % 5 == 4)
      guide.remove({"P" + std::to_string(i)});
    else
      guide.upsert({make_product(i, step % 7)}, ws);
    if (step % 250 == 249) guide.compact();
  }
  guide.upsert({make_product(1), make_product(7)}, ws);  // the history require_same_answers uses
  done = true;
  for (auto& r : readers) r.join();
  CHECK(failures.load() == 0);
  CHECK(reads.load() >= 32);
  check_consistent(guide);
  require_same_answers(guide, *fresh_copy(embedder, guide, true));
}

TEST_CASE("a saved shop reopens and answers bit for bit; another model is refused", "[live][state]") {
  auto embedder = embedrank::model::Embedder::open(converted_model("bert_gelu_mean"));
  const std::string dir = std::string(EMBEDRANK_TEST_WORK_DIR) + "/shop-state";
  std::filesystem::remove_all(dir);
  for (const auto storage : {embedrank::rank::Storage::Float32, embedrank::rank::Storage::Float16}) {
    ShoppingGuideOptions options = one_thread();
    options.storage = storage;
    options.knn.k = 7;
    ShoppingGuide guide(embedder, catalogue_of(30), options);
    guide.fit_collaborative_filtering(ratings());
    guide.upsert({make_product(3, 1), make_product(33)});
    guide.remove({"P4", "P33"});  // tombstones are saved as such
    guide.save(dir);              // over the previous round's state

    const auto reopened = ShoppingGuide::open(dir, embedder, one_thread());
    CHECK(reopened->index().storage() == storage);
    CHECK(reopened->collaborative_filtering()->options().k == 7);
    CHECK(reopened->catalogue().rows() == guide.catalogue().rows());
    check_consistent(*reopened);
    require_same_answers(guide, *reopened);
    // the reopened guide is live too: its first change copies the mapped vectors
    reopened->upsert({make_product(4, 3)});
    guide.upsert({make_product(4, 3)});
    require_same_answers(guide, *reopened);
  }
  // no temporary directory is left beside the state
  for (const auto& entry : std::filesystem::directory_iterator(EMBEDRANK_TEST_WORK_DIR))
    CHECK(entry.path().filename().string().find("shop-state.tmp") == std::string::npos);

  // vectors made by another model are refused, naming both
  auto other = embedrank::model::Embedder::open(converted_model("bert_gelu_mean", "f16"));
  try {
    ShoppingGuide::open(dir, other);
    FAIL("no error");
  } catch (const embedrank::FormatError& e) {
    CHECK(e.id() == "format.shop.model_mismatch");
  }
  // a damaged state: a vectors file of the wrong size
  std::filesystem::resize_file(dir + "/vectors.f16", 100);
  CHECK_THROWS_AS(ShoppingGuide::open(dir, embedder), embedrank::FormatError);
  CHECK_THROWS_AS(ShoppingGuide::open(dir + "-missing", embedder), embedrank::FileError);
}

TEST_CASE("language centering: each script's mean leaves products and queries, and stays with the state",
          "[live][state][centering]") {
  auto embedder = embedrank::model::Embedder::open(converted_model("bert_gelu_mean"));
  std::vector<Product> products = catalogue_of(20);
  const char* const chinese[] = {"红色连衣裙 夏季", "跑步鞋 轻便", "不粘锅 炒锅", "绿茶 龙井", "帐篷 露营", "机械键盘 青轴"};
  for (int i = 0; i < 6; ++i) {
    Product p = make_product(100 + i);
    p.title = chinese[i];
    p.description = "商品 " + std::to_string(i);
    products.push_back(p);
  }
  ShoppingGuideOptions options = one_thread();
  CHECK(ShoppingGuide(embedder, products, options).language_centering().empty());  // not a multilingual model
  options.center_languages = true;
  ShoppingGuide guide(embedder, products, options);
  const embedrank::rank::LanguageCentering& centering = guide.language_centering();
  REQUIRE(!centering.empty());

  // The means are those of the products' own vectors, by script.
  std::vector<std::string> texts;
  for (std::size_t row = 0; row < guide.catalogue().rows(); ++row) texts.push_back(guide.catalogue().text(row));
  const embedrank::MatrixF raw = embedder->embed(texts, 1);
  embedrank::MatrixF expected_means = embedrank::MatrixF::Zero(2, raw.cols());
  int counts[2] = {0, 0};
  for (std::size_t row = 0; row < texts.size(); ++row) {
    const int script = row >= 20 ? 0 : 1;  // the six Chinese products are CJK, the others not
    CHECK(static_cast<int>(embedrank::rank::script_of(texts[row])) == script);
    expected_means.row(script) += raw.row(static_cast<Eigen::Index>(row));
    ++counts[script];
  }
  for (int s = 0; s < 2; ++s) expected_means.row(s) /= static_cast<float>(counts[s]);
  CHECK((centering.means() - expected_means).cwiseAbs().maxCoeff() < 1e-6f);

  // Stored vectors: the raw vector minus its script's mean, normalised.
  for (std::size_t row : {std::size_t{0}, std::size_t{21}}) {
    embedrank::VectorF v = raw.row(static_cast<Eigen::Index>(row)).transpose() -
                           expected_means.row(row >= 20 ? 0 : 1).transpose();
    v.normalize();
    CHECK((guide.index().vector(row) - v).cwiseAbs().maxCoeff() < 1e-5f);
  }
  // A Chinese query is centered by the CJK mean: its dense similarities are
  // cosines with the centered query vector.
  embedrank::model::EmbedderWorkspace ws(1);
  embedrank::SearchOptions dense;
  dense.mode = embedrank::rank::SearchMode::Dense;
  const auto answer = guide.search("红色 连衣裙", 5, ws, dense);
  embedrank::VectorF q = embedder->embed(std::vector<std::string>{answer.query.search_text}, 1).row(0).transpose() -
                         expected_means.row(0).transpose();
  q.normalize();
  REQUIRE(!answer.results.empty());
  for (const auto& r : answer.results)
    CHECK(r.similarity == Approx(guide.index().vector(guide.catalogue().row_of(r.id)).dot(q)).margin(1e-5));

  // Saved and reopened, the guide answers as before and keeps centering upserts with the saved means.
  const std::string dir = std::string(EMBEDRANK_TEST_WORK_DIR) + "/shop-state-centered";
  guide.save(dir);
  const auto reopened = ShoppingGuide::open(dir, embedder, one_thread());
  CHECK((reopened->language_centering().means() - centering.means()).cwiseAbs().maxCoeff() == 0.0f);
  require_same_answers(guide, *reopened);
  for (const char* query : {"红色 连衣裙", "绿茶"}) {
    const auto x = guide.search(query, 5, ws), y = reopened->search(query, 5, ws);
    REQUIRE(x.results.size() == y.results.size());
    for (std::size_t i = 0; i < x.results.size(); ++i) CHECK(x.results[i].score == y.results[i].score);
  }
  Product added = make_product(200);
  added.title = "蓝牙耳机 无线";
  guide.upsert({added});
  reopened->upsert({added});
  const std::size_t row = guide.catalogue().row_of("P200");
  CHECK(guide.index().vector(row) == reopened->index().vector(row));
  CHECK((reopened->language_centering().means() - centering.means()).cwiseAbs().maxCoeff() == 0.0f);

  // A damaged means file is refused.
  std::filesystem::resize_file(dir + "/language_means.f32", 12);
  CHECK_THROWS_AS(ShoppingGuide::open(dir, embedder), embedrank::FormatError);
}
