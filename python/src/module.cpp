// embedrank._embedrank: the Python bindings (pybind11) over the library's
// headers, one file per class family (conventions: common.hpp).

#include "common.hpp"

PYBIND11_MODULE(_embedrank, m) {
  namespace py = pybind11;
  using namespace embedrank_python;
  m.doc() = "embedrank: text embeddings, exact top-k search, user-kNN collaborative filtering, classification heads "
            "and ranking";

  // option -> the names its enum's C++ table accepts (register_enum_names)
  py::dict enum_names;
  m.attr("_enum_names") = enum_names;
  m.def(
      "enum_names", [enum_names]() { return py::dict(enum_names.attr("copy")()); },
      "Every text option and the names it takes, from the library's own tables (core/enum_text.hpp): "
      "{'metric': ('inner_product', 'ip', 'cosine'), ...}. A value's first name is the one printed back.");

  bind_errors(m);
  bind_embedder(m);
  bind_index(m);
  bind_cf(m);
  bind_recommender(m);
  bind_shop(m);
  bind_classifiers(m);
  bind_rerank(m);
}
