// retrieve_then_rerank against a brute-force reference (score every
// retrieved item, sort by the final score, ties in retrieval order) on random
// data, with a scorer that has many ties; the blend with a boost; bad input.

#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "embedrank/rank/rerank.hpp"

using embedrank::VectorF;
using embedrank::rank::EmbeddingIndex;
using embedrank::rank::RerankedItem;
using embedrank::rank::RerankOptions;

namespace {

struct Fixture {
  EmbeddingIndex index{8};
  std::vector<std::string> texts;  // text of item i, id "item<i>"
  VectorF query = VectorF::Zero(8);

  explicit Fixture(std::size_t n) {
    std::mt19937 rng(11);
    std::normal_distribution<float> normal;
    for (std::size_t i = 0; i < n; ++i) {
      VectorF v(8);
      for (Eigen::Index d = 0; d < 8; ++d) v(d) = normal(rng);
      index.add("item" + std::to_string(i), v);
      texts.push_back("text of item " + std::to_string(i));
    }
    for (Eigen::Index d = 0; d < 8; ++d) query(d) = normal(rng);
  }

  std::string text_of(const std::string& id) const { return texts[std::stoul(id.substr(4))]; }
};

// A deterministic scorer with ties: 7 distinct values.
std::vector<float> tie_scorer(const std::string& query, const std::vector<std::string>& texts) {
  std::vector<float> out;
  for (const std::string& t : texts) out.push_back(static_cast<float>((std::hash<std::string>{}(query + t) % 7)) / 7.0f);
  return out;
}

}  // namespace

TEST_CASE("retrieve_then_rerank equals scoring every candidate and sorting", "[rerank]") {
  const Fixture f(200);
  const auto text_of = [&](const std::string& id) { return f.text_of(id); };
  for (const std::size_t candidates : {std::size_t{1}, std::size_t{37}, std::size_t{200}, std::size_t{500}}) {
    for (const std::size_t k : {std::size_t{1}, std::size_t{10}, candidates}) {
      if (k > candidates) continue;
      for (const std::size_t batch : {std::size_t{1}, std::size_t{16}, std::size_t{1000}}) {
        INFO("candidates " << candidates << " k " << k << " batch " << batch);
        RerankOptions options;
        options.candidates = candidates;
        options.k = k;
        options.batch_size = batch;
        const auto got = embedrank::rank::retrieve_then_rerank(f.index, f.query, "red dress", text_of, tie_scorer, options);

        // reference: the retrieved list, each scored alone, sorted by score then retrieval rank
        const auto retrieved = f.index.search(f.query, candidates);
        std::vector<RerankedItem> expected;
        for (std::size_t i = 0; i < retrieved.size(); ++i) {
          RerankedItem item;
          item.id = retrieved[i].id;
          item.retrieval_score = retrieved[i].score;
          item.retrieval_rank = i;
          item.rerank_score = item.score = tie_scorer("red dress", {f.text_of(item.id)})[0];
          expected.push_back(item);
        }
        std::sort(expected.begin(), expected.end(), [](const RerankedItem& a, const RerankedItem& b) {
          return a.score > b.score || (a.score == b.score && a.retrieval_rank < b.retrieval_rank);
        });
        expected.resize(std::min(k, expected.size()));
        REQUIRE(got.size() == expected.size());
        for (std::size_t i = 0; i < got.size(); ++i) {
          CHECK(got[i].id == expected[i].id);
          CHECK(got[i].rerank_score == expected[i].rerank_score);
          CHECK(got[i].retrieval_score == expected[i].retrieval_score);
          CHECK(got[i].retrieval_rank == expected[i].retrieval_rank);
        }
      }
    }
  }
}

TEST_CASE("a boost blends into the final score with its weight", "[rerank]") {
  const Fixture f(50);
  const auto text_of = [&](const std::string& id) { return f.text_of(id); };
  RerankOptions options;
  options.candidates = 50;
  options.k = 50;
  options.boost = [](const std::string& id) { return id == "item7" ? 10.0f : 0.0f; };
  options.boost_weight = 0.5;
  const auto got = embedrank::rank::retrieve_then_rerank(f.index, f.query, "q", text_of, tie_scorer, options);
  REQUIRE(got.size() == 50);
  CHECK(got[0].id == "item7");
  for (const RerankedItem& item : got) CHECK(item.score == 0.5f * item.rerank_score + 0.5f * item.boost);
  for (std::size_t i = 1; i < got.size(); ++i) CHECK(got[i - 1].score >= got[i].score);
}

TEST_CASE("bad rerank input gets typed errors", "[rerank][bad_input]") {
  const Fixture f(20);
  const auto text_of = [&](const std::string& id) { return f.text_of(id); };
  RerankOptions options;
  options.candidates = 10;
  options.k = 5;
  CHECK_THROWS_WITH(embedrank::rank::retrieve_then_rerank(f.index, f.query, "", text_of, tie_scorer, options),
                    Catch::Matchers::Contains("[embedrank.input.rerank.empty_query]"));
  options.k = 11;
  CHECK_THROWS_WITH(embedrank::rank::retrieve_then_rerank(f.index, f.query, "q", text_of, tie_scorer, options),
                    Catch::Matchers::Contains("k = 11 must be in 1..candidates (10)"));
  options.k = 5;
  options.boost_weight = 0.5;
  CHECK_THROWS_WITH(embedrank::rank::retrieve_then_rerank(f.index, f.query, "q", text_of, tie_scorer, options),
                    Catch::Matchers::Contains("no boost function"));
  options.boost_weight = 0.0;
  const auto short_scorer = [](const std::string&, const std::vector<std::string>& texts) {
    return std::vector<float>(texts.size() - 1, 0.0f);
  };
  CHECK_THROWS_WITH(embedrank::rank::retrieve_then_rerank(f.index, f.query, "q", text_of, short_scorer, options),
                    Catch::Matchers::Contains("[embedrank.input.rerank.bad_scorer]"));
  // a NaN score ranks last
  const auto nan_first = [](const std::string&, const std::vector<std::string>& texts) {
    std::vector<float> s(texts.size(), 1.0f);
    s[0] = std::numeric_limits<float>::quiet_NaN();
    return s;
  };
  options.batch_size = 100;
  options.k = 10;
  const auto got = embedrank::rank::retrieve_then_rerank(f.index, f.query, "q", text_of, nan_first, options);
  CHECK(got.back().retrieval_rank == 0);
}
