// What a caller may feed the encoder: each invalid input gets an InputError
// naming the sequence, position and value; empty batches and truncation on
// request are defined; concurrent use of one encoder is safe.

#include <catch2/catch.hpp>

#include <thread>

#include "embedrank/model/transformer_encoder.hpp"
#include "support/model_fixtures.hpp"

using embedrank::InputError;
using embedrank::MatrixF;
using embedrank::model::TokenBatch;
using embedrank::model::TransformerEncoder;

namespace {

std::string input_error(const TransformerEncoder<float>& encoder, const TokenBatch& batch) {
  try {
    encoder.forward(batch, 1);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("invalid token batches get typed errors naming the culprit", "[encoder][bad_input]") {
  auto encoder = TransformerEncoder<float>::open(test_support::converted_model("bert_gelu_mean"));
  const auto& config = encoder->config();
  TokenBatch batch;
  batch.add({2, 10, 3});

  SECTION("id outside the vocabulary") {
    batch.add({2, static_cast<std::int32_t>(config.vocab_size), 3});
    const std::string message = input_error(*encoder, batch);
    CHECK_THAT(message, Catch::Matchers::Contains("token_out_of_vocab"));
    CHECK_THAT(message, Catch::Matchers::Contains("sequence 1 position 1"));
    CHECK_THAT(message, Catch::Matchers::Contains("120"));
  }
  SECTION("negative id") {
    batch.add({-5});
    CHECK_THAT(input_error(*encoder, batch), Catch::Matchers::Contains("token id -5"));
  }
  SECTION("empty sequence") {
    batch.add({});
    CHECK_THAT(input_error(*encoder, batch), Catch::Matchers::Contains("sequence 1 is empty"));
  }
  SECTION("sequence longer than the positions") {
    batch.add(std::vector<std::int32_t>(static_cast<std::size_t>(config.max_positions()) + 1, 7));
    const std::string message = input_error(*encoder, batch);
    CHECK_THAT(message, Catch::Matchers::Contains("sequence_too_long"));
    CHECK_THAT(message, Catch::Matchers::Contains("25 tokens"));
  }
  SECTION("token type outside the type vocabulary") {
    batch.add({2, 3}, {0, 2});
    CHECK_THAT(input_error(*encoder, batch), Catch::Matchers::Contains("token type 2"));
  }
  SECTION("type ids of the wrong length") {
    CHECK_THROWS_AS(batch.add({2, 3}, {0}), InputError);
    CHECK(batch.size() == 1);  // nothing was added
  }
  SECTION("truncation when the caller asks for it") {
    batch.add(std::vector<std::int32_t>(100, 7), {}, static_cast<std::size_t>(config.max_positions()));
    CHECK(batch.length(1) == static_cast<std::size_t>(config.max_positions()));
    CHECK(encoder->forward(batch, 1).rows() == 3 + config.max_positions());
  }
  SECTION("an empty batch gives an empty result") {
    const TokenBatch empty;
    CHECK(encoder->forward(empty, 1).rows() == 0);
    CHECK(encoder->pool(encoder->forward(empty, 1), empty).rows() == 0);
  }
}

TEST_CASE("DistilBERT and RoBERTa refuse token types they do not have", "[encoder][bad_input]") {
  auto distil = TransformerEncoder<float>::open(test_support::converted_model("distilbert_gelu_mean"));
  TokenBatch batch;
  batch.add({2, 3}, {0, 1});
  CHECK_THAT(input_error(*distil, batch), Catch::Matchers::Contains("token type 1 is outside [0, 1)"));
  auto roberta = TransformerEncoder<float>::open(test_support::converted_model("xlmr_gelu_mean"));
  CHECK(roberta->config().max_positions() == 24);  // 26 rows minus padding_idx + 1
}

TEST_CASE("one encoder serves many threads at once", "[encoder][threads]") {
  auto encoder = TransformerEncoder<float>::open(test_support::converted_model("bert_gelu_new_cls"));
  const TokenBatch batch = test_support::reference_batch("bert_gelu_new_cls");
  const MatrixF expected = encoder->forward(batch, 1);
  std::vector<double> worst(6, 0.0);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < worst.size(); ++t)
    threads.emplace_back([&, t] {
      embedrank::model::EncoderWorkspace<float> ws(1 + static_cast<int>(t % 2));
      for (int repeat = 0; repeat < 20; ++repeat)
        worst[t] = std::max(worst[t], static_cast<double>((encoder->forward(batch, ws) - expected).cwiseAbs().maxCoeff()));
    });
  for (auto& t : threads) t.join();
  for (double w : worst) CHECK(w == 0.0);
}
