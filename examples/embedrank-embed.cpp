// embedrank-embed: sentence embeddings of text lines with a model file.
//
//   embedrank-embed --model FILE [--batch N] [--threads N] [--format npy|tsv|jsonl]
//                   [--out PATH] [--no-normalize] [--pooling MODE[,MODE...]]
//                   [--prompt-name NAME | --prompt TEXT] [--chunk-stride N]
//                   [--input-format text|tsv|csv|jsonl] [--text-column C] [--id-column C]
//                   [--header] [--ids-out PATH] [INPUT]
//
// Reads one UTF-8 text per line from INPUT (or stdin when INPUT is absent or
// "-"); a trailing "\r" is removed. An empty line is a valid, empty text: it
// is embedded as [CLS] [SEP], as sentence-transformers does. With
// --input-format tsv, csv or jsonl (by default INPUT's extension, once a
// column is given) each record gives its --text-column and optionally its
// --id-column: a name (tsv/csv: from the --header line; jsonl: a key) or a
// 1-based index; csv fields may be quoted ("a, ""b""", a quoted field may
// span lines); blank lines are skipped. Writes the vectors in input order:
// npy (float32, shape (N, D); needs --out), tsv (one line of D
// tab-separated values per text, after its id with --id-column) or jsonl
// (one JSON array per line; with --id-column {"id": ..., "embedding": [...]}).
// With --id-column and npy the ids go into an ids file, one a line (as
// EmbeddingIndex::save writes it, for `embedrank-search --ids`): --ids-out,
// default OUT with ".npy" replaced by ".ids"; an empty, repeated or
// tab-holding id is an error. Input that is not valid UTF-8 is embedded with
// each invalid byte sequence read as U+FFFD, and a warning on stderr counts
// such texts and names the first.
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
#include <unordered_map>
#include <vector>

#include "cli.hpp"
#include "embed_options.hpp"
#include "embedrank/core/error.hpp"
#include "embedrank/core/npy.hpp"
#include "embedrank/core/output_file.hpp"
#include "embedrank/model/embedder.hpp"
#include "embedrank/text/unicode.hpp"

namespace {

using namespace embed_cli;

/// The texts to embed and their ids, record by record: one line a text, or
/// a tsv, csv or jsonl record's text and id columns.
class RecordReader {
 public:
  RecordReader(std::istream& in, std::string name, const Options& o)
      : in_(in), name_(std::move(name)), format_(o.input_format), text_column_(o.text_column), id_column_(o.id_column),
        text_index_(column_index(o.text_column)), id_index_(column_index(o.id_column)) {
    if (!o.header) return;
    std::vector<std::string> names;
    if (!next_fields(names)) throw embedrank::ParseError("cli.no_header", name_ + ": --header given, the input is empty");
    resolve(names, text_column_, text_index_);
    resolve(names, id_column_, id_index_);
  }

  bool has_ids() const { return !id_column_.empty(); }

  /// Up to `count` records into `texts` and `ids` (ids empty without
  /// --id-column); false once the input is exhausted and nothing was read.
  bool read_slice(std::size_t count, std::vector<std::string>& texts, std::vector<std::string>& ids) {
    texts.clear();
    ids.clear();
    record_lines_.clear();
    std::vector<std::string> fields;
    while (texts.size() < count) {
      if (format_ == "text") {
        std::string line;
        if (!cli::read_line(in_, line)) break;
        ++line_number_;
        record_lines_.push_back(line_number_);
        texts.push_back(std::move(line));
        continue;
      }
      if (!next_fields(fields)) break;
      record_lines_.push_back(record_line_);
      texts.push_back(field(fields, text_column_, text_index_));
      if (has_ids()) ids.push_back(field(fields, id_column_, id_index_));
    }
    cli::check_read(in_, name_);
    return !texts.empty();
  }

  /// The input line where the last slice's record r starts (for messages).
  std::size_t line_of(std::size_t r) const { return record_lines_[r]; }

 private:
  // The next non-blank record's fields (a jsonl record: its one object, kept in object_).
  bool next_fields(std::vector<std::string>& fields) {
    fields.clear();
    std::string line;
    do {
      if (!cli::read_line(in_, line)) return false;
      ++line_number_;
    } while (line.find_first_not_of(" \t") == std::string::npos);
    record_line_ = line_number_;
    const std::string where = name_ + ":" + std::to_string(record_line_);
    if (format_ == "tsv") {
      std::size_t start = 0;
      for (std::size_t tab; (tab = line.find('\t', start)) != std::string::npos; start = tab + 1)
        fields.push_back(line.substr(start, tab - start));
      fields.push_back(line.substr(start));
    } else if (format_ == "csv") {
      split_csv(line, where, fields);
    } else {
      object_ = cli::Json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (!object_.is_object()) throw embedrank::ParseError("cli.bad_jsonl", where + ": not valid JSON or not an object");
      for (const auto& item : object_.items()) fields.push_back(item.key());  // the keys, for an index
    }
    return true;
  }

  // RFC 4180 fields: "..." quotes a field ("" inside is one quote) and may span lines.
  void split_csv(std::string line, const std::string& where, std::vector<std::string>& fields) {
    std::string current;
    bool quoted = false;
    std::size_t i = 0;
    while (true) {
      if (i == line.size()) {
        if (!quoted) break;
        // a quoted field goes on past the line end: take the next line
        if (!cli::read_line(in_, line)) throw embedrank::ParseError("cli.bad_csv", where + ": a quoted field is not closed");
        ++line_number_;
        current += '\n';
        i = 0;
        continue;
      }
      const char c = line[i++];
      if (quoted && c == '"' && i < line.size() && line[i] == '"') {
        current += '"';  // "" inside quotes
        ++i;
      } else if (c == '"') {
        quoted = !quoted;
      } else if (c == ',' && !quoted) {
        fields.push_back(std::move(current));
        current.clear();
      } else {
        current += c;
      }
    }
    fields.push_back(std::move(current));
  }

  // A header name as its 1-based index.
  void resolve(const std::vector<std::string>& names, const std::string& column, std::size_t& index) const {
    if (column.empty() || index > 0) return;
    for (std::size_t c = 0; c < names.size(); ++c)
      if (names[c] == column) index = c + 1;
    if (index == 0) {
      std::string list;
      for (const std::string& n : names) list += (list.empty() ? "" : ", ") + n;
      throw embedrank::InputError("cli.unknown_column", name_ + ": no column '" + column + "' in the header (" + list + ")");
    }
  }

  // The column's value in the current record; a jsonl string as it is, any other JSON value as JSON text.
  std::string field(const std::vector<std::string>& fields, const std::string& column, std::size_t index) const {
    const std::string where = name_ + ":" + std::to_string(record_line_);
    if (format_ == "jsonl") {
      const std::string key = index > 0 ? (index <= fields.size() ? fields[index - 1] : "") : column;
      const auto it = key.empty() ? object_.end() : object_.find(key);
      if (it == object_.end())
        throw embedrank::ParseError("cli.missing_column", where + ": the object has no " +
                                                              (index > 0 ? "key number " + column : "key '" + column + "'"));
      return it->is_string() ? it->get<std::string>() : cli::json_line(*it);
    }
    if (index > fields.size())
      throw embedrank::ParseError("cli.missing_column", where + ": " + std::to_string(fields.size()) +
                                                            " columns, no column " + std::to_string(index));
    return fields[index - 1];
  }

  std::istream& in_;
  std::string name_, format_, text_column_, id_column_;
  std::size_t text_index_, id_index_;  // 1-based; 0: by name (jsonl)
  std::size_t line_number_ = 0, record_line_ = 0;
  std::vector<std::size_t> record_lines_;  // (slice) where each record of the slice starts
  cli::Json object_;                       // the current jsonl record
};

/// The ids seen so far, checked as EmbeddingIndex::read_ids checks its file:
/// not empty, no tab or '\r', none twice.
class IdChecker {
 public:
  void check(const std::string& id, const std::string& where) {
    if (id.empty()) throw embedrank::ParseError("empty_id", where + ": empty id");
    if (id.find_first_of("\t\r\n") != std::string::npos)
      throw embedrank::ParseError("bad_id", where + ": id contains a tab or a line break");
    const auto inserted = first_.emplace(id, where);
    if (!inserted.second)
      throw embedrank::ParseError("duplicate_id", where + ": id '" + id + "' already at " + inserted.first->second);
  }

 private:
  std::unordered_map<std::string, std::string> first_;
};

// "1200 texts  812 texts/s" redrawn in place
void draw_progress(std::size_t done, double seconds) {
  std::fprintf(stderr, "\r%zu texts  %.0f texts/s ", done, seconds > 0 ? static_cast<double>(done) / seconds : 0.0);
  std::fflush(stderr);
}

// ids: one per row, or empty for none
void write_text(const embedrank::MatrixF& vectors, const std::vector<std::string>& ids, const std::string& format,
                std::ostream& out) {
  char buffer[32];
  for (Eigen::Index r = 0; r < vectors.rows(); ++r) {
    const std::string id = ids.empty() ? "" : ids[static_cast<std::size_t>(r)];
    std::string line = format == "jsonl" ? (ids.empty() ? "[" : "{\"id\": " + cli::json_line(id) + ", \"embedding\": [")
                                         : (ids.empty() ? "" : id + "\t");
    for (Eigen::Index c = 0; c < vectors.cols(); ++c) {
      if (c > 0) line += format == "jsonl" ? ", " : "\t";
      std::snprintf(buffer, sizeof buffer, "%.9g", static_cast<double>(vectors(r, c)));
      line += buffer;
    }
    out << line << (format != "jsonl" ? "\n" : ids.empty() ? "]\n" : "]}\n");
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
  std::optional<embedrank::AtomicOutputFile> ids_file;
  if (o.format == "npy") npy.emplace(o.out, width);
  else if (!o.out.empty()) text_file.emplace(o.out);
  if (!o.ids_out.empty()) ids_file.emplace(o.ids_out);
  std::ios::sync_with_stdio(false);
  std::ostream& text_out = text_file ? static_cast<std::ostream&>(text_file->stream()) : std::cout;

  embedrank::model::EmbedderWorkspace ws(o.threads);
  const bool progress = isatty(STDERR_FILENO);
  const auto start = std::chrono::steady_clock::now();
  const std::size_t slice = std::max<std::size_t>(o.batch, 256);  // lines read, embedded and written at a time
  std::size_t done = 0;
  const std::string input_name = o.input == "-" ? "stdin" : o.input;
  RecordReader records(*in, input_name, o);
  IdChecker id_checker;
  std::size_t not_utf8 = 0, first_not_utf8 = 0;  // texts that are not valid UTF-8; the first one's line
  std::vector<std::string> texts, ids;
  while (records.read_slice(slice, texts, ids)) {
    for (std::size_t r = 0; r < texts.size(); ++r) {
      if (!embedrank::text::is_valid_utf8(texts[r]) && not_utf8++ == 0) first_not_utf8 = records.line_of(r);
      if (records.has_ids()) id_checker.check(ids[r], input_name + ":" + std::to_string(records.line_of(r)));
    }
    const embedrank::MatrixF vectors = embedder->embed(texts, ws, embed_options);  // (slice, width)
    truncated += report.truncated.size();
    chunked += report.chunked.size();
    if (npy) npy->append(vectors.data(), static_cast<std::size_t>(vectors.rows()));
    else write_text(vectors, ids, o.format, text_out);
    if (ids_file) {
      for (const std::string& id : ids) ids_file->stream() << id << '\n';
      if (!ids_file->stream()) throw embedrank::FileError("write", o.ids_out + ": write failed");
    }
    if (!text_out) throw embedrank::FileError("write", (o.out.empty() ? "stdout" : o.out) + ": write failed");
    done += texts.size();
    if (progress && done > slice)
      draw_progress(done, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  if (progress && done > slice) std::fputc('\n', stderr);
  if (npy) npy->finish();
  if (ids_file) ids_file->commit();
  if (text_file) text_file->commit();
  if (!text_file && !npy) {
    cli::check_written(std::cout);
  }
  std::fprintf(stderr, "embedrank-embed: %zu texts embedded (%zu values each)%s%s\n", done, width,
               o.out.empty() ? "" : " into ", o.out.c_str());
  if (ids_file) std::fprintf(stderr, "embedrank-embed: their ids are in %s\n", o.ids_out.c_str());
  if (not_utf8 > 0)
    std::fprintf(stderr,
                 "embedrank-embed: warning: %zu of %zu texts are not valid UTF-8 (the first at %s line %zu); each "
                 "invalid byte sequence was read as U+FFFD\n",
                 not_utf8, done, input_name.c_str(), first_not_utf8);
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
