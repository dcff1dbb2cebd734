#pragma once
// Helpers shared by the collaborative-filtering tests.

#include <fstream>
#include <tuple>
#include <string>
#include <vector>

#include "embedrank/cf/ratings.hpp"

namespace cf_test {

inline std::string data_path(const std::string& name) { return std::string(EMBEDRANK_TEST_DATA_DIR) + "/cf/" + name; }

/// Writes `text` to a scratch file in the build tree and returns its path.
inline std::string write_scratch(const std::string& name, const std::string& text) {
  const std::string path = std::string(EMBEDRANK_TEST_WORK_DIR) + "/cf_" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

/// Triplets from (user, item, rating) literals.
inline std::vector<embedrank::cf::RatingTriplet> triplets(
    const std::vector<std::tuple<std::string, std::string, double>>& rows) {
  std::vector<embedrank::cf::RatingTriplet> out;
  for (const auto& row : rows) out.push_back({std::get<0>(row), std::get<1>(row), std::get<2>(row), 0});
  return out;
}

/// The 4 x 5 example (users A, U1, U2, U3; items i1..i5; A has not rated i5),
/// the "Alice" matrix of Jannach et al., Recommender Systems: An Introduction, ch. 2.
inline embedrank::cf::Ratings alice_ratings() {
  const std::vector<std::vector<double>> r = {{5, 3, 4, 4, 0}, {3, 1, 2, 3, 3}, {4, 3, 4, 3, 5}, {3, 3, 1, 5, 4}};
  const std::vector<std::string> users = {"A", "U1", "U2", "U3"};
  std::vector<embedrank::cf::RatingTriplet> t;
  for (std::size_t u = 0; u < 4; ++u)
    for (std::size_t i = 0; i < 5; ++i)
      if (r[u][i] > 0) t.push_back({users[u], "i" + std::to_string(i + 1), r[u][i], 0});
  return embedrank::cf::Ratings::from_triplets(t);
}

}  // namespace cf_test
