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
/// Storage: per field and term, a postings list (row, tf) in row order,
/// cut into blocks that bound what their documents can score
/// (rank/detail/postings.hpp).
///
/// Search: document at a time with MaxScore and block-max skipping; see
/// search(). Cost: a query reads the postings of its rarer terms and, of
/// the common ones, only the blocks and documents that could still enter
/// the top k; score() of one row is a binary search per term and field;
/// set costs the row's terms (an insertion into a postings list, and its
/// blocks rebuilt from there, when a row before its end is set again),
/// clear a binary search and an erase per term.
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
#include "embedrank/rank/detail/postings.hpp"
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
  Script script = kOther;            ///< script_of the terms: documents of another script cannot match them
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
  /// The script of the document's terms (script_of; kOther for an unset
  /// row). A query matches words only in documents of its own script.
  Script script(std::size_t row) const { return contains(row) ? docs_[row].script : kOther; }

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
    doc.script = script_of_terms(field_terms);
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
        field.postings[term].add(Posting{static_cast<std::uint32_t>(row), count}, field.length);
        doc.terms.push_back(FieldTerm{static_cast<std::uint32_t>(f), term});
      }
    }
  }

  /// Removes the document at `row` (nothing happens for a row never set).
  void clear(std::size_t row) {
    if (!contains(row)) return;
    Document& doc = docs_[row];
    for (const FieldTerm& ft : doc.terms) {
      FieldData& field = field_[ft.field];
      field.postings[ft.term].remove(static_cast<std::uint32_t>(row), field.length);
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
      for (PostingList& list : field.postings) {
        for (Posting& p : list.postings) p.row = static_cast<std::uint32_t>(remap(p.row));  // order kept: remap is monotone
        list.rebuild(0, field.length);
      }
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
    q.script = script_of_terms({terms});
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
    return term < field.postings.size() ? field.postings[term].postings.size() : 0;
  }

  /// The score of the document at `row` for the query (0 for an unset row).
  double score(const LexicalQuery& q, std::size_t row) const { return hit(q, row).score; }

  /// The row's score and coverage for the query, as search() reports them
  /// (score 0 for an unset row).
  LexicalHit hit(const LexicalQuery& q, std::size_t row) const {
    if (!contains(row)) return LexicalHit{row, 0.0, 0.0, 0.0};
    std::vector<Cursor> cursors = cursors_of(q);
    std::vector<double> gained(cursors.size(), 0.0);
    std::vector<char> holds(cursors.size(), 0);
    for (std::size_t j = 0; j < cursors.size(); ++j) {
      cursors[j].seek(static_cast<std::uint32_t>(row));
      if (cursors[j].row() != row) continue;
      gained[j] = cursors[j].gain(*this);
      holds[j] = 1;
    }
    return total(q, cursors, gained, holds, row);
  }

  /// The k best documents for the query: score > 0, the filter passing
  /// (SearchFilter: `exclude` rows skipped, `keep` asked only of documents
  /// that would enter the top k), best first, ties by row ascending. A query
  /// without terms finds nothing. The results and their scores are exactly
  /// those of scoring every row (score()): the same sums in the same order.
  ///
  /// Document at a time over one cursor per (query term, field) list, rows
  /// ascending, keeping the k best so far in a heap; theta = the k-th best
  /// score (0 until there are k). Each cursor has a bound: the most a
  /// document can gain from it (w_f idf_f(t) tfn at the list's largest tf
  /// and shortest length). Pruning (Turtle & Flood's MaxScore, with
  /// Ding & Suel's block maxima):
  ///  - the cursors whose bounds sum to at most theta (the smallest ones)
  ///    are non-essential: a document in none of the others cannot beat
  ///    theta, so candidates come from the essential cursors only, and the
  ///    non-essential ones are only moved to a candidate (skipping whole
  ///    blocks by their last row) while the candidate can still beat theta;
  ///  - before scoring a candidate, the block each cursor holds it in bounds
  ///    every document up to the nearest block end; when those block bounds
  ///    sum to at most theta, that whole window is skipped unread.
  /// Bounds are taken a little above the exact sums so that rounding never
  /// drops a contender. Okapi's idf may be negative, so it scores every
  /// document of the union without pruning.
  std::vector<LexicalHit> search(const LexicalQuery& q, std::size_t k, const SearchFilter& filter = {}) const {
    std::vector<LexicalHit> best;
    if (k == 0 || q.terms.empty() || documents_ == 0) return best;
    std::vector<Cursor> cursors = cursors_of(q);
    bool prune = true;
    for (const Cursor& c : cursors) prune = prune && c.weight >= 0;
    if (cursors.empty()) return best;
    const std::size_t nc = cursors.size();
    // by_bound: the cursors by increasing bound; below[j] = the bounds of by_bound[0, j) summed
    std::vector<std::size_t> by_bound(nc);
    for (std::size_t j = 0; j < nc; ++j) by_bound[j] = j;
    std::stable_sort(by_bound.begin(), by_bound.end(),
                     [&](std::size_t a, std::size_t b) { return cursors[a].bound < cursors[b].bound; });
    std::vector<double> below(nc + 1, 0.0);
    for (std::size_t j = 0; j < nc; ++j) below[j + 1] = below[j] + cursors[by_bound[j]].bound;

    best.reserve(std::min(k, documents_) + 1);
    const auto worse = [](const LexicalHit& a, const LexicalHit& b) { return better(a, b); };  // heap top: the worst kept
    double theta = prune ? 0.0 : -std::numeric_limits<double>::infinity();
    std::size_t essential = 0;  // by_bound[essential, nc) are the essential cursors
    const auto raise_threshold = [&]() {
      if (!prune || best.size() < k) return;
      theta = best.front().score;
      while (essential < nc && below[essential + 1] <= theta) ++essential;
    };
    std::size_t window_end = 0;  // every row up to here passed the block-max test at threshold window_theta
    double window_theta = -1.0;
    bool window_open = false;
    std::vector<double> gained(nc, 0.0);  // the current document's contribution from each cursor
    std::vector<char> holds(nc, 0);
    while (essential < nc) {
      // The next candidate: the smallest row of the essential cursors.
      std::uint32_t row = kEnd;
      for (std::size_t j = essential; j < nc; ++j) row = std::min(row, cursors[by_bound[j]].row());
      if (row == kEnd) break;
      const auto step_past = [&](std::uint32_t last) {  // the essential cursors to the first row after `last`
        for (std::size_t j = essential; j < nc; ++j) cursors[by_bound[j]].seek(last + 1);
      };
      if (filter.exclude != nullptr && filter.exclude->test(row)) {
        step_past(row);
        continue;
      }
      if (prune && !(window_open && row <= window_end && window_theta == theta)) {
        // Block maxima: every document in rows [row, end] is bounded by its blocks' bounds.
        double reach = 0.0;
        std::uint32_t end = kEnd - 1;
        for (Cursor& c : cursors) {
          if (!c.shallow_seek(row)) continue;  // exhausted: contributes nothing
          reach += c.block_bound(*this);
          end = std::min(end, c.list->blocks[c.block].last_row);
        }
        if (reach <= theta) {
          step_past(end);
          window_open = false;
          continue;
        }
        window_open = true, window_end = end, window_theta = theta;
      }
      // Score the candidate: essential cursors first, then the others from the largest bound down
      // while the candidate can still beat theta.
      double partial = 0.0;
      for (std::size_t j = essential; j < nc; ++j) {
        Cursor& c = cursors[by_bound[j]];
        if (c.row() != row) continue;
        gained[by_bound[j]] = c.gain(*this);
        holds[by_bound[j]] = 1;
        partial += gained[by_bound[j]];
        ++c.pos;
      }
      bool hopeless = false;
      for (std::size_t j = essential; j-- > 0;) {
        if (partial + below[j + 1] <= theta) {
          hopeless = true;
          break;
        }
        Cursor& c = cursors[by_bound[j]];
        c.seek(row);
        if (c.row() != row) continue;
        gained[by_bound[j]] = c.gain(*this);
        holds[by_bound[j]] = 1;
        partial += gained[by_bound[j]];
      }
      if (!hopeless) {
        LexicalHit hit = total(q, cursors, gained, holds, row);
        const bool enters = hit.score > 0 && (best.size() < k || better(hit, best.front()));
        if (enters && (!filter.keep || filter.keep(row))) {
          best.push_back(hit);
          std::push_heap(best.begin(), best.end(), worse);
          if (best.size() > k) {
            std::pop_heap(best.begin(), best.end(), worse);
            best.pop_back();
          }
          raise_threshold();
        }
      }
      std::fill(holds.begin(), holds.end(), 0);
    }
    std::sort(best.begin(), best.end(), better);
    return best;
  }

 private:
  static constexpr std::size_t kBlock = detail::kPostingBlock;
  static constexpr std::uint32_t kEnd = detail::kEndRow;
  using Posting = detail::Posting;
  using PostingList = detail::PostingList;

  struct FieldData {
    std::vector<PostingList> postings;  // by term id
    std::vector<std::uint32_t> length;  // by row: terms in this field
    std::size_t total_length = 0;
  };
  struct FieldTerm {
    std::uint32_t field;
    std::uint32_t term;
  };
  struct Document {
    bool set = false;
    Script script = kOther;        // script_of the document's terms
    std::vector<FieldTerm> terms;  // distinct (field, term) pairs, for clear()
  };

  // A position in one (query term, field) postings list during search().
  struct Cursor {
    const PostingList* list = nullptr;
    std::size_t term = 0;             // the query term's index
    double weight = 0.0;              // w_f idf_f(t)
    double bound = 0.0;               // the most a document gains from this list (inflated)
    const std::uint32_t* length = nullptr;
    double average_length = 0.0;
    std::size_t pos = 0;     // the current posting
    std::size_t block = 0;   // a block at or before pos's, moved by shallow_seek
    std::size_t bound_block = kEnd;  // the block whose bound is in block_bound_value
    double block_bound_value = 0.0;

    std::uint32_t row() const { return pos < list->postings.size() ? list->postings[pos].row : kEnd; }
    // To the first block ending at or after `target`; false when none does.
    bool shallow_seek(std::uint32_t target) {
      while (block < list->blocks.size() && list->blocks[block].last_row < target) ++block;
      return block < list->blocks.size();
    }
    // To the first posting at or after `target`, skipping whole blocks.
    void seek(std::uint32_t target) {
      if (row() >= target) return;
      if (!shallow_seek(target)) {
        pos = list->postings.size();
        return;
      }
      const auto from = list->postings.begin() + static_cast<std::ptrdiff_t>(std::max(pos, block * kBlock));
      const auto to = list->postings.begin() + static_cast<std::ptrdiff_t>(std::min(list->postings.size(), (block + 1) * kBlock));
      pos = static_cast<std::size_t>(std::lower_bound(from, to, Posting{target, 0}, detail::by_row) - list->postings.begin());
    }
    // The most a document of the current block gains (inflated).
    double block_bound(const LexicalIndex& index) {
      if (bound_block != block) {
        const detail::PostingBlock& b = list->blocks[block];
        block_bound_value = index.inflate(weight * index.tf_norm(b.max_tf, b.min_length, average_length));
        bound_block = block;
      }
      return block_bound_value;
    }
    // w_f idf_f(t) tfn_f(t, d) of the current posting: score()'s expression.
    double gain(const LexicalIndex& index) const {
      const Posting& p = list->postings[pos];
      return weight * index.tf_norm(p.tf, length[p.row], average_length);
    }
  };

  // A bound taken a little above its exact value, so that rounding in a sum never drops a contender.
  static double inflate(double bound) { return bound * (1 + 1e-9) + 1e-12; }

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

  // script_of the terms of one or more fields, read as one text, counted
  // without decoding each character: the analyser puts CJK characters only
  // in CJK terms (bigrams, unigrams) and none in the others, and leaves in a
  // term no separator but '.' between digits.
  static Script script_of_terms(const std::vector<std::vector<std::string>>& fields) {
    std::size_t cjk = 0, letters = 0;
    for (const auto& terms : fields)
      for (const std::string& term : terms) {
        std::size_t first = 0;
        const bool cjk_term = !term.empty() && detail::is_cjk(text::decode_utf8(term, first));
        for (const char ch : term) {
          const auto byte = static_cast<unsigned char>(ch);
          if ((byte & 0xC0) == 0x80 || (byte >= '0' && byte <= '9') || byte == '.') continue;  // not a letter's first byte
          ++letters;
          if (cjk_term) ++cjk;
        }
      }
    return letters > 0 && static_cast<double>(cjk) >= kCjkShare * static_cast<double>(letters) ? kCjk : kOther;
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
    for (const PostingList& list : field_[f].postings) {
      if (list.postings.empty()) continue;
      const double df = static_cast<double>(list.postings.size());
      sum += std::log((n - df + 0.5) / (df + 0.5));
      ++count;
    }
    return count == 0 ? 0.0 : sum / static_cast<double>(count);
  }

  // One cursor per (query term, field) list that has postings, in the
  // order scores are summed: the terms in q.order, then the fields.
  std::vector<Cursor> cursors_of(const LexicalQuery& q) const {
    std::vector<Cursor> cursors;
    const std::size_t nf = fields_.size();
    for (std::size_t t : q.order) {
      if (q.ids[t] == LexicalQuery::kUnknownTerm) continue;
      for (std::size_t f = 0; f < nf; ++f) {
        if (q.ids[t] >= field_[f].postings.size() || field_[f].postings[q.ids[t]].postings.empty()) continue;
        Cursor c;
        c.list = &field_[f].postings[q.ids[t]];
        c.term = t;
        c.weight = fields_[f].weight * q.field_idf[t * nf + f];
        c.length = field_[f].length.data();
        c.average_length = average_length(f);
        c.bound = inflate(c.weight * tf_norm(c.list->max_tf, c.list->min_length, c.average_length));
        cursors.push_back(c);
      }
    }
    return cursors;
  }

  // A document's score and coverage from what each cursor gained on it
  // (gained[j], where holds[j]): the one place scores are summed, in the
  // cursors' order, so that search() and hit() agree to the bit.
  static LexicalHit total(const LexicalQuery& q, const std::vector<Cursor>& cursors, const std::vector<double>& gained,
                          const std::vector<char>& holds, std::size_t row) {
    LexicalHit hit{row, 0.0, 0.0, 0.0};
    double matched = 0.0;
    std::size_t counted = LexicalQuery::kUnknownTerm;  // a term's cursors are adjacent: count it once
    for (std::size_t j = 0; j < cursors.size(); ++j) {
      if (!holds[j]) continue;
      hit.score += gained[j];
      if (cursors[j].term != counted) matched += q.idf_weight[counted = cursors[j].term];
    }
    hit.coverage = share(matched, q.total_idf_weight);
    hit.known_coverage = share(matched, q.known_idf_weight);
    return hit;
  }

  std::vector<LexicalField> fields_;
  Bm25Options bm25_;
  std::vector<FieldData> field_;                             // by field
  std::unordered_map<std::string, std::uint32_t> dictionary_;  // term -> id, shared by the fields
  std::vector<Document> docs_;                                // by row
  std::size_t documents_ = 0;
};

}  // namespace embedrank::rank
