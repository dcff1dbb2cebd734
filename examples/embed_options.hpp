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
    "                       [--prompt-name NAME | --prompt TEXT] [--chunk-stride N]\n"
    "                       [--input-format text|tsv|csv|jsonl] [--text-column C] [--id-column C]\n"
    "                       [--header] [--ids-out PATH] [INPUT]\n"
    "       embeds each line of INPUT (default: stdin) and writes the vectors in input order;\n"
    "       tsv, csv and jsonl input (default: by INPUT's extension when a column is given)\n"
    "       embed the --text-column of each record and name it by its --id-column (C: a\n"
    "       name, or a 1-based index; names in tsv/csv need --header, the first line); ids\n"
    "       go into tsv/jsonl output and, with --format npy, into an ids file (--ids-out,\n"
    "       default: OUT with .npy replaced by .ids);\n"
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
  std::string input_format = "text";  // text (one text a line), tsv, csv or jsonl
  std::string text_column, id_column;  // a name, or a 1-based index; "" for none
  bool header = false;                 // tsv/csv: the first line names the columns
  std::string ids_out;                 // the ids file beside --format npy output
};

/// A column given by a 1-based index (digits only): that index; by name: 0.
inline std::size_t column_index(const std::string& column) {
  if (column.empty() || column.find_first_not_of("0123456789") != std::string::npos) return 0;
  return static_cast<std::size_t>(cli::integer("a column index", column, 1, 1 << 20));
}

/// The input format an INPUT path's extension names ("" if none).
inline std::string format_of_path(const std::string& path) {
  const auto ends_with = [&](const char* ext) {
    const std::string e(ext);
    return path.size() > e.size() && path.compare(path.size() - e.size(), e.size(), e) == 0;
  };
  if (ends_with(".tsv") || ends_with(".tab")) return "tsv";
  if (ends_with(".csv")) return "csv";
  if (ends_with(".jsonl") || ends_with(".ndjson")) return "jsonl";
  return "";
}

inline Options parse_options(int argc, char** argv) {
  Options o;
  bool have_input = false;
  std::string input_format;
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
      .one_of("--input-format", input_format, {"text", "tsv", "csv", "jsonl"})
      .text("--text-column", o.text_column)
      .text("--id-column", o.id_column)
      .toggle("--header", o.header)
      .text("--ids-out", o.ids_out)
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

  // Records and columns: the format named, else INPUT's extension once a column is given.
  const bool columns = !o.text_column.empty() || !o.id_column.empty();
  if (input_format.empty() && columns) {
    input_format = format_of_path(o.input);
    if (input_format.empty())
      throw UsageError{"--text-column and --id-column need --input-format tsv|csv|jsonl (or an INPUT ending .tsv, .csv "
                       "or .jsonl)"};
  }
  if (!input_format.empty()) o.input_format = input_format;
  if (o.input_format == "text") {
    if (columns) throw UsageError{"--text-column and --id-column need --input-format tsv, csv or jsonl"};
    if (o.header) throw UsageError{"--header needs --input-format tsv or csv"};
  } else {
    if (o.text_column.empty()) throw UsageError{"--input-format " + o.input_format + " needs --text-column C"};
    if (o.input_format == "jsonl" && o.header) throw UsageError{"--header is for tsv and csv input, not jsonl"};
    for (const std::string* column : {&o.text_column, &o.id_column})
      if (!column->empty() && column_index(*column) == 0 && o.input_format != "jsonl" && !o.header)
        throw UsageError{"column name '" + *column + "' needs --header (or give its 1-based index)"};
  }
  if (!o.ids_out.empty() && (o.id_column.empty() || o.format != "npy"))
    throw UsageError{"--ids-out goes with --id-column and --format npy"};
  if (o.ids_out.empty() && !o.id_column.empty() && o.format == "npy") {
    const bool npy_ext = o.out.size() > 4 && o.out.compare(o.out.size() - 4, 4, ".npy") == 0;
    o.ids_out = (npy_ext ? o.out.substr(0, o.out.size() - 4) : o.out) + ".ids";
  }
  return o;
}

}  // namespace embed_cli
