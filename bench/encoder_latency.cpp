// End-to-end embedding latency of embedrank (text in, normalised vector out),
// driven over stdin by bench/compare_encoders.py so that embedrank, PyTorch
// and ONNX Runtime can be measured interleaved on the same texts.
//
//   ./build/bin/bench_encoder_latency --model models/all-MiniLM-L6-v2.f32.bin --threads 1
//       --workload query=/tmp/query.tsv --workload titles=/tmp/titles.tsv
//
// A workload file holds one text per line as "<batch index>\t<text>"; the
// lines of one batch index form one embed() call, and the calls of a
// workload cycle through its batches in order.
//
// Commands, one per stdin line; each answer is one JSON line on stdout:
//   time <workload> <calls>  {"e2e": [s, ...], "cpu": [s, ...], "tokenize": [s, ...]}
//                            e2e: wall seconds of each Embedder::embed call
//                            (tokenizer + encoder + pooling + normalisation);
//                            cpu: CPU seconds of the process (all threads)
//                            during that call, which load from other processes
//                            on a shared machine does not inflate;
//                            tokenize: wall seconds of Embedder::tokenize alone
//                            on the same batch, timed just before it
//   embed <workload>         {"embeddings": [[...], ...]} every batch's rows, in order
//   quit

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "embedrank/core/error.hpp"
#include "embedrank/model/embedder.hpp"
#include "latency_driver.hpp"

namespace {

using bench::Clock;
using bench::seconds_since;
using Batches = std::vector<std::vector<std::string>>;  // calls, each (B) texts

constexpr const char* kProgram = "bench_encoder_latency";
constexpr const char* kUsage = "bench_encoder_latency --model FILE [--threads N] --workload NAME=FILE ...";

struct Arguments {
  std::string model;
  int threads = 1;
  std::map<std::string, std::string> workload_paths;  // name -> file
};

Arguments parse_arguments(int argc, char** argv) {
  Arguments args;
  bench::for_each_flag(argc, argv, kProgram, kUsage, [&](const std::string& flag, const std::string& value) {
    if (flag == "--model") {
      args.model = value;
    } else if (flag == "--threads") {
      args.threads = std::atoi(value.c_str());
      if (args.threads < 1) bench::usage_error(kProgram, kUsage, "--threads must be at least 1, got '" + value + "'");
    } else if (flag == "--workload") {
      const auto eq = value.find('=');
      if (eq == std::string::npos || eq == 0)
        bench::usage_error(kProgram, kUsage, "--workload wants NAME=FILE, got '" + value + "'");
      args.workload_paths[value.substr(0, eq)] = value.substr(eq + 1);
    } else {
      bench::usage_error(kProgram, kUsage, "unknown option " + flag);
    }
  });
  if (args.model.empty()) bench::usage_error(kProgram, kUsage, "--model is required");
  return args;
}

Batches read_workload(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw embedrank::FileError("open_failed", path + ": cannot open workload file");
  Batches batches;
  std::string line;
  for (std::size_t line_number = 1; std::getline(in, line); ++line_number) {
    const auto tab = line.find('\t');
    if (tab == std::string::npos)
      throw embedrank::ParseError("bad_workload", path + ":" + std::to_string(line_number) + ": no tab after the batch index");
    const auto index = static_cast<std::size_t>(std::stoul(line.substr(0, tab)));
    if (index > batches.size())
      throw embedrank::ParseError("bad_workload", path + ":" + std::to_string(line_number) + ": batch indices must count up from 0");
    if (index == batches.size()) batches.emplace_back();
    batches[index].push_back(line.substr(tab + 1));
  }
  if (batches.empty()) throw embedrank::ParseError("bad_workload", path + ": no texts");
  return batches;
}

double process_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

void print_seconds(std::ostream& out, const char* key, const std::vector<double>& values) {
  out << '"' << key << "\": [";
  for (std::size_t i = 0; i < values.size(); ++i) out << (i ? ", " : "") << values[i];
  out << ']';
}

}  // namespace

int main(int argc, char** argv) {
  const Arguments args = parse_arguments(argc, argv);
  try {
    const auto embedder = embedrank::model::Embedder::open(args.model);
    embedrank::model::EmbedderWorkspace ws(args.threads);
    std::map<std::string, Batches> workloads;
    for (const auto& [name, path] : args.workload_paths) workloads[name] = read_workload(path);

    std::cout.precision(9);
    std::cout << "{\"ready\": true, \"threads\": " << args.threads << "}" << std::endl;
    std::string line;
    while (std::getline(std::cin, line)) {
      std::istringstream command(line);
      std::string verb, name;
      command >> verb >> name;
      if (verb == "quit") break;
      const auto found = workloads.find(name);
      if (found == workloads.end()) {
        std::cout << "{\"error\": \"unknown workload or command: " << line << "\"}" << std::endl;
        continue;
      }
      const Batches& batches = found->second;
      if (verb == "time") {
        std::size_t calls = 0;
        command >> calls;
        std::vector<double> e2e, cpu, tokenize;
        for (std::size_t call = 0; call < calls; ++call) {
          const auto& texts = batches[call % batches.size()];
          auto start = Clock::now();
          const auto tokens = embedder->tokenize(texts, 0, texts.size());
          tokenize.push_back(seconds_since(start));
          const double cpu_start = process_cpu_seconds();
          start = Clock::now();
          const embedrank::MatrixF embeddings = embedder->embed(texts, ws);  // (B, D)
          e2e.push_back(seconds_since(start));
          cpu.push_back(process_cpu_seconds() - cpu_start);
          if (embeddings.rows() != static_cast<Eigen::Index>(texts.size()) || tokens.size() != texts.size())
            throw embedrank::InputError("bad_output", "embed returned the wrong number of rows");
        }
        std::cout << '{';
        print_seconds(std::cout, "e2e", e2e);
        std::cout << ", ";
        print_seconds(std::cout, "cpu", cpu);
        std::cout << ", ";
        print_seconds(std::cout, "tokenize", tokenize);
        std::cout << '}' << std::endl;
      } else if (verb == "embed") {
        std::cout << "{\"embeddings\": [";
        bool first = true;
        for (const auto& texts : batches) {
          const embedrank::MatrixF embeddings = embedder->embed(texts, ws);  // (B, D)
          for (Eigen::Index r = 0; r < embeddings.rows(); ++r) {
            std::cout << (first ? "[" : ", [");
            first = false;
            for (Eigen::Index c = 0; c < embeddings.cols(); ++c) std::cout << (c ? ", " : "") << embeddings(r, c);
            std::cout << ']';
          }
        }
        std::cout << "]}" << std::endl;
      } else {
        std::cout << "{\"error\": \"unknown command: " << line << "\"}" << std::endl;
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "bench_encoder_latency: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
