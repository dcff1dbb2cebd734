#pragma once
/// Text analysis for the lexical (BM25) index: the same function turns a
/// product's fields and a shopper's query into terms, so they meet.
///
///   analyze("Quorva 65W USB-C GaN Charger")
///     -> quorva 65w 65 w usb c usbc gan charger
///   analyze("我想买一件红色的连衣裙")
///     -> 我想 想买 买一 一件 件红 红色 色的 的连 连衣 衣裙
///
/// Steps, per code point of the UTF-8 text (an ill-formed byte sequence
/// reads as U+FFFD, as everywhere in embedrank::text, and U+FFFD separates):
///   1. fold: fullwidth ASCII (U+FF01..U+FF5E) to ASCII, U+3000 to a space;
///      canonical decomposition (NFD) with the nonspacing marks dropped
///      ("Café" -> "cafe"); lowercase (each code point's full lowercase,
///      the tokenizer's tables: text/unicode.hpp). Hangul syllables are kept whole.
///   2. classify: CJK (Han, Hiragana, Katakana, Hangul syllables), digit
///      (ASCII 0-9), separator (whitespace, punctuation and ASCII symbols,
///      controls, U+00A1..U+00BF, U+2000..U+2BFF, U+3000..U+303F, U+FFFD),
///      and every other code point a letter.
///   3. CJK runs: overlapping bigrams, as Lucene's CJKBigramFilter
///      (outputUnigrams = false); a lone CJK character is a unigram.
///   4. Word runs (letters and digits; a '.' or ',' between two digits is
///      part of the number, a ',' dropped: "20,000" -> "20000", "5.5" stays):
///      the run is a term; a run mixing letters and digits also yields its
///      parts split at letter/digit boundaries ("k87" -> k87 k 87); two runs
///      joined by one '-' also yield their concatenation ("GT-3000" -> gt
///      3000 gt3000, "T-shirt" -> t shirt tshirt).
///   5. Lucene's English stop words (a, an, and, ... with) are dropped
///      as whole runs (never as parts of a mixed run or of a joined pair).
/// Terms come in text order, repeats kept (the index counts them).
/// Linear in the text's length; never throws.
///
/// script_of(text): the script a text is written in, CJK (Han, kana,
/// Hangul) when at least kCjkShare of its letters are, otherwise other (the
/// Latin, Cyrillic... languages). Words match only within a script, and a
/// multilingual model places each script's texts around a mean of its own
/// (rank/language_centering.hpp).

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "embedrank/text/unicode.hpp"

namespace embedrank::rank {

namespace detail {

enum class CharClass { Separator, Letter, Digit, Cjk };

inline bool is_cjk(char32_t c) {
  return text::is_chinese_char(c) || (c >= 0x3040 && c <= 0x30FF) ||  // Hiragana, Katakana
         (c >= 0x31F0 && c <= 0x31FF) || (c >= 0xAC00 && c <= 0xD7A3);  // Katakana extension, Hangul syllables
}

inline CharClass classify(char32_t c) {
  if (c >= '0' && c <= '9') return CharClass::Digit;
  if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ? CharClass::Letter : CharClass::Separator;
  if (is_cjk(c)) return CharClass::Cjk;
  if (c == text::kReplacementChar || (c >= 0x80 && c <= 0xBF) || (c >= 0x2000 && c <= 0x2BFF) ||
      (c >= 0x3000 && c <= 0x303F))
    return CharClass::Separator;
  const std::uint8_t flags = text::char_record(c).flags;
  if (flags & (text::detail::kWhitespace | text::detail::kPunctuation | text::detail::kDropByCleanText |
               text::detail::kSpaceByCleanText))
    return CharClass::Separator;
  return CharClass::Letter;
}

/// Step 1: the folded code points of `utf8` (see the file comment).
inline std::u32string fold(std::string_view utf8) {
  std::u32string out, decomposed;
  out.reserve(utf8.size());
  for (std::size_t i = 0; i < utf8.size();) {
    char32_t c = text::decode_utf8(utf8, i);
    if (c >= 0xFF01 && c <= 0xFF5E) c -= 0xFEE0;
    if (c == 0x3000) c = ' ';
    decomposed.clear();
    if (c < 0x80 || (c >= 0xAC00 && c <= 0xD7A3))
      decomposed.push_back(c);
    else
      text::append_decomposition(c, decomposed);
    for (char32_t d : decomposed) {
      if (text::has_flag(d, text::detail::kNonspacingMark)) continue;
      text::append_lowercase(d, out);
    }
  }
  return out;
}

/// Lucene's EnglishAnalyzer.ENGLISH_STOP_WORDS_SET.
inline bool is_stop_word(std::string_view w) {
  static constexpr std::array<std::string_view, 33> kStop = {
      "a",    "an",   "and",   "are",  "as",   "at",    "be",   "but",  "by",   "for",  "if",
      "in",   "into", "is",    "it",   "no",   "not",   "of",   "on",   "or",   "such", "that",
      "the",  "their", "then", "there", "these", "they", "this", "to",   "was",  "will", "with"};
  for (std::string_view s : kStop)
    if (s == w) return true;
  return false;
}

}  // namespace detail

/// The terms of `text` (UTF-8), in text order with repeats; see the file comment.
inline std::vector<std::string> analyze(std::string_view utf8) {
  using detail::CharClass;
  const std::u32string s = detail::fold(utf8);
  const std::size_t n = s.size();
  std::vector<CharClass> cls(n);
  for (std::size_t i = 0; i < n; ++i) cls[i] = detail::classify(s[i]);
  const auto is_word = [&](std::size_t i) { return i < n && (cls[i] == CharClass::Letter || cls[i] == CharClass::Digit); };

  std::vector<std::string> terms;
  std::string previous_run;    // the word run just before a '-', for the joined term
  std::size_t joinable_at = n;  // where a run must start to be joined with previous_run
  std::size_t i = 0;
  while (i < n) {
    if (cls[i] == CharClass::Cjk) {
      // CJK run: overlapping bigrams, a lone character as a unigram.
      std::size_t end = i;
      while (end < n && cls[end] == CharClass::Cjk) ++end;
      if (end - i == 1) {
        terms.push_back(text::encode_utf8(s.substr(i, 1)));
      } else {
        for (std::size_t j = i; j + 1 < end; ++j) terms.push_back(text::encode_utf8(s.substr(j, 2)));
      }
      i = end;
      joinable_at = n;
      continue;
    }
    if (!is_word(i)) {
      ++i;
      continue;
    }
    // Word run; a '.' or ',' between two digits stays inside (a number).
    std::u32string run;
    std::size_t end = i;
    while (end < n) {
      if (is_word(end)) {
        run.push_back(s[end++]);
      } else if ((s[end] == '.' || s[end] == ',') && end > i && cls[end - 1] == CharClass::Digit && end + 1 < n &&
                 cls[end + 1] == CharClass::Digit) {
        if (s[end] == '.') run.push_back('.');
        ++end;
      } else {
        break;
      }
    }
    const std::string whole = text::encode_utf8(run);
    if (!detail::is_stop_word(whole)) terms.push_back(whole);
    // Letter/digit parts of a mixed run ('.' goes with the digits).
    const auto part_class = [](char32_t c) { return (c >= '0' && c <= '9') || c == '.' ? 1 : 0; };
    std::size_t parts = 1;
    for (std::size_t j = 1; j < run.size(); ++j) parts += part_class(run[j]) != part_class(run[j - 1]);
    if (parts > 1) {
      std::size_t start = 0;
      for (std::size_t j = 1; j <= run.size(); ++j)
        if (j == run.size() || part_class(run[j]) != part_class(run[j - 1])) {
          terms.push_back(text::encode_utf8(run.substr(start, j - start)));
          start = j;
        }
    }
    // Two runs joined by one '-': their concatenation too.
    if (joinable_at == i) terms.push_back(previous_run + whole);
    if (end + 1 < n && s[end] == '-' && is_word(end + 1)) {
      previous_run = whole;
      joinable_at = end + 1;
    } else {
      joinable_at = n;
    }
    i = end;
  }
  return terms;
}

/// A text's script; the values index per-script tables.
enum Script : std::size_t { kCjk = 0, kOther = 1, kScripts = 2 };
constexpr double kCjkShare = 0.2;  ///< CJK share of letters that makes a text CJK

/// The script of a UTF-8 text (invalid bytes count as other letters).
inline Script script_of(std::string_view text) {
  std::size_t cjk = 0, letters = 0;
  for (std::size_t i = 0; i < text.size();) {
    const char32_t c = text::decode_utf8(text, i);
    const detail::CharClass kind = detail::classify(c);
    if (kind == detail::CharClass::Separator || kind == detail::CharClass::Digit) continue;
    ++letters;
    if (kind == detail::CharClass::Cjk) ++cjk;
  }
  return letters > 0 && static_cast<double>(cjk) >= kCjkShare * static_cast<double>(letters) ? kCjk : kOther;
}

}  // namespace embedrank::rank
