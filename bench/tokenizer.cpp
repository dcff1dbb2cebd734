// Tokenizer throughput (tokens/s) on the committed parity corpus
// (tests/data/text/corpus.txt, 2185 shop titles, queries and hard cases),
// single-threaded. bench/compare_tokenizers.py runs the Hugging Face fast
// tokenizer on the same corpus and prints the ratio.
//
//   bench_tokenizer [--benchmark_filter=...] [corpus.txt]
#include <benchmark/benchmark.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "embedrank/io/metadata.hpp"
#include "embedrank/text/tokenizer.hpp"

namespace {

namespace text = embedrank::text;

std::string data_dir() {
  const std::string source = __FILE__;
  return source.substr(0, source.rfind('/')) + "/../tests/data/text/";
}

std::string corpus_path = data_dir() + "corpus.txt";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::vector<std::string> read_lines(const std::string& path) {
  std::istringstream in(read_file(path));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The corpus, unescaped ("\\n" -> newline, as in tests/text/fixtures.hpp).
const std::vector<std::string>& corpus() {
  static const std::vector<std::string> texts = [] {
    std::vector<std::string> out;
    for (const std::string& line : read_lines(corpus_path)) {
      std::string s;
      for (std::size_t i = 0; i < line.size(); ++i) {
        if (line[i] == '\\' && i + 1 < line.size()) {
          const char next = line[++i];
          s.push_back(next == 'n' ? '\n' : next == 'r' ? '\r' : next);
        } else {
          s.push_back(line[i]);
        }
      }
      out.push_back(std::move(s));
    }
    return out;
  }();
  return texts;
}

// The same metadata the tests read (tests/data/text/<name>.meta.tsv).
embedrank::io::Metadata read_metadata(const std::string& name) {
  embedrank::io::Metadata meta(name);
  const std::vector<std::string> lines = read_lines(data_dir() + name + ".meta.tsv");
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    const std::size_t t1 = line.find('\t'), t2 = line.find('\t', t1 + 1);
    const std::string key = line.substr(0, t1), type = line.substr(t1 + 1, t2 - t1 - 1), value = line.substr(t2 + 1);
    if (type == "int") {
      meta.set(key, static_cast<std::int64_t>(std::stoll(value)));
    } else if (type == "bool") {
      meta.set(key, value == "1");
    } else if (type == "string") {
      meta.set(key, value);
    } else if (type == "ints") {
      std::vector<std::int64_t> ints;
      std::istringstream in(value);
      for (long long v; in >> v;) ints.push_back(v);
      meta.set(key, ints);
    } else if (type == "strings") {
      std::vector<std::string> items;
      for (std::size_t k = std::stoul(value); k > 0; --k) items.push_back(lines.at(++i).substr(2));
      meta.set(key, items);
    } else if (type == "lines_file") {
      meta.set(key, read_lines(data_dir() + value));
    } else if (type == "bytes_file") {
      meta.set(key, embedrank::io::Bytes{read_file(data_dir() + value)});
    }
  }
  return meta;
}

const text::Tokenizer& tokenizer(const std::string& name) {
  static const text::Tokenizer wordpiece = text::Tokenizer::from_metadata(read_metadata("minilm_uncased"));
  static const text::Tokenizer sentencepiece = text::Tokenizer::from_metadata(read_metadata("xlmr_tiny"));
  return name == "wordpiece" ? wordpiece : sentencepiece;
}

// Encodes every corpus line with special tokens, as the Embedder does.
void encode_corpus(benchmark::State& state, const std::string& name) {
  const text::Tokenizer& t = tokenizer(name);
  const auto& texts = corpus();
  std::size_t tokens = 0;
  for (auto _ : state) {
    for (const std::string& s : texts) {
      const text::Encoding e = t.encode(s);
      tokens += e.ids.size();
      benchmark::DoNotOptimize(e.ids.data());
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(tokens));
  state.counters["texts/s"] = benchmark::Counter(static_cast<double>(texts.size() * state.iterations()),
                                                 benchmark::Counter::kIsRate);
}

// Encodes one long document made of corpus lines, `bytes` long.
void encode_document(benchmark::State& state, const std::string& name) {
  const text::Tokenizer& t = tokenizer(name);
  std::string document;
  for (std::size_t i = 0; document.size() < static_cast<std::size_t>(state.range(0)); ++i)
    document += corpus()[i % corpus().size()] + " ";
  std::vector<std::int32_t> ids;
  std::size_t tokens = 0;
  for (auto _ : state) {
    t.token_ids(document, ids);
    tokens += ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(tokens));
  state.SetBytesProcessed(static_cast<std::int64_t>(document.size() * state.iterations()));
}

/// WordPiece (all-MiniLM-L6-v2 vocabulary, uncased): every corpus line, with [CLS]/[SEP].
void BM_WordPieceCorpus(benchmark::State& state) { encode_corpus(state, "wordpiece"); }
/// SentencePiece (XLM-R-wrapped unigram model): every corpus line, with <s>/</s>.
void BM_SentencePieceCorpus(benchmark::State& state) { encode_corpus(state, "sentencepiece"); }
/// WordPiece on one document of the given size in bytes.
void BM_WordPieceDocument(benchmark::State& state) { encode_document(state, "wordpiece"); }
/// SentencePiece on one document of the given size in bytes.
void BM_SentencePieceDocument(benchmark::State& state) { encode_document(state, "sentencepiece"); }

BENCHMARK(BM_WordPieceCorpus)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SentencePieceCorpus)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_WordPieceDocument)->RangeMultiplier(16)->Range(256, 1 << 20)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SentencePieceDocument)->RangeMultiplier(16)->Range(256, 1 << 20)->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (argc > 1) corpus_path = argv[1];
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
