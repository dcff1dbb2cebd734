#pragma once
/// SentencePiece through libsentencepiece, with the id mapping of the model
/// family: "fairseq" (XLM-R: <s>=0, <pad>=1, </s>=2, <unk>=3, every other
/// piece at its SentencePiece id + 1) or "plain" (SentencePiece ids as they are).
/// BOS/EOS are added by Tokenizer's template, never by SentencePiece options.

#include <sentencepiece_processor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "embedrank/core/error.hpp"
#include "embedrank/text/detail/sentencepiece_check.hpp"

namespace embedrank::text {

enum class SentencePieceIdMapping { Plain, Fairseq };

class SentencePieceModel {
 public:
  /// Loads a serialized ModelProto; throws FormatError naming `source` when
  /// it is damaged (detail/sentencepiece_check.hpp) or libsentencepiece
  /// rejects it.
  SentencePieceModel(const std::string& serialized_model, SentencePieceIdMapping mapping, std::int32_t unk_id,
                     const std::string& source)
      : processor_(std::make_unique<sentencepiece::SentencePieceProcessor>()), mapping_(mapping), unk_id_(unk_id) {
    detail::check_sentencepiece_model(serialized_model, source);
    const auto status = processor_->LoadFromSerializedProto(serialized_model);
    if (!status.ok())
      throw FormatError("tokenizer.bad_sentencepiece",
                        source + ": tokenizer.sentencepiece_model is not a SentencePiece model (" + status.ToString() + ")");
    spm_unk_id_ = processor_->unk_id();
  }

  /// Appends the ids of `text` (well-formed UTF-8, no added tokens) to `ids`.
  void tokenize(std::string_view text, std::vector<std::int32_t>& ids, std::vector<int>& scratch) const {
    scratch.clear();
    const auto status = processor_->Encode(absl::string_view(text.data(), text.size()), &scratch);
    if (!status.ok()) throw InputError("tokenizer.sentencepiece", "SentencePiece failed to encode: " + status.ToString());
    for (int id : scratch) ids.push_back(to_model_id(id));
  }

  /// The model's id of a SentencePiece id.
  std::int32_t to_model_id(int spm_id) const {
    if (spm_id == spm_unk_id_) return unk_id_;
    return mapping_ == SentencePieceIdMapping::Fairseq ? spm_id + 1 : spm_id;
  }

  /// The piece of a model id, or nullptr when no SentencePiece piece has it.
  const std::string* piece(std::int32_t id) const {
    const int spm_id = mapping_ == SentencePieceIdMapping::Fairseq ? id - 1 : id;
    if (spm_id < 0 || spm_id >= processor_->GetPieceSize()) return nullptr;
    return &processor_->IdToPiece(spm_id);
  }

  int piece_count() const { return processor_->GetPieceSize(); }

  /// One past the largest model id a piece maps to.
  std::int64_t id_end() const { return piece_count() + (mapping_ == SentencePieceIdMapping::Fairseq ? 1 : 0); }

 private:
  std::unique_ptr<sentencepiece::SentencePieceProcessor> processor_;
  SentencePieceIdMapping mapping_;
  std::int32_t unk_id_;
  int spm_unk_id_ = 0;
};

}  // namespace embedrank::text
