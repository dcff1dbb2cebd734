#pragma once
/// Reads a serialized SentencePiece ModelProto (protobuf wire format) with
/// every length checked: the parts embedrank's SentencePiece tokenizer needs.
///
///   ModelProto            1: pieces (repeated SentencePiece)
///                         2: trainer_spec, 3: normalizer_spec
///   SentencePiece         1: piece (non-empty UTF-8, no NUL, unique)
///                         2: score (float), 3: type (1..6)
///   TrainerSpec           3: model_type (1 = unigram), 35: byte_fallback
///   NormalizerSpec        2: precompiled_charsmap (checked by
///                            detail/precompiled_charsmap.hpp)
///                         3: add_dummy_prefix (default true)
///
/// Anything damaged is a FormatError "tokenizer.bad_sentencepiece" naming the
/// source, the part and the byte offset.

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

  /// A little-endian float (wire type 5).
  float fixed32_float() {
    if (4 > data_.size() - pos_) fail("truncated fixed-size field");
    std::uint32_t bits = 0;
    for (int i = 3; i >= 0; --i) bits = bits << 8 | static_cast<unsigned char>(data_[pos_ + static_cast<std::size_t>(i)]);
    pos_ += 4;
    float value;
    std::memcpy(&value, &bits, sizeof value);
    return value;
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

/// What a ModelProto holds for tokenization; the views point into the
/// serialized bytes.
struct SentencePieceProto {
  struct Piece {
    std::string_view text;
    float score = 0.0f;
    int type = 1;  // 1 normal, 2 unknown, 3 control, 4 user defined, 5 unused, 6 byte
  };
  std::vector<Piece> pieces;
  std::string_view precompiled_charsmap;  // empty: no normalization rules
  bool add_dummy_prefix = true;
  std::uint64_t model_type = 1;  // 1 unigram, 2 BPE, 3 word, 4 char
  bool byte_fallback = false;
};

/// Parses a serialized ModelProto (see the file comment). Throws FormatError
/// "tokenizer.bad_sentencepiece" naming `source`.
inline SentencePieceProto parse_sentencepiece_model(std::string_view serialized, const std::string& source) {
  ProtoReader model(serialized, source, "ModelProto");
  SentencePieceProto out;
  std::unordered_set<std::string_view> distinct;
  while (!model.done()) {
    std::uint64_t field;
    int wire_type;
    model.next_field(field, wire_type);
    if (wire_type != 2 || field < 1 || field > 3) {
      model.skip(wire_type);
      continue;
    }
    const std::string_view message = model.bytes();
    if (field == 1) {
      const std::string index = std::to_string(out.pieces.size());
      ProtoReader piece(message, source, "piece");
      SentencePieceProto::Piece p;
      bool has_text = false;
      while (!piece.done()) {
        std::uint64_t f;
        int w;
        piece.next_field(f, w);
        if (f == 1 && w == 2) {
          p.text = piece.bytes();
          if (p.text.empty()) piece.fail("empty piece " + index);
          if (p.text.find('\0') != std::string_view::npos) piece.fail("NUL byte in piece " + index);
          if (!is_valid_utf8(p.text)) piece.fail("piece " + index + " is not UTF-8");
          if (!distinct.insert(p.text).second) piece.fail("piece " + index + " repeats an earlier one");
          has_text = true;
        } else if (f == 2 && w == 5) {
          p.score = piece.fixed32_float();
        } else if (f == 3 && w == 0) {
          const std::uint64_t type = piece.varint();
          if (type < 1 || type > 6) piece.fail("piece " + index + " has type " + std::to_string(type));
          p.type = static_cast<int>(type);
        } else {
          piece.skip(w);
        }
      }
      if (!has_text) model.fail("piece " + index + " has no text");
      out.pieces.push_back(p);
    } else if (field == 2) {
      ProtoReader spec(message, source, "trainer_spec");
      while (!spec.done()) {
        std::uint64_t f;
        int w;
        spec.next_field(f, w);
        if (f == 3 && w == 0) out.model_type = spec.varint();
        else if (f == 35 && w == 0) out.byte_fallback = spec.varint() != 0;
        else spec.skip(w);
      }
    } else {
      ProtoReader spec(message, source, "normalizer_spec");
      while (!spec.done()) {
        std::uint64_t f;
        int w;
        spec.next_field(f, w);
        if (f == 2 && w == 2) out.precompiled_charsmap = spec.bytes();
        else if (f == 3 && w == 0) out.add_dummy_prefix = spec.varint() != 0;
        else spec.skip(w);
      }
    }
  }
  if (out.pieces.empty()) model.fail("no pieces");
  if (out.model_type != 1) model.fail("trainer_spec.model_type " + std::to_string(out.model_type) + " is not unigram");
  return out;
}

}  // namespace embedrank::text::detail
