// The task heads: embedrank.SequenceClassifier (classification and
// CrossEncoder heads, model/sequence_classifier.hpp) and
// embedrank.TokenClassifier (per-token labels and entity spans,
// model/token_classifier.hpp). Each call runs the C++ method of the same
// name with the GIL released; scores are float32 as the library computes them.
//
//   N = texts or pairs   NL = labels   T = tokens of one text

#include <pybind11/stl.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "classifier.hpp"
#include "common.hpp"
#include "embedrank/model/token_classifier.hpp"

namespace embedrank_python {

namespace {

void check_batch_size(std::size_t batch_size) {
  if (batch_size == 0) throw InputError("bad_option", "batch_size must be >= 1");
}

/// (first, second) from a 2-item tuple or list of str; `where` names it in errors.
std::pair<std::string, std::string> pair_of(py::handle obj, const std::string& where) {
  if (!(PyTuple_Check(obj.ptr()) || PyList_Check(obj.ptr())) || py::len(obj) != 2)
    throw py::type_error(where + " must be a (str, str) pair, not " + type_name(obj) +
                         (PyTuple_Check(obj.ptr()) || PyList_Check(obj.ptr()) ? " of " + std::to_string(py::len(obj)) : ""));
  const auto fields = py::reinterpret_borrow<py::sequence>(obj);
  for (std::size_t i = 0; i < 2; ++i)
    if (!PyUnicode_Check(fields[i].ptr()))
      throw py::type_error(where + "[" + std::to_string(i) + "] is " + type_name(fields[i]) + ", not str");
  return {utf8_of(fields[0]), utf8_of(fields[1])};
}

/// One pair (a 2-item tuple or list of str; `single` set), as
/// CrossEncoder.predict takes it, or an iterable of pairs.
std::vector<std::pair<std::string, std::string>> pairs_of(py::handle obj, bool& single) {
  single = false;
  if (obj.is_none()) throw py::type_error("pairs must be a sequence of (str, str) pairs, not None");
  if ((PyTuple_Check(obj.ptr()) || PyList_Check(obj.ptr())) && py::len(obj) == 2) {
    const auto fields = py::reinterpret_borrow<py::sequence>(obj);
    if (PyUnicode_Check(fields[0].ptr()) && PyUnicode_Check(fields[1].ptr())) {
      single = true;
      return {pair_of(obj, "pair")};
    }
  }
  if (PyUnicode_Check(obj.ptr()) || PyBytes_Check(obj.ptr()) || !py::isinstance<py::iterable>(obj))
    throw py::type_error("pairs must be a sequence of (str, str) pairs, not " + type_name(obj));
  std::vector<std::pair<std::string, std::string>> pairs;
  for (py::handle item : obj) pairs.push_back(pair_of(item, "pairs[" + std::to_string(pairs.size()) + "]"));
  return pairs;
}

/// (N, NL) scores as a numpy array, or row 0 as (NL,) for a single input.
py::object scores_array(MatrixF&& scores, bool single) {
  py::array_t<float> array = array_of(std::move(scores));
  if (single) return array[py::int_(0)];
  return std::move(array);
}

// ---------------------------------------------------------------- SequenceClassifier

/// Runs `method(texts, ws, batch_size)` (logits or classify) on one str or a sequence of str.
template <typename Method>
py::object on_texts(PySequenceClassifier& self, py::handle texts_obj, std::size_t batch_size, Method method) {
  check_batch_size(batch_size);
  bool single = false;
  const std::vector<std::string> texts = texts_of(texts_obj, single);
  MatrixF scores;
  {
    py::gil_scoped_release unlocked;
    scores = self.run([&](model::EncoderWorkspace<float>& ws) { return (self.classifier().*method)(texts, ws, batch_size); });
  }
  return scores_array(std::move(scores), single);
}

/// Runs `method(pairs, ws, batch_size)` (pair_logits or predict) on one pair or a sequence of pairs.
template <typename Method>
py::object on_pairs(PySequenceClassifier& self, py::handle pairs_obj, std::size_t batch_size, Method method) {
  check_batch_size(batch_size);
  bool single = false;
  const std::vector<std::pair<std::string, std::string>> pairs = pairs_of(pairs_obj, single);
  MatrixF scores;
  {
    py::gil_scoped_release unlocked;
    scores = self.run([&](model::EncoderWorkspace<float>& ws) { return (self.classifier().*method)(pairs, ws, batch_size); });
  }
  return scores_array(std::move(scores), single);
}

/// [(label, score), ...] best first (ties in label order) per row of
/// classify() scores: a list of lists for (N, NL), one list for (NL,).
py::object ranked_labels(const PySequenceClassifier& self, py::handle scores_obj, std::optional<std::size_t> top_k) {
  const FloatRows rows = float_rows(scores_obj, "scores");
  const std::size_t NL = self.classifier().labels().size();
  if (rows.cols != NL)
    throw InputError("bad_shape", "scores have " + std::to_string(rows.cols) + " columns, the model " + std::to_string(NL) +
                                      " labels");
  const MatrixF scores = Eigen::Map<const MatrixF>(rows.data, static_cast<Eigen::Index>(rows.rows), static_cast<Eigen::Index>(NL));
  py::list out;
  for (Eigen::Index r = 0; r < scores.rows(); ++r) {
    std::vector<model::LabelScore> ranked = self.classifier().ranked_labels(scores, r);
    if (top_k && ranked.size() > *top_k) ranked.resize(*top_k);
    py::list row;
    for (const model::LabelScore& l : ranked) row.append(py::make_tuple(l.label, l.score));
    out.append(row);
  }
  if (rows.one_dimensional) return out[0];
  return std::move(out);
}

// ---------------------------------------------------------------- TokenClassifier

class PyTokenClassifier {
 public:
  PyTokenClassifier(const std::string& path, int threads) : path_(path), workspace_(threads) {
    py::gil_scoped_release unlocked;
    classifier_ = model::TokenClassifier::open(path);
  }

  const model::TokenClassifier& classifier() const { return *classifier_; }
  const std::string& path() const { return path_; }
  int threads() const { return workspace_.threads(); }

  /// Runs `work(workspace)` with the GIL released (see WorkspaceSlot).
  template <typename Work>
  auto with_workspace(Work work) {
    py::gil_scoped_release unlocked;
    return workspace_.run(work);
  }

 private:
  std::string path_;
  std::shared_ptr<const model::TokenClassifier> classifier_;
  WorkspaceSlot<model::EncoderWorkspace<float>> workspace_;
};

/// input_ids, offsets (T, 2) in characters, special_tokens_mask (T,) as
/// int64 and logits (T, NL) float32 of one text, truncated to the model's
/// max_seq_length.
py::dict token_logits(PyTokenClassifier& self, const std::string& text) {
  auto [encoding, logits] = self.with_workspace(
      [&](model::EncoderWorkspace<float>& ws) { return self.classifier().token_logits(text, ws); });
  const auto T = static_cast<py::ssize_t>(encoding.ids.size());
  py::array_t<std::int64_t> ids({T}), mask({T}), offsets({T, py::ssize_t{2}});
  auto id_view = ids.mutable_unchecked<1>();
  auto mask_view = mask.mutable_unchecked<1>();
  auto offset_view = offsets.mutable_unchecked<2>();
  for (py::ssize_t t = 0; t < T; ++t) {
    const auto at = static_cast<std::size_t>(t);
    id_view(t) = encoding.ids[at];
    mask_view(t) = encoding.special_tokens_mask[at];
    offset_view(t, 0) = static_cast<std::int64_t>(encoding.offsets[at].first);
    offset_view(t, 1) = static_cast<std::int64_t>(encoding.offsets[at].second);
  }
  py::dict out;
  out["input_ids"] = ids;
  out["offsets"] = offsets;
  out["special_tokens_mask"] = mask;
  out["logits"] = array_of(std::move(logits));
  return out;
}

/// The entities of one str (a list) or of each text of a sequence (a list of lists).
py::object entities(PyTokenClassifier& self, py::handle texts_obj, const std::string& aggregation, std::size_t stride) {
  const auto strategy = enum_of<model::Aggregation>(aggregation);
  bool single = false;
  const std::vector<std::string> texts = texts_of(texts_obj, single);
  const auto found = self.with_workspace([&](model::EncoderWorkspace<float>& ws) {
    std::vector<std::vector<model::TokenEntity>> out;
    out.reserve(texts.size());
    for (const std::string& text : texts) out.push_back(self.classifier().entities(text, ws, strategy, stride));
    return out;
  });
  if (single) return py::cast(found[0]);
  return py::cast(found);
}

}  // namespace

void bind_classifiers(py::module_& m) {
  register_enum_names<model::Aggregation>(m, "aggregation");

  py::class_<PySequenceClassifier>(
      m, "SequenceClassifier",
      "A sequence-classification head on the encoder (a *ForSequenceClassification checkpoint or a sentence-transformers "
      "CrossEncoder, converted by weights_tools/convert.py): logits, CrossEncoder.predict scores and the "
      "text-classification pipeline's label scores.")
      .def(py::init<const std::string&, int>(), py::arg("path"), py::arg("threads") = 0,
           "Opens a converted classifier file; threads: encoder threads (0: every CPU). FormatError "
           "'format.no_head' for a file without a sequence-classification head.")
      .def("logits",
           [](PySequenceClassifier& self, py::handle texts, std::size_t batch_size) {
             return on_texts(self, texts, batch_size, &model::SequenceClassifier::logits);
           },
           py::arg("texts"), py::arg("batch_size") = 32,
           "Logits float32 (N, NL) of single texts, or (NL,) for one str.")
      .def("pair_logits",
           [](PySequenceClassifier& self, py::handle pairs, std::size_t batch_size) {
             return on_pairs(self, pairs, batch_size, &model::SequenceClassifier::pair_logits);
           },
           py::arg("pairs"), py::arg("batch_size") = 32,
           "Logits float32 (N, NL) of (first, second) pairs ([CLS] first [SEP] second [SEP]), or (NL,) for one pair.")
      .def("predict",
           [](PySequenceClassifier& self, py::handle pairs, std::size_t batch_size) {
             return on_pairs(self, pairs, batch_size, &model::SequenceClassifier::predict);
           },
           py::arg("pairs"), py::arg("batch_size") = 32,
           "CrossEncoder.predict: the pairs' logits through the model's activation (sigmoid for one logit unless "
           "the model says otherwise), float32 (N, NL), or (NL,) for one pair.")
      .def("classify",
           [](PySequenceClassifier& self, py::handle texts, std::size_t batch_size) {
             return on_texts(self, texts, batch_size, &model::SequenceClassifier::classify);
           },
           py::arg("texts"), py::arg("batch_size") = 32,
           "The text-classification pipeline's score per label, float32 (N, NL) in label order, or (NL,) for one "
           "str: softmax over the labels, a sigmoid per label for multi-label models or one logit, the logit for "
           "regression.")
      .def("ranked_labels", &ranked_labels, py::arg("scores"), py::arg("top_k") = py::none(),
           "[(label, score), ...] best first (ties in label order) for each row of classify() scores (N, NL), "
           "or one list for (NL,); top_k keeps the first top_k.")
      .def_property_readonly("labels", [](const PySequenceClassifier& self) { return self.classifier().labels(); })
      .def_property_readonly("max_seq_length",
                             [](const PySequenceClassifier& self) { return self.classifier().max_seq_length(); })
      .def_property_readonly("path", &PySequenceClassifier::path)
      .def_property_readonly("threads", &PySequenceClassifier::threads)
      .def("__repr__", [](const PySequenceClassifier& self) {
        return "SequenceClassifier('" + self.path() + "', labels=" + std::to_string(self.classifier().labels().size()) + ")";
      });

  py::class_<model::TokenEntity>(m, "TokenEntity",
                                 "A labelled span of a text: [begin, end) in characters (code points) and "
                                 "[byte_begin, byte_end) in UTF-8 bytes, and the text itself.")
      .def_readonly("label", &model::TokenEntity::label,
                    "The token's label (aggregation 'none') or the entity type without B-/I- (the others).")
      .def_readonly("score", &model::TokenEntity::score)
      .def_readonly("begin", &model::TokenEntity::begin)
      .def_readonly("end", &model::TokenEntity::end)
      .def_readonly("byte_begin", &model::TokenEntity::byte_begin)
      .def_readonly("byte_end", &model::TokenEntity::byte_end)
      .def_readonly("text", &model::TokenEntity::text)
      .def("__repr__", [](const model::TokenEntity& e) {
        return "TokenEntity(label='" + e.label + "', score=" + std::to_string(e.score) + ", begin=" + std::to_string(e.begin) +
               ", end=" + std::to_string(e.end) + ")";
      });

  py::class_<PyTokenClassifier>(m, "TokenClassifier",
                                "A label per token (a *ForTokenClassification checkpoint converted by "
                                "weights_tools/convert.py) and the token-classification pipeline's entity spans.")
      .def(py::init<const std::string&, int>(), py::arg("path"), py::arg("threads") = 0,
           "Opens a converted token classifier file; threads: encoder threads (0: every CPU). FormatError "
           "'format.no_head' for a file without a token-classification head.")
      .def("token_logits", &token_logits, py::arg("text"),
           "input_ids, special_tokens_mask (T,) and offsets (T, 2) (characters; (0, 0) for special tokens) as int64, "
           "and logits float32 (T, NL) of one text, truncated to the model's max_seq_length.")
      .def("entities", &entities, py::arg("texts"), py::arg("aggregation") = "simple", py::arg("stride") = 0,
           "The entities of one str (a list of TokenEntity) or of each text of a sequence (a list of lists), as the "
           "token-classification pipeline with that aggregation_strategy (none, simple, first, average, max) finds "
           "them; stride > 0 reads a text longer than the model's window in windows sharing stride tokens "
           "(InputError 'input.tokens.bad_stride' with aggregation 'none' or a stride that leaves no new tokens).")
      .def_property_readonly("labels", [](const PyTokenClassifier& self) { return self.classifier().labels(); })
      .def_property_readonly("path", &PyTokenClassifier::path)
      .def_property_readonly("threads", &PyTokenClassifier::threads)
      .def("__repr__", [](const PyTokenClassifier& self) {
        return "TokenClassifier('" + self.path() + "', labels=" + std::to_string(self.classifier().labels().size()) + ")";
      });
}

}  // namespace embedrank_python
