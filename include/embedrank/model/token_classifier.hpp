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
/// part. The text is truncated to the model's max_seq_length.

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
    if (encoder_->config().type_vocab_size == 0) std::fill(e.type_ids.begin(), e.type_ids.end(), 0);
    TokenBatch batch;
    batch.add(e.ids, e.type_ids);
    const MatrixF states = encoder_->forward(batch, ws);  // (T, H)
    MatrixF logits(states.rows(), out_.out_features);     // (T, NL)
    out_.forward(states, logits, ws.pool);
    return {std::move(e), std::move(logits)};
  }

  /// The entities of `text` (see the file comment).
  std::vector<TokenEntity> entities(const std::string& text, EncoderWorkspace<float>& ws,
                                    Aggregation aggregation = Aggregation::Simple) const {
    auto [encoding, scores] = token_logits(text, ws);
    for (Eigen::Index t = 0; t < scores.rows(); ++t) {  // softmax per token, max subtracted for stability
      auto row = scores.row(t).array();
      row = (row - row.maxCoeff()).exp();
      row /= row.sum();
    }
    const std::u32string chars = text::decode_utf8(text);
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
    for (TokenEntity& e : out) e.text = text.substr(e.byte_begin, e.byte_end - e.byte_begin);
    return out;
  }

 private:
  struct Token {
    std::size_t index = 0, begin = 0, end = 0, byte_begin = 0, byte_end = 0;
    Eigen::RowVectorXf scores;
    bool continues_word = false;
  };

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
