#pragma once
/// The storage of one postings list of LexicalIndex (rank/lexical_index.hpp):
/// (row, tf) postings in row order, cut into blocks of kPostingBlock that
/// each record their last row, largest tf and shortest field length, from
/// which the most a document of the block can score for the term follows
/// (tfn grows with tf and shrinks with the length): Lucene's "impacts".
/// search() skips whole blocks by their last row and by that bound.
///
/// Appending a row after the list's end updates the last block; inserting
/// or removing before it rebuilds the blocks from the one touched (the
/// postings after it move anyway); a compaction renumbers rows and calls
/// rebuild(0). Field lengths come from the caller's per-row table.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace embedrank::rank::detail {

constexpr std::size_t kPostingBlock = 128;                                  ///< postings per block
constexpr std::uint32_t kEndRow = std::numeric_limits<std::uint32_t>::max();  ///< past the last row

struct Posting {
  std::uint32_t row;
  std::uint32_t tf;
};
inline bool by_row(const Posting& a, const Posting& b) { return a.row < b.row; }

/// Postings [kPostingBlock j, kPostingBlock (j + 1)) of a list.
struct PostingBlock {
  std::uint32_t last_row;
  std::uint32_t max_tf;
  std::uint32_t min_length;
};

struct PostingList {
  std::vector<Posting> postings;  ///< rows ascending
  std::vector<PostingBlock> blocks;
  std::uint32_t max_tf = 0;            ///< over the whole list
  std::uint32_t min_length = kEndRow;  ///< over the whole list

  /// Adds a posting: appended (the usual case) or inserted in row order.
  /// `length`: the field lengths by row.
  void add(const Posting& posting, const std::vector<std::uint32_t>& length) {
    const std::uint32_t dl = length[posting.row];
    if (postings.empty() || postings.back().row < posting.row) {
      if (postings.size() % kPostingBlock == 0)
        blocks.push_back(PostingBlock{posting.row, posting.tf, dl});
      else
        blocks.back() = PostingBlock{posting.row, std::max(blocks.back().max_tf, posting.tf),
                                     std::min(blocks.back().min_length, dl)};
      postings.push_back(posting);
      max_tf = std::max(max_tf, posting.tf);
      min_length = std::min(min_length, dl);
      return;
    }
    const auto at = std::lower_bound(postings.begin(), postings.end(), posting, by_row);
    const auto from = static_cast<std::size_t>(at - postings.begin());
    postings.insert(at, posting);
    rebuild(from / kPostingBlock, length);
  }

  /// Removes the row's posting, if it has one.
  void remove(std::uint32_t row, const std::vector<std::uint32_t>& length) {
    const auto at = std::lower_bound(postings.begin(), postings.end(), Posting{row, 0}, by_row);
    if (at == postings.end() || at->row != row) return;
    const auto from = static_cast<std::size_t>(at - postings.begin());
    postings.erase(at);  // keeps the list in row order
    rebuild(from / kPostingBlock, length);
  }

  /// Recomputes the blocks from block `first` on, and the list's bounds.
  void rebuild(std::size_t first, const std::vector<std::uint32_t>& length) {
    blocks.resize(first);
    for (std::size_t at = first * kPostingBlock; at < postings.size(); at += kPostingBlock) {
      PostingBlock b{0, 0, kEndRow};
      for (std::size_t i = at; i < std::min(postings.size(), at + kPostingBlock); ++i) {
        b.last_row = postings[i].row;
        b.max_tf = std::max(b.max_tf, postings[i].tf);
        b.min_length = std::min(b.min_length, length[postings[i].row]);
      }
      blocks.push_back(b);
    }
    max_tf = 0, min_length = kEndRow;
    for (const PostingBlock& b : blocks) max_tf = std::max(max_tf, b.max_tf), min_length = std::min(min_length, b.min_length);
  }
};

}  // namespace embedrank::rank::detail
