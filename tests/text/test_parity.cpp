// Token ids, type ids and attention masks against the Hugging Face fast
// tokenizer on the committed corpus (tests/data/text/*.ref.tsv).
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "text/fixtures.hpp"

using embedrank::test::ReferenceCase;

namespace {

struct ParityCount {
  std::size_t cases = 0, equal = 0;
  std::vector<std::string> first_differences;
};

ParityCount compare_all(const std::string& name) {
  const std::vector<std::string> corpus = embedrank::test::read_corpus();
  const auto tokenizer = embedrank::text::Tokenizer::from_metadata(embedrank::test::read_metadata(name));
  ParityCount count;
  for (const ReferenceCase& c : embedrank::test::read_references(name)) {
    ++count.cases;
    REQUIRE_FALSE(c.refused);
    const auto encoding = embedrank::test::encode_case(tokenizer, corpus, c);
    if (encoding.ids == c.ids && encoding.type_ids == c.type_ids && encoding.attention_mask == c.attention_mask) {
      ++count.equal;
      continue;
    }
    if (count.first_differences.size() < 10) {
      count.first_differences.push_back("line " + std::to_string(c.a) + " / " + std::to_string(c.b) +
                                        " max_length " + std::to_string(c.max_length) + "\n  ours:      " +
                                        embedrank::test::join_ids(encoding.ids) + "\n  reference: " +
                                        embedrank::test::join_ids(c.ids));
    }
  }
  return count;
}

}  // namespace

TEST_CASE("the corpus covers at least 2000 texts", "[parity]") {
  CHECK(embedrank::test::read_corpus().size() >= 2000);
}

TEST_CASE("WordPiece matches the fast tokenizer on every corpus case", "[parity][wordpiece]") {
  // mpnet_tiny: MPNet's WordPiece tokenizer with RobertaProcessing specials
  for (const std::string name : {"minilm_uncased", "minilm_cased", "minilm_flags", "mpnet_tiny"}) {
    SECTION(name) {
      const ParityCount count = compare_all(name);
      for (const std::string& d : count.first_differences) UNSCOPED_INFO(d);
      CHECK(count.cases >= embedrank::test::read_corpus().size());
      CHECK(count.equal == count.cases);
    }
  }
}

TEST_CASE("SentencePiece matches XLMRobertaTokenizerFast on every corpus case", "[parity][sentencepiece]") {
  // xlmr_ws: the whitespace_split pipeline (a tokenizer.json transformers 5 saved)
  for (const std::string name : {"xlmr_tiny", "xlmr_ws"}) {
    SECTION(name) {
      const ParityCount count = compare_all(name);
      for (const std::string& d : count.first_differences) UNSCOPED_INFO(d);
      CHECK(count.cases >= embedrank::test::read_corpus().size());
      CHECK(count.equal == count.cases);
    }
  }
}

TEST_CASE("token offsets equal the fast tokenizer's offset_mapping on every corpus case", "[parity][offsets]") {
  // character offsets against the reference; byte offsets are the same
  // characters' UTF-8 positions; asking for offsets leaves the ids alone
  const std::vector<std::string> corpus = embedrank::test::read_corpus();
  for (const std::string name : {"minilm_uncased", "minilm_cased", "minilm_flags", "xlmr_tiny", "xlmr_ws", "mpnet_tiny"}) {
    SECTION(name) {
      const auto tokenizer = embedrank::text::Tokenizer::from_metadata(embedrank::test::read_metadata(name));
      const std::vector<ReferenceCase> cases = embedrank::test::read_references(name);
      const auto expected = embedrank::test::read_reference_offsets(name);
      REQUIRE(expected.size() == cases.size());
      std::size_t equal = 0, shown = 0;
      for (std::size_t i = 0; i < cases.size(); ++i) {
        const ReferenceCase& c = cases[i];
        const auto encoding = embedrank::test::encode_case(tokenizer, corpus, c, /*offsets=*/true);
        REQUIRE(encoding.ids == c.ids);
        REQUIRE(encoding.offsets.size() == encoding.ids.size());
        REQUIRE(encoding.byte_offsets.size() == encoding.ids.size());
        if (c.b < 0) {  // a single text: byte offsets are its characters' UTF-8 positions
          const std::string& text = corpus[static_cast<std::size_t>(c.a)];
          std::vector<std::size_t> position;  // byte position of each character, and the end
          for (std::size_t i = 0; i < text.size();) {
            position.push_back(i);
            embedrank::text::decode_utf8(text, i);
          }
          position.push_back(text.size());
          for (std::size_t t = 0; t < encoding.offsets.size(); ++t) {
            const auto [begin, end] = encoding.offsets[t];
            REQUIRE(end < position.size());
            CHECK(encoding.byte_offsets[t] == embedrank::text::TokenOffset{position[begin], position[end]});
          }
        }
        if (encoding.offsets == expected[i]) {
          ++equal;
        } else if (shown++ < 10) {
          std::string ours, theirs;
          for (const auto& o : encoding.offsets) ours += std::to_string(o.first) + "," + std::to_string(o.second) + " ";
          for (const auto& o : expected[i]) theirs += std::to_string(o.first) + "," + std::to_string(o.second) + " ";
          UNSCOPED_INFO("line " << c.a << " / " << c.b << " max_length " << c.max_length << "\n  ours:      " << ours
                                << "\n  reference: " << theirs);
        }
      }
      CHECK(equal == cases.size());
    }
  }
}

TEST_CASE("Every tokenizer matches the fast tokenizer on every Unicode scalar value", "[parity][unicode]") {
  // tests/data/text/<name>.codepoints.tsv: per block of 4096 code points the
  // reference's id count and FNV-1a 64 hash of "a<c>b a<c>b ..." encoded;
  // SentencePiece: "a<c>b ²<c> a<c>b ²<c> ...", where a cluster "²" + mark is
  // shorter than 6 bytes and so mapped as a whole by the Precompiled normalizer.
  for (const std::string name : {"minilm_uncased", "minilm_cased", "minilm_flags", "xlmr_tiny"}) {
    SECTION(name) {
      const auto tokenizer = embedrank::text::Tokenizer::from_metadata(embedrank::test::read_metadata(name));
      std::size_t blocks = 0, equal = 0;
      std::vector<std::int32_t> ids;
      for (const std::string& line : embedrank::test::read_lines(embedrank::test::text_data_path(name + ".codepoints.tsv"))) {
        const std::vector<std::string> f = embedrank::test::split(line, '\t');
        const auto start = static_cast<char32_t>(std::stoul(f.at(0)));
        std::string text;
        for (char32_t cp = start; cp < start + 4096; ++cp) {
          if (cp >= 0xD800 && cp <= 0xDFFF) continue;
          text += 'a';
          embedrank::text::append_utf8(cp, text);
          text += "b ";
          if (tokenizer.kind() == embedrank::text::Tokenizer::Kind::SentencePiece) {
            text += "\u00B2";
            embedrank::text::append_utf8(cp, text);
            text += ' ';
          }
        }
        tokenizer.token_ids(text, ids);
        std::uint64_t hash = 0xCBF29CE484222325ull;
        const std::string joined = embedrank::test::join_ids(ids);
        for (unsigned char byte : joined) hash = (hash ^ byte) * 0x100000001B3ull;
        char hex[17];
        std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
        ++blocks;
        if (ids.size() == std::stoul(f.at(1)) && hex == f.at(2)) {
          ++equal;
        } else {
          UNSCOPED_INFO("block U+" << std::hex << static_cast<unsigned long>(start) << std::dec << " differs: "
                                   << ids.size() << " ids, reference " << f.at(1));
        }
      }
      CHECK(blocks == 0x110000 / 4096);
      CHECK(equal == blocks);
    }
  }
}
