#pragma once
/// Checks a serialized SentencePiece ModelProto before libsentencepiece sees
/// it. libsentencepiece trusts its input: a charsmap whose trie points
/// outside the blob is read out of bounds on the first encode, and a piece
/// with a NUL byte makes its trie builder throw through frames that cannot
/// pass an exception. Here the protobuf wire format is walked with every
/// length checked, and the parts that libsentencepiece indexes without
/// checks are verified:
///
///   ModelProto            1: pieces (repeated SentencePiece)
///                         3: normalizer_spec, 5: denormalizer_spec
///   SentencePiece         1: piece (non-empty UTF-8, no NUL), 3: type (1..6)
///   NormalizerSpec        2: precompiled_charsmap
///
///   precompiled_charsmap = uint32 trie size (little endian, bytes)
///                          | trie: double-array units (uint32 each)
///                          | normalized strings, NUL-terminated, that the
///                            trie's leaf values index
///
/// The trie is walked from its root over every byte label, as darts-clone's
/// commonPrefixSearch would step: each position it can reach lies inside the
/// array and each leaf value inside the strings.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "embedrank/core/error.hpp"
#include "embedrank/text/unicode.hpp"

namespace embedrank::text::detail {

/// A bounds-checked reader of protobuf wire format; every failure is a
/// FormatError "tokenizer.bad_sentencepiece" naming `source` and `what`.
class ProtoReader {
 public:
  ProtoReader(std::string_view data, const std::string& source, const char* what)
      : data_(data), source_(source), what_(what) {}

  bool done() const { return pos_ == data_.size(); }

  /// The next field's number and wire type.
  void next_field(std::uint64_t& field, int& wire_type) {
    const std::uint64_t tag = varint();
    field = tag >> 3;
    wire_type = static_cast<int>(tag & 7);
    if (field == 0) fail("field number 0");
  }

  std::uint64_t varint() {
    std::uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= data_.size()) fail("truncated varint");
      const auto byte = static_cast<unsigned char>(data_[pos_++]);
      value |= static_cast<std::uint64_t>(byte & 0x7F) << shift;
      if ((byte & 0x80) == 0) return value;
    }
    fail("varint longer than 10 bytes");
  }

  std::string_view bytes() {
    const std::uint64_t length = varint();
    if (length > data_.size() - pos_) fail("a length of " + std::to_string(length) + " past the end");
    const std::string_view out = data_.substr(pos_, static_cast<std::size_t>(length));
    pos_ += static_cast<std::size_t>(length);
    return out;
  }

  /// Skips a field of `wire_type` (groups are refused: proto3 and
  /// SentencePiece never write them).
  void skip(int wire_type) {
    switch (wire_type) {
      case 0: varint(); return;
      case 1: advance(8); return;
      case 2: bytes(); return;
      case 5: advance(4); return;
      default: fail("wire type " + std::to_string(wire_type));
    }
  }

  [[noreturn]] void fail(const std::string& why) const {
    throw FormatError("tokenizer.bad_sentencepiece", source_ + ": tokenizer.sentencepiece_model is damaged (" + what_ +
                                                         ": " + why + " at byte " + std::to_string(pos_) + ")");
  }

 private:
  void advance(std::size_t n) {
    if (n > data_.size() - pos_) fail("truncated fixed-size field");
    pos_ += n;
  }

  std::string_view data_;
  std::size_t pos_ = 0;
  const std::string& source_;
  std::string what_;
};

/// Checks one precompiled charsmap (see the file comment).
inline void check_precompiled_charsmap(std::string_view blob, const std::string& source, const char* what) {
  const auto fail = [&](const std::string& why) {
    throw FormatError("tokenizer.bad_sentencepiece",
                      source + ": tokenizer.sentencepiece_model is damaged (" + what + ": " + why + ")");
  };
  if (blob.empty()) return;  // no normalization rules
  if (blob.size() < 4) fail("charsmap of " + std::to_string(blob.size()) + " bytes");
  std::uint32_t trie_bytes = 0;
  for (int i = 3; i >= 0; --i) trie_bytes = trie_bytes << 8 | static_cast<unsigned char>(blob[static_cast<std::size_t>(i)]);
  if (trie_bytes == 0 || trie_bytes % 4 != 0 || trie_bytes > blob.size() - 4)
    fail("trie of " + std::to_string(trie_bytes) + " bytes in a charsmap of " + std::to_string(blob.size()));
  const std::size_t units = trie_bytes / 4;
  const std::string_view strings = blob.substr(4 + trie_bytes);
  if (strings.empty() || strings.back() != '\0') fail("normalized strings not NUL-terminated");
  std::vector<std::uint32_t> unit(units);
  std::memcpy(unit.data(), blob.data() + 4, trie_bytes);  // little endian, as libsentencepiece reads it on x86
  // darts-clone's unit: label = bits 0-7 (| bit 31 for a leaf value), has_leaf
  // = bit 8, offset = (unit >> 10) << (bit 9 ? 8 : 0), value = bits 0-30
  const auto offset = [](std::uint32_t u) { return (u >> 10) << ((u & (1u << 9)) >> 6); };
  std::vector<bool> seen(units, false);
  std::vector<std::size_t> bases{static_cast<std::size_t>(offset(unit[0]))};  // the root's children
  while (!bases.empty()) {
    const std::size_t base = bases.back();
    bases.pop_back();
    if ((base | 0xFF) >= units) fail("trie position " + std::to_string(base | 0xFF) + " of " + std::to_string(units));
    for (std::size_t label = 0; label < 256; ++label) {
      const std::size_t pos = base ^ label;
      const std::uint32_t u = unit[pos];
      if ((u & ((1u << 31) | 0xFF)) != label) continue;
      const std::size_t child = pos ^ offset(u);
      if (child >= units) fail("trie position " + std::to_string(child) + " of " + std::to_string(units));
      if ((u >> 8) & 1) {
        const std::uint32_t value = unit[child] & ((1u << 31) - 1);
        if (value >= strings.size()) fail("trie value " + std::to_string(value) + " past the normalized strings");
      }
      if (!seen[child]) {
        seen[child] = true;
        bases.push_back(child);
      }
    }
  }
}

/// Checks a serialized ModelProto (see the file comment); returns its piece
/// count. Throws FormatError "tokenizer.bad_sentencepiece" naming `source`.
inline std::size_t check_sentencepiece_model(std::string_view serialized, const std::string& source) {
  ProtoReader model(serialized, source, "ModelProto");
  std::size_t pieces = 0;
  std::unordered_set<std::string_view> distinct;
  while (!model.done()) {
    std::uint64_t field;
    int wire_type;
    model.next_field(field, wire_type);
    if (wire_type != 2 || (field != 1 && field != 3 && field != 5)) {
      model.skip(wire_type);
      continue;
    }
    const std::string_view message = model.bytes();
    if (field == 1) {
      ProtoReader piece(message, source, "piece");
      bool has_text = false;
      while (!piece.done()) {
        std::uint64_t f;
        int w;
        piece.next_field(f, w);
        if (f == 1 && w == 2) {
          const std::string_view text = piece.bytes();
          if (text.empty()) piece.fail("empty piece " + std::to_string(pieces));
          if (text.find('\0') != std::string_view::npos) piece.fail("NUL byte in piece " + std::to_string(pieces));
          if (!is_valid_utf8(text)) piece.fail("piece " + std::to_string(pieces) + " is not UTF-8");
          if (!distinct.insert(text).second) piece.fail("piece " + std::to_string(pieces) + " repeats an earlier one");
          has_text = true;
        } else if (f == 3 && w == 0) {
          const std::uint64_t type = piece.varint();
          if (type < 1 || type > 6) piece.fail("piece " + std::to_string(pieces) + " has type " + std::to_string(type));
        } else {
          piece.skip(w);
        }
      }
      if (!has_text) model.fail("piece " + std::to_string(pieces) + " has no text");
      ++pieces;
    } else {
      const char* what = field == 3 ? "normalizer_spec" : "denormalizer_spec";
      ProtoReader spec(message, source, what);
      while (!spec.done()) {
        std::uint64_t f;
        int w;
        spec.next_field(f, w);
        if (f == 2 && w == 2) check_precompiled_charsmap(spec.bytes(), source, what);
        else spec.skip(w);
      }
    }
  }
  if (pieces == 0) model.fail("no pieces");
  return pieces;
}

}  // namespace embedrank::text::detail
