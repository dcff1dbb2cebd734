// The lexical index: the analyser against an independent Python
// implementation of its rules, BM25 scores against bm25s (Lucene) and
// rank_bm25 (Okapi) on the sample catalogue (fixtures written by
// weights_tools/make_bm25_fixtures.py), search against scoring every row,
// updates against a fresh index, bad input, and a fuzz of the analyser.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "embedrank/core/row_remap.hpp"
#include "embedrank/rank/item_bitmap.hpp"
#include "embedrank/rank/lexical_index.hpp"
#include "embedrank/text/unicode.hpp"

using embedrank::InputError;
using embedrank::RowRemap;
using embedrank::rank::analyze;
using embedrank::rank::Bm25Formula;
using embedrank::rank::Bm25Options;
using embedrank::rank::LexicalHit;
using embedrank::rank::LexicalIndex;
using embedrank::rank::LexicalQuery;
using Catch::Matchers::WithinAbs;

namespace {

const std::string kFixtures = std::string(EMBEDRANK_TEST_DATA_DIR) + "/rank/bm25/";
const char* const kRegenerate =
    "regenerate with: .venv-ref/bin/python weights_tools/make_bm25_fixtures.py (see its docstring)";

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string part;
  std::istringstream in(s);
  while (std::getline(in, part, sep)) out.push_back(part);
  if (!s.empty() && s.back() == sep) out.emplace_back();
  return out;
}

std::vector<std::string> words(const std::string& s) {
  std::vector<std::string> out;
  for (const std::string& w : split(s, ' '))
    if (!w.empty()) out.push_back(w);
  return out;
}

struct Catalogue {
  std::vector<std::string> ids;
  std::map<std::string, std::vector<std::string>> text;  // field -> by product
};

Catalogue sample_catalogue() {
  std::ifstream in(std::string(EMBEDRANK_SOURCE_DIR) + "/examples/data/catalogue.tsv");
  REQUIRE(in);
  std::string line;
  std::getline(in, line);
  const std::vector<std::string> header = split(line, '\t');
  Catalogue c;
  while (std::getline(in, line)) {
    const std::vector<std::string> v = split(line, '\t');
    REQUIRE(v.size() == header.size());
    for (std::size_t i = 0; i < header.size(); ++i) {
      if (header[i] == "id") c.ids.push_back(v[i]);
      if (header[i] == "title" || header[i] == "description") c.text[header[i]].push_back(v[i]);
    }
  }
  return c;
}

// tokens.tsv: field -> product -> terms
std::map<std::string, std::vector<std::vector<std::string>>> fixture_tokens(const Catalogue& c) {
  std::ifstream in(kFixtures + "tokens.tsv");
  REQUIRE(in);
  std::map<std::string, std::vector<std::vector<std::string>>> out;
  std::string line;
  while (std::getline(in, line)) {
    const std::vector<std::string> v = split(line, '\t');
    REQUIRE(v.size() == 3);
    auto& field = out[v[1]];
    field.push_back(words(v[2]));
    REQUIRE(c.ids[field.size() - 1] == v[0]);
  }
  return out;
}

struct FixtureQuery {
  std::string text;
  std::vector<std::string> terms;
};

std::vector<FixtureQuery> fixture_queries() {
  std::ifstream in(kFixtures + "queries.tsv");
  REQUIRE(in);
  std::vector<FixtureQuery> out;
  std::string line;
  while (std::getline(in, line)) {
    const std::vector<std::string> v = split(line, '\t');
    REQUIRE(v.size() == 2);
    out.push_back({v[0], words(v[1])});
  }
  return out;
}

LexicalIndex one_field_index(const std::vector<std::vector<std::string>>& docs, Bm25Formula formula) {
  Bm25Options bm25;
  bm25.formula = formula;
  LexicalIndex index({{"text", 1.0}}, bm25);
  for (std::size_t row = 0; row < docs.size(); ++row) index.set_terms(row, {docs[row]});
  return index;
}

std::vector<std::string> distinct(const std::vector<std::string>& terms) {
  std::vector<std::string> out;
  for (const std::string& t : terms)
    if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(t);
  return out;
}

// Every row's score, sorted best first (score, then row), score > 0 only.
std::vector<LexicalHit> brute_force(const LexicalIndex& index, const LexicalQuery& q, std::size_t k,
                                    const std::vector<bool>& skip) {
  std::vector<LexicalHit> all;
  for (std::size_t row = 0; row < index.rows(); ++row) {
    const LexicalHit hit = index.hit(q, row);
    if (hit.score > 0 && !skip[row]) all.push_back(hit);
  }
  std::sort(all.begin(), all.end(), [](const LexicalHit& a, const LexicalHit& b) {
    return a.score > b.score || (a.score == b.score && a.row < b.row);
  });
  if (all.size() > k) all.resize(k);
  return all;
}

}  // namespace

TEST_CASE("the analyser gives the reference implementation's terms on the sample catalogue", "[lexical][analysis]") {
  const Catalogue c = sample_catalogue();
  const auto tokens = fixture_tokens(c);
  for (const auto& [field, docs] : tokens) {
    INFO("field " << field << "; " << kRegenerate);
    REQUIRE(docs.size() == c.ids.size());
    for (std::size_t i = 0; i < docs.size(); ++i) {
      INFO(c.ids[i] << ": " << c.text.at(field)[i]);
      CHECK(analyze(c.text.at(field)[i]) == docs[i]);
    }
  }
  for (const FixtureQuery& q : fixture_queries()) {
    INFO(q.text);
    CHECK(distinct(analyze(q.text)) == q.terms);
  }
}

TEST_CASE("analysis: CJK bigrams, model numbers, folding, stop words", "[lexical][analysis]") {
  using V = std::vector<std::string>;
  CHECK(analyze("红色连衣裙") == V{"红色", "色连", "连衣", "衣裙"});
  CHECK(analyze("连") == V{"连"});                              // a lone CJK character: a unigram
  CHECK(analyze("裙 V领") == V{"裙", "v", "领"});
  CHECK(analyze("Vellor K87") == V{"vellor", "k87", "k", "87"});  // whole and split at letter/digit
  CHECK(analyze("GT-3000") == V{"gt", "3000", "gt3000"});         // joined across one hyphen
  CHECK(analyze("20,000 mAh, 5.5 L") == V{"20000", "mah", "5.5", "l"});
  CHECK(analyze("ＵＳＢ－Ｃ") == V{"usb", "c", "usbc"});            // fullwidth folded
  CHECK(analyze("Crème BRÛLÉE") == V{"creme", "brulee"});           // accents dropped, lowercased
  CHECK(analyze("the best of the rest") == V{"best", "rest"});
  CHECK(analyze("ｶﾀｶﾅ").empty() == false);
  CHECK(analyze("こんにちは世界") == V{"こん", "んに", "にち", "ちは", "は世", "世界"});
}

TEST_CASE("analysis of bad input is defined", "[lexical][analysis][bad_input]") {
  CHECK(analyze("").empty());
  CHECK(analyze("?!... ,,, ——— 。、！ \t\n").empty());           // separators only
  CHECK(analyze("a the of to").empty());                         // stop words only
  // Ill-formed UTF-8 reads as U+FFFD, which separates.
  CHECK(analyze("red\xff\xfe" "dress") == std::vector<std::string>{"red", "dress"});
  CHECK(analyze("\xe7\xba") == std::vector<std::string>{});      // truncated sequence
  // 100 kB: linear, every term kept.
  std::string big;
  while (big.size() < 100 * 1024) big += "红色连衣裙 usb-c ";
  const std::vector<std::string> terms = analyze(big);
  CHECK(terms.size() == (big.size() / std::string("红色连衣裙 usb-c ").size()) * 7);
}

TEST_CASE("analyser fuzz: random bytes give valid, separator-free terms", "[lexical][analysis][fuzz]") {
  std::mt19937 rng(7);
  const std::vector<std::string> pieces = {"a", "Z", "9", "-", ".", ",", " ", "红", "色", "é", "\xcc\x81", "ｶ",
                                           "\xff", "\xe7\xba", "\xf0\x9f\x98\x80", "ＵＳＢ", "\t", "İ", "ß", "\xed\xa0\x80"};
  std::uniform_int_distribution<std::size_t> pick(0, pieces.size() - 1), length(0, 40);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int round = 0; round < 3000; ++round) {
    std::string s;
    const std::size_t n = length(rng);
    for (std::size_t i = 0; i < n; ++i) s += round % 2 ? pieces[pick(rng)] : std::string(1, static_cast<char>(byte(rng)));
    for (const std::string& term : analyze(s)) {
      INFO("input bytes: " << s.size() << ", term '" << term << "'");
      REQUIRE(!term.empty());
      REQUIRE(embedrank::text::is_valid_utf8(term));
      REQUIRE(term.find_first_of(" \t\n-,") == std::string::npos);
    }
  }
}

TEST_CASE("BM25 equals bm25s (Lucene) and rank_bm25 (Okapi) on the sample catalogue", "[lexical][bm25][parity]") {
  const Catalogue c = sample_catalogue();
  const auto tokens = fixture_tokens(c);
  const std::vector<FixtureQuery> queries = fixture_queries();
  // formula -> field -> query -> id -> score
  std::map<std::string, std::map<std::string, std::map<std::size_t, std::map<std::string, double>>>> expected;
  std::ifstream in(kFixtures + "scores.tsv");
  REQUIRE(in);
  std::string line;
  while (std::getline(in, line)) {
    const std::vector<std::string> v = split(line, '\t');
    REQUIRE(v.size() == 5);
    expected[v[0]][v[1]][std::stoul(v[2])][v[3]] = std::stod(v[4]);
  }
  for (const std::string formula : {"lucene", "okapi"}) {
    for (const std::string field : {"title", "description"}) {
      const LexicalIndex index =
          one_field_index(tokens.at(field), formula == "lucene" ? Bm25Formula::Lucene : Bm25Formula::Okapi);
      double max_diff = 0;
      std::size_t nonzero = 0;
      for (std::size_t qi = 0; qi < queries.size(); ++qi) {
        const LexicalQuery q = index.query_terms(queries[qi].terms);
        const auto& ref = expected[formula][field][qi];
        for (std::size_t row = 0; row < c.ids.size(); ++row) {
          const auto it = ref.find(c.ids[row]);
          const double want = it == ref.end() ? 0.0 : it->second;
          const double got = index.score(q, row);
          nonzero += want != 0;
          max_diff = std::max(max_diff, std::abs(got - want));
          INFO(formula << " " << field << " query '" << queries[qi].text << "' " << c.ids[row] << "; " << kRegenerate);
          REQUIRE_THAT(got, WithinAbs(want, 1e-5));
        }
      }
      WARN(formula << " " << field << ": max |ours - reference| = " << max_diff << " over " << nonzero
                   << " nonzero reference scores");
      CHECK(nonzero > 100);
    }
  }
}

TEST_CASE("field weights: the score is the weighted sum of one-field scores", "[lexical][bm25]") {
  const Catalogue c = sample_catalogue();
  const auto tokens = fixture_tokens(c);
  LexicalIndex both({{"title", 2.0}, {"description", 0.5}});
  for (std::size_t row = 0; row < c.ids.size(); ++row)
    both.set_terms(row, {tokens.at("title")[row], tokens.at("description")[row]});
  const LexicalIndex title = one_field_index(tokens.at("title"), Bm25Formula::Lucene);
  const LexicalIndex description = one_field_index(tokens.at("description"), Bm25Formula::Lucene);
  for (const FixtureQuery& fq : fixture_queries()) {
    const LexicalQuery q = both.query_terms(fq.terms);
    for (std::size_t row = 0; row < c.ids.size(); ++row)
      REQUIRE_THAT(both.score(q, row), WithinAbs(2.0 * title.score(title.query_terms(fq.terms), row) +
                                                     0.5 * description.score(description.query_terms(fq.terms), row),
                                                 1e-9));
  }
}

TEST_CASE("search equals scoring every row, with filters and coverage", "[lexical][search]") {
  const Catalogue c = sample_catalogue();
  LexicalIndex index;
  for (std::size_t row = 0; row < c.ids.size(); ++row) index.set(row, {c.text.at("title")[row], c.text.at("description")[row]});
  std::vector<bool> none(c.ids.size(), false), some(c.ids.size(), false);
  embedrank::rank::ItemBitmap bitmap(c.ids.size());
  for (std::size_t row = 0; row < c.ids.size(); row += 3) some[row] = true, bitmap.set(row);
  for (const FixtureQuery& fq : fixture_queries()) {
    const LexicalQuery q = index.query(fq.text);
    for (std::size_t k : {1, 5, 10, 400}) {
      INFO(fq.text << " k=" << k);
      const std::vector<LexicalHit> got = index.search(q, k);
      const std::vector<LexicalHit> want = brute_force(index, q, k, none);
      REQUIRE(got.size() == want.size());
      for (std::size_t i = 0; i < got.size(); ++i) {
        CHECK(got[i].row == want[i].row);
        CHECK_THAT(got[i].score, WithinAbs(want[i].score, 1e-12));
        CHECK(got[i].coverage > 0);
        CHECK(got[i].coverage <= 1.0);
      }
      embedrank::rank::SearchFilter by_bitmap, by_predicate;
      by_bitmap.exclude = &bitmap;
      by_predicate.keep = [&](std::size_t row) { return !some[row]; };
      for (const auto* filter : {&by_bitmap, &by_predicate}) {
        const std::vector<LexicalHit> filtered = index.search(q, k, *filter);
        const std::vector<LexicalHit> want_filtered = brute_force(index, q, k, some);
        REQUIRE(filtered.size() == want_filtered.size());
        for (std::size_t i = 0; i < filtered.size(); ++i) CHECK(filtered[i].row == want_filtered[i].row);
      }
    }
  }
  // Coverage: a document holding every query term covers all of it.
  const LexicalQuery q = index.query("Quorva GaN charger");
  const std::vector<LexicalHit> best = index.search(q, 1);
  REQUIRE(best.size() == 1);
  CHECK(c.ids[best[0].row] == "P0081");
  CHECK_THAT(best[0].coverage, WithinAbs(1.0, 1e-12));
  const LexicalQuery half = index.query("Quorva xqzzv");  // one term the index never saw
  REQUIRE(index.search(half, 1).size() == 1);
  CHECK(index.search(half, 1)[0].coverage < 0.6);
  CHECK(index.search(index.query(""), 10).empty());
  CHECK(index.search(index.query("?!"), 10).empty());
  CHECK(index.search(q, 0).empty());
}

TEST_CASE("updates: set, clear and compaction equal a fresh index", "[lexical][update]") {
  const Catalogue c = sample_catalogue();
  const auto doc = [&](std::size_t i) {
    return std::vector<std::string>{c.text.at("title")[i], c.text.at("description")[i]};
  };
  LexicalIndex live;
  for (std::size_t row = 0; row < 200; ++row) live.set(row, doc(row));
  // Replace some rows with other products' texts, clear others, then compact.
  for (std::size_t row = 0; row < 200; row += 7) live.set(row, doc(200 + row / 7));
  std::vector<bool> removed(200, false);
  for (std::size_t row = 3; row < 200; row += 5) live.clear(row), removed[row] = true;
  live.clear(3);  // twice: nothing happens
  const RowRemap remap = RowRemap::dropping(200, [&](std::size_t row) { return removed[row]; });
  live.apply(remap);

  LexicalIndex fresh;
  std::size_t next = 0;
  for (std::size_t row = 0; row < 200; ++row) {
    if (removed[row]) continue;
    fresh.set(next++, row % 7 == 0 ? doc(200 + row / 7) : doc(row));
  }
  REQUIRE(live.documents() == fresh.documents());
  REQUIRE(live.rows() == fresh.rows());
  for (const FixtureQuery& fq : fixture_queries()) {
    const LexicalQuery a = live.query(fq.text), b = fresh.query(fq.text);
    for (std::size_t row = 0; row < fresh.rows(); ++row) REQUIRE(live.score(a, row) == fresh.score(b, row));
    const auto ha = live.search(a, 20), hb = fresh.search(b, 20);
    REQUIRE(ha.size() == hb.size());
    for (std::size_t i = 0; i < ha.size(); ++i) CHECK((ha[i].row == hb[i].row && ha[i].score == hb[i].score));
  }
  // A dropped row still indexed is refused.
  LexicalIndex bad;
  bad.set(0, doc(0));
  bad.set(1, doc(1));
  CHECK_THROWS_AS(bad.apply(RowRemap::dropping(2, [](std::size_t row) { return row == 0; })), InputError);
}

TEST_CASE("a document's and a query's script is script_of their terms", "[lexical][script]") {
  const Catalogue c = sample_catalogue();
  LexicalIndex index;
  const auto joined = [](const std::vector<std::vector<std::string>>& fields) {
    std::string text;
    for (const auto& terms : fields)
      for (const std::string& term : terms) text += term + " ";
    return text;
  };
  std::size_t cjk = 0;
  for (std::size_t row = 0; row < c.ids.size(); ++row) {
    const std::string& title = c.text.at("title")[row];
    const std::string& description = c.text.at("description")[row];
    index.set(row, {title, description});
    const auto expected = embedrank::rank::script_of(
        joined({embedrank::rank::analyze(title), embedrank::rank::analyze(description)}));
    INFO(c.ids[row] << ": " << title);
    CHECK(index.script(row) == expected);
    cjk += expected == embedrank::rank::kCjk ? 1 : 0;
  }
  CHECK(cjk > 20);  // the sample shop sells in both scripts
  CHECK(cjk < c.ids.size() - 20);
  // Mixed and awkward texts: numbers, model numbers, accents, kana, Hangul, bad bytes.
  std::mt19937 rng(5);
  const std::vector<std::string> pieces = {"红色", "连衣裙", "GT-3000", "5.5", "20,000", "café", "ドレス", "원피스",
                                           "k87", "a", "the", "\xff", "。", "USB-C 65W", " ", "Привет", "3"};
  for (int i = 0; i < 500; ++i) {
    std::string text;
    for (int n = static_cast<int>(rng() % 8); n >= 0; --n) text += pieces[rng() % pieces.size()] + (rng() % 2 ? " " : "");
    INFO(text);
    const auto q = index.query(text);
    CHECK(q.script == embedrank::rank::script_of(joined({embedrank::rank::analyze(text)})));
  }
  CHECK(index.script(c.ids.size() + 5) == embedrank::rank::kOther);  // a row never set
}

TEST_CASE("lexical index errors", "[lexical][bad_input]") {
  CHECK_THROWS_AS(LexicalIndex(std::vector<embedrank::rank::LexicalField>{}), InputError);
  CHECK_THROWS_AS(LexicalIndex({{"title", 0.0}}), InputError);
  CHECK_THROWS_AS(LexicalIndex({{"title", std::nan("")}}), InputError);
  Bm25Options bad;
  bad.b = 1.5;
  CHECK_THROWS_AS(LexicalIndex({{"title", 1.0}}, bad), InputError);
  LexicalIndex index({{"title", 1.0}, {"description", 1.0}});
  CHECK_THROWS_AS(index.set(0, {"only one"}), InputError);
  CHECK(index.score(index.query("anything"), 5) == 0.0);  // a row never set
}

TEST_CASE("search with early termination equals scoring every row on a skewed corpus", "[lexical][search]") {
  // Zipf-like words: a few terms in most documents, many rare ones, so the
  // search stops admitting new documents well before the common terms.
  std::mt19937 rng(11);
  std::vector<double> weights;
  for (int r = 1; r <= 300; ++r) weights.push_back(1.0 / r);
  std::discrete_distribution<int> word(weights.begin(), weights.end());
  std::uniform_int_distribution<int> length(3, 30), query_length(1, 5);
  const auto text = [&](int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += "w" + std::to_string(word(rng)) + " ";
    return s;
  };
  LexicalIndex index;
  const std::size_t n = 3000;
  for (std::size_t row = 0; row < n; ++row) index.set(row, {text(length(rng) / 3), text(length(rng))});
  for (std::size_t row = 0; row < n; row += 11) index.set(row, {text(4), text(9)});  // rows set again
  // Every result, score and coverage equals scoring every row, with and without filters.
  const auto check_queries = [&](const LexicalIndex& idx, int rounds) {
    const std::size_t rows = idx.rows();
    std::vector<bool> none(rows, false), some(rows, false);
    embedrank::rank::ItemBitmap bitmap(rows);
    for (std::size_t row = 0; row < rows; ++row)
      if (row % 4 == 1) some[row] = true, bitmap.set(row);
    embedrank::rank::SearchFilter by_bitmap, by_predicate;
    by_bitmap.exclude = &bitmap;
    by_predicate.keep = [&](std::size_t row) { return !some[row]; };
    for (int round = 0; round < rounds; ++round) {
      const LexicalQuery q = idx.query(text(query_length(rng)));
      for (std::size_t k : {1, 3, 10, 50}) {
        INFO("round " << round << " k " << k);
        const auto check = [&](const std::vector<LexicalHit>& got, const std::vector<LexicalHit>& want) {
          REQUIRE(got.size() == want.size());
          for (std::size_t i = 0; i < got.size(); ++i) {
            REQUIRE(got[i].row == want[i].row);
            REQUIRE(got[i].score == want[i].score);  // the same sum in the same order
            REQUIRE(got[i].coverage == want[i].coverage);
            REQUIRE(got[i].known_coverage == want[i].known_coverage);
          }
        };
        check(idx.search(q, k), brute_force(idx, q, k, none));
        check(idx.search(q, k, by_bitmap), brute_force(idx, q, k, some));
        check(idx.search(q, k, by_predicate), brute_force(idx, q, k, some));
      }
    }
  };
  check_queries(index, 200);
  // Postings removed and inserted before the ends of the lists, then a
  // compaction: the lists' blocks (last row, largest tf, shortest length)
  // must follow, or the block maxima would skip documents that belong in
  // the top k.
  std::vector<bool> removed(n, false);
  for (std::size_t row = 5; row < n; row += 7) index.clear(row), removed[row] = true;
  for (std::size_t row = 2; row < n; row += 13)
    if (!removed[row]) index.set(row, {text(2) + "w0 w0 w0 w0", text(3) + "w1 w1 w1"});  // short, high tf
  index.apply(RowRemap::dropping(n, [&](std::size_t row) { return removed[row]; }));
  const std::size_t kept = index.rows();
  for (std::size_t row = kept; row < kept + 300; ++row) index.set(row, {text(1), text(2)});
  check_queries(index, 100);
  const LexicalQuery common = index.query("w0 w1 w2");
  for (std::size_t k : {1, 10, 100}) {
    std::vector<bool> none(index.rows(), false);
    const auto got = index.search(common, k), want = brute_force(index, common, k, none);
    REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < got.size(); ++i) CHECK((got[i].row == want[i].row && got[i].score == want[i].score));
  }
}

TEST_CASE("BM25 equals bm25s and rank_bm25 on a generated corpus of 100,000 documents", "[lexical][bm25][parity]") {
  // generated_corpus() of weights_tools/make_bm25_fixtures.py, token for token.
  struct Lcg {
    std::uint64_t x;
    std::uint64_t operator()() {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      return x >> 32;
    }
  };
  const auto token = [](Lcg& rng) {
    const std::uint64_t a = rng() % 2000;
    const std::uint64_t b = rng() % 2000;
    return "t" + std::to_string(a * b / 2000);
  };
  Lcg corpus_rng{2024};
  std::vector<std::vector<std::string>> docs(100000);
  for (auto& doc : docs) {
    const std::uint64_t n = 3 + corpus_rng() % 30;
    for (std::uint64_t i = 0; i < n; ++i) doc.push_back(token(corpus_rng));
  }
  Lcg query_rng{7};
  std::vector<std::vector<std::string>> queries(20);
  for (auto& q : queries) {
    const std::uint64_t n = 1 + query_rng() % 4;
    for (std::uint64_t i = 0; i < n; ++i) q.push_back(token(query_rng));
    q = distinct(q);
  }
  // formula -> query -> (rank or -1, row, score)
  struct Reference {
    long rank;
    std::size_t row;
    double score;
  };
  std::map<std::string, std::map<std::size_t, std::vector<Reference>>> expected;
  std::ifstream in(kFixtures + "generated.tsv");
  REQUIRE(in);
  std::string line;
  while (std::getline(in, line)) {
    const std::vector<std::string> v = split(line, '\t');
    REQUIRE(v.size() == 5);
    expected[v[0]][std::stoul(v[1])].push_back({v[2] == "-" ? -1L : std::stol(v[2]), std::stoul(v[3]), std::stod(v[4])});
  }
  for (const std::string formula : {"lucene", "okapi"}) {
    const LexicalIndex index = one_field_index(docs, formula == "lucene" ? Bm25Formula::Lucene : Bm25Formula::Okapi);
    double max_diff = 0;
    std::size_t compared = 0;
    for (std::size_t qi = 0; qi < queries.size(); ++qi) {
      const LexicalQuery q = index.query_terms(queries[qi]);
      const std::vector<LexicalHit> best = index.search(q, 50);
      const auto& refs = expected[formula][qi];
      REQUIRE(refs.size() == 150);
      for (const Reference& ref : refs) {
        INFO(formula << " query " << qi << " row " << ref.row << " rank " << ref.rank << "; " << kRegenerate);
        const double got = index.score(q, ref.row);
        max_diff = std::max(max_diff, std::abs(got - ref.score));
        REQUIRE_THAT(got, WithinAbs(ref.score, 1e-5));
        ++compared;
        // the k-th best score is the reference's (rows may differ only at ties)
        if (ref.rank >= 0 && ref.score > 0) {
          REQUIRE(static_cast<std::size_t>(ref.rank) < best.size());
          REQUIRE_THAT(best[static_cast<std::size_t>(ref.rank)].score, WithinAbs(ref.score, 1e-5));
        }
      }
    }
    WARN(formula << " generated corpus: max |ours - reference| = " << max_diff << " over " << compared << " scores");
  }
}
