#pragma once
/// A batch of token sequences packed end to end, without padding.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "embedrank/core/error.hpp"

namespace embedrank::model {

/// TT = total tokens, B = sequences. Sequence b is
/// input_ids[offsets[b] .. offsets[b+1]).
struct TokenBatch {
  std::vector<std::int32_t> input_ids;       // (TT)
  std::vector<std::int32_t> token_type_ids;  // (TT); all zeros unless given
  std::vector<std::size_t> offsets{0};       // (B + 1)

  std::size_t size() const { return offsets.size() - 1; }
  std::size_t total_tokens() const { return input_ids.size(); }
  std::size_t length(std::size_t b) const { return offsets[b + 1] - offsets[b]; }

  /// Appends one sequence. `type_ids` empty means all zeros; otherwise it
  /// must have the same length as `ids` (InputError otherwise). When
  /// `truncate_to` > 0, only the first `truncate_to` tokens are kept.
  void add(const std::vector<std::int32_t>& ids, const std::vector<std::int32_t>& type_ids = {},
           std::size_t truncate_to = 0) {
    if (!type_ids.empty() && type_ids.size() != ids.size())
      throw InputError("type_ids_length", "sequence " + std::to_string(size()) + " has " + std::to_string(ids.size()) +
                                              " ids but " + std::to_string(type_ids.size()) + " token type ids");
    const std::size_t n = truncate_to > 0 && ids.size() > truncate_to ? truncate_to : ids.size();
    input_ids.insert(input_ids.end(), ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(n));
    if (type_ids.empty())
      token_type_ids.insert(token_type_ids.end(), n, 0);
    else
      token_type_ids.insert(token_type_ids.end(), type_ids.begin(), type_ids.begin() + static_cast<std::ptrdiff_t>(n));
    offsets.push_back(input_ids.size());
  }
};

}  // namespace embedrank::model
