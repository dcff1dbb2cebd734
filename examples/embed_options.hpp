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
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw UsageError{flag + " needs a value"};
      return argv[++i];
    };
    if (flag == "--help" || flag == "-h") throw UsageError{""};
    if (flag == "--model") o.model = value();
    else if (flag == "--batch") o.batch = static_cast<std::size_t>(cli::integer(flag, value(), 1, 1 << 16));
    else if (flag == "--threads") o.threads = static_cast<int>(cli::integer(flag, value(), 0, cli::kMaxThreads));
    else if (flag == "--format") o.format = value();
    else if (flag == "--out") o.out = value();
    else if (flag == "--pooling") {
      const std::string modes = value();
      std::stringstream list(modes);
      for (std::string mode; std::getline(list, mode, ',');) {
        try {
          o.pooling.push_back(embedrank::nn::pooling_mode_from_name(mode));
        } catch (const embedrank::Error&) {
          throw UsageError{"--pooling: unknown mode '" + mode + "' (cls, max, mean, mean_sqrt_len, pooler)"};
        }
      }
      if (o.pooling.empty() || modes.back() == ',') throw UsageError{"--pooling needs MODE[,MODE...], got '" + modes + "'"};
    } else if (flag == "--no-normalize") o.normalize = false;
    else if (flag == "--prompt-name") o.prompt_name = value();
    else if (flag == "--prompt") o.prompt = value();
    else if (flag == "--chunk-stride")
      o.chunk_stride = static_cast<std::size_t>(cli::integer(flag, value(), 1, 1 << 20));
    else if (flag.size() > 1 && flag[0] == '-' && flag != "-") throw UsageError{"unknown option " + flag};
    else if (have_input) throw UsageError{"more than one INPUT given"};
    else {
      o.input = flag;
      have_input = true;
    }
  }
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
