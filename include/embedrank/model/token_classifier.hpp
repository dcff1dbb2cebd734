#pragma once
/// TokenClassifier: a label per token (Hugging Face's BertForTokenClassification,
/// XLMRobertaForTokenClassification, ... converted by weights_tools/convert.py)
/// and the entity spans transformers' token-classification pipeline makes of
/// them, with character offsets into the text: the attribute extractor of a
/// shop query ("red" COLOR, "nike" BRAND, "xl" SIZE).
///
///   T = tokens of the text (special tokens included)   H = hidden   NL = labels
///   logits (T, NL) = states (T, H) W^T + b            (classifier.out)
///   scores (T, NL) = softmax over the labels, per token
///
/// Aggregation, as the pipeline's aggregation_strategy:
///   None     one entity per token: its best label and score;
///   Simple   the tokens' best labels, adjacent ones of one type grouped
///            (B-X starts a group, I-X or a bare X continues it), the
///            group's score the mean of its tokens';
///   First / Average / Max   the tokens of a word first agree on one label
///            (the first token's, the best of the averaged scores, the
///            token with the highest score), then words group as Simple.
/// A token continues a word when its string and its text differ in length
/// (WordPiece's "##") or, for SentencePiece, when it starts right after a
/// character with no space at or before its start; an unknown token always
/// starts a word. Entities labelled "O" are dropped. Special tokens take no
/// part.
///
/// Long texts, as the pipeline's `stride`: with stride = 0 the text is
/// truncated to the model's max_seq_length. With stride > 0 it is read in
/// windows of W = max_seq_length - (special tokens) tokens, each starting
/// W - stride tokens after the previous one (so neighbours share `stride`
/// tokens), until a window reaches the end, as the fast tokenizer's
/// overflowing tokens; each window's entities are found as above (offsets
/// into the whole text), then the overlaps resolved: by start, an entity
/// starting inside the previous kept one replaces it when it is longer, or
/// as long with a higher score (aggregate_overlapping_entities).

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "embedrank/core/enum_text.hpp"
#include "embedrank/core/error.hpp"
#include "embedrank/io/parameters.hpp"
#include "embedrank/io/weight_file.hpp"
#include "embedrank/model/bert.hpp"
#include "embedrank/model/transformer_encoder.hpp"
#include "embedrank/text/tokenizer.hpp"
#include "embedrank/text/unicode.hpp"

namespace embedrank::model {

enum class Aggregation { None, Simple, First, Average, Max };

/// Names as the pipeline's aggregation_strategy.
inline EnumText<Aggregation> enum_text(Aggregation) {
  static constexpr EnumName<Aggregation> names[] = {{Aggregation::None, "none"},
                                                    {Aggregation::Simple, "simple"},
                                                    {Aggregation::First, "first"},
                                                    {Aggregation::Average, "average"},
                                                    {Aggregation::Max, "max"}};
  return {"aggregation", "unknown_aggregation", names};
}

/// A labelled span of the text: [begin, end) in characters (code points) and
/// in UTF-8 bytes, and the text itself.
struct TokenEntity {
  std::string label;  ///< the label (None) or its type without "B-"/"I-" (the others)
  float score = 0.0f;
  std::size_t begin = 0, end = 0;
  std::size_t byte_begin = 0, byte_end = 0;
  std::string text;
};

class TokenClassifier {
 public:
  /// Loads encoder, head and tokenizer; FormatError "no_head" when the file is
  /// not a token classifier.
  explicit TokenClassifier(std::shared_ptr<const io::WeightFile> file)
      : encoder_(std::make_shared<const TransformerEncoder<float>>(file)),
        tokenizer_(text::Tokenizer::from_metadata(file->metadata())),
        params_(file) {
    const io::Metadata& meta = file->metadata();
    if (!meta.has("head.type") || meta.get_string("head.type") != "token_classification")
      throw FormatError("no_head", meta.source() + ": the model has no token-classification head (convert a "
                                                   "*ForTokenClassification checkpoint)");
    labels_ = meta.get_string_list("head.labels");
    if (labels_.empty()) throw FormatError("bad_head", meta.source() + ": head.labels is empty");
    out_ = load_linear(params_, "classifier.out", static_cast<std::int64_t>(labels_.size()), encoder_->config().hidden_size);
  }

  static std::shared_ptr<const TokenClassifier> open(const std::string& path) {
    return std::make_shared<const TokenClassifier>(io::WeightFile::open(path));
  }

  const std::vector<std::string>& labels() const { return labels_; }
  const text::Tokenizer& tokenizer() const { return tokenizer_; }

  /// The text's encoding (offsets included) and its logits (T, NL).
  std::pair<text::Encoding, MatrixF> token_logits(const std::string& text, EncoderWorkspace<float>& ws) const {
    text::EncodeOptions options;
    options.max_length = static_cast<std::size_t>(encoder_->config().max_seq_length);
    options.offsets = true;
    text::Encoding e = tokenizer_.encode(text, options);
    MatrixF logits = logits_of(e, ws);
    return {std::move(e), std::move(logits)};
  }

  /// The entities of `text` (see the file comment). Throws InputError for
  /// stride > 0 with Aggregation::None (the pipeline refuses it too) or a
  /// stride that leaves no new tokens per window.
  std::vector<TokenEntity> entities(const std::string& text, EncoderWorkspace<float>& ws,
                                    Aggregation aggregation = Aggregation::Simple, std::size_t stride = 0) const {
    const std::u32string chars = text::decode_utf8(text);
    std::vector<TokenEntity> out;
    if (stride == 0) {
      auto [encoding, logits] = token_logits(text, ws);
      out = window_entities(chars, encoding, logits, aggregation);
    } else {
      if (aggregation == Aggregation::None)
        throw InputError("tokens.bad_stride", "a stride needs an aggregation other than None");
      const std::size_t specials = tokenizer_.num_special_tokens(/*pair=*/false);
      const auto max_length = static_cast<std::size_t>(encoder_->config().max_seq_length);
      const std::size_t window = max_length > specials ? max_length - specials : 0;
      if (stride >= window)
        throw InputError("tokens.bad_stride", "stride " + std::to_string(stride) + " must be below the window of " +
                                                  std::to_string(window) + " tokens");
      text::EncodeOptions options;
      options.add_special_tokens = false;
      options.offsets = true;
      const text::Encoding whole = tokenizer_.encode(text, options);  // the text's tokens, no template
      const std::size_t n = whole.ids.size();
      std::size_t windows = 0;
      for (std::size_t begin = 0;; begin += window - stride) {
        const std::size_t end = std::min(begin + window, n);
        const text::Encoding part = window_encoding(whole, begin, end);
        const MatrixF logits = logits_of(part, ws);
        for (TokenEntity& e : window_entities(chars, part, logits, aggregation)) out.push_back(std::move(e));
        ++windows;
        if (end == n) break;
      }
      if (windows > 1) out = resolve_overlaps(std::move(out));
    }
    for (TokenEntity& e : out) e.text = text.substr(e.byte_begin, e.byte_end - e.byte_begin);
    return out;
  }

 private:
  struct Token {
    std::size_t index = 0, begin = 0, end = 0, byte_begin = 0, byte_end = 0;
    Eigen::RowVectorXf scores;
    bool continues_word = false;
  };

  // logits (T, NL) of one encoding
  MatrixF logits_of(const text::Encoding& e, EncoderWorkspace<float>& ws) const {
    std::vector<std::int32_t> type_ids = e.type_ids;
    if (encoder_->config().type_vocab_size == 0) std::fill(type_ids.begin(), type_ids.end(), 0);
    TokenBatch batch;
    batch.add(e.ids, type_ids);
    const MatrixF states = encoder_->forward(batch, ws);  // (T, H)
    MatrixF logits(states.rows(), out_.out_features);     // (T, NL)
    out_.forward(states, logits, ws.pool);
    return logits;
  }

  // Tokens [begin, end) of `whole` (a text's tokens without the template)
  // with the template around them; offsets stay those of the whole text.
  text::Encoding window_encoding(const text::Encoding& whole, std::size_t begin, std::size_t end) const {
    const auto first = whole.ids.begin() + static_cast<std::ptrdiff_t>(begin);
    const auto last = whole.ids.begin() + static_cast<std::ptrdiff_t>(end);
    text::Encoding part = tokenizer_.encode_ids(std::vector<std::int32_t>(first, last), text::EncodeOptions{});
    // where the window's tokens sit among the template's
    std::size_t at = 0;
    while (at + (end - begin) <= part.ids.size() && !std::equal(first, last, part.ids.begin() + static_cast<std::ptrdiff_t>(at)))
      ++at;
    if (at + (end - begin) > part.ids.size())
      throw FormatError("tokens.template", "the tokenizer's template does not keep a window's tokens in one run");
    const std::size_t T = part.ids.size();
    part.offsets.assign(T, {0, 0});
    part.byte_offsets.assign(T, {0, 0});
    part.special_tokens_mask.assign(T, 1);
    for (std::size_t t = 0; t < end - begin; ++t) {
      part.offsets[at + t] = whole.offsets[begin + t];
      part.byte_offsets[at + t] = whole.byte_offsets[begin + t];
      part.special_tokens_mask[at + t] = whole.special_tokens_mask[begin + t];
    }
    return part;
  }

  // The entities of one encoded window (see the file comment), "O" dropped.
  std::vector<TokenEntity> window_entities(const std::u32string& chars, const text::Encoding& encoding, MatrixF scores,
                                           Aggregation aggregation) const {
    for (Eigen::Index t = 0; t < scores.rows(); ++t) {  // softmax per token, max subtracted for stability
      auto row = scores.row(t).array();
      row = (row - row.maxCoeff()).exp();
      row /= row.sum();
    }
    std::vector<Token> tokens;
    for (std::size_t t = 0; t < encoding.ids.size(); ++t) {
      if (encoding.special_tokens_mask[t]) continue;
      Token token;
      token.index = t;
      token.begin = encoding.offsets[t].first;
      token.end = encoding.offsets[t].second;
      token.byte_begin = encoding.byte_offsets[t].first;
      token.byte_end = encoding.byte_offsets[t].second;
      token.scores = scores.row(static_cast<Eigen::Index>(t));
      token.continues_word = continues_word(chars, encoding.ids[t], token.begin, token.end);
      tokens.push_back(std::move(token));
    }
    std::vector<TokenEntity> labelled;  // one per token (None, Simple) or per word
    if (aggregation == Aggregation::None || aggregation == Aggregation::Simple) {
      for (const Token& token : tokens) labelled.push_back(best_label(token.scores, token));
    } else {
      for (std::size_t w = 0; w < tokens.size();) {
        std::size_t end = w + 1;
        while (end < tokens.size() && tokens[end].continues_word) ++end;
        labelled.push_back(word_entity(tokens, w, end, aggregation));
        w = end;
      }
    }
    std::vector<TokenEntity> out = aggregation == Aggregation::None ? labelled : group(labelled);
    out.erase(std::remove_if(out.begin(), out.end(), [](const TokenEntity& e) { return e.label == "O"; }), out.end());
    return out;
  }

  // aggregate_overlapping_entities: by start (stable), an entity starting
  // inside the kept one replaces it when longer, or as long and more certain.
  static std::vector<TokenEntity> resolve_overlaps(std::vector<TokenEntity> entities) {
    if (entities.empty()) return entities;
    std::stable_sort(entities.begin(), entities.end(),
                     [](const TokenEntity& a, const TokenEntity& b) { return a.begin < b.begin; });
    std::vector<TokenEntity> kept;
    TokenEntity previous = entities[0];
    for (const TokenEntity& e : entities) {
      if (previous.begin <= e.begin && e.begin < previous.end) {
        const std::size_t length = e.end - e.begin, previous_length = previous.end - previous.begin;
        if (length > previous_length || (length == previous_length && e.score > previous.score)) previous = e;
      } else {
        kept.push_back(previous);
        previous = e;
      }
    }
    kept.push_back(previous);
    return kept;
  }

  // gather_pre_entities' is_subword
  bool continues_word(const std::u32string& chars, std::int32_t id, std::size_t begin, std::size_t end) const {
    if (id == tokenizer_.unk_id()) return false;
    if (tokenizer_.kind() == text::Tokenizer::Kind::WordPiece) {
      const std::size_t token_length = text::decode_utf8(tokenizer_.id_to_token(id)).size();
      return token_length != end - begin;
    }
    // no word boundaries in the model: a token glued to the previous character
    if (begin == 0) return false;
    const bool space_before = chars[begin - 1] == U' ' || (begin < chars.size() && chars[begin] == U' ');
    return !space_before;
  }

  TokenEntity best_label(const Eigen::RowVectorXf& scores, const Token& span) const {
    Eigen::Index best = 0;
    for (Eigen::Index j = 1; j < scores.size(); ++j)
      if (scores(j) > scores(best)) best = j;  // the first of equal maxima, as argmax
    TokenEntity e;
    e.label = labels_[static_cast<std::size_t>(best)];
    e.score = scores(best);
    e.begin = span.begin;
    e.end = span.end;
    e.byte_begin = span.byte_begin;
    e.byte_end = span.byte_end;
    return e;
  }

  // aggregate_word over tokens [first, end)
  TokenEntity word_entity(const std::vector<Token>& tokens, std::size_t first, std::size_t end, Aggregation a) const {
    Token span = tokens[first];
    span.end = tokens[end - 1].end;
    span.byte_end = tokens[end - 1].byte_end;
    if (a == Aggregation::First) return best_label(tokens[first].scores, span);
    if (a == Aggregation::Max) {
      std::size_t best = first;
      for (std::size_t t = first + 1; t < end; ++t)
        if (tokens[t].scores.maxCoeff() > tokens[best].scores.maxCoeff()) best = t;
      return best_label(tokens[best].scores, span);
    }
    Eigen::RowVectorXf mean = Eigen::RowVectorXf::Zero(tokens[first].scores.size());
    for (std::size_t t = first; t < end; ++t) mean += tokens[t].scores;
    return best_label(mean / static_cast<float>(end - first), span);
  }

  // group_entities: B-X starts a group; I-X or a bare X continues one of type X
  static std::pair<char, std::string> tag(const std::string& label) {
    if (label.rfind("B-", 0) == 0) return {'B', label.substr(2)};
    if (label.rfind("I-", 0) == 0) return {'I', label.substr(2)};
    return {'I', label};
  }

  static std::vector<TokenEntity> group(const std::vector<TokenEntity>& labelled) {
    std::vector<TokenEntity> groups;
    std::size_t first = 0;
    const auto close = [&](std::size_t end) {
      TokenEntity g = labelled[first];
      const std::size_t dash = g.label.find('-');
      g.label = dash == std::string::npos ? g.label : g.label.substr(dash + 1);
      double sum = 0;
      for (std::size_t i = first; i < end; ++i) sum += labelled[i].score;
      g.score = static_cast<float>(sum / static_cast<double>(end - first));
      g.end = labelled[end - 1].end;
      g.byte_end = labelled[end - 1].byte_end;
      groups.push_back(g);
    };
    for (std::size_t i = 1; i < labelled.size(); ++i) {
      const auto [bi, type] = tag(labelled[i].label);
      if (type == tag(labelled[i - 1].label).second && bi != 'B') continue;
      close(i);
      first = i;
    }
    if (!labelled.empty()) close(labelled.size());
    return groups;
  }

  std::shared_ptr<const TransformerEncoder<float>> encoder_;
  text::Tokenizer tokenizer_;
  io::ParameterStore<float> params_;
  std::vector<std::string> labels_;
  nn::Linear<float> out_;  // (NL, H)
};

}  // namespace embedrank::model
