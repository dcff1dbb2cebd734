#pragma once
/// Each user's kept neighbours (compute_neighbors' result): NeighborLists,
/// and NeighborSpan, one user's list.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "embedrank/cf/detail/group_similarity_rows.hpp"
#include "embedrank/core/error.hpp"
#include "embedrank/core/large_array.hpp"

namespace embedrank::cf {

/// The kept neighbours of one user: users ascending, similarities in (0, 1].
struct NeighborSpan {
  const std::int32_t* users = nullptr;
  const double* similarities = nullptr;
  std::size_t size = 0;
};

/// Top-M neighbours per user. A user is never their own neighbour. Stored in
/// groups of kGroupUsers consecutive users, each group set once, in its
/// exact size, by the thread that computed it, so the lists are never
/// copied into one array (which would briefly need twice their memory);
/// the groups' entries are slices of a few large blocks (SliceArena).
class NeighborLists {
 public:
  static constexpr std::int32_t kGroupUsers = 64;

  NeighborLists() = default;
  /// Empty lists for num_users users.
  explicit NeighborLists(std::int32_t num_users)
      : num_users_(num_users), groups_(static_cast<std::size_t>((num_users + kGroupUsers - 1) / kGroupUsers)) {}
  /// A moved-from NeighborLists has no users.
  NeighborLists(NeighborLists&& other) noexcept
      : num_users_(std::exchange(other.num_users_, 0)),
        groups_(std::move(other.groups_)),
        arenas_(std::move(other.arenas_)) {}
  NeighborLists& operator=(NeighborLists&& other) noexcept {
    num_users_ = std::exchange(other.num_users_, 0);
    groups_ = std::move(other.groups_);
    arenas_ = std::move(other.arenas_);
    return *this;
  }

  std::int32_t num_users() const { return num_users_; }

  /// User u's kept neighbours; empty while u's group has not been set.
  NeighborSpan of(std::int32_t u) const {
    const GroupSlices& g = groups_[static_cast<std::size_t>(u / kGroupUsers)];
    const auto r = static_cast<std::size_t>(u % kGroupUsers);
    if (r + 1 >= g.offsets.size()) return {};
    const std::uint32_t first = g.offsets[r];
    return {g.users + first, g.similarities + first, g.offsets[r + 1] - first};
  }

  /// sim(u, v) if v is among u's kept neighbours, else 0 (binary search).
  double similarity(std::int32_t u, std::int32_t v) const {
    const NeighborSpan n = of(u);
    const std::int32_t* it = std::lower_bound(n.users, n.users + n.size, v);
    if (it == n.users + n.size || *it != v) return 0.0;
    return n.similarities[it - n.users];
  }

  /// Neighbours kept over all users.
  std::size_t total() const {
    std::size_t sum = 0;
    for (const GroupSlices& g : groups_) sum += g.size;
    return sum;
  }

  /// Bytes held by the lists (the blocks their entries are carved from included).
  std::size_t memory_bytes() const {
    std::size_t bytes = groups_.capacity() * sizeof(GroupSlices);
    if (arenas_) bytes += arenas_->users.reserved_bytes() + arenas_->similarities.reserved_bytes();
    for (const GroupSlices& g : groups_) bytes += g.offsets.capacity() * sizeof(std::uint32_t);
    return bytes;
  }

  /// Sets the lists of the group starting at rows.first_user (a multiple of
  /// kGroupUsers, with a row for every user of the group). Each group is set
  /// once; different groups may be set concurrently.
  void set_group(const detail::GroupSimilarityRows& rows) {
    const std::int32_t first = rows.first_user;
    if (first < 0 || first >= num_users_ || first % kGroupUsers != 0 ||
        rows.rows() != std::min(kGroupUsers, num_users_ - first))
      throw Error("internal.order", "neighbour lists handed over out of group order at user " + std::to_string(first));
    if (rows.size() > std::numeric_limits<std::uint32_t>::max())
      throw InputError("over_budget", "more than 2^32 - 1 neighbours in the group of user " + std::to_string(first) +
                                          "; keep fewer neighbours (max_neighbors)");
    GroupSlices& g = groups_[static_cast<std::size_t>(first / kGroupUsers)];
    g.offsets.resize(rows.offsets.size());
    for (std::size_t r = 0; r < rows.offsets.size(); ++r) g.offsets[r] = static_cast<std::uint32_t>(rows.offsets[r]);
    g.size = rows.size();
    std::int32_t* users = arenas_->users.allocate(g.size);
    double* similarities = arenas_->similarities.allocate(g.size);
    std::copy(rows.users.begin(), rows.users.end(), users);
    std::copy(rows.similarities.begin(), rows.similarities.end(), similarities);
    g.users = users;
    g.similarities = similarities;
  }

 private:
  /// One group's lists: its slices of the arenas and where each user's row
  /// starts in them (32-bit offsets, so a group holds at most 2^32 - 1 entries).
  struct GroupSlices {
    std::vector<std::uint32_t> offsets;      // (users in the group + 1) into users / similarities
    const std::int32_t* users = nullptr;     // (size) in arenas_
    const double* similarities = nullptr;    // (size) in arenas_
    std::size_t size = 0;
  };
  /// The large blocks every group's entries are carved from, so the groups
  /// need no allocation of their own; behind a pointer because an arena
  /// (it holds a mutex) cannot be moved.
  struct EntryArenas {
    SliceArena<std::int32_t> users;
    SliceArena<double> similarities;
  };
  std::int32_t num_users_ = 0;
  std::vector<GroupSlices> groups_;  // (ceil(U / kGroupUsers))
  std::unique_ptr<EntryArenas> arenas_ = std::make_unique<EntryArenas>();
};

}  // namespace embedrank::cf
