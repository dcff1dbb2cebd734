#pragma once
/// The Unigram model of Hugging Face tokenizers (models/unigram/model.rs,
/// `encode_optimized`), the model of SentencePiece unigram tokenizers:
/// the segmentation of a word into vocabulary pieces with the highest sum of
/// piece scores (log probabilities), found by Viterbi over byte positions.
///
///   best[0] = 0; for each character start s (in order), for each piece p
///   that is a prefix of word[s..]:  best[s + |p|] = max(best[s] + score(p))
///
/// Ties keep the first candidate: a position's best path is replaced only by
/// a strictly higher score, and candidates arrive by start position, then by
/// length. A character that no single piece covers gets an unknown node of
/// score min(scores) - 10. Adjacent unknown nodes (any node with the unknown
/// id) are fused into one token (unless the model says not to), whose text is then looked up as a piece;
/// if it is none, byte_fallback models emit its bytes as <0xXX> pieces,
/// others the unknown id.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <numeric>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace embedrank::text::detail {

/// A byte trie over the pieces: per node the id of the piece that ends
/// there (-1: none) and its children, contiguous and sorted by label.
class PieceTrie {
 public:
  PieceTrie() = default;

  /// `pieces[i]` gets id i; a repeated piece keeps its last id.
  explicit PieceTrie(const std::vector<std::string>& pieces) {
    std::vector<std::uint32_t> order(pieces.size());
    std::iota(order.begin(), order.end(), 0u);
    std::stable_sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) { return pieces[a] < pieces[b]; });
    nodes_.push_back(Node{});
    labels_.push_back(0);
    // Breadth first, so that no recursion depends on the piece length.
    struct Pending {
      std::size_t lo, hi, depth, node;
    };
    std::deque<Pending> queue{{0, order.size(), 0, 0}};
    while (!queue.empty()) {
      auto [lo, hi, depth, node] = queue.front();
      queue.pop_front();
      while (lo < hi && pieces[order[lo]].size() == depth) nodes_[node].id = static_cast<std::int32_t>(order[lo++]);
      const auto first = static_cast<std::uint32_t>(nodes_.size());
      while (lo < hi) {
        const char label = pieces[order[lo]][depth];
        std::size_t group_end = lo + 1;
        while (group_end < hi && pieces[order[group_end]][depth] == label) ++group_end;
        queue.push_back({lo, group_end, depth + 1, nodes_.size()});
        nodes_.push_back(Node{});
        labels_.push_back(static_cast<unsigned char>(label));
        lo = group_end;
      }
      nodes_[node].first = first;
      nodes_[node].count = static_cast<std::uint32_t>(nodes_.size()) - first;
    }
    root_.fill(0);
    for (std::uint32_t i = 0; i < nodes_[0].count; ++i) root_[labels_[nodes_[0].first + i]] = nodes_[0].first + i;
  }

  /// Calls f(length, id) for each piece that is a prefix of [begin, end), shortest first.
  template <class F>
  void prefixes(const char* begin, const char* end, F&& f) const {
    std::uint32_t node = 0;
    for (const char* p = begin; p < end; ++p) {
      node = child(node, static_cast<unsigned char>(*p));
      if (node == 0) return;
      if (nodes_[node].id >= 0) f(static_cast<std::size_t>(p + 1 - begin), nodes_[node].id);
    }
  }

  /// The id of `piece`, or -1.
  std::int32_t find(std::string_view piece) const {
    std::uint32_t node = 0;
    for (char c : piece) {
      node = child(node, static_cast<unsigned char>(c));
      if (node == 0) return -1;
    }
    return piece.empty() ? -1 : nodes_[node].id;
  }

 private:
  struct Node {
    std::int32_t id = -1;
    std::uint32_t first = 0, count = 0;  // children: nodes_[first, first + count)
  };

  // The child of `node` labelled `byte`, or 0 (the root is nobody's child).
  std::uint32_t child(std::uint32_t node, unsigned char byte) const {
    if (node == 0) return root_[byte];
    const Node& n = nodes_[node];
    const unsigned char* begin = labels_.data() + n.first;
    const unsigned char* end = begin + n.count;
    const unsigned char* it = n.count <= 8 ? std::find(begin, end, byte) : std::lower_bound(begin, end, byte);
    return it != end && *it == byte ? n.first + static_cast<std::uint32_t>(it - begin) : 0;
  }

  std::vector<Node> nodes_;
  std::vector<unsigned char> labels_;  // labels_[i]: the byte on the edge into node i
  std::array<std::uint32_t, 256> root_{};
};

/// Scratch buffers of UnigramModel::encode, reused between calls.
struct UnigramScratch {
  std::vector<double> score;         // (n + 1) best path score ending at each byte
  std::vector<std::int32_t> start;   // (n + 1) where that path's last token starts, -1: none
  std::vector<std::int32_t> id;      // (n + 1) that token's id
  std::vector<std::pair<std::size_t, std::int32_t>> path;  // (start, id) of the best path, last first
};

class UnigramModel {
 public:
  UnigramModel() = default;

  /// `pieces[i]` and `scores[i]` are id i's; `unk_id` < pieces.size().
  /// `fuse_unknown`: adjacent unknown nodes become one token (the fast
  /// tokenizers' fuse_unk); false: one unknown id per character.
  UnigramModel(const std::vector<std::string>& pieces, const std::vector<float>& scores, std::int32_t unk_id,
               bool byte_fallback, bool fuse_unknown = true)
      : trie_(pieces),
        scores_(scores.begin(), scores.end()),
        unk_id_(unk_id),
        byte_fallback_(byte_fallback),
        fuse_unknown_(fuse_unknown) {
    double min_score = scores_.empty() ? 0.0 : scores_[0];
    for (double s : scores_) min_score = std::min(min_score, s);
    unk_score_ = min_score - 10.0;  // tokenizers' K_UNK_PENALTY
    for (int b = 0; b < 256; ++b) {
      char name[8];
      std::snprintf(name, sizeof name, "<0x%02X>", b);
      byte_ids_[static_cast<std::size_t>(b)] = trie_.find(name);
    }
  }

  /// Appends the ids of `word` (UTF-8, one pre-tokenized word) to `ids`.
  void encode(std::string_view word, std::vector<std::int32_t>& ids, UnigramScratch& s,
              std::vector<std::pair<std::size_t, std::size_t>>* spans = nullptr) const {
    const std::size_t n = word.size();
    if (n == 0) return;
    s.score.assign(n + 1, 0.0);
    s.start.assign(n + 1, -1);
    s.id.assign(n + 1, -1);
    const auto offer = [&](std::size_t from, std::size_t to, double score, std::int32_t id) {
      const double candidate = score + s.score[from];
      if (s.start[to] < 0 || candidate > s.score[to]) {
        s.score[to] = candidate;
        s.start[to] = static_cast<std::int32_t>(from);
        s.id[to] = id;
      }
    };
    for (std::size_t pos = 0; pos < n;) {
      const std::size_t char_length = std::min(utf8_length(static_cast<unsigned char>(word[pos])), n - pos);
      bool single_character = false;
      trie_.prefixes(word.data() + pos, word.data() + n, [&](std::size_t length, std::int32_t id) {
        offer(pos, pos + length, scores_[static_cast<std::size_t>(id)], id);
        single_character |= length == char_length;
      });
      if (!single_character) offer(pos, pos + char_length, unk_score_, unk_id_);
      pos += char_length;
    }
    // Back from the end; runs of unknown nodes become one token (fuse_unknown_).
    s.path.clear();
    for (std::size_t end = n; end > 0;) {
      const auto begin = static_cast<std::size_t>(s.start[end]);
      const std::int32_t id = s.id[end];
      if (fuse_unknown_ && id == unk_id_ && !s.path.empty() && s.path.back().second == unk_id_) s.path.back().first = begin;
      else s.path.emplace_back(begin, id);
      end = begin;
    }
    std::size_t end = n;
    const std::size_t first_out = ids.size();
    const std::size_t first_span = spans ? spans->size() : 0;
    for (const auto& [begin, id] : s.path) {
      const std::size_t before = ids.size();
      if (id != unk_id_) {
        ids.push_back(id);
      } else {
        // A fused run is looked up as a piece, then as bytes; pushed reversed here.
        const std::string_view text = word.substr(begin, end - begin);
        const std::int32_t piece = trie_.find(text);
        if (piece >= 0) {
          ids.push_back(piece);
        } else if (byte_fallback_ && std::all_of(text.begin(), text.end(), [&](char c) { return byte_ids_[static_cast<unsigned char>(c)] >= 0; })) {
          for (auto it = text.rbegin(); it != text.rend(); ++it) ids.push_back(byte_ids_[static_cast<unsigned char>(*it)]);
        } else {
          ids.push_back(unk_id_);
        }
      }
      // every token of a byte-fallback run spans the whole run, as in the reference
      if (spans) spans->resize(spans->size() + (ids.size() - before), {begin, end});
      end = begin;
    }
    std::reverse(ids.begin() + static_cast<std::ptrdiff_t>(first_out), ids.end());
    if (spans) std::reverse(spans->begin() + static_cast<std::ptrdiff_t>(first_span), spans->end());
  }

  std::size_t size() const { return scores_.size(); }

 private:
  static std::size_t utf8_length(unsigned char lead) { return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4; }

  PieceTrie trie_;
  std::vector<double> scores_;  // (V) score of each id
  std::int32_t unk_id_ = 0;
  double unk_score_ = 0.0;
  bool byte_fallback_ = false;
  bool fuse_unknown_ = true;
  std::array<std::int32_t, 256> byte_ids_{};  // id of "<0xXX>" per byte, -1: none
};

}  // namespace embedrank::text::detail
