#pragma once
/// Text names of the public enums, one scheme for all: to_string(value) and
/// parse<Enum>(text). Each enum declares its names once, beside it, as a
/// function found by argument-dependent lookup:
///
///   inline EnumText<PoolingMode> enum_text(PoolingMode) {
///     static constexpr EnumName<PoolingMode> names[] = {{PoolingMode::Cls, "cls"}, ...};
///     return {"pooling mode", "unknown_pooling", names};
///   }
///
/// (plain arrays, not containers: two dozen enums cost the umbrella header
/// no template instantiations).
///
/// The first name of a value is the one to_string gives; later ones are
/// aliases parse also accepts. These are the names of the model file, the
/// command line and the Python package; they do not follow the C++
/// enumerators' spelling.

#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>

#include "embedrank/core/error.hpp"

namespace embedrank {

/// One text name of an enum value.
template <typename Enum>
struct EnumName {
  Enum value;
  const char* name;
};

/// An enum's names (iterable), what it is called in messages and the id of
/// the InputError that parse throws.
template <typename Enum>
struct EnumText {
  template <std::size_t N>
  EnumText(const char* what_, const char* error_id_, const EnumName<Enum> (&names)[N])
      : what(what_), error_id(error_id_), first(names), count(N) {}

  const EnumName<Enum>* begin() const { return first; }
  const EnumName<Enum>* end() const { return first + count; }

  const char* what;
  const char* error_id;
  const EnumName<Enum>* first;
  std::size_t count;
};

/// The text name of `value` ("unknown" for a value outside the enum).
template <typename Enum, typename = std::enable_if_t<std::is_enum_v<Enum>, decltype(enum_text(Enum{}))>>
const char* to_string(Enum value) {
  for (const EnumName<Enum>& e : enum_text(value))
    if (e.value == value) return e.name;
  return "unknown";
}

/// The names `parse<Enum>` accepts, comma-separated, for messages.
template <typename Enum>
std::string enum_names() {
  std::string list;
  for (const EnumName<Enum>& e : enum_text(Enum{})) list += (list.empty() ? "" : ", ") + std::string(e.name);
  return list;
}

/// The value named `text`; throws InputError with the enum's error id,
/// naming the text and the names accepted.
template <typename Enum>
Enum parse(std::string_view text) {
  const EnumText<Enum> t = enum_text(Enum{});
  for (const EnumName<Enum>& e : t)
    if (text == e.name) return e.value;
  throw InputError(t.error_id, std::string(t.what) + " '" + std::string(text) + "' is not one of " + enum_names<Enum>());
}

}  // namespace embedrank
