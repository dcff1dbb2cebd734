// embedrank.Recommender: personalised top-k over a catalogue, content scores
// blended with CF, history excluded, explained (rank/recommender.hpp).

#include <pybind11/stl.h>

#include <memory>
#include <string>
#include <vector>

#include "cf.hpp"
#include "common.hpp"
#include "embedrank/rank/recommender.hpp"
#include "index.hpp"
#include "recommender.hpp"

namespace embedrank_python {

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

namespace {

struct PyRecommender {
  py::object catalogue;  // PyIndex
  py::object cf;         // PyUserKnn or None
};

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
  const std::vector<std::string> exclude = optional_ids_of(exclude_obj, "exclude");
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

void bind_recommender(py::module_& m) {
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
           py::arg("cf_user") = py::none(), py::arg("k") = 10, py::arg("content_weight") = 0.3,
           py::arg("candidates") = 200, py::arg("mmr_lambda") = 1.0, py::arg("exclude") = py::none(),
           "The k best unseen items for a profile (D,), blended with the CF model's predictions for cf_user.")
      .def_readonly("catalogue", &PyRecommender::catalogue)
      .def_readonly("cf", &PyRecommender::cf);
}

}  // namespace embedrank_python
