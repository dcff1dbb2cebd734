// embedrank.Embedder: text in, sentence embeddings out (model/embedder.hpp),
// as SentenceTransformer.encode and tokenize give them.

#include <pybind11/stl.h>

#include <algorithm>
#include <cstdint>
#include <optional>

#include "common.hpp"
#include "embedder.hpp"
#include "embedrank/model/embedder.hpp"

namespace embedrank_python {

namespace model = embedrank::model;

namespace {

/// A progress display for encode(show_progress_bar=True): tqdm when it is
/// installed (as sentence-transformers shows it), else a line on sys.stderr.
class Progress {
 public:
  explicit Progress(std::size_t total) : total_(total) {
    try {
      bar_ = py::module_::import("tqdm.auto").attr("tqdm")(py::arg("total") = total, py::arg("desc") = "Batches",
                                                          py::arg("unit") = "text");
    } catch (const py::error_already_set&) {
      stderr_ = py::module_::import("sys").attr("stderr");
    }
  }
  void advance(std::size_t done_now) {
    done_ += done_now;
    if (bar_) {
      bar_.attr("update")(done_now);
    } else {
      stderr_.attr("write")("\rembedrank: " + std::to_string(done_) + " / " + std::to_string(total_) + " texts");
      stderr_.attr("flush")();
    }
  }
  void close() {
    if (bar_) {
      bar_.attr("close")();
    } else {
      stderr_.attr("write")("\n");
    }
  }

 private:
  std::size_t total_, done_ = 0;
  py::object bar_, stderr_;
};

py::object encode(PyEmbedder& self, py::handle texts_obj, std::size_t batch_size, std::optional<bool> normalize_embeddings,
                 bool show_progress_bar, std::optional<std::string> prompt_name, std::optional<std::string> prompt,
                 std::size_t chunk_stride) {
  if (batch_size == 0) throw InputError("bad_option", "batch_size must be >= 1");
  bool single = false;
  const std::vector<std::string> texts = texts_of(texts_obj, single);
  model::EmbedOptions options;
  options.batch_size = batch_size;
  if (normalize_embeddings) {
    model::PoolingConfig pooling = self.embedder().encoder().pooling();
    pooling.normalize = *normalize_embeddings;
    options.pooling = pooling;
  }
  options.prompt_name = std::move(prompt_name);
  options.prompt = std::move(prompt);
  options.chunk_stride = chunk_stride;
  self.embedder().resolve_prompt(options);  // an unknown prompt name fails before any work

  MatrixF out;
  if (!show_progress_bar) {
    out = self.with_workspace([&](model::EmbedderWorkspace& ws) { return self.embedder().embed(texts, ws, options); });
  } else {
    // Slices of whole texts: a text's vector does not depend on its batch,
    // so the result is the same as one call's.
    Progress progress(texts.size());
    const std::size_t dim = options.pooling ? options.pooling->modes.size() * static_cast<std::size_t>(
                                                                                  self.embedder().encoder().config().hidden_size)
                                            : static_cast<std::size_t>(self.embedder().dimension());
    out = MatrixF(static_cast<Eigen::Index>(texts.size()), static_cast<Eigen::Index>(dim));
    for (std::size_t begin = 0; begin < texts.size(); begin += batch_size) {
      const std::size_t end = std::min(texts.size(), begin + batch_size);
      const std::vector<std::string> slice(texts.begin() + static_cast<std::ptrdiff_t>(begin),
                                           texts.begin() + static_cast<std::ptrdiff_t>(end));
      const MatrixF part =
          self.with_workspace([&](model::EmbedderWorkspace& ws) { return self.embedder().embed(slice, ws, options); });
      out.middleRows(static_cast<Eigen::Index>(begin), part.rows()) = part;
      progress.advance(end - begin);
    }
    progress.close();
  }
  py::array_t<float> array = array_of(std::move(out));
  if (single) return array[py::int_(0)];
  return std::move(array);
}

/// sentence-transformers' tokenize(): the preprocessed texts, truncated to
/// max_seq_length, padded to the longest into (N, T) int64 arrays.
py::dict tokenize(PyEmbedder& self, py::handle texts_obj) {
  bool single = false;
  const std::vector<std::string> texts = texts_of(texts_obj, single);
  std::vector<embedrank::text::Encoding> encodings;
  {
    py::gil_scoped_release unlocked;
    embedrank::text::EncodeOptions options;
    options.max_length = self.embedder().max_seq_length();
    options.offsets = true;
    encodings.reserve(texts.size());
    for (const std::string& text : texts)
      encodings.push_back(self.embedder().tokenizer().encode(self.embedder().preprocess(text), options));
  }
  std::size_t T = 0;
  for (const auto& e : encodings) T = std::max(T, e.ids.size());
  const auto N = static_cast<py::ssize_t>(encodings.size());
  const auto TT = static_cast<py::ssize_t>(T);
  py::array_t<std::int64_t> ids({N, TT}), types({N, TT}), mask({N, TT}), offsets({N, TT, py::ssize_t{2}});
  auto id_view = ids.mutable_unchecked<2>();
  auto type_view = types.mutable_unchecked<2>();
  auto mask_view = mask.mutable_unchecked<2>();
  auto offset_view = offsets.mutable_unchecked<3>();
  for (py::ssize_t n = 0; n < N; ++n) {
    const auto& e = encodings[static_cast<std::size_t>(n)];
    for (py::ssize_t t = 0; t < TT; ++t) {
      const bool real = static_cast<std::size_t>(t) < e.ids.size();
      const auto at = static_cast<std::size_t>(t);
      id_view(n, t) = real ? e.ids[at] : 0;
      type_view(n, t) = real ? e.type_ids[at] : 0;
      mask_view(n, t) = real ? 1 : 0;
      offset_view(n, t, 0) = real ? static_cast<std::int64_t>(e.offsets[at].first) : 0;
      offset_view(n, t, 1) = real ? static_cast<std::int64_t>(e.offsets[at].second) : 0;
    }
  }
  py::dict out;
  out["input_ids"] = ids;
  out["attention_mask"] = mask;
  out["token_type_ids"] = types;
  out["offsets"] = offsets;
  return out;
}

}  // namespace

void bind_embedder(py::module_& m) {
  py::class_<PyEmbedder>(m, "Embedder", "Text in, sentence embeddings out, from one model file (tokenizer + encoder + pooling).")
      .def(py::init<const std::string&, int>(), py::arg("path"), py::arg("threads") = 0,
           "Opens a model file written by weights_tools/convert.py; threads: encoder threads at most, taken from the "
           "process's one pool (0: every CPU; 1: the calling thread).")
      .def("encode", &encode, py::arg("texts"), py::arg("batch_size") = 32, py::arg("normalize_embeddings") = py::none(),
           py::arg("show_progress_bar") = false, py::arg("prompt_name") = py::none(), py::arg("prompt") = py::none(),
           py::arg("chunk_stride") = 0,
           "Embeddings of texts as a float32 array (N, D), or (D,) for one str, as "
           "SentenceTransformer.encode computes them.")
      .def("tokenize", &tokenize, py::arg("texts"),
           "input_ids, attention_mask, token_type_ids (N, T) and offsets (N, T, 2) as sentence-transformers' "
           "tokenize() gives them (padded with 0, attention_mask 0 there); offsets index preprocess(text).")
      .def("preprocess", [](const PyEmbedder& self, const std::string& text) { return self.embedder().preprocess(text); },
           py::arg("text"), "The text as the tokenizer sees it (stripped; lowercased when the model says so).")
      .def_property_readonly("dimension", [](const PyEmbedder& self) { return self.embedder().dimension(); })
      .def_property_readonly("max_seq_length", [](const PyEmbedder& self) { return self.embedder().max_seq_length(); })
      .def_property_readonly("prompts", [](const PyEmbedder& self) { return self.embedder().prompts(); })
      .def_property_readonly("default_prompt_name",
                             [](const PyEmbedder& self) -> py::object {
                               const std::string& name = self.embedder().default_prompt_name();
                               return name.empty() ? py::object(py::none()) : py::object(py::str(name));
                             })
      .def_property_readonly("normalize_embeddings",
                             [](const PyEmbedder& self) { return self.embedder().encoder().pooling().normalize; })
      .def_property_readonly("path", &PyEmbedder::path)
      .def_property_readonly("threads", &PyEmbedder::threads)
      .def("__repr__", [](const PyEmbedder& self) {
        return "Embedder('" + self.path() + "', dimension=" + std::to_string(self.embedder().dimension()) + ")";
      });
}

}  // namespace embedrank_python
