// embedrank._embedrank: the Python bindings (pybind11) over the library's
// headers: Embedder (text -> vectors), EmbeddingIndex (exact top-k),
// UserKnn (Pearson user kNN) and Recommender (content + CF blend).
//
// Conventions, the same for every function:
//   - Vectors go in as C-contiguous float32 numpy arrays and are read in
//     place (no copy); another dtype or layout is an InputError that says
//     how to convert, never a silent copy.
//   - Results come out as numpy arrays that own the library's buffers.
//   - The GIL is released while the library computes; each object guards
//     its own state (a workspace, an index that add() may change), so Python
//     threads may share one object.
//   - Every object computes on the module's one ThreadPool::shared(); a
//     `threads` option caps the threads one call uses (1: the calling
//     thread only) and starts none, so N Python threads add no more than
//     their N own threads.
//   - embedrank::Error subclasses become embedrank.Error subclasses whose
//     message carries the "[embedrank.<id>]" id and whose .id is that id;
//     a wrong argument type (None, an int where a text belongs) is a TypeError.

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "embedrank/cf/user_knn.hpp"
#include "embedrank/core/error.hpp"
#include "embedrank/model/embedder.hpp"
#include "embedrank/rank/embedding_index.hpp"
#include "embedrank/rank/recommender.hpp"

namespace py = pybind11;
using embedrank::InputError;
using embedrank::MatrixF;
namespace cf = embedrank::cf;
namespace model = embedrank::model;
namespace rank = embedrank::rank;

namespace {

// ---------------------------------------------------------------- errors

// The Python classes of the hierarchy, created once at import.
struct ErrorTypes {
  PyObject* base = nullptr;
  PyObject* file = nullptr;
  PyObject* format = nullptr;
  PyObject* input = nullptr;
  PyObject* parse = nullptr;
};
ErrorTypes error_types;

PyObject* make_error_type(py::module_& m, const char* name, PyObject* bases, const char* doc) {
  const std::string qualified = std::string("embedrank.") + name;
  PyObject* type = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases, nullptr);
  if (type == nullptr) throw py::error_already_set();
  m.add_object(name, py::handle(type));
  return type;
}

// Raises `type` with the library's message and .id set to the stable id.
void raise_error(PyObject* type, const embedrank::Error& e) {
  py::object instance = py::reinterpret_steal<py::object>(PyObject_CallFunction(type, "s", e.what()));
  if (!instance) return;  // the call set its own exception
  instance.attr("id") = py::str(e.id());
  PyErr_SetObject(type, instance.ptr());
}

// ---------------------------------------------------------------- inputs

/// A (rows, cols) float32 block read in place from a numpy array; `owner`
/// keeps the array alive while the GIL is released.
struct FloatRows {
  py::array owner;
  const float* data = nullptr;
  std::size_t rows = 0, cols = 0;
  bool one_dimensional = false;
};

std::string type_name(py::handle obj) { return py::str(py::type::handle_of(obj).attr("__name__")); }

/// A C-contiguous float32 array of 1 or 2 dimensions (1-D: one row).
FloatRows float_rows(py::handle obj, const char* what) {
  if (obj.is_none()) throw py::type_error(std::string(what) + " must be a numpy float32 array, not None");
  if (!py::isinstance<py::array>(obj))
    throw py::type_error(std::string(what) + " must be a numpy float32 array, not " + type_name(obj) +
                         " (numpy.asarray(x, dtype=numpy.float32) makes one)");
  FloatRows out;
  out.owner = py::reinterpret_borrow<py::array>(obj);
  if (!py::array_t<float>::check_(out.owner))
    throw InputError("bad_dtype", std::string(what) + " has dtype " + py::str(out.owner.dtype()).cast<std::string>() +
                                      ", expected float32 (x.astype(numpy.float32) converts it)");
  if (out.owner.ndim() != 1 && out.owner.ndim() != 2)
    throw InputError("bad_shape", std::string(what) + " has " + std::to_string(out.owner.ndim()) +
                                      " dimensions, expected 2 (rows, dim) or 1 (one vector)");
  if (!(out.owner.flags() & py::array::c_style) || !(out.owner.flags() & py::detail::npy_api::NPY_ARRAY_ALIGNED_))
    throw InputError("not_contiguous", std::string(what) +
                                           " is not a C-contiguous, aligned array (numpy.ascontiguousarray(x) copies it "
                                           "into one)");
  out.one_dimensional = out.owner.ndim() == 1;
  out.rows = out.one_dimensional ? 1 : static_cast<std::size_t>(out.owner.shape(0));
  out.cols = static_cast<std::size_t>(out.owner.shape(out.owner.ndim() - 1));
  out.data = static_cast<const float*>(out.owner.data());
  return out;
}

/// UTF-8 bytes of a Python str; a str that cannot be encoded (lone
/// surrogates) raises UnicodeEncodeError.
std::string utf8_of(py::handle text) {
  Py_ssize_t size = 0;
  const char* data = PyUnicode_AsUTF8AndSize(text.ptr(), &size);
  if (data == nullptr) throw py::error_already_set();
  return std::string(data, static_cast<std::size_t>(size));
}

/// A str (one text; `single` set) or an iterable of str.
std::vector<std::string> texts_of(py::handle obj, bool& single) {
  single = false;
  if (obj.is_none()) throw py::type_error("texts must be a str or a sequence of str, not None");
  if (PyUnicode_Check(obj.ptr())) {
    single = true;
    return {utf8_of(obj)};
  }
  if (PyBytes_Check(obj.ptr()) || !py::isinstance<py::iterable>(obj))
    throw py::type_error("texts must be a str or a sequence of str, not " + type_name(obj));
  std::vector<std::string> texts;
  for (py::handle item : obj) {
    if (!PyUnicode_Check(item.ptr()))
      throw py::type_error("texts[" + std::to_string(texts.size()) + "] is " + type_name(item) + ", not str");
    texts.push_back(utf8_of(item));
  }
  return texts;
}

bool is_integer_scalar(py::handle obj) {
  if (PyBool_Check(obj.ptr())) return false;
  if (PyLong_Check(obj.ptr())) return true;
  return py::isinstance(obj, py::module_::import("numpy").attr("integer"));
}

/// One id: a str as it is, an integer as its decimal text (the library's
/// convention); `integer` tells which it was.
std::string id_of(py::handle obj, const std::string& what, bool& integer) {
  if (PyUnicode_Check(obj.ptr())) {
    integer = false;
    return utf8_of(obj);
  }
  if (is_integer_scalar(obj)) {
    integer = true;
    return std::to_string(obj.cast<long long>());
  }
  throw py::type_error(what + " is " + type_name(obj) + ", expected str or int");
}

bool is_id_scalar(py::handle obj) { return PyUnicode_Check(obj.ptr()) || is_integer_scalar(obj); }

/// Ids from an integer numpy array (fast path) or an iterable of str / int;
/// `all_integer` is cleared when any id is a str.
std::vector<std::string> ids_of(py::handle obj, const char* what, bool& all_integer) {
  all_integer = true;
  if (obj.is_none()) throw py::type_error(std::string(what) + " must be a sequence of str or int, not None");
  if (py::isinstance<py::array>(obj)) {
    const auto array = py::reinterpret_borrow<py::array>(obj);
    const char kind = array.dtype().kind();
    if (kind == 'i' || kind == 'u') {
      if (array.ndim() != 1)
        throw InputError("bad_shape", std::string(what) + " has " + std::to_string(array.ndim()) + " dimensions, expected 1");
      const auto values = py::array_t<long long, py::array::forcecast>::ensure(array);
      if (!values) throw py::error_already_set();
      std::vector<std::string> ids;
      ids.reserve(static_cast<std::size_t>(values.size()));
      const auto view = values.unchecked<1>();
      for (py::ssize_t i = 0; i < view.shape(0); ++i) ids.push_back(std::to_string(view(i)));
      return ids;
    }
    if (kind != 'U' && kind != 'O')
      throw InputError("bad_dtype", std::string(what) + " has dtype " + py::str(array.dtype()).cast<std::string>() +
                                        ", expected integers or str");
  }
  if (PyUnicode_Check(obj.ptr()) || PyBytes_Check(obj.ptr()) || !py::isinstance<py::iterable>(obj))
    throw py::type_error(std::string(what) + " must be a sequence of str or int, not " + type_name(obj));
  std::vector<std::string> ids;
  for (py::handle item : obj) {
    bool integer = false;
    ids.push_back(id_of(item, std::string(what) + "[" + std::to_string(ids.size()) + "]", integer));
    all_integer = all_integer && integer;
  }
  return ids;
}

/// True when `id` is the decimal text of an int64 as std::to_string writes it.
bool is_integer_text(const std::string& id) {
  if (id.empty() || id.size() > 20) return false;
  for (std::size_t i = id[0] == '-' ? 1 : 0; i < id.size(); ++i)
    if (id[i] < '0' || id[i] > '9') return false;
  try {
    return std::to_string(std::stoll(id)) == id;
  } catch (const std::exception&) {
    return false;
  }
}

// ---------------------------------------------------------------- outputs

/// A numpy array that owns `matrix` (no copy).
py::array_t<float> array_of(MatrixF&& matrix) {
  auto* owned = new MatrixF(std::move(matrix));
  py::capsule release(owned, [](void* p) { delete static_cast<MatrixF*>(p); });
  const auto rows = static_cast<py::ssize_t>(owned->rows()), cols = static_cast<py::ssize_t>(owned->cols());
  return py::array_t<float>({rows, cols}, {cols * static_cast<py::ssize_t>(sizeof(float)), static_cast<py::ssize_t>(sizeof(float))},
                            owned->data(), release);
}

template <typename T>
py::array_t<T> vector_array(std::vector<T>&& values) {
  auto* owned = new std::vector<T>(std::move(values));
  py::capsule release(owned, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array_t<T>({static_cast<py::ssize_t>(owned->size())}, {static_cast<py::ssize_t>(sizeof(T))}, owned->data(),
                        release);
}

/// A numpy array of ids: int64 when the ids were integers, else object (str).
py::array ids_array(const std::vector<std::string>& ids, bool integer) {
  if (integer) {
    std::vector<std::int64_t> values(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) values[i] = std::stoll(ids[i]);
    return vector_array(std::move(values));
  }
  py::list list(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) list[i] = py::str(ids[i]);
  return py::module_::import("numpy").attr("array")(list, py::arg("dtype") = "object");
}

// ---------------------------------------------------------------- Embedder

class PyEmbedder {
 public:
  PyEmbedder(const std::string& path, int threads) : path_(path), threads_(threads) {
    py::gil_scoped_release unlocked;
    embedder_ = model::Embedder::open(path);
  }

  const model::Embedder& embedder() const { return *embedder_; }
  const std::string& path() const { return path_; }
  int threads() const { return threads_; }

  /// Runs `work(workspace)` with the GIL released: on the object's own
  /// workspace, or on a fresh one (buffers only: workspaces share the
  /// process's pool) when another thread is using it.
  template <typename Work>
  auto with_workspace(Work work) {
    py::gil_scoped_release unlocked;
    std::unique_lock<std::mutex> lock(mutex_, std::try_to_lock);
    if (!lock.owns_lock()) {
      model::EmbedderWorkspace local(threads_);
      return work(local);
    }
    if (!workspace_) workspace_ = std::make_unique<model::EmbedderWorkspace>(threads_);
    return work(*workspace_);
  }

 private:
  std::string path_;
  int threads_;
  std::shared_ptr<const model::Embedder> embedder_;
  std::mutex mutex_;
  std::unique_ptr<model::EmbedderWorkspace> workspace_;
};

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

// ---------------------------------------------------------------- EmbeddingIndex

rank::Metric metric_of(const std::string& name) {
  if (name == "ip" || name == "inner_product") return rank::Metric::InnerProduct;
  if (name == "cosine") return rank::Metric::Cosine;
  throw InputError("bad_option", "metric must be 'ip' or 'cosine', got '" + name + "'");
}

rank::Storage storage_of(const std::string& name) {
  if (name == "float32" || name == "f32") return rank::Storage::Float32;
  if (name == "float16" || name == "f16") return rank::Storage::Float16;
  throw InputError("bad_option", "storage must be 'float32' or 'float16', got '" + name + "'");
}

rank::IndexOptions index_options(const std::string& metric, const std::string& storage, int threads) {
  rank::IndexOptions options;
  options.metric = metric_of(metric);
  options.storage = storage_of(storage);
  options.threads = threads;
  return options;
}

class PyIndex {
 public:
  explicit PyIndex(rank::EmbeddingIndex index, bool integer_ids)
      : index_(std::make_unique<rank::EmbeddingIndex>(std::move(index))), integer_ids_(integer_ids) {}

  /// Runs `work(index)` with the GIL released under a shared (read) lock.
  template <typename Work>
  auto read(Work work) const {
    py::gil_scoped_release unlocked;
    std::shared_lock<std::shared_mutex> lock(mutex_);
    return work(static_cast<const rank::EmbeddingIndex&>(*index_));
  }
  /// Runs `work(index)` with the GIL released under an exclusive lock.
  template <typename Work>
  auto write(Work work) {
    py::gil_scoped_release unlocked;
    std::unique_lock<std::shared_mutex> lock(mutex_);
    return work(*index_);
  }
  /// The index while the caller holds a lock of its own (see recommend).
  const rank::EmbeddingIndex& unlocked() const { return *index_; }
  std::shared_mutex& mutex() const { return mutex_; }

  bool integer_ids() const { return integer_ids_; }
  void note_ids(bool integer) { integer_ids_ = integer_ids_ && integer; }

 private:
  std::unique_ptr<rank::EmbeddingIndex> index_;
  mutable std::shared_mutex mutex_;
  bool integer_ids_;  // every id so far was an int: results give int ids
};

void index_add(PyIndex& self, py::handle ids_obj, py::handle vectors_obj) {
  std::vector<std::string> ids;
  bool integer = true;
  if (is_id_scalar(ids_obj)) {
    ids.push_back(id_of(ids_obj, "id", integer));
  } else {
    ids = ids_of(ids_obj, "ids", integer);
  }
  const FloatRows vectors = float_rows(vectors_obj, "vectors");
  if (vectors.rows != ids.size())
    throw InputError("bad_shape", std::to_string(ids.size()) + " ids for " + std::to_string(vectors.rows) + " vectors");
  self.write([&](rank::EmbeddingIndex& index) { index.add_rows(ids, vectors.data, vectors.rows, vectors.cols); });
  self.note_ids(integer);
}

py::object index_remove(PyIndex& self, py::handle ids_obj) {
  bool integer = true;
  if (is_id_scalar(ids_obj)) {
    const std::string id = id_of(ids_obj, "id", integer);
    return py::bool_(self.write([&](rank::EmbeddingIndex& index) { return index.remove(id); }));
  }
  const std::vector<std::string> ids = ids_of(ids_obj, "ids", integer);
  return py::int_(self.write([&](rank::EmbeddingIndex& index) {
    std::size_t removed = 0;
    for (const std::string& id : ids) removed += index.remove(id) ? 1 : 0;
    return removed;
  }));
}

/// (ids, scores) of the k best items per query: (Q, k') arrays for a (Q, D)
/// block, (k',) for one (D) vector; k' = min(k, eligible items). A query
/// with fewer results (a NaN query scores nothing) pads with None / NaN.
py::tuple index_search(const PyIndex& self, py::handle queries_obj, long long k, py::handle exclude_obj) {
  if (k < 1) throw InputError("bad_option", "k must be >= 1, got " + std::to_string(k));
  const FloatRows queries = float_rows(queries_obj, "queries");
  std::vector<std::string> exclude;
  bool integer = true;
  if (!exclude_obj.is_none()) exclude = is_id_scalar(exclude_obj) ? std::vector<std::string>{id_of(exclude_obj, "exclude", integer)}
                                                                  : ids_of(exclude_obj, "exclude", integer);
  const auto results = self.read([&](const rank::EmbeddingIndex& index) {
    rank::ItemBitmap excluded;
    rank::SearchFilter filter;
    if (!exclude.empty()) {
      excluded = index.exclusion(exclude);
      filter.exclude = &excluded;
    }
    return index.search_batch(queries.data, queries.rows, queries.cols, static_cast<std::size_t>(k), filter);
  });
  std::size_t width = 0;
  for (const auto& r : results) width = std::max(width, r.size());
  const auto Q = static_cast<py::ssize_t>(results.size()), K = static_cast<py::ssize_t>(width);
  py::array_t<float> scores({Q, K});
  auto score_view = scores.mutable_unchecked<2>();
  py::array ids;
  if (self.integer_ids()) {
    py::array_t<std::int64_t> int_ids({Q, K});
    auto view = int_ids.mutable_unchecked<2>();
    for (py::ssize_t q = 0; q < Q; ++q)
      for (py::ssize_t j = 0; j < K; ++j) {
        const auto& r = results[static_cast<std::size_t>(q)];
        const bool real = static_cast<std::size_t>(j) < r.size();
        view(q, j) = real ? std::stoll(r[static_cast<std::size_t>(j)].id) : -1;
        score_view(q, j) = real ? r[static_cast<std::size_t>(j)].score : std::numeric_limits<float>::quiet_NaN();
      }
    ids = int_ids;
  } else {
    py::list rows(static_cast<std::size_t>(Q));
    for (py::ssize_t q = 0; q < Q; ++q) {
      const auto& r = results[static_cast<std::size_t>(q)];
      py::list row(static_cast<std::size_t>(K));
      for (py::ssize_t j = 0; j < K; ++j) {
        const bool real = static_cast<std::size_t>(j) < r.size();
        row[static_cast<std::size_t>(j)] = real ? py::object(py::str(r[static_cast<std::size_t>(j)].id)) : py::none();
        score_view(q, j) = real ? r[static_cast<std::size_t>(j)].score : std::numeric_limits<float>::quiet_NaN();
      }
      rows[static_cast<std::size_t>(q)] = row;
    }
    py::array object_ids = py::module_::import("numpy").attr("empty")(py::make_tuple(Q, K), py::arg("dtype") = "object");
    for (py::ssize_t q = 0; q < Q; ++q) object_ids[py::int_(q)] = rows[static_cast<std::size_t>(q)];
    ids = object_ids;
  }
  if (queries.one_dimensional) return py::make_tuple(ids[py::int_(0)], scores[py::int_(0)]);
  return py::make_tuple(ids, scores);
}

std::unique_ptr<PyIndex> index_load(const std::string& vectors_path, std::optional<std::string> ids_path, const std::string& metric,
                   const std::string& storage, int threads) {
  const rank::IndexOptions options = index_options(metric, storage, threads);
  rank::EmbeddingIndex index = [&] {
    py::gil_scoped_release unlocked;
    return rank::EmbeddingIndex::load(vectors_path, ids_path.value_or(""), options);
  }();
  bool integer = true;
  for (std::size_t row = 0; row < index.rows() && integer; ++row) integer = is_integer_text(index.id_at(row));
  return std::make_unique<PyIndex>(std::move(index), integer);
}

// ---------------------------------------------------------------- UserKnn

template <typename Enum>
Enum choice(const std::string& what, const std::string& value, std::initializer_list<std::pair<const char*, Enum>> choices) {
  std::string known;
  for (const auto& [name, e] : choices) {
    if (value == name) return e;
    known += (known.empty() ? "" : ", ") + std::string(name);
  }
  throw InputError("bad_option", what + " must be one of " + known + ", got '" + value + "'");
}

class PyUserKnn {
 public:
  cf::KnnOptions options;

  /// The fitted model under a shared lock; throws InputError "not_fitted" before fit().
  template <typename Work>
  auto read(Work work) const {
    py::gil_scoped_release unlocked;
    std::shared_lock<std::shared_mutex> lock(mutex_);
    if (!model_) throw InputError("not_fitted", "UserKnn.fit() has not been called");
    return work(*model_);
  }
  /// Fits on `ratings` (GIL released); the new model replaces the old one.
  void fit(cf::Ratings ratings, bool integer_users, bool integer_items) {
    std::shared_ptr<const cf::UserKnn> fitted;
    {
      py::gil_scoped_release unlocked;
      fitted = std::make_shared<const cf::UserKnn>(std::move(ratings), options);
      std::unique_lock<std::shared_mutex> lock(mutex_);
      model_ = std::move(fitted);
    }
    integer_users_ = integer_users;
    integer_items_ = integer_items;
  }
  /// The model for a Recommender call (kept alive by the shared_ptr).
  std::shared_ptr<const cf::UserKnn> model() const {
    std::shared_lock<std::shared_mutex> lock(mutex_);
    return model_;
  }
  bool integer_users() const { return integer_users_; }
  bool integer_items() const { return integer_items_; }

 private:
  mutable std::shared_mutex mutex_;
  std::shared_ptr<const cf::UserKnn> model_;
  bool integer_users_ = false, integer_items_ = false;
};

/// Ratings as floats: any real numpy array or sequence of numbers.
std::vector<double> ratings_of(py::handle obj) {
  if (obj.is_none()) throw py::type_error("ratings must be a sequence of numbers, not None");
  py::object numpy = py::module_::import("numpy");
  py::array array;
  try {
    array = numpy.attr("asarray")(obj);
  } catch (const py::error_already_set&) {
    throw py::type_error("ratings must be a sequence of numbers, not " + type_name(obj));
  }
  const char kind = array.dtype().kind();
  if (kind != 'f' && kind != 'i' && kind != 'u')
    throw InputError("bad_dtype", "ratings have dtype " + py::str(array.dtype()).cast<std::string>() + ", expected numbers");
  if (array.ndim() != 1)
    throw InputError("bad_shape", "ratings have " + std::to_string(array.ndim()) + " dimensions, expected 1");
  const auto values = py::array_t<double, py::array::forcecast | py::array::c_style>::ensure(array);
  return std::vector<double>(values.data(), values.data() + values.size());
}

/// fit(users, items, ratings) or fit(dataframe) with columns user, item, rating (or the names given).
PyUserKnn& knn_fit(PyUserKnn& self, py::handle users_obj, py::handle items_obj, py::handle ratings_obj,
                   const std::string& user_col, const std::string& item_col, const std::string& rating_col,
                   const std::string& duplicates) {
  py::object users = py::reinterpret_borrow<py::object>(users_obj);
  py::object items = py::reinterpret_borrow<py::object>(items_obj);
  py::object ratings = py::reinterpret_borrow<py::object>(ratings_obj);
  if (items.is_none() && ratings.is_none() && py::hasattr(users, "columns")) {
    const py::object frame = users;
    for (const std::string& name : {user_col, item_col, rating_col})
      if (!frame.attr("columns").attr("__contains__")(name).cast<bool>())
        throw InputError("missing_column", "the DataFrame has no column '" + name + "' (columns: " +
                                               py::str(py::list(frame.attr("columns"))).cast<std::string>() + ")");
    users = frame[py::str(user_col)].attr("to_numpy")();
    items = frame[py::str(item_col)].attr("to_numpy")();
    ratings = frame[py::str(rating_col)].attr("to_numpy")();
  }
  bool integer_users = true, integer_items = true;
  const std::vector<std::string> user_ids = ids_of(users, "users", integer_users);
  const std::vector<std::string> item_ids = ids_of(items, "items", integer_items);
  const std::vector<double> values = ratings_of(ratings);
  if (user_ids.size() != item_ids.size() || user_ids.size() != values.size())
    throw InputError("bad_shape", std::to_string(user_ids.size()) + " users, " + std::to_string(item_ids.size()) +
                                      " items and " + std::to_string(values.size()) + " ratings: they must be as many");
  const auto policy = choice<cf::DuplicatePolicy>(
      "duplicates", duplicates, {{"last_wins", cf::DuplicatePolicy::LastWins}, {"error", cf::DuplicatePolicy::Error}});
  cf::Ratings built = [&] {
    py::gil_scoped_release unlocked;
    cf::RatingsBuilder builder("ratings");
    for (std::size_t r = 0; r < values.size(); ++r) builder.add(user_ids[r], item_ids[r], values[r], r + 1);
    return builder.build(policy);
  }();
  self.fit(std::move(built), integer_users, integer_items);
  return self;
}

py::object prediction_level(cf::PredictionLevel level) { return py::str(embedrank::to_string(level)); }

// ---------------------------------------------------------------- Recommender

struct PyRecommender {
  py::object catalogue;  // PyIndex
  py::object cf;         // PyUserKnn or None
};

/// History as item ids, (id, weight) / (id, weight, age) tuples, or a dict id -> weight.
std::vector<rank::HistoryItem> history_of(py::handle obj) {
  std::vector<rank::HistoryItem> history;
  if (obj.is_none()) return history;
  bool integer = false;
  if (py::isinstance<py::dict>(obj)) {
    for (auto [key, value] : py::reinterpret_borrow<py::dict>(obj)) {
      rank::HistoryItem h;
      h.item_id = id_of(key, "history key", integer);
      h.weight = value.cast<double>();
      history.push_back(h);
    }
    return history;
  }
  if (is_id_scalar(obj) || !py::isinstance<py::iterable>(obj))
    throw py::type_error("history must be a sequence of item ids or (id, weight[, age]) tuples, or a dict id -> weight");
  for (py::handle entry : obj) {
    const std::string where = "history[" + std::to_string(history.size()) + "]";
    rank::HistoryItem h;
    if (is_id_scalar(entry)) {
      h.item_id = id_of(entry, where, integer);
    } else if (py::isinstance<py::tuple>(entry) || py::isinstance<py::list>(entry)) {
      const auto fields = py::reinterpret_borrow<py::sequence>(entry);
      if (fields.size() < 2 || fields.size() > 3)
        throw py::type_error(where + " must be an id or (id, weight[, age]), got " + std::to_string(fields.size()) + " fields");
      h.item_id = id_of(fields[0], where + "[0]", integer);
      h.weight = fields[1].cast<double>();
      if (fields.size() == 3) h.age = fields[2].cast<double>();
    } else {
      throw py::type_error(where + " is " + type_name(entry) + ", expected an id or an (id, weight[, age]) tuple");
    }
    history.push_back(h);
  }
  return history;
}

struct RecommenderCall {
  const PyIndex* index;
  std::shared_ptr<const cf::UserKnn> knn;
};

RecommenderCall recommender_call(const PyRecommender& self) {
  RecommenderCall call{&self.catalogue.cast<const PyIndex&>(), nullptr};
  if (!self.cf.is_none()) call.knn = self.cf.cast<const PyUserKnn&>().model();
  return call;
}

py::object recommender_profile(const PyRecommender& self, py::handle history_obj, double recency_half_life) {
  const std::vector<rank::HistoryItem> history = history_of(history_obj);
  const RecommenderCall call = recommender_call(self);
  embedrank::VectorF profile = call.index->read([&](const rank::EmbeddingIndex& index) {
    return rank::Recommender(index, call.knn.get()).profile_from_history(history, recency_half_life);
  });
  MatrixF row = profile.transpose();
  return array_of(std::move(row))[py::int_(0)];
}

std::vector<rank::Recommended> recommender_recommend(const PyRecommender& self, py::handle profile_obj,
                                                     py::handle history_obj, py::handle cf_user_obj, std::size_t k,
                                                     double content_weight, std::size_t candidates, double mmr_lambda,
                                                     py::handle exclude_obj) {
  const FloatRows profile = float_rows(profile_obj, "profile");
  if (!profile.one_dimensional) throw InputError("bad_shape", "profile must be one vector (D,), got a 2-D array");
  const std::vector<rank::HistoryItem> history = history_of(history_obj);
  bool integer = false;
  const std::string cf_user = cf_user_obj.is_none() ? "" : id_of(cf_user_obj, "cf_user", integer);
  std::vector<std::string> exclude;
  if (!exclude_obj.is_none())
    exclude = is_id_scalar(exclude_obj) ? std::vector<std::string>{id_of(exclude_obj, "exclude", integer)}
                                        : ids_of(exclude_obj, "exclude", integer);
  rank::RecommendOptions options;
  options.content_weight = content_weight;
  options.candidates = candidates;
  options.mmr_lambda = mmr_lambda;
  const RecommenderCall call = recommender_call(self);
  return call.index->read([&](const rank::EmbeddingIndex& index) {
    const embedrank::VectorF vector = Eigen::Map<const embedrank::VectorF>(profile.data, static_cast<Eigen::Index>(profile.cols));
    if (profile.cols != index.dim())
      throw InputError("dimension_mismatch", "profile has " + std::to_string(profile.cols) + " values, the catalogue " +
                                                 std::to_string(index.dim()));
    rank::ItemBitmap excluded;
    rank::SearchFilter filter;
    if (!exclude.empty()) {
      excluded = index.exclusion(exclude);
      filter.exclude = &excluded;
    }
    return rank::Recommender(index, call.knn.get()).recommend(vector, history, cf_user, k, options, filter);
  });
}

}  // namespace

PYBIND11_MODULE(_embedrank, m) {
  m.doc() = "embedrank: text embeddings, exact top-k search, user-kNN collaborative filtering and ranking";

  // ---- errors: embedrank.Error and one subclass per C++ class
  {
    py::tuple bases = py::make_tuple(py::handle(PyExc_Exception));
    error_types.base = make_error_type(m, "Error", bases.ptr(),
                                       "Base of every embedrank error; .id is the stable dotted id, e.g. 'input.bad_dtype'.");
    const auto sub = [&](const char* name, PyObject* extra, const char* doc) {
      py::tuple b = extra ? py::make_tuple(py::handle(error_types.base), py::handle(extra))
                          : py::make_tuple(py::handle(error_types.base));
      return make_error_type(m, name, b.ptr(), doc);
    };
    error_types.file = sub("FileError", PyExc_OSError, "A file could not be opened, read, mapped or written.");
    error_types.format = sub("FormatError", PyExc_ValueError, "A model file or other binary file is malformed.");
    error_types.input = sub("InputError", PyExc_ValueError,
                            "An invalid argument: a wrong dimension, dtype or shape, an unknown id or option.");
    error_types.parse = sub("ParseError", PyExc_ValueError, "A text data file has a malformed line.");
  }
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const embedrank::FileError& e) {
      raise_error(error_types.file, e);
    } catch (const embedrank::FormatError& e) {
      raise_error(error_types.format, e);
    } catch (const embedrank::InputError& e) {
      raise_error(error_types.input, e);
    } catch (const embedrank::ParseError& e) {
      raise_error(error_types.parse, e);
    } catch (const embedrank::Error& e) {
      raise_error(error_types.base, e);
    }
  });

  // ---- Embedder
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

  // ---- EmbeddingIndex
  py::class_<PyIndex>(m, "EmbeddingIndex", "Exact top-k over item vectors (inner product or cosine).")
      .def(py::init([](std::size_t dim, const std::string& metric, const std::string& storage, int threads) {
             return std::make_unique<PyIndex>(rank::EmbeddingIndex(dim, index_options(metric, storage, threads)), true);
           }),
           py::arg("dim"), py::arg("metric") = "ip", py::arg("storage") = "float32", py::arg("threads") = 0)
      .def("add", &index_add, py::arg("ids"), py::arg("vectors"),
           "Adds vectors (N, D) float32 under ids (N str or int); one id with a (D,) vector adds one item.")
      .def("remove", &index_remove, py::arg("ids"),
           "Removes one id (returns whether it was there) or a sequence of ids (returns how many were).")
      .def("search", &index_search, py::arg("queries"), py::arg("k"), py::arg("exclude") = py::none(),
           "(ids, scores) of the k best items for queries (Q, D) or one query (D,), best first.")
      .def("compact", [](PyIndex& self) { self.write([](rank::EmbeddingIndex& index) { index.compact(); }); })
      .def("save",
           [](const PyIndex& self, const std::string& vectors_path, const std::string& ids_path) {
             self.read([&](const rank::EmbeddingIndex& index) { index.save(vectors_path, ids_path); });
           },
           py::arg("vectors_path"), py::arg("ids_path"),
           "Writes the live items: vectors as (N, D) float32 .npy, ids one per line (the C++ index's files).")
      .def_static("load", &index_load, py::arg("vectors_path"), py::arg("ids_path") = py::none(), py::arg("metric") = "ip",
                  py::arg("storage") = "float32", py::arg("threads") = 0)
      .def("vectors",
           [](const PyIndex& self, py::handle ids_obj) {
             bool integer = true;
             const std::vector<std::string> ids = ids_of(ids_obj, "ids", integer);
             return array_of(self.read([&](const rank::EmbeddingIndex& index) {
               MatrixF out(static_cast<Eigen::Index>(ids.size()), static_cast<Eigen::Index>(index.dim()));
               for (std::size_t i = 0; i < ids.size(); ++i)
                 out.row(static_cast<Eigen::Index>(i)) = index.vector(index.row_of(ids[i])).transpose();
               return out;
             }));
           },
           py::arg("ids"), "The stored vectors (N, D) of ids, as scored (normalised for cosine).")
      .def_property_readonly("dim", [](const PyIndex& self) { return self.unlocked().dim(); })
      .def_property_readonly("metric",
                             [](const PyIndex& self) {
                               return self.unlocked().metric() == rank::Metric::Cosine ? "cosine" : "ip";
                             })
      .def("__len__", [](const PyIndex& self) { return self.read([](const rank::EmbeddingIndex& i) { return i.size(); }); })
      .def("__contains__",
           [](const PyIndex& self, py::handle id_obj) {
             bool integer = false;
             if (!is_id_scalar(id_obj)) return false;
             const std::string id = id_of(id_obj, "id", integer);
             return self.read([&](const rank::EmbeddingIndex& index) { return index.contains(id); });
           })
      .def("__repr__", [](const PyIndex& self) {
        return "EmbeddingIndex(dim=" + std::to_string(self.unlocked().dim()) +
               ", metric='" + (self.unlocked().metric() == rank::Metric::Cosine ? "cosine" : "ip") + "')";
      });

  // ---- UserKnn
  py::class_<PyUserKnn>(m, "UserKnn", "Pearson user-kNN rating prediction (KNNBasic / KNNWithMeans / KNNWithZScore).")
      .def(py::init([](const std::string& algorithm, int k, int min_k, int min_support, const std::string& mean,
                       const std::string& shrinkage, double shrinkage_lambda, int max_neighbors, const std::string& order,
                       const std::string& fallback, bool clip, bool surprise_compatible, int threads) {
             auto self = std::make_unique<PyUserKnn>();
             const auto algo = choice<cf::KnnAlgorithm>("algorithm", algorithm,
                                                        {{"basic", cf::KnnAlgorithm::Basic},
                                                         {"with_means", cf::KnnAlgorithm::WithMeans},
                                                         {"with_zscore", cf::KnnAlgorithm::WithZscore}});
             cf::KnnOptions& o = self->options;
             if (surprise_compatible) {
               o = cf::surprise_compatible(algo, k, min_k, min_support);
             } else {
               o.algorithm = algo;
               o.k = k;
               o.min_k = min_k;
               o.similarity.min_support = min_support;
               o.similarity.mean = choice<cf::PearsonMean>("mean", mean,
                                                           {{"co_rated", cf::PearsonMean::CoRated}, {"user", cf::PearsonMean::User}});
               o.similarity.shrinkage = choice<cf::Shrinkage>(
                   "shrinkage", shrinkage,
                   {{"n_minus_one", cf::Shrinkage::NMinusOne}, {"none", cf::Shrinkage::None}, {"n", cf::Shrinkage::N},
                    {"capped", cf::Shrinkage::Capped}});
               o.similarity.shrinkage_lambda = shrinkage_lambda;
               o.similarity.max_neighbors = max_neighbors;
               o.order = choice<cf::NeighborOrder>(
                   "order", order, {{"by_user_index", cf::NeighborOrder::ByUserIndex}, {"surprise", cf::NeighborOrder::Surprise}});
               o.fallback = choice<cf::FallbackPolicy>(
                   "fallback", fallback, {{"chain", cf::FallbackPolicy::Chain}, {"global_mean", cf::FallbackPolicy::GlobalMean}});
             }
             o.clip = clip;
             o.similarity.threads = threads;
             if (o.k < 1) throw InputError("bad_option", "k must be >= 1");
             if (o.min_k < 0) throw InputError("bad_option", "min_k must be >= 0");
             return self;
           }),
           py::arg("algorithm") = "with_means", py::arg("k") = 40, py::arg("min_k") = 1, py::arg("min_support") = 1,
           py::arg("mean") = "co_rated", py::arg("shrinkage") = "n_minus_one", py::arg("shrinkage_lambda") = 100.0,
           py::arg("max_neighbors") = 200, py::arg("order") = "by_user_index", py::arg("fallback") = "chain",
           py::arg("clip") = false, py::arg("surprise_compatible") = false, py::arg("threads") = 0)
      .def("fit", &knn_fit, py::arg("users"), py::arg("items") = py::none(), py::arg("ratings") = py::none(),
           py::kw_only(), py::arg("user_col") = "user", py::arg("item_col") = "item", py::arg("rating_col") = "rating",
           py::arg("duplicates") = "last_wins", py::return_value_policy::reference_internal,
           "Fits on (users, items, ratings) arrays or a pandas DataFrame; returns self.")
      .def("predict",
           [](const PyUserKnn& self, py::handle user, py::handle item) {
             bool integer = false;
             const std::string u = id_of(user, "user", integer), i = id_of(item, "item", integer);
             return self.read([&](const cf::UserKnn& knn) { return knn.predict(u, i).value; });
           },
           py::arg("user"), py::arg("item"), "Predicted rating; unknown users or items fall back to a mean.")
      .def("predict_many",
           [](const PyUserKnn& self, py::handle users_obj, py::handle items_obj, bool return_details) -> py::object {
             bool integer = false;
             const std::vector<std::string> users = ids_of(users_obj, "users", integer);
             const std::vector<std::string> items = ids_of(items_obj, "items", integer);
             if (users.size() != items.size())
               throw InputError("bad_shape", std::to_string(users.size()) + " users for " + std::to_string(items.size()) + " items");
             const std::vector<cf::Prediction> predictions = self.read([&](const cf::UserKnn& knn) {
               std::vector<std::pair<std::int32_t, std::int32_t>> pairs(users.size());
               for (std::size_t p = 0; p < users.size(); ++p)
                 pairs[p] = {knn.ratings().find_user(users[p]), knn.ratings().find_item(items[p])};
               return knn.predict_many(pairs, knn.options().similarity.threads);
             });
             std::vector<double> values(predictions.size());
             std::vector<std::int32_t> actual_k(predictions.size());
             py::list levels(predictions.size());
             for (std::size_t p = 0; p < predictions.size(); ++p) {
               values[p] = predictions[p].value;
               actual_k[p] = predictions[p].actual_k;
               if (return_details) levels[p] = prediction_level(predictions[p].level);
             }
             if (!return_details) return vector_array(std::move(values));
             return py::make_tuple(vector_array(std::move(values)),
                                   py::module_::import("numpy").attr("array")(levels, py::arg("dtype") = "object"),
                                   vector_array(std::move(actual_k)));
           },
           py::arg("users"), py::arg("items"), py::arg("return_details") = false,
           "Predictions for (users[p], items[p]) as float64 (P,); with return_details also the level "
           "('neighbors', 'user_mean', ...) and the neighbours used.")
      .def("recommend",
           [](const PyUserKnn& self, py::handle user, std::size_t n) {
             bool integer = false;
             const std::string u = id_of(user, "user", integer);
             std::vector<std::string> items;
             std::vector<double> scores;
             self.read([&](const cf::UserKnn& knn) {
               for (const cf::Recommendation& r : knn.recommend(u, n)) {
                 items.push_back(knn.ratings().item_id(r.item));
                 scores.push_back(r.score);
               }
               return 0;
             });
             return py::make_tuple(ids_array(items, self.integer_items()), vector_array(std::move(scores)));
           },
           py::arg("user"), py::arg("n") = 10, "(items, scores) of the n best unseen items by neighbour prediction.")
      .def_property_readonly("num_users", [](const PyUserKnn& self) {
        return self.read([](const cf::UserKnn& knn) { return knn.ratings().num_users(); });
      })
      .def_property_readonly("num_items", [](const PyUserKnn& self) {
        return self.read([](const cf::UserKnn& knn) { return knn.ratings().num_items(); });
      })
      .def_property_readonly("fitted", [](const PyUserKnn& self) { return self.model() != nullptr; });

  // ---- Recommender
  py::class_<rank::CfNeighbor>(m, "CfNeighbor", "A user similar to the one recommended for, who rated the item.")
      .def_readonly("user_id", &rank::CfNeighbor::user_id)
      .def_readonly("similarity", &rank::CfNeighbor::similarity)
      .def_readonly("rating", &rank::CfNeighbor::rating)
      .def("__repr__", [](const rank::CfNeighbor& n) {
        return "CfNeighbor(user_id='" + n.user_id + "', similarity=" + std::to_string(n.similarity) +
               ", rating=" + std::to_string(n.rating) + ")";
      });

  py::class_<rank::Recommended>(m, "Recommended", "One recommendation and why.")
      .def_readonly("id", &rank::Recommended::id)
      .def_readonly("row", &rank::Recommended::row)
      .def_readonly("score", &rank::Recommended::score)
      .def_readonly("content_score", &rank::Recommended::content_score)
      .def_readonly("cf_score", &rank::Recommended::cf_score)
      .def_readonly("closest_history_id", &rank::Recommended::closest_history_id)
      .def_readonly("closest_similarity", &rank::Recommended::closest_similarity)
      .def_readonly("cf_neighbors", &rank::Recommended::cf_neighbors,
                    "The most similar users behind cf_score (user_id, similarity, their rating), most similar first.")
      .def("__repr__", [](const rank::Recommended& r) {
        return "Recommended(id='" + r.id + "', score=" + std::to_string(r.score) + ")";
      });

  py::class_<PyRecommender>(m, "Recommender",
                            "Personalised top-k over a catalogue: content scores blended with CF, history excluded, explained.")
      .def(py::init([](py::object catalogue, py::object cf) {
             if (!py::isinstance<PyIndex>(catalogue))
               throw py::type_error("catalogue must be an EmbeddingIndex, not " + type_name(catalogue));
             if (!cf.is_none() && !py::isinstance<PyUserKnn>(cf))
               throw py::type_error("cf must be a UserKnn or None, not " + type_name(cf));
             return PyRecommender{std::move(catalogue), std::move(cf)};
           }),
           py::arg("catalogue"), py::arg("cf") = py::none())
      .def("profile_from_history", &recommender_profile, py::arg("history"), py::arg("recency_half_life") = 0.0,
           "Weighted mean of the history items' vectors, L2-normalised, as float32 (D,).")
      .def("recommend", &recommender_recommend, py::arg("profile"), py::arg("history") = py::none(),
           py::arg("cf_user") = py::none(), py::arg("k") = 10, py::arg("content_weight") = 0.7,
           py::arg("candidates") = 200, py::arg("mmr_lambda") = 1.0, py::arg("exclude") = py::none(),
           "The k best unseen items for a profile (D,), blended with the CF model's predictions for cf_user.")
      .def_readonly("catalogue", &PyRecommender::catalogue)
      .def_readonly("cf", &PyRecommender::cf);
}
