// embedrank-tokenize: the token ids a model file's tokenizer gives each input
// line; the first thing to check when an embedding looks wrong.
//
//   embedrank-tokenize --model FILE [--no-special] [--pair] [--json] [--offsets] [--max-length N]
//                      [INPUT]
//
// Reads UTF-8 lines from INPUT (or stdin when INPUT is absent or "-"; a trailing "\r" is removed; invalid UTF-8
// reads as U+FFFD). With --pair each line is "FIRST<TAB>SECOND". Prints one
// line per input line: the ids separated by spaces, or with --json an object
// {"ids": [...], "tokens": [...], "type_ids": [...], "attention_mask": [...]};
// --offsets (implies --json) adds "offsets" and "byte_offsets": each token's
// [begin, end) in characters and in UTF-8 bytes of its line (of its own part
// with --pair), [0, 0] for special tokens, as Hugging Face's offset_mapping.
// --no-special leaves out [CLS]/[SEP] (<s>/</s>); --max-length truncates as
// Hugging Face does (special tokens included, longest-first for pairs).
// Exit status: 0 on success, 1 on a data error, 2 on a usage error.

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

#include "cli.hpp"
#include "tokenize_options.hpp"
#include "embedrank/core/error.hpp"
#include "embedrank/io/weight_file.hpp"
#include "embedrank/text/tokenizer.hpp"

namespace {

using namespace tokenize_cli;

std::string format_encoding(const embedrank::text::Encoding& e, bool json, bool offsets) {
  if (!json) {
    std::string out;
    for (std::size_t i = 0; i < e.ids.size(); ++i) {
      if (i) out += ' ';
      out += std::to_string(e.ids[i]);
    }
    return out;
  }
  cli::Json out = {{"ids", e.ids}, {"tokens", e.tokens}, {"type_ids", e.type_ids}, {"attention_mask", e.attention_mask}};
  if (offsets) {
    out["offsets"] = e.offsets;  // [begin, end) pairs
    out["byte_offsets"] = e.byte_offsets;
  }
  return cli::json_line(out);
}

int run(const Options& options) {
  const auto file = embedrank::io::WeightFile::open(options.model);
  const auto tokenizer = embedrank::text::Tokenizer::from_metadata(file->metadata());
  embedrank::text::EncodeOptions encode;
  encode.add_special_tokens = options.special;
  encode.max_length = options.max_length;
  encode.tokens = options.json;
  encode.offsets = options.offsets;
  std::ios::sync_with_stdio(false);
  std::ifstream input_file;
  std::istream* in = &std::cin;
  const std::string input_name = options.input == "-" ? "stdin" : options.input;
  if (options.input != "-") {
    input_file.open(options.input, std::ios::binary);
    if (!input_file) throw embedrank::FileError("open", options.input + ": cannot read the input");
    in = &input_file;
  }
  std::size_t line_number = 0;
  for (std::string line; cli::read_line(*in, line);) {
    ++line_number;
    embedrank::text::Encoding encoding;
    if (options.pair) {
      const std::size_t tab = line.find('\t');
      if (tab == std::string::npos)
        throw embedrank::InputError("cli.no_pair", input_name + " line " + std::to_string(line_number) +
                                                        ": --pair needs FIRST<TAB>SECOND, found no tab");
      encoding = tokenizer.encode_pair(std::string_view(line).substr(0, tab), std::string_view(line).substr(tab + 1), encode);
    } else {
      encoding = tokenizer.encode(line, encode);
    }
    std::cout << format_encoding(encoding, options.json, options.offsets) << '\n';
  }
  cli::check_read(*in, input_name);
  cli::check_written(std::cout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return cli::main("embedrank-tokenize", kUsage, argc, argv, parse_options, run); }
