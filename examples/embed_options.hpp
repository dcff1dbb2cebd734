#pragma once
// embedrank-embed's command line: usage text, options and their parser, shared by the
// program (embedrank-embed.cpp) and the command-line fuzz target (tests/fuzz/).

#include <cstddef>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cli.hpp"
#include "embedrank/core/error.hpp"
#include "embedrank/nn/pooling.hpp"

namespace embed_cli {

inline const char* const kUsage =
    "usage: embedrank-embed --model FILE [--batch N] [--threads N] [--format npy|tsv|jsonl]\n"
    "                       [--out PATH] [--no-normalize] [--pooling MODE[,MODE...]]\n"
    "                       [--prompt-name NAME | --prompt TEXT] [--chunk-stride N] [INPUT]\n"
    "       embeds each line of INPUT (default: stdin) and writes the vectors in input order;\n"
    "       --prompt-name prepends one of the model's prompts (default: the model's default\n"
    "       prompt, if any; \"\" for none), --prompt any text; --chunk-stride N embeds a text\n"
    "       longer than the model's max_seq_length as windows N tokens apart instead of\n"
    "       truncating it\n";

using cli::UsageError;

struct Options {
  std::string model, input = "-", out, format;
  std::vector<embedrank::nn::PoolingMode> pooling;  // empty: the model file's
  std::size_t batch = 32;
  int threads = 0;
  bool normalize = true;
  std::optional<std::string> prompt_name, prompt;
  std::size_t chunk_stride = 0;  // 0: truncate long texts
};

inline Options parse_options(int argc, char** argv) {
  Options o;
  bool have_input = false;
  const auto pooling = [&](const std::string&, const std::string& modes) {
    o.pooling.clear();
    std::stringstream list(modes);
    for (std::string mode; std::getline(list, mode, ',');) {
      try {
        o.pooling.push_back(embedrank::parse<embedrank::nn::PoolingMode>(mode));
      } catch (const embedrank::Error&) {
        throw UsageError{"--pooling: unknown mode '" + mode + "' (cls, max, mean, mean_sqrt_len, pooler)"};
      }
    }
    if (o.pooling.empty() || modes.back() == ',') throw UsageError{"--pooling needs MODE[,MODE...], got '" + modes + "'"};
  };
  cli::Flags()
      .text("--model", o.model)
      .integer("--batch", o.batch, 1, 1 << 16)
      .threads("--threads", o.threads)
      .text("--format", o.format)
      .text("--out", o.out)
      .value("--pooling", pooling)
      .toggle("--no-normalize", o.normalize, false)
      .value("--prompt-name", [&](const std::string&, const std::string& v) { o.prompt_name = v; })
      .value("--prompt", [&](const std::string&, const std::string& v) { o.prompt = v; })
      .integer("--chunk-stride", o.chunk_stride, 1, 1 << 20)
      .positional([&](const std::string& input) {
        if (have_input) throw UsageError{"more than one INPUT given"};
        o.input = input;
        have_input = true;
      })
      .parse(argc, argv);
  if (o.model.empty()) throw UsageError{"--model FILE is required"};
  if (o.prompt_name && o.prompt) throw UsageError{"give --prompt-name or --prompt, not both"};
  if (o.format.empty()) {
    const bool npy_out = o.out.size() > 4 && o.out.compare(o.out.size() - 4, 4, ".npy") == 0;
    o.format = npy_out ? "npy" : "tsv";
  }
  if (o.format != "npy" && o.format != "tsv" && o.format != "jsonl")
    throw UsageError{"--format must be npy, tsv or jsonl, got '" + o.format + "'"};
  if (o.format == "npy" && o.out.empty()) throw UsageError{"--format npy needs --out PATH"};
  return o;
}

}  // namespace embed_cli
