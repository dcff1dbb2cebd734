#pragma once
/// Added tokens (special tokens such as [CLS] or <mask>, and tokens added to
/// a vocabulary) found literally in the text, as Hugging Face's
/// AddedVocabulary finds them: leftmost-longest matches, tokens with
/// normalized=false on the raw text before normalization, tokens with
/// normalized=true on the normalized text; lstrip/rstrip absorb the
/// whitespace beside a match; single_word requires no word character beside it.

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "embedrank/text/unicode.hpp"

namespace embedrank::text {

/// One added token (tokenizer.added_tokens and tokenizer.added_token_flags).
struct AddedToken {
  std::string content;  ///< UTF-8, as in tokenizer.json
  std::int32_t id = 0;
  bool special = true;
  bool normalized = false;
  bool lstrip = false;
  bool rstrip = false;
  bool single_word = false;
};

/// A piece of text between added tokens ([begin, end) into the searched
/// text), or one matched added token (token >= 0, an index into tokens()).
struct TextSegment {
  std::size_t begin = 0;
  std::size_t end = 0;
  int token = -1;
};

/// Finds a set of added tokens in text (all with the same `normalized` flag).
class AddedTokenMatcher {
 public:
  AddedTokenMatcher() = default;

  /// Keeps the tokens whose `normalized` flag equals `normalized`.
  AddedTokenMatcher(const std::vector<AddedToken>& all, bool normalized) {
    for (const AddedToken& token : all) {
      if (token.normalized != normalized || token.content.empty()) continue;
      patterns_.push_back(decode_utf8(token.content));
      tokens_.push_back(token);
    }
    for (std::size_t i = 0; i < patterns_.size(); ++i) by_first_char_[patterns_[i][0]].push_back(static_cast<int>(i));
    for (auto& entry : by_first_char_)
      std::stable_sort(entry.second.begin(), entry.second.end(),
                       [&](int a, int b) { return patterns_[a].size() > patterns_[b].size(); });
  }

  bool empty() const { return tokens_.empty(); }
  const AddedToken& token(int index) const { return tokens_[static_cast<std::size_t>(index)]; }

  /// Appends the segments of `text` (plain pieces and matched tokens, in order) to `out`.
  void split(std::u32string_view text, std::vector<TextSegment>& out) const {
    if (tokens_.empty()) {
      out.push_back(TextSegment{0, text.size(), -1});
      return;
    }
    std::size_t plain_start = 0;  // start of the pending plain text
    std::size_t i = 0;
    while (i < text.size()) {
      const auto candidates = by_first_char_.find(text[i]);
      int matched = -1;
      if (candidates != by_first_char_.end()) {
        for (int index : candidates->second) {
          const std::u32string& p = patterns_[static_cast<std::size_t>(index)];
          if (text.compare(i, p.size(), p) == 0) {
            matched = index;
            break;  // longest first
          }
        }
      }
      if (matched < 0) {
        ++i;
        continue;
      }
      const AddedToken& token = tokens_[static_cast<std::size_t>(matched)];
      std::size_t start = i, stop = i + patterns_[static_cast<std::size_t>(matched)].size();
      if (token.single_word) {
        const bool word_before = start > 0 && is_word_char(text[start - 1]);
        const bool word_after = stop < text.size() && is_word_char(text[stop]);
        if (word_before || word_after) {
          i = stop;  // the rejected match is consumed, as in the reference
          continue;
        }
      }
      if (token.lstrip)
        while (start > plain_start && has_flag(text[start - 1], detail::kWhitespace)) --start;
      if (token.rstrip)
        while (stop < text.size() && has_flag(text[stop], detail::kWhitespace)) ++stop;
      if (plain_start < start) out.push_back(TextSegment{plain_start, start, -1});
      out.push_back(TextSegment{start, stop, matched});
      plain_start = i = stop;
    }
    if (plain_start < text.size() || out.empty()) out.push_back(TextSegment{plain_start, text.size(), -1});
  }

 private:
  static bool is_word_char(char32_t c) {
    return c == U'_' || !has_flag(c, static_cast<detail::CharFlag>(detail::kWhitespace | detail::kPunctuation |
                                                                   detail::kDropByCleanText));
  }

  std::vector<std::u32string> patterns_;
  std::vector<AddedToken> tokens_;
  std::unordered_map<char32_t, std::vector<int>> by_first_char_;  // candidates, longest first
};

}  // namespace embedrank::text
