// embedrank-embed: sentence embeddings of text lines with a model file.
//
//   embedrank-embed --model FILE [--batch N] [--threads N] [--format npy|tsv|jsonl]
//                   [--out PATH] [--no-normalize] [--pooling MODE[,MODE...]] [INPUT]
//
// Reads one UTF-8 text per line from INPUT (or stdin when INPUT is absent or
// "-"); a trailing "\r" is removed. An empty line is a valid, empty text: it
// is embedded as [CLS] [SEP], as sentence-transformers does. Writes the
// vectors in input order: npy (float32, shape (N, D); needs --out), tsv (one
// line of D tab-separated values per text) or jsonl (one JSON array per line).
// --no-normalize and --pooling override the model file's pooling
// (cls, max, mean, mean_sqrt_len, pooler). A progress bar with rate and ETA
// appears on stderr when stderr is a terminal and there are more than 256 texts.
// Exit status: 0 on success, 1 on a data error, 2 on a usage error.

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "embedrank/core/error.hpp"
#include "embedrank/core/npy.hpp"
#include "embedrank/model/embedder.hpp"

namespace {

const char* const kUsage =
    "usage: embedrank-embed --model FILE [--batch N] [--threads N] [--format npy|tsv|jsonl]\n"
    "                       [--out PATH] [--no-normalize] [--pooling MODE[,MODE...]] [INPUT]\n"
    "       embeds each line of INPUT (default: stdin) and writes the vectors in input order\n";

struct UsageError {
  std::string message;
};

struct Options {
  std::string model, input = "-", out, format, pooling;
  std::size_t batch = 32;
  int threads = 0;
  bool normalize = true;
};

long long parse_count(const std::string& flag, const std::string& value, long long min) {
  char* end = nullptr;
  const long long n = std::strtoll(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0' || n < min)
    throw UsageError{flag + " needs an integer >= " + std::to_string(min) + ", got '" + value + "'"};
  return n;
}

Options parse_options(int argc, char** argv) {
  Options o;
  bool have_input = false;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw UsageError{flag + " needs a value"};
      return argv[++i];
    };
    if (flag == "--help" || flag == "-h") throw UsageError{""};
    if (flag == "--model") o.model = value();
    else if (flag == "--batch") o.batch = static_cast<std::size_t>(parse_count(flag, value(), 1));
    else if (flag == "--threads") o.threads = static_cast<int>(parse_count(flag, value(), 0));
    else if (flag == "--format") o.format = value();
    else if (flag == "--out") o.out = value();
    else if (flag == "--pooling") o.pooling = value();
    else if (flag == "--no-normalize") o.normalize = false;
    else if (flag.size() > 1 && flag[0] == '-' && flag != "-") throw UsageError{"unknown option " + flag};
    else if (have_input) throw UsageError{"more than one INPUT given"};
    else {
      o.input = flag;
      have_input = true;
    }
  }
  if (o.model.empty()) throw UsageError{"--model FILE is required"};
  if (o.format.empty()) {
    const bool npy_out = o.out.size() > 4 && o.out.compare(o.out.size() - 4, 4, ".npy") == 0;
    o.format = npy_out ? "npy" : "tsv";
  }
  if (o.format != "npy" && o.format != "tsv" && o.format != "jsonl")
    throw UsageError{"--format must be npy, tsv or jsonl, got '" + o.format + "'"};
  if (o.format == "npy" && o.out.empty()) throw UsageError{"--format npy needs --out PATH"};
  return o;
}

std::vector<std::string> read_lines(const std::string& input) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (input != "-") {
    file.open(input);
    if (!file) throw embedrank::FileError("open", input + ": cannot read the input");
    in = &file;
  }
  std::vector<std::string> lines;
  for (std::string line; std::getline(*in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
  }
  if (in->bad()) throw embedrank::FileError("read", input + ": read error");
  return lines;
}

// "[#####.....]  1200/5000  812 texts/s  ETA 5s" redrawn in place.
void draw_progress(std::size_t done, std::size_t total, double seconds) {
  const int width = 30;
  const int filled = static_cast<int>(width * done / std::max<std::size_t>(total, 1));
  const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0.0;
  const double eta = rate > 0 ? static_cast<double>(total - done) / rate : 0.0;
  std::fprintf(stderr, "\r[%s%s] %zu/%zu  %.0f texts/s  ETA %.0fs ", std::string(static_cast<std::size_t>(filled), '#').c_str(),
               std::string(static_cast<std::size_t>(width - filled), '.').c_str(), done, total, rate, eta);
  std::fflush(stderr);
}

void write_text(const embedrank::MatrixF& vectors, const std::string& format, std::ostream& out) {
  char buffer[32];
  for (Eigen::Index r = 0; r < vectors.rows(); ++r) {
    std::string line = format == "jsonl" ? "[" : "";
    for (Eigen::Index c = 0; c < vectors.cols(); ++c) {
      if (c > 0) line += format == "jsonl" ? ", " : "\t";
      std::snprintf(buffer, sizeof buffer, "%.9g", static_cast<double>(vectors(r, c)));
      line += buffer;
    }
    out << line << (format == "jsonl" ? "]\n" : "\n");
  }
}

int run(const Options& o) {
  auto embedder = embedrank::model::Embedder::open(o.model);
  embedrank::model::EmbedOptions embed_options;
  embed_options.batch_size = o.batch;
  if (!o.pooling.empty() || !o.normalize) {
    embedrank::model::PoolingConfig pooling = embedder->encoder().pooling();
    if (!o.pooling.empty()) {
      pooling.modes.clear();
      std::stringstream modes(o.pooling);
      for (std::string mode; std::getline(modes, mode, ',');) pooling.modes.push_back(embedrank::nn::pooling_mode_from_name(mode));
    }
    if (!o.normalize) pooling.normalize = false;
    embed_options.pooling = pooling;
  }
  const std::vector<std::string> texts = read_lines(o.input);
  const bool progress = isatty(STDERR_FILENO) && texts.size() > 256;

  embedrank::model::EmbedderWorkspace ws(o.threads);
  const auto width = static_cast<Eigen::Index>(embed_options.pooling ? embed_options.pooling->modes.size()
                                                                     : embedder->encoder().pooling().modes.size()) *
                     embedder->encoder().config().hidden_size;
  embedrank::MatrixF vectors(static_cast<Eigen::Index>(texts.size()), width);
  const auto start = std::chrono::steady_clock::now();
  // Embed in slices so the progress bar moves; each slice is one or more batches.
  const std::size_t slice = std::max<std::size_t>(o.batch, 256);
  for (std::size_t begin = 0; begin < texts.size(); begin += slice) {
    const std::size_t end = std::min(texts.size(), begin + slice);
    const std::vector<std::string> part(texts.begin() + static_cast<std::ptrdiff_t>(begin),
                                        texts.begin() + static_cast<std::ptrdiff_t>(end));
    vectors.middleRows(static_cast<Eigen::Index>(begin), static_cast<Eigen::Index>(end - begin)) =
        embedder->embed(part, ws, embed_options);
    if (progress)
      draw_progress(end, texts.size(), std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  if (progress) std::fputc('\n', stderr);

  if (o.format == "npy") {
    embedrank::write_npy(o.out, vectors);
  } else if (o.out.empty()) {
    std::ios::sync_with_stdio(false);
    write_text(vectors, o.format, std::cout);
  } else {
    std::ofstream out(o.out);
    if (!out) throw embedrank::FileError("open", o.out + ": cannot write the output");
    write_text(vectors, o.format, out);
    if (!out) throw embedrank::FileError("write", o.out + ": write failed");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  try {
    options = parse_options(argc, argv);
  } catch (const UsageError& e) {
    if (e.message.empty()) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    std::fprintf(stderr, "embedrank-embed: %s\n%s", e.message.c_str(), kUsage);
    return 2;
  }
  try {
    return run(options);
  } catch (const embedrank::Error& e) {
    std::fprintf(stderr, "embedrank-embed: %s\n", e.what());
    return 1;
  }
}
