// TokenClassifier against transformers on tiny random token-classification
// checkpoints (WordPiece and SentencePiece): per-token logits, and the
// token-classification pipeline's entities for every aggregation strategy
// (references: weights_tools/make_head_models.py, tests/data/heads).

#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "embedrank/core/npy.hpp"
#include "embedrank/model/token_classifier.hpp"
#include "support/model_fixtures.hpp"

using embedrank::MatrixF;
using embedrank::model::Aggregation;
using embedrank::model::TokenClassifier;

namespace {

std::string source(const std::string& name) { return std::string(EMBEDRANK_TEST_DATA_DIR) + "/heads/" + name; }
std::string converted(const std::string& name) {
  return std::string(EMBEDRANK_TEST_WORK_DIR) + "/heads/" + name + ".f32.bin";
}

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

struct Expected {
  std::string strategy, label;
  std::size_t stride = 0, text = 0, begin = 0, end = 0;
  double score = 0;
};

// entities.tsv: STRATEGY, text, label, score, start, end;
// stride_entities.tsv: STRATEGY, stride, text, label, score, start, end.
std::vector<Expected> expected_entities(const std::string& path, bool with_stride) {
  std::vector<Expected> out;
  for (const std::string& line : lines_of(path)) {
    std::istringstream fields(line);
    Expected e;
    std::string stride, text, score, begin, end;
    std::getline(fields, e.strategy, '\t');
    if (with_stride) std::getline(fields, stride, '\t');
    std::getline(fields, text, '\t');
    std::getline(fields, e.label, '\t');
    std::getline(fields, score, '\t');
    std::getline(fields, begin, '\t');
    std::getline(fields, end, '\t');
    e.stride = with_stride ? std::stoul(stride) : 0;
    e.text = std::stoul(text);
    e.score = std::stod(score);
    e.begin = std::stoul(begin);
    e.end = std::stoul(end);
    out.push_back(e);
  }
  return out;
}

// The entities of one text against the reference's; returns how many were compared.
std::size_t check_entities(const std::vector<embedrank::model::TokenEntity>& got, const std::vector<Expected>& expected,
                           const std::string& strategy, std::size_t stride, std::size_t text) {
  std::vector<Expected> want;
  for (const Expected& e : expected)
    if (e.strategy == strategy && e.stride == stride && e.text == text) want.push_back(e);
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    CHECK(got[i].label == want[i].label);
    CHECK(got[i].begin == want[i].begin);
    CHECK(got[i].end == want[i].end);
    CHECK(std::abs(got[i].score - want[i].score) <= 1e-5);
  }
  return got.size();
}

}  // namespace

TEST_CASE("token classification matches transformers' logits and pipeline entities", "[classifier][tokens][parity]") {
  const std::pair<const char*, Aggregation> strategies[] = {{"none", Aggregation::None},
                                                            {"simple", Aggregation::Simple},
                                                            {"first", Aggregation::First},
                                                            {"average", Aggregation::Average},
                                                            {"max", Aggregation::Max}};
  for (const std::string name : {"bert_token_cls", "xlmr_token_cls"}) {
    SECTION(name) {
      auto classifier = TokenClassifier::open(converted(name));
      const auto texts = lines_of(source(name) + "/token_texts.txt");
      REQUIRE(texts.size() == 10);
      embedrank::model::EncoderWorkspace<float> ws(1);

      // logits of every token, packed in text order
      const MatrixF expected_logits = embedrank::read_npy(source(name) + "/token_logits.npy");
      Eigen::Index row = 0;
      for (const std::string& text : texts) {
        const auto [encoding, logits] = classifier->token_logits(text, ws);
        REQUIRE(row + logits.rows() <= expected_logits.rows());
        CHECK((logits - expected_logits.middleRows(row, logits.rows())).cwiseAbs().maxCoeff() <= 1e-5);
        row += logits.rows();
      }
      CHECK(row == expected_logits.rows());

      const std::vector<Expected> expected = expected_entities(source(name) + "/entities.tsv", false);
      std::size_t compared = 0;
      for (const auto& [strategy, aggregation] : strategies) {
        for (std::size_t t = 0; t < texts.size(); ++t) {
          INFO(name << " " << strategy << " text " << t << " \"" << texts[t] << "\"");
          compared += check_entities(classifier->entities(texts[t], ws, aggregation), expected, strategy, 0, t);
        }
      }
      CHECK(compared == expected.size());
    }
  }
}

TEST_CASE("entity spans carry byte offsets and their text", "[classifier][tokens]") {
  auto classifier = TokenClassifier::open(converted("bert_token_cls"));
  embedrank::model::EncoderWorkspace<float> ws(1);
  const std::string text = "红色连衣裙 red";
  for (const auto& e : classifier->entities(text, ws, Aggregation::None)) {
    CHECK(e.text == text.substr(e.byte_begin, e.byte_end - e.byte_begin));
    CHECK(embedrank::text::decode_utf8(e.text).size() == e.end - e.begin);
  }
  CHECK_THROWS_WITH(TokenClassifier::open(std::string(EMBEDRANK_TEST_WORK_DIR) + "/heads/bert_seq_cls.f32.bin"),
                    Catch::Matchers::Contains("[embedrank.format.no_head]"));
}

TEST_CASE("long texts read in strided windows match the pipeline's stride", "[classifier][tokens][parity]") {
  const std::pair<const char*, Aggregation> strategies[] = {
      {"simple", Aggregation::Simple}, {"first", Aggregation::First}, {"average", Aggregation::Average},
      {"max", Aggregation::Max}};
  for (const std::string name : {"bert_token_cls", "xlmr_token_cls"}) {
    SECTION(name) {
      auto classifier = TokenClassifier::open(converted(name));
      const auto texts = lines_of(source(name) + "/stride_texts.txt");
      REQUIRE(texts.size() == 3);
      embedrank::model::EncoderWorkspace<float> ws(1);
      const std::vector<Expected> expected = expected_entities(source(name) + "/stride_entities.tsv", true);
      REQUIRE(!expected.empty());
      std::size_t compared = 0;
      for (const auto& [strategy, aggregation] : strategies) {
        for (std::size_t stride : {4u, 10u}) {
          for (std::size_t t = 0; t < texts.size(); ++t) {
            INFO(name << " " << strategy << " stride " << stride << " text " << t);
            compared += check_entities(classifier->entities(texts[t], ws, aggregation, stride), expected, strategy,
                                       stride, t);
          }
        }
      }
      CHECK(compared == expected.size());
      // entities reach past the first window's end
      std::size_t last_end = 0;
      for (const auto& e : classifier->entities(texts[0], ws, Aggregation::Simple, 4)) last_end = std::max(last_end, e.end);
      CHECK(last_end > classifier->entities(texts[0], ws, Aggregation::Simple).back().end);
      // a stride without aggregation, or one that leaves no new tokens, is refused
      CHECK_THROWS_WITH(classifier->entities(texts[0], ws, Aggregation::None, 4),
                        Catch::Matchers::Contains("[embedrank.input.tokens.bad_stride]"));
      CHECK_THROWS_WITH(classifier->entities(texts[0], ws, Aggregation::Simple, 22),
                        Catch::Matchers::Contains("[embedrank.input.tokens.bad_stride]"));
    }
  }
}
