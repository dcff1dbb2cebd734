#pragma once
// Shared by the fuzz targets (libFuzzer, built by scripts/fuzz.sh): the
// readers take paths, so each input is written to a file of this process
// first. A target lets embedrank's typed errors pass and treats anything
// else (a crash, a sanitizer report, another exception, a broken promise
// checked with fuzz_check) as a finding.

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace fuzz {

/// Writes `data` to this process's input file with `suffix` and returns its path.
inline std::string input_file(const std::uint8_t* data, std::size_t size, const char* suffix) {
  static const std::string directory = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  const std::string path = directory + "/embedrank_fuzz_" + std::to_string(getpid()) + suffix;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
  return path;
}

/// A promise of the library that the input broke: report and abort, so
/// libFuzzer saves the input.
inline void check(bool ok, const char* promise) {
  if (ok) return;
  std::fprintf(stderr, "broken promise: %s\n", promise);
  std::abort();
}

}  // namespace fuzz
