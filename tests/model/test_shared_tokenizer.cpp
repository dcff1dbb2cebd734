// One Tokenizer shared by many threads (text/tokenizer.hpp: a Tokenizer is
// immutable): each thread's encodings equal those made alone. Here, in the
// model tests, because the tokenizers come from the converted model files;
// scripts/test.sh runs it under ThreadSanitizer ([threads]).

#include <catch2/catch.hpp>

#include <atomic>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "embedrank/model/embedder.hpp"
#include "support/model_fixtures.hpp"

using embedrank::text::EncodeOptions;
using embedrank::text::Encoding;

namespace {

bool same(const Encoding& a, const Encoding& b) {
  return a.ids == b.ids && a.type_ids == b.type_ids && a.tokens == b.tokens && a.offsets == b.offsets &&
         a.byte_offsets == b.byte_offsets && a.special_tokens_mask == b.special_tokens_mask;
}

}  // namespace

TEST_CASE("one tokenizer serves 8 threads at once, each encoding as when alone", "[tokenizer][threads]") {
  constexpr int kThreads = 8;
  // WordPiece, SentencePiece unigram and MPNet's template
  for (const char* name : {"bert_gelu_mean", "xlmr_gelu_mean", "mpnet_gelu_mean"}) {
    CAPTURE(name);
    const auto embedder = embedrank::model::Embedder::open(test_support::converted_model(name));
    const embedrank::text::Tokenizer& tokenizer = embedder->tokenizer();
    std::vector<std::string> texts;
    {
      std::ifstream in(test_support::model_source_dir(name) + "/texts.txt");
      for (std::string line; std::getline(in, line);) texts.push_back(line);
    }
    texts.push_back("Ünïcödé Straße 東京 \xF0\x9F\x91\x9F running-shoes 42.5cm");
    REQUIRE(texts.size() >= 2);
    EncodeOptions all;
    all.tokens = true;
    all.offsets = true;
    EncodeOptions bare;
    bare.add_special_tokens = false;
    bare.max_length = 6;

    // References, on this thread alone: single texts, pairs, truncated bare encodings.
    std::vector<Encoding> singles, pairs, truncated;
    for (std::size_t i = 0; i < texts.size(); ++i) {
      singles.push_back(tokenizer.encode(texts[i], all));
      pairs.push_back(tokenizer.encode_pair(texts[i], texts[(i + 1) % texts.size()], all));
      truncated.push_back(tokenizer.encode(texts[i], bare));
    }

    std::atomic<int> ready{0}, mismatches{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&, t] {
        ++ready;
        while (ready.load() < kThreads) std::this_thread::yield();
        for (int round = 0; round < 3; ++round)
          for (std::size_t k = 0; k < texts.size(); ++k) {
            const std::size_t i = (k + static_cast<std::size_t>(t)) % texts.size();  // threads start apart
            if (!same(tokenizer.encode(texts[i], all), singles[i])) ++mismatches;
            if (!same(tokenizer.encode_pair(texts[i], texts[(i + 1) % texts.size()], all), pairs[i])) ++mismatches;
            if (!same(tokenizer.encode(texts[i], bare), truncated[i])) ++mismatches;
          }
      });
    for (auto& t : threads) t.join();
    CHECK(mismatches.load() == 0);
  }
}
