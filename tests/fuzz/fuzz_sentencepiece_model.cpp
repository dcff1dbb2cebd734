// libFuzzer entry point of fuzz::sentencepiece_model (tests/fuzz/targets.hpp); built and
// run by scripts/fuzz.sh.
#include "fuzz/targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::sentencepiece_model(data, size);
  return 0;
}
