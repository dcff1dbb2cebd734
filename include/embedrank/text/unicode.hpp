#pragma once
/// UTF-8 decoding and encoding, and the per-code-point properties the
/// tokenizers need (generated tables: detail/unicode_tables.hpp).
///
/// Invalid UTF-8 has one defined meaning everywhere in embedrank::text: each
/// maximal ill-formed subsequence (Unicode 14, section 3.9, "U+FFFD
/// substitution of maximal subparts", as Python's errors="replace" and the
/// WHATWG decoder do) becomes one U+FFFD REPLACEMENT CHARACTER. Surrogate code
/// points and overlong forms are ill-formed. Nothing is ever read out of bounds.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "embedrank/text/detail/unicode_tables.hpp"

namespace embedrank::text {

inline constexpr char32_t kReplacementChar = 0xFFFD;

/// Decodes the code point at s[i], advancing i past it; ill-formed bytes
/// yield U+FFFD and advance past the maximal ill-formed subpart (at least 1 byte).
inline char32_t decode_utf8(std::string_view s, std::size_t& i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = byte(i);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  int length;
  char32_t cp;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    length = 2, cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    length = 3, cp = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;  // no overlong forms
    if (b0 == 0xED) hi = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    length = 4, cp = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;  // no overlong forms
    if (b0 == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    ++i;
    return kReplacementChar;
  }
  std::size_t k = i + 1;
  for (int n = 1; n < length; ++n, ++k) {
    const unsigned char lower = n == 1 ? lo : 0x80, upper = n == 1 ? hi : 0xBF;
    if (k >= s.size() || byte(k) < lower || byte(k) > upper) {
      i = k;  // the maximal subpart ends before the offending byte
      return kReplacementChar;
    }
    cp = (cp << 6) | (byte(k) & 0x3F);
  }
  i = k;
  return cp;
}

/// Appends the UTF-8 encoding of cp (a scalar value) to out.
inline void append_utf8(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

/// Decodes UTF-8 into code points (see the file comment for invalid input).
inline void decode_utf8(std::string_view s, std::u32string& out) {
  out.clear();
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) out.push_back(decode_utf8(s, i));
}

inline std::u32string decode_utf8(std::string_view s) {
  std::u32string out;
  decode_utf8(s, out);
  return out;
}

/// Encodes code points as UTF-8.
inline std::string encode_utf8(std::u32string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : s) append_utf8(c, out);
  return out;
}

/// True when s is well-formed UTF-8 (then decoding it never substitutes).
inline bool is_valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const std::size_t start = i;
    if (decode_utf8(s, i) == kReplacementChar && !(i - start == 3 && s.compare(start, 3, "\xEF\xBF\xBD") == 0))
      return false;
  }
  return true;
}

/// The properties record of code point cp (any value; above U+10FFFF reads as U+FFFD).
inline const detail::CharRecord& char_record(char32_t cp) {
  if (cp >= 0x110000) cp = kReplacementChar;
  const std::uint16_t block = detail::kBlockIndex[cp >> detail::kBlockShift];
  return detail::kRecords[detail::kBlocks[(static_cast<std::size_t>(block) << detail::kBlockShift) + (cp & detail::kBlockMask)]];
}

inline bool has_flag(char32_t cp, detail::CharFlag flag) { return (char_record(cp).flags & flag) != 0; }

/// BertNormalizer's CJK test: the exact ranges of tokenizers' normalizers/bert.rs
/// (which writes 0x2B920 where BERT's Python code had 0x2B820).
inline bool is_chinese_char(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/// Appends the canonical decomposition of c (not yet reordered) to out.
inline void append_decomposition(char32_t c, std::u32string& out) {
  // Hangul syllables: S = L V T, decomposed by arithmetic (Unicode section 3.12).
  constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
  constexpr char32_t kVCount = 21, kTCount = 28, kSCount = 11172;
  if (c >= kSBase && c < kSBase + kSCount) {
    const char32_t s = c - kSBase;
    out.push_back(kLBase + s / (kVCount * kTCount));
    out.push_back(kVBase + (s % (kVCount * kTCount)) / kTCount);
    if (s % kTCount != 0) out.push_back(kTBase + s % kTCount);
    return;
  }
  const detail::CharRecord& r = char_record(c);
  if (r.decomposition_size == 0) {
    out.push_back(c);
    return;
  }
  out.append(detail::kPool + r.decomposition, r.decomposition_size);
}

/// NFD: full canonical decomposition, then canonical ordering (a stable sort
/// of each run of non-starters by combining class). With `source`, each
/// output character's source index in `in` (the character it came from) is
/// written there, moved along by the ordering.
inline void nfd(std::u32string_view in, std::u32string& out, std::vector<std::uint32_t>* source = nullptr) {
  out.clear();
  out.reserve(in.size() + in.size() / 4);
  if (source) source->clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    append_decomposition(in[i], out);
    if (source) source->resize(out.size(), static_cast<std::uint32_t>(i));
  }
  for (std::size_t i = 1; i < out.size(); ++i) {
    const std::uint8_t ccc = char_record(out[i]).combining_class;
    if (ccc == 0) continue;
    // Insertion sort step: move out[i] left past non-starters of higher class.
    std::size_t j = i;
    const char32_t c = out[i];
    const std::uint32_t from = source ? (*source)[i] : 0;
    while (j > 0) {
      const std::uint8_t prev = char_record(out[j - 1]).combining_class;
      if (prev == 0 || prev <= ccc) break;
      out[j] = out[j - 1];
      if (source) (*source)[j] = (*source)[j - 1];
      --j;
    }
    out[j] = c;
    if (source) (*source)[j] = from;
  }
}

/// Appends the lowercase of c as Rust's char::to_lowercase gives it (one or more code points).
inline void append_lowercase(char32_t c, std::u32string& out) {
  const detail::CharRecord& r = char_record(c);
  if (r.lower_size == 1) {
    out.push_back(static_cast<char32_t>(static_cast<std::int64_t>(c) + r.lower));
  } else {
    out.append(detail::kPool + r.lower, r.lower_size);
  }
}

/// Lowercases like Python's str.lower() (Unicode 14, Python 3.11), which
/// sentence-transformers applies before tokenizing when a model's
/// sentence_bert_config.json says do_lower_case: the full lowercase mapping
/// of each character (U+0130 becomes "i\u0307") and the final-sigma rule
/// (U+03A3 becomes final U+03C2 when a cased letter precedes it and none
/// follows, case-ignorable characters skipped on both sides; else U+03C3).
/// Not BertNormalizer's lowercase, which maps every U+03A3 to U+03C3.
inline std::u32string python_lower(std::u32string_view s) {
  std::u32string out;
  out.reserve(s.size());
  const auto flags = [](char32_t c) { return char_record(c).flags; };
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char32_t c = s[i];
    if (c == U'\u03A3') {
      // Final when the first non-ignorable before it is cased and the first after it is not.
      std::size_t j = i;
      while (j > 0 && (flags(s[j - 1]) & detail::kCaseIgnorable)) --j;
      bool final_sigma = j > 0 && (flags(s[j - 1]) & detail::kCased);
      if (final_sigma) {
        std::size_t k = i + 1;
        while (k < s.size() && (flags(s[k]) & detail::kCaseIgnorable)) ++k;
        final_sigma = k == s.size() || !(flags(s[k]) & detail::kCased);
      }
      out.push_back(final_sigma ? U'\u03C2' : U'\u03C3');
    } else if (flags(c) & detail::kPythonKeepsCase) {
      out.push_back(c);
    } else {
      append_lowercase(c, out);
    }
  }
  return out;
}

/// python_lower on UTF-8 (invalid bytes read as U+FFFD).
inline std::string python_lower(std::string_view utf8) { return encode_utf8(python_lower(decode_utf8(utf8))); }

}  // namespace embedrank::text
