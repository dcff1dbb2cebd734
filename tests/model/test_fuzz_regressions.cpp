// The inputs fuzzing found (tests/fuzz/regressions/TARGET/), replayed
// through the same target code (tests/fuzz/targets.hpp) in the normal and
// sanitizer builds: each must now end in success or an embedrank::Error,
// with no sanitizer report.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz/targets.hpp"

namespace {

std::vector<std::filesystem::path> regressions(const std::string& target) {
  std::vector<std::filesystem::path> files;
  const std::filesystem::path dir = std::filesystem::path(EMBEDRANK_SOURCE_DIR) / "tests/fuzz/regressions" / target;
  if (!std::filesystem::is_directory(dir)) return files;  // a target without findings
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    if (entry.is_regular_file() && entry.path().filename().string()[0] != '.') files.push_back(entry.path());
  return files;
}

std::string bytes_of(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("Inputs found by fuzzing are handled", "[fuzz][bad_input]") {
  using Target = void (*)(const std::uint8_t*, std::size_t);
  const std::vector<std::pair<std::string, Target>> targets = {
      {"model_file", fuzz::model_file}, {"tokenizer", fuzz::tokenize}, {"ratings", fuzz::ratings},
      {"npy", fuzz::npy},               {"cli_options", fuzz::cli_options},
      {"sentencepiece_model", fuzz::sentencepiece_model}, {"query_attributes", fuzz::query_attributes},
      {"catalogue", fuzz::catalogue},   {"lexical_analysis", fuzz::lexical_analysis}};
  std::size_t replayed = 0;
  for (const auto& [name, target] : targets)
    for (const auto& file : regressions(name)) {
      INFO(file);
      const std::string bytes = bytes_of(file);
      target(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
      ++replayed;
    }
  CHECK(replayed >= 1);
}
