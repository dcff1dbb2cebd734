// libFuzzer entry point of fuzz::catalogue (tests/fuzz/targets.hpp);
// built and run by scripts/fuzz.sh.
#include "fuzz/targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::catalogue(data, size);
  return 0;
}
