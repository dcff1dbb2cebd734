// Queries per second of the lexical (BM25) index at T threads, over the
// generated catalogue of bench/lexical_corpus.hpp. bench/lexical_peers.py
// runs it, then Tantivy on the same analysed terms (--write-terms).
//
//   build/bin/bench_lexical_qps --products 1000000 --queries 1000 --k 10 --threads 1,2 --seconds 5 --rounds 3
//
// A query is what a caller does with analysed terms:
// index.search(index.query_terms(terms), k); analysis itself is done once,
// before timing (Tantivy is handed the same terms). Each of T threads loops
// over the queries from its own offset (thread t from t Q / T) for S
// seconds; qps = sum over the threads of queries answered / seconds. Rounds
// interleave the thread counts (1, 2, 1, 2, ...), so a slow spell of a
// shared machine spreads over all of them. cores = the process's CPU
// seconds / wall seconds of the measurement: below T, the T threads did not
// each have a core (a busy machine), and the figure understates T threads.
//
// stdout, one JSON line per measurement, then the median per thread count:
//   {"engine":"embedrank","threads":1,"k":10,"products":1000000,"round":0,"qps":1234.5,"cores":1.00}
//   {"engine":"embedrank","threads":1,"k":10,"products":1000000,"rounds":3,"median_qps":1234.5,"median_cores":1.00}
// Progress goes to stderr; an error is one line on stderr and exit status 1
// (2 for a bad command line).
//
// --write-terms DIR writes, each file complete or not at all (written to a
// temporary beside it, then renamed):
//   title.txt, description.txt  one product per line, in row order: its
//                               analysed terms (analyze()) joined by ' '
//   queries.txt                 one query per line: its analysed terms
//   results.tsv                 query \t rank \t row \t score: the top K of
//                               LexicalIndex::search, rank from 0, score %.17g

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "embedrank/core/error.hpp"
#include "embedrank/rank/lexical_analysis.hpp"
#include "embedrank/rank/lexical_index.hpp"
#include "latency_driver.hpp"
#include "lexical_corpus.hpp"

namespace {

using bench::Clock;
using bench::seconds_since;
using embedrank::rank::LexicalIndex;
using Terms = std::vector<std::string>;

constexpr const char* kProgram = "bench_lexical_qps";
constexpr const char* kUsage =
    "bench_lexical_qps [--products N] [--queries Q] [--k K] [--threads LIST] [--seconds S] [--rounds R] "
    "[--write-terms DIR]";

struct Arguments {
  std::size_t products = 1000000;
  std::size_t queries = 1000;
  std::size_t k = 10;
  std::vector<std::size_t> threads = {1, 2};
  double seconds = 5;
  std::size_t rounds = 3;
  std::string write_terms;  // a directory, or empty
};

std::size_t parse_count(const std::string& flag, const std::string& value) {
  errno = 0;
  char* end = nullptr;
  const unsigned long long n = std::strtoull(value.c_str(), &end, 10);
  if (value.empty() || value[0] == '-' || *end != '\0' || errno != 0 || n == 0)
    bench::usage_error(kProgram, kUsage, flag + " wants a whole number >= 1, got '" + value + "'");
  return static_cast<std::size_t>(n);
}

Arguments parse_arguments(int argc, char** argv) {
  Arguments args;
  bench::for_each_flag(argc, argv, kProgram, kUsage, [&](const std::string& flag, const std::string& value) {
    if (flag == "--products") {
      args.products = parse_count(flag, value);
    } else if (flag == "--queries") {
      args.queries = parse_count(flag, value);
    } else if (flag == "--k") {
      args.k = parse_count(flag, value);
    } else if (flag == "--threads") {
      args.threads.clear();
      for (std::size_t from = 0; from <= value.size();) {
        const std::size_t comma = std::min(value.find(',', from), value.size());
        const std::size_t threads = parse_count(flag, value.substr(from, comma - from));
        if (std::find(args.threads.begin(), args.threads.end(), threads) != args.threads.end())
          bench::usage_error(kProgram, kUsage, "--threads lists " + std::to_string(threads) + " twice");
        args.threads.push_back(threads);
        from = comma + 1;
      }
    } else if (flag == "--seconds") {
      char* end = nullptr;
      args.seconds = std::strtod(value.c_str(), &end);
      if (value.empty() || *end != '\0' || !(args.seconds > 0 && args.seconds < 1e6))
        bench::usage_error(kProgram, kUsage, "--seconds wants a number > 0, got '" + value + "'");
    } else if (flag == "--rounds") {
      args.rounds = parse_count(flag, value);
    } else if (flag == "--write-terms") {
      args.write_terms = value;
    } else {
      bench::usage_error(kProgram, kUsage, "unknown option " + flag);
    }
  });
  return args;
}

// A file that appears complete or not at all: written to "<path>.tmp",
// renamed over <path> by commit(), removed if never committed.
class AtomicFile {
 public:
  explicit AtomicFile(std::filesystem::path path) : path_(std::move(path)), temporary_(path_.string() + ".tmp") {
    out_.open(temporary_, std::ios::binary | std::ios::trunc);
    if (!out_) throw embedrank::FileError("open_failed", temporary_.string() + ": cannot open for writing");
  }
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile() {
    if (committed_) return;
    out_.close();
    std::error_code ignored;
    std::filesystem::remove(temporary_, ignored);
  }
  std::ofstream& out() { return out_; }
  void commit() {
    out_.close();
    if (!out_) throw embedrank::FileError("write_failed", temporary_.string() + ": write failed");
    std::error_code error;
    std::filesystem::rename(temporary_, path_, error);
    if (error) throw embedrank::FileError("rename_failed", path_.string() + ": " + error.message());
    committed_ = true;
  }

 private:
  std::filesystem::path path_, temporary_;
  std::ofstream out_;
  bool committed_ = false;
};

// One line of terms joined by ' '. analyze() never puts ASCII whitespace in
// a term (it separates terms); should it ever, the byte becomes '_', so a
// line stays one product and a whitespace tokenizer reads back each term
// whole (the same on both sides: products and queries go through here).
void write_terms_line(std::ostream& out, const Terms& terms) {
  for (std::size_t i = 0; i < terms.size(); ++i) {
    if (i > 0) out << ' ';
    std::string term = terms[i];
    for (char& c : term)
      if (c == ' ' || (c >= '\t' && c <= '\r')) c = '_';
    out << term;
  }
  out << '\n';
}

// The catalogue's N products, analysed, into a default index (title 2.0,
// description 1.0); with `dir`, their terms into title.txt and description.txt.
void build_index(LexicalIndex& index, std::size_t products, const std::string& dir) {
  std::unique_ptr<AtomicFile> title_file, description_file;
  if (!dir.empty()) {
    title_file = std::make_unique<AtomicFile>(std::filesystem::path(dir) / "title.txt");
    description_file = std::make_unique<AtomicFile>(std::filesystem::path(dir) / "description.txt");
  }
  bench::lexical::Generator gen;
  std::vector<Terms> field_terms(2);
  for (std::size_t row = 0; row < products; ++row) {
    const std::vector<std::string> product = gen.product();  // {title, description}
    for (std::size_t f = 0; f < 2; ++f) field_terms[f] = embedrank::rank::analyze(product[f]);
    index.set_terms(row, field_terms);
    if (title_file) {
      write_terms_line(title_file->out(), field_terms[0]);
      write_terms_line(description_file->out(), field_terms[1]);
    }
  }
  if (title_file) {
    title_file->commit();
    description_file->commit();
  }
}

void write_queries_and_results(const LexicalIndex& index, const std::vector<Terms>& queries, std::size_t k,
                               const std::string& dir) {
  AtomicFile query_file(std::filesystem::path(dir) / "queries.txt");
  for (const Terms& terms : queries) write_terms_line(query_file.out(), terms);
  query_file.commit();

  AtomicFile results_file(std::filesystem::path(dir) / "results.tsv");
  char score[32];
  for (std::size_t q = 0; q < queries.size(); ++q) {
    const auto hits = index.search(index.query_terms(queries[q]), k);
    for (std::size_t rank = 0; rank < hits.size(); ++rank) {
      std::snprintf(score, sizeof score, "%.17g", hits[rank].score);
      results_file.out() << q << '\t' << rank << '\t' << hits[rank].row << '\t' << score << '\n';
    }
  }
  results_file.commit();
}

// CPU seconds of the process, all threads.
double process_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

struct Measurement {
  double qps = 0;    // the sum of the threads' rates
  double cores = 0;  // CPU seconds / wall seconds
};

// `threads` threads, each looping over the queries from its own offset for `seconds`.
Measurement measure_qps(const LexicalIndex& index, const std::vector<Terms>& queries, std::size_t k,
                        std::size_t threads, double seconds) {
  std::atomic<bool> stop{false};
  std::atomic<std::size_t> checksum{0};  // keeps the searches' results observable
  std::vector<double> rate(threads, 0.0);
  std::vector<std::thread> pool;
  const double cpu_start = process_cpu_seconds();
  const Clock::time_point start = Clock::now();
  for (std::size_t t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      std::size_t i = t * queries.size() / threads, answered = 0, rows = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        const auto hits = index.search(index.query_terms(queries[i]), k);
        rows += hits.empty() ? 0 : hits.front().row + hits.size();
        ++answered;
        if (++i == queries.size()) i = 0;
      }
      rate[t] = static_cast<double>(answered) / seconds_since(start);
      checksum += rows;
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (std::thread& worker : pool) worker.join();
  Measurement m;
  m.cores = (process_cpu_seconds() - cpu_start) / seconds_since(start);
  if (checksum.load() == 0) std::cerr << kProgram << ": note: no query found anything\n";
  for (double r : rate) m.qps += r;
  return m;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  const Arguments args = parse_arguments(argc, argv);
  try {
    if (!args.write_terms.empty()) std::filesystem::create_directories(args.write_terms);

    const Clock::time_point build_start = Clock::now();
    LexicalIndex index;
    build_index(index, args.products, args.write_terms);
    std::cerr << kProgram << ": indexed " << args.products << " products in " << seconds_since(build_start)
              << " s\n";

    std::vector<Terms> queries;
    for (const std::string& text : bench::lexical::queries(args.queries))
      queries.push_back(embedrank::rank::analyze(text));
    if (!args.write_terms.empty()) write_queries_and_results(index, queries, args.k, args.write_terms);

    // rounds interleave the thread counts: 1, 2, 1, 2, ...
    std::map<std::size_t, std::vector<double>> qps, cores;  // threads -> one per round
    for (std::size_t round = 0; round < args.rounds; ++round)
      for (std::size_t threads : args.threads) {
        const Measurement m = measure_qps(index, queries, args.k, threads, args.seconds);
        qps[threads].push_back(m.qps);
        cores[threads].push_back(m.cores);
        std::printf(
            "{\"engine\":\"embedrank\",\"threads\":%zu,\"k\":%zu,\"products\":%zu,\"round\":%zu,\"qps\":%.1f,"
            "\"cores\":%.2f}\n",
            threads, args.k, args.products, round, m.qps, m.cores);
        std::fflush(stdout);
      }
    for (std::size_t threads : args.threads)
      std::printf(
          "{\"engine\":\"embedrank\",\"threads\":%zu,\"k\":%zu,\"products\":%zu,\"rounds\":%zu,\"median_qps\":%.1f,"
          "\"median_cores\":%.2f}\n",
          threads, args.k, args.products, args.rounds, median(qps[threads]), median(cores[threads]));
  } catch (const std::exception& e) {
    std::cerr << kProgram << ": " << e.what() << '\n';
    return 1;
  }
  return 0;
}
