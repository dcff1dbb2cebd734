#pragma once
/// Hybrid search: the lexical (BM25) and the dense (cosine) result lists of
/// one query fused into one ranking, the query's attribute filter and boost
/// applied to both.
///
///   HybridAnswer a = hybrid_search(index, lexical, query_vector, lexical.query(text), constraints,
///                                  /*k=*/10, SearchMode::Hybrid, options, /*unknown_share=*/u);
///
/// C = options.candidates. Both lists are the top C under the filter:
/// D by cosine (EmbeddingIndex::search), L by BM25 (LexicalIndex::search).
/// Every row of D ∪ L gets both scores (the one it lacks is computed for it).
///   Weighted (default), per row:
///     dense_n   = (cos - cos_C) / (cos_1 - cos_C), clamped to [0, 1]  (min-max over D)
///     lexical_n = bm25 / bm25_1                                        (over L; 0 when L is empty)
///     fused     = a lexical_n + (1 - a) dense_n
///   ReciprocalRank: fused = a / (rrf_k + rank_L) + (1 - a) / (rrf_k + rank_D)
///     (1-based ranks; a row missing from a list gains nothing from it),
///     scaled by its largest value; a = 0.5 unless given.
///   Then, as search_with_constraints: score = (1 - w) fused + w boost(row).
/// The lexical weight a, unless given (options.lexical_weight >= 0), is set
/// per query from what each side can read (docs/ranking.md, "Hybrid search"):
///   u  = the share of the query's tokens the dense model reads as unknown
///        (8 of 11 for 我想买一件红色的连衣裙 in all-MiniLM-L6-v2);
///   c  = the share of the query's idf weight the best lexical hit holds
///        (terms no product uses, such as misspellings and the words of a
///        sentence, lower it);
///   ck = the same share of the terms some product holds.
///   a  = u ck a_unread + (1 - u) c a_read
/// For the part of the query the model cannot read, the lexical side is the
/// only judge, trusted as far as its best hit matches the query's known
/// terms; for the part both read, it gets the share a_read, scaled by how
/// much of the whole query its best hit holds.
/// Words match only in the query's own script, so the lexical side cannot
/// judge a product written in another (LexicalIndex::script, from the
/// terms of each; LexicalQuery::script): such rows get only the unread part, a_other = u ck a_unread (0 for a query
/// the model reads fully). Without this, when a multilingual model answers
/// an English query with a Chinese product ("handmade noodles gift box" ->
/// 手工挂面礼盒), English products that share a word ("gift box") would
/// outvote it on the strength of a match the Chinese product could never
/// have had.
/// SearchMode::Dense and ::Lexical rank by one side alone (lexical_n or
/// cosine, with the boost) and still report both scores of each result.
/// Ties: the higher score first, then the lower row.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <unordered_map>
#include <vector>

#include "embedrank/core/enum_text.hpp"
#include "embedrank/core/error.hpp"
#include "embedrank/rank/embedding_index.hpp"
#include "embedrank/rank/lexical_index.hpp"
#include "embedrank/rank/query_attributes.hpp"

namespace embedrank::rank {

enum class SearchMode { Dense, Lexical, Hybrid };
enum class Fusion { Weighted, ReciprocalRank };

inline EnumText<SearchMode> enum_text(SearchMode) {
  static constexpr EnumName<SearchMode> names[] = {
      {SearchMode::Dense, "dense"}, {SearchMode::Lexical, "lexical"}, {SearchMode::Hybrid, "hybrid"}};
  return {"search mode", "unknown_search_mode", names};
}

inline EnumText<Fusion> enum_text(Fusion) {
  static constexpr EnumName<Fusion> names[] = {
      {Fusion::Weighted, "weighted"}, {Fusion::ReciprocalRank, "reciprocal_rank"}, {Fusion::ReciprocalRank, "rrf"}};
  return {"fusion", "unknown_fusion", names};
}

struct HybridOptions {
  Fusion fusion = Fusion::Weighted;
  double lexical_weight = -1.0;  ///< a in [0, 1]; negative: set per query (see the file comment)
  double read_lexical_weight = 0.5;    ///< a_read: a for a query the model reads fully, all of it matched
  double unread_lexical_weight = 1.0;  ///< a_unread: a for a query the model cannot read, its known terms matched
  double rrf_k = 60.0;               ///< ReciprocalRank's rank offset
  std::size_t candidates = 100;      ///< C: taken from each side
  double boost_weight = 0.1;         ///< w: the attribute boost's share of the score
};

/// The fused results and the lexical weights the query got.
struct HybridAnswer {
  std::vector<SearchResult> results;  ///< best first; similarity = cosine, lexical = BM25
  double lexical_weight = 0.0;        ///< a (0 for SearchMode::Dense, 1 for ::Lexical)
  double other_script_lexical_weight = 0.0;  ///< a_other: a for rows not in the query's script
};

/// The automatic lexical weights: a for rows in the query's script and
/// a_other for the rest (the file comment), the shares clamped to [0, 1];
/// the best lexical hit gives c and ck (none: both 0).
struct LexicalWeights {
  double same_script = 0.0;   ///< a = u ck a_unread + (1 - u) c a_read
  double other_script = 0.0;  ///< a_other = u ck a_unread
};
inline LexicalWeights automatic_lexical_weights(const LexicalHit* best, double unknown_share, const HybridOptions& options) {
  if (best == nullptr) return {};
  const double c = std::clamp(best->coverage, 0.0, 1.0), ck = std::clamp(best->known_coverage, 0.0, 1.0);
  const double u = std::clamp(unknown_share, 0.0, 1.0);
  const double unread = u * ck * options.unread_lexical_weight;
  return {unread + (1 - u) * c * options.read_lexical_weight, unread};
}

/// The k best rows of `index` and `lexical` (rows shared: catalogue rows)
/// for one query; see the file comment. Throws InputError
/// "hybrid.bad_options" (a weight outside [0, 1], rrf_k <= 0, candidates < k)
/// and what EmbeddingIndex::search throws.
inline HybridAnswer hybrid_search(const EmbeddingIndex& index, const LexicalIndex& lexical, const VectorF& query_vector,
                                  const LexicalQuery& query, const QueryConstraints& constraints, std::size_t k,
                                  SearchMode mode, const HybridOptions& options, double unknown_share = 0.0) {
  const auto in_unit = [](double x) { return x >= 0 && x <= 1; };
  if (!in_unit(options.boost_weight) || !in_unit(options.read_lexical_weight) || !in_unit(options.unread_lexical_weight) ||
      !(options.lexical_weight <= 1) || !(options.rrf_k > 0) || options.candidates < k)
    throw InputError("hybrid.bad_options", "hybrid search needs weights in [0, 1], rrf_k > 0 and candidates >= k");
  HybridAnswer answer;
  if (k == 0) return answer;
  if (mode == SearchMode::Dense) {  // exactly search_with_constraints, with the BM25 of each result
    answer.results = search_with_constraints(index, query_vector, constraints, k, options.candidates,
                                             options.boost_weight);
    for (SearchResult& r : answer.results) r.lexical = static_cast<float>(lexical.score(query, r.row));
    return answer;
  }
  const std::size_t c = options.candidates;
  std::vector<SearchResult> dense;
  if (mode == SearchMode::Hybrid) dense = index.search(query_vector, c, constraints.filter);
  const std::vector<LexicalHit> lex = lexical.search(query, c, constraints.filter);

  // The union of both lists, each row with both scores and both ranks.
  struct Candidate {
    std::size_t row;
    float cosine = 0, bm25 = 0;
    std::size_t dense_rank = 0, lexical_rank = 0;  // 1-based, 0 = not in the list
    bool has_cosine = false, has_bm25 = false;
  };
  std::vector<Candidate> all;
  std::unordered_map<std::size_t, std::size_t> at;  // row -> position in all
  for (std::size_t i = 0; i < dense.size(); ++i) {
    at.emplace(dense[i].row, all.size());
    Candidate cand{dense[i].row};
    cand.cosine = dense[i].similarity, cand.has_cosine = true, cand.dense_rank = i + 1;
    all.push_back(cand);
  }
  for (std::size_t i = 0; i < lex.size(); ++i) {
    const auto [it, added] = at.emplace(lex[i].row, all.size());
    if (added) all.push_back(Candidate{lex[i].row});
    Candidate& cand = all[it->second];
    cand.bm25 = static_cast<float>(lex[i].score), cand.has_bm25 = true, cand.lexical_rank = i + 1;
  }
  // The score each row lacks, for the fusion and the explanation.
  std::vector<std::size_t> need_cosine;
  for (const Candidate& cand : all)
    if (!cand.has_cosine) need_cosine.push_back(cand.row);
  if (!need_cosine.empty()) {
    const std::vector<float> cosines = index.scores_of(query_vector, need_cosine);
    for (std::size_t i = 0; i < need_cosine.size(); ++i) all[at[need_cosine[i]]].cosine = cosines[i];
  }
  for (Candidate& cand : all)
    if (!cand.has_bm25) cand.bm25 = static_cast<float>(lexical.score(query, cand.row));

  double a = 1.0, a_other = 1.0;
  const bool automatic = mode == SearchMode::Hybrid && options.lexical_weight < 0 && options.fusion == Fusion::Weighted;
  if (automatic) {
    const LexicalWeights weights =
        automatic_lexical_weights(lex.empty() ? nullptr : &lex.front(), unknown_share, options);
    a = weights.same_script;
    a_other = weights.other_script;
  } else if (mode == SearchMode::Hybrid) {
    a = a_other = options.lexical_weight >= 0 ? options.lexical_weight : 0.5;  // given, or RRF's default
  }
  answer.lexical_weight = a;
  answer.other_script_lexical_weight = a_other;

  const double cos_top = dense.empty() ? 0.0 : dense.front().similarity;
  const double cos_floor = dense.empty() ? 0.0 : dense.back().similarity;
  const double bm25_top = lex.empty() ? 0.0 : lex.front().score;
  std::vector<double> fused(all.size());
  double fused_max = 0;
  for (std::size_t i = 0; i < all.size(); ++i) {
    const Candidate& cand = all[i];
    if (options.fusion == Fusion::ReciprocalRank && mode == SearchMode::Hybrid) {
      fused[i] = (cand.lexical_rank ? a / (options.rrf_k + static_cast<double>(cand.lexical_rank)) : 0.0) +
                 (cand.dense_rank ? (1 - a) / (options.rrf_k + static_cast<double>(cand.dense_rank)) : 0.0);
    } else {
      const double dense_n = cos_top > cos_floor ? std::clamp((cand.cosine - cos_floor) / (cos_top - cos_floor), 0.0, 1.0)
                                                 : (cand.has_cosine ? 1.0 : 0.0);
      const double lexical_n = bm25_top > 0 ? std::clamp(static_cast<double>(cand.bm25) / bm25_top, 0.0, 1.0) : 0.0;
      const double a_row = lexical.script(cand.row) == query.script ? a : a_other;
      fused[i] = mode == SearchMode::Lexical ? lexical_n : a_row * lexical_n + (1 - a_row) * dense_n;
    }
    fused_max = std::max(fused_max, fused[i]);
  }
  const bool rrf = options.fusion == Fusion::ReciprocalRank && mode == SearchMode::Hybrid;
  const double w = constraints.boost ? options.boost_weight : 0.0;
  answer.results.reserve(all.size());
  for (std::size_t i = 0; i < all.size(); ++i) {
    SearchResult r;
    r.row = all[i].row;
    r.id = index.id_at(r.row);
    r.similarity = all[i].cosine;
    r.lexical = all[i].bm25;
    r.boost = constraints.boost ? constraints.boost(r.row) : 0.0f;
    const double base = rrf && fused_max > 0 ? fused[i] / fused_max : fused[i];
    r.score = static_cast<float>((1 - w) * base + w * r.boost);
    answer.results.push_back(std::move(r));
  }
  std::sort(answer.results.begin(), answer.results.end(), [](const SearchResult& x, const SearchResult& y) {
    return x.score > y.score || (x.score == y.score && x.row < y.row);
  });
  if (answer.results.size() > k) answer.results.resize(k);
  return answer;
}

}  // namespace embedrank::rank
