// Embedder end to end (text in, vector out) against sentence-transformers'
// encode() on the committed tiny models: WordPiece (BERT, DistilBERT) and
// SentencePiece (XLM-R), every pooling mode sentence-transformers has.

#include <catch2/catch.hpp>

#include <fstream>
#include <thread>

#include "embedrank/model/embedder.hpp"
#include "support/model_fixtures.hpp"
#include "support/raw_model_file.hpp"

using embedrank::MatrixF;
using embedrank::model::Embedder;
using test_support::converted_model;
using test_support::model_source_dir;

namespace {

std::vector<std::string> read_texts(const std::string& name) {
  std::ifstream in(model_source_dir(name) + "/texts.txt");
  std::vector<std::string> texts;
  for (std::string line; std::getline(in, line);) texts.push_back(line);
  return texts;
}

// Models whose references include sentence-transformers' encode() output
// (bert_st_saved: a folder as sentence-transformers 6.x saves it, its
// sequence length in tokenizer_config.json).
const std::vector<std::string> kTextModels = {
    "bert_gelu_mean",       "bert_gelu_new_cls",   "bert_relu_max_mean", "bert_silu_mean_sqrt_len",
    "bert_gelu_pytorch_tanh_cls_mean", "xlmr_gelu_mean", "distilbert_gelu_mean", "distilbert_relu_cls",
    "bert_st_saved", "mpnet_gelu_mean", "mpnet_relu_cls"};

}  // namespace

TEST_CASE("embed(texts) matches sentence-transformers encode()", "[embedder][parity]") {
  for (const auto& name : kTextModels) {
    SECTION(name) {
      auto embedder = Embedder::open(converted_model(name));
      const auto texts = read_texts(name);
      REQUIRE(texts.size() == 10);
      const MatrixF expected = test_support::reference_array(name, "text_embeddings");
      const MatrixF got = embedder->embed(texts, 2);
      REQUIRE(got.rows() == expected.rows());
      REQUIRE(got.cols() == expected.cols());
      for (Eigen::Index i = 0; i < got.rows(); ++i) {
        const double diff = (got.row(i) - expected.row(i)).cwiseAbs().maxCoeff();
        INFO(name << " text " << i << " \"" << texts[static_cast<std::size_t>(i)] << "\" max abs diff " << diff);
        CHECK(diff <= 1e-5);
      }
    }
  }
}

TEST_CASE("embedder preprocessing and truncation follow sentence-transformers", "[embedder]") {
  auto embedder = Embedder::open(converted_model("bert_gelu_mean"));
  CHECK(embedder->preprocess("  red dress\t\n") == "red dress");
  CHECK(embedder->preprocess("\x1f red \xe3\x80\x80") == "red");  // U+001F and ideographic space strip in Python
  CHECK(embedder->preprocess("") == "");
  std::string long_text;
  for (int i = 0; i < 40; ++i) long_text += "red ";
  const auto batch = embedder->tokenize({long_text, "", "red"}, 0, 3);
  CHECK(batch.length(0) == embedder->max_seq_length());
  CHECK(batch.length(1) == 2);  // [CLS] [SEP]
  CHECK(embedder->dimension() == 32);
}

TEST_CASE("do_lower_case lowercases as Python's str.lower", "[embedder]") {
  auto raw = test_support::RawModelFile::from(*embedrank::io::WeightFile::open(converted_model("bert_gelu_mean")));
  raw.set_metadata("embedder.do_lower_case", true);
  const std::string path = raw.write(std::string(EMBEDRANK_TEST_WORK_DIR) + "/lower_case.bin");
  auto embedder = Embedder::open(path);
  // Final sigma and the dotted capital I, exactly as Python 3 lowercases them.
  CHECK(embedder->preprocess("  \u039F\u0394\u039F\u03A3 \u0130stanbul STRASSE ") ==
        "\u03BF\u03B4\u03BF\u03C2 i\u0307stanbul strasse");
}

TEST_CASE("batch size and thread count do not change embeddings", "[embedder][threads]") {
  auto embedder = Embedder::open(converted_model("xlmr_gelu_mean"));
  const auto texts = read_texts("xlmr_gelu_mean");
  const MatrixF reference = embedder->embed(texts, 1);
  for (std::size_t batch_size : {1, 3, 64}) {
    embedrank::model::EmbedOptions options;
    options.batch_size = batch_size;
    embedrank::model::EmbedderWorkspace ws(2);
    INFO("batch size " << batch_size);
    CHECK((embedder->embed(texts, ws, options) - reference).cwiseAbs().maxCoeff() <= 1e-6);
  }
  // One embedder shared by eight threads at once, each with its own workspace.
  std::vector<MatrixF> results(8);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < results.size(); ++t)
    threads.emplace_back([&, t] {
      embedrank::model::EmbedderWorkspace ws(1);
      for (int repeat = 0; repeat < 5; ++repeat) results[t] = embedder->embed(texts, ws);
    });
  for (auto& t : threads) t.join();
  for (const auto& r : results) CHECK((r - reference).cwiseAbs().maxCoeff() == 0.0);
}

TEST_CASE("a pooling override changes width and normalisation", "[embedder][pooling]") {
  auto embedder = Embedder::open(converted_model("bert_gelu_mean"));
  embedrank::model::EmbedOptions options;
  options.pooling = embedrank::model::PoolingConfig{{embedrank::nn::PoolingMode::Cls, embedrank::nn::PoolingMode::Max}, false};
  embedrank::model::EmbedderWorkspace ws(1);
  const MatrixF e = embedder->embed({"red dress", "blue shoes"}, ws, options);
  CHECK(e.cols() == 64);
  CHECK(std::abs(e.row(0).norm() - 1.0f) > 1e-3f);
}

TEST_CASE("a model file without a tokenizer cannot make an Embedder", "[embedder][bad_input]") {
  // bert_gelu_fast_pooler carries a tokenizer; strip it by rewriting the file without tokenizer.* keys.
  auto file = embedrank::io::WeightFile::open(converted_model("bert_gelu_fast_pooler"));
  embedrank::io::Metadata without("no_tokenizer");
  for (const auto& kv : file->metadata().values())
    if (kv.first.rfind("tokenizer.", 0) != 0) std::visit([&](const auto& v) { without.set(kv.first, v); }, kv.second);
  CHECK_THROWS_AS(embedrank::text::Tokenizer::from_metadata(without), embedrank::FormatError);
}
