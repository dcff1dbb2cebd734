#pragma once
/// What the similarity kernels hand over: the kept similarities of a group
/// of consecutive users, row by row (NeighborLists::set_group copies them
/// into the lists; similarity_matrix into the matrix).

#include <cstddef>
#include <cstdint>
#include <vector>

namespace embedrank::cf::detail {

/// sim(u, v) of a row's user u with the user v: one candidate the row
/// selectors weigh, and one entry of a kept row.
struct UserSimilarity {
  std::int32_t user;
  double similarity;
};

/// The kept similarities of one group of consecutive users as a kernel hands
/// them over: row r (user first_user + r) is entries [offsets[r], offsets[r + 1])
/// of users and similarities, users ascending. Each thread fills one,
/// reused from group to group.
struct GroupSimilarityRows {
  std::int32_t first_user = 0;
  std::vector<std::size_t> offsets;   // (rows + 1)
  std::vector<std::int32_t> users;    // (kept in the group)
  std::vector<double> similarities;   // (kept in the group)

  void start(std::int32_t first) {
    first_user = first;
    offsets.assign(1, 0);
    users.clear();
    similarities.clear();
  }
  void add_row(const UserSimilarity* row, std::size_t count) {
    const std::size_t at = users.size();
    users.resize(at + count);
    similarities.resize(at + count);
    for (std::size_t e = 0; e < count; ++e) {
      users[at + e] = row[e].user;
      similarities[at + e] = row[e].similarity;
    }
    offsets.push_back(at + count);
  }
  void add_row(const std::vector<UserSimilarity>& row) { add_row(row.data(), row.size()); }
  std::int32_t rows() const { return static_cast<std::int32_t>(offsets.size()) - 1; }
  std::size_t size() const { return users.size(); }
};

}  // namespace embedrank::cf::detail
