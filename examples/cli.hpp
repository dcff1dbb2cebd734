#pragma once
// What the command-line programs share: usage errors, ranged number flags,
// and one main() wrapper that turns every exception into a message and an
// exit status, so no program aborts:
//
//   0  success (and --help, which prints the usage on stdout)
//   1  a data or file error: "<program>: [embedrank.<id>] <message>" on stderr
//   2  a usage error, found before any work: the message and the usage on stderr

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <new>
#include <string>

#include "embedrank/core/error.hpp"

namespace cli {

/// A bad command line; an empty message asks for the usage (--help).
struct UsageError {
  std::string message;
};

/// `text` as an integer in [min, max], or a UsageError naming `flag`.
inline long long integer(const std::string& flag, const std::string& text, long long min, long long max) {
  char* end = nullptr;
  errno = 0;
  const long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno == ERANGE || value < min || value > max)
    throw UsageError{flag + " needs an integer from " + std::to_string(min) + " to " + std::to_string(max) + ", got '" +
                     text + "'"};
  return value;
}

/// `text` as a finite number in [min, max], or a UsageError naming `flag`.
inline double number(const std::string& flag, const std::string& text, double min, double max) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(value >= min && value <= max))
    throw UsageError{flag + " needs a number from " + std::to_string(min) + " to " + std::to_string(max) + ", got '" +
                     text + "'"};
  return value;
}

/// The most threads a --threads flag accepts (0 means all CPUs).
constexpr long long kMaxThreads = 1024;

/// Runs options = parse(argc, argv), then run(options), mapping what they
/// throw to the exit statuses above.
template <typename Parse, typename Run>
int main(const char* program, const char* usage, int argc, char** argv, Parse&& parse, Run&& run) {
  try {
    auto options = parse(argc, argv);
    return run(options);
  } catch (const UsageError& e) {
    if (e.message.empty()) {
      std::fputs(usage, stdout);
      return 0;
    }
    std::fprintf(stderr, "%s: %s\n%s", program, e.message.c_str(), usage);
    return 2;
  } catch (const embedrank::Error& e) {
    std::fprintf(stderr, "%s: %s\n", program, e.what());
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "%s: [embedrank.resource.out_of_memory] not enough memory\n", program);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: [embedrank.internal] %s\n", program, e.what());
  }
  return 1;
}

/// Appends `s` as a JSON string literal (quotes, backslashes and control
/// characters escaped; other bytes as they are).
inline void append_json_string(const std::string& s, std::string& out) {
  out.push_back('"');
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(ch);
    } else if (c < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      out += escaped;
    } else {
      out.push_back(ch);
    }
  }
  out.push_back('"');
}

}  // namespace cli
