#pragma once
/// Embedder: text in, sentence embeddings out, from one model file
/// (tokenizer + TransformerEncoder + pooling), the way sentence-transformers'
/// SentenceTransformer.encode computes them.
///
///   B = texts, TT = their tokens packed, D = embedding size (M pooling modes * H)
///
/// Preprocessing as sentence-transformers' Transformer.tokenize: strip leading
/// and trailing whitespace (Python's str.strip set), lowercase when the model
/// says do_lower_case, then tokenize with truncation to max_seq_length
/// (special tokens included). An empty text is embedded as [CLS] [SEP].

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "embedrank/core/error.hpp"
#include "embedrank/io/weight_file.hpp"
#include "embedrank/model/transformer_encoder.hpp"
#include "embedrank/text/tokenizer.hpp"
#include "embedrank/text/unicode.hpp"

namespace embedrank::model {

struct EmbedOptions {
  std::size_t batch_size = 32;          ///< texts per encoder pass (bounds memory; no padding either way)
  std::optional<PoolingConfig> pooling;  ///< overrides the model file's pooling modes and normalize flag
};

/// Scratch for one caller: the encoder workspace and its thread pool. Reuse it
/// across calls from the same thread to avoid re-creating threads.
struct EmbedderWorkspace {
  explicit EmbedderWorkspace(int threads = 0) : encoder(threads) {}
  EncoderWorkspace<float> encoder;
};

class Embedder {
 public:
  /// Loads encoder and tokenizer from one model file. Throws FileError or
  /// FormatError (e.g. "missing_metadata" when the file has no tokenizer).
  explicit Embedder(std::shared_ptr<const io::WeightFile> file)
      : encoder_(std::make_shared<const TransformerEncoder<float>>(file)),
        tokenizer_(text::Tokenizer::from_metadata(file->metadata())),
        do_lower_case_(file->metadata().get_bool("embedder.do_lower_case", false)) {
    if (static_cast<std::int64_t>(tokenizer_.vocab_size()) > encoder_->config().vocab_size)
      throw FormatError("vocab_mismatch", file->path() + ": the tokenizer has " + std::to_string(tokenizer_.vocab_size()) +
                                              " ids but the encoder's vocabulary has " +
                                              std::to_string(encoder_->config().vocab_size));
  }

  static std::shared_ptr<const Embedder> open(const std::string& path) {
    return std::make_shared<const Embedder>(io::WeightFile::open(path));
  }

  const TransformerEncoder<float>& encoder() const { return *encoder_; }
  const text::Tokenizer& tokenizer() const { return tokenizer_; }
  /// D: the width of the embeddings embed() returns with the file's pooling.
  Eigen::Index dimension() const { return encoder_->embedding_size(); }
  std::size_t max_seq_length() const { return static_cast<std::size_t>(encoder_->config().max_seq_length); }

  /// The text as sentence-transformers hands it to the tokenizer.
  std::string preprocess(std::string_view text) const {
    const std::u32string cps = text::decode_utf8(text);
    std::size_t begin = 0, end = cps.size();
    while (begin < end && is_python_space(cps[begin])) ++begin;
    while (end > begin && is_python_space(cps[end - 1])) --end;
    const std::u32string_view stripped(cps.data() + begin, end - begin);
    // Python's str.lower(), final sigma included, as sentence-transformers calls it.
    return text::encode_utf8(do_lower_case_ ? text::python_lower(stripped) : std::u32string(stripped));
  }

  /// Token ids of the texts, packed: what embed() feeds the encoder.
  TokenBatch tokenize(const std::vector<std::string>& texts, std::size_t begin, std::size_t end) const {
    TokenBatch batch;
    for (std::size_t i = begin; i < end; ++i) {
      const text::Encoding e = tokenizer_.encode(preprocess(texts[i]), max_seq_length());
      batch.add(e.ids, e.type_ids);
    }
    return batch;
  }

  /// Embeddings (B, D) of `texts`, in order. Thread-safe: concurrent calls
  /// need only their own workspace.
  MatrixF embed(const std::vector<std::string>& texts, EmbedderWorkspace& ws, const EmbedOptions& options = {}) const {
    const PoolingConfig& pooling = options.pooling ? *options.pooling : encoder_->pooling();
    const auto D = static_cast<Eigen::Index>(pooling.modes.size()) * encoder_->config().hidden_size;
    MatrixF out(static_cast<Eigen::Index>(texts.size()), D);  // (B, D)
    const std::size_t step = options.batch_size > 0 ? options.batch_size : texts.size();
    for (std::size_t begin = 0; begin < texts.size(); begin += step) {
      const std::size_t end = std::min(texts.size(), begin + step);
      const TokenBatch batch = tokenize(texts, begin, end);
      const MatrixF states = encoder_->forward(batch, ws.encoder);  // (TT, H)
      out.middleRows(static_cast<Eigen::Index>(begin), static_cast<Eigen::Index>(end - begin)) =
          encoder_->pool(states, batch, pooling);
    }
    return out;
  }

  /// embed() with a workspace of its own on `threads` threads (0: all CPUs).
  MatrixF embed(const std::vector<std::string>& texts, int threads = 0, const EmbedOptions& options = {}) const {
    EmbedderWorkspace ws(threads);
    return embed(texts, ws, options);
  }

  /// One text's embedding (D).
  VectorF embed_one(const std::string& text, EmbedderWorkspace& ws) const {
    return embed(std::vector<std::string>{text}, ws).row(0).transpose();
  }

 private:
  /// Python's str.isspace set: Unicode White_Space plus U+001C..U+001F.
  static bool is_python_space(char32_t c) {
    return (c >= 0x1C && c <= 0x1F) || text::has_flag(c, text::detail::kWhitespace);
  }

  std::shared_ptr<const TransformerEncoder<float>> encoder_;
  text::Tokenizer tokenizer_;
  bool do_lower_case_;
};

}  // namespace embedrank::model
