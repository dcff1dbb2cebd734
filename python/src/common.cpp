// Argument conversion shared by the binding files, and the error classes
// (embedrank.Error and one subclass per C++ error class).

#include "common.hpp"

#include <cstdint>
#include <exception>

namespace embedrank_python {

// ---------------------------------------------------------------- errors

namespace {

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

}  // namespace

void bind_errors(py::module_& m) {
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
}

// ---------------------------------------------------------------- inputs

std::string type_name(py::handle obj) { return py::str(py::type::handle_of(obj).attr("__name__")); }

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

std::string utf8_of(py::handle text) {
  Py_ssize_t size = 0;
  const char* data = PyUnicode_AsUTF8AndSize(text.ptr(), &size);
  if (data == nullptr) throw py::error_already_set();
  return std::string(data, static_cast<std::size_t>(size));
}

std::vector<std::string> texts_of(py::handle obj, bool& single, const char* what) {
  single = false;
  if (obj.is_none()) throw py::type_error(std::string(what) + " must be a str or a sequence of str, not None");
  if (PyUnicode_Check(obj.ptr())) {
    single = true;
    return {utf8_of(obj)};
  }
  if (PyBytes_Check(obj.ptr()) || !py::isinstance<py::iterable>(obj))
    throw py::type_error(std::string(what) + " must be a str or a sequence of str, not " + type_name(obj));
  std::vector<std::string> texts;
  for (py::handle item : obj) {
    if (!PyUnicode_Check(item.ptr()))
      throw py::type_error(std::string(what) + "[" + std::to_string(texts.size()) + "] is " + type_name(item) +
                           ", not str");
    texts.push_back(utf8_of(item));
  }
  return texts;
}

namespace {

bool is_integer_scalar(py::handle obj) {
  if (PyBool_Check(obj.ptr())) return false;
  if (PyLong_Check(obj.ptr())) return true;
  return py::isinstance(obj, py::module_::import("numpy").attr("integer"));
}

}  // namespace

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

std::vector<std::string> optional_ids_of(py::handle obj, const char* what) {
  if (obj.is_none()) return {};
  bool integer = false;
  if (is_id_scalar(obj)) return {id_of(obj, what, integer)};
  return ids_of(obj, what, integer);
}

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

py::array_t<float> array_of(MatrixF&& matrix) {
  auto* owned = new MatrixF(std::move(matrix));
  py::capsule release(owned, [](void* p) { delete static_cast<MatrixF*>(p); });
  const auto rows = static_cast<py::ssize_t>(owned->rows()), cols = static_cast<py::ssize_t>(owned->cols());
  return py::array_t<float>({rows, cols}, {cols * static_cast<py::ssize_t>(sizeof(float)), static_cast<py::ssize_t>(sizeof(float))},
                            owned->data(), release);
}

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

}  // namespace embedrank_python
