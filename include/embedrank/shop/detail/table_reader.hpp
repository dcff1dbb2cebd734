#pragma once
/// Reads a catalogue file into a table of text fields: TSV (tab-separated,
/// no quoting), CSV (RFC 4180: comma-separated, double quotes around fields
/// that hold commas, quotes or line breaks, "" for a quote) and JSON Lines
/// (one flat JSON object per line). Every format gives the same Table, so
/// the catalogue maps columns to products once.
///
/// Errors are ParseError with the file, the 1-based line and, where one is
/// at fault, the column: "shop.tsv:7: column 'price' (4): ...". A file is
/// read whole before anything is built from it, so nothing is half-loaded.

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "embedrank/core/error.hpp"
#include "embedrank/text/unicode.hpp"

namespace embedrank::shop::detail {

/// A catalogue file as text: column names and, per record, one value per
/// column ("" for a missing JSON key or null) with the line it starts on.
struct Table {
  std::string path;
  std::vector<std::string> columns;
  struct Record {
    std::size_t line = 0;
    std::vector<std::string> values;  // (columns)
  };
  std::vector<Record> records;

  /// "path:line: column 'name' (n): " for messages about one field.
  std::string where(std::size_t line, std::size_t column) const {
    return path + ":" + std::to_string(line) + ": column '" + columns[column] + "' (" + std::to_string(column + 1) +
           "): ";
  }
  std::string where(std::size_t line) const { return path + ":" + std::to_string(line) + ": "; }
};

enum class TableFormat { Tsv, Csv, JsonLines };

/// The format named by the file's extension (.tsv/.tab/.txt, .csv,
/// .jsonl/.ndjson/.json); throws InputError "catalogue.unknown_format".
inline TableFormat format_of(const std::string& path) {
  const std::size_t dot = path.rfind('.');
  std::string ext = dot == std::string::npos ? "" : path.substr(dot + 1);
  for (char& c : ext) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  if (ext == "tsv" || ext == "tab" || ext == "txt") return TableFormat::Tsv;
  if (ext == "csv") return TableFormat::Csv;
  if (ext == "jsonl" || ext == "ndjson" || ext == "json") return TableFormat::JsonLines;
  throw InputError("catalogue.unknown_format",
                   path + ": cannot tell the format from the extension (.tsv, .csv or .jsonl expected)");
}

inline std::string read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileError("open", path + ": cannot open for reading");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw FileError("read", path + ": read failed");
  return std::move(text).str();
}

inline std::string_view trim(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// Column names: trimmed; a header must name each column once.
inline std::vector<std::string> header_columns(const std::vector<std::string>& fields, const std::string& path) {
  std::vector<std::string> columns;
  std::unordered_map<std::string, std::size_t> seen;
  for (std::size_t c = 0; c < fields.size(); ++c) {
    std::string name(trim(fields[c]));
    if (name.empty())
      throw ParseError("catalogue.empty_column_name",
                       path + ":1: column " + std::to_string(c + 1) + " has no name in the header");
    if (!seen.emplace(name, c).second)
      throw ParseError("catalogue.duplicate_column", path + ":1: column '" + name + "' appears twice in the header (" +
                                                         std::to_string(seen[name] + 1) + " and " +
                                                         std::to_string(c + 1) + ")");
    columns.push_back(std::move(name));
  }
  return columns;
}

inline void add_record(Table& table, std::size_t line, std::vector<std::string> fields) {
  if (fields.size() != table.columns.size())
    throw ParseError("catalogue.ragged_row", table.where(line) + "has " + std::to_string(fields.size()) +
                                                 " fields, the header has " + std::to_string(table.columns.size()));
  for (std::size_t c = 0; c < fields.size(); ++c) {
    if (!text::is_valid_utf8(fields[c]))
      throw ParseError("catalogue.bad_utf8", table.where(line, c) + "the value is not valid UTF-8");
    fields[c] = std::string(trim(fields[c]));
  }
  table.records.push_back({line, std::move(fields)});
}

/// TSV: the first line is the header; a line of only whitespace is skipped.
inline Table parse_tsv(std::string_view text, const std::string& path) {
  Table table;
  table.path = path;
  std::size_t line = 0, pos = 0;
  bool header = true;
  while (pos < text.size()) {
    const std::size_t end = std::min(text.find('\n', pos), text.size());
    std::string_view row = text.substr(pos, end - pos);
    pos = end + 1;
    ++line;
    if (!row.empty() && row.back() == '\r') row.remove_suffix(1);
    if (trim(row).empty()) continue;
    std::vector<std::string> fields;
    for (std::size_t start = 0;;) {
      const std::size_t tab = row.find('\t', start);
      fields.emplace_back(row.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start));
      if (tab == std::string_view::npos) break;
      start = tab + 1;
    }
    if (header) {
      table.columns = header_columns(fields, path);
      header = false;
    } else {
      add_record(table, line, std::move(fields));
    }
  }
  if (header) throw ParseError("catalogue.no_header", path + ": the file is empty (a header line is expected)");
  return table;
}

/// CSV as RFC 4180, with LF or CRLF line ends; records that are one empty
/// field (blank lines) are skipped.
inline Table parse_csv(std::string_view text, const std::string& path) {
  Table table;
  table.path = path;
  std::size_t line = 1, pos = 0;
  bool header = true;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") pos = 3;  // a byte order mark, as spreadsheets write
  while (pos < text.size()) {
    const std::size_t record_line = line;
    std::vector<std::string> fields;
    std::string field;
    bool end_of_record = false;
    while (!end_of_record) {
      field.clear();
      if (pos < text.size() && text[pos] == '"') {
        // quoted: up to the closing quote, "" is one quote, line breaks kept
        const std::size_t quote_line = line;
        ++pos;
        for (;;) {
          if (pos >= text.size())
            throw ParseError("catalogue.unterminated_quote", path + ":" + std::to_string(quote_line) + ": column " +
                                                                 std::to_string(fields.size() + 1) +
                                                                 ": a quoted field is not closed");
          const char c = text[pos++];
          if (c == '"') {
            if (pos < text.size() && text[pos] == '"') {
              field.push_back('"');
              ++pos;
              continue;
            }
            break;
          }
          if (c == '\n') ++line;
          field.push_back(c);
        }
        if (pos < text.size() && text[pos] != ',' && text[pos] != '\n' && text[pos] != '\r')
          throw ParseError("catalogue.bad_quote", path + ":" + std::to_string(line) + ": column " +
                                                      std::to_string(fields.size() + 1) +
                                                      ": text after the closing quote of a field");
      } else {
        while (pos < text.size() && text[pos] != ',' && text[pos] != '\n' && text[pos] != '\r') {
          if (text[pos] == '"')
            throw ParseError("catalogue.bad_quote", path + ":" + std::to_string(line) + ": column " +
                                                        std::to_string(fields.size() + 1) +
                                                        ": a quote inside an unquoted field (quote the whole field)");
          field.push_back(text[pos++]);
        }
      }
      fields.push_back(field);
      if (pos >= text.size()) {
        end_of_record = true;
      } else if (text[pos] == ',') {
        ++pos;
      } else {
        if (text[pos] == '\r') ++pos;
        if (pos < text.size() && text[pos] == '\n') ++pos;
        ++line;
        end_of_record = true;
      }
    }
    if (fields.size() == 1 && trim(fields[0]).empty()) continue;
    if (header) {
      table.columns = header_columns(fields, path);
      header = false;
    } else {
      add_record(table, record_line, std::move(fields));
    }
  }
  if (header) throw ParseError("catalogue.no_header", path + ": the file is empty (a header line is expected)");
  return table;
}

/// One flat JSON object (string, number, true/false and null values) per
/// line; blank lines are skipped. Columns are the keys in order of first
/// appearance; a number keeps its text, null and a missing key read as "".
class JsonLineParser {
 public:
  JsonLineParser(std::string_view text, const std::string& path, std::size_t line)
      : s_(text), path_(path), line_(line) {}

  std::vector<std::pair<std::string, std::string>> object() {
    std::vector<std::pair<std::string, std::string>> members;
    skip_space();
    expect('{', "a JSON object");
    skip_space();
    if (peek() == '}') {
      ++i_;
    } else {
      for (;;) {
        skip_space();
        if (peek() != '"') fail("a key in double quotes");
        std::string key = string();
        skip_space();
        expect(':', "':' after the key");
        skip_space();
        std::string value = this->value(key);
        for (const auto& m : members)
          if (m.first == key)
            throw ParseError("catalogue.duplicate_key", where() + "key '" + key + "' appears twice in the object");
        members.emplace_back(std::move(key), std::move(value));
        skip_space();
        if (peek() == ',') {
          ++i_;
          continue;
        }
        expect('}', "',' or '}'");
        break;
      }
    }
    skip_space();
    if (i_ != s_.size()) fail("the end of the line after the object");
    return members;
  }

 private:
  std::string where() const { return path_ + ":" + std::to_string(line_) + ": "; }
  [[noreturn]] void fail(const std::string& expected) const {
    throw ParseError("catalogue.bad_json", where() + "expected " + expected + " at byte " + std::to_string(i_ + 1));
  }
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  void expect(char c, const std::string& what) {
    if (peek() != c) fail(what);
    ++i_;
  }
  void skip_space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\r')) ++i_;
  }

  std::string value(const std::string& key) {
    const char c = peek();
    if (c == '"') return string();
    if (c == '{' || c == '[')
      throw ParseError("catalogue.nested_value",
                       where() + "key '" + key + "': nested objects and arrays are not catalogue columns");
    if (s_.compare(i_, 4, "null") == 0) return i_ += 4, std::string();
    if (s_.compare(i_, 4, "true") == 0) return i_ += 4, std::string("true");
    if (s_.compare(i_, 5, "false") == 0) return i_ += 5, std::string("false");
    return number();
  }

  // A number as JSON writes it; its text is the value.
  std::string number() {
    const std::size_t start = i_;
    auto digits = [&] {
      const std::size_t from = i_;
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
      return i_ > from;
    };
    if (peek() == '-') ++i_;
    if (peek() == '0') {
      ++i_;
    } else if (!digits()) {
      fail("a value");
    }
    if (peek() == '.') {
      ++i_;
      if (!digits()) fail("digits after the decimal point");
    }
    if (peek() == 'e' || peek() == 'E') {
      ++i_;
      if (peek() == '+' || peek() == '-') ++i_;
      if (!digits()) fail("digits in the exponent");
    }
    return std::string(s_.substr(start, i_ - start));
  }

  unsigned hex4() {
    unsigned v = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = peek();
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<unsigned>(c - 'A' + 10);
      else fail("four hex digits after \\u");
      ++i_;
    }
    return v;
  }

  std::string string() {
    expect('"', "'\"'");
    std::string out;
    for (;;) {
      // plain characters up to the next quote, escape or control character in one step
      std::size_t plain = i_;
      while (plain < s_.size() && s_[plain] != '"' && s_[plain] != '\\' && static_cast<unsigned char>(s_[plain]) >= 0x20)
        ++plain;
      out.append(s_.data() + i_, plain - i_);
      i_ = plain;
      if (i_ >= s_.size()) fail("the closing '\"' of a string");
      const char c = s_[i_++];
      if (c == '"') break;
      if (static_cast<unsigned char>(c) < 0x20) {
        --i_;
        fail("no control character inside a string (escape it)");
      }
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      const char e = peek();
      ++i_;
      switch (e) {
        case '"': out.push_back('"'); break;
        case '\\': out.push_back('\\'); break;
        case '/': out.push_back('/'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'u': {
          std::uint32_t cp = hex4();
          if (cp >= 0xD800 && cp <= 0xDBFF) {  // a surrogate pair
            if (s_.compare(i_, 2, "\\u") != 0) fail("a low surrogate after a high one");
            i_ += 2;
            const unsigned low = hex4();
            if (low < 0xDC00 || low > 0xDFFF) fail("a low surrogate after a high one");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            fail("a high surrogate before a low one");
          }
          text::append_utf8(static_cast<char32_t>(cp), out);
          break;
        }
        default: --i_, fail("a valid escape after '\\'");
      }
    }
    return out;
  }

  std::string_view s_;
  const std::string& path_;
  std::size_t line_;
  std::size_t i_ = 0;
};

inline Table parse_json_lines(std::string_view text, const std::string& path) {
  Table table;
  table.path = path;
  std::unordered_map<std::string, std::size_t> column_of;
  std::size_t line = 0, pos = 0;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") pos = 3;
  while (pos < text.size()) {
    const std::size_t end = std::min(text.find('\n', pos), text.size());
    const std::string_view row = text.substr(pos, end - pos);
    pos = end + 1;
    ++line;
    if (trim(row).empty()) continue;
    if (!text::is_valid_utf8(row))
      throw ParseError("catalogue.bad_utf8", path + ":" + std::to_string(line) + ": the line is not valid UTF-8");
    std::vector<std::string> values(table.columns.size());
    for (auto& [key, value] : JsonLineParser(row, path, line).object()) {
      auto [it, added] = column_of.emplace(key, table.columns.size());
      if (added) {
        std::string name(trim(key));
        if (name.empty()) throw ParseError("catalogue.empty_column_name", path + ":" + std::to_string(line) + ": an empty key");
        table.columns.push_back(key);
        for (auto& r : table.records) r.values.emplace_back();
        values.emplace_back();
      }
      values[it->second] = std::string(trim(value));
    }
    table.records.push_back({line, std::move(values)});
  }
  return table;
}

/// Reads `path` in the format of its extension.
inline Table read_table(const std::string& path) {
  const TableFormat format = format_of(path);
  const std::string text = read_whole_file(path);
  switch (format) {
    case TableFormat::Tsv: return parse_tsv(text, path);
    case TableFormat::Csv: return parse_csv(text, path);
    case TableFormat::JsonLines: return parse_json_lines(text, path);
  }
  return {};
}

/// `s` as a JSON string literal.
inline std::string json_quote(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          static const char* hex = "0123456789abcdef";
          out += "\\u00";
          out.push_back(hex[(c >> 4) & 0xF]);
          out.push_back(hex[c & 0xF]);
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
  return out;
}

}  // namespace embedrank::shop::detail
