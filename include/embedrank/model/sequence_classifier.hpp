#pragma once
/// SequenceClassifier: a sequence-classification head on the TransformerEncoder,
/// for texts and text pairs, from one model file (weights_tools/convert.py
/// writes the head of Hugging Face's BertForSequenceClassification,
/// XLMRobertaForSequenceClassification, DistilBertForSequenceClassification,
/// MPNetForSequenceClassification and of sentence-transformers' CrossEncoder).
///
///   B = texts or pairs   H = hidden size   NL = labels
///   h0 (B, H) = each sequence's first-token state ([CLS] / <s>)
///   bert_pooler  logits (B, NL) = out(tanh(pooler.dense(h0)))   BertForSequenceClassification
///   dense_tanh   logits (B, NL) = out(tanh(dense(h0)))          RobertaClassificationHead (XLM-R, MPNet)
///   dense_relu   logits (B, NL) = out(relu(dense(h0)))          DistilBertForSequenceClassification
///
/// Two readings of the logits:
///   - predict(): CrossEncoder.predict, the model's activation_fn
///     (sigmoid for one logit unless the folder says otherwise, else identity);
///   - classify(): transformers' text-classification pipeline, softmax over
///     the labels, sigmoid per label for multi-label models or a single
///     logit, nothing for regression.
/// Texts and pairs are tokenized as the fast tokenizer does (the pair
/// template, longest-first truncation to the model's max_seq_length); no
/// other preprocessing, as CrossEncoder and the pipeline do none.

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "embedrank/core/enum_text.hpp"
#include "embedrank/core/error.hpp"
#include "embedrank/io/parameters.hpp"
#include "embedrank/io/weight_file.hpp"
#include "embedrank/model/bert.hpp"
#include "embedrank/model/transformer_encoder.hpp"
#include "embedrank/text/tokenizer.hpp"

namespace embedrank::model {

/// A function applied to each row of logits.
enum class ScoreFunction { Identity, Sigmoid, Softmax, Tanh };

/// Names as the model file's head.function and head.cross_encoder_activation.
inline EnumText<ScoreFunction> enum_text(ScoreFunction) {
  static constexpr EnumName<ScoreFunction> names[] = {{ScoreFunction::Identity, "identity"},
                                                      {ScoreFunction::Identity, "none"},
                                                      {ScoreFunction::Sigmoid, "sigmoid"},
                                                      {ScoreFunction::Softmax, "softmax"},
                                                      {ScoreFunction::Tanh, "tanh"}};
  return {"score function", "unknown_score_function", names};
}

/// Applies `f` to every row of `scores` (B, NL) in place.
inline void apply_score_function(ScoreFunction f, MatrixF& scores) {
  switch (f) {
    case ScoreFunction::Identity: return;
    case ScoreFunction::Sigmoid: scores = (1.0f / (1.0f + (-scores.array()).exp())).matrix(); return;
    case ScoreFunction::Tanh: scores = scores.array().tanh().matrix(); return;
    case ScoreFunction::Softmax:
      for (Eigen::Index r = 0; r < scores.rows(); ++r) {
        auto row = scores.row(r).array();
        row = (row - row.maxCoeff()).exp();  // subtract the max before exp, for numerical stability
        row /= row.sum();
      }
      return;
  }
}

struct LabelScore {
  std::string label;
  float score = 0.0f;
};

class SequenceClassifier {
 public:
  enum class HeadStyle { BertPooler, DenseTanh, DenseRelu };

  /// Loads encoder, head and tokenizer; FormatError "no_head" when the file
  /// has no sequence-classification head, "bad_head" when it is inconsistent.
  explicit SequenceClassifier(std::shared_ptr<const io::WeightFile> file)
      : encoder_(std::make_shared<const TransformerEncoder<float>>(file)),
        tokenizer_(text::Tokenizer::from_metadata(file->metadata())),
        params_(file) {
    const io::Metadata& meta = file->metadata();
    const std::string& source = meta.source();
    if (!meta.has("head.type"))
      throw FormatError("no_head", source + ": the model has no classification head (convert a "
                                            "*ForSequenceClassification or CrossEncoder checkpoint)");
    if (meta.get_string("head.type") != "sequence_classification")
      throw FormatError("bad_head", source + ": head.type '" + meta.get_string("head.type") +
                                        "' is not sequence_classification");
    labels_ = meta.get_string_list("head.labels");
    const std::string& style = meta.get_string("head.style");
    if (style == "bert_pooler") style_ = HeadStyle::BertPooler;
    else if (style == "dense_tanh") style_ = HeadStyle::DenseTanh;
    else if (style == "dense_relu") style_ = HeadStyle::DenseRelu;
    else throw FormatError("bad_head", source + ": head.style '" + style + "' is not bert_pooler, dense_tanh or dense_relu");
    if (style_ == HeadStyle::BertPooler && !encoder_->config().has_pooler)
      throw FormatError("bad_head", source + ": head.style bert_pooler needs pooler.dense weights");
    classify_function_ = meta.get_enum<ScoreFunction>("head.function", "bad_head");
    predict_function_ = meta.get_enum<ScoreFunction>("head.cross_encoder_activation", "bad_head");
    const auto H = encoder_->config().hidden_size;
    const auto NL = static_cast<std::int64_t>(labels_.size());
    if (NL == 0) throw FormatError("bad_head", source + ": head.labels is empty");
    if (style_ != HeadStyle::BertPooler) dense_ = load_linear(params_, "classifier.dense", H, H);
    out_ = load_linear(params_, "classifier.out", NL, H);
  }

  static std::shared_ptr<const SequenceClassifier> open(const std::string& path) {
    return std::make_shared<const SequenceClassifier>(io::WeightFile::open(path));
  }

  const std::vector<std::string>& labels() const { return labels_; }
  /// The function classify() applies to logits (the text-classification pipeline's).
  ScoreFunction classify_function() const { return classify_function_; }
  /// The function predict() applies to pair logits (CrossEncoder's activation).
  ScoreFunction predict_function() const { return predict_function_; }
  const text::Tokenizer& tokenizer() const { return tokenizer_; }
  const TransformerEncoder<float>& encoder() const { return *encoder_; }
  std::size_t max_seq_length() const { return static_cast<std::size_t>(encoder_->config().max_seq_length); }

  /// Logits (B, NL) of single texts.
  MatrixF logits(const std::vector<std::string>& texts, EncoderWorkspace<float>& ws, std::size_t batch_size = 32) const {
    return run(texts.size(), batch_size, ws, [&](std::size_t i) { return tokenizer_.encode(texts[i], max_seq_length()); });
  }

  /// Logits (B, NL) of (first, second) pairs: [CLS] first [SEP] second [SEP].
  MatrixF pair_logits(const std::vector<std::pair<std::string, std::string>>& pairs, EncoderWorkspace<float>& ws,
                      std::size_t batch_size = 32) const {
    return run(pairs.size(), batch_size, ws, [&](std::size_t i) {
      return tokenizer_.encode_pair(pairs[i].first, pairs[i].second, max_seq_length());
    });
  }

  /// CrossEncoder.predict: the pairs' logits through the model's activation (B, NL).
  MatrixF predict(const std::vector<std::pair<std::string, std::string>>& pairs, EncoderWorkspace<float>& ws,
                  std::size_t batch_size = 32) const {
    MatrixF scores = pair_logits(pairs, ws, batch_size);
    apply_score_function(predict_function_, scores);
    return scores;
  }

  /// The text-classification pipeline's scores per label (B, NL).
  MatrixF classify(const std::vector<std::string>& texts, EncoderWorkspace<float>& ws, std::size_t batch_size = 32) const {
    MatrixF scores = logits(texts, ws, batch_size);
    apply_score_function(classify_function_, scores);
    return scores;
  }

  /// The labels of one row of classify() scores, best first (ties: label order).
  std::vector<LabelScore> ranked_labels(const MatrixF& scores, Eigen::Index row) const {
    std::vector<LabelScore> out;
    for (Eigen::Index j = 0; j < scores.cols(); ++j) out.push_back({labels_[static_cast<std::size_t>(j)], scores(row, j)});
    std::stable_sort(out.begin(), out.end(), [](const LabelScore& a, const LabelScore& b) { return a.score > b.score; });
    return out;
  }

 private:
  // Tokenizes item i with `encode(i)` in batches of batch_size sequences,
  // runs the encoder and the head: (count, NL).
  template <typename Encode>
  MatrixF run(std::size_t count, std::size_t batch_size, EncoderWorkspace<float>& ws, Encode&& encode) const {
    MatrixF out(static_cast<Eigen::Index>(count), static_cast<Eigen::Index>(labels_.size()));
    const std::size_t step = batch_size > 0 ? batch_size : std::max<std::size_t>(count, 1);
    for (std::size_t begin = 0; begin < count; begin += step) {
      const std::size_t end = std::min(count, begin + step);
      TokenBatch batch;
      // DistilBERT and MPNet have no token types: the second text of a pair
      // gets type 0, as their tokenizers give no token_type_ids
      const bool has_token_types = encoder_->config().type_vocab_size > 0;
      for (std::size_t i = begin; i < end; ++i) {
        text::Encoding e = encode(i);
        if (!has_token_types) std::fill(e.type_ids.begin(), e.type_ids.end(), 0);
        batch.add(e.ids, e.type_ids);
      }
      out.middleRows(static_cast<Eigen::Index>(begin), static_cast<Eigen::Index>(end - begin)) = head(batch, ws);
    }
    return out;
  }

  // logits (B, NL) of one batch (see the file comment)
  MatrixF head(const TokenBatch& batch, EncoderWorkspace<float>& ws) const {
    const MatrixF states = encoder_->forward(batch, ws);  // (TT, H)
    PoolingConfig first_token;
    first_token.modes = {style_ == HeadStyle::BertPooler ? nn::PoolingMode::Pooler : nn::PoolingMode::Cls};
    MatrixF x = encoder_->pool(states, batch, first_token);  // (B, H); the pooler applies tanh(dense)
    if (style_ != HeadStyle::BertPooler) {
      MatrixF hidden(x.rows(), dense_.out_features);
      dense_.forward(x, hidden, ws.pool);
      if (style_ == HeadStyle::DenseTanh) hidden = hidden.array().tanh().matrix();
      else hidden = hidden.cwiseMax(0.0f);
      x.swap(hidden);
    }
    MatrixF logits(x.rows(), out_.out_features);
    out_.forward(x, logits, ws.pool);
    return logits;
  }

  std::shared_ptr<const TransformerEncoder<float>> encoder_;
  text::Tokenizer tokenizer_;
  io::ParameterStore<float> params_;
  std::vector<std::string> labels_;
  HeadStyle style_ = HeadStyle::BertPooler;
  ScoreFunction classify_function_ = ScoreFunction::Softmax;
  ScoreFunction predict_function_ = ScoreFunction::Identity;
  nn::Linear<float> dense_;  // (H, H), dense_tanh / dense_relu
  nn::Linear<float> out_;    // (NL, H)
};

}  // namespace embedrank::model
