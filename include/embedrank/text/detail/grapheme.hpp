#pragma once
/// Extended grapheme clusters (Unicode Standard Annex #29), as the Rust crate
/// unicode-segmentation finds them (`graphemes(true)`) for the Hugging Face
/// Precompiled normalizer. Data: detail/grapheme_tables.hpp, Unicode 17.0.
///
/// Rules GB3..GB13 and GB999. GB9c (Indic conjunct clusters) is left out on
/// purpose: it only joins clusters that hold an Indic consonant and another
/// character, i.e. clusters of 6 UTF-8 bytes or more, which the Precompiled
/// normalizer maps character by character either way; where GB9c would
/// join, the characters after the join start a cluster with that consonant,
/// again 6 bytes or more as soon as it holds more than one character.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "embedrank/text/detail/grapheme_tables.hpp"

namespace embedrank::text::detail {

/// Grapheme_Cluster_Break values, as numbered in grapheme_tables.hpp.
enum GraphemeBreak : std::uint8_t {
  kGbOther = 0,
  kGbCR,
  kGbLF,
  kGbControl,
  kGbExtend,
  kGbZWJ,
  kGbRegionalIndicator,
  kGbPrepend,
  kGbSpacingMark,
  kGbL,
  kGbV,
  kGbT,
  kGbLV,
  kGbLVT,
};
inline constexpr std::uint8_t kExtendedPictographic = 0x10;

/// Grapheme_Cluster_Break | kExtendedPictographic of one code point.
inline std::uint8_t grapheme_property(char32_t c) {
  if (c < 0x7F) return c < 0x20 ? (c == '\r' ? kGbCR : c == '\n' ? kGbLF : kGbControl) : kGbOther;
  const GraphemeRange* begin = std::begin(kGraphemeRanges);
  const GraphemeRange* end = std::end(kGraphemeRanges);
  const GraphemeRange* it =
      std::upper_bound(begin, end, static_cast<std::uint32_t>(c), [](std::uint32_t v, const GraphemeRange& r) { return v < r.first; });
  if (it == begin) return 0;
  --it;
  return c <= it->last ? it->value : 0;
}

/// The end of the extended grapheme cluster that starts at text[begin]
/// (begin < text.size()).
inline std::size_t grapheme_end(std::u32string_view text, std::size_t begin) {
  const auto is_control = [](std::uint8_t b) { return b == kGbCR || b == kGbLF || b == kGbControl; };
  std::uint8_t prop = grapheme_property(text[begin]);
  std::uint8_t prev = prop & 0x0F;
  // GB11 state: the cluster so far ends in ExtPict Extend*, or in ExtPict Extend* ZWJ.
  bool pictographic_run = prop & kExtendedPictographic;
  bool zwj_after_pictographic = false;
  // GB12/13: regional indicators in the run that ends at prev.
  std::size_t regional = prev == kGbRegionalIndicator ? 1 : 0;
  std::size_t end = begin + 1;
  for (; end < text.size(); ++end) {
    prop = grapheme_property(text[end]);
    const std::uint8_t cur = prop & 0x0F;
    const bool pictographic = prop & kExtendedPictographic;
    const auto joins = [&] {
      if (prev == kGbCR && cur == kGbLF) return true;                                     // GB3
      if (is_control(prev) || is_control(cur)) return false;                              // GB4, GB5
      if (prev == kGbL && (cur == kGbL || cur == kGbV || cur == kGbLV || cur == kGbLVT)) return true;  // GB6
      if ((prev == kGbLV || prev == kGbV) && (cur == kGbV || cur == kGbT)) return true;   // GB7
      if ((prev == kGbLVT || prev == kGbT) && cur == kGbT) return true;                   // GB8
      if (cur == kGbExtend || cur == kGbZWJ || cur == kGbSpacingMark) return true;        // GB9, GB9a
      if (prev == kGbPrepend) return true;                                                // GB9b
      if (prev == kGbZWJ && zwj_after_pictographic && pictographic) return true;          // GB11
      if (prev == kGbRegionalIndicator && cur == kGbRegionalIndicator) return regional % 2 == 1;  // GB12, GB13
      return false;                                                                       // GB999
    };
    const bool join = joins();
    if (!join) break;
    zwj_after_pictographic = cur == kGbZWJ && pictographic_run;
    if (pictographic) pictographic_run = true;
    else if (cur != kGbExtend) pictographic_run = false;
    regional = cur == kGbRegionalIndicator ? regional + 1 : 0;
    prev = cur;
  }
  return end;
}

}  // namespace embedrank::text::detail
