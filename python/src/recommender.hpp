#pragma once
// What the Recommender binding shares with the ShoppingGuide binding.

#include <vector>

#include "common.hpp"
#include "embedrank/rank/recommender.hpp"

namespace embedrank_python {

/// History as item ids, (id, weight) / (id, weight, age) tuples, or a dict
/// id -> weight (None: empty). Raises TypeError for anything else.
std::vector<embedrank::rank::HistoryItem> history_of(py::handle obj);

}  // namespace embedrank_python
