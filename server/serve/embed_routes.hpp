#pragma once
// Embedding routes: OpenAI's POST /v1/embeddings, TEI's POST /embed and
// POST /tokenize, GET /info.
//
// Every input is tokenized in the request's own thread exactly as
// Embedder::embed tokenizes it (prompt, preprocessing, special tokens), then
// run through the batcher, so a vector served equals Embedder::embed's bit
// for bit. An input longer than the model's max_seq_length is truncated when
// the request says `truncate` (TEI) or the server runs with --auto-truncate,
// and refused with 413 otherwise.
//
// `dimensions` (OpenAI): the first `dimensions` values of the embedding,
// L2-normalised again, as OpenAI's shortened embeddings are.

#include <charconv>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "embedrank/nn/pooling.hpp"
#include "serve/service.hpp"

namespace serve {

/// One input of an embedding request: a text, or token ids (OpenAI).
struct EmbedInput {
  bool is_ids = false;
  std::string text;
  std::vector<std::int32_t> ids;
};

namespace detail {

inline void append_float(std::string& out, float v) {
  char buffer[32];
  const auto r = std::to_chars(buffer, buffer + sizeof buffer, v);  // shortest text that reads back as v
  out.append(buffer, r.ptr);
}

inline std::string base64(const unsigned char* bytes, std::size_t n) {
  static const char* const kDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((n + 2) / 3 * 4);
  for (std::size_t i = 0; i < n; i += 3) {
    const std::uint32_t b0 = bytes[i], b1 = i + 1 < n ? bytes[i + 1] : 0u, b2 = i + 2 < n ? bytes[i + 2] : 0u;
    const std::uint32_t triple = (b0 << 16) | (b1 << 8) | b2;
    out.push_back(kDigits[(triple >> 18) & 63]);
    out.push_back(kDigits[(triple >> 12) & 63]);
    out.push_back(i + 1 < n ? kDigits[(triple >> 6) & 63] : '=');
    out.push_back(i + 2 < n ? kDigits[triple & 63] : '=');
  }
  return out;
}

/// Row r of `m` as a JSON array of numbers.
inline void append_row(std::string& out, const embedrank::MatrixF& m, Eigen::Index r) {
  out.push_back('[');
  for (Eigen::Index c = 0; c < m.cols(); ++c) {
    if (c) out.push_back(',');
    append_float(out, m(r, c));
  }
  out.push_back(']');
}

/// Row r of `m` as base64 of its little-endian float32 bytes.
inline std::string base64_row(const embedrank::MatrixF& m, Eigen::Index r) {
  std::vector<unsigned char> bytes(static_cast<std::size_t>(m.cols()) * 4);
  for (Eigen::Index c = 0; c < m.cols(); ++c) {
    std::uint32_t bits;
    const float v = m(r, c);
    std::memcpy(&bits, &v, 4);
    for (int b = 0; b < 4; ++b) bytes[static_cast<std::size_t>(c) * 4 + b] = static_cast<unsigned char>(bits >> (8 * b));
  }
  return base64(bytes.data(), bytes.size());
}

/// The inputs of a request field: a string, an array of strings, an array
/// of token ids or an array of arrays of token ids (ids only when allowed).
inline std::vector<EmbedInput> read_inputs(const Json& body, const std::string& field, bool allow_ids,
                                           std::size_t max_items) {
  const auto it = body.find(field);
  if (it == body.end() || it->is_null()) throw HttpError{422, "validation", "'" + field + "' is required"};
  const char* expected = allow_ids ? "a string, an array of strings, an array of token ids or an array of arrays of token ids"
                                   : "a string or an array of strings";
  const auto ids_of = [&](const Json& a) {
    EmbedInput in;
    in.is_ids = true;
    for (const Json& t : a) {
      if (!t.is_number_integer() || t.get<long long>() < 0 || t.get<long long>() > INT32_MAX)
        throw HttpError{422, "validation", "'" + field + "': token ids must be integers from 0"};
      in.ids.push_back(static_cast<std::int32_t>(t.get<long long>()));
    }
    return in;
  };
  std::vector<EmbedInput> inputs;
  if (it->is_string()) {
    inputs.push_back(EmbedInput{false, it->get<std::string>(), {}});
  } else if (it->is_array()) {
    if (it->empty()) throw HttpError{400, "empty", "'" + field + "' is empty"};
    const Json& first = it->front();
    if (allow_ids && first.is_number()) {
      inputs.push_back(ids_of(*it));
    } else {
      if (it->size() > max_items)
        throw HttpError{413, "validation",
                        "'" + field + "' has " + std::to_string(it->size()) + " inputs, at most " +
                            std::to_string(max_items) + " are taken (--max-client-batch-size)"};
      for (const Json& x : *it) {
        if (x.is_string())
          inputs.push_back(EmbedInput{false, x.get<std::string>(), {}});
        else if (allow_ids && x.is_array())
          inputs.push_back(ids_of(x));
        else
          throw wrong_type(field, expected);
      }
    }
  } else {
    throw wrong_type(field, expected);
  }
  for (std::size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].is_ids ? inputs[i].ids.empty() : inputs[i].text.empty())
      throw HttpError{400, "empty", "'" + field + "': input " + std::to_string(i) + " is empty"};
  return inputs;
}

/// The encoder sequences of the inputs (Embedder::embed's), and their tokens.
struct Sequences {
  std::vector<embedrank::text::Encoding> sequences;
  std::size_t tokens = 0;
};

inline Sequences tokenize(const embedrank::model::Embedder& embedder, const std::vector<EmbedInput>& inputs,
                          const std::string& prompt, bool truncate, bool keep_end) {
  Sequences out;
  const std::size_t max = embedder.max_seq_length();
  const std::size_t specials = embedder.tokenizer().num_special_tokens(false);
  const std::size_t room = max > specials ? max - specials : 0;
  const auto vocab = embedder.encoder().config().vocab_size;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    std::vector<std::int32_t> ids;
    if (inputs[i].is_ids) {
      ids = inputs[i].ids;
      for (std::int32_t id : ids)
        if (id >= vocab)
          throw HttpError{422, "validation",
                          "input " + std::to_string(i) + ": token id " + std::to_string(id) +
                              " is past the model's vocabulary of " + std::to_string(vocab)};
    } else {
      try {
        ids = embedder.content_ids(inputs[i].text, prompt);
      } catch (const embedrank::Error& e) {
        throw HttpError{422, "tokenizer", "input " + std::to_string(i) + ": " + e.what()};
      }
    }
    if (ids.size() > room) {
      if (!truncate)
        throw HttpError{413, "validation",
                        "input " + std::to_string(i) + " has " + std::to_string(ids.size() + specials) +
                            " tokens, more than the model's " + std::to_string(max) +
                            " (ask for truncation: 'truncate': true, or run the server with --auto-truncate)"};
      if (keep_end) ids.erase(ids.begin(), ids.end() - static_cast<std::ptrdiff_t>(room));
    }
    out.sequences.push_back(embedder.sequence(std::move(ids)));
    out.tokens += out.sequences.back().ids.size();
  }
  return out;
}

/// The pooled rows of the sequences through the batcher; 503 once it is closed, 424 on an encoder failure.
inline embedrank::MatrixF run_batcher(Service& service, const Sequences& s) {
  try {
    return service.batcher().embed(s.sequences);
  } catch (const BatcherStopped&) {
    throw HttpError{503, "unhealthy", "the server is shutting down"};
  } catch (const std::bad_alloc&) {
    throw HttpError{424, "backend", "not enough memory for the batch"};
  } catch (const std::exception& e) {
    throw HttpError{424, "backend", std::string("inference failed: ") + e.what()};
  }
}

inline std::string resolve_prompt(const embedrank::model::Embedder& embedder, const std::optional<std::string>& name) {
  embedrank::model::EmbedOptions options;
  options.prompt_name = name;
  try {
    return embedder.resolve_prompt(options);
  } catch (const embedrank::Error& e) {
    throw HttpError{422, "validation", e.what()};
  }
}

}  // namespace detail

inline Response openai_embeddings(Service& service, const Request& request, const std::string&) {
  const Json body = parse_object(request.body);
  const auto& embedder = *service.loaded().embedder;
  const std::vector<EmbedInput> inputs =
      detail::read_inputs(body, "input", /*allow_ids=*/true, service.options().max_client_batch_size);
  const std::string format = get_string(body, "encoding_format", "float");
  if (format != "float" && format != "base64")
    throw HttpError{422, "validation", "'encoding_format' must be \"float\" or \"base64\", got \"" + format + "\""};
  const auto D = static_cast<long long>(embedder.dimension());
  const long long dimensions = get_integer(body, "dimensions", D, 1, D);
  const std::string model = get_string(body, "model", service.options().model_id);
  get_string(body, "user", "");  // accepted, type-checked, unused

  const detail::Sequences s =
      detail::tokenize(embedder, inputs, detail::resolve_prompt(embedder, std::nullopt), service.options().auto_truncate, false);
  embedrank::MatrixF rows = detail::run_batcher(service, s);
  if (embedder.encoder().pooling().normalize) embedrank::nn::l2_normalize_rows(rows);
  if (dimensions < D) {
    embedrank::MatrixF cut = rows.leftCols(static_cast<Eigen::Index>(dimensions));
    embedrank::nn::l2_normalize_rows(cut);
    rows = std::move(cut);
  }

  std::string out = "{\"object\":\"list\",\"data\":[";
  out.reserve(out.size() + static_cast<std::size_t>(rows.size()) * 12);
  for (Eigen::Index r = 0; r < rows.rows(); ++r) {
    out += r ? ",{" : "{";
    out += "\"object\":\"embedding\",\"index\":" + std::to_string(r) + ",\"embedding\":";
    if (format == "float")
      detail::append_row(out, rows, r);
    else
      out += "\"" + detail::base64_row(rows, r) + "\"";
    out += "}";
  }
  out += "],\"model\":" + dump(Json(model)) + ",\"usage\":{\"prompt_tokens\":" + std::to_string(s.tokens) +
         ",\"total_tokens\":" + std::to_string(s.tokens) + "}}";
  return json_text_response(std::move(out));
}

inline Response tei_embed(Service& service, const Request& request, const std::string&) {
  const Json body = parse_object(request.body);
  const auto& embedder = *service.loaded().embedder;
  const std::vector<EmbedInput> inputs =
      detail::read_inputs(body, "inputs", /*allow_ids=*/false, service.options().max_client_batch_size);
  const bool normalize = get_bool(body, "normalize", true);
  const bool truncate = get_bool(body, "truncate", service.options().auto_truncate);
  const std::string direction = get_string(body, "truncation_direction", "Right");
  if (direction != "Right" && direction != "Left" && direction != "right" && direction != "left")
    throw HttpError{422, "validation", "'truncation_direction' must be \"Right\" or \"Left\", got \"" + direction + "\""};
  std::optional<std::string> prompt_name;
  if (body.contains("prompt_name") && !body["prompt_name"].is_null()) prompt_name = get_string(body, "prompt_name", "");

  const detail::Sequences s = detail::tokenize(embedder, inputs, detail::resolve_prompt(embedder, prompt_name), truncate,
                                               direction == "Left" || direction == "left");
  embedrank::MatrixF rows = detail::run_batcher(service, s);
  if (normalize) embedrank::nn::l2_normalize_rows(rows);
  std::string out = "[";
  for (Eigen::Index r = 0; r < rows.rows(); ++r) {
    if (r) out.push_back(',');
    detail::append_row(out, rows, r);
  }
  out.push_back(']');
  return json_text_response(std::move(out));
}

inline Response tei_tokenize(Service& service, const Request& request, const std::string&) {
  const Json body = parse_object(request.body);
  const auto& embedder = *service.loaded().embedder;
  const std::vector<EmbedInput> inputs =
      detail::read_inputs(body, "inputs", /*allow_ids=*/false, service.options().max_client_batch_size);
  embedrank::text::EncodeOptions options;
  options.add_special_tokens = get_bool(body, "add_special_tokens", true);
  options.tokens = true;
  options.offsets = true;
  std::optional<std::string> prompt_name;
  if (body.contains("prompt_name") && !body["prompt_name"].is_null()) prompt_name = get_string(body, "prompt_name", "");
  const std::string prompt = detail::resolve_prompt(embedder, prompt_name);
  Json out = Json::array();
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const std::string text = prompt + inputs[i].text;
    embedrank::text::Encoding e;
    try {
      e = embedder.tokenizer().encode(text, options);
    } catch (const embedrank::Error& error) {
      throw HttpError{422, "tokenizer", "input " + std::to_string(i) + ": " + error.what()};
    }
    Json tokens = Json::array();
    for (std::size_t t = 0; t < e.ids.size(); ++t) {
      const bool special = e.special_tokens_mask[t] != 0;
      Json token = {{"id", e.ids[t]}, {"special", special}};
      if (special) {
        token["text"] = e.tokens[t];
        token["start"] = nullptr;
        token["stop"] = nullptr;
      } else {  // TEI: the input's bytes [start, stop)
        const auto [b, end] = e.byte_offsets[t];
        token["text"] = text.substr(b, end - b);
        token["start"] = b;
        token["stop"] = end;
      }
      tokens.push_back(std::move(token));
    }
    out.push_back(std::move(tokens));
  }
  return json_response(out);
}

inline Response info(Service& service, const Request&, const std::string&) {
  const Loaded& loaded = service.loaded();
  const auto& embedder = *loaded.embedder;
  Json prompts = Json::object();
  for (const auto& [name, text] : embedder.prompts()) prompts[name] = text;
  Json out = {
      {"model_id", service.options().model_id},
      {"model_path", loaded.model_path},
      {"model_type", {{"embedding", {{"pooling", embedder.encoder().pooling().normalize ? "normalized" : "raw"}}}}},
      {"dimension", embedder.dimension()},
      {"max_input_length", embedder.max_seq_length()},
      {"prompts", prompts},
      {"default_prompt_name", embedder.default_prompt_name()},
      {"max_client_batch_size", service.options().max_client_batch_size},
      {"max_batch_tokens", service.options().batcher.max_batch_tokens},
      {"max_concurrent_requests", service.options().max_concurrent_requests},
      {"auto_truncate", service.options().auto_truncate},
      {"reranker", loaded.reranker != nullptr},
      {"classifier", loaded.classifier != nullptr},
      {"shop", loaded.guide ? Json{{"products", loaded.guide->size()}, {"cf_refits", service.refits()}} : Json(nullptr)},
      {"version", "embedrank-serve 0.1.0"},
  };
  return json_response(out);
}

}  // namespace serve
