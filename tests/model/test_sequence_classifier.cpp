// SequenceClassifier against transformers and sentence-transformers on the
// tiny sequence-classification checkpoints of every family and a CrossEncoder
// folder (references: weights_tools/make_head_models.py, tests/data/heads).

#include <catch2/catch.hpp>

#include <fstream>

#include "embedrank/core/npy.hpp"
#include "embedrank/model/sequence_classifier.hpp"
#include "support/model_fixtures.hpp"

using embedrank::MatrixF;
using embedrank::model::SequenceClassifier;

namespace {

const std::vector<std::string> kHeadModels = {"bert_seq_cls", "xlmr_seq_multilabel", "distilbert_seq_regression",
                                              "mpnet_seq_cls", "bert_cross_encoder"};

std::string head_source(const std::string& name) { return std::string(EMBEDRANK_TEST_DATA_DIR) + "/heads/" + name; }

std::string head_model(const std::string& name, const std::string& dtype = "f32") {
  return std::string(EMBEDRANK_TEST_WORK_DIR) + "/heads/" + name + "." + dtype + ".bin";
}

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<std::pair<std::string, std::string>> read_pairs(const std::string& name) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const std::string& line : read_lines(head_source(name) + "/pairs.tsv")) {
    const std::size_t tab = line.find('\t');
    pairs.emplace_back(line.substr(0, tab), line.substr(tab + 1));
  }
  return pairs;
}

double max_abs_diff(const MatrixF& a, const MatrixF& b) {
  REQUIRE(a.rows() == b.rows());
  REQUIRE(a.cols() == b.cols());
  return (a - b).cwiseAbs().maxCoeff();
}

// softmax over each row of the committed transformers logits (texts.txt), in
// double: the probabilities the text-classification pipeline gives.
MatrixF reference_softmax(const std::string& name) {
  const MatrixF logits = embedrank::read_npy(head_source(name) + "/logits.npy");  // (texts, labels)
  MatrixF p(logits.rows(), logits.cols());
  for (Eigen::Index r = 0; r < logits.rows(); ++r) {
    const Eigen::VectorXd row = logits.row(r).cast<double>().transpose();
    const Eigen::VectorXd e = (row.array() - row.maxCoeff()).exp();  // the row max out first, for stability
    p.row(r) = (e / e.sum()).cast<float>().transpose();
  }
  return p;
}

}  // namespace

TEST_CASE("sequence-classification logits match transformers for texts and pairs", "[classifier][parity]") {
  for (const std::string& name : kHeadModels) {
    SECTION(name) {
      auto classifier = SequenceClassifier::open(head_model(name));
      const auto texts = read_lines(head_source(name) + "/texts.txt");
      const auto pairs = read_pairs(name);
      REQUIRE(texts.size() == 10);
      embedrank::model::EncoderWorkspace<float> ws(2);
      for (const std::size_t batch : {std::size_t{3}, std::size_t{32}}) {
        const double text_diff = max_abs_diff(classifier->logits(texts, ws, batch),
                                              embedrank::read_npy(head_source(name) + "/logits.npy"));
        const double pair_diff = max_abs_diff(classifier->pair_logits(pairs, ws, batch),
                                              embedrank::read_npy(head_source(name) + "/pair_logits.npy"));
        INFO(name << " batch " << batch << ": texts " << text_diff << ", pairs " << pair_diff);
        CHECK(text_diff <= 1e-5);
        CHECK(pair_diff <= 1e-5);
      }
    }
  }
}

TEST_CASE("CrossEncoder.predict scores, with and without its activation", "[classifier][parity]") {
  auto classifier = SequenceClassifier::open(head_model("bert_cross_encoder"));
  const auto pairs = read_pairs("bert_cross_encoder");
  embedrank::model::EncoderWorkspace<float> ws(1);
  const MatrixF scores = classifier->predict(pairs, ws);
  CHECK(max_abs_diff(scores, embedrank::read_npy(head_source("bert_cross_encoder") + "/scores.npy")) <= 1e-6);
  // sigmoid of the logits: the activation CrossEncoder saved
  MatrixF logits = classifier->pair_logits(pairs, ws);
  CHECK(max_abs_diff(logits, embedrank::read_npy(head_source("bert_cross_encoder") + "/pair_logits.npy")) <= 1e-5);
  embedrank::model::apply_score_function(embedrank::model::ScoreFunction::Sigmoid, logits);
  CHECK(max_abs_diff(logits, scores) == 0.0);
}

TEST_CASE("classify follows the text-classification pipeline per problem type", "[classifier]") {
  embedrank::model::EncoderWorkspace<float> ws(1);
  const auto texts = read_lines(head_source("bert_seq_cls") + "/texts.txt");
  {  // single-label: softmax, rows sum to 1, ranked labels
    auto classifier = SequenceClassifier::open(head_model("bert_seq_cls"));
    CHECK(classifier->labels() == std::vector<std::string>{"apparel", "electronics", "home"});
    const MatrixF p = classifier->classify(texts, ws);
    for (Eigen::Index r = 0; r < p.rows(); ++r) CHECK(std::abs(p.row(r).sum() - 1.0f) < 1e-6f);
    // the softmax of transformers' logits (4e-8 measured)
    CHECK(max_abs_diff(p, reference_softmax("bert_seq_cls")) <= 1e-6);
    const auto ranked = classifier->ranked_labels(p, 0);
    REQUIRE(ranked.size() == 3);
    CHECK(ranked[0].score >= ranked[1].score);
    CHECK(ranked[1].score >= ranked[2].score);
  }
  {  // single-label by problem_type, another family
    auto classifier = SequenceClassifier::open(head_model("mpnet_seq_cls"));
    const auto mpnet_texts = read_lines(head_source("mpnet_seq_cls") + "/texts.txt");
    CHECK(max_abs_diff(classifier->classify(mpnet_texts, ws), reference_softmax("mpnet_seq_cls")) <= 1e-6);
  }
  {  // multi-label: sigmoid per label
    auto classifier = SequenceClassifier::open(head_model("xlmr_seq_multilabel"));
    MatrixF expected = classifier->logits(texts, ws);
    embedrank::model::apply_score_function(embedrank::model::ScoreFunction::Sigmoid, expected);
    CHECK(classifier->classify(texts, ws) == expected);
  }
  {  // regression: the logit itself
    auto classifier = SequenceClassifier::open(head_model("distilbert_seq_regression"));
    CHECK(classifier->classify(texts, ws) == classifier->logits(texts, ws));
  }
}

TEST_CASE("half and int8 classifier files stay close to the float32 logits", "[classifier][half][int8]") {
  embedrank::model::EncoderWorkspace<float> ws(1);
  for (const std::string& name : kHeadModels) {
    const auto pairs = read_pairs(name);
    const MatrixF reference = embedrank::read_npy(head_source(name) + "/pair_logits.npy");
    for (const auto& [dtype, tolerance] : {std::pair<const char*, double>{"f16", 2e-3}, {"int8", 3e-2}}) {
      INFO(name << " " << dtype);
      CHECK(max_abs_diff(SequenceClassifier::open(head_model(name, dtype))->pair_logits(pairs, ws), reference) <= tolerance);
    }
  }
}

TEST_CASE("an embedding model is not a classifier", "[classifier][bad_input]") {
  CHECK_THROWS_WITH(SequenceClassifier::open(test_support::converted_model("bert_gelu_mean")),
                    Catch::Matchers::Contains("[embedrank.format.no_head]") &&
                        Catch::Matchers::Contains("has no classification head"));
}
