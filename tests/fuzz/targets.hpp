#pragma once
// The fuzz targets' bodies, one function per reader: scripts/fuzz.sh builds
// each into a libFuzzer binary (tests/fuzz/fuzz_TARGET.cpp), and
// tests/model/test_fuzz_regressions.cpp replays the inputs they found
// (tests/fuzz/regressions/TARGET/) in the normal and sanitizer builds. Each
// lets embedrank's typed errors pass; anything else (a crash, a sanitizer
// report, another exception, a broken promise) is a finding.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "embedrank/cf/user_knn.hpp"
#include "embedrank/core/error.hpp"
#include "embedrank/core/npy.hpp"
#include "embedrank/model/embedder.hpp"
#include "embedrank/rank/embedding_index.hpp"
#include "embedrank/rank/lexical_index.hpp"
#include "embedrank/rank/query_attributes.hpp"
#include "embedrank/shop/catalogue.hpp"
#include "fuzz/fuzz_support.hpp"
#include "text/fixtures.hpp"

// the command-line programs' option parsers (examples/)
#include "cf_options.hpp"
#include "classify_options.hpp"
#include "embed_options.hpp"
#include "rerank_options.hpp"
#include "search_options.hpp"
#include "tokenize_options.hpp"

namespace fuzz {

/// The tokenizers of the test fixtures: 0 uncased WordPiece, 1 cased, 2 XLM-R SentencePiece.
inline const embedrank::text::Tokenizer& fixture_tokenizer(int which) {
  static const embedrank::text::Tokenizer uncased =
      embedrank::text::Tokenizer::from_metadata(embedrank::test::read_metadata("minilm_uncased"));
  static const embedrank::text::Tokenizer cased =
      embedrank::text::Tokenizer::from_metadata(embedrank::test::read_metadata("minilm_cased"));
  static const embedrank::text::Tokenizer xlmr =
      embedrank::text::Tokenizer::from_metadata(embedrank::test::read_metadata("xlmr_tiny"));
  return which == 0 ? uncased : which == 1 ? cased : xlmr;
}

/// A model file, opened, turned into an Embedder (tokenizer,
/// encoder, packed weights) and run on a few texts. Every malformed file must
/// end in an embedrank::Error; a file that opens must embed.
inline void model_file(const std::uint8_t* data, std::size_t size) {
  const std::string path = input_file(data, size, ".bin");
  try {
    const auto embedder = embedrank::model::Embedder::open(path);
    embedrank::model::EmbedderWorkspace ws(1);
    const std::vector<std::string> texts = {"red shoes", "", "wireless earbuds with blue jeans, 16000 DPI"};
    const embedrank::MatrixF vectors = embedder->embed(texts, ws);
    check(vectors.rows() == 3, "one embedding per text");
  } catch (const embedrank::Error&) {
  }
}

/// Arbitrary bytes through WordPiece (uncased, cased) and SentencePiece (XLM-R)
/// tokenization of arbitrary bytes, single texts and pairs (split at the
/// first tab), with and without special tokens and truncation. Byte 0 picks
/// the tokenizer (bits 0-1), special tokens (bit 2) and max_length (bits 3-7;
/// 0: none). Checked: ids inside the vocabulary, the parallel arrays of equal
/// length, at most max_length tokens (the text left whole when the special
/// tokens alone are more, as in the fast tokenizers), offsets inside the
/// texts, and the same ids without offsets.
inline void tokenize(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return;
  const int which = (data[0] & 3) % 3;
  embedrank::text::EncodeOptions options;
  options.add_special_tokens = (data[0] & 4) != 0;
  options.max_length = data[0] >> 3;
  options.tokens = true;
  options.offsets = true;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const embedrank::text::Tokenizer& t = fixture_tokenizer(which);
  const std::size_t tab = text.find('\t');
  const bool pair = tab != std::string_view::npos;
  const std::string_view first = pair ? text.substr(0, tab) : text, second = pair ? text.substr(tab + 1) : "";
  const auto encode = [&](std::string_view a, std::string_view b, const embedrank::text::EncodeOptions& o) {
    return pair ? t.encode_pair(a, b, o) : t.encode(a, o);
  };
  try {
    const embedrank::text::Encoding e = encode(first, second, options);
    check(e.type_ids.size() == e.ids.size() && e.attention_mask.size() == e.ids.size() &&
              e.tokens.size() == e.ids.size(),
          "ids, type ids, mask and tokens of equal length");
    for (const std::int32_t id : e.ids)
      check(id >= 0 && static_cast<std::size_t>(id) < t.vocab_size(), "ids inside the vocabulary");
    check(e.offsets.size() == e.ids.size() && e.byte_offsets.size() == e.ids.size(), "an offset per token");
    const std::size_t longest = std::max(embedrank::text::decode_utf8(first).size(), embedrank::text::decode_utf8(second).size());
    for (std::size_t k = 0; k < e.offsets.size(); ++k) {
      check(e.offsets[k].first <= e.offsets[k].second && e.offsets[k].second <= longest, "offsets inside the text");
      check(e.byte_offsets[k].first <= e.byte_offsets[k].second &&
                e.byte_offsets[k].second <= std::max(first.size(), second.size()),
            "byte offsets inside the text");
    }
    embedrank::text::EncodeOptions plain = options;
    plain.offsets = false;
    check(encode(first, second, plain).ids == e.ids, "the same ids with and without offsets");
    if (options.max_length > 0 && options.add_special_tokens) {
      // as the fast tokenizers: the content is cut to fit max_length, unless
      // the special tokens alone are more, which leaves the text whole
      embedrank::text::EncodeOptions whole = options;
      whole.max_length = 0;
      const std::size_t specials = encode("", "", whole).ids.size();
      if (options.max_length >= specials) check(e.ids.size() <= options.max_length, "at most max_length tokens");
      else check(e.ids == encode(first, second, whole).ids, "untruncated when the special tokens exceed max_length");
    }
  } catch (const embedrank::Error&) {
  }
}

/// Arbitrary bytes as the serialized SentencePiece ModelProto of a tokenizer
/// (tokenizer.sentencepiece_model, the rest of the metadata from xlmr_tiny),
/// or, with bit 4 of byte 0, as its per-code-point rules
/// (tokenizer.codepoint_map) beside the fixture's model. Byte 0 also picks
/// the id mapping (bit 0: fairseq, else plain), the pipeline (bits 1-2:
/// metaspace, whitespace_split, collapse_spaces) and unfused unknowns (bit
/// 3). Every damaged model or rule table must end in an embedrank::Error at
/// load; a tokenizer that loads must encode texts that reach the
/// normalizers' paths (clusters of under and over 6 bytes, whitespace runs,
/// unknown characters) with ids inside the vocabulary and consistent offsets.
inline void sentencepiece_model(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return;
  static const embedrank::io::Metadata base = embedrank::test::read_metadata("xlmr_tiny");
  embedrank::io::Metadata meta = base;
  const bool fairseq = data[0] & 1;
  const embedrank::io::Bytes payload{std::string(reinterpret_cast<const char*>(data + 1), size - 1)};
  if (data[0] & 16) meta.set("tokenizer.codepoint_map", payload);  // the fixture's model, the rules fuzzed
  else meta.set("tokenizer.sentencepiece_model", payload);
  meta.set("tokenizer.id_mapping", fairseq ? "fairseq" : "plain");
  const char* const pipelines[4] = {"metaspace", "whitespace_split", "collapse_spaces", "collapse_spaces"};
  meta.set("tokenizer.sentencepiece_pipeline", pipelines[(data[0] >> 1) & 3]);
  meta.set("tokenizer.fuse_unknown", (data[0] & 8) == 0);
  meta.set("tokenizer.unk_id", static_cast<std::int64_t>(fairseq ? 3 : 0));
  meta.set("tokenizer.vocab_size", static_cast<std::int64_t>(1) << 20);
  try {
    const auto t = embedrank::text::Tokenizer::from_metadata(meta);
    const std::vector<std::string> texts = {"Gaming mouse 16000 DPI", "\uFF76\uFF9E \uFF21\u0301 a\u0300\u0301\u0302\u0303",
                                            "  x\r\ny\t\u3000z  ", "\U0001F44D\U0001F3FD\u200D\u2764\uFE0F \U0001F1EB\U0001F1F7",
                                            "\u957F\u957F\u957F aaaaaaaaaaaa \u2581\u2581 <s>\uFF1Cs\uFF1E", ""};
    embedrank::text::EncodeOptions with_offsets;
    with_offsets.offsets = true;
    for (const std::string& text : texts) {
      const embedrank::text::Encoding e = t.encode(text);
      for (const std::int32_t id : e.ids)
        check(id >= 0 && static_cast<std::size_t>(id) < t.vocab_size(), "ids inside the vocabulary");
      const embedrank::text::Encoding o = t.encode(text, with_offsets);
      check(o.ids == e.ids && o.offsets.size() == e.ids.size(), "the same ids with offsets, an offset per token");
      for (const auto& [begin, end] : o.offsets) check(begin <= end && end <= text.size(), "offsets inside the text");
    }
  } catch (const embedrank::Error&) {
  }
}

/// A ratings file read into Ratings (byte 0: separator in bits
/// 0-1 among tab, comma, ';', space; header line in bit 2; duplicates as an
/// error in bit 3), then user-user Pearson neighbours and kNN predictions on
/// it. Every malformed file must end in an embedrank::Error; predictions of
/// a file that loads are finite.
inline void ratings(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return;
  namespace cf = embedrank::cf;
  cf::RatingsFileOptions options;
  const char separators[4] = {'\t', ',', ';', ' '};
  options.separator = separators[data[0] & 3];
  options.header = (data[0] & 4) != 0;
  const cf::DuplicatePolicy duplicates = (data[0] & 8) ? cf::DuplicatePolicy::Error : cf::DuplicatePolicy::LastWins;
  const std::string path = input_file(data + 1, size - 1, ".ratings");
  try {
    cf::Ratings ratings = cf::read_ratings(path, options, duplicates);
    cf::KnnOptions knn;
    knn.algorithm = (data[0] & 16) ? cf::KnnAlgorithm::WithZscore : cf::KnnAlgorithm::WithMeans;
    knn.k = 3;
    knn.similarity.mean = (data[0] & 32) ? cf::PearsonMean::User : cf::PearsonMean::CoRated;
    knn.similarity.threads = 1;
    const std::int32_t users = ratings.num_users(), items = ratings.num_items();
    cf::UserKnn model(std::move(ratings), knn);
    for (std::int32_t u = 0; u < users && u < 4; ++u)
      for (std::int32_t i = 0; i < items && i < 4; ++i)
        check(std::isfinite(model.predict(u, i).value), "finite predictions");
  } catch (const embedrank::Error&) {
  }
}

/// A .npy file through read_npy and EmbeddingIndex::load (cosine
/// metric, so rows are normalised), then a search with its first row. Every
/// malformed file must end in an embedrank::Error.
inline void npy(const std::uint8_t* data, std::size_t size) {
  const std::string path = input_file(data, size, ".npy");
  try {
    const embedrank::MatrixF values = embedrank::read_npy(path);
    check(values.rows() >= 0 && values.cols() >= 0, "non-negative dimensions");
    embedrank::rank::IndexOptions options;
    options.metric = embedrank::rank::Metric::Cosine;
    options.threads = 1;
    const auto index = embedrank::rank::EmbeddingIndex::load(path, "", options);
    if (index.rows() > 0) {
      const auto results = index.search(index.vector(0), 3);
      check(results.size() <= 3, "at most k results");
    }
  } catch (const embedrank::Error&) {
  }
}

/// A command line for one of the programs (byte 0 picks embed, search,
/// tokenize, rerank, classify or cf), its arguments the NUL-separated rest of
/// the input. The
/// parser either returns options inside their documented ranges or throws a
/// cli::UsageError; it never runs anything.
inline void cli_options(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return;
  std::vector<std::string> args{"program"};
  std::string current;
  for (std::size_t i = 1; i < size && args.size() < 64; ++i) {
    if (data[i] == 0) {
      args.push_back(current);
      current.clear();
    } else {
      current.push_back(static_cast<char>(data[i]));
    }
  }
  if (!current.empty()) args.push_back(current);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int argc = static_cast<int>(args.size());
  try {
    switch (data[0] % 6) {
      case 0: {
        const auto o = embed_cli::parse_options(argc, argv.data());
        check(!o.model.empty() && o.batch >= 1 && o.threads >= 0 && o.threads <= cli::kMaxThreads,
              "embed: a model, batch >= 1, threads in range");
        check(o.format == "npy" || o.format == "tsv" || o.format == "jsonl", "embed: a known format");
        check(o.format != "npy" || !o.out.empty(), "embed: npy has an output path");
        break;
      }
      case 1: {
        const auto o = search_cli::parse_options(argc, argv.data());
        check(o.k >= 1 && !o.index_path.empty() && (!o.queries_path.empty() || !o.query_texts.empty()),
              "search: k >= 1, index and queries");
        check(o.query_texts.empty() || !o.model_path.empty(), "search: query texts with a model");
        break;
      }
      case 2: {
        const auto o = tokenize_cli::parse_options(argc, argv.data());
        check(!o.model.empty(), "tokenize: a model");
        break;
      }
      case 4: {
        const auto o = rerank_cli::parse_options(argc, argv.data());
        check(!o.model.empty() && o.batch >= 1 && (o.format == "tsv" || o.format == "json") &&
                  o.query_given == !o.candidates.empty() && (o.top == 0 || o.query_given),
              "rerank: a model, batch >= 1, a known format, query with candidates");
        break;
      }
      case 5: {
        const auto o = classify_cli::parse_options(argc, argv.data());
        check(!o.model.empty() && o.batch >= 1 && o.threads >= 0 && (o.top == 0 || !o.tokens), "classify: a model, batch >= 1");
        check(std::string(embedrank::to_string(o.aggregation)) != "unknown", "classify: a known aggregation");
        check(o.stride == 0 || (o.tokens && o.aggregation != embedrank::model::Aggregation::None),
              "classify: a stride only for aggregated entities");
        break;
      }
      default: {
        const auto o = cf_cli::parse_options(argc, argv.data());
        check(!o.train_path.empty() && o.knn.k >= 1 && o.knn.min_k >= 0 && (o.folds == 0 || o.folds >= 2),
              "cf: training data, k >= 1, min_k >= 0, folds 0 or >= 2");
        check((o.folds > 0) + !o.test_path.empty() + !o.recommend.empty() == 1 && o.top >= 1,
              "cf: one of test, folds and recommend; top >= 1");
        break;
      }
    }
  } catch (const cli::UsageError&) {
  }
}

/// Arbitrary bytes as a shopper's query, parsed against a small catalogue of
/// brands, colours (Latin and CJK) and prices, then turned into constraints:
/// never an exception; every span lies inside the query in characters and
/// bytes; the price range is a range; the search text is valid UTF-8 when
/// the query is.
inline void query_attributes(const std::uint8_t* data, std::size_t size) {
  static const auto catalogue = [] {
    auto index = std::make_unique<embedrank::rank::EmbeddingIndex>(2);
    const std::vector<std::string> ids = {"a", "b", "c", "d"};
    for (std::size_t i = 0; i < ids.size(); ++i) index->add(ids[i], embedrank::VectorF::Constant(2, 1.0f + i));
    auto attributes = std::make_unique<embedrank::rank::CatalogueAttributes>();
    attributes->add(0, "brand", "Linden & Lark");
    attributes->add(0, "colour", "Red");
    attributes->add(1, "brand", "素锦");
    attributes->add(1, "colour", "红色");
    attributes->add(2, "category", "Shoes");
    attributes->add(3, "colour", "navy blue");
    attributes->set_price(0, 10);
    attributes->set_price(1, 99.5);
    return std::make_pair(std::move(index), std::move(attributes));
  }();
  const std::string query(reinterpret_cast<const char*>(data), size);
  const embedrank::rank::ParsedQuery parsed = catalogue.second->parse(query);
  const std::size_t characters = embedrank::text::decode_utf8(query).size();
  for (const auto& a : parsed.attributes) {
    check(a.begin < a.end && a.end <= characters, "a span lies inside the query (characters)");
    check(a.byte_begin < a.byte_end && a.byte_end <= size, "a span lies inside the query (bytes)");
  }
  const auto prices = std::count_if(parsed.attributes.begin(), parsed.attributes.end(),
                                    [](const embedrank::rank::QueryAttribute& a) { return a.name == "price"; });
  check(!(parsed.price.min > parsed.price.max) || prices >= 2, "one price phrase gives a range");
  if (embedrank::text::is_valid_utf8(query)) check(embedrank::text::is_valid_utf8(parsed.search_text), "valid text");
  embedrank::rank::AttributePolicy policy{{"brand"}};
  const auto constraints = catalogue.second->constraints(parsed, policy);
  for (std::size_t row = 0; row < 4; ++row) {
    if (constraints.filter.keep) constraints.filter.keep(row);
    if (constraints.boost) check(constraints.boost(row) >= 0 && constraints.boost(row) <= 1, "boost in [0, 1]");
  }
}

/// Arbitrary bytes through the lexical index's analyser, as a document and
/// as a query: never an exception; every term non-empty, valid UTF-8 and
/// free of separators; searching finds documents in score order with
/// finite positive scores and coverages in [0, 1].
inline void lexical_analysis(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::vector<std::string> terms = embedrank::rank::analyze(text);
  for (const std::string& term : terms) {
    check(!term.empty(), "a term is not empty");
    check(embedrank::text::is_valid_utf8(term), "a term is valid UTF-8");
    check(term.find_first_of(" \t\n\r-,") == std::string::npos, "a term holds no separator");
  }
  embedrank::rank::LexicalIndex index;
  index.set(0, {"Quorva 65W USB-C charger", "compact wall charger"});
  index.set(1, {text, "素锦 红色连衣裙"});
  index.set(2, {"K87 keyboard", text});
  const embedrank::rank::LexicalQuery q = index.query(text);
  const auto hits = index.search(q, 3);
  for (std::size_t i = 0; i < hits.size(); ++i) {
    check(std::isfinite(hits[i].score) && hits[i].score > 0, "a finite positive score");
    check(hits[i].coverage >= 0 && hits[i].coverage <= 1, "coverage in [0, 1]");
    check(hits[i].known_coverage >= 0 && hits[i].known_coverage <= 1, "known coverage in [0, 1]");
    check(hits[i].score == index.score(q, hits[i].row), "search and score agree");
    if (i > 0) check(hits[i - 1].score >= hits[i].score, "best first");
  }
  index.clear(1);
  check(index.search(q, 3).size() <= hits.size(), "fewer documents, no more hits");
}

/// A catalogue file: the first byte picks the format (TSV, CSV, JSON Lines),
/// the rest is the file's text. Either a ParseError (or InputError) or a
/// catalogue whose products are valid: unique non-empty ids without tabs or
/// line breaks, UTF-8 fields, prices finite and >= 0 or absent; written as
/// JSON Lines and read back, it gives the same products.
inline void catalogue(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  namespace detail = embedrank::shop::detail;
  try {
    detail::Table table;
    switch (data[0] % 3) {
      case 0: table = detail::parse_tsv(text, "fuzz.tsv"); break;
      case 1: table = detail::parse_csv(text, "fuzz.csv"); break;
      default: table = detail::parse_json_lines(text, "fuzz.jsonl"); break;
    }
    const embedrank::Catalogue c = embedrank::Catalogue::from_tables({table});
    std::string rows;
    {
      std::ostringstream out;
      c.write_rows(out);
      rows = out.str();
    }
    const std::vector<embedrank::Product> back = embedrank::Catalogue::products_of(detail::parse_json_lines(rows, "rows.jsonl"));
    if (back.size() != c.rows()) throw std::logic_error("write_rows lost a row");
    for (std::size_t row = 0; row < c.rows(); ++row) {
      const embedrank::Product& p = c.product(row);
      if (p.id.empty() || p.id.find_first_of("\t\r\n") != std::string::npos || c.row_of(p.id) != row)
        throw std::logic_error("a bad id was accepted");
      if (!std::isnan(p.price) && !(std::isfinite(p.price) && p.price >= 0)) throw std::logic_error("a bad price was accepted");
      if (!embedrank::text::is_valid_utf8(p.title) || !embedrank::text::is_valid_utf8(p.description))
        throw std::logic_error("ill-formed UTF-8 was accepted");
      if (back[row].id != p.id || back[row].title != p.title || back[row].description != p.description ||
          !back[row].same_attributes(p))
        throw std::logic_error("a product did not survive write_rows");
    }
  } catch (const embedrank::ParseError&) {
  } catch (const embedrank::InputError&) {
  }
}

}  // namespace fuzz
