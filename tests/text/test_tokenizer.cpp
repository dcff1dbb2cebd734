// Unicode handling, WordPiece and SentencePiece behaviour, the Tokenizer API
// (pairs, truncation, threads) and bad input.
#include <catch2/catch.hpp>

#include <cstring>
#include <random>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "embedrank/core/error.hpp"
#include "text/fixtures.hpp"

using embedrank::FormatError;
using embedrank::io::Metadata;
using embedrank::text::EncodeOptions;
using embedrank::text::Encoding;
using embedrank::text::Tokenizer;
namespace text = embedrank::text;
namespace detail = embedrank::text::detail;

namespace {

const Tokenizer& uncased() {
  static const Tokenizer tokenizer = Tokenizer::from_metadata(embedrank::test::read_metadata("minilm_uncased"));
  return tokenizer;
}

const Tokenizer& cased() {
  static const Tokenizer tokenizer = Tokenizer::from_metadata(embedrank::test::read_metadata("minilm_cased"));
  return tokenizer;
}

const Tokenizer& xlmr() {
  static const Tokenizer tokenizer = Tokenizer::from_metadata(embedrank::test::read_metadata("xlmr_tiny"));
  return tokenizer;
}

std::vector<std::string> tokens_of(const Tokenizer& tokenizer, const std::string& s, bool special = false) {
  EncodeOptions options;
  options.add_special_tokens = special;
  options.tokens = true;
  return tokenizer.encode(s, options).tokens;
}

std::vector<std::int32_t> ids_of(const Tokenizer& tokenizer, const std::string& s) {
  std::vector<std::int32_t> ids;
  tokenizer.token_ids(s, ids);
  return ids;
}

// The fast tokenizer's ids (no special tokens) for a hand-picked case, from
// tests/data/text/pinned_ids.tsv (weights_tools/make_pinned_ids.py).
std::vector<std::int32_t> pinned_ids(const std::string& tokenizer, const std::string& text) {
  static const std::vector<std::vector<std::string>> rows = [] {
    std::vector<std::vector<std::string>> out;
    for (const std::string& line : embedrank::test::read_lines(embedrank::test::text_data_path("pinned_ids.tsv")))
      if (!line.empty() && line[0] != '#') out.push_back(embedrank::test::split(line, '\t'));
    return out;
  }();
  for (const auto& row : rows)
    if (row.size() == 3 && row[0] == tokenizer && embedrank::test::unescape(row[1]) == text)
      return embedrank::test::parse_ints(row[2]);
  FAIL("no case for " << tokenizer << " \"" << text << "\" in tests/data/text/pinned_ids.tsv: add it to "
       "weights_tools/make_pinned_ids.py and run it (its docstring says how)");
  return {};
}

using Strings = std::vector<std::string>;

}  // namespace

TEST_CASE("UTF-8 decoding replaces each maximal ill-formed subpart by U+FFFD", "[unicode][utf8]") {
  using text::decode_utf8;
  const char32_t R = text::kReplacementChar;
  SECTION("well-formed text round-trips") {
    const std::string s = "a\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80";  // a é 中 😀
    CHECK(decode_utf8(s) == U"a\u00E9\u4E2D\U0001F600");
    CHECK(text::encode_utf8(decode_utf8(s)) == s);
    CHECK(text::is_valid_utf8(s));
  }
  SECTION("truncated sequences") {
    CHECK(decode_utf8("\xC3") == std::u32string{R});
    CHECK(decode_utf8("\xE4\xB8") == std::u32string{R});
    CHECK(decode_utf8("\xF0\x9F\x98" "a") == std::u32string{R, U'a'});
  }
  SECTION("stray, overlong, surrogate and out-of-range bytes") {
    CHECK(decode_utf8("\x80") == std::u32string{R});
    CHECK(decode_utf8("\xFF" "b") == std::u32string{R, U'b'});
    CHECK(decode_utf8("\xC0\xAF") == std::u32string{R, R});
    CHECK(decode_utf8("\xED\xA0\x80") == std::u32string{R, R, R});
    CHECK(decode_utf8("\xF4\x90\x80\x80") == std::u32string{R, R, R, R});
    CHECK_FALSE(text::is_valid_utf8("\xED\xA0\x80"));
    CHECK(text::is_valid_utf8("\xEF\xBF\xBD"));
  }
}

TEST_CASE("Unicode tables", "[unicode]") {
  SECTION("the tables state their sources") {
    CHECK(std::string(detail::kUnicodeVersion) == "14.0.0");
    CHECK(std::string(detail::kReferenceTokenizersVersion) == "0.23.3");
  }
  SECTION("NFD decomposes, reorders marks by combining class, and handles Hangul") {
    std::u32string out;
    text::nfd(U"\u00E9", out);
    CHECK(out == U"e\u0301");
    text::nfd(U"a\u0301\u0323", out);  // acute (230) after dot below (220)
    CHECK(out == U"a\u0323\u0301");
    text::nfd(U"\uD55C", out);  // 한
    CHECK(out == U"\u1112\u1161\u11AB");
    text::nfd(U"\u1E09", out);  // ḉ: two levels of decomposition
    CHECK(out == U"c\u0327\u0301");
  }
  SECTION("lowercase follows Rust's char::to_lowercase") {
    std::u32string out;
    text::append_lowercase(U'\u0130', out);  // İ -> i + combining dot above
    CHECK(out == U"i\u0307");
    out.clear();
    text::append_lowercase(U'\u03A3', out);  // Σ -> σ, never the final form
    CHECK(out == U"\u03C3");
  }
  SECTION("characters from recent Unicode versions behave as in the reference") {
    // U+2E5D OBLIQUE HYPHEN (Unicode 14, Pd): the reference's punctuation table predates it.
    CHECK_FALSE(text::has_flag(U'\u2E5D', detail::kPunctuation));
    CHECK(text::has_flag(U'\u2E3A', detail::kPunctuation));  // TWO-EM DASH, Unicode 6.1
    // U+A7CB LATIN CAPITAL LETTER RAMS HORN (Unicode 16): Rust lowercases it to U+0264.
    std::u32string out;
    text::append_lowercase(U'\uA7CB', out);
    CHECK(out == U"\u0264");
    // U+1FAE8 SHAKING FACE (Unicode 15) is an ordinary symbol; U+13430 EGYPTIAN
    // HIEROGLYPH VERTICAL JOINER (Cf since Unicode 12) is kept by the reference.
    CHECK(text::char_record(U'\U0001FAE8').flags == 0);
    CHECK_FALSE(text::has_flag(U'\U00013430', detail::kDropByCleanText));
    // U+0890 ARABIC POUND MARK ABOVE (Unicode 14, Cf) is kept, U+200B (Cf) dropped.
    CHECK_FALSE(text::has_flag(U'\u0890', detail::kDropByCleanText));
    CHECK(text::has_flag(U'\u200B', detail::kDropByCleanText));
  }
  SECTION("whitespace and control characters") {
    CHECK(text::has_flag(U'\u3000', detail::kSpaceByCleanText));
    CHECK(text::has_flag(U'\t', detail::kSpaceByCleanText));
    CHECK(text::has_flag(U'\x0B', detail::kDropByCleanText));  // VT is a control before it is whitespace
    CHECK(text::has_flag(U'\x0B', detail::kWhitespace));
    CHECK(text::has_flag(U'\x00', detail::kDropByCleanText));
    CHECK(text::has_flag(text::kReplacementChar, detail::kDropByCleanText));
  }
}

TEST_CASE("python_lower matches Python's str.lower()", "[unicode][python_lower]") {
  SECTION("final sigma") {
    CHECK(text::python_lower("ΟΔΥΣΣΕΥΣ") == "οδυσσευς");
    CHECK(text::python_lower("Σ") == "σ");
    CHECK(text::python_lower("ΑΣ.") == "ας.");
    CHECK(text::python_lower("ΑΣ'Α") == "ασ'α");  // the apostrophe is case-ignorable
    CHECK(text::python_lower("1Σ") == "1σ");
    CHECK(text::python_lower("İ") == "i\u0307");
  }
  SECTION("every corpus line, against tests/data/text/corpus.python_lower.txt") {
    const std::vector<std::string> corpus = embedrank::test::read_corpus();
    std::vector<std::string> expected;
    for (const std::string& line : embedrank::test::read_lines(embedrank::test::text_data_path("corpus.python_lower.txt")))
      expected.push_back(embedrank::test::unescape(line));
    REQUIRE(expected.size() == corpus.size());
    std::size_t equal = 0;
    for (std::size_t i = 0; i < corpus.size(); ++i) {
      if (text::python_lower(corpus[i]) == expected[i]) {
        ++equal;
      } else {
        UNSCOPED_INFO("line " << i << ": " << text::python_lower(corpus[i]) << " vs " << expected[i]);
      }
    }
    CHECK(equal == corpus.size());
  }
}

TEST_CASE("BertNormalizer steps and flags", "[wordpiece][normalizer]") {
  SECTION("uncased strips accents and lowercases") {
    CHECK(tokens_of(uncased(), "Crème BRÛLÉE") == tokens_of(uncased(), "creme brulee"));
    CHECK(tokens_of(uncased(), "İstanbul") == tokens_of(uncased(), "istanbul"));
  }
  SECTION("cased keeps case and accents") {
    CHECK(tokens_of(cased(), "Crème") != tokens_of(cased(), "creme"));
    CHECK(tokens_of(cased(), "HELLO") != tokens_of(cased(), "hello"));
    CHECK(tokens_of(uncased(), "HELLO") == Strings{"hello"});
  }
  SECTION("CJK ideographs become single words") {
    CHECK(tokens_of(uncased(), "中国人abc") == Strings{"中", "国", "人", "abc"});
  }
  SECTION("punctuation is isolated, whitespace and controls removed") {
    CHECK(tokens_of(uncased(), "usb-c,65w!") == Strings{"usb", "-", "c", ",", "65", "##w", "!"});
    CHECK(tokens_of(uncased(), "\t hello\x01\n\u00A0world \u200B ") == Strings{"hello", "world"});
  }
}

TEST_CASE("WordPiece model", "[wordpiece]") {
  SECTION("greedy longest match with the continuing-subword prefix") {
    CHECK(tokens_of(uncased(), "unaffable") == Strings{"una", "##ffa", "##ble"});
  }
  SECTION("a word longer than max_input_chars_per_word is one unknown token") {
    CHECK(tokens_of(uncased(), std::string(100, 'a')).size() > 1);
    CHECK(tokens_of(uncased(), std::string(101, 'a')) == Strings{"[UNK]"});
  }
  SECTION("a word that cannot be matched completely is one unknown token") {
    CHECK(tokens_of(uncased(), "abc\U0001F9FFdef") == Strings{"[UNK]"});
  }
  SECTION("literal special tokens are recognised in the raw text only") {
    CHECK(tokens_of(uncased(), "a [SEP] b[MASK]") == Strings{"a", "[SEP]", "b", "[MASK]"});
    CHECK(tokens_of(uncased(), "[sep]") == Strings{"[", "sep", "]"});
  }
}

TEST_CASE("Added tokens with normalized and single_word flags", "[tokenizer][added_tokens]") {
  // Expected ids: the fast tokenizer's after add_tokens([AddedToken("Café-Bar", normalized=True),
  // AddedToken("RAW", normalized=False, single_word=True)]), from pinned_ids.tsv.
  Metadata meta = embedrank::test::read_metadata("minilm_uncased");
  auto contents = meta.get_string_list("tokenizer.added_tokens");
  auto ids = meta.get_int_list("tokenizer.added_token_ids");
  auto flags = meta.get_int_list("tokenizer.added_token_flags");
  contents.insert(contents.end(), {"Café-Bar", "RAW"});
  ids.insert(ids.end(), {30522, 30523});
  flags.insert(flags.end(), {text::kAddedNormalized, text::kAddedSingleWord});
  meta.set("tokenizer.added_tokens", contents);
  meta.set("tokenizer.added_token_ids", ids);
  meta.set("tokenizer.added_token_flags", flags);
  const Tokenizer t = Tokenizer::from_metadata(meta);
  CHECK(t.vocab_size() == 30524);
  CHECK(ids_of(t, "a cafe-bar b") == pinned_ids("minilm_uncased_added", "a cafe-bar b"));
  CHECK(ids_of(t, "a CAFÉ-BAR b") == pinned_ids("minilm_uncased_added", "a CAFÉ-BAR b"));
  CHECK(ids_of(t, "xcafe-barx") == pinned_ids("minilm_uncased_added", "xcafe-barx"));
  CHECK(ids_of(t, "RAW x") == pinned_ids("minilm_uncased_added", "RAW x"));
  CHECK(ids_of(t, "xRAW") == pinned_ids("minilm_uncased_added", "xRAW"));
  CHECK(ids_of(t, "raw") == pinned_ids("minilm_uncased_added", "raw"));
  CHECK(ids_of(t, "a RAW b") == pinned_ids("minilm_uncased_added", "a RAW b"));
  CHECK(ids_of(t, "RAW_x") == pinned_ids("minilm_uncased_added", "RAW_x"));
}

TEST_CASE("Special tokens, pairs and truncation", "[tokenizer]") {
  const Tokenizer& t = uncased();
  const std::int32_t cls = 101, sep = 102;
  SECTION("single text: [CLS] A [SEP]") {
    const Encoding e = t.encode("hello world");
    CHECK(e.ids == std::vector<std::int32_t>{cls, 7592, 2088, sep});
    CHECK(e.type_ids == std::vector<std::int32_t>{0, 0, 0, 0});
    CHECK(e.attention_mask == std::vector<std::int32_t>{1, 1, 1, 1});
    CHECK(t.num_special_tokens(false) == 2);
    CHECK(t.num_special_tokens(true) == 3);
  }
  SECTION("pair: [CLS] A [SEP] B [SEP] with type ids") {
    const Encoding e = t.encode_pair("hello", "big world");
    CHECK(e.ids == std::vector<std::int32_t>{cls, 7592, sep, 2502, 2088, sep});
    CHECK(e.type_ids == std::vector<std::int32_t>{0, 0, 0, 1, 1, 1});
  }
  SECTION("truncation counts the special tokens") {
    CHECK(t.encode("one two three four", 4).ids == std::vector<std::int32_t>{cls, 2028, 2048, sep});
  }
  SECTION("pair truncation is longest-first") {
    // 2 + 6 tokens into 8 - 3 = 5: the shorter keeps 2, the longer 3.
    const Encoding e = t.encode_pair("one two", "a b c d e f", 8);
    CHECK(e.ids == std::vector<std::int32_t>{cls, 2028, 2048, sep, 1037, 1038, 1039, sep});
    // 6 + 6 into 5: the first gets 2, the second 3.
    const Encoding f = t.encode_pair("a b c d e f", "a b c d e f", 8);
    CHECK(f.ids == std::vector<std::int32_t>{cls, 1037, 1038, sep, 1037, 1038, 1039, sep});
  }
  SECTION("a max_length below the special tokens truncates nothing, as in the reference") {
    CHECK(t.encode("one two", 1).ids.size() == 4);
  }
  SECTION("without special tokens") {
    EncodeOptions options;
    options.add_special_tokens = false;
    options.tokens = true;
    const Encoding e = t.encode_pair("hello", "world", options);
    CHECK(e.tokens == Strings{"hello", "world"});
    CHECK(e.type_ids == std::vector<std::int32_t>{0, 1});
  }
  SECTION("tokens are returned on request") {
    EncodeOptions options;
    options.tokens = true;
    CHECK(t.encode("Hello!", options).tokens == Strings{"[CLS]", "hello", "!", "[SEP]"});
    CHECK(t.encode("Hello!").tokens.empty());
  }
  SECTION("batch results do not depend on the thread count") {
    const std::vector<std::string> corpus = embedrank::test::read_corpus();
    const std::vector<std::string> texts(corpus.begin(), corpus.begin() + 300);
    const auto one = t.encode_batch(texts, EncodeOptions{}, 1);
    const auto four = t.encode_batch(texts, EncodeOptions{}, 4);
    REQUIRE(one.size() == texts.size());
    for (std::size_t i = 0; i < texts.size(); ++i) CHECK(one[i].ids == four[i].ids);
  }
}

TEST_CASE("Bad and extreme input has defined results", "[tokenizer][bad_input]") {
  for (const Tokenizer* t : {&uncased(), &xlmr()}) {
    const std::vector<std::int32_t> specials = t->encode("").ids;
    SECTION(std::string("empty text gives only the special tokens, ") + (t == &xlmr() ? "xlmr" : "wordpiece")) {
      CHECK(specials.size() == 2);
      CHECK(ids_of(*t, "").empty());
      CHECK(ids_of(*t, " \t\n ").empty());
    }
    SECTION(std::string("invalid UTF-8 reads as U+FFFD, ") + (t == &xlmr() ? "xlmr" : "wordpiece")) {
      CHECK(ids_of(*t, "abc\xFF" "def") == ids_of(*t, "abc\xEF\xBF\xBD" "def"));
      CHECK(ids_of(*t, "x \xC3") == ids_of(*t, "x \xEF\xBF\xBD"));
      CHECK(ids_of(*t, std::string("a\0b", 3)).size() >= 1);
    }
    SECTION(std::string("a 1 MB text, ") + (t == &xlmr() ? "xlmr" : "wordpiece")) {
      std::string big;
      while (big.size() < (1u << 20)) big += "Wireless earbuds 无线耳机 3.5mm USB-C 65W, café! ";
      const std::vector<std::int32_t> ids = ids_of(*t, big);
      CHECK(ids.size() > 100000);
      const Encoding capped = t->encode(big, 256);
      CHECK(capped.ids.size() == 256);
      CHECK(std::equal(capped.ids.begin() + 1, capped.ids.end() - 1, ids.begin()));
    }
  }
  SECTION("a WordPiece word of random bytes") {
    std::string noise;
    for (int i = 0; i < 4096; ++i) noise.push_back(static_cast<char>((i * 131 + 7) & 0xFF));
    CHECK_NOTHROW(uncased().encode(noise));
    CHECK_NOTHROW(xlmr().encode(noise));
  }
}

TEST_CASE("Random fragments of hard input keep every invariant", "[tokenizer][bad_input]") {
  const std::vector<std::string> fragments = {
      "[CLS]", "[SEP", "<mask>", "<s>", " ", "  ", "\t", "\n", "\xC3", "\xED\xA0\x80", "\xF0\x9F", "\x00", "e\xCC\x81",
      "\xEF\xBE\x9E", "\xEF\xBD\xB6", "\xE4\xB8\xAD", "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9", "USB-C", "65W", "##",
      "\xE2\x96\x81", "!!", "\xC4\xB0", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
  std::uint32_t state = 12345;
  auto next = [&] {
    state = state * 1664525u + 1013904223u;
    return state >> 8;
  };
  for (const Tokenizer* t : {&uncased(), &cased(), &xlmr()}) {
    for (int round = 0; round < 500; ++round) {
      std::string a, b;
      for (std::uint32_t k = next() % 12; k > 0; --k) a += fragments[next() % fragments.size()];
      for (std::uint32_t k = next() % 12; k > 0; --k) b += fragments[next() % fragments.size()];
      EncodeOptions options;
      options.max_length = next() % 24;
      options.add_special_tokens = next() % 4 != 0;
      options.tokens = true;
      const Encoding e = (round % 2) ? t->encode_pair(a, b, options) : t->encode(a, options);
      REQUIRE(e.type_ids.size() == e.ids.size());
      REQUIRE(e.attention_mask.size() == e.ids.size());
      REQUIRE(e.tokens.size() == e.ids.size());
      for (std::int32_t id : e.ids) REQUIRE((id >= 0 && static_cast<std::size_t>(id) < t->vocab_size()));
      const std::size_t specials = options.add_special_tokens ? t->num_special_tokens(round % 2) : 0;
      if (options.max_length >= specials && options.max_length > 0) REQUIRE(e.ids.size() <= options.max_length);
    }
  }
}

TEST_CASE("SentencePiece id mapping", "[sentencepiece]") {
  SECTION("fairseq: <s> A </s> </s> B </s>, unknown pieces are <unk> = 3") {
    const Encoding e = xlmr().encode_pair("a", "b");
    CHECK(e.ids.front() == 0);
    CHECK(e.ids.back() == 2);
    CHECK(std::count(e.ids.begin(), e.ids.end(), 2) == 3);
    CHECK(e.type_ids == std::vector<std::int32_t>(e.ids.size(), 0));
    CHECK(ids_of(xlmr(), "\u2603") == std::vector<std::int32_t>{4, 3});  // "▁" then the unknown snowman
  }
  SECTION("<mask> absorbs the whitespace before it (lstrip)") {
    const std::vector<std::int32_t> with_space = ids_of(xlmr(), "x <mask>");
    CHECK(with_space.back() == 1501);
    CHECK(with_space == ids_of(xlmr(), "x<mask>"));
  }
  SECTION("one SentencePiece tokenizer shared by four threads") {
    const std::vector<std::string> corpus = embedrank::test::read_corpus();
    const auto one = xlmr().encode_batch(corpus, EncodeOptions{}, 1);
    const auto four = xlmr().encode_batch(corpus, EncodeOptions{}, 4);
    for (std::size_t i = 0; i < corpus.size(); ++i) CHECK(one[i].ids == four[i].ids);
  }
  SECTION("plain: SentencePiece ids as they are") {
    Metadata meta = embedrank::test::read_metadata("xlmr_tiny");
    meta.set("tokenizer.id_mapping", "plain");
    meta.set("tokenizer.unk_id", 0);
    const Tokenizer plain = Tokenizer::from_metadata(meta);
    const std::vector<std::int32_t> fairseq_ids = ids_of(xlmr(), "wireless earbuds");
    std::vector<std::int32_t> plain_ids = ids_of(plain, "wireless earbuds");
    for (auto& id : plain_ids) ++id;
    CHECK(plain_ids == fairseq_ids);
  }
}

TEST_CASE("SentencePiece normalizes and segments as XLMRobertaTokenizerFast", "[sentencepiece]") {
  // ids: the fast tokenizer's on tests/data/text/xlmr_tiny/tokenizer.json, from pinned_ids.tsv
  SECTION("Precompiled maps grapheme clusters under 6 bytes as a whole, by their shortest key") {
    // halfwidth ka + voiced mark: 6 bytes, per character
    CHECK(ids_of(xlmr(), "\uFF76\uFF9E") == pinned_ids("xlmr_tiny", "\uFF76\uFF9E"));
    CHECK(ids_of(xlmr(), "\uFF21\u0301") == ids_of(xlmr(), "A"));  // fullwidth A + acute: "Ａ" is the key, the accent goes
    CHECK(ids_of(xlmr(), "a\u0300\u0301\u0302\u0303") == pinned_ids("xlmr_tiny", "a\u0300\u0301\u0302\u0303"));
    CHECK(ids_of(xlmr(), "x\r\ny") == pinned_ids("xlmr_tiny", "x\r\ny"));  // CR LF is one cluster, mapped as CR alone
  }
  SECTION("equal-score segmentations keep the first candidate") {
    CHECK(ids_of(xlmr(), "aaaaaaaaaaaaaaaaaaaa") == pinned_ids("xlmr_tiny", "aaaaaaaaaaaaaaaaaaaa"));
    CHECK(ids_of(xlmr(), "Gaming mouse 16000 DPI") == pinned_ids("xlmr_tiny", "Gaming mouse 16000 DPI"));
  }
  SECTION("whitespace: runs are one separator, trailing whitespace goes") {
    CHECK(ids_of(xlmr(), "  leading   and trailing  ") == pinned_ids("xlmr_tiny", "  leading   and trailing  "));
  }
  SECTION("the whitespace_split pipeline (transformers 5's XLMRobertaTokenizer) splits at every White_Space") {
    // its ids: the fast tokenizer's on tests/data/models/xlmr_gelu_mean/tokenizer.json
    Metadata meta = embedrank::test::read_metadata("xlmr_tiny");
    meta.set("tokenizer.sentencepiece_pipeline", "whitespace_split");
    const Tokenizer split = Tokenizer::from_metadata(meta);
    CHECK(ids_of(xlmr(), "a \u0085 b") == pinned_ids("xlmr_tiny", "a \u0085 b"));  // U+0085 survives the charsmap
    CHECK(ids_of(split, "a \u0085 b") == pinned_ids("xlmr_whitespace_split", "a \u0085 b"));
    CHECK(ids_of(split, "  leading   and trailing  ") == ids_of(xlmr(), "  leading   and trailing  "));
    meta.set("tokenizer.sentencepiece_pipeline", "bert");
    CHECK_THROWS_AS(Tokenizer::from_metadata(meta), FormatError);
  }
  SECTION("text that normalizes to a special token's spelling is matched as that vocabulary piece") {
    const std::string special_spelling = "\uFF1C\uFF53\uFF1E \uFF1C\uFF4D\uFF41\uFF53\uFF4B\uFF1E";  // <s> <mask>
    CHECK(ids_of(xlmr(), special_spelling) == pinned_ids("xlmr_tiny", special_spelling));
  }
}

namespace {

// A serialized ModelProto of a few pieces (piece, score, type), no charsmap.
std::string tiny_model(const std::vector<std::tuple<std::string, float, int>>& pieces, bool byte_fallback,
                       int model_type = 1) {
  const auto varint = [](std::uint64_t v, std::string& out) {
    for (; v >= 0x80; v >>= 7) out += static_cast<char>((v & 0x7F) | 0x80);
    out += static_cast<char>(v);
  };
  const auto field = [&](int number, const std::string& bytes, std::string& out) {
    varint(static_cast<std::uint64_t>(number) << 3 | 2, out);
    varint(bytes.size(), out);
    out += bytes;
  };
  std::string model;
  for (const auto& [text, score, type] : pieces) {
    std::string piece;
    field(1, text, piece);
    piece += '\x15';  // field 2, fixed32
    char bits[4];
    std::memcpy(bits, &score, 4);
    piece.append(bits, 4);
    piece += '\x18';  // field 3, varint
    varint(static_cast<std::uint64_t>(type), piece);
    field(1, piece, model);
  }
  std::string trainer;
  trainer += '\x18';  // model_type
  varint(static_cast<std::uint64_t>(model_type), trainer);
  varint(35 << 3, trainer);  // byte_fallback
  varint(byte_fallback ? 1 : 0, trainer);
  field(2, trainer, model);
  return model;
}

Tokenizer tiny_tokenizer(bool byte_fallback) {
  Metadata meta = embedrank::test::read_metadata("xlmr_tiny");
  meta.set("tokenizer.sentencepiece_model",
           embedrank::io::Bytes{tiny_model({{"<unk>", 0.0f, 2}, {"\u2581", -1.0f, 1}, {"a", -1.0f, 1}, {"aa", -2.0f, 1},
                                            {"b", -3.0f, 1}, {"<0xE2>", -5.0f, 6}, {"<0x98>", -5.0f, 6},
                                            {"<0x83>", -5.0f, 6}, {"\u2581b", -2.5f, 1}},
                                           byte_fallback)});
  meta.set("tokenizer.id_mapping", "plain");
  meta.set("tokenizer.unk_id", 0);
  return Tokenizer::from_metadata(meta);
}

}  // namespace

TEST_CASE("Unigram: ties, unknown runs and byte fallback as tokenizers' Unigram model", "[sentencepiece]") {
  // Expected ids from tokenizers' Unigram(vocab, unk_id=0, byte_fallback) with
  // the same normalizer and Metaspace pre-tokenizer.
  using Ids = std::vector<std::int32_t>;
  const Tokenizer fallback = tiny_tokenizer(true);
  const Tokenizer plain = tiny_tokenizer(false);
  CHECK(ids_of(fallback, "aaa") == Ids{1, 2, 3});  // a + aa and aa + a tie: the first found wins
  CHECK(ids_of(fallback, "aaaa b") == Ids{1, 3, 3, 8});
  CHECK(ids_of(fallback, "b  aa ") == Ids{8, 1, 3});
  CHECK(ids_of(fallback, "a\u2603\u2603b") == Ids{1, 2, 5, 6, 7, 5, 6, 7, 4});  // unknown run as its bytes
  CHECK(ids_of(fallback, "a\u2603\u00E9 b") == Ids{1, 2, 0, 8});  // a byte without a piece: one <unk>
  CHECK(ids_of(plain, "a\u2603\u2603b") == Ids{1, 2, 0, 4});  // the unknown run fused into one <unk>

  SECTION("a BPE model is refused") {
    Metadata meta = embedrank::test::read_metadata("xlmr_tiny");
    meta.set("tokenizer.sentencepiece_model", embedrank::io::Bytes{tiny_model({{"<unk>", 0.0f, 2}, {"a", -1.0f, 1}}, false, 2)});
    try {
      (void)Tokenizer::from_metadata(meta);
      FAIL("no exception for a BPE model");
    } catch (const FormatError& e) {
      CHECK(e.id() == "format.tokenizer.bad_sentencepiece");
      CHECK_THAT(e.what(), Catch::Matchers::Contains("not unigram"));
    }
  }
}

TEST_CASE("Broken tokenizer metadata throws FormatError naming the key", "[tokenizer][bad_input]") {
  const Metadata good = embedrank::test::read_metadata("minilm_uncased");
  auto fails_with = [&](Metadata meta, const std::string& id, const std::string& key) {
    try {
      (void)Tokenizer::from_metadata(meta);
      FAIL("no exception for " + key);
    } catch (const FormatError& e) {
      CHECK(e.id() == "format." + id);
      CHECK_THAT(e.what(), Catch::Matchers::Contains(key));
    }
  };
  SECTION("missing key") {
    Metadata meta("model.bin");
    for (const auto& entry : good.values())
      if (entry.first != "tokenizer.normalizer.lowercase")
        std::visit([&](const auto& value) { meta.set(entry.first, value); }, entry.second);
    fails_with(meta, "missing_metadata", "tokenizer.normalizer.lowercase");
  }
  SECTION("wrong type") {
    Metadata meta = good;
    meta.set("tokenizer.vocab", "not a list");
    fails_with(meta, "metadata_type", "tokenizer.vocab");
  }
  SECTION("unknown token not in the vocabulary") {
    Metadata meta = good;
    meta.set("tokenizer.unk_token", "<nope>");
    fails_with(meta, "tokenizer.missing_unk", "<nope>");
  }
  SECTION("unsupported type") {
    Metadata meta = good;
    meta.set("tokenizer.type", "bpe");
    fails_with(meta, "tokenizer.bad_value", "tokenizer.type");
  }
  SECTION("template id outside the vocabulary") {
    Metadata meta = good;
    meta.set("tokenizer.template.single.ids", std::vector<std::int64_t>{999999, -1, 102});
    fails_with(meta, "tokenizer.bad_value", "tokenizer.template.single.ids");
  }
  SECTION("added token lists of different lengths") {
    Metadata meta = good;
    meta.set("tokenizer.added_token_ids", std::vector<std::int64_t>{0});
    fails_with(meta, "tokenizer.bad_value", "tokenizer.added_token_ids");
  }
  SECTION("corrupt SentencePiece model") {
    Metadata meta = embedrank::test::read_metadata("xlmr_tiny");
    meta.set("tokenizer.sentencepiece_model", embedrank::io::Bytes{"\x0a\x05garbage"});
    fails_with(meta, "tokenizer.bad_sentencepiece", "tokenizer.sentencepiece_model");
  }
}

namespace {

std::size_t read_varint(const std::string& s, std::size_t& pos) {
  std::size_t value = 0;
  for (int shift = 0;; shift += 7) {
    const auto byte = static_cast<unsigned char>(s.at(pos++));
    value |= static_cast<std::size_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) return value;
  }
}

/// Where the parts of a serialized ModelProto sit: each piece's text and the
/// normalizer's precompiled charsmap (offset, size).
struct ModelLayout {
  std::vector<std::pair<std::size_t, std::size_t>> pieces;
  std::pair<std::size_t, std::size_t> charsmap{0, 0};
};

ModelLayout layout_of(const std::string& model) {
  ModelLayout layout;
  std::size_t pos = 0;
  while (pos < model.size()) {
    const std::size_t tag = read_varint(model, pos);
    const std::size_t length = read_varint(model, pos);  // every top-level field here is length-delimited
    REQUIRE((tag & 7) == 2);
    std::size_t inner = pos;
    while (inner < pos + length) {
      const std::size_t inner_tag = read_varint(model, inner);
      if ((inner_tag & 7) == 0) {
        read_varint(model, inner);
        continue;
      }
      if ((inner_tag & 7) == 5) {
        inner += 4;
        continue;
      }
      const std::size_t inner_length = read_varint(model, inner);
      if (tag >> 3 == 1 && inner_tag >> 3 == 1) layout.pieces.emplace_back(inner, inner_length);
      if (tag >> 3 == 3 && inner_tag >> 3 == 2) layout.charsmap = {inner, inner_length};
      inner += inner_length;
    }
    pos += length;
  }
  return layout;
}

}  // namespace

TEST_CASE("A damaged SentencePiece model is a FormatError at load, never a crash", "[sentencepiece][bad_input]") {
  const Metadata good = embedrank::test::read_metadata("xlmr_tiny");
  const std::string model = good.get_bytes("tokenizer.sentencepiece_model");
  const ModelLayout layout = layout_of(model);
  REQUIRE(layout.pieces.size() > 100);
  REQUIRE(layout.charsmap.second > 1000);
  const auto load = [&](const std::string& damaged) {
    Metadata meta = good;
    meta.set("tokenizer.sentencepiece_model", embedrank::io::Bytes{damaged});
    return Tokenizer::from_metadata(meta);
  };
  const auto fails_with = [&](const std::string& damaged, const std::string& part) {
    try {
      (void)load(damaged);
      FAIL("no exception for a damaged " + part);
    } catch (const FormatError& e) {
      CHECK(e.id() == "format.tokenizer.bad_sentencepiece");
      CHECK_THAT(e.what(), Catch::Matchers::Contains("xlmr_tiny") && Catch::Matchers::Contains(part));
    }
  };
  SECTION("a charsmap whose trie size points past the blob") {
    std::string damaged = model;
    damaged.replace(layout.charsmap.first, 4, "\xff\xff\xff\x7f");
    fails_with(damaged, "normalizer_spec");
  }
  SECTION("normalized strings that are not UTF-8") {
    const std::size_t first = layout.charsmap.first;
    std::size_t trie_bytes = 0;
    for (int i = 3; i >= 0; --i) trie_bytes = trie_bytes << 8 | static_cast<unsigned char>(model[first + static_cast<std::size_t>(i)]);
    std::string damaged = model;
    std::size_t at = first + 4 + trie_bytes;
    while (static_cast<unsigned char>(damaged[at]) < 0x80) ++at;  // the first byte of a multi-byte character
    damaged[at] = '\xff';
    fails_with(damaged, "normalized strings are not UTF-8");
  }
  SECTION("a piece with a NUL byte, one that is not UTF-8, one that repeats another") {
    const auto [offset, size] = layout.pieces[50];
    std::string with_nul = model;
    with_nul[offset + size - 1] = '\0';
    fails_with(with_nul, "NUL byte in piece 50");
    std::string not_utf8 = model;
    not_utf8[offset] = '\xff';
    fails_with(not_utf8, "piece 50 is not UTF-8");
    // piece 60 spelled as piece 50 (the same length: the framing stays valid)
    for (std::size_t other = 51; other < layout.pieces.size(); ++other) {
      if (layout.pieces[other].second != size) continue;
      std::string repeated = model;
      repeated.replace(layout.pieces[other].first, size, model.substr(offset, size));
      fails_with(repeated, "repeats an earlier one");
      break;
    }
  }
  SECTION("truncated anywhere") {
    for (std::size_t cut : {std::size_t{1}, std::size_t{3}, layout.pieces[10].first + 1, layout.charsmap.first + 7,
                            model.size() - 1}) {
      INFO("cut at " << cut);
      CHECK_THROWS_AS(load(model.substr(0, cut)), FormatError);
    }
  }
  SECTION("every single-byte change to the charsmap loads and encodes, or is refused") {
    // A change either keeps a walkable trie with UTF-8 replacements (it then
    // encodes without reading out of bounds, which the sanitizer build
    // checks) or is refused at load.
    const std::vector<std::string> corpus = embedrank::test::read_corpus();
    std::mt19937 rng(7);
    std::uniform_int_distribution<std::size_t> where(layout.charsmap.first, layout.charsmap.first + layout.charsmap.second - 1);
    std::uniform_int_distribution<int> byte(0, 255);
    int refused = 0, loaded = 0;
    for (int trial = 0; trial < 150; ++trial) {
      std::string damaged = model;
      damaged[where(rng)] = static_cast<char>(byte(rng));
      try {
        const Tokenizer tokenizer = load(damaged);
        for (std::size_t i = 0; i < corpus.size(); i += 37) (void)tokenizer.encode(corpus[i]);
        ++loaded;
      } catch (const FormatError&) {
        ++refused;
      }
    }
    CHECK(refused + loaded == 150);
    CHECK(refused > 0);
  }
  SECTION("more pieces than the declared vocabulary") {
    Metadata meta = good;
    meta.set("tokenizer.vocab_size", static_cast<std::int64_t>(layout.pieces.size()));  // fairseq needs one more
    try {
      (void)Tokenizer::from_metadata(meta);
      FAIL("no exception for a vocabulary smaller than the pieces");
    } catch (const FormatError& e) {
      CHECK(e.id() == "format.tokenizer.bad_value");
      CHECK_THAT(e.what(), Catch::Matchers::Contains("pieces") && Catch::Matchers::Contains("tokenizer.vocab_size"));
    }
  }
}

TEST_CASE("The parity comparison notices a wrong normalizer flag", "[parity]") {
  // The cased metadata against the uncased references must disagree somewhere.
  const std::vector<std::string> corpus = embedrank::test::read_corpus();
  std::size_t differing = 0;
  for (const auto& c : embedrank::test::read_references("minilm_uncased"))
    if (embedrank::test::encode_case(cased(), corpus, c).ids != c.ids) ++differing;
  CHECK(differing > 1000);
}
