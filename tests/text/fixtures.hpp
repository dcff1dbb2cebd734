#pragma once
// Readers of the committed tokenizer fixtures in tests/data/text/, written by
// weights_tools/make_tokenizer_fixtures.py (regenerate with:
//   /opt/tokenv/bin/python weights_tools/make_tokenizer_fixtures.py tests/data/text).

#include <cstdint>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "embedrank/io/metadata.hpp"
#include "embedrank/text/tokenizer.hpp"

namespace embedrank::test {

inline std::string text_data_path(const std::string& name) { return std::string(EMBEDRANK_TEST_DATA_DIR) + "/text/" + name; }

inline std::string read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open fixture " + path);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

inline std::vector<std::string> read_lines(const std::string& path) {
  std::istringstream in(read_file_bytes(path));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

/// Undoes the corpus escaping: "\\\\" -> backslash, "\\n" -> newline, "\\r" -> carriage return.
inline std::string unescape(const std::string& line) {
  std::string out;
  for (std::size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '\\' && i + 1 < line.size()) {
      const char next = line[++i];
      out.push_back(next == 'n' ? '\n' : next == 'r' ? '\r' : next);
    } else {
      out.push_back(line[i]);
    }
  }
  return out;
}

inline std::vector<std::string> read_corpus() {
  std::vector<std::string> corpus;
  for (const std::string& line : read_lines(text_data_path("corpus.txt"))) corpus.push_back(unescape(line));
  return corpus;
}

inline std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

inline std::vector<std::int32_t> parse_ints(const std::string& s) {
  std::vector<std::int32_t> values;
  std::istringstream in(s);
  for (long long v; in >> v;) values.push_back(static_cast<std::int32_t>(v));
  return values;
}

/// Reads <name>.meta.tsv: `key<TAB>type<TAB>value` lines; string lists follow
/// their count line as `<TAB><TAB>item` lines; *_file types name a file
/// under tests/data/text holding the value (lines or raw bytes).
inline io::Metadata read_metadata(const std::string& name) {
  io::Metadata meta(name);
  const std::vector<std::string> lines = read_lines(text_data_path(name + ".meta.tsv"));
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::vector<std::string> f = split(lines[i], '\t');
    if (f.size() < 3) throw std::runtime_error(name + ".meta.tsv: bad line " + std::to_string(i + 1));
    const std::string value = lines[i].substr(f[0].size() + f[1].size() + 2);
    if (f[1] == "int") {
      meta.set(f[0], static_cast<std::int64_t>(std::stoll(value)));
    } else if (f[1] == "float") {
      meta.set(f[0], std::stod(value));
    } else if (f[1] == "bool") {
      meta.set(f[0], value == "1");
    } else if (f[1] == "string") {
      meta.set(f[0], unescape(value));
    } else if (f[1] == "ints") {
      std::vector<std::int64_t> ints;
      for (std::int32_t v : parse_ints(value)) ints.push_back(v);
      meta.set(f[0], ints);
    } else if (f[1] == "strings") {
      std::vector<std::string> items;
      const std::size_t count = std::stoul(value);
      for (std::size_t k = 0; k < count; ++k) items.push_back(unescape(lines.at(++i).substr(2)));
      meta.set(f[0], items);
    } else if (f[1] == "lines_file") {
      meta.set(f[0], read_lines(text_data_path(value)));
    } else if (f[1] == "bytes_file") {
      meta.set(f[0], io::Bytes{read_file_bytes(text_data_path(value))});
    } else {
      throw std::runtime_error(name + ".meta.tsv: unknown type " + f[1]);
    }
  }
  return meta;
}

/// One reference encoding from the Hugging Face fast tokenizer.
struct ReferenceCase {
  int a = 0, b = -1;
  bool add_special_tokens = true;
  std::size_t max_length = 0;
  bool refused = false;
  std::vector<std::int32_t> ids, type_ids, attention_mask;
};

inline std::vector<ReferenceCase> read_references(const std::string& name) {
  std::vector<ReferenceCase> cases;
  for (const std::string& line : read_lines(text_data_path(name + ".ref.tsv"))) {
    const std::vector<std::string> f = split(line, '\t');
    ReferenceCase c;
    c.a = std::stoi(f.at(0));
    c.b = std::stoi(f.at(1));
    c.add_special_tokens = f.at(2) == "1";
    c.max_length = std::stoul(f.at(3));
    if (f.at(4) == "ERROR") {
      c.refused = true;
    } else {
      c.ids = parse_ints(f.at(4));
      c.type_ids = parse_ints(f.at(5));
      c.attention_mask = parse_ints(f.at(6));
    }
    cases.push_back(std::move(c));
  }
  return cases;
}

/// <name>.offsets.tsv (weights_tools/make_offset_fixtures.py): per case of
/// <name>.ref.tsv, in order, the reference's offset_mapping.
inline std::vector<std::vector<text::TokenOffset>> read_reference_offsets(const std::string& name) {
  std::vector<std::vector<text::TokenOffset>> all;
  for (const std::string& line : read_lines(text_data_path(name + ".offsets.tsv"))) {
    const std::vector<std::string> f = split(line, '\t');
    std::vector<text::TokenOffset> offsets;
    if (f.size() > 4 && f[4] != "ERROR")
      for (const std::string& pair : split(f[4], ' ')) {
        if (pair.empty()) continue;  // an encoding without tokens
        const std::vector<std::string> be = split(pair, ',');
        offsets.emplace_back(std::stoul(be.at(0)), std::stoul(be.at(1)));
      }
    all.push_back(std::move(offsets));
  }
  return all;
}

inline text::Encoding encode_case(const text::Tokenizer& tokenizer, const std::vector<std::string>& corpus,
                                  const ReferenceCase& c, bool offsets = false) {
  text::EncodeOptions options;
  options.add_special_tokens = c.add_special_tokens;
  options.max_length = c.max_length;
  options.offsets = offsets;
  if (c.b < 0) return tokenizer.encode(corpus.at(static_cast<std::size_t>(c.a)), options);
  return tokenizer.encode_pair(corpus.at(static_cast<std::size_t>(c.a)), corpus.at(static_cast<std::size_t>(c.b)), options);
}

inline std::string join_ids(const std::vector<std::int32_t>& ids) {
  std::string out;
  for (std::int32_t id : ids) out += (out.empty() ? "" : " ") + std::to_string(id);
  return out;
}

}  // namespace embedrank::test
