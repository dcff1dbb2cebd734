#pragma once
/// RowRemap: where each row of a table goes when its removed rows are
/// dropped (Catalogue::compact). Every holder of per-row data (the index,
/// the attribute tables, the CF bridge) applies the same remap in the same
/// step, so row numbers agree everywhere before and after.

#include <cstddef>
#include <limits>
#include <vector>

namespace embedrank {

struct RowRemap {
  static constexpr std::size_t kRemoved = std::numeric_limits<std::size_t>::max();

  std::vector<std::size_t> new_row;  ///< (rows before) new row of each old row, kRemoved if dropped
  std::size_t rows_after = 0;        ///< rows kept

  /// The new row of `old_row` (kRemoved if it was dropped or is past the table).
  std::size_t operator()(std::size_t old_row) const {
    return old_row < new_row.size() ? new_row[old_row] : kRemoved;
  }
  /// True when nothing moves (no row was dropped).
  bool identity() const { return rows_after == new_row.size(); }

  /// The remap that drops the rows for which removed(row) is true, keeping
  /// the order of the others.
  template <typename Removed>
  static RowRemap dropping(std::size_t rows, Removed&& removed) {
    RowRemap remap;
    remap.new_row.resize(rows, kRemoved);
    for (std::size_t row = 0; row < rows; ++row)
      if (!removed(row)) remap.new_row[row] = remap.rows_after++;
    return remap;
  }
};

}  // namespace embedrank
