#pragma once
// Where a test program writes its scratch files. ctest runs some programs
// under several entries at once (model, model_portable, model_avx2; rank,
// rank_portable, rank_avx2) and gives each entry its own directory in
// EMBEDRANK_TEST_SCRATCH_DIR, so `ctest -j` never has two runs write one
// file; run by hand, a program writes to the build's test_work/.

#include <cstdlib>
#include <filesystem>
#include <string>

namespace embedrank_test {

/// The scratch directory (created if missing), without a trailing slash.
inline const std::string& scratch_dir() {
  static const std::string dir = [] {
    const char* env = std::getenv("EMBEDRANK_TEST_SCRATCH_DIR");
    std::string path = env != nullptr && *env != '\0' ? env : EMBEDRANK_TEST_WORK_DIR;
    std::filesystem::create_directories(path);
    return path;
  }();
  return dir;
}

}  // namespace embedrank_test
