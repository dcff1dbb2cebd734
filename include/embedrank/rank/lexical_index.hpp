#pragma once
/// LexicalIndex: BM25 over a catalogue's text fields, keyed by the
/// catalogue's rows like every other per-product table (EmbeddingIndex,
/// CatalogueAttributes), so a lexical hit and a dense hit of the same
/// product carry the same row and can be fused.
///
///   LexicalIndex lexical({{"title", 2.0}, {"description", 1.0}});
///   lexical.set(row, {product.title, product.description});   // add or replace
///   lexical.clear(row);                                        // a removed product
///   lexical.apply(remap);                                      // rows renumbered by a compaction
///   LexicalQuery q = lexical.query("quorva usb-c charger");     // analysed once
///   std::vector<LexicalHit> best = lexical.search(q, 10);
///
/// Scoring. F = fields with weights w_f, N = documents (set rows), for a
/// query term t and document d, per field f: tf = occurrences of t in d's
/// field f, dl = d's field length in terms, avgdl = the field's mean length
/// over the N documents, df = documents whose field f holds t.
///   Lucene (default, Lucene >= 8 BM25Similarity, bm25s method="lucene"):
///     idf = ln(1 + (N - df + 0.5) / (df + 0.5))
///     tfn = tf / (tf + k1 (1 - b + b dl / avgdl))
///   Okapi (rank_bm25.BM25Okapi): idf = ln((N - df + 0.5) / (df + 0.5)),
///     where negative, epsilon times the mean idf over the field's terms;
///     tfn = tf (k1 + 1) / (tf + k1 (1 - b + b dl / avgdl))
///   score(q, d) = sum_f w_f sum_{t in q} idf_f(t) tfn_f(t, d)
/// Each field is a BM25 "document" of its own (its own df and avgdl), the
/// per-field sums weighted: Lucene's BooleanQuery over per-field term
/// queries with boosts. A query's terms count once each (repeats dropped).
/// Scores are computed in double.
///
/// Cost: a query touches the postings of its terms only (term-at-a-time
/// into a per-query accumulator); score() of one row is a binary search per
/// term and field; set costs the row's terms (an insertion into a postings
/// list when a row before its end is set again), clear a binary search and
/// an erase per term.
///
/// Thread safety: const member functions may run concurrently; set, clear
/// and apply need exclusive access (ShoppingGuide provides it).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "embedrank/core/error.hpp"
#include "embedrank/core/row_remap.hpp"
#include "embedrank/rank/embedding_index.hpp"
#include "embedrank/rank/lexical_analysis.hpp"

namespace embedrank::rank {

/// One text field of the documents and its weight in the score.
struct LexicalField {
  std::string name;
  double weight = 1.0;
};

enum class Bm25Formula { Lucene, Okapi };

struct Bm25Options {
  double k1 = 1.2;
  double b = 0.75;
  Bm25Formula formula = Bm25Formula::Lucene;
  double okapi_epsilon = 0.25;  ///< Okapi only: the floor for negative idf, times the mean idf
};

/// A query analysed against one index: its distinct terms, each with its
/// weight w_f idf_f(t) summed over the fields (the most a document can
/// gain from the term per unit of tfn), used to judge how much of the
/// query a document matches.
struct LexicalQuery {
  std::vector<std::string> terms;    ///< distinct, in query order
  std::vector<std::uint32_t> ids;    ///< the index's term id, or kUnknownTerm
  std::vector<double> idf_weight;    ///< sum_f w_f idf_f(t)
  std::vector<double> field_idf;     ///< (terms, fields): idf_f(t)
  std::vector<std::size_t> order;    ///< the terms by decreasing bound: the order scores are summed in
  double total_idf_weight = 0.0;     ///< sum over the terms
  double known_idf_weight = 0.0;     ///< sum over the terms some document holds (df > 0 in a field)
  static constexpr std::uint32_t kUnknownTerm = std::numeric_limits<std::uint32_t>::max();
};

/// One lexical result: the row, its BM25 score, and the share of the
/// query's idf weight its matched terms carry (in [0, 1]): of all the
/// query's terms, and of those the index knows (terms no document holds,
/// such as misspellings or the filler bigrams of a Chinese sentence, left out).
struct LexicalHit {
  std::size_t row = 0;
  double score = 0.0;
  double coverage = 0.0;
  double known_coverage = 0.0;
};

class LexicalIndex {
 public:
  /// An index over the named fields. Throws InputError "lexical.no_fields"
  /// (none given), "lexical.bad_weight" (a weight not finite and > 0),
  /// "lexical.bad_parameters" (k1 < 0, b outside [0, 1], epsilon < 0).
  explicit LexicalIndex(std::vector<LexicalField> fields = {{"title", 2.0}, {"description", 1.0}},
                        Bm25Options bm25 = {})
      : fields_(std::move(fields)), bm25_(bm25), field_(fields_.size()) {
    if (fields_.empty()) throw InputError("lexical.no_fields", "a lexical index needs at least one field");
    for (const LexicalField& f : fields_)
      if (!(std::isfinite(f.weight) && f.weight > 0))
        throw InputError("lexical.bad_weight", "field '" + f.name + "': weight must be finite and > 0");
    if (!(bm25_.k1 >= 0 && std::isfinite(bm25_.k1)) || !(bm25_.b >= 0 && bm25_.b <= 1) ||
        !(bm25_.okapi_epsilon >= 0 && std::isfinite(bm25_.okapi_epsilon)))
      throw InputError("lexical.bad_parameters", "BM25 needs k1 >= 0, b in [0, 1] and epsilon >= 0");
  }

  const std::vector<LexicalField>& fields() const { return fields_; }
  const Bm25Options& bm25() const { return bm25_; }
  /// Rows the index has room for (set or not).
  std::size_t rows() const { return docs_.size(); }
  /// Documents (set rows): N.
  std::size_t documents() const { return documents_; }
  bool contains(std::size_t row) const { return row < docs_.size() && docs_[row].set; }

  /// Indexes the document at `row` from one text per field (analyze()),
  /// replacing what the row held. Throws InputError "lexical.bad_fields"
  /// when the count is not the fields' count.
  void set(std::size_t row, const std::vector<std::string>& field_texts) {
    if (field_texts.size() != fields_.size()) throw bad_fields(field_texts.size());
    std::vector<std::vector<std::string>> terms;
    terms.reserve(field_texts.size());
    for (const std::string& t : field_texts) terms.push_back(analyze(t));
    set_terms(row, terms);
  }

  /// As set(), from terms already analysed (one list per field).
  void set_terms(std::size_t row, const std::vector<std::vector<std::string>>& field_terms) {
    if (field_terms.size() != fields_.size()) throw bad_fields(field_terms.size());
    clear(row);
    if (row >= docs_.size()) docs_.resize(row + 1);
    Document& doc = docs_[row];
    doc.set = true;
    ++documents_;
    for (std::size_t f = 0; f < fields_.size(); ++f) {
      FieldData& field = field_[f];
      if (field.length.size() <= row) field.length.resize(row + 1, 0);
      field.length[row] = static_cast<std::uint32_t>(field_terms[f].size());
      field.total_length += field_terms[f].size();
      // The field's term ids sorted, so each distinct term's occurrences are one run.
      std::vector<std::uint32_t> ids;
      ids.reserve(field_terms[f].size());
      for (const std::string& term : field_terms[f]) ids.push_back(intern(term));
      std::sort(ids.begin(), ids.end());
      for (std::size_t j = 0, next = 0; j < ids.size(); j = next) {
        while (next < ids.size() && ids[next] == ids[j]) ++next;
        const std::uint32_t term = ids[j];
        const auto count = static_cast<std::uint32_t>(next - j);
        if (field.postings.size() <= term) field.postings.resize(term + 1);
        std::vector<Posting>& list = field.postings[term];
        const Posting posting{static_cast<std::uint32_t>(row), count};
        if (list.empty() || list.back().row < row)
          list.push_back(posting);  // the usual case: a new row at the end
        else
          list.insert(std::lower_bound(list.begin(), list.end(), posting, by_row), posting);
        doc.terms.push_back(FieldTerm{static_cast<std::uint32_t>(f), term});
      }
    }
  }

  /// Removes the document at `row` (nothing happens for a row never set).
  void clear(std::size_t row) {
    if (!contains(row)) return;
    Document& doc = docs_[row];
    for (const FieldTerm& ft : doc.terms) {
      std::vector<Posting>& list = field_[ft.field].postings[ft.term];
      const auto it = std::lower_bound(list.begin(), list.end(), Posting{static_cast<std::uint32_t>(row), 0}, by_row);
      if (it != list.end() && it->row == row) list.erase(it);  // keeps the list in row order
    }
    for (FieldData& field : field_) {
      field.total_length -= field.length[row];
      field.length[row] = 0;
    }
    doc = Document{};
    --documents_;
  }

  /// Renumbers rows after a compaction: dropped rows must have been cleared
  /// (throws InputError "lexical.remap_live_row" otherwise).
  void apply(const RowRemap& remap) {
    if (remap.identity() && remap.new_row.size() >= docs_.size()) return;
    for (std::size_t row = 0; row < docs_.size(); ++row)
      if (docs_[row].set && remap(row) == RowRemap::kRemoved)
        throw InputError("lexical.remap_live_row", "row " + std::to_string(row) + " is dropped but still indexed");
    std::vector<Document> docs(remap.rows_after);
    for (std::size_t row = 0; row < docs_.size(); ++row)
      if (docs_[row].set) docs[remap(row)] = std::move(docs_[row]);
    docs_ = std::move(docs);
    for (FieldData& field : field_) {
      std::vector<std::uint32_t> length(remap.rows_after, 0);
      for (std::size_t row = 0; row < field.length.size(); ++row)
        if (remap(row) != RowRemap::kRemoved) length[remap(row)] = field.length[row];
      field.length = std::move(length);
      for (std::vector<Posting>& list : field.postings)
        for (Posting& p : list) p.row = static_cast<std::uint32_t>(remap(p.row));  // order kept: remap is monotone
    }
  }

  /// Analyses `text` (analyze()) into a query against this index.
  LexicalQuery query(std::string_view text) const { return query_terms(analyze(text)); }

  /// A query from terms already analysed; repeats are dropped.
  LexicalQuery query_terms(const std::vector<std::string>& terms) const {
    LexicalQuery q;
    for (const std::string& term : terms) {
      if (std::find(q.terms.begin(), q.terms.end(), term) != q.terms.end()) continue;
      const auto it = dictionary_.find(term);
      const std::uint32_t id = it == dictionary_.end() ? LexicalQuery::kUnknownTerm : it->second;
      double weight = 0;
      bool known = false;
      for (std::size_t f = 0; f < fields_.size(); ++f) {
        const double field_idf = idf(f, id);
        q.field_idf.push_back(field_idf);
        weight += fields_[f].weight * field_idf;
        known = known || (id != LexicalQuery::kUnknownTerm && document_frequency(f, id) > 0);
      }
      q.terms.push_back(term);
      q.ids.push_back(id);
      q.idf_weight.push_back(weight);
      q.total_idf_weight += weight;
      if (known) q.known_idf_weight += weight;
    }
    // Terms by decreasing bound, ties in query order: search() and score() both sum in this order.
    q.order.resize(q.terms.size());
    for (std::size_t t = 0; t < q.order.size(); ++t) q.order[t] = t;
    std::stable_sort(q.order.begin(), q.order.end(),
                     [&](std::size_t a, std::size_t b) { return bound(q, a) > bound(q, b); });
    return q;
  }

  /// idf_f(t) for field f and term id (kUnknownTerm: df = 0).
  double idf(std::size_t f, std::uint32_t term) const {
    const double n = static_cast<double>(documents_);
    const double df = static_cast<double>(document_frequency(f, term));
    if (bm25_.formula == Bm25Formula::Lucene) return std::log(1.0 + (n - df + 0.5) / (df + 0.5));
    const double raw = std::log((n - df + 0.5) / (df + 0.5));
    return raw >= 0 ? raw : bm25_.okapi_epsilon * mean_okapi_idf(f);
  }

  /// Documents whose field f holds the term.
  std::size_t document_frequency(std::size_t f, std::uint32_t term) const {
    const FieldData& field = field_.at(f);
    return term < field.postings.size() ? field.postings[term].size() : 0;
  }

  /// The score of the document at `row` for the query (0 for an unset row).
  double score(const LexicalQuery& q, std::size_t row) const { return score_and_coverage(q, row).first; }

  /// The k best documents for the query: score > 0, the filter passing
  /// (SearchFilter: `exclude` rows skipped, `keep` asked for candidates),
  /// best first, ties by row ascending. A query without terms finds nothing.
  ///
  /// Term at a time, the terms in decreasing order of their bound (the most
  /// a document can gain from them, sum_f w_f idf_f(t) for Lucene), into an
  /// accumulator of the documents met so far, kept in row order and merged
  /// with each postings list. Once the k-th best accumulated score exceeds
  /// the sum of the bounds of the terms still to come, no document not yet
  /// met can enter the top k, and the remaining terms only update the
  /// documents met (a binary search each in the remaining lists); from then
  /// on, before each term, the documents whose score plus the bounds still
  /// to come stays below the k-th best are dropped. The results and their
  /// scores are those of the exhaustive sum. (Okapi's idf may be negative,
  /// so it always runs exhaustively.)
  std::vector<LexicalHit> search(const LexicalQuery& q, std::size_t k, const SearchFilter& filter = {}) const {
    std::vector<LexicalHit> hits;
    if (k == 0 || q.terms.empty() || documents_ == 0) return hits;
    struct Acc {
      std::uint32_t row;
      std::uint32_t last_term;  // the query term that last added to it
      double score;
      double matched;  // idf weight of the query terms the document holds
    };
    std::vector<Acc> acc, merged;
    const bool prune = bm25_.formula == Bm25Formula::Lucene;
    // still[i]: the most the terms from position i of the order on can add,
    // a little above the exact sum so that rounding never drops a contender
    std::vector<double> still(q.order.size() + 1, 0.0);
    for (std::size_t i = q.order.size(); i-- > 0;) still[i] = still[i + 1] + bound(q, q.order[i]);
    for (double& x : still) x = x * (1 + 1e-9) + 1e-12;
    // a[t] += w_f idf_f(t) tfn_f(t, d), and the term's idf weight once per term
    const auto add = [&](Acc& a, std::size_t t, std::size_t f, const Posting& p) {
      if (a.last_term != t) a.matched += q.idf_weight[t];
      a.last_term = static_cast<std::uint32_t>(t);
      a.score += fields_[f].weight * q.field_idf[t * fields_.size() + f] *
                 tf_norm(p.tf, field_[f].length[p.row], average_length(f));
    };
    const auto list_of = [&](std::size_t t, std::size_t f) -> const std::vector<Posting>* {
      if (q.ids[t] == LexicalQuery::kUnknownTerm || q.ids[t] >= field_[f].postings.size()) return nullptr;
      return &field_[f].postings[q.ids[t]];
    };
    bool closed = false;  // no new document can enter the top k
    for (std::size_t i = 0; i < q.order.size(); ++i) {
      const std::size_t t = q.order[i];
      if (prune && acc.size() >= k) {
        // theta = the k-th best score so far; it only grows (contributions are >= 0)
        const double theta = kth_score(acc, k, filter);
        closed = closed || theta > still[i];
        // a document that cannot reach theta even with every remaining term is out
        if (closed)
          acc.erase(std::remove_if(acc.begin(), acc.end(), [&](const Acc& x) { return x.score + still[i] < theta; }),
                    acc.end());
      }
      for (std::size_t f = 0; f < fields_.size(); ++f) {
        const auto* listed = list_of(t, f);
        if (listed == nullptr) continue;
        const std::vector<Posting>& list = *listed;
        if (closed) {
          // only the documents met so far: a binary search each, moving forward
          auto from = list.begin();
          for (Acc& a : acc) {
            from = std::lower_bound(from, list.end(), Posting{a.row, 0}, by_row);
            if (from == list.end()) break;
            if (from->row == a.row) add(a, t, f, *from);
          }
          continue;
        }
        // merge the list into the accumulator (both in row order)
        merged.clear();
        merged.reserve(acc.size() + list.size());
        auto a = acc.begin();
        for (const Posting& p : list) {
          if (filter.exclude != nullptr && filter.exclude->test(p.row)) continue;
          while (a != acc.end() && a->row < p.row) merged.push_back(*a++);
          if (a != acc.end() && a->row == p.row) {
            merged.push_back(*a++);
          } else {
            merged.push_back(Acc{p.row, LexicalQuery::kUnknownTerm, 0.0, 0.0});
          }
          add(merged.back(), t, f, p);
        }
        merged.insert(merged.end(), a, acc.end());
        acc.swap(merged);
      }
    }
    hits.reserve(acc.size());
    for (const Acc& a : acc)
      if (a.score > 0)
        hits.push_back(LexicalHit{a.row, a.score, share(a.matched, q.total_idf_weight), share(a.matched, q.known_idf_weight)});
    if (!filter.keep) {
      // the k best, sorted: a selection, then a sort of k
      if (hits.size() > k) {
        std::nth_element(hits.begin(), hits.begin() + static_cast<std::ptrdiff_t>(k - 1), hits.end(), better);
        hits.resize(k);
      }
      std::sort(hits.begin(), hits.end(), better);
      return hits;
    }
    // with a predicate: sort a growing prefix until k of it pass
    std::vector<LexicalHit> kept;
    for (std::size_t m = std::min(hits.size(), 2 * k + 16);; m = std::min(hits.size(), 4 * m)) {
      std::partial_sort(hits.begin(), hits.begin() + static_cast<std::ptrdiff_t>(m), hits.end(), better);
      kept.clear();
      for (std::size_t j = 0; j < m && kept.size() < k; ++j)
        if (filter.keep(hits[j].row)) kept.push_back(hits[j]);
      if (kept.size() == k || m == hits.size()) return kept;
    }
  }

 private:
  struct Posting {
    std::uint32_t row;
    std::uint32_t tf;
  };
  static bool by_row(const Posting& a, const Posting& b) { return a.row < b.row; }
  struct FieldData {
    std::vector<std::vector<Posting>> postings;  // by term id, rows ascending
    std::vector<std::uint32_t> length;           // by row: terms in this field
    std::size_t total_length = 0;
  };
  struct FieldTerm {
    std::uint32_t field;
    std::uint32_t term;
  };
  struct Document {
    bool set = false;
    std::vector<FieldTerm> terms;  // distinct (field, term) pairs, for clear()
  };

  InputError bad_fields(std::size_t given) const {
    return InputError("lexical.bad_fields", std::to_string(given) + " field texts for an index of " +
                                                std::to_string(fields_.size()) + " fields");
  }

  std::uint32_t intern(const std::string& term) {
    const auto [it, added] = dictionary_.try_emplace(term, static_cast<std::uint32_t>(dictionary_.size()));
    return it->second;
  }

  static bool better(const LexicalHit& a, const LexicalHit& b) {
    return a.score > b.score || (a.score == b.score && a.row < b.row);
  }

  // The most a document can gain from query term t: sum_f w_f idf_f(t)
  // over the fields holding it (Lucene's tfn < 1).
  double bound(const LexicalQuery& q, std::size_t t) const {
    if (q.ids[t] == LexicalQuery::kUnknownTerm) return 0.0;
    double b = 0;
    for (std::size_t f = 0; f < fields_.size(); ++f)
      if (document_frequency(f, q.ids[t]) > 0) b += fields_[f].weight * std::max(0.0, q.field_idf[t * fields_.size() + f]);
    return b;
  }

  // The k-th best accumulated score among documents passing the filter's
  // predicate (exclude is applied when documents enter), or -1 with fewer.
  template <typename Acc>
  static double kth_score(const std::vector<Acc>& acc, std::size_t k, const SearchFilter& filter) {
    std::vector<double> scores;
    if (!filter.keep) {
      scores.reserve(acc.size());
      for (const Acc& a : acc) scores.push_back(a.score);
      std::nth_element(scores.begin(), scores.begin() + static_cast<std::ptrdiff_t>(k - 1), scores.end(),
                       std::greater<double>());
      return scores[k - 1];
    }
    // the best first, a growing prefix sorted at a time, until k of it pass
    std::vector<std::pair<double, std::uint32_t>> by_score;
    by_score.reserve(acc.size());
    for (const Acc& a : acc) by_score.emplace_back(a.score, a.row);
    for (std::size_t m = std::min(by_score.size(), 2 * k + 16);; m = std::min(by_score.size(), 4 * m)) {
      std::partial_sort(by_score.begin(), by_score.begin() + static_cast<std::ptrdiff_t>(m), by_score.end(),
                        std::greater<>());
      std::size_t passed = 0;
      for (std::size_t j = 0; j < m; ++j)
        if (filter.keep(by_score[j].second) && ++passed == k) return by_score[j].first;
      if (m == by_score.size()) return -1.0;
    }
  }

  static double share(double part, double whole) { return whole > 0 ? std::min(1.0, part / whole) : 0.0; }

  double average_length(std::size_t f) const {
    return documents_ == 0 ? 0.0 : static_cast<double>(field_[f].total_length) / static_cast<double>(documents_);
  }

  // tfn of the file comment; a field that is empty in every document scores nothing.
  double tf_norm(std::uint32_t tf, std::uint32_t dl, double avgdl) const {
    if (avgdl <= 0) return 0.0;
    const double t = static_cast<double>(tf);
    const double norm = bm25_.k1 * (1.0 - bm25_.b + bm25_.b * static_cast<double>(dl) / avgdl);
    return bm25_.formula == Bm25Formula::Lucene ? t / (t + norm) : t * (bm25_.k1 + 1.0) / (t + norm);
  }

  // rank_bm25's average idf: over the field's terms with df > 0.
  double mean_okapi_idf(std::size_t f) const {
    const double n = static_cast<double>(documents_);
    double sum = 0;
    std::size_t count = 0;
    for (const auto& list : field_[f].postings) {
      if (list.empty()) continue;
      const double df = static_cast<double>(list.size());
      sum += std::log((n - df + 0.5) / (df + 0.5));
      ++count;
    }
    return count == 0 ? 0.0 : sum / static_cast<double>(count);
  }

  std::pair<double, double> score_and_coverage(const LexicalQuery& q, std::size_t row) const {
    if (!contains(row)) return {0.0, 0.0};
    double score = 0, matched = 0;
    for (std::size_t t : q.order) {
      if (q.ids[t] == LexicalQuery::kUnknownTerm) continue;
      bool hit = false;
      for (std::size_t f = 0; f < fields_.size(); ++f) {
        const FieldData& field = field_[f];
        if (q.ids[t] >= field.postings.size()) continue;
        const auto& list = field.postings[q.ids[t]];
        const auto it = std::lower_bound(list.begin(), list.end(), Posting{static_cast<std::uint32_t>(row), 0}, by_row);
        if (it == list.end() || it->row != row) continue;
        hit = true;
        score += fields_[f].weight * q.field_idf[t * fields_.size() + f] * tf_norm(it->tf, field.length[row], average_length(f));
      }
      if (hit) matched += q.idf_weight[t];
    }
    return {score, q.total_idf_weight > 0 ? std::min(1.0, matched / q.total_idf_weight) : 0.0};
  }

  std::vector<LexicalField> fields_;
  Bm25Options bm25_;
  std::vector<FieldData> field_;                             // by field
  std::unordered_map<std::string, std::uint32_t> dictionary_;  // term -> id, shared by the fields
  std::vector<Document> docs_;                                // by row
  std::size_t documents_ = 0;
};

}  // namespace embedrank::rank
