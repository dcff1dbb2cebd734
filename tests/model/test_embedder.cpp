// Embedder end to end (text in, vector out) against sentence-transformers'
// encode() on the committed tiny models: WordPiece (BERT, DistilBERT) and
// SentencePiece (XLM-R), every pooling mode sentence-transformers has.

#include <catch2/catch.hpp>

#include <fstream>
#include <thread>

#include "embedrank/model/embedder.hpp"
#include "support/model_fixtures.hpp"
#include "support/raw_model_file.hpp"
#include "support/scratch_dir.hpp"

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
  const std::string path = raw.write(embedrank_test::scratch_dir() + "/lower_case.bin");
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

TEST_CASE("prompts are prepended as sentence-transformers does, and count toward truncation", "[embedder][prompts]") {
  // bert_st_saved carries "query: " (its default), "passage: ", "" and an
  // instruction of more tokens than its max_seq_length of 16
  auto embedder = Embedder::open(converted_model("bert_st_saved"));
  REQUIRE(embedder->default_prompt_name() == "query");
  REQUIRE(embedder->prompts().size() == 4);
  CHECK(embedder->prompts().at("passage") == "passage: ");
  const auto texts = read_texts("bert_st_saved");
  embedrank::model::EmbedderWorkspace ws(2);
  const auto check_rows = [&](const MatrixF& got, const MatrixF& expected, const std::string& what) {
    REQUIRE(got.rows() == expected.rows());
    for (Eigen::Index i = 0; i < got.rows(); ++i) {
      INFO(what << " text " << i << " \"" << texts[static_cast<std::size_t>(i)] << "\"");
      CHECK((got.row(i) - expected.row(i)).cwiseAbs().maxCoeff() <= 1e-5);
    }
  };
  for (const std::string name : {"query", "passage", "document", "instruction"})
    check_rows(embedder->embed(texts, name, ws), test_support::reference_array("bert_st_saved", "text_embeddings." + name),
               "prompt " + name);
  // no name: the default prompt; "" or an explicit empty prompt: none
  check_rows(embedder->embed(texts, ws), test_support::reference_array("bert_st_saved", "text_embeddings"), "default");
  embedrank::model::EmbedOptions none;
  none.prompt = "";
  check_rows(embedder->embed(texts, ws, none), test_support::reference_array("bert_st_saved", "text_embeddings.document"),
             "explicit empty prompt");
  embedrank::model::EmbedOptions explicit_prompt;
  explicit_prompt.prompt = "passage: ";
  check_rows(embedder->embed(texts, ws, explicit_prompt),
             test_support::reference_array("bert_st_saved", "text_embeddings.passage"), "explicit prompt");

  // the instruction alone fills the 16 tokens: every text is truncated
  embedrank::model::EmbedReport report;
  embedrank::model::EmbedOptions instruction;
  instruction.prompt_name = "instruction";
  instruction.report = &report;
  embedder->embed(texts, ws, instruction);
  CHECK(report.truncated.size() == texts.size());

  embedrank::model::EmbedOptions unknown;
  unknown.prompt_name = "title";
  CHECK_THROWS_WITH(embedder->embed(texts, ws, unknown),
                    Catch::Matchers::Contains("prompt name 'title' is not one of the model's prompts (document, "
                                              "instruction, passage, query)"));
}

TEST_CASE("truncation is reported, never silent", "[embedder][long_texts]") {
  auto embedder = Embedder::open(converted_model("bert_gelu_mean"));  // max_seq_length 24
  std::string long_text;
  for (int i = 0; i < 40; ++i) long_text += "red ";
  std::string exactly_full;  // 22 words + [CLS] [SEP] = 24 tokens: fits
  for (int i = 0; i < 22; ++i) exactly_full += "red ";
  embedrank::model::EmbedReport report;
  embedrank::model::EmbedOptions options;
  options.report = &report;
  options.batch_size = 2;
  embedrank::model::EmbedderWorkspace ws(1);
  embedder->embed({"red dress", long_text, exactly_full, long_text + "blue", ""}, ws, options);
  CHECK(report.truncated == std::vector<std::size_t>{1, 3});
  CHECK(report.chunked.empty());
  CHECK(report.windows == 5);
}

TEST_CASE("chunking embeds a long text as overlapping windows, token-weighted", "[embedder][long_texts]") {
  auto embedder = Embedder::open(converted_model("bert_gelu_mean"));  // mean pooling + normalize, max_seq_length 24
  const auto& tokenizer = embedder->tokenizer();
  const auto& encoder = embedder->encoder();
  std::string long_text;
  const char* words[] = {"red", "blue", "dress", "shoe", "summer", "cotton", "shirt"};
  for (int i = 0; i < 61; ++i) long_text += std::string(words[i % 7]) + " ";
  const std::vector<std::string> texts{"red summer dress", long_text, "blue cotton shirt"};

  for (const std::size_t stride : {std::size_t{22}, std::size_t{10}, std::size_t{1}}) {
    INFO("stride " << stride);
    // the formula, step by step: windows of 22 content tokens every `stride`
    // tokens, each pooled without normalisation, weighted by its tokens
    embedrank::text::EncodeOptions content_only;
    content_only.add_special_tokens = false;
    const std::vector<std::int32_t> ids = tokenizer.encode(long_text, content_only).ids;
    REQUIRE(ids.size() == 61);
    embedrank::model::TokenBatch windows;
    for (std::size_t start = 0;; start += stride) {
      const std::size_t stop = std::min(ids.size(), start + 22);
      const auto e = tokenizer.encode_ids({ids.begin() + static_cast<std::ptrdiff_t>(start),
                                           ids.begin() + static_cast<std::ptrdiff_t>(stop)}, {});
      windows.add(e.ids, e.type_ids);
      if (stop == ids.size()) break;
    }
    embedrank::model::PoolingConfig unnormalized = encoder.pooling();
    unnormalized.normalize = false;
    const MatrixF pooled = encoder.pool(encoder.forward(windows, 1), windows, unnormalized);
    Eigen::VectorXd sum = Eigen::VectorXd::Zero(pooled.cols());
    double tokens = 0;
    for (std::size_t w = 0; w < windows.size(); ++w) {
      sum += static_cast<double>(windows.length(w)) * pooled.row(static_cast<Eigen::Index>(w)).cast<double>().transpose();
      tokens += static_cast<double>(windows.length(w));
    }
    const Eigen::VectorXd expected = (sum / tokens).normalized();

    const MatrixF plain = embedder->embed(texts, 1);
    for (const std::size_t batch_size : {std::size_t{1}, std::size_t{3}, std::size_t{32}}) {
      embedrank::model::EmbedReport report;
      embedrank::model::EmbedOptions options;
      options.chunk_stride = stride;
      options.batch_size = batch_size;
      options.report = &report;
      const MatrixF got = embedder->embed(texts, 2, options);
      CHECK(report.chunked == std::vector<std::size_t>{1});
      CHECK(report.truncated.empty());
      CHECK(report.windows == windows.size() + 2);
      CHECK((got.row(1).cast<double>().transpose() - expected).cwiseAbs().maxCoeff() < 1e-6);
      // texts that fit one window keep their ordinary embedding, bit for bit
      CHECK(got.row(0) == plain.row(0));
      CHECK(got.row(2) == plain.row(2));
    }
  }
  embedrank::model::EmbedOptions gaps;
  gaps.chunk_stride = 23;
  CHECK_THROWS_WITH(embedder->embed(texts, 1, gaps), Catch::Matchers::Contains("chunk stride 23 leaves gaps"));
}
