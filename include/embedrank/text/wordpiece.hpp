#pragma once
/// WordPiece as the Hugging Face fast tokenizer (Rust `tokenizers`) runs it:
/// BertNormalizer, BertPreTokenizer and the greedy longest-match WordPiece
/// model. Special and added tokens are handled by Tokenizer, around this.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "embedrank/core/error.hpp"
#include "embedrank/text/unicode.hpp"

namespace embedrank::text {

/// BertNormalizer flags (tokenizer.json "normalizer"); strip_accents is
/// already resolved (Hugging Face's null means "same as lowercase").
struct BertNormalizerOptions {
  bool clean_text = true;
  bool handle_chinese_chars = true;
  bool strip_accents = true;
  bool lowercase = true;
};

/// Normalizes `text` into `out` in the fast tokenizer's order: clean text,
/// space around CJK ideographs, strip accents (NFD, drop nonspacing marks),
/// lowercase. `scratch` is reused storage. With `source`, each output
/// character's index in `text` (the character it came from; the spaces
/// around an ideograph come from the ideograph) is written there, for token
/// offsets; `source_scratch` is its reused storage.
inline void bert_normalize(std::u32string_view text, const BertNormalizerOptions& options, std::u32string& out,
                           std::u32string& scratch, std::vector<std::uint32_t>* source = nullptr,
                           std::vector<std::uint32_t>* source_scratch = nullptr) {
  out.clear();
  out.reserve(text.size() + 8);
  if (source) source->clear();
  for (std::size_t i = 0; i < text.size(); ++i) {
    char32_t c = text[i];
    const std::uint8_t flags = char_record(c).flags;
    if (options.clean_text) {
      // Controls are tested first, so VT, FF and NEL are dropped, not spaced.
      if (flags & detail::kDropByCleanText) continue;
      if (flags & detail::kSpaceByCleanText) c = U' ';
    }
    if (options.handle_chinese_chars && is_chinese_char(c)) {
      out.push_back(U' ');
      out.push_back(c);
      out.push_back(U' ');
    } else {
      out.push_back(c);
    }
    if (source) source->resize(out.size(), static_cast<std::uint32_t>(i));
  }
  if (options.strip_accents) {
    nfd(out, scratch, source ? source_scratch : nullptr);
    out.clear();
    std::size_t kept = 0;
    for (std::size_t j = 0; j < scratch.size(); ++j) {
      if (has_flag(scratch[j], detail::kNonspacingMark)) continue;
      out.push_back(scratch[j]);
      // source_scratch maps into the pre-NFD string, whose characters map into text
      if (source) (*source_scratch)[kept++] = (*source)[(*source_scratch)[j]];
    }
    if (source) {
      source_scratch->resize(kept);
      source->swap(*source_scratch);
    }
  }
  if (options.lowercase) {
    scratch.clear();
    bool ascii_only = true;
    for (char32_t c : out) ascii_only = ascii_only && c < 0x80;
    if (ascii_only) {
      for (char32_t& c : out)
        if (c >= U'A' && c <= U'Z') c += 32;
    } else {
      if (source) source_scratch->clear();
      for (std::size_t j = 0; j < out.size(); ++j) {
        append_lowercase(out[j], scratch);
        if (source) source_scratch->resize(scratch.size(), (*source)[j]);
      }
      out.swap(scratch);
      if (source) source->swap(*source_scratch);
    }
  }
}

/// BertPreTokenizer: splits on whitespace (dropped) and isolates every
/// punctuation character (ASCII symbols and Unicode P*). Appends [begin, end)
/// ranges into `text` to `words`.
inline void bert_pre_tokenize(std::u32string_view text, std::vector<std::pair<std::size_t, std::size_t>>& words) {
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const std::uint8_t flags = char_record(text[i]).flags;
    if (flags & (detail::kWhitespace | detail::kPunctuation)) {
      if (start < i) words.emplace_back(start, i);
      if (flags & detail::kPunctuation) words.emplace_back(i, i + 1);
      start = i + 1;
    }
  }
  if (start < text.size()) words.emplace_back(start, text.size());
}

/// A string -> id table over the vocabulary's own storage (open addressing),
/// looked up by string_view so WordPiece never builds candidate strings.
class VocabTable {
 public:
  VocabTable() = default;

  /// keys[i] must outlive the table.
  void build(const std::vector<std::string_view>& keys, const std::vector<std::int32_t>& ids) {
    std::size_t capacity = 16;
    while (capacity < keys.size() * 2) capacity *= 2;
    slots_.assign(capacity, Slot{});
    mask_ = capacity - 1;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      std::size_t h = hash(keys[i]) & mask_;
      while (slots_[h].id >= 0 && slots_[h].key != keys[i]) h = (h + 1) & mask_;
      if (slots_[h].id < 0) slots_[h] = Slot{keys[i], ids[i]};  // first occurrence wins
    }
  }

  /// Id of `key`, or -1.
  std::int32_t find(std::string_view key) const {
    if (slots_.empty()) return -1;
    std::size_t h = hash(key) & mask_;
    while (slots_[h].id >= 0) {
      if (slots_[h].key == key) return slots_[h].id;
      h = (h + 1) & mask_;
    }
    return -1;
  }

 private:
  struct Slot {
    std::string_view key;
    std::int32_t id = -1;
  };

  static std::size_t hash(std::string_view s) {
    // FNV-1a, 64-bit.
    std::uint64_t h = 1469598103934665603ull;
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    return static_cast<std::size_t>(h ^ (h >> 29));
  }

  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
};

/// The WordPiece model: greedy longest match of vocabulary pieces, pieces
/// after the first carry the continuing-subword prefix ("##").
class WordPieceModel {
 public:
  /// Throws FormatError when the vocabulary is empty or lacks unk_token.
  WordPieceModel(std::vector<std::string> vocab, const std::string& unk_token, std::string continuing_subword_prefix,
                 std::size_t max_input_chars_per_word, const std::string& source)
      : vocab_(std::move(vocab)),
        prefix_(std::move(continuing_subword_prefix)),
        max_input_chars_per_word_(max_input_chars_per_word) {
    if (vocab_.empty()) throw FormatError("tokenizer.empty_vocab", source + ": tokenizer.vocab is empty");
    std::vector<std::string_view> word_keys, continuation_keys;
    std::vector<std::int32_t> word_ids, continuation_ids;
    for (std::size_t id = 0; id < vocab_.size(); ++id) {
      const std::string_view piece = vocab_[id];
      word_keys.push_back(piece);
      word_ids.push_back(static_cast<std::int32_t>(id));
      if (piece.size() > prefix_.size() && piece.compare(0, prefix_.size(), prefix_) == 0) {
        continuation_keys.push_back(piece.substr(prefix_.size()));
        continuation_ids.push_back(static_cast<std::int32_t>(id));
      }
    }
    words_.build(word_keys, word_ids);
    continuations_.build(continuation_keys, continuation_ids);
    unk_id_ = words_.find(unk_token);
    if (unk_id_ < 0)
      throw FormatError("tokenizer.missing_unk", source + ": unknown token '" + unk_token + "' is not in tokenizer.vocab");
  }

  /// Appends the ids of one pre-tokenized word (code points) to `ids`;
  /// `utf8` is scratch storage. With `pieces`, appends each token's
  /// [begin, end) in code points of `word` (an unknown word: all of it).
  void tokenize(std::u32string_view word, std::vector<std::int32_t>& ids, std::string& utf8,
                std::vector<std::pair<std::size_t, std::size_t>>* pieces = nullptr) const {
    if (word.size() > max_input_chars_per_word_) {
      ids.push_back(unk_id_);
      if (pieces) pieces->emplace_back(0, word.size());
      return;
    }
    utf8.clear();
    for (char32_t c : word) append_utf8(c, utf8);
    const std::size_t first = ids.size();
    const std::size_t first_piece = pieces ? pieces->size() : 0;
    std::size_t start = 0, start_char = 0;
    while (start < utf8.size()) {
      std::size_t end = utf8.size();
      std::int32_t found = -1;
      while (start < end) {
        const std::string_view piece(utf8.data() + start, end - start);
        found = start == 0 ? words_.find(piece) : continuations_.find(piece);
        if (found >= 0) break;
        // Step back one whole character.
        do --end;
        while (end > start && (static_cast<unsigned char>(utf8[end]) & 0xC0) == 0x80);
      }
      if (found < 0) {
        // A word that cannot be matched completely is one unknown token.
        ids.resize(first);
        ids.push_back(unk_id_);
        if (pieces) {
          pieces->resize(first_piece);
          pieces->emplace_back(0, word.size());
        }
        return;
      }
      ids.push_back(found);
      if (pieces) {
        std::size_t end_char = start_char;
        for (std::size_t b = start; b < end; ++b) end_char += (static_cast<unsigned char>(utf8[b]) & 0xC0) != 0x80;
        pieces->emplace_back(start_char, end_char);
        start_char = end_char;
      }
      start = end;
    }
  }

  // The lookup tables point into vocab_, so a copy would dangle; moves keep the storage.
  WordPieceModel(const WordPieceModel&) = delete;
  WordPieceModel& operator=(const WordPieceModel&) = delete;
  WordPieceModel(WordPieceModel&&) = default;
  WordPieceModel& operator=(WordPieceModel&&) = default;

  std::int32_t unk_id() const { return unk_id_; }
  std::size_t vocab_size() const { return vocab_.size(); }
  /// The piece of `id`; throws InputError when out of range.
  const std::string& piece(std::int32_t id) const {
    if (id < 0 || static_cast<std::size_t>(id) >= vocab_.size())
      throw InputError("tokenizer.bad_id", "token id " + std::to_string(id) + " is outside the vocabulary of " +
                                               std::to_string(vocab_.size()));
    return vocab_[static_cast<std::size_t>(id)];
  }

 private:
  std::vector<std::string> vocab_;  // id -> piece
  std::string prefix_;
  std::size_t max_input_chars_per_word_;
  VocabTable words_;          // piece -> id
  VocabTable continuations_;  // piece without the prefix -> id, for pieces that carry it
  std::int32_t unk_id_ = -1;
};

}  // namespace embedrank::text
