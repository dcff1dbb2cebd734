#pragma once
/// The Precompiled normalizer of SentencePiece models, as Hugging Face
/// tokenizers runs it (normalizers/precompiled.rs with the spm_precompiled
/// crate), over the model's precompiled charsmap:
///
///   charsmap = uint32 trie size in bytes (little endian)
///            | trie: darts-clone double-array units (uint32 each)
///            | normalized strings, UTF-8, each NUL-terminated
///
/// A key is a byte string (one or more characters); its leaf value is the
/// offset of its replacement in the strings.
///
/// normalize(): the text is cut into extended grapheme clusters
/// (detail/grapheme.hpp). A cluster shorter than 6 UTF-8 bytes is replaced as
/// a whole when any key is a prefix of it, by the replacement of the
/// *shortest* such key (so fullwidth `Ａ` + U+0301 becomes `A`: the accent is
/// dropped). Otherwise each character is looked up alone. libsentencepiece
/// instead takes the longest key at each byte position; the two differ on
/// combining sequences (halfwidth `ｶﾞ` stays `カ` + U+3099 here).
///
/// parse() checks the blob so that no lookup can leave it: the trie is walked
/// from its root over every byte label, as the prefix search steps, and each
/// position it reaches lies inside the array, each leaf value at the start of
/// a character inside the strings (which must be UTF-8, as the Rust crate
/// requires).

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "embedrank/core/error.hpp"
#include "embedrank/text/detail/alignment.hpp"
#include "embedrank/text/detail/grapheme.hpp"
#include "embedrank/text/unicode.hpp"

namespace embedrank::text::detail {

class PrecompiledCharsmap {
 public:
  /// No rules: normalize() copies its input.
  PrecompiledCharsmap() = default;

  /// Checks and copies `blob` (see the file comment); throws FormatError
  /// "tokenizer.bad_sentencepiece" naming `source` when it is damaged.
  static PrecompiledCharsmap parse(std::string_view blob, const std::string& source) {
    const auto fail = [&](const std::string& why) {
      throw FormatError("tokenizer.bad_sentencepiece",
                        source + ": tokenizer.sentencepiece_model is damaged (normalizer_spec: " + why + ")");
    };
    PrecompiledCharsmap out;
    if (blob.empty()) return out;
    if (blob.size() < 4) fail("charsmap of " + std::to_string(blob.size()) + " bytes");
    std::uint32_t trie_bytes = 0;
    for (int i = 3; i >= 0; --i) trie_bytes = trie_bytes << 8 | static_cast<unsigned char>(blob[static_cast<std::size_t>(i)]);
    if (trie_bytes == 0 || trie_bytes % 4 != 0 || trie_bytes > blob.size() - 4)
      fail("trie of " + std::to_string(trie_bytes) + " bytes in a charsmap of " + std::to_string(blob.size()));
    const std::size_t units = trie_bytes / 4;
    out.units_.resize(units);
    for (std::size_t i = 0; i < units; ++i) {
      std::uint32_t u = 0;
      for (int b = 3; b >= 0; --b) u = u << 8 | static_cast<unsigned char>(blob[4 + 4 * i + static_cast<std::size_t>(b)]);
      out.units_[i] = u;
    }
    out.strings_ = std::string(blob.substr(4 + trie_bytes));
    if (out.strings_.empty() || out.strings_.back() != '\0') fail("normalized strings not NUL-terminated");
    if (!is_valid_utf8(out.strings_)) fail("normalized strings are not UTF-8");
    std::vector<bool> seen(units, false);
    std::vector<std::size_t> bases{static_cast<std::size_t>(offset(out.units_[0]))};  // the root's children
    while (!bases.empty()) {
      const std::size_t base = bases.back();
      bases.pop_back();
      if ((base | 0xFF) >= units) fail("trie position " + std::to_string(base | 0xFF) + " of " + std::to_string(units));
      for (std::size_t label = 1; label < 256; ++label) {  // the search stops at a NUL byte
        const std::size_t pos = base ^ label;
        const std::uint32_t u = out.units_[pos];
        if (label_of(u) != label) continue;
        const std::size_t child = pos ^ offset(u);
        if (child >= units) fail("trie position " + std::to_string(child) + " of " + std::to_string(units));
        if (has_leaf(u)) {
          const std::uint32_t value = value_of(out.units_[child]);
          if (value >= out.strings_.size()) fail("trie value " + std::to_string(value) + " past the normalized strings");
          if ((static_cast<unsigned char>(out.strings_[value]) & 0xC0) == 0x80)
            fail("trie value " + std::to_string(value) + " inside a character");
        }
        if (!seen[child]) {
          seen[child] = true;
          bases.push_back(child);
        }
      }
    }
    return out;
  }

  bool empty() const { return units_.empty(); }

  /// The replacement of the shortest key that is a prefix of `bytes`; false
  /// when no key is (spm_precompiled's transform()).
  bool transform(std::string_view bytes, std::string_view& replacement) const {
    std::size_t pos = offset(units_[0]);
    for (char ch : bytes) {
      const auto byte = static_cast<unsigned char>(ch);
      if (byte == 0) return false;
      pos ^= byte;
      const std::uint32_t u = units_[pos];
      if (label_of(u) != byte) return false;
      pos ^= offset(u);
      if (has_leaf(u)) {
        const char* begin = strings_.data() + value_of(units_[pos]);
        replacement = std::string_view(begin, std::strlen(begin));
        return true;
      }
    }
    return false;
  }

  /// Appends the normalized UTF-8 of `text` to `out` (see the file comment).
  void normalize(std::u32string_view text, std::string& out) const {
    visit(
        text, [&](std::size_t, std::size_t, std::string_view replacement) { out += replacement; },
        [&](std::size_t i) { append_utf8(text[i], out); });
  }

  /// normalize() that also gives each output byte's source character in
  /// `text` (detail/alignment.hpp), with the changes Hugging Face's
  /// Precompiled normalizer hands NormalizedString::transform: a replacement
  /// of n characters by m keeps change 0 for its first min(n, m) characters,
  /// +1 for the extra ones, and puts m - n on its last one when shorter.
  void normalize_aligned(std::u32string_view text, std::string& out, std::vector<std::uint32_t>& source) const {
    std::string original;
    std::vector<std::uint32_t> original_source;
    for (std::size_t i = 0; i < text.size(); ++i) {
      append_utf8(text[i], original);
      original_source.resize(original.size(), static_cast<std::uint32_t>(i));
    }
    std::vector<CharChange> changes;
    bool modified = false;
    visit(
        text,
        [&](std::size_t begin, std::size_t end, std::string_view replacement) {
          modified = true;
          const std::size_t first = changes.size();
          for (std::size_t i = 0; i < replacement.size();) changes.push_back({decode_utf8(replacement, i), 0});
          const auto added = static_cast<std::ptrdiff_t>(changes.size() - first) - static_cast<std::ptrdiff_t>(end - begin);
          if (added > 0) {
            for (std::size_t k = changes.size() - static_cast<std::size_t>(added); k < changes.size(); ++k) changes[k].change = 1;
          } else if (added < 0 && !changes.empty()) {
            changes.back().change += static_cast<int>(added);  // the reference's last_mut(): maybe an earlier cluster's
          }
        },
        [&](std::size_t i) { changes.push_back({text[i], 0}); });
    if (!modified) {
      out += original;
      source.insert(source.end(), original_source.begin(), original_source.end());
      return;
    }
    std::string normalized;
    std::vector<std::uint32_t> normalized_source;
    transform_aligned(original, original_source, changes, 0, normalized, normalized_source);
    out += normalized;
    source.insert(source.end(), normalized_source.begin(), normalized_source.end());
  }

 private:
  // Walks `text` as normalize() does: replaced(begin, end, replacement) for
  // characters [begin, end) replaced together (a cluster under 6 bytes, or
  // one character of a longer cluster), kept(i) for a character left as it is.
  template <typename Replaced, typename Kept>
  void visit(std::u32string_view text, Replaced&& replaced, Kept&& kept) const {
    std::string cluster, character;
    std::string_view replacement;
    std::size_t begin = 0;
    while (begin < text.size()) {
      const std::size_t end = empty() ? begin + 1 : grapheme_end(text, begin);
      cluster.clear();
      for (std::size_t i = begin; i < end; ++i) append_utf8(text[i], cluster);
      if (!empty() && cluster.size() < 6 && transform(cluster, replacement)) {
        replaced(begin, end, replacement);
      } else {
        for (std::size_t i = begin; i < end; ++i) {
          character.clear();
          append_utf8(text[i], character);
          if (!empty() && transform(character, replacement)) replaced(i, i + 1, replacement);
          else kept(i);
        }
      }
      begin = end;
    }
  }

  // darts-clone's unit: label = bits 0-7 (| bit 31 for a leaf value), has_leaf
  // = bit 8, offset = (unit >> 10) << (bit 9 ? 8 : 0), value = bits 0-30.
  static std::size_t offset(std::uint32_t u) { return (u >> 10) << ((u & (1u << 9)) >> 6); }
  static std::uint32_t label_of(std::uint32_t u) { return u & ((1u << 31) | 0xFF); }
  static bool has_leaf(std::uint32_t u) { return (u >> 8) & 1; }
  static std::uint32_t value_of(std::uint32_t u) { return u & ((1u << 31) - 1); }
  static std::size_t utf8_length(unsigned char lead) { return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4; }

  std::vector<std::uint32_t> units_;  // the double array
  std::string strings_;               // the normalized strings
};

}  // namespace embedrank::text::detail
