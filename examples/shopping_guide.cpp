// shopping_guide: the shopping guide end to end on a small shop: semantic
// search that understands the query's attributes, and personalised
// recommendations that blend a content profile with collaborative filtering,
// explained item by item, then an offline evaluation of the blend.
//
//   shopping_guide --model FILE [--data DIR] [--k K] [--threads N] [--eval-out FILE]
//
// DIR (default: examples/data, relative to the current directory) holds
//   catalogue.tsv     id<TAB>category<TAB>title<TAB>description
//   attributes.tsv    id<TAB>brand<TAB>colour<TAB>price (fields may be empty)
//   histories.tsv     user<TAB>event<TAB>product_id, event = view | purchase
//   interactions.tsv  user<TAB>product_id<TAB>rating<TAB>day (ratings 1-5)
//   queries.txt       one shopping query per line ('#' lines and blank lines skipped)
// each TSV with its header line; examples/data/README.md describes the data.
//
// The program prints, on stdout:
//   - for each query, what was understood (attributes, price range, the text
//     that was embedded) and the K best products (embrank::ShoppingGuide::search);
//   - for each user of histories.tsv, the K best unseen products, blending
//     the history's content profile (a view weighs 1, a purchase 2) with the
//     user-kNN prediction from interactions.tsv; each names the history item
//     it is closest to and the similar users behind its CF score;
//   - the offline evaluation: for every generated user, the newest item rated
//     4 or 5 is held out, the models are fitted on the rest, and the held-out
//     item is looked for in the top 10 (hit rate@10, NDCG@10) for content
//     only (w = 1), CF only (w = 0) and blends in between, beside the most
//     popular unseen items. --eval-out writes that table as TSV.
// Timings go to stderr, so stdout depends only on the inputs.
// Exit status: 0 on success, 1 on a data or model error, 2 on a usage error.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cli.hpp"
#include "embedrank/cf/ratings.hpp"
#include "embedrank/cf/user_knn.hpp"
#include "embedrank/core/error.hpp"
#include "embedrank/core/output_file.hpp"
#include "embedrank/core/thread_pool.hpp"
#include "embedrank/rank/evaluation.hpp"
#include "embedrank/rank/recommender.hpp"
#include "embedrank/shop/shopping_guide.hpp"
#include "embedrank/text/display_width.hpp"
#include "embedrank/text/unicode.hpp"

namespace {

using embedrank::ParseError;
using embedrank::Product;

const char* const kUsage =
    "usage: shopping_guide --model FILE [--data DIR] [--k K] [--threads N] [--eval-out FILE]\n"
    "  --model FILE     embedrank model file (e.g. all-MiniLM-L6-v2 converted by weights_tools/convert.py)\n"
    "  --data DIR       catalogue.tsv, attributes.tsv, histories.tsv, interactions.tsv, queries.txt\n"
    "                   (default: examples/data)\n"
    "  --k K            results per query and recommendations per user (default: 10)\n"
    "  --threads N      threads for embedding and search (default: 0, all CPUs)\n"
    "  --eval-out FILE  also write the offline evaluation as TSV\n";

constexpr double kViewWeight = 1.0;
constexpr double kPurchaseWeight = 2.0;
constexpr std::size_t kEvalTop = 10;  // hit rate@10, NDCG@10
constexpr int kCfMinNeighbors = 20;    // user kNN's min_k
constexpr double kContentWeight = 0.3; // w in the blend of the users' recommendations

struct Options {
  std::string model_path;
  std::string data_dir = "examples/data";
  std::size_t k = 10;
  int threads = 0;
  std::string eval_out;
};

Options parse_options(int argc, char** argv) {
  Options o;
  cli::Flags()
      .text("--model", o.model_path)
      .text("--data", o.data_dir)
      .integer("--k", o.k, 1, 1000)
      .threads("--threads", o.threads)
      .text("--eval-out", o.eval_out)
      .parse(argc, argv);
  if (o.model_path.empty()) throw cli::UsageError{"--model is required"};
  return o;
}

// ---------------------------------------------------------------------------
// Data files

struct HistoryEvent {
  std::string product_id;
  bool purchase = false;
};

struct User {
  std::string name;
  std::vector<HistoryEvent> events;  // in file order
};

struct Interaction {
  std::string user, product_id;
  double rating = 0;
  long day = 0;
};

struct ShopData {
  embedrank::Catalogue catalogue;
  std::vector<User> users;                                     // in order of first appearance
  std::vector<Interaction> interactions;
  std::vector<std::string> queries;
};

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> fields;
  std::size_t begin = 0;
  for (;;) {
    const std::size_t tab = line.find('\t', begin);
    fields.push_back(line.substr(begin, tab == std::string::npos ? std::string::npos : tab - begin));
    if (tab == std::string::npos) return fields;
    begin = tab + 1;
  }
}

// Reads the lines of a text file, without '\n' or a trailing '\r'.
std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw embedrank::FileError("open", path + ": cannot open (run from the repository root, or pass --data DIR)");
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  if (in.bad()) throw embedrank::FileError("read", path + ": read failed");
  return lines;
}

std::string where(const std::string& path, std::size_t line_number) {
  return path + ":" + std::to_string(line_number) + ": ";
}

// The lines of a TSV file after its header; blank lines are skipped, a
// line with another field count than the header is an error.
template <typename OnRow>
void read_tsv(const std::string& path, const std::string& header, OnRow on_row) {
  const std::vector<std::string> lines = read_lines(path);
  if (lines.empty()) throw ParseError("empty_file", path + ": the file is empty; expected the header line '" + header + "'");
  if (lines[0] != header) {
    std::string shown = header;
    std::replace(shown.begin(), shown.end(), '\t', ' ');
    throw ParseError("bad_header", where(path, 1) + "expected the tab-separated header '" + shown + "'");
  }
  const std::size_t columns = split_tabs(header).size();
  for (std::size_t i = 1; i < lines.size(); ++i) {
    if (lines[i].find_first_not_of(" \t") == std::string::npos) continue;
    if (!embedrank::text::is_valid_utf8(lines[i]))
      throw ParseError("bad_utf8", where(path, i + 1) + "the line is not valid UTF-8");
    const std::vector<std::string> fields = split_tabs(lines[i]);
    if (fields.size() != columns)
      throw ParseError("field_count", where(path, i + 1) + "expected " + std::to_string(columns) +
                                          " tab-separated fields, found " + std::to_string(fields.size()));
    on_row(fields, i + 1);
  }
}

void known_product(const ShopData& data, const std::string& path, std::size_t line, const std::string& id) {
  if (!data.catalogue.contains(id))
    throw ParseError("unknown_product", where(path, line) + "product id '" + id + "' is not in the catalogue");
}

double parse_number(const std::string& path, std::size_t line, const std::string& field, const std::string& text) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(value) || value < 0)
    throw ParseError("bad_number", where(path, line) + "the " + field + " '" + text + "' is not a number >= 0");
  return value;
}

void read_histories(const std::string& path, ShopData& data) {
  std::unordered_map<std::string, std::size_t> user_index;  // name -> position in users
  read_tsv(path, "user\tevent\tproduct_id", [&](const std::vector<std::string>& f, std::size_t line) {
    if (f[0].empty()) throw ParseError("empty_field", where(path, line) + "the user field is empty");
    if (f[1] != "view" && f[1] != "purchase")
      throw ParseError("bad_event", where(path, line) + "event '" + f[1] + "' is neither 'view' nor 'purchase'");
    known_product(data, path, line, f[2]);
    const auto [it, added] = user_index.emplace(f[0], data.users.size());
    if (added) data.users.push_back(User{f[0], {}});
    data.users[it->second].events.push_back(HistoryEvent{f[2], f[1] == "purchase"});
  });
}

void read_interactions(const std::string& path, ShopData& data) {
  read_tsv(path, "user\tproduct_id\trating\tday", [&](const std::vector<std::string>& f, std::size_t line) {
    if (f[0].empty()) throw ParseError("empty_field", where(path, line) + "the user field is empty");
    known_product(data, path, line, f[1]);
    const double rating = parse_number(path, line, "rating", f[2]);
    const double day = parse_number(path, line, "day", f[3]);
    data.interactions.push_back(Interaction{f[0], f[1], rating, static_cast<long>(day)});
  });
}

void read_queries(const std::string& path, ShopData& data) {
  const std::vector<std::string> lines = read_lines(path);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::size_t first = lines[i].find_first_not_of(" \t");
    if (first == std::string::npos || lines[i][first] == '#') continue;
    if (!embedrank::text::is_valid_utf8(lines[i]))
      throw ParseError("bad_utf8", where(path, i + 1) + "the line is not valid UTF-8");
    data.queries.push_back(lines[i].substr(first));
  }
}

ShopData read_shop_data(const std::string& dir) {
  ShopData data;
  // the products and their attributes, joined by id
  data.catalogue = embedrank::Catalogue::read({dir + "/catalogue.tsv", dir + "/attributes.tsv"});
  read_histories(dir + "/histories.tsv", data);
  read_interactions(dir + "/interactions.tsv", data);
  read_queries(dir + "/queries.txt", data);
  return data;
}

std::string fixed(double value, int decimals) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

// A table with fixed column widths in terminal columns (CJK and emoji count
// 2, combining marks 0); a cell is cut at a grapheme cluster boundary, ending
// in "…", and the last column is not padded.
class Table {
 public:
  explicit Table(std::vector<std::pair<std::string, std::size_t>> columns) : columns_(std::move(columns)) {}

  void print_header(std::ostream& out) const {
    std::vector<std::string> names;
    for (const auto& column : columns_) names.push_back(column.first);
    print_row(out, names);
    std::string rule;
    for (std::size_t c = 0; c < columns_.size(); ++c) {
      if (c > 0) rule += "  ";
      rule.append(columns_[c].second, '-');
    }
    out << "  " << rule << '\n';
  }

  void print_row(std::ostream& out, const std::vector<std::string>& cells) const {
    std::string line = "  ";
    for (std::size_t c = 0; c < columns_.size(); ++c) {
      if (c > 0) line += "  ";
      line += embedrank::text::fit_to_width(cells[c], columns_[c].second);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << '\n';
  }

 private:
  std::vector<std::pair<std::string, std::size_t>> columns_;  // (name, width in columns)
};

// ---------------------------------------------------------------------------
// The guide

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

embedrank::cf::Ratings ratings_of(const std::vector<Interaction>& interactions) {
  embedrank::cf::RatingsBuilder builder("interactions.tsv");
  for (const Interaction& i : interactions) builder.add(i.user, i.product_id, i.rating);
  return builder.build();
}

// A history user's distinct items with their weights (a view 1, a purchase 2 per event).
std::vector<embedrank::rank::HistoryItem> weigh(const User& user) {
  std::vector<embedrank::rank::HistoryItem> history;
  std::unordered_map<std::string, std::size_t> position;
  for (const HistoryEvent& event : user.events) {
    const auto [it, added] = position.emplace(event.product_id, history.size());
    if (added) history.push_back({event.product_id, 0.0, 0.0});
    history[it->second].weight += event.purchase ? kPurchaseWeight : kViewWeight;
  }
  return history;
}

// Tokens of the text (special tokens not counted) and how many of them are
// the unknown token: text the vocabulary does not cover barely reaches the model.
struct TokenCount {
  std::size_t unknown = 0, total = 0;
};

TokenCount count_tokens(const embedrank::model::Embedder& embedder, const std::string& text) {
  embedrank::text::EncodeOptions encode_options;
  encode_options.add_special_tokens = false;
  const embedrank::text::Encoding encoding = embedder.tokenizer().encode(embedder.preprocess(text), encode_options);
  TokenCount count;
  count.total = encoding.ids.size();
  count.unknown =
      static_cast<std::size_t>(std::count(encoding.ids.begin(), encoding.ids.end(), embedder.tokenizer().unk_id()));
  return count;
}

void report_vocabulary_coverage(const embedrank::ShoppingGuide& guide, std::ostream& out) {
  TokenCount all;
  std::size_t poorly_covered = 0;  // products with more than a quarter of their tokens unknown
  for (const std::size_t row : guide.catalogue().live_rows()) {
    const TokenCount count = count_tokens(guide.embedder(), guide.catalogue().text(row));
    all.unknown += count.unknown;
    all.total += count.total;
    if (4 * count.unknown > count.total) ++poorly_covered;
  }
  out << "vocabulary: " << all.unknown << " of the catalogue's " << all.total
      << " tokens are unknown to the model; " << poorly_covered
      << " products have more than a quarter of their tokens unknown\n";
}

std::string price_text(double price) { return std::isnan(price) ? "" : fixed(price, 2); }

void answer_queries(const embedrank::ShoppingGuide& guide, const ShopData& data, const Options& options,
                    std::ostream& out) {
  const auto& policy = guide.options().attribute_policy;
  out << "\n=== Search: the " << options.k << " best products per query ===\n"
      << "Attribute values the catalogue holds (category, brand, colour) and price phrases are found in the query;\n"
      << "a price range and a brand filter, the others boost. Hybrid search: the query is embedded (cosine) and\n"
      << "matched word for word (BM25 over titles and descriptions, Chinese as character pairs), and the two lists\n"
      << "fused with a per-query lexical weight a (higher when the model cannot read the query):\n"
      << "score = " << fixed(1 - guide.options().attribute_boost, 2)
      << " * (a * BM25 / best BM25 + (1 - a) * cosine scaled over the candidates) + "
      << fixed(guide.options().attribute_boost, 2) << " * (share of the query's attributes the product has).\n";
  embedrank::model::EmbedderWorkspace ws(options.threads);
  const auto start = Clock::now();
  const Table table(
      {{"#", 2}, {"score", 5}, {"cos", 5}, {"bm25", 5}, {"id", 5}, {"category", 17}, {"price", 7}, {"product", 60}});
  for (const std::string& query : data.queries) {
    const embedrank::SearchAnswer answer = guide.search(query, options.k, ws);
    out << "\nquery: " << query;
    const TokenCount count = count_tokens(guide.embedder(), answer.query.search_text);
    if (count.unknown > 0) out << "  (" << count.unknown << " of its " << count.total << " tokens are unknown to the model)";
    out << "\n  lexical weight a = " << fixed(answer.lexical_weight, 2) << '\n';
    if (!answer.query.attributes.empty()) {
      out << "  understood:";
      for (const auto& a : answer.query.attributes) {
        const bool filters = a.name == "price" || policy.filters.count(a.name) > 0;
        out << ' ' << a.name << " \"" << query.substr(a.byte_begin, a.byte_end - a.byte_begin) << "\" -> " << a.value
            << (filters ? " (filter)" : " (boost)") << ';';
      }
      out << "\n  searched text: " << answer.query.search_text << '\n';
    }
    table.print_header(out);
    for (std::size_t r = 0; r < answer.results.size(); ++r) {
      const auto& hit = answer.results[r];
      const Product& p = guide.product(hit.id);
      table.print_row(out, {std::to_string(r + 1), fixed(hit.score, 3), fixed(hit.similarity, 3), fixed(hit.lexical, 1),
                            p.id, p.category, price_text(p.price), p.title});
    }
  }
  std::cerr << "answered " << data.queries.size() << " queries in " << fixed(seconds_since(start) * 1e3, 1)
            << " ms (understanding, embedding, search)\n";
}

void recommend_for_users(const embedrank::ShoppingGuide& guide, const ShopData& data, const Options& options,
                         std::ostream& out) {
  embedrank::rank::RecommendOptions recommend_options;
  recommend_options.content_weight = kContentWeight;
  out << "\n=== Recommendations: the " << options.k << " best unseen products per user ===\n"
      << "score = " << fixed(recommend_options.content_weight, 1) << " * content + "
      << fixed(1 - recommend_options.content_weight, 1)
      << " * CF, each min-max scaled over the candidates\n"
      << "content: cosine to the history profile (each view adds weight " << fixed(kViewWeight, 0)
      << ", each purchase " << fixed(kPurchaseWeight, 0) << "); CF: the user-kNN predicted rating from "
      << guide.collaborative_filtering()->ratings().num_ratings() << " ratings of "
      << guide.collaborative_filtering()->ratings().num_users() << " users\n"
      << "closest: the history item most similar to the recommendation; because: the most similar users behind the CF\n"
      << "score (similarity, their rating)\n";
  const Table table({{"#", 2}, {"score", 5}, {"cont.", 5}, {"CF", 4}, {"id", 5}, {"recommended product", 40},
                     {"closest history item", 30}, {"because", 40}});
  for (const User& user : data.users) {
    const auto history = weigh(user);
    out << "\nuser: " << user.name << " (" << user.events.size() << " events, " << history.size()
        << " distinct products; history:";
    for (const auto& h : history) out << ' ' << h.item_id;
    out << ")\n";
    table.print_header(out);
    const auto recommended = guide.recommend(user.name, history, options.k, recommend_options);
    for (std::size_t r = 0; r < recommended.size(); ++r) {
      const auto& rec = recommended[r];
      std::string because;
      for (const auto& n : rec.cf_neighbors)
        because += (because.empty() ? "" : ", ") + n.user_id + " (" + fixed(n.similarity, 2) + ", " + fixed(n.rating, 0) + ")";
      table.print_row(out, {std::to_string(r + 1), fixed(rec.score, 3), fixed(rec.content_score, 3),
                            std::isnan(rec.cf_score) ? "-" : fixed(rec.cf_score, 1), rec.id,
                            guide.product(rec.id).title, guide.product(rec.closest_history_id).title, because});
    }
  }
}

// ---------------------------------------------------------------------------
// Offline evaluation

struct EvalRow {
  std::string method;
  double content_weight = -1;  // -1: not a blend
  double hit_rate = 0, ndcg = 0;
};

std::vector<EvalRow> evaluate(const embedrank::ShoppingGuide& guide, const ShopData& data, std::size_t& evaluated,
                              std::size_t& skipped) {
  // Held out: each generated user's newest item rated 4 or 5 (named users are not evaluated).
  std::unordered_set<std::string> named;
  for (const User& u : data.users) named.insert(u.name);
  std::vector<embedrank::rank::Interaction> log;
  log.reserve(data.interactions.size());
  for (const Interaction& x : data.interactions)
    log.push_back({x.user, x.product_id, x.rating, static_cast<double>(x.day)});
  const embedrank::rank::HoldoutSplit split = embedrank::rank::leave_newest_out(
      log, [&](const embedrank::rank::Interaction& x) { return named.count(x.user) == 0 && x.rating >= 4; });
  std::vector<Interaction> train;
  std::map<std::string, std::vector<embedrank::rank::HistoryItem>> histories;  // user -> training history (ordered)
  std::unordered_map<std::string, double> popularity;                         // product -> training ratings
  for (const std::size_t i : split.train) {
    const Interaction& x = data.interactions[i];
    train.push_back(x);
    popularity[x.product_id] += 1;
    // liked items shape the profile (4 -> 1, 5 -> 2), every rated item is excluded
    histories[x.user].push_back({x.product_id, std::max(0.0, x.rating - 3.0), 0.0});
  }
  const embedrank::cf::UserKnn knn(ratings_of(train), guide.options().knn);
  const embedrank::rank::Recommender recommender(guide.index(), &knn);

  std::vector<std::string> by_popularity;
  for (const std::size_t row : guide.catalogue().live_rows()) by_popularity.push_back(guide.catalogue().product(row).id);
  std::stable_sort(by_popularity.begin(), by_popularity.end(),
                   [&](const std::string& a, const std::string& b) { return popularity[a] > popularity[b]; });

  const std::vector<double> weights = {0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0};
  std::vector<embedrank::rank::MetricsMean> means(weights.size() + 1);  // the blends, then most popular
  skipped = 0;
  for (const std::size_t i : split.held_out) {
    const std::string& user = data.interactions[i].user;
    const std::unordered_set<std::string> relevant = {data.interactions[i].product_id};
    const auto& history = histories[user];
    double liked = 0;
    for (const auto& h : history) liked += h.weight;
    if (!(liked > 0)) {
      ++skipped;
      continue;
    }
    const embedrank::VectorF profile = recommender.profile_from_history(history);
    for (std::size_t w = 0; w < weights.size(); ++w) {
      embedrank::rank::RecommendOptions options;
      options.content_weight = weights[w];
      std::vector<std::string> ranked;
      for (const auto& r : recommender.recommend(profile, history, user, kEvalTop, options)) ranked.push_back(r.id);
      means[w].add(embedrank::rank::evaluate_ranking(ranked, relevant, kEvalTop));
    }
    std::unordered_set<std::string> seen;
    for (const auto& h : history) seen.insert(h.item_id);
    std::vector<std::string> popular;  // the kEvalTop most popular items the user has not rated
    for (const std::string& id : by_popularity) {
      if (popular.size() == kEvalTop) break;
      if (seen.count(id) == 0) popular.push_back(id);
    }
    means.back().add(embedrank::rank::evaluate_ranking(popular, relevant, kEvalTop));
  }
  evaluated = means.front().mean().queries;
  std::vector<EvalRow> rows(means.size());
  for (std::size_t m = 0; m < means.size(); ++m) {
    const embedrank::rank::MeanMetrics mean = means[m].mean();
    rows[m].hit_rate = mean.hit_rate;
    rows[m].ndcg = mean.ndcg;
  }
  for (std::size_t w = 0; w < weights.size(); ++w) {
    rows[w].content_weight = weights[w];
    rows[w].method = weights[w] == 0 ? "CF only" : weights[w] == 1 ? "content only" : "blend";
  }
  rows.back().method = "most popular";
  return rows;
}

void report_evaluation(const embedrank::ShoppingGuide& guide, const ShopData& data, const Options& options,
                       std::ostream& out) {
  const auto start = Clock::now();
  std::size_t evaluated = 0, skipped = 0;
  const std::vector<EvalRow> rows = evaluate(guide, data, evaluated, skipped);
  std::cerr << "evaluated " << evaluated << " users x " << rows.size() << " methods in "
            << fixed(seconds_since(start), 2) << " s\n";
  out << "\n=== Offline evaluation: " << evaluated << " users, each one's newest item rated 4 or 5 held out ===\n"
      << "(" << skipped << " users without a liked training item skipped; w = content weight, 1 - w for CF)\n";
  const Table table({{"method", 13}, {"w", 4}, {"HR@10", 6}, {"NDCG@10", 7}});
  table.print_header(out);
  for (const EvalRow& row : rows)
    table.print_row(out, {row.method, row.content_weight < 0 ? "-" : fixed(row.content_weight, 1),
                          fixed(row.hit_rate, 3), fixed(row.ndcg, 3)});
  if (!options.eval_out.empty()) {
    embedrank::AtomicOutputFile file(options.eval_out);
    std::ostream& tsv = file.stream();
    tsv << "method\tcontent_weight\thit_rate_at_10\tndcg_at_10\n";
    for (const EvalRow& row : rows)
      tsv << row.method << '\t' << (row.content_weight < 0 ? std::string("") : fixed(row.content_weight, 1)) << '\t'
          << fixed(row.hit_rate, 4) << '\t' << fixed(row.ndcg, 4) << '\n';
    file.commit();
  }
}

int run(const Options& options) {
  const ShopData data = read_shop_data(options.data_dir);
  auto start = Clock::now();
  auto embedder = embedrank::model::Embedder::open(options.model_path);
  std::cerr << "loaded " << options.model_path << " in " << fixed(seconds_since(start), 3) << " s\n";

  start = Clock::now();
  embedrank::ShoppingGuideOptions guide_options;
  guide_options.threads = options.threads;
  // A CF score rests on at least 20 similar users who rated the item: with
  // fewer, a few weakly similar users decide it and the top of the list is
  // noise (the offline evaluation shows CF-only hit rates from 0.004 at
  // min_k 1 to about 0.6 at 20 on this data).
  guide_options.knn.min_k = kCfMinNeighbors;
  embedrank::ShoppingGuide guide(embedder, data.catalogue, guide_options);
  std::cerr << "embedded " << data.catalogue.size() << " products in " << fixed(seconds_since(start), 2) << " s ("
            << embedrank::pool_threads(nullptr, options.threads) << " threads)\n";
  start = Clock::now();
  guide.fit_collaborative_filtering(ratings_of(data.interactions));
  std::cerr << "fitted user kNN on " << data.interactions.size() << " ratings in " << fixed(seconds_since(start), 2)
            << " s\n";

  std::ostringstream report;
  report << "Shopping guide: " << data.catalogue.size() << " products, " << data.queries.size() << " queries, "
         << data.users.size() << " users with histories, " << data.interactions.size() << " ratings; model "
         << options.model_path << " (" << guide.embedder().dimension() << "-d; scores are cosine similarities)\n";
  report_vocabulary_coverage(guide, report);
  answer_queries(guide, data, options, report);
  recommend_for_users(guide, data, options, report);
  report_evaluation(guide, data, options, report);
  std::cout << report.str() << std::flush;
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return cli::main("shopping_guide", kUsage, argc, argv, parse_options, run); }
