#pragma once
/// embedrank::text::Tokenizer: text -> token ids with the Hugging Face fast
/// tokenizer's results (WordPiece and SentencePiece unigram: own
/// implementations), built from a model file's "tokenizer.*" metadata
/// (docs/tokenizer.md lists the keys).
///
/// Pipeline of encode(): UTF-8 decode (ill-formed bytes -> U+FFFD, see
/// unicode.hpp) -> added tokens found in the raw text -> per remaining piece:
/// normalize, pre-tokenize, model -> truncation -> template ([CLS] A [SEP] /
/// [CLS] A [SEP] B [SEP], or <s> A </s> </s> B </s>) with type ids.
///
/// A Tokenizer is immutable: one instance may be shared by any number of
/// threads; copies share the loaded model.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "embedrank/core/error.hpp"
#include "embedrank/core/thread_pool.hpp"
#include "embedrank/io/metadata.hpp"
#include "embedrank/text/added_tokens.hpp"
#include "embedrank/text/sentencepiece.hpp"
#include "embedrank/text/unicode.hpp"
#include "embedrank/text/wordpiece.hpp"

namespace embedrank::text {

/// [begin, end) of a token in its text.
using TokenOffset = std::pair<std::size_t, std::size_t>;

/// One encoded text or text pair; every vector it fills has length T.
struct Encoding {
  std::vector<std::int32_t> ids;             // (T) token ids
  std::vector<std::int32_t> type_ids;        // (T) 0 for the first text, 1 for the second (BERT pairs)
  std::vector<std::int32_t> attention_mask;  // (T) all 1: encodings are never padded
  std::vector<std::string> tokens;           // (T) token strings, empty unless EncodeOptions::tokens
  /// (T) with EncodeOptions::offsets: each token's [begin, end) in characters
  /// (code points) of its own text (the first or the second of a pair), as
  /// the fast tokenizer's offset_mapping; (0, 0) for special tokens.
  std::vector<TokenOffset> offsets;
  std::vector<TokenOffset> byte_offsets;  // (T) the same in UTF-8 bytes of the text
  /// (T) with EncodeOptions::offsets: 1 for the template's special tokens,
  /// 0 for the text's own (special tokens written in the text included).
  std::vector<std::int32_t> special_tokens_mask;
};

struct EncodeOptions {
  bool add_special_tokens = true;  ///< apply the template ([CLS] ... [SEP])
  std::size_t max_length = 0;      ///< truncate to this many tokens, special tokens included; 0 = no limit
  bool tokens = false;             ///< also return the token strings
  bool offsets = false;            ///< also return the token offsets (character and byte)
};

/// Bits of tokenizer.added_token_flags.
enum AddedTokenFlag : std::int64_t { kAddedSpecial = 1, kAddedNormalized = 2, kAddedLstrip = 4, kAddedRstrip = 8, kAddedSingleWord = 16 };

class Tokenizer {
 public:
  enum class Kind { WordPiece, SentencePiece };

  /// Builds a tokenizer from "tokenizer.*" metadata. Throws FormatError
  /// naming the key (and metadata.source()) when a key is missing, has the
  /// wrong type or an unsupported value.
  static Tokenizer from_metadata(const io::Metadata& metadata) {
    auto impl = std::make_shared<Impl>();
    const std::string& source = metadata.source();
    const std::string& type = metadata.get_string("tokenizer.type");
    impl->unk_token = metadata.get_string("tokenizer.unk_token");
    impl->unk_id = to_id(metadata.get_int("tokenizer.unk_id"), "tokenizer.unk_id", source);
    if (type == "wordpiece") {
      impl->kind = Kind::WordPiece;
      impl->normalizer.clean_text = metadata.get_bool("tokenizer.normalizer.clean_text");
      impl->normalizer.handle_chinese_chars = metadata.get_bool("tokenizer.normalizer.handle_chinese_chars");
      impl->normalizer.strip_accents = metadata.get_bool("tokenizer.normalizer.strip_accents");
      impl->normalizer.lowercase = metadata.get_bool("tokenizer.normalizer.lowercase");
      const std::int64_t max_chars = metadata.get_int("tokenizer.max_input_chars_per_word");
      if (max_chars < 0) throw FormatError("tokenizer.bad_value", source + ": tokenizer.max_input_chars_per_word is negative");
      impl->wordpiece.emplace(metadata.get_string_list("tokenizer.vocab"), impl->unk_token,
                              metadata.get_string("tokenizer.continuing_subword_prefix"),
                              static_cast<std::size_t>(max_chars), source);
      if (impl->wordpiece->unk_id() != impl->unk_id)
        throw FormatError("tokenizer.bad_value", source + ": tokenizer.unk_id " + std::to_string(impl->unk_id) +
                                                     " is not the id of '" + impl->unk_token + "' in tokenizer.vocab");
      impl->vocab_size = impl->wordpiece->vocab_size();
    } else if (type == "sentencepiece") {
      impl->kind = Kind::SentencePiece;
      SentencePieceSettings settings;
      settings.id_mapping = metadata.get_enum<SentencePieceIdMapping>("tokenizer.id_mapping", "tokenizer.bad_value");
      // Optional: files written before the keys existed hold the Metaspace
      // pipeline, the model's own charsmap, fused unknowns.
      settings.pipeline = metadata.get_enum<SentencePiecePipeline>("tokenizer.sentencepiece_pipeline",
                                                                   "tokenizer.bad_value", SentencePiecePipeline::Metaspace);
      if (metadata.has("tokenizer.codepoint_map")) settings.codepoint_map = metadata.get_bytes("tokenizer.codepoint_map");
      settings.fuse_unknown = metadata.get_bool("tokenizer.fuse_unknown", true);
      const SentencePieceIdMapping id_mapping = settings.id_mapping;
      impl->sentencepiece.emplace(metadata.get_bytes("tokenizer.sentencepiece_model"), settings, impl->unk_id, source);
      const std::int64_t size = metadata.get_int("tokenizer.vocab_size");
      if (size <= 0) throw FormatError("tokenizer.bad_value", source + ": tokenizer.vocab_size must be positive");
      if (impl->sentencepiece->id_end() > size)
        throw FormatError("tokenizer.bad_value",
                          source + ": tokenizer.sentencepiece_model has " +
                              std::to_string(impl->sentencepiece->piece_count()) + " pieces, which with the " + to_string(id_mapping) +
                              " id mapping need ids up to " + std::to_string(impl->sentencepiece->id_end() - 1) +
                              ", past tokenizer.vocab_size " + std::to_string(size));
      impl->vocab_size = static_cast<std::size_t>(size);
    } else {
      throw FormatError("tokenizer.bad_value",
                        source + ": tokenizer.type '" + type + "' is not supported (wordpiece, sentencepiece)");
    }
    if (impl->unk_id < 0 || static_cast<std::size_t>(impl->unk_id) >= impl->vocab_size)
      throw FormatError("tokenizer.bad_value", source + ": tokenizer.unk_id is outside the vocabulary");

    const auto& contents = metadata.get_string_list("tokenizer.added_tokens");
    const auto& ids = metadata.get_int_list("tokenizer.added_token_ids");
    const auto& flags = metadata.get_int_list("tokenizer.added_token_flags");
    if (ids.size() != contents.size() || flags.size() != contents.size())
      throw FormatError("tokenizer.bad_value", source + ": tokenizer.added_tokens, tokenizer.added_token_ids and "
                                                        "tokenizer.added_token_flags differ in length");
    for (std::size_t i = 0; i < contents.size(); ++i) {
      AddedToken token;
      token.content = contents[i];
      token.id = to_id(ids[i], "tokenizer.added_token_ids", source);
      token.special = flags[i] & kAddedSpecial;
      token.normalized = flags[i] & kAddedNormalized;
      token.lstrip = flags[i] & kAddedLstrip;
      token.rstrip = flags[i] & kAddedRstrip;
      token.single_word = flags[i] & kAddedSingleWord;
      impl->added_tokens.push_back(token);
      impl->vocab_size = std::max(impl->vocab_size, static_cast<std::size_t>(token.id) + 1);
    }
    impl->raw_matcher = AddedTokenMatcher(impl->added_tokens, /*normalized=*/false);
    impl->trim_offsets = metadata.get_bool("tokenizer.trim_offsets", false);
    // Tokens with normalized=true are searched in normalized text, so their
    // content is normalized too (as AddedVocabulary does).
    std::vector<AddedToken> normalized_tokens = impl->added_tokens;
    if (impl->kind == Kind::WordPiece) {
      std::u32string normalized, scratch;
      for (AddedToken& token : normalized_tokens) {
        if (!token.normalized) continue;
        bert_normalize(decode_utf8(token.content), impl->normalizer, normalized, scratch);
        token.content = encode_utf8(normalized);
      }
    }
    impl->normalized_matcher = AddedTokenMatcher(normalized_tokens, /*normalized=*/true);
    impl->single = read_template(metadata, "single", *impl);
    impl->pair = read_template(metadata, "pair", *impl);
    return Tokenizer(std::move(impl));
  }

  Kind kind() const { return impl_->kind; }
  /// Number of ids (the largest id + 1).
  std::size_t vocab_size() const { return impl_->vocab_size; }
  std::int32_t unk_id() const { return impl_->unk_id; }
  /// Special tokens the template adds to a single text (2 for BERT) or a pair (3 for BERT, 4 for XLM-R).
  std::size_t num_special_tokens(bool pair) const { return (pair ? impl_->pair : impl_->single).specials; }

  /// Encodes one text.
  Encoding encode(std::string_view text, const EncodeOptions& options) const {
    Workspace ws;
    std::vector<std::int32_t> a;
    if (!options.offsets) {
      impl_->tokenize(text, a, ws);
      return finish(a, nullptr, options);
    }
    std::vector<TokenOffset> a_offsets;
    impl_->tokenize(text, a, ws, &a_offsets);
    return finish(a, nullptr, options, OffsetsOf{&a_offsets, text, nullptr, {}});
  }

  /// Encodes one text with special tokens, truncated to max_length (0 = no limit).
  Encoding encode(std::string_view text, std::size_t max_length = 0) const {
    EncodeOptions options;
    options.max_length = max_length;
    return encode(text, options);
  }

  /// Encodes a text pair (query, document): [CLS] A [SEP] B [SEP] with type
  /// ids 0 for A and 1 for B; truncation removes tokens longest-first.
  Encoding encode_pair(std::string_view first, std::string_view second, const EncodeOptions& options) const {
    Workspace ws;
    std::vector<std::int32_t> a, b;
    if (!options.offsets) {
      impl_->tokenize(first, a, ws);
      impl_->tokenize(second, b, ws);
      return finish(a, &b, options);
    }
    std::vector<TokenOffset> a_offsets, b_offsets;
    impl_->tokenize(first, a, ws, &a_offsets);
    impl_->tokenize(second, b, ws, &b_offsets);
    return finish(a, &b, options, OffsetsOf{&a_offsets, first, &b_offsets, second});
  }

  Encoding encode_pair(std::string_view first, std::string_view second, std::size_t max_length = 0) const {
    EncodeOptions options;
    options.max_length = max_length;
    return encode_pair(first, second, options);
  }

  /// Truncation and the single-text template applied to the ids of one text
  /// as encode() without special tokens gives them: encode(text, options) ==
  /// encode_ids(encode(text, {add_special_tokens = false}).ids, options),
  /// offsets aside (encode_ids has no text to compute them from). For callers
  /// that look at or split the whole text's tokens first.
  Encoding encode_ids(std::vector<std::int32_t> ids, const EncodeOptions& options) const {
    return finish(ids, nullptr, options);
  }

  /// Texts per task of encode_batch.
  static constexpr std::size_t kTextsPerTask = 16;

  /// Encodes many texts on `pool`, kTextsPerTask texts a task; the result does not
  /// depend on the pool's size.
  std::vector<Encoding> encode_batch(const std::vector<std::string>& texts, const EncodeOptions& options,
                                     ThreadPool& pool) const {
    std::vector<Encoding> out(texts.size());
    pool.parallel_for((texts.size() + kTextsPerTask - 1) / kTextsPerTask, [&](std::size_t task) {
      const std::size_t end = std::min(texts.size(), (task + 1) * kTextsPerTask);
      for (std::size_t i = task * kTextsPerTask; i < end; ++i) out[i] = encode(texts[i], options);
    });
    return out;
  }

  /// encode_batch() on at most `threads` threads of ThreadPool::shared()
  /// (<= 0: all of them; 1: on the calling thread).
  std::vector<Encoding> encode_batch(const std::vector<std::string>& texts, const EncodeOptions& options,
                                     int threads = 1) const {
    ThreadPool pool(nullptr, threads);
    return encode_batch(texts, options, pool);
  }

  /// Ids of `text` without special tokens and without truncation; `ids` is
  /// cleared first. The allocation-light path for benchmarks and the CLI.
  void token_ids(std::string_view text, std::vector<std::int32_t>& ids) const {
    Workspace ws;
    ids.clear();
    impl_->tokenize(text, ids, ws);
  }

  /// The token string of an id; throws InputError when out of range.
  std::string id_to_token(std::int32_t id) const {
    for (const AddedToken& token : impl_->added_tokens)
      if (token.id == id) return token.content;
    if (id == impl_->unk_id) return impl_->unk_token;
    if (impl_->wordpiece) return impl_->wordpiece->piece(id);
    if (const std::string* piece = impl_->sentencepiece->piece(id)) return *piece;
    throw InputError("tokenizer.bad_id", "token id " + std::to_string(id) + " has no token");
  }

 private:
  struct TemplateItem {
    int sequence = -1;  // 0: $A, 1: $B, -1: special token
    std::int32_t id = 0;
    std::int32_t type_id = 0;
    std::string token;
  };

  struct Template {
    std::vector<TemplateItem> items;
    std::size_t specials = 0;
  };

  struct Workspace {
    std::u32string text, normalized, scratch;
    std::string utf8;
    std::vector<TextSegment> segments, normalized_segments;
    std::vector<std::pair<std::size_t, std::size_t>> words;
    SentencePieceScratch sentencepiece;
    std::vector<std::uint32_t> source, source_scratch;  // offsets: each normalized character's source
    std::vector<TokenOffset> pieces;                    // offsets: WordPiece tokens within a word
  };

  struct Impl {
    Kind kind = Kind::WordPiece;
    BertNormalizerOptions normalizer;
    std::optional<WordPieceModel> wordpiece;
    std::optional<SentencePieceModel> sentencepiece;
    std::string unk_token;
    std::int32_t unk_id = 0;
    std::size_t vocab_size = 0;
    std::vector<AddedToken> added_tokens;
    AddedTokenMatcher raw_matcher, normalized_matcher;
    Template single, pair;
    bool trim_offsets = false;

    // Appends the ids of one text, without special tokens of the template;
    // with `offsets`, each id's [begin, end) in code points of the text.
    void tokenize(std::string_view utf8_text, std::vector<std::int32_t>& ids, Workspace& ws,
                  std::vector<TokenOffset>* offsets = nullptr) const {
      decode_utf8(utf8_text, ws.text);
      ws.segments.clear();
      raw_matcher.split(ws.text, ws.segments);
      for (const TextSegment& segment : ws.segments) {
        if (segment.token >= 0) {
          ids.push_back(raw_matcher.token(segment.token).id);
          if (offsets) offsets->push_back(added_token_offset(ws.text, segment.begin, segment.end));
          continue;
        }
        const std::u32string_view piece = std::u32string_view(ws.text).substr(segment.begin, segment.end - segment.begin);
        if (piece.empty()) continue;
        const std::size_t first = offsets ? offsets->size() : 0;
        if (kind == Kind::WordPiece) {
          tokenize_wordpiece(piece, ids, ws, offsets);
        } else {
          sentencepiece->tokenize(piece, ids, ws.sentencepiece, offsets);
        }
        if (offsets)
          for (std::size_t k = first; k < offsets->size(); ++k) {
            (*offsets)[k].first += segment.begin;
            (*offsets)[k].second += segment.begin;
          }
      }
    }

    void tokenize_wordpiece(std::u32string_view piece, std::vector<std::int32_t>& ids, Workspace& ws,
                            std::vector<TokenOffset>* offsets) const {
      bert_normalize(piece, normalizer, ws.normalized, ws.scratch, offsets ? &ws.source : nullptr, &ws.source_scratch);
      ws.normalized_segments.clear();
      normalized_matcher.split(ws.normalized, ws.normalized_segments);
      const std::u32string_view normalized(ws.normalized);
      // [begin, end) of normalized characters -> [begin, end) in `piece`
      const auto original = [&](std::size_t begin, std::size_t end) {
        return TokenOffset{ws.source[begin], std::size_t{ws.source[end - 1]} + 1};
      };
      for (const TextSegment& segment : ws.normalized_segments) {
        if (segment.token >= 0) {
          ids.push_back(normalized_matcher.token(segment.token).id);
          if (offsets) {
            const TokenOffset trimmed = added_token_offset(normalized, segment.begin, segment.end);
            offsets->push_back(trimmed.first < trimmed.second ? original(trimmed.first, trimmed.second)
                                                              : original(segment.begin, segment.end));
          }
          continue;
        }
        ws.words.clear();
        bert_pre_tokenize(normalized.substr(segment.begin, segment.end - segment.begin), ws.words);
        for (const auto& [begin, end] : ws.words) {
          const std::u32string_view word = normalized.substr(segment.begin + begin, end - begin);
          if (!offsets) {
            wordpiece->tokenize(word, ids, ws.utf8);
            continue;
          }
          ws.pieces.clear();
          wordpiece->tokenize(word, ids, ws.utf8, &ws.pieces);
          for (const auto& [first, last] : ws.pieces)
            offsets->push_back(original(segment.begin + begin + first, segment.begin + begin + last));
        }
      }
    }

    // An added token's [begin, end) in `text`: the match with the whitespace
    // lstrip/rstrip took, less that whitespace when the post-processor trims
    // offsets (RobertaProcessing's trim_offsets).
    TokenOffset added_token_offset(std::u32string_view text, std::size_t begin, std::size_t end) const {
      if (trim_offsets) {
        while (begin < end && has_flag(text[begin], detail::kWhitespace)) ++begin;
        while (end > begin && has_flag(text[end - 1], detail::kWhitespace)) --end;
      }
      return {begin, end};
    }
  };

  explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

  static std::int32_t to_id(std::int64_t value, const std::string& key, const std::string& source) {
    if (value < 0 || value > INT32_MAX)
      throw FormatError("tokenizer.bad_value", source + ": " + key + " holds id " + std::to_string(value) + " out of range");
    return static_cast<std::int32_t>(value);
  }

  static Template read_template(const io::Metadata& metadata, const std::string& name, const Impl& impl) {
    const std::string prefix = "tokenizer.template." + name;
    const auto& tokens = metadata.get_string_list(prefix + ".tokens");
    const auto& ids = metadata.get_int_list(prefix + ".ids");
    const auto& type_ids = metadata.get_int_list(prefix + ".type_ids");
    const std::string& source = metadata.source();
    if (ids.size() != tokens.size() || type_ids.size() != tokens.size())
      throw FormatError("tokenizer.bad_value", source + ": " + prefix + ".tokens, .ids and .type_ids differ in length");
    Template result;
    bool seen_a = false, seen_b = false;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      TemplateItem item;
      item.type_id = static_cast<std::int32_t>(type_ids[i]);
      if (tokens[i] == "$A" || tokens[i] == "$B") {
        item.sequence = tokens[i] == "$A" ? 0 : 1;
        (item.sequence == 0 ? seen_a : seen_b) = true;
      } else {
        item.id = to_id(ids[i], prefix + ".ids", source);
        if (static_cast<std::size_t>(item.id) >= impl.vocab_size)
          throw FormatError("tokenizer.bad_value", source + ": " + prefix + ".ids holds " + std::to_string(item.id) +
                                                       ", outside the vocabulary");
        item.token = tokens[i];
        ++result.specials;
      }
      result.items.push_back(std::move(item));
    }
    if (!seen_a || (name == "pair") != seen_b)
      throw FormatError("tokenizer.bad_value", source + ": " + prefix + ".tokens must hold $A" + (name == "pair" ? " and $B" : ""));
    return result;
  }

  // Truncates (longest-first for pairs, as tokenizers' truncate_encodings
  // does) and applies the template.
  // The offsets tokenize() gave each sequence, and the texts they index.
  struct OffsetsOf {
    std::vector<TokenOffset>* a = nullptr;
    std::string_view a_text;
    std::vector<TokenOffset>* b = nullptr;
    std::string_view b_text;
  };

  // Byte position of each code point of `text` (as decode_utf8 reads it) and of its end.
  static std::vector<std::size_t> code_point_bytes(std::string_view text) {
    std::vector<std::size_t> bytes;
    for (std::size_t i = 0; i < text.size();) {
      bytes.push_back(i);
      decode_utf8(text, i);
    }
    bytes.push_back(text.size());
    return bytes;
  }

  Encoding finish(std::vector<std::int32_t>& a, std::vector<std::int32_t>* b, const EncodeOptions& options) const {
    return finish(a, b, options, OffsetsOf());
  }

  Encoding finish(std::vector<std::int32_t>& a, std::vector<std::int32_t>* b, const EncodeOptions& options,
                  const OffsetsOf& offsets) const {
    const Template& tmpl = b ? impl_->pair : impl_->single;
    const std::size_t specials = options.add_special_tokens ? tmpl.specials : 0;
    // The fast tokenizer subtracts the special tokens from max_length with an
    // unsigned wrap-around: a max_length below their count truncates nothing.
    if (options.max_length > 0 && options.max_length >= specials) {
      const std::size_t budget = options.max_length - specials;
      if (!b) {
        if (a.size() > budget) a.resize(budget);
      } else if (a.size() + b->size() > budget) {
        std::size_t n_short = std::min(a.size(), b->size()), n_long = std::max(a.size(), b->size());
        const bool swapped = a.size() > b->size();
        n_long = n_short > budget ? n_short : std::max(n_short, budget - n_short);
        if (n_short + n_long > budget) {
          n_short = budget / 2;
          n_long = n_short + budget % 2;
        }
        const std::size_t keep_a = swapped ? n_long : n_short, keep_b = swapped ? n_short : n_long;
        a.resize(std::min(a.size(), keep_a));
        b->resize(std::min(b->size(), keep_b));
      }
    }
    if (offsets.a) offsets.a->resize(a.size());
    if (offsets.b) offsets.b->resize(b->size());
    Encoding out;
    const std::size_t total = a.size() + (b ? b->size() : 0) + specials;
    out.ids.reserve(total);
    out.type_ids.reserve(total);
    auto append_sequence = [&](const std::vector<std::int32_t>& seq, std::int32_t type_id) {
      out.ids.insert(out.ids.end(), seq.begin(), seq.end());
      out.type_ids.insert(out.type_ids.end(), seq.size(), type_id);
    };
    if (!options.add_special_tokens) {
      // Without special tokens the sequences keep the template's type ids.
      for (const TemplateItem& item : tmpl.items)
        if (item.sequence >= 0) append_sequence(item.sequence == 0 ? a : *b, item.type_id);
    } else {
      for (const TemplateItem& item : tmpl.items) {
        if (item.sequence < 0) {
          out.ids.push_back(item.id);
          out.type_ids.push_back(item.type_id);
        } else {
          append_sequence(item.sequence == 0 ? a : *b, item.type_id);
        }
      }
    }
    out.attention_mask.assign(out.ids.size(), 1);
    if (offsets.a) {
      const std::vector<std::size_t> a_bytes = code_point_bytes(offsets.a_text);
      const std::vector<std::size_t> b_bytes = offsets.b ? code_point_bytes(offsets.b_text) : std::vector<std::size_t>{};
      out.offsets.reserve(out.ids.size());
      out.byte_offsets.reserve(out.ids.size());
      auto append_offsets = [&](const std::vector<TokenOffset>& seq, const std::vector<std::size_t>& bytes) {
        for (const TokenOffset& o : seq) {
          out.offsets.push_back(o);
          out.byte_offsets.emplace_back(bytes[o.first], bytes[o.second]);
          out.special_tokens_mask.push_back(0);
        }
      };
      for (const TemplateItem& item : tmpl.items) {
        if (item.sequence == 0) append_offsets(*offsets.a, a_bytes);
        else if (item.sequence == 1) append_offsets(*offsets.b, b_bytes);
        else if (options.add_special_tokens) {
          out.offsets.emplace_back(0, 0);
          out.byte_offsets.emplace_back(0, 0);
          out.special_tokens_mask.push_back(1);
        }
      }
    }
    if (options.tokens) {
      out.tokens.reserve(out.ids.size());
      for (std::int32_t id : out.ids) out.tokens.push_back(id_to_token(id));
    }
    return out;
  }

  std::shared_ptr<const Impl> impl_;
};

}  // namespace embedrank::text
