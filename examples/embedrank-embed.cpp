// embedrank-embed: sentence embeddings of text lines with a model file.
//
//   embedrank-embed --model FILE [--batch N] [--threads N] [--format npy|tsv|jsonl]
//                   [--out PATH] [--no-normalize] [--pooling MODE[,MODE...]]
//                   [--prompt-name NAME | --prompt TEXT] [--chunk-stride N] [INPUT]
//
// Reads one UTF-8 text per line from INPUT (or stdin when INPUT is absent or
// "-"); a trailing "\r" is removed. An empty line is a valid, empty text: it
// is embedded as [CLS] [SEP], as sentence-transformers does. Writes the
// vectors in input order: npy (float32, shape (N, D); needs --out), tsv (one
// line of D tab-separated values per text) or jsonl (one JSON array per line).
// --no-normalize and --pooling override the model file's pooling
// (cls, max, mean, mean_sqrt_len, pooler). --prompt-name and --prompt
// prepend a prompt as sentence-transformers' encode(prompt_name=, prompt=)
// (an unknown name is reported before any work). A text longer than the
// model's max_seq_length is truncated and counted on stderr; with
// --chunk-stride N it is embedded as windows N tokens apart, pooled into one
// vector (model/embedder.hpp). The input is read and embedded a
// slice of lines at a time (memory follows the batch, not the input); an
// --out file appears complete when the run succeeds, and an unwritable one
// is reported before any work. When stderr is a terminal a progress line
// shows texts done and the rate; at the end one line on stderr states how
// many texts were embedded.
// Exit status: 0 on success, 1 on a data or file error, 2 on a usage error.

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cli.hpp"
#include "embed_options.hpp"
#include "embedrank/core/error.hpp"
#include "embedrank/core/npy.hpp"
#include "embedrank/core/output_file.hpp"
#include "embedrank/model/embedder.hpp"

namespace {

using namespace embed_cli;

/// Up to `count` lines of `in` into `lines` (a trailing '\r' removed);
/// false once the input is exhausted and nothing was read.
bool read_slice(std::istream& in, const std::string& name, std::size_t count, std::vector<std::string>& lines) {
  lines.clear();
  for (std::string line; lines.size() < count && cli::read_line(in, line);) lines.push_back(std::move(line));
  cli::check_read(in, name);
  return !lines.empty();
}

// "1200 texts  812 texts/s" redrawn in place
void draw_progress(std::size_t done, double seconds) {
  std::fprintf(stderr, "\r%zu texts  %.0f texts/s ", done, seconds > 0 ? static_cast<double>(done) / seconds : 0.0);
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
  embedrank::model::PoolingConfig pooling = embedder->encoder().pooling();
  if (!o.pooling.empty()) pooling.modes = o.pooling;
  if (!o.normalize) pooling.normalize = false;
  embed_options.pooling = pooling;
  embed_options.prompt_name = o.prompt_name;
  embed_options.prompt = o.prompt;
  embed_options.chunk_stride = o.chunk_stride;
  embedder->resolve_prompt(embed_options);  // an unknown prompt name fails here, before any work
  embedrank::model::EmbedReport report;
  embed_options.report = &report;
  std::size_t truncated = 0, chunked = 0;
  const std::size_t width = pooling.modes.size() * static_cast<std::size_t>(embedder->encoder().config().hidden_size);

  std::ifstream file;
  std::istream* in = &std::cin;
  if (o.input != "-") {
    file.open(o.input);
    if (!file) throw embedrank::FileError("open", o.input + ": cannot read the input");
    in = &file;
  }
  // Outputs are opened (and so checked) before any work.
  std::optional<embedrank::NpyRowWriter> npy;
  std::optional<embedrank::AtomicOutputFile> text_file;
  if (o.format == "npy") npy.emplace(o.out, width);
  else if (!o.out.empty()) text_file.emplace(o.out);
  std::ios::sync_with_stdio(false);
  std::ostream& text_out = text_file ? static_cast<std::ostream&>(text_file->stream()) : std::cout;

  embedrank::model::EmbedderWorkspace ws(o.threads);
  const bool progress = isatty(STDERR_FILENO);
  const auto start = std::chrono::steady_clock::now();
  const std::size_t slice = std::max<std::size_t>(o.batch, 256);  // lines read, embedded and written at a time
  std::size_t done = 0;
  std::vector<std::string> texts;
  while (read_slice(*in, o.input == "-" ? "stdin" : o.input, slice, texts)) {
    const embedrank::MatrixF vectors = embedder->embed(texts, ws, embed_options);  // (slice, width)
    truncated += report.truncated.size();
    chunked += report.chunked.size();
    if (npy) npy->append(vectors.data(), static_cast<std::size_t>(vectors.rows()));
    else write_text(vectors, o.format, text_out);
    if (!text_out) throw embedrank::FileError("write", (o.out.empty() ? "stdout" : o.out) + ": write failed");
    done += texts.size();
    if (progress && done > slice)
      draw_progress(done, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  if (progress && done > slice) std::fputc('\n', stderr);
  if (npy) npy->finish();
  if (text_file) text_file->commit();
  if (!text_file && !npy) {
    cli::check_written(std::cout);
  }
  std::fprintf(stderr, "embedrank-embed: %zu texts embedded (%zu values each)%s%s\n", done, width,
               o.out.empty() ? "" : " into ", o.out.c_str());
  if (truncated > 0)
    std::fprintf(stderr,
                 "embedrank-embed: %zu of %zu texts were longer than the model's %zu tokens and were truncated "
                 "(--chunk-stride N embeds them whole)\n",
                 truncated, done, embedder->max_seq_length());
  if (chunked > 0)
    std::fprintf(stderr, "embedrank-embed: %zu texts longer than %zu tokens were embedded as windows\n", chunked,
                 embedder->max_seq_length());
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return cli::main("embedrank-embed", kUsage, argc, argv, parse_options, run); }
