// embedrank.EmbeddingIndex: exact top-k over item vectors (rank/embedding_index.hpp).

#include <pybind11/stl.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "common.hpp"
#include "index.hpp"

namespace embedrank_python {

namespace {

rank::IndexOptions index_options(const std::string& metric, const std::string& storage, int threads) {
  rank::IndexOptions options;
  options.metric = enum_of<rank::Metric>(metric);
  options.storage = enum_of<rank::Storage>(storage);
  options.threads = threads;
  return options;
}

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
/// k = 0 gives empty results, as in C++ (docs/ranking.md, "Defined results").
py::tuple index_search(const PyIndex& self, py::handle queries_obj, long long k, py::handle exclude_obj) {
  if (k < 0) throw InputError("bad_option", "k must be >= 0, got " + std::to_string(k));
  const FloatRows queries = float_rows(queries_obj, "queries");
  const std::vector<std::string> exclude = optional_ids_of(exclude_obj, "exclude");
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

}  // namespace

void bind_index(py::module_& m) {
  register_enum_names<rank::Metric>(m, "metric");
  register_enum_names<rank::Storage>(m, "storage");
  py::class_<PyIndex>(m, "EmbeddingIndex", "Exact top-k over item vectors (inner product or cosine).")
      .def(py::init([](std::size_t dim, const std::string& metric, const std::string& storage, int threads) {
             return std::make_unique<PyIndex>(rank::EmbeddingIndex(dim, index_options(metric, storage, threads)), true);
           }),
           py::arg("dim"), py::arg("metric") = "inner_product", py::arg("storage") = "float32",
           py::arg("threads") = 0,
           "An empty index of dim-dimensional vectors; metric and storage take the names embedrank-search's "
           "--metric and --storage take (enum_names()['metric'], ['storage']).")
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
      .def_static("load", &index_load, py::arg("vectors_path"), py::arg("ids_path") = py::none(),
                  py::arg("metric") = "inner_product", py::arg("storage") = "float32", py::arg("threads") = 0,
                  "An index of the (N, D) float32 .npy's rows, ids one per line (default: the row numbers).")
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
      .def_property_readonly("metric", [](const PyIndex& self) { return embedrank::to_string(self.unlocked().metric()); },
                             "The metric's name: 'inner_product' or 'cosine'.")
      .def_property_readonly("storage", [](const PyIndex& self) { return embedrank::to_string(self.unlocked().storage()); },
                             "The storage's name: 'float32' or 'float16'.")
      .def("__len__", [](const PyIndex& self) { return self.read([](const rank::EmbeddingIndex& i) { return i.size(); }); })
      .def("__contains__",
           [](const PyIndex& self, py::handle id_obj) {
             bool integer = false;
             if (!is_id_scalar(id_obj)) return false;
             const std::string id = id_of(id_obj, "id", integer);
             return self.read([&](const rank::EmbeddingIndex& index) { return index.contains(id); });
           })
      .def("__repr__", [](const PyIndex& self) {
        return "EmbeddingIndex(dim=" + std::to_string(self.unlocked().dim()) + ", metric='" +
               embedrank::to_string(self.unlocked().metric()) + "', storage='" +
               embedrank::to_string(self.unlocked().storage()) + "')";
      });
}

}  // namespace embedrank_python
