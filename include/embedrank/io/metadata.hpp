#pragma once
/// Typed key/value metadata carried by a model file: model config, tokenizer,
/// pooling, provenance. Keys are dotted ("config.hidden_size",
/// "tokenizer.lowercase"); docs/weight-format.md lists every key.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "embedrank/core/enum_text.hpp"
#include "embedrank/core/error.hpp"

namespace embedrank::io {

/// Raw bytes (e.g. a serialized SentencePiece model), distinct from text.
struct Bytes {
  std::string data;
};

/// Value type tags as stored on disk (docs/weight-format.md).
enum class MetaType : std::uint8_t { Int = 0, Float = 1, Bool = 2, String = 3, Bytes = 4, StringList = 5, IntList = 6 };

using MetaValue = std::variant<std::int64_t, double, bool, std::string, Bytes, std::vector<std::string>, std::vector<std::int64_t>>;

inline EnumText<MetaType> enum_text(MetaType) {
  static constexpr EnumName<MetaType> names[] = {{MetaType::Int, "int"},
                                                 {MetaType::Float, "float"},
                                                 {MetaType::Bool, "bool"},
                                                 {MetaType::String, "string"},
                                                 {MetaType::Bytes, "bytes"},
                                                 {MetaType::StringList, "string list"},
                                                 {MetaType::IntList, "int list"}};
  return {"metadata type", "unknown_meta_type", names};
}

/// An ordered map of typed values. Getters throw FormatError naming the key
/// (and `source`, usually the model file) when it is missing or has another type.
class Metadata {
 public:
  explicit Metadata(std::string source = "metadata") : source_(std::move(source)) {}

  const std::string& source() const { return source_; }
  bool has(const std::string& key) const { return values_.count(key) != 0; }
  std::size_t size() const { return values_.size(); }
  const std::map<std::string, MetaValue>& values() const { return values_; }

  /// One overload per stored type, so a bool never becomes an int.
  void set(const std::string& key, std::int64_t value) { values_[key] = value; }
  void set(const std::string& key, int value) { values_[key] = static_cast<std::int64_t>(value); }
  void set(const std::string& key, double value) { values_[key] = value; }
  void set(const std::string& key, bool value) { values_[key] = value; }
  void set(const std::string& key, std::string value) { values_[key] = std::move(value); }
  void set(const std::string& key, const char* value) { values_[key] = std::string(value); }
  void set(const std::string& key, Bytes value) { values_[key] = std::move(value); }
  void set(const std::string& key, std::vector<std::string> value) { values_[key] = std::move(value); }
  void set(const std::string& key, std::vector<std::int64_t> value) { values_[key] = std::move(value); }

  std::int64_t get_int(const std::string& key) const { return get<std::int64_t>(key, MetaType::Int); }
  double get_float(const std::string& key) const {
    // An integer-valued float written as int is accepted (e.g. "1e-12" vs "0").
    auto it = find(key);
    if (auto* i = std::get_if<std::int64_t>(&it->second)) return static_cast<double>(*i);
    return get<double>(key, MetaType::Float);
  }
  bool get_bool(const std::string& key) const { return get<bool>(key, MetaType::Bool); }
  const std::string& get_string(const std::string& key) const { return get<std::string>(key, MetaType::String); }
  const std::string& get_bytes(const std::string& key) const { return get<Bytes>(key, MetaType::Bytes).data; }
  const std::vector<std::string>& get_string_list(const std::string& key) const {
    return get<std::vector<std::string>>(key, MetaType::StringList);
  }
  const std::vector<std::int64_t>& get_int_list(const std::string& key) const {
    return get<std::vector<std::int64_t>>(key, MetaType::IntList);
  }

  std::int64_t get_int(const std::string& key, std::int64_t fallback) const { return has(key) ? get_int(key) : fallback; }
  double get_float(const std::string& key, double fallback) const { return has(key) ? get_float(key) : fallback; }
  bool get_bool(const std::string& key, bool fallback) const { return has(key) ? get_bool(key) : fallback; }
  std::string get_string(const std::string& key, const std::string& fallback) const {
    return has(key) ? get_string(key) : fallback;
  }

  /// The enum value the string at `key` names (parse<Enum>; `fallback` when
  /// the key is absent, if given). FormatError `error_id` names the source,
  /// the key, the text and the names accepted.
  template <typename Enum>
  Enum get_enum(const std::string& key, const char* error_id, std::optional<Enum> fallback = std::nullopt) const {
    if (fallback && !has(key)) return *fallback;
    const std::string& text = get_string(key);
    try {
      return parse<Enum>(text);
    } catch (const InputError&) {
      throw FormatError(error_id, source_ + ": " + key + " '" + text + "' is not one of " + enum_names<Enum>());
    }
  }

 private:
  std::map<std::string, MetaValue>::const_iterator find(const std::string& key) const {
    auto it = values_.find(key);
    if (it == values_.end()) throw FormatError("missing_metadata", source_ + ": metadata key '" + key + "' is missing");
    return it;
  }

  template <typename T>
  const T& get(const std::string& key, MetaType expected) const {
    auto it = find(key);
    if (const T* v = std::get_if<T>(&it->second)) return *v;
    throw FormatError("metadata_type", source_ + ": metadata key '" + key + "' is not of type " + to_string(expected) +
                                           " (stored as " + to_string(static_cast<MetaType>(it->second.index())) + ")");
  }

  std::string source_;
  std::map<std::string, MetaValue> values_;
};

}  // namespace embedrank::io
