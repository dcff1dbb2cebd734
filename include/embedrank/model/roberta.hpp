#pragma once
/// RoBERTa / XLM-R (modeling_roberta.py, modeling_xlm_roberta.py): the BERT
/// modules of bert.hpp, with one difference in the embeddings — positions.
///
/// create_position_ids_from_input_ids: a token's position is padding_idx +
/// (number of non-padding tokens up to and including it); a padding token
/// gets padding_idx itself. With no padding inside a sequence, positions are
/// padding_idx + 1, padding_idx + 2, ... The token-type table has one row and
/// it is still added (token_type_ids default to zeros).

#include <cstdint>
#include <vector>

#include "embedrank/model/token_batch.hpp"

namespace embedrank::model {

inline void roberta_position_ids(const TokenBatch& batch, std::int32_t padding_idx, std::vector<std::int32_t>& positions) {
  positions.resize(batch.total_tokens());
  for (std::size_t b = 0; b < batch.size(); ++b) {
    std::int32_t non_pad_seen = 0;
    for (std::size_t t = batch.offsets[b]; t < batch.offsets[b + 1]; ++t) {
      const bool is_pad = batch.input_ids[t] == padding_idx;
      if (!is_pad) ++non_pad_seen;
      positions[t] = is_pad ? padding_idx : padding_idx + non_pad_seen;
    }
  }
}

}  // namespace embedrank::model
