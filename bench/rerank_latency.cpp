// Reranking latency of embedrank's cross-encoder (SequenceClassifier::predict
// on (query, candidate) pairs, tokenizer included), driven over stdin by
// bench/compare_rerankers.py so that embedrank and sentence-transformers'
// CrossEncoder.predict are measured interleaved on the same pairs.
//
//   ./build/bin/bench_rerank_latency --model FILE --threads N --pairs PAIRS.tsv [--batch-size 32]
//
// PAIRS.tsv holds one "<query>\t<candidate>" pair per line; one call scores
// all of them, in batches of --batch-size pairs.
//
// Commands, one per stdin line; each answer is one JSON line on stdout:
//   time <calls>   {"e2e": [s, ...]}   wall seconds of each predict() call
//   score          {"scores": [...]}   the first label's score of every pair
//   quit

#include <cstdlib>
#include <exception>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "embedrank/core/error.hpp"
#include "embedrank/model/sequence_classifier.hpp"
#include "latency_driver.hpp"

namespace {

constexpr const char* kProgram = "bench_rerank_latency";
constexpr const char* kUsage = "bench_rerank_latency --model FILE --pairs FILE [--threads N] [--batch-size B]";

struct Arguments {
  std::string model, pairs;
  int threads = 1;
  std::size_t batch_size = 32;
};

Arguments parse_arguments(int argc, char** argv) {
  Arguments args;
  bench::for_each_flag(argc, argv, kProgram, kUsage, [&](const std::string& flag, const std::string& value) {
    if (flag == "--model") {
      args.model = value;
    } else if (flag == "--pairs") {
      args.pairs = value;
    } else if (flag == "--threads") {
      args.threads = std::atoi(value.c_str());
      if (args.threads < 1) bench::usage_error(kProgram, kUsage, "--threads must be at least 1, got '" + value + "'");
    } else if (flag == "--batch-size") {
      const int b = std::atoi(value.c_str());
      if (b < 1) bench::usage_error(kProgram, kUsage, "--batch-size must be at least 1, got '" + value + "'");
      args.batch_size = static_cast<std::size_t>(b);
    } else {
      bench::usage_error(kProgram, kUsage, "unknown option " + flag);
    }
  });
  if (args.model.empty() || args.pairs.empty()) bench::usage_error(kProgram, kUsage, "--model and --pairs are required");
  return args;
}

std::vector<std::pair<std::string, std::string>> read_pairs(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw embedrank::FileError("open_failed", path + ": cannot open pairs file");
  std::vector<std::pair<std::string, std::string>> pairs;
  std::string line;
  for (std::size_t n = 1; std::getline(in, line); ++n) {
    const auto tab = line.find('\t');
    if (tab == std::string::npos)
      throw embedrank::ParseError("bad_pairs", path + ":" + std::to_string(n) + ": expected query<TAB>candidate");
    pairs.emplace_back(line.substr(0, tab), line.substr(tab + 1));
  }
  if (pairs.empty()) throw embedrank::ParseError("bad_pairs", path + ": no pairs");
  return pairs;
}

}  // namespace

int main(int argc, char** argv) {
  const Arguments args = parse_arguments(argc, argv);
  try {
    const auto classifier = embedrank::model::SequenceClassifier::open(args.model);
    embedrank::model::EncoderWorkspace<float> ws(args.threads);
    const auto pairs = read_pairs(args.pairs);
    std::cout.precision(9);
    std::cout << "{\"ready\": true, \"threads\": " << args.threads << "}" << std::endl;
    std::string line;
    while (std::getline(std::cin, line)) {
      std::istringstream command(line);
      std::string verb;
      command >> verb;
      if (verb == "quit") break;
      if (verb == "time") {
        std::size_t calls = 0;
        command >> calls;
        std::ostringstream out;
        out.precision(9);
        out << "{\"e2e\": [";
        for (std::size_t call = 0; call < calls; ++call) {
          const auto start = bench::Clock::now();
          const embedrank::MatrixF scores = classifier->predict(pairs, ws, args.batch_size);
          const double seconds = bench::seconds_since(start);
          if (scores.rows() != static_cast<Eigen::Index>(pairs.size())) throw std::runtime_error("wrong score count");
          out << (call ? ", " : "") << seconds;
        }
        out << "]}";
        std::cout << out.str() << std::endl;
      } else if (verb == "score") {
        const embedrank::MatrixF scores = classifier->predict(pairs, ws, args.batch_size);
        std::cout << "{\"scores\": [";
        for (Eigen::Index i = 0; i < scores.rows(); ++i) std::cout << (i ? ", " : "") << scores(i, 0);
        std::cout << "]}" << std::endl;
      } else {
        std::cout << "{\"error\": \"unknown command: " << line << "\"}" << std::endl;
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "bench_rerank_latency: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
