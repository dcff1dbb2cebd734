#pragma once
// What every binding file of embedrank._embedrank shares: argument
// conversion (numpy <-> Eigen, texts, ids), the library's enum names, the
// per-object workspace that lets the GIL go, and the bind_* entry points
// module.cpp calls.
//
// Conventions, the same for every function of the module:
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
//   - String-valued options are the library's enum names (core/enum_text.hpp,
//     the command line's spelling), parsed by embedrank::parse<E> and printed
//     by embedrank::to_string; enum_names() lists them per option.
//   - embedrank::Error subclasses become embedrank.Error subclasses whose
//     message carries the "[embedrank.<id>]" id and whose .id is that id;
//     a wrong argument type (None, an int where a text belongs) is a TypeError.

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "embedrank/core/enum_text.hpp"
#include "embedrank/core/error.hpp"
#include "embedrank/core/tensor.hpp"

namespace embedrank_python {

namespace py = pybind11;
using embedrank::InputError;
using embedrank::MatrixF;

// ---------------------------------------------------------------- one per binding file

void bind_errors(py::module_& m);       // common.cpp: embedrank.Error and its subclasses
void bind_embedder(py::module_& m);     // Embedder
void bind_index(py::module_& m);        // EmbeddingIndex
void bind_cf(py::module_& m);           // UserKnn
void bind_recommender(py::module_& m);  // Recommender, Recommended, CfNeighbor
void bind_shop(py::module_& m);         // Product, Catalogue, CatalogueAttributes, ShoppingGuide
void bind_classifiers(py::module_& m);  // SequenceClassifier, TokenClassifier, TokenEntity
void bind_rerank(py::module_& m);       // retrieve_then_rerank, RerankedItem

// ---------------------------------------------------------------- inputs

/// A (rows, cols) float32 block read in place from a numpy array; `owner`
/// keeps the array alive while the GIL is released.
struct FloatRows {
  py::array owner;
  const float* data = nullptr;
  std::size_t rows = 0, cols = 0;
  bool one_dimensional = false;
};

/// The Python type name of `obj`, for messages.
std::string type_name(py::handle obj);

/// A C-contiguous float32 array of 1 or 2 dimensions (1-D: one row).
FloatRows float_rows(py::handle obj, const char* what);

/// UTF-8 bytes of a Python str; a str that cannot be encoded (lone
/// surrogates) raises UnicodeEncodeError.
std::string utf8_of(py::handle text);

/// A str (one text; `single` set) or an iterable of str.
std::vector<std::string> texts_of(py::handle obj, bool& single, const char* what = "texts");

/// One id: a str as it is, an integer as its decimal text (the library's
/// convention); `integer` tells which it was.
std::string id_of(py::handle obj, const std::string& what, bool& integer);

/// True for a str or an integer (not bool): something id_of takes.
bool is_id_scalar(py::handle obj);

/// Ids from an integer numpy array (fast path) or an iterable of str / int;
/// `all_integer` is cleared when any id is a str.
std::vector<std::string> ids_of(py::handle obj, const char* what, bool& all_integer);

/// One id or a sequence of ids (None: none), for exclude= arguments.
std::vector<std::string> optional_ids_of(py::handle obj, const char* what);

/// True when `id` is the decimal text of an int64 as std::to_string writes it.
bool is_integer_text(const std::string& id);

// ---------------------------------------------------------------- outputs

/// A (rows, cols) float32 numpy array that owns `matrix` (no copy).
py::array_t<float> array_of(MatrixF&& matrix);

/// A 1-D numpy array that owns `values` (no copy).
template <typename T>
py::array_t<T> vector_array(std::vector<T>&& values) {
  auto* owned = new std::vector<T>(std::move(values));
  py::capsule release(owned, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array_t<T>({static_cast<py::ssize_t>(owned->size())}, {static_cast<py::ssize_t>(sizeof(T))}, owned->data(),
                        release);
}

/// A numpy array of ids: int64 when the ids were integers, else object (str).
py::array ids_array(const std::vector<std::string>& ids, bool integer);

// ---------------------------------------------------------------- enums

/// The value of Enum named `text` in the library's table (every spelling the
/// command line takes); InputError "input.unknown_<enum>" otherwise.
template <typename Enum>
Enum enum_of(const std::string& text) {
  return embedrank::parse<Enum>(text);
}

/// Records Enum's names (its C++ table, aliases included, the name
/// to_string gives first) under `option` in embedrank.enum_names().
template <typename Enum>
void register_enum_names(py::module_& m, const char* option) {
  py::list names;
  for (const embedrank::EnumName<Enum>& e : enum_text(Enum{})) names.append(py::str(e.name));
  m.attr("_enum_names")[py::str(option)] = py::tuple(names);
}

// ---------------------------------------------------------------- workspaces

/// A model's scratch memory for calls with the GIL released: the object's
/// own workspace, or a fresh one when another thread is using it (models
/// are immutable; only the workspace is per caller).
template <typename Workspace>
class WorkspaceSlot {
 public:
  explicit WorkspaceSlot(int threads) : threads_(threads) {}

  /// Runs `work(workspace)`; the caller has released the GIL.
  template <typename Work>
  auto run(Work&& work) {
    std::unique_lock<std::mutex> lock(mutex_, std::try_to_lock);
    if (!lock.owns_lock()) {
      Workspace local(threads_);
      return work(local);
    }
    if (!workspace_) workspace_ = std::make_unique<Workspace>(threads_);
    return work(*workspace_);
  }

  int threads() const { return threads_; }

 private:
  int threads_;
  std::mutex mutex_;
  std::unique_ptr<Workspace> workspace_;
};

}  // namespace embedrank_python
