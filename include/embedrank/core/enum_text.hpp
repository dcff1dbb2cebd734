#pragma once
/// Text names of the public enums, one scheme for all: to_string(value) and
/// parse<Enum>(text). Each enum declares its names once, beside it, as a
/// function found by argument-dependent lookup:
///
///   inline const EnumText<PoolingMode>& enum_text(PoolingMode) {
///     static const EnumText<PoolingMode> text{"pooling mode", "unknown_pooling",
///                                             {{PoolingMode::Cls, "cls"}, ...}};
///     return text;
///   }
///
/// The first name of a value is the one to_string gives; later ones are
/// aliases parse also accepts. These are the names of the model file, the
/// command line and the Python package; they do not follow the C++
/// enumerators' spelling.

#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "embedrank/core/error.hpp"

namespace embedrank {

/// An enum's names, what it is called in messages and the id of the
/// InputError that parse throws.
template <typename Enum>
struct EnumText {
  const char* what;
  const char* error_id;
  std::vector<std::pair<Enum, const char*>> names;
};

/// The text name of `value` ("unknown" for a value outside the enum).
template <typename Enum, typename = std::enable_if_t<std::is_enum_v<Enum>, decltype(enum_text(Enum{}))>>
const char* to_string(Enum value) {
  for (const auto& [v, name] : enum_text(value).names)
    if (v == value) return name;
  return "unknown";
}

/// The names `parse<Enum>` accepts, comma-separated, for messages.
template <typename Enum>
std::string enum_names() {
  std::string list;
  for (const auto& entry : enum_text(Enum{}).names) list += (list.empty() ? "" : ", ") + std::string(entry.second);
  return list;
}

/// The value named `text`; throws InputError with the enum's error id,
/// naming the text and the names accepted.
template <typename Enum>
Enum parse(std::string_view text) {
  const EnumText<Enum>& t = enum_text(Enum{});
  for (const auto& [v, name] : t.names)
    if (text == name) return v;
  throw InputError(t.error_id, std::string(t.what) + " '" + std::string(text) + "' is not one of " + enum_names<Enum>());
}

}  // namespace embedrank
