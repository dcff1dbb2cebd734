// libFuzzer entry point of fuzz::query_attributes (tests/fuzz/targets.hpp);
// built and run by scripts/fuzz.sh.
#include "fuzz/targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::query_attributes(data, size);
  return 0;
}
