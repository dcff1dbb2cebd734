#pragma once
/// Embedder: text in, sentence embeddings out, from one model file
/// (tokenizer + TransformerEncoder + pooling), the way sentence-transformers'
/// SentenceTransformer.encode computes them.
///
///   B = texts, TT = their tokens packed, D = embedding size (M pooling modes * H)
///
/// Preprocessing as sentence-transformers' Transformer.tokenize: the prompt
/// (if any) is prepended to the text, leading and trailing whitespace is
/// stripped (Python's str.strip set), the text is lowercased when the model
/// says do_lower_case, then tokenized with truncation to max_seq_length
/// (special tokens included; the prompt's tokens count). An empty text is
/// embedded as [CLS] [SEP].
///
/// Long texts: by default a text past max_seq_length is truncated, as
/// sentence-transformers does, and EmbedReport lists it. With
/// EmbedOptions::chunk_stride > 0 it is embedded as overlapping windows
/// instead: window w holds content tokens [w * stride, w * stride + C) of the
/// text (C = max_seq_length minus the special tokens, each window wrapped in
/// them), the last window ends at the text's end, and the text's embedding is
/// the token-weighted mean of the windows' pooled vectors,
///   e = sum_w n_w * pool(window w) / sum_w n_w     (n_w = tokens of window w)
/// normalised afterwards when the model normalises. A text that fits in one
/// window gets exactly its ordinary embedding.

#include <algorithm>
#include <cstddef>
#include <map>
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

/// What embed() did to the texts beyond embedding them.
struct EmbedReport {
  std::vector<std::size_t> truncated;  ///< texts cut at max_seq_length (indices into the input, ascending)
  std::vector<std::size_t> chunked;    ///< texts embedded as several windows (chunk_stride > 0)
  std::size_t windows = 0;             ///< sequences the encoder ran (one per text unless chunked)
};

struct EmbedOptions {
  std::size_t batch_size = 32;           ///< sequences per encoder pass (bounds memory; no padding either way)
  std::optional<PoolingConfig> pooling;  ///< overrides the model file's pooling modes and normalize flag
  /// Prompt to prepend, by its name in the model's prompts (from
  /// config_sentence_transformers.json); nullopt: the model's default prompt
  /// if it names one; "": no prompt.
  std::optional<std::string> prompt_name;
  std::optional<std::string> prompt;  ///< prompt text to prepend; overrides prompt_name
  std::size_t chunk_stride = 0;       ///< 0: truncate long texts; > 0: windows this many tokens apart (see above)
  EmbedReport* report = nullptr;      ///< when set, receives the report (cleared first)
};

/// Scratch for one caller: the encoder workspace, which runs on `pool` (null:
/// ThreadPool::shared()) with at most `threads` threads a region (<= 0: all
/// of the pool's; 1: the calling thread only). Reuse it across calls from
/// the same thread to keep its buffers; it starts no thread.
struct EmbedderWorkspace {
  explicit EmbedderWorkspace(int threads = 0, ThreadPool* pool = nullptr) : encoder(threads, pool) {}
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
    const io::Metadata& meta = file->metadata();
    if (meta.has("embedder.prompt_names") || meta.has("embedder.prompts")) {
      const auto& names = meta.get_string_list("embedder.prompt_names");
      const auto& texts = meta.get_string_list("embedder.prompts");
      if (names.size() != texts.size())
        throw FormatError("bad_prompts", file->path() + ": embedder.prompt_names has " + std::to_string(names.size()) +
                                             " names but embedder.prompts " + std::to_string(texts.size()) + " prompts");
      for (std::size_t i = 0; i < names.size(); ++i) prompts_[names[i]] = texts[i];
    }
    default_prompt_name_ = meta.has("embedder.default_prompt_name") ? meta.get_string("embedder.default_prompt_name") : "";
    if (!default_prompt_name_.empty() && !prompts_.count(default_prompt_name_))
      throw FormatError("bad_prompts", file->path() + ": embedder.default_prompt_name '" + default_prompt_name_ +
                                           "' is not one of embedder.prompt_names");
  }

  static std::shared_ptr<const Embedder> open(const std::string& path) {
    return std::make_shared<const Embedder>(io::WeightFile::open(path));
  }

  const TransformerEncoder<float>& encoder() const { return *encoder_; }
  const text::Tokenizer& tokenizer() const { return tokenizer_; }
  /// D: the width of the embeddings embed() returns with the file's pooling.
  Eigen::Index dimension() const { return encoder_->embedding_size(); }
  std::size_t max_seq_length() const { return static_cast<std::size_t>(encoder_->config().max_seq_length); }

  /// The prompts of the model (name -> text) and the one used by default
  /// ("" when none is).
  const std::map<std::string, std::string>& prompts() const { return prompts_; }
  const std::string& default_prompt_name() const { return default_prompt_name_; }

  /// Options that embed search queries: the model's prompt named "query"
  /// when it has one (E5's "query: "), else its default prompt.
  EmbedOptions query_options() const {
    EmbedOptions options;
    if (prompts_.count("query")) options.prompt_name = "query";
    return options;
  }

  /// Options that embed the texts searched (products, documents): the
  /// model's prompt named "passage" or "document" when it has one (E5's
  /// "passage: "), else its default prompt.
  EmbedOptions document_options() const {
    EmbedOptions options;
    for (const char* name : {"passage", "document"})
      if (prompts_.count(name)) {
        options.prompt_name = name;
        break;
      }
    return options;
  }

  /// The prompt embed() prepends under `options`; throws InputError
  /// "unknown_prompt" naming the model's prompts for an unknown name.
  std::string resolve_prompt(const EmbedOptions& options) const {
    if (options.prompt) return *options.prompt;
    const std::string& name = options.prompt_name ? *options.prompt_name : default_prompt_name_;
    if (name.empty()) return "";
    const auto it = prompts_.find(name);
    if (it == prompts_.end()) {
      std::string known;
      for (const auto& kv : prompts_) known += (known.empty() ? "" : ", ") + kv.first;
      throw InputError("unknown_prompt", "prompt name '" + name + "' is not one of the model's prompts (" +
                                             (known.empty() ? "it has none" : known) + ")");
    }
    return it->second;
  }

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

  /// The content token ids (no special tokens) of `prompt + text` as
  /// embed() tokenizes it: preprocessed, not truncated.
  std::vector<std::int32_t> content_ids(const std::string& text, const std::string& prompt = "") const {
    text::EncodeOptions content_only;
    content_only.add_special_tokens = false;
    return tokenizer_.encode(preprocess(prompt.empty() ? text : prompt + text), content_only).ids;
  }

  /// The sequence embed() feeds the encoder for content ids `ids` without
  /// chunking: wrapped in the special tokens, truncated to max_seq_length.
  text::Encoding sequence(std::vector<std::int32_t> ids) const {
    text::EncodeOptions truncating;
    truncating.max_length = max_seq_length();
    return tokenizer_.encode_ids(std::move(ids), truncating);
  }

  /// Token ids of the texts, packed and truncated to max_seq_length: what
  /// embed() feeds the encoder without chunking and without a prompt.
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
    const std::string prompt = resolve_prompt(options);
    const std::size_t content = window_content();
    if (options.chunk_stride > content || (options.chunk_stride > 0 && content == 0))
      throw InputError("bad_chunk_stride", "chunk stride " + std::to_string(options.chunk_stride) +
                                               " leaves gaps: windows hold " + std::to_string(content) +
                                               " tokens besides the special ones");
    EmbedReport local_report;
    EmbedReport& report = options.report ? *options.report : local_report;
    report = EmbedReport{};

    // Window embeddings are pooled without normalisation and averaged per
    // text; a text of one window is pooled (and normalised) as it is.
    PoolingConfig window_pooling = pooling;
    window_pooling.normalize = false;

    MatrixF out(static_cast<Eigen::Index>(texts.size()), D);  // (B, D)
    Eigen::MatrixXd window_sums;                               // (B, D) chunked texts: sum_w n_w * pooled_w
    std::vector<double> window_tokens(texts.size(), 0.0);     // sum_w n_w
    const std::size_t step = options.batch_size > 0 ? options.batch_size : std::max<std::size_t>(texts.size(), 1);

    TokenBatch batch;
    std::vector<std::size_t> owner;  // text of each sequence in `batch`
    std::vector<bool> is_window;     // whether that text is chunked
    const auto run = [&] {
      if (batch.size() == 0) return;
      const MatrixF states = encoder_->forward(batch, ws.encoder);  // (TT, H)
      const bool any_window = std::find(is_window.begin(), is_window.end(), true) != is_window.end();
      const bool any_whole = std::find(is_window.begin(), is_window.end(), false) != is_window.end();
      const MatrixF whole = any_whole ? encoder_->pool(states, batch, pooling) : MatrixF();
      const MatrixF windows = any_window ? encoder_->pool(states, batch, window_pooling) : MatrixF();
      for (std::size_t s = 0; s < batch.size(); ++s) {
        const auto row = static_cast<Eigen::Index>(owner[s]);
        if (!is_window[s]) {
          out.row(row) = whole.row(static_cast<Eigen::Index>(s));
        } else {
          const double n = static_cast<double>(batch.length(s));
          window_sums.row(row) += n * windows.row(static_cast<Eigen::Index>(s)).cast<double>();
          window_tokens[owner[s]] += n;
        }
      }
      report.windows += batch.size();
      batch = TokenBatch{};
      owner.clear();
      is_window.clear();
    };

    const std::size_t specials = tokenizer_.num_special_tokens(/*pair=*/false);
    for (std::size_t i = 0; i < texts.size(); ++i) {
      std::vector<std::int32_t> ids = content_ids(texts[i], prompt);
      const std::size_t n = ids.size();
      if (options.chunk_stride == 0 || n <= content) {
        const text::Encoding e = sequence(std::move(ids));
        if (e.ids.size() < n + specials) report.truncated.push_back(i);
        batch.add(e.ids, e.type_ids);
        owner.push_back(i);
        is_window.push_back(false);
      } else {
        report.chunked.push_back(i);
        if (window_sums.size() == 0) window_sums = Eigen::MatrixXd::Zero(out.rows(), D);
        for (std::size_t start = 0;; start += options.chunk_stride) {
          const std::size_t stop = std::min(n, start + content);
          const auto first = ids.begin() + static_cast<std::ptrdiff_t>(start);
          const text::Encoding e =
              sequence(std::vector<std::int32_t>(first, ids.begin() + static_cast<std::ptrdiff_t>(stop)));
          batch.add(e.ids, e.type_ids);
          owner.push_back(i);
          is_window.push_back(true);
          if (stop == n) break;
          if (batch.size() >= step) run();
        }
      }
      if (batch.size() >= step) run();
    }
    run();
    for (std::size_t i : report.chunked) {
      MatrixF mean = (window_sums.row(static_cast<Eigen::Index>(i)) / window_tokens[i]).cast<float>();  // (1, D)
      if (pooling.normalize) nn::l2_normalize_rows(mean);
      out.row(static_cast<Eigen::Index>(i)) = mean;
    }
    return out;
  }

  /// embed() with a workspace of its own, on at most `threads` threads of
  /// ThreadPool::shared() (0: all of them).
  MatrixF embed(const std::vector<std::string>& texts, int threads = 0, const EmbedOptions& options = {}) const {
    EmbedderWorkspace ws(threads);
    return embed(texts, ws, options);
  }

  /// embed() with the prompt of the given name (as encode(texts, prompt_name=...)).
  MatrixF embed(const std::vector<std::string>& texts, const std::string& prompt_name, EmbedderWorkspace& ws) const {
    EmbedOptions options;
    options.prompt_name = prompt_name;
    return embed(texts, ws, options);
  }

  /// embed() with the prompt of the given name, e.g. embed(queries, "query")
  /// for E5, on ThreadPool::shared().
  MatrixF embed(const std::vector<std::string>& texts, const std::string& prompt_name) const {
    EmbedderWorkspace ws;
    return embed(texts, prompt_name, ws);
  }

  /// One text's embedding (D).
  VectorF embed_one(const std::string& text, EmbedderWorkspace& ws, const EmbedOptions& options = {}) const {
    return embed(std::vector<std::string>{text}, ws, options).row(0).transpose();
  }

 private:
  /// Python's str.isspace set: Unicode White_Space plus U+001C..U+001F.
  static bool is_python_space(char32_t c) {
    return (c >= 0x1C && c <= 0x1F) || text::has_flag(c, text::detail::kWhitespace);
  }

  /// Content tokens a sequence of max_seq_length holds besides the special ones.
  std::size_t window_content() const {
    const std::size_t specials = tokenizer_.num_special_tokens(/*pair=*/false);
    return max_seq_length() > specials ? max_seq_length() - specials : 0;
  }

  std::shared_ptr<const TransformerEncoder<float>> encoder_;
  text::Tokenizer tokenizer_;
  bool do_lower_case_;
  std::map<std::string, std::string> prompts_;
  std::string default_prompt_name_;
};

}  // namespace embedrank::model
