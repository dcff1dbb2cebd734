#pragma once
// What the stdin-driven latency programs (bench_encoder_latency,
// bench_rerank_latency) share: the "--flag value" loop, usage errors, and
// wall-clock seconds.

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>

namespace bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

[[noreturn]] inline void usage_error(const char* program, const char* usage, const std::string& message) {
  std::cerr << program << ": " << message << "\nusage: " << usage << '\n';
  std::exit(2);
}

/// Calls on_flag(flag, value) for every "--flag value" pair of the command
/// line; a flag without a value is a usage error.
template <typename OnFlag>
void for_each_flag(int argc, char** argv, const char* program, const char* usage, OnFlag&& on_flag) {
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) usage_error(program, usage, "missing value after " + flag);
    on_flag(flag, std::string(argv[++i]));
  }
}

}  // namespace bench
