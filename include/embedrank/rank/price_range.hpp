#pragma once
/// PriceRange: the price interval of a shopper's query (rank/query_attributes.hpp).

#include <cmath>
#include <limits>

namespace embedrank::rank {

/// A closed price interval; unbounded sides are infinite.
struct PriceRange {
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  bool bounded() const { return std::isfinite(min) || std::isfinite(max); }
  bool contains(double price) const { return price >= min && price <= max; }
};

}  // namespace embedrank::rank
