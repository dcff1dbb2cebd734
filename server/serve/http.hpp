#pragma once
// The service's view of HTTP: a request and a response as plain values, so
// every route can be called without a socket (tests, the fuzz target), and
// the one error type a route throws, answered in the style of its family:
//
//   OpenAI routes (/v1/...):  {"error": {"message": M, "type": T, "code": C}}
//   TEI routes (/embed, ...): {"error": M, "error_type": T}

#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace serve {

using Json = nlohmann::json;

struct Request {
  std::string method;                          ///< "GET", "POST", ...
  std::string path;                            ///< without the query string
  std::map<std::string, std::string> params;   ///< the query string's parameters, decoded
  std::map<std::string, std::string> headers;  ///< names lowercased
  std::string body;

  const std::string* header(const std::string& lowercase_name) const {
    const auto it = headers.find(lowercase_name);
    return it == headers.end() ? nullptr : &it->second;
  }
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  ///< extra headers (Retry-After, ...)
};

/// A request the service refuses: the HTTP status, a short machine-readable
/// kind and a message naming the culprit.
struct HttpError {
  int status;
  std::string type;     ///< TEI's error_type: validation, tokenizer, backend, overloaded, unhealthy, empty, ...
  std::string message;
};

/// Which error shape a route answers with.
enum class ErrorStyle { OpenAI, Tei };

/// `j` as JSON text; a byte that is not UTF-8 (a message may quote the
/// request's bytes) is written as U+FFFD.
inline std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

/// The error body of `e` in the given style.
inline std::string error_body(const HttpError& e, ErrorStyle style) {
  if (style == ErrorStyle::Tei) return dump(Json{{"error", e.message}, {"error_type", e.type}});
  const char* type = e.status == 401   ? "authentication_error"
                     : e.status == 429 ? "rate_limit_error"
                     : e.status >= 500 ? "server_error"
                                       : "invalid_request_error";
  return dump(Json{{"error", {{"message", e.message}, {"type", type}, {"code", e.type}}}});
}

/// A 200 whose body is JSON text written by hand (the embedding routes write
/// their float arrays themselves).
inline Response json_text_response(std::string body) {
  Response r;
  r.body = std::move(body);
  return r;
}

inline Response json_response(const Json& body, int status = 200) {
  Response r;
  r.status = status;
  r.body = dump(body);
  return r;
}

// ---- reading request bodies -----------------------------------------------

/// The body as a JSON object; 400 when it is not JSON, 422 when it is not an object.
inline Json parse_object(const std::string& body) {
  Json j;
  try {
    j = Json::parse(body);
  } catch (const Json::exception& e) {  // a syntax error, or a number past a double (out_of_range)
    throw HttpError{400, "validation", std::string("the body is not valid JSON: ") + e.what()};
  }
  if (!j.is_object()) throw HttpError{422, "validation", "the body must be a JSON object"};
  return j;
}

inline HttpError wrong_type(const std::string& field, const char* expected) {
  return HttpError{422, "validation", "'" + field + "' must be " + expected};
}

/// Optional members of a JSON object, type-checked (422 naming the field).
inline bool get_bool(const Json& j, const std::string& field, bool fallback) {
  const auto it = j.find(field);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) throw wrong_type(field, "true or false");
  return it->get<bool>();
}

inline std::string get_string(const Json& j, const std::string& field, const std::string& fallback) {
  const auto it = j.find(field);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_string()) throw wrong_type(field, "a string");
  return it->get<std::string>();
}

/// A required string member.
inline std::string require_string(const Json& j, const std::string& field) {
  const auto it = j.find(field);
  if (it == j.end() || it->is_null()) throw HttpError{422, "validation", "'" + field + "' is required"};
  if (!it->is_string()) throw wrong_type(field, "a string");
  return it->get<std::string>();
}

/// An optional integer member in [min, max].
inline long long get_integer(const Json& j, const std::string& field, long long fallback, long long min, long long max) {
  const auto it = j.find(field);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_number_integer())
    throw wrong_type(field, ("an integer from " + std::to_string(min) + " to " + std::to_string(max)).c_str());
  const long long v = it->is_number_unsigned() && it->get<unsigned long long>() > static_cast<unsigned long long>(max)
                          ? max + 1
                          : it->get<long long>();
  if (v < min || v > max)
    throw HttpError{422, "validation",
                    "'" + field + "' must be from " + std::to_string(min) + " to " + std::to_string(max) +
                        ", got " + it->dump()};
  return v;
}

/// An optional finite number member.
inline double get_number(const Json& j, const std::string& field, double fallback) {
  const auto it = j.find(field);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_number()) throw wrong_type(field, "a number");
  return it->get<double>();
}

/// A required array of strings, non-empty, at most `max_items`.
inline std::vector<std::string> require_strings(const Json& j, const std::string& field, std::size_t max_items) {
  const auto it = j.find(field);
  if (it == j.end() || it->is_null()) throw HttpError{422, "validation", "'" + field + "' is required"};
  if (!it->is_array()) throw wrong_type(field, "an array of strings");
  if (it->empty()) throw HttpError{400, "empty", "'" + field + "' is empty"};
  if (it->size() > max_items)
    throw HttpError{413, "validation",
                    "'" + field + "' has " + std::to_string(it->size()) + " items, at most " +
                        std::to_string(max_items) + " are taken (--max-client-batch-size)"};
  std::vector<std::string> out;
  out.reserve(it->size());
  for (const Json& s : *it) {
    if (!s.is_string()) throw wrong_type(field, "an array of strings");
    out.push_back(s.get<std::string>());
  }
  return out;
}

}  // namespace serve
