// embedrank.UserKnn: Pearson user-kNN rating prediction (cf/user_knn.hpp),
// with embedrank-cf's options under their command-line names.

#include <pybind11/stl.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cf.hpp"
#include "common.hpp"

namespace embedrank_python {

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

cf::Ratings build_ratings(const std::vector<std::string>& users, const std::vector<std::string>& items,
                          const std::vector<double>& values, cf::DuplicatePolicy duplicates) {
  py::gil_scoped_release unlocked;
  cf::RatingsBuilder builder("ratings");
  for (std::size_t r = 0; r < values.size(); ++r) builder.add(users[r], items[r], values[r], r + 1);
  return builder.build(duplicates);
}

cf::Ratings ratings_from_python(py::handle users, py::handle items, py::handle ratings, cf::DuplicatePolicy duplicates,
                                bool* integer_users, bool* integer_items) {
  bool users_integer = true, items_integer = true;
  const std::vector<std::string> user_ids = ids_of(users, "users", users_integer);
  const std::vector<std::string> item_ids = ids_of(items, "items", items_integer);
  const std::vector<double> values = ratings_of(ratings);
  if (user_ids.size() != item_ids.size() || user_ids.size() != values.size())
    throw InputError("bad_shape", std::to_string(user_ids.size()) + " users, " + std::to_string(item_ids.size()) +
                                      " items and " + std::to_string(values.size()) + " ratings: they must be as many");
  if (integer_users != nullptr) *integer_users = users_integer;
  if (integer_items != nullptr) *integer_items = items_integer;
  return build_ratings(user_ids, item_ids, values, duplicates);
}

namespace {

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
  cf::Ratings built =
      ratings_from_python(users, items, ratings, enum_of<cf::DuplicatePolicy>(duplicates), &integer_users, &integer_items);
  self.fit(std::move(built), integer_users, integer_items);
  return self;
}

}  // namespace

void bind_cf(py::module_& m) {
  register_enum_names<cf::KnnAlgorithm>(m, "algorithm");
  register_enum_names<cf::PearsonMean>(m, "mean");
  register_enum_names<cf::Shrinkage>(m, "shrinkage");
  register_enum_names<cf::NeighborOrder>(m, "order");
  register_enum_names<cf::FallbackPolicy>(m, "fallback");
  register_enum_names<cf::DuplicatePolicy>(m, "duplicates");
  register_enum_names<cf::PredictionLevel>(m, "prediction_level");
  py::class_<PyUserKnn>(m, "UserKnn", "Pearson user-kNN rating prediction (KNNBasic / KNNWithMeans / KNNWithZScore).")
      .def(py::init([](const std::string& algorithm, int k, int min_k, int min_support, const std::string& mean,
                       const std::string& shrinkage, double shrinkage_lambda, int max_neighbors, const std::string& order,
                       const std::string& fallback, std::optional<bool> clip, bool surprise_compatible, int threads) {
             auto self = std::make_unique<PyUserKnn>();
             // every name is parsed, so a misspelt one fails even where surprise_compatible overrides it
             const auto algo = enum_of<cf::KnnAlgorithm>(algorithm);
             const auto mean_value = enum_of<cf::PearsonMean>(mean);
             const auto shrinkage_value = enum_of<cf::Shrinkage>(shrinkage);
             const auto order_value = enum_of<cf::NeighborOrder>(order);
             const auto fallback_value = enum_of<cf::FallbackPolicy>(fallback);
             cf::KnnOptions& o = self->options;
             if (surprise_compatible) {
               o = cf::surprise_compatible(algo, k, min_k, min_support);
             } else {
               o.algorithm = algo;
               o.k = k;
               o.min_k = min_k;
               o.similarity.min_support = min_support;
               o.similarity.mean = mean_value;
               o.similarity.shrinkage = shrinkage_value;
               o.similarity.shrinkage_lambda = shrinkage_lambda;
               o.similarity.max_neighbors = max_neighbors;
               o.order = order_value;
               o.fallback = fallback_value;
             }
             if (clip) o.clip = *clip;  // None: on, off for surprise_compatible (predict(clip=False))
             o.similarity.threads = threads;
             if (o.k < 1) throw InputError("bad_option", "k must be >= 1");
             if (o.min_k < 0) throw InputError("bad_option", "min_k must be >= 0");
             return self;
           }),
           py::arg("algorithm") = "knn_with_means", py::arg("k") = 40, py::arg("min_k") = 1, py::arg("min_support") = 1,
           py::arg("mean") = "co_rated", py::arg("shrinkage") = "n_minus_one", py::arg("shrinkage_lambda") = 100.0,
           py::arg("max_neighbors") = 200, py::arg("order") = "by_user_index", py::arg("fallback") = "chain",
           py::arg("clip") = py::none(), py::arg("surprise_compatible") = false, py::arg("threads") = 0,
           "The options of embedrank-cf under its names (enum_names() lists the text values); "
           "surprise_compatible=True gives Surprise 1.1's predictions (algorithm, k, min_k, min_support kept). "
           "clip: predictions clipped to the training ratings' range (default: True, False with "
           "surprise_compatible, as Surprise's predict(clip=False)).")
      .def("fit", &knn_fit, py::arg("users"), py::arg("items") = py::none(), py::arg("ratings") = py::none(),
           py::kw_only(), py::arg("user_col") = "user", py::arg("item_col") = "item", py::arg("rating_col") = "rating",
           py::arg("duplicates") = "last_wins", py::return_value_policy::reference_internal,
           "Fits on (users, items, ratings) arrays or a pandas DataFrame; returns self.")
      .def("predict",
           [](const PyUserKnn& self, py::handle user, py::handle item, bool return_details) -> py::object {
             bool integer = false;
             const std::string u = id_of(user, "user", integer), i = id_of(item, "item", integer);
             bool known_user = false, known_item = false;
             const cf::Prediction p = self.read([&](const cf::UserKnn& knn) {
               known_user = knn.ratings().find_user(u) >= 0;
               known_item = knn.ratings().find_item(i) >= 0;
               return knn.predict(u, i);
             });
             if (!return_details) return py::float_(p.value);
             const char* reason = !known_user && !known_item ? "user and item are unknown"
                                  : !known_user             ? "user is unknown"
                                  : !known_item             ? "item is unknown"
                                  : p.fell_back()           ? "not enough neighbours"
                                                            : "";
             py::dict details;
             details["was_impossible"] = p.fell_back();
             details["reason"] = reason;
             details["level"] = embedrank::to_string(p.level);
             details["actual_k"] = p.actual_k;
             return py::make_tuple(p.value, details);
           },
           py::arg("user"), py::arg("item"), py::arg("return_details") = false,
           "Predicted rating. An unknown user or item, or too few neighbours, falls back to a mean; "
           "return_details=True returns (rating, details) with details['was_impossible'] True for a fallback "
           "(as Surprise's), 'reason', 'level' and 'actual_k'.")
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
               if (return_details) levels[p] = py::str(embedrank::to_string(predictions[p].level));
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
           [](const PyUserKnn& self, py::handle user, std::size_t n, bool return_details) -> py::object {
             bool integer = false;
             const std::string u = id_of(user, "user", integer);
             std::vector<std::string> items;
             std::vector<double> scores;
             bool integer_items = false;
             const bool known = self.read([&](const cf::UserKnn& knn) {
               integer_items = self.integer_items();  // the same model's, under its lock
               const std::int32_t index = knn.ratings().find_user(u);
               if (index < 0) return false;
               for (const cf::Recommendation& r : knn.recommend(index, n)) {
                 items.push_back(knn.ratings().item_id(r.item));
                 scores.push_back(r.score);
               }
               return true;
             });
             py::tuple found = py::make_tuple(ids_array(items, integer_items), vector_array(std::move(scores)));
             if (!return_details) return std::move(found);
             py::dict details;
             details["was_impossible"] = !known;
             details["reason"] = known ? "" : "user is unknown";
             return py::make_tuple(found[0], found[1], details);
           },
           py::arg("user"), py::arg("n") = 10, py::arg("return_details") = false,
           "(items, scores) of the n best unseen items by neighbour prediction; empty for n = 0 and for an "
           "unknown user (return_details=True adds details, details['was_impossible'] True for an unknown user).")
      .def_property_readonly("num_users", [](const PyUserKnn& self) {
        return self.read([](const cf::UserKnn& knn) { return knn.ratings().num_users(); });
      })
      .def_property_readonly("num_items", [](const PyUserKnn& self) {
        return self.read([](const cf::UserKnn& knn) { return knn.ratings().num_items(); });
      })
      .def_property_readonly("fitted", [](const PyUserKnn& self) { return self.model() != nullptr; })
      .def_property_readonly("algorithm", [](const PyUserKnn& self) { return embedrank::to_string(self.options.algorithm); })
      .def_property_readonly("mean", [](const PyUserKnn& self) { return embedrank::to_string(self.options.similarity.mean); })
      .def_property_readonly("shrinkage",
                             [](const PyUserKnn& self) { return embedrank::to_string(self.options.similarity.shrinkage); })
      .def_property_readonly("order", [](const PyUserKnn& self) { return embedrank::to_string(self.options.order); })
      .def_property_readonly("fallback", [](const PyUserKnn& self) { return embedrank::to_string(self.options.fallback); })
      .def("__repr__", [](const PyUserKnn& self) {
        return "UserKnn(algorithm='" + std::string(embedrank::to_string(self.options.algorithm)) +
               "', k=" + std::to_string(self.options.k) + ")";
      });
}

}  // namespace embedrank_python
