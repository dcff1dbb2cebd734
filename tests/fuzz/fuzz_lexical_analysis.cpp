// libFuzzer entry point of fuzz::lexical_analysis (tests/fuzz/targets.hpp);
// built and run by scripts/fuzz.sh.
#include "fuzz/targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::lexical_analysis(data, size);
  return 0;
}
