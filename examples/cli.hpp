#pragma once
// What the command-line programs share: one flag loop (each program only
// declares its options on a Flags), ranged number and choice parsers, line
// reading, and one main() wrapper that turns every exception into a message
// and an exit status, so no program aborts; JSON output through
// nlohmann/json (json_line):
//
//   0  success (and --help, which prints the usage on stdout)
//   1  a data or file error: "<program>: [embedrank.<id>] <message>" on stderr
//   2  a usage error, found before any work: the message and the usage on stderr

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <functional>
#include <istream>
#include <new>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "embedrank/core/enum_text.hpp"
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

/// The named values a choice flag takes, in the order the usage lists them.
template <typename T>
using Choices = std::vector<std::pair<const char*, T>>;

/// `text` as one of the named choices, or a UsageError naming `flag` and the choices.
template <typename T>
T choice(const std::string& flag, const std::string& text, const Choices<T>& choices) {
  std::string names;
  for (const auto& c : choices) {
    if (text == c.first) return c.second;
    names += (names.empty() ? "" : "|") + std::string(c.first);
  }
  throw UsageError{flag + " must be one of " + names + ", got '" + text + "'"};
}

/// Every name of a library enum (core/enum_text.hpp), as choices.
template <typename Enum>
Choices<Enum> choices_of() {
  Choices<Enum> choices;
  for (const embedrank::EnumName<Enum>& e : enum_text(Enum{})) choices.emplace_back(e.name, e.value);
  return choices;
}

/// A program's options, each declared once with what it sets; parse() is
/// the one flag loop. "--help" and "-h" ask for the usage; "-" alone is a
/// positional argument; a flag given twice keeps its last value.
class Flags {
 public:
  /// --name VALUE: set(flag, value).
  Flags& value(const std::string& name, std::function<void(const std::string&, const std::string&)> set) {
    options_.push_back({name, true, false, std::move(set)});
    return *this;
  }
  /// --name (no value): set().
  Flags& toggle(const std::string& name, std::function<void()> set, bool before_others = false) {
    options_.push_back({name, false, before_others, [set = std::move(set)](const std::string&, const std::string&) { set(); }});
    return *this;
  }

  // The common kinds, by target.
  Flags& text(const std::string& name, std::string& target) {
    return value(name, [&target](const std::string&, const std::string& v) { target = v; });
  }
  Flags& toggle(const std::string& name, bool& target, bool to = true) {
    return toggle(name, [&target, to] { target = to; });
  }
  template <typename Int>
  Flags& integer(const std::string& name, Int& target, long long min, long long max) {
    return value(name, [&target, min, max](const std::string& flag, const std::string& v) {
      target = static_cast<Int>(cli::integer(flag, v, min, max));
    });
  }
  Flags& number(const std::string& name, double& target, double min, double max) {
    return value(name, [&target, min, max](const std::string& flag, const std::string& v) {
      target = cli::number(flag, v, min, max);
    });
  }
  Flags& threads(const std::string& name, int& target) { return integer(name, target, 0, kMaxThreads); }
  template <typename T>
  Flags& choice(const std::string& name, T& target, Choices<T> choices) {
    return value(name, [&target, choices = std::move(choices)](const std::string& flag, const std::string& v) {
      target = cli::choice(flag, v, choices);
    });
  }

  /// A flag naming a value of a library enum by its text names.
  template <typename Enum>
  Flags& choice(const std::string& name, Enum& target) {
    return choice(name, target, choices_of<Enum>());
  }

  /// A text flag whose value must be one of `names`.
  Flags& one_of(const std::string& name, std::string& target, const std::vector<const char*>& names) {
    Choices<std::string> choices;
    for (const char* n : names) choices.emplace_back(n, n);
    return choice(name, target, std::move(choices));
  }

  /// The program's positional argument(s); without this one is an error.
  Flags& positional(std::function<void(const std::string&)> set) {
    positional_ = std::move(set);
    return *this;
  }

  /// Applies argv[1..argc) to the declared options, toggles declared
  /// before_others first, the rest in command-line order. Throws UsageError.
  void parse(int argc, char** argv) const {
    std::vector<std::pair<const Option*, std::string>> given;
    std::vector<std::string> positionals;
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      if (arg == "--help" || arg == "-h") throw UsageError{""};
      if (arg.size() < 2 || arg[0] != '-') {
        if (!positional_) throw UsageError{"unexpected argument '" + arg + "'"};
        positionals.push_back(arg);
        continue;
      }
      const Option* option = find(arg);
      if (option == nullptr) throw UsageError{"unknown option " + arg};
      if (option->takes_value && i + 1 >= argc) throw UsageError{arg + " needs a value"};
      given.emplace_back(option, option->takes_value ? argv[++i] : "");
    }
    for (const bool early : {true, false})
      for (const auto& [option, v] : given)
        if (option->before_others == early) option->set(option->name, v);
    for (const std::string& p : positionals) positional_(p);
  }

 private:
  struct Option {
    std::string name;
    bool takes_value;
    bool before_others;
    std::function<void(const std::string&, const std::string&)> set;
  };

  const Option* find(const std::string& name) const {
    for (const Option& o : options_)
      if (o.name == name) return &o;
    return nullptr;
  }

  std::vector<Option> options_;
  std::function<void(const std::string&)> positional_;
};

/// Reads one line into `line` without its '\n' and a trailing '\r'; false at the end.
inline bool read_line(std::istream& in, std::string& line) {
  if (!std::getline(in, line)) return false;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return true;
}

/// Throws FileError "read" naming `name` when `in` failed (not merely ended).
inline void check_read(const std::istream& in, const std::string& name) {
  if (in.bad()) throw embedrank::FileError("read", name + ": read failed");
}

/// Every line of the file at `path` (read_line). Throws FileError "open" or "read".
inline std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw embedrank::FileError("open", path + ": cannot open for reading");
  std::vector<std::string> lines;
  for (std::string line; read_line(in, line);) lines.push_back(std::move(line));
  check_read(in, path);
  return lines;
}

/// Flushes `out` (stdout unless named) and throws FileError "write" if any write to it failed.
inline void check_written(std::ostream& out, const std::string& name = "stdout") {
  out.flush();
  if (!out) throw embedrank::FileError("write", name + ": write failed");
}

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

/// JSON values of the programs' outputs: nlohmann/json, keys in insertion order.
using Json = nlohmann::ordered_json;

/// `value` as one line of JSON text: UTF-8 as it is, a byte that is not
/// UTF-8 written as U+FFFD, NaN and infinities as null (JSON has neither).
inline std::string json_line(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace cli
