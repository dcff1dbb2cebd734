// shopping_guide: semantic product search and "more like what you bought"
// recommendations over a small shop catalogue, with a sentence-embedding model.
//
//   shopping_guide --model FILE [--data DIR] [--k K] [--threads N]
//
// DIR (default: examples/data, relative to the current directory) holds
//   catalogue.tsv  id<TAB>category<TAB>title<TAB>description, with that header line
//   histories.tsv  user<TAB>event<TAB>product_id, event = view | purchase, with that header line
//   queries.txt    one shopping query per line (blank lines and lines starting with '#' skipped)
//
// Every product is embedded as "title. description" with mean pooling and L2
// normalisation; scores are cosine similarities. For each query the program
// prints the K best products. For each user it builds two profiles and prints
// the K best products the user has not seen yet under each:
//   - "history mean": the weighted mean of the history items' embeddings,
//     where each view of an item adds weight 1 and each purchase weight 2;
//   - "history text": the embedding of the history items' titles joined by "; ".
// Each recommendation names the history item it is most similar to (cosine).
//
// Output: plain-text tables on stdout (UTF-8; CJK characters are counted as
// two columns). Timings go to stderr, so stdout depends only on the inputs.
// Exit status: 0 on success, 1 on a data or model error, 2 on a usage error.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "embedrank/core/error.hpp"
#include "embedrank/core/parallel.hpp"
#include "embedrank/core/tensor.hpp"
#include "embedrank/model/embedder.hpp"
#include "embedrank/rank/embedding_index.hpp"
#include "embedrank/text/unicode.hpp"

namespace {

using embedrank::MatrixF;
using embedrank::ParseError;
using embedrank::VectorF;

const char* const kUsage =
    "usage: shopping_guide --model FILE [--data DIR] [--k K] [--threads N]\n"
    "  --model FILE  embedrank model file (e.g. all-MiniLM-L6-v2 converted by weights_tools/convert.py)\n"
    "  --data DIR    catalogue.tsv, histories.tsv and queries.txt (default: examples/data)\n"
    "  --k K         results per query and recommendations per user (default: 10)\n"
    "  --threads N   threads for embedding and search (default: 0, all CPUs)\n";

constexpr float kViewWeight = 1.0f;
constexpr float kPurchaseWeight = 2.0f;

struct UsageError {
  std::string message;
};

struct Options {
  std::string model_path;
  std::string data_dir = "examples/data";
  std::size_t k = 10;
  int threads = 0;
};

long long parse_integer(const std::string& flag, const std::string& text) {
  char* end = nullptr;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0') throw UsageError{flag + " needs an integer, got '" + text + "'"};
  return value;
}

Options parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") throw UsageError{""};
    if (flag != "--model" && flag != "--data" && flag != "--k" && flag != "--threads")
      throw UsageError{"unknown argument '" + flag + "'"};
    if (i + 1 >= argc) throw UsageError{flag + " needs a value"};
    const std::string value = argv[++i];
    if (flag == "--model") {
      options.model_path = value;
    } else if (flag == "--data") {
      options.data_dir = value;
    } else if (flag == "--k") {
      const long long k = parse_integer(flag, value);
      if (k < 1 || k > 1000) throw UsageError{"--k must be between 1 and 1000"};
      options.k = static_cast<std::size_t>(k);
    } else {
      const long long threads = parse_integer(flag, value);
      if (threads < 0 || threads > 1024) throw UsageError{"--threads must be between 0 (all CPUs) and 1024"};
      options.threads = static_cast<int>(threads);
    }
  }
  if (options.model_path.empty()) throw UsageError{"--model is required"};
  return options;
}

// ---------------------------------------------------------------------------
// Data files

struct Product {
  std::string id, category, title, description;
};

struct HistoryEvent {
  std::string product_id;
  bool purchase = false;
};

struct User {
  std::string name;
  std::vector<HistoryEvent> events;  // in file order
};

struct ShopData {
  std::vector<Product> products;
  std::unordered_map<std::string, std::size_t> product_index;  // id -> position in products
  std::vector<User> users;                                     // in order of first appearance
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

void read_catalogue(const std::string& path, ShopData& data) {
  read_tsv(path, "id\tcategory\ttitle\tdescription", [&](const std::vector<std::string>& f, std::size_t line) {
    const char* const names[] = {"id", "category", "title", "description"};
    for (std::size_t c = 0; c < f.size(); ++c)
      if (f[c].empty()) throw ParseError("empty_field", where(path, line) + "the " + names[c] + " field is empty");
    const auto [it, added] = data.product_index.emplace(f[0], data.products.size());
    if (!added)
      throw ParseError("duplicate_id", where(path, line) + "product id '" + f[0] + "' already appears on line " +
                                           std::to_string(it->second + 2));
    data.products.push_back(Product{f[0], f[1], f[2], f[3]});
  });
  if (data.products.empty()) throw ParseError("no_products", path + ": the catalogue has no products");
}

void read_histories(const std::string& path, ShopData& data) {
  std::unordered_map<std::string, std::size_t> user_index;  // name -> position in users
  read_tsv(path, "user\tevent\tproduct_id", [&](const std::vector<std::string>& f, std::size_t line) {
    if (f[0].empty()) throw ParseError("empty_field", where(path, line) + "the user field is empty");
    if (f[1] != "view" && f[1] != "purchase")
      throw ParseError("bad_event", where(path, line) + "event '" + f[1] + "' is neither 'view' nor 'purchase'");
    if (data.product_index.count(f[2]) == 0)
      throw ParseError("unknown_product", where(path, line) + "product id '" + f[2] + "' is not in the catalogue");
    const auto [it, added] = user_index.emplace(f[0], data.users.size());
    if (added) data.users.push_back(User{f[0], {}});
    data.users[it->second].events.push_back(HistoryEvent{f[2], f[1] == "purchase"});
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
  read_catalogue(dir + "/catalogue.tsv", data);
  read_histories(dir + "/histories.tsv", data);
  read_queries(dir + "/queries.txt", data);
  return data;
}

// ---------------------------------------------------------------------------
// Terminal columns of UTF-8 text

// East Asian Wide and Fullwidth ranges (Unicode UAX #11), the ones shop text meets.
bool is_wide(char32_t c) {
  return (c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0x303E) || (c >= 0x3041 && c <= 0x33FF) ||
         (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xA000 && c <= 0xA4CF) ||
         (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0xFE30 && c <= 0xFE4F) ||
         (c >= 0xFF00 && c <= 0xFF60) || (c >= 0xFFE0 && c <= 0xFFE6) || (c >= 0x1F300 && c <= 0x1F64F) ||
         (c >= 0x1F900 && c <= 0x1F9FF) || (c >= 0x20000 && c <= 0x3FFFD);
}

std::size_t columns_of(char32_t c) { return is_wide(c) ? 2 : 1; }

std::size_t display_width(std::string_view text) {
  std::size_t width = 0;
  for (const char32_t c : embedrank::text::decode_utf8(text)) width += columns_of(c);
  return width;
}

// The text cut to at most `width` columns (ending in "…" when cut), padded
// with spaces to exactly `width` columns.
std::string fit(std::string_view text, std::size_t width) {
  const std::u32string cps = embedrank::text::decode_utf8(text);
  std::string out;
  std::size_t used = 0;
  if (display_width(text) <= width) {
    out.assign(text);
    used = display_width(text);
  } else {
    for (const char32_t c : cps) {
      if (used + columns_of(c) + 1 > width) break;  // keep one column for the ellipsis
      embedrank::text::append_utf8(c, out);
      used += columns_of(c);
    }
    while (!out.empty() && out.back() == ' ') {
      out.pop_back();
      --used;
    }
    out += "\u2026";
    ++used;
  }
  out.append(width - std::min(width, used), ' ');
  return out;
}

std::string fixed(double value, int decimals) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

// A table with fixed column widths; the last column is not padded.
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
      line += fit(cells[c], columns_[c].second);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << '\n';
  }

 private:
  std::vector<std::pair<std::string, std::size_t>> columns_;  // (name, width in columns)
};

// ---------------------------------------------------------------------------
// The guide

// A user's distinct history items, in order of first appearance, and their weights.
struct WeightedHistory {
  std::vector<std::string> ids;
  std::vector<float> weights;   // sum over the item's events: view 1, purchase 2
  std::vector<int> views, purchases;
};

WeightedHistory weigh(const User& user) {
  WeightedHistory history;
  std::unordered_map<std::string, std::size_t> position;
  for (const HistoryEvent& event : user.events) {
    const auto [it, added] = position.emplace(event.product_id, history.ids.size());
    if (added) {
      history.ids.push_back(event.product_id);
      history.weights.push_back(0.0f);
      history.views.push_back(0);
      history.purchases.push_back(0);
    }
    const std::size_t i = it->second;
    history.weights[i] += event.purchase ? kPurchaseWeight : kViewWeight;
    (event.purchase ? history.purchases[i] : history.views[i]) += 1;
  }
  return history;
}

class ShoppingGuide {
 public:
  ShoppingGuide(const ShopData& data, const Options& options)
      : data_(data), options_(options), workspace_(options.threads), index_(1) {}

  void run(std::ostream& out) {
    load_model();
    embed_catalogue();
    out << "Shopping guide: " << data_.products.size() << " products, " << data_.queries.size() << " queries, "
        << data_.users.size() << " users; model " << options_.model_path << " (" << embedder_->dimension()
        << "-d, mean pooling, L2-normalised; scores are cosine similarities)\n";
    report_vocabulary_coverage(out);
    answer_queries(out);
    recommend_for_users(out);
  }

 private:
  using Clock = std::chrono::steady_clock;

  static double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
  }

  void load_model() {
    const auto start = Clock::now();
    embedder_ = embedrank::model::Embedder::open(options_.model_path);
    embed_options_.pooling = embedrank::model::PoolingConfig{{embedrank::nn::PoolingMode::Mean}, /*normalize=*/true};
    std::cerr << "loaded " << options_.model_path << " in " << fixed(seconds_since(start), 3) << " s\n";
  }

  MatrixF embed(const std::vector<std::string>& texts) { return embedder_->embed(texts, workspace_, embed_options_); }

  struct TokenCount {
    std::size_t unknown = 0, total = 0;
  };

  // Tokens of the text (special tokens not counted) and how many of them are
  // the unknown token: text the vocabulary does not cover barely reaches the model.
  TokenCount count_tokens(const std::string& text) const {
    embedrank::text::EncodeOptions encode_options;
    encode_options.add_special_tokens = false;
    const embedrank::text::Encoding encoding = embedder_->tokenizer().encode(embedder_->preprocess(text), encode_options);
    TokenCount count;
    count.total = encoding.ids.size();
    count.unknown = static_cast<std::size_t>(
        std::count(encoding.ids.begin(), encoding.ids.end(), embedder_->tokenizer().unk_id()));
    return count;
  }

  void embed_catalogue() {
    std::vector<std::string> texts, ids;
    for (const Product& p : data_.products) {
      texts.push_back(p.title + ". " + p.description);
      ids.push_back(p.id);
    }
    const auto start = Clock::now();
    product_vectors_ = embed(texts);  // (N, D)
    const double seconds = seconds_since(start);
    std::cerr << "embedded " << texts.size() << " products in " << fixed(seconds, 2) << " s ("
              << fixed(static_cast<double>(texts.size()) / seconds, 1) << " items/s, "
              << embedrank::resolve_threads(options_.threads) << " threads)\n";

    embedrank::rank::IndexOptions index_options;
    index_options.metric = embedrank::rank::Metric::cosine;
    index_options.threads = options_.threads;
    index_ = embedrank::rank::EmbeddingIndex(static_cast<std::size_t>(product_vectors_.cols()), index_options);
    index_.add_rows(ids, product_vectors_);
  }

  void report_vocabulary_coverage(std::ostream& out) const {
    TokenCount all;
    std::size_t poorly_covered = 0;  // products with more than a quarter of their tokens unknown
    for (const Product& p : data_.products) {
      const TokenCount count = count_tokens(p.title + ". " + p.description);
      all.unknown += count.unknown;
      all.total += count.total;
      if (4 * count.unknown > count.total) ++poorly_covered;
    }
    out << "vocabulary: " << all.unknown << " of the catalogue's " << all.total
        << " tokens are unknown to the model; " << poorly_covered
        << " products have more than a quarter of their tokens unknown\n";
  }

  const Product& product(const std::string& id) const { return data_.products[data_.product_index.at(id)]; }

  void answer_queries(std::ostream& out) {
    const auto start = Clock::now();
    const MatrixF query_vectors = embed(data_.queries);  // (Q, D)
    const auto results = index_.search_batch(query_vectors, options_.k);
    std::cerr << "answered " << data_.queries.size() << " queries in " << fixed(seconds_since(start) * 1e3, 1)
              << " ms (embedding and search)\n";

    const Table table({{"#", 2}, {"score", 5}, {"id", 5}, {"category", 17}, {"product", 64}});
    out << "\n=== Search: the " << options_.k << " best products per query ===\n";
    for (std::size_t q = 0; q < data_.queries.size(); ++q) {
      out << "\nquery: " << data_.queries[q];
      const TokenCount count = count_tokens(data_.queries[q]);
      if (count.unknown > 0)
        out << "  (" << count.unknown << " of its " << count.total << " tokens are unknown to the model)";
      out << '\n';
      table.print_header(out);
      for (std::size_t r = 0; r < results[q].size(); ++r) {
        const auto& hit = results[q][r];
        const Product& p = product(hit.id);
        table.print_row(out, {std::to_string(r + 1), fixed(hit.score, 3), p.id, p.category, p.title});
      }
    }
  }

  void recommend_for_users(std::ostream& out) {
    out << "\n=== Recommendations: the " << options_.k << " best unseen products per user ===\n"
        << "history mean: weighted mean of the history items' embeddings (each view adds weight "
        << fixed(kViewWeight, 0) << ", each purchase " << fixed(kPurchaseWeight, 0) << ")\n"
        << "history text: embedding of the history items' titles joined by \"; \"\n"
        << "closest: the history item most similar to the recommendation (cosine)\n";
    for (const User& user : data_.users) recommend_for(user, out);
  }

  void recommend_for(const User& user, std::ostream& out) {
    const WeightedHistory history = weigh(user);
    const auto H = static_cast<Eigen::Index>(history.ids.size());
    const auto D = product_vectors_.cols();

    MatrixF history_vectors(H, D);  // (H, D), unit rows as stored in the index
    for (Eigen::Index h = 0; h < H; ++h)
      history_vectors.row(h) = index_.vector(index_.row_of(history.ids[static_cast<std::size_t>(h)])).transpose();

    // history mean profile = sum_h w_h e_h / sum_h w_h (the index normalises it)
    VectorF mean_profile = VectorF::Zero(D);  // (D)
    float weight_sum = 0.0f;
    for (Eigen::Index h = 0; h < H; ++h) {
      mean_profile += history.weights[static_cast<std::size_t>(h)] * history_vectors.row(h).transpose();
      weight_sum += history.weights[static_cast<std::size_t>(h)];
    }
    mean_profile /= weight_sum;

    std::string history_text;
    for (const std::string& id : history.ids) history_text += (history_text.empty() ? "" : "; ") + product(id).title;
    const VectorF text_profile = embed({history_text}).row(0).transpose();  // (D)

    out << "\nuser: " << user.name << " (" << user.events.size() << " events, " << H << " distinct products)\n";
    const Table history_table({{"events", 18}, {"weight", 6}, {"id", 5}, {"product", 64}});
    history_table.print_header(out);
    for (std::size_t h = 0; h < history.ids.size(); ++h) {
      std::string events;
      if (history.views[h] > 0) events += std::to_string(history.views[h]) + " view";
      if (history.purchases[h] > 0)
        events += (events.empty() ? "" : ", ") + std::to_string(history.purchases[h]) + " purchase";
      history_table.print_row(out, {events, fixed(history.weights[h], 0), history.ids[h], product(history.ids[h]).title});
    }

    const embedrank::rank::ItemBitmap seen = index_.exclusion(history.ids);
    embedrank::rank::SearchFilter unseen;
    unseen.exclude = &seen;
    print_recommendations("history mean", index_.search(mean_profile, options_.k, unseen), history, history_vectors, out);
    print_recommendations("history text", index_.search(text_profile, options_.k, unseen), history, history_vectors, out);
  }

  void print_recommendations(const std::string& profile_name, const std::vector<embedrank::rank::SearchResult>& hits,
                             const WeightedHistory& history, const MatrixF& history_vectors, std::ostream& out) const {
    out << "\n  profile: " << profile_name << '\n';
    const Table table({{"#", 2}, {"score", 5}, {"id", 5}, {"recommended product", 44}, {"closest history item", 36}, {"cos", 5}});
    table.print_header(out);
    for (std::size_t r = 0; r < hits.size(); ++r) {
      // cosine to each history item = its unit row . the recommendation's unit row
      const VectorF similarity = history_vectors * index_.vector(hits[r].row);  // (H)
      Eigen::Index closest = 0;
      similarity.maxCoeff(&closest);
      const std::string& closest_id = history.ids[static_cast<std::size_t>(closest)];
      table.print_row(out, {std::to_string(r + 1), fixed(hits[r].score, 3), hits[r].id, product(hits[r].id).title,
                            product(closest_id).title, fixed(similarity[closest], 3)});
    }
  }

  const ShopData& data_;
  Options options_;
  std::shared_ptr<const embedrank::model::Embedder> embedder_;
  embedrank::model::EmbedderWorkspace workspace_;
  embedrank::model::EmbedOptions embed_options_;
  MatrixF product_vectors_;  // (N, D) as the model returns them
  embedrank::rank::EmbeddingIndex index_;
};

}  // namespace

int main(int argc, char** argv) {
  Options options;
  try {
    options = parse_options(argc, argv);
  } catch (const UsageError& e) {
    if (e.message.empty()) {
      std::cout << kUsage;
      return 0;
    }
    std::cerr << "shopping_guide: " << e.message << '\n' << kUsage;
    return 2;
  }
  try {
    const ShopData data = read_shop_data(options.data_dir);
    ShoppingGuide guide(data, options);
    std::ostringstream report;
    guide.run(report);
    std::cout << report.str() << std::flush;
  } catch (const embedrank::Error& e) {
    std::cerr << "shopping_guide: " << e.what() << '\n';
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "shopping_guide: unexpected error: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
