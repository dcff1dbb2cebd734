#pragma once
/// Where each byte of a normalized string came from, kept the way Hugging
/// Face tokenizers' NormalizedString keeps its alignments, so that token
/// offsets equal the fast tokenizer's `offset_mapping`.
///
/// A normalized string carries, per UTF-8 byte, the index of the original
/// character it came from (kNoSource: none, for a character inserted before
/// everything). A normalizer step is a list of (character, change) over the
/// old string, as NormalizedString::transform takes it:
///   change  0  the character replaces the next old character;
///   change -n  it replaces the next old character and n more are removed;
///   change +1  it is inserted: it takes the source of the old character
///              before the current position.
/// A replaced character takes the source of the old character's first byte.
/// The byte arithmetic is the reference's, quirks included (a removal the
/// list never accounts for shifts later sources), because offsets must match
/// it, not an idealised rule.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "embedrank/text/unicode.hpp"

namespace embedrank::text::detail {

inline constexpr std::uint32_t kNoSource = std::numeric_limits<std::uint32_t>::max();

struct CharChange {
  char32_t c;
  int change;
};

inline std::size_t utf8_size(char32_t c) { return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4; }

/// NormalizedString::transform over the whole of `old_text` (UTF-8) whose
/// bytes came from `old_source`; writes the new string and its sources.
/// `initial_removed` old characters are dropped before the first change.
inline void transform_aligned(std::string_view old_text, const std::vector<std::uint32_t>& old_source,
                              const std::vector<CharChange>& changes, std::size_t initial_removed,
                              std::string& new_text, std::vector<std::uint32_t>& new_source) {
  new_text.clear();
  new_source.clear();
  std::size_t next = 0;  // byte position of the next old character not yet consumed
  const auto consume = [&] {
    if (next >= old_text.size()) return std::size_t{0};
    std::size_t i = next;
    decode_utf8(old_text, i);
    const std::size_t size = i - next;
    next = i;
    return size;
  };
  std::size_t offset = 0;
  for (std::size_t k = 0; k < initial_removed; ++k) offset += consume();
  for (const CharChange& ch : changes) {
    const std::size_t idx = offset;
    std::uint32_t source = kNoSource;
    if (ch.change > 0) {
      if (idx >= 1 && idx - 1 < old_source.size()) source = old_source[idx - 1];
    } else if (idx < old_source.size()) {
      source = old_source[idx];
    }
    if (ch.change <= 0) offset += consume();
    for (int k = 0; k < -ch.change; ++k) offset += consume();
    append_utf8(ch.c, new_text);
    new_source.resize(new_text.size(), source);
  }
}

/// [begin, end) in original characters of normalized bytes [first, last):
/// the first byte's source to the last byte's source + 1 ((0, 0) where a
/// byte has no source).
inline std::pair<std::size_t, std::size_t> original_range(const std::vector<std::uint32_t>& source, std::size_t first,
                                                          std::size_t last) {
  const std::uint32_t begin = source[first], end = source[last - 1];
  return {begin == kNoSource ? 0 : begin, end == kNoSource ? 0 : std::size_t{end} + 1};
}

}  // namespace embedrank::text::detail
