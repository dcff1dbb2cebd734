// embedrank.retrieve_then_rerank (rank/rerank.hpp): an EmbeddingIndex's top
// `candidates` for a query vector, rescored by a pair scorer, the top k best
// first. The library function runs with the GIL released under the index's
// read lock; a SequenceClassifier scorer stays in C++, a Python callable
// (scorer, texts, boost) takes the GIL back for each call.

#include <pybind11/stl.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "classifier.hpp"
#include "common.hpp"
#include "embedrank/rank/rerank.hpp"
#include "index.hpp"

namespace embedrank_python {

namespace {

/// The id as a Python key: an int when the index's ids are all ints (as
/// search() returns them), else the str.
py::object id_key(const std::string& id, bool integer) {
  if (integer) return py::int_(std::stoll(id));
  return py::str(id);
}

/// texts_of(id) over a callable id -> str or a mapping id -> str.
std::function<std::string(const std::string&)> text_lookup(py::object texts, bool integer) {
  if (texts.is_none()) throw py::type_error("texts must be a mapping id -> str or a callable, not None");
  const bool call = PyCallable_Check(texts.ptr()) != 0;
  if (!call && !py::hasattr(texts, "__getitem__"))
    throw py::type_error("texts must be a mapping id -> str or a callable, not " + type_name(texts));
  return [texts = std::move(texts), call, integer](const std::string& id) {
    py::gil_scoped_acquire gil;
    const py::object key = id_key(id, integer);
    const py::object text = call ? texts(key) : py::object(texts[key]);
    if (!PyUnicode_Check(text.ptr()))
      throw py::type_error("the text of item '" + id + "' is " + type_name(text) + ", not str");
    return utf8_of(text);
  };
}

/// boost(id) over a callable id -> float or a mapping id -> float (0 for an id it lacks); empty for None.
std::function<float(const std::string&)> boost_lookup(py::object boost, bool integer) {
  if (boost.is_none()) return {};
  const bool call = PyCallable_Check(boost.ptr()) != 0;
  if (!call && !py::hasattr(boost, "get"))
    throw py::type_error("boost must be a mapping id -> float, a callable or None, not " + type_name(boost));
  return [boost = std::move(boost), call, integer](const std::string& id) {
    py::gil_scoped_acquire gil;
    const py::object key = id_key(id, integer);
    const py::object value = call ? boost(key) : boost.attr("get")(key, 0.0);
    return value.cast<float>();
  };
}

/// A Python scorer: scorer(query, texts) -> one number per text, as float32.
rank::PairScorer python_scorer(py::object scorer) {
  return [scorer = std::move(scorer)](const std::string& query, const std::vector<std::string>& texts) {
    py::gil_scoped_acquire gil;
    py::list batch;
    for (const std::string& t : texts) batch.append(py::str(t));
    const py::object result = scorer(py::str(query), batch);
    const auto scores = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(result);
    if (!scores) {
      PyErr_Clear();
      throw py::type_error("the scorer returned " + type_name(result) + ", expected a sequence of numbers");
    }
    if (scores.ndim() != 1)
      throw InputError("bad_shape", "the scorer returned " + std::to_string(scores.ndim()) +
                                        " dimensions, expected one score per text");
    return std::vector<float>(scores.data(), scores.data() + scores.size());
  };
}

/// A SequenceClassifier as the scorer: CrossEncoder.predict of (query, text),
/// in C++ on the classifier's workspace (the GIL stays released).
rank::PairScorer classifier_scorer(PySequenceClassifier& classifier, std::size_t batch_size) {
  if (classifier.classifier().labels().size() != 1)
    throw InputError("rerank.not_a_reranker", classifier.path() + ": the model gives " +
                                                  std::to_string(classifier.classifier().labels().size()) +
                                                  " scores per pair; reranking needs one (a CrossEncoder)");
  return [&classifier, batch_size](const std::string& query, const std::vector<std::string>& texts) {
    std::vector<std::pair<std::string, std::string>> pairs;
    pairs.reserve(texts.size());
    for (const std::string& t : texts) pairs.emplace_back(query, t);
    const MatrixF scores = classifier.run([&](model::EncoderWorkspace<float>& ws) {
      return classifier.classifier().predict(pairs, ws, batch_size);
    });  // (pairs, 1)
    return std::vector<float>(scores.data(), scores.data() + scores.rows());
  };
}

std::vector<rank::RerankedItem> retrieve_then_rerank(py::handle index_obj, py::handle query_obj, py::handle query_text_obj,
                                                     py::object texts, py::object scorer, std::size_t candidates,
                                                     std::size_t k, std::size_t batch_size, py::object boost,
                                                     double boost_weight, py::handle exclude_obj) {
  if (!py::isinstance<PyIndex>(index_obj)) throw py::type_error("index must be an EmbeddingIndex, not " + type_name(index_obj));
  const PyIndex& index = index_obj.cast<const PyIndex&>();
  const FloatRows query = float_rows(query_obj, "query_vector");
  if (!query.one_dimensional) throw InputError("bad_shape", "query_vector must be one vector (D,), got a 2-D array");
  if (!PyUnicode_Check(query_text_obj.ptr()))
    throw py::type_error("query_text must be a str, not " + type_name(query_text_obj));
  const std::string query_text = utf8_of(query_text_obj);
  const std::vector<std::string> exclude = optional_ids_of(exclude_obj, "exclude");

  rank::RerankOptions options;
  options.candidates = candidates;
  options.k = k;
  options.batch_size = batch_size;
  options.boost = boost_lookup(std::move(boost), index.integer_ids());
  options.boost_weight = boost_weight;
  const auto text_of = text_lookup(std::move(texts), index.integer_ids());
  rank::PairScorer pair_scorer;
  if (py::isinstance<PySequenceClassifier>(scorer)) {
    pair_scorer = classifier_scorer(scorer.cast<PySequenceClassifier&>(), batch_size);
  } else if (PyCallable_Check(scorer.ptr())) {
    pair_scorer = python_scorer(scorer);
  } else {
    throw py::type_error("scorer must be a SequenceClassifier or a callable (query, texts) -> scores, not " +
                         type_name(scorer));
  }

  // text_of, options.boost and pair_scorer hold Python objects: they are
  // made and destroyed here, with the GIL held; read() runs without it
  return index.read([&](const rank::EmbeddingIndex& items) {
    if (query.cols != items.dim())
      throw InputError("dimension_mismatch", "query_vector has " + std::to_string(query.cols) + " values, the index " +
                                                 std::to_string(items.dim()));
    const embedrank::VectorF vector = Eigen::Map<const embedrank::VectorF>(query.data, static_cast<Eigen::Index>(query.cols));
    rank::ItemBitmap excluded;
    rank::SearchFilter filter;
    if (!exclude.empty()) {
      excluded = items.exclusion(exclude);
      filter.exclude = &excluded;
    }
    return rank::retrieve_then_rerank(items, vector, query_text, text_of, pair_scorer, options, filter);
  });
}

}  // namespace

void bind_rerank(py::module_& m) {
  py::class_<rank::RerankedItem>(m, "RerankedItem", "One reranked item and its scores.")
      .def_readonly("id", &rank::RerankedItem::id, "The item id as text (as Recommended.id).")
      .def_readonly("retrieval_score", &rank::RerankedItem::retrieval_score, "The index's score of the query vector.")
      .def_readonly("rerank_score", &rank::RerankedItem::rerank_score, "The scorer's score of (query text, item text).")
      .def_readonly("boost", &rank::RerankedItem::boost, "boost(id), 0 without a boost.")
      .def_readonly("score", &rank::RerankedItem::score,
                    "The final score: rerank_score, or (1 - w) rerank_score + w boost with boost_weight w > 0.")
      .def_readonly("retrieval_rank", &rank::RerankedItem::retrieval_rank, "The item's place in the retrieved list, from 0.")
      .def("__repr__", [](const rank::RerankedItem& r) {
        return "RerankedItem(id='" + r.id + "', score=" + std::to_string(r.score) +
               ", retrieval_rank=" + std::to_string(r.retrieval_rank) + ")";
      });

  m.def("retrieve_then_rerank", &retrieve_then_rerank, py::arg("index"), py::arg("query_vector"), py::arg("query_text"),
        py::arg("texts"), py::arg("scorer"), py::kw_only(), py::arg("candidates") = 100, py::arg("k") = 10,
        py::arg("batch_size") = 32, py::arg("boost") = py::none(), py::arg("boost_weight") = 0.0,
        py::arg("exclude") = py::none(),
        "The index's top `candidates` for query_vector (D,) float32, each rescored by scorer(query_text, its text), "
        "the top k by the final score (ties in retrieval order) as RerankedItem. texts: a mapping id -> str or a "
        "callable; scorer: a SequenceClassifier (CrossEncoder.predict, one label) or a callable (query, texts) -> "
        "scores; boost: a mapping id -> float (0 where missing) or a callable, blended with weight boost_weight. Ids "
        "reach the callables as int when the index's ids are ints, else as str.");
}

}  // namespace embedrank_python
