#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "cf/cf_test_util.hpp"
#include "embedrank/cf/pearson.hpp"

using namespace embedrank;
using namespace embedrank::cf;
using Catch::Matchers::WithinAbs;

namespace {

/// Every positive neighbour, the plain formula (no shrinkage).
SimilarityOptions all_neighbors(SimilarityKernel kernel = SimilarityKernel::Automatic) {
  SimilarityOptions o;
  o.max_neighbors = 0;
  o.shrinkage = Shrinkage::None;
  o.kernel = kernel;
  return o;
}

SimilarityOptions with_kernel(SimilarityKernel kernel) {
  SimilarityOptions o;
  o.kernel = kernel;
  return o;
}

/// The kernels that keep top-M lists themselves (Eigen is their reference).
constexpr SimilarityKernel kRowKernels[] = {SimilarityKernel::Fused, SimilarityKernel::UpperTriangle};

const char* name_of(SimilarityKernel kernel) {
  switch (kernel) {
    case SimilarityKernel::Automatic: return "automatic";
    case SimilarityKernel::Fused: return "fused";
    case SimilarityKernel::UpperTriangle: return "upper_triangle";
    case SimilarityKernel::EigenProducts: return "eigen_products";
  }
  return "?";
}

std::int32_t user(const Ratings& r, const char* id) { return r.find_user(id); }

std::vector<std::int32_t> users_of(const NeighborLists& n, std::int32_t u) {
  const NeighborSpan s = n.of(u);
  return {s.users, s.users + s.size};
}

std::vector<double> similarities_of(const NeighborLists& n, std::int32_t u) {
  const NeighborSpan s = n.of(u);
  return {s.similarities, s.similarities + s.size};
}

/// Same users and similarities within `tolerance` (0: bitwise equal) for every user.
bool same_lists(const NeighborLists& a, const NeighborLists& b, double tolerance = 0.0) {
  if (a.num_users() != b.num_users()) return false;
  for (std::int32_t u = 0; u < a.num_users(); ++u) {
    if (users_of(a, u) != users_of(b, u)) return false;
    const std::vector<double> x = similarities_of(a, u), y = similarities_of(b, u);
    for (std::size_t e = 0; e < x.size(); ++e)
      if (!(std::abs(x[e] - y[e]) <= tolerance)) return false;
  }
  return true;
}

}  // namespace

// Ratings (items i1..i5):   A: 5 3 4 4 -   U1: 3 1 2 3 3   U2: 4 3 4 3 5   U3: 3 3 1 5 4
TEST_CASE("Pearson on the 4 x 5 example, computed by hand", "[pearson]") {
  const Ratings r = cf_test::alice_ratings();
  const std::int32_t a = user(r, "A"), u1 = user(r, "U1"), u2 = user(r, "U2"), u3 = user(r, "U3");
  const SimilarityKernel kernel = GENERATE(SimilarityKernel::Fused, SimilarityKernel::UpperTriangle, SimilarityKernel::EigenProducts);
  INFO("kernel " << name_of(kernel));

  SECTION("co-rated means") {
    const Matrix<double> sim = similarity_matrix(r, all_neighbors(kernel));
    // A and U1 share i1..i4. A: mean 4, deviations (1, -1, 0, 0), squares 2.
    // U1 on i1..i4: mean 2.25, deviations (.75, -1.25, -.25, .75), squares 2.75.
    // Covariance sum: .75 + 1.25 = 2.
    CHECK_THAT(sim(a, u1), WithinAbs(2.0 / std::sqrt(2.0 * 2.75), 1e-12));
    // U2 on i1..i4: mean 3.5, deviations (.5, -.5, .5, -.5), squares 1; covariance .5 + .5 = 1.
    CHECK_THAT(sim(a, u2), WithinAbs(1.0 / std::sqrt(2.0 * 1.0), 1e-12));
    // U3 on i1..i4: mean 3, deviations (0, 0, -2, 2); covariance 0.
    CHECK_THAT(sim(a, u3), WithinAbs(0.0, 1e-15));
    // U1, U2 share all five. U1: mean 2.4, deviations (.6, -1.4, -.4, .6, .6), squares 3.2.
    // U2: mean 3.8, deviations (.2, -.8, .2, -.8, 1.2), squares 2.8.
    // Covariance: .12 + 1.12 - .08 - .48 + .72 = 1.4.
    CHECK_THAT(sim(u1, u2), WithinAbs(1.4 / std::sqrt(3.2 * 2.8), 1e-12));
    // U3: mean 3.2, deviations (-.2, -.2, -2.2, 1.8, .8), squares 8.8.
    // U1 with U3: -.12 + .28 + .88 + 1.08 + .48 = 2.6.  U2 with U3: -.04 + .16 - .44 - 1.44 + .96 = -.8.
    CHECK_THAT(sim(u1, u3), WithinAbs(2.6 / std::sqrt(3.2 * 8.8), 1e-12));
    CHECK_THAT(sim(u2, u3), WithinAbs(-0.8 / std::sqrt(2.8 * 8.8), 1e-12));
    SECTION("symmetric, zero diagonal") {
      CHECK(sim.isApprox(sim.transpose(), 0.0));
      CHECK(sim.diagonal().isZero(0.0));
    }
  }
  SECTION("user means (centred cosine)") {
    SimilarityOptions o = all_neighbors(kernel);
    o.mean = PearsonMean::User;
    const Matrix<double> sim = similarity_matrix(r, o);
    // Numerator over co-rated items, each user centred on the mean of all their
    // ratings, denominators over each user's own items.
    // A (mean 4): deviations (1, -1, 0, 0), squares 2. U1 (mean 2.4) on i1..i4: (.6, -1.4, -.4, .6), all squares 3.2.
    CHECK_THAT(sim(a, u1), WithinAbs((0.6 + 1.4) / std::sqrt(2.0 * 3.2), 1e-12));
    // U2 (mean 3.8) on i1..i4: (.2, -.8, .2, -.8), all squares 2.8.
    CHECK_THAT(sim(a, u2), WithinAbs((0.2 + 0.8) / std::sqrt(2.0 * 2.8), 1e-12));
    // U3 (mean 3.2) on i1..i4: (-.2, -.2, -2.2, 1.8): -.2 + .2 = 0, exactly
    // (its rounding noise is below the zero tolerance), so U3 is no neighbour.
    CHECK(sim(a, u3) == 0.0);
    CHECK(compute_neighbors(r, o).similarity(a, u3) == 0.0);
    // Pairs that co-rate everything agree with the co-rated formula.
    CHECK_THAT(sim(u1, u2), WithinAbs(1.4 / std::sqrt(3.2 * 2.8), 1e-12));
    CHECK_THAT(sim(u2, u3), WithinAbs(-0.8 / std::sqrt(2.8 * 8.8), 1e-12));
  }
  SECTION("min_support zeroes pairs with fewer co-rated items") {
    SimilarityOptions o = all_neighbors(kernel);
    o.min_support = 5;
    const Matrix<double> sim = similarity_matrix(r, o);
    CHECK(sim(a, u1) == 0.0);
    CHECK(sim(a, u2) == 0.0);
    CHECK_THAT(sim(u1, u2), WithinAbs(1.4 / std::sqrt(3.2 * 2.8), 1e-12));
  }
  SECTION("the default shrinks by (n - 1) / (n - 1 + 100)") {
    CHECK_THAT(similarity_matrix(r, with_kernel(kernel))(a, u1), WithinAbs(2.0 / std::sqrt(2.0 * 2.75) * 3.0 / 103.0, 1e-12));
  }
  SECTION("shrinkage, n = 4 for A with U1") {
    const double base = 2.0 / std::sqrt(2.0 * 2.75);
    SimilarityOptions o = all_neighbors(kernel);
    o.shrinkage_lambda = 2.0;
    o.shrinkage = Shrinkage::NMinusOne;
    CHECK_THAT(similarity_matrix(r, o)(a, u1), WithinAbs(base * 3.0 / 5.0, 1e-12));
    o.shrinkage = Shrinkage::N;
    CHECK_THAT(similarity_matrix(r, o)(a, u1), WithinAbs(base * 4.0 / 6.0, 1e-12));
    o.shrinkage = Shrinkage::Capped;
    o.shrinkage_lambda = 8.0;
    CHECK_THAT(similarity_matrix(r, o)(a, u1), WithinAbs(base * 4.0 / 8.0, 1e-12));
    o.shrinkage_lambda = 3.0;
    CHECK_THAT(similarity_matrix(r, o)(a, u1), WithinAbs(base, 1e-12));
  }
  SECTION("neighbour lists keep positive similarities, never the user") {
    const NeighborLists n = compute_neighbors(r, all_neighbors(kernel));
    REQUIRE(n.num_users() == 4);
    CHECK(n.of(a).size == 2);  // U1, U2; U3 has similarity 0
    CHECK_THAT(n.similarity(a, u1), WithinAbs(2.0 / std::sqrt(5.5), 1e-12));
    CHECK(n.similarity(a, u3) == 0.0);
    CHECK(n.similarity(u2, u3) == 0.0);  // negative: not a neighbour
    for (std::int32_t u = 0; u < 4; ++u) CHECK(n.similarity(u, u) == 0.0);
  }
}

TEST_CASE("Degenerate pairs get similarity 0, never NaN", "[pearson][bad_input]") {
  // flat rates everything 4; x and y share nothing; one rated a single item.
  const Ratings r = Ratings::from_triplets(cf_test::triplets({{"flat", "a", 4},
                                                               {"flat", "b", 4},
                                                               {"flat", "c", 4},
                                                               {"p", "a", 1},
                                                               {"p", "b", 3},
                                                               {"p", "c", 5},
                                                               {"x", "d", 2},
                                                               {"x", "e", 5},
                                                               {"y", "f", 1},
                                                               {"y", "g", 3},
                                                               {"one", "a", 5}}));
  const SimilarityKernel kernel = GENERATE(SimilarityKernel::Fused, SimilarityKernel::UpperTriangle, SimilarityKernel::EigenProducts);
  INFO("kernel " << name_of(kernel));
  for (PearsonMean mean : {PearsonMean::CoRated, PearsonMean::User}) {
    SimilarityOptions o = all_neighbors(kernel);
    o.mean = mean;
    const Matrix<double> sim = similarity_matrix(r, o);
    CHECK(sim.allFinite());
    CHECK(sim.row(r.find_user("flat")).isZero(0.0));      // zero variance
    CHECK(sim(r.find_user("x"), r.find_user("y")) == 0.0);  // no overlap
    CHECK(sim(r.find_user("one"), r.find_user("p")) == 0.0);  // one co-rated item
    CHECK(sim.maxCoeff() <= 1.0);
    CHECK(sim.minCoeff() >= -1.0);
  }
}

TEST_CASE("A similarity with no defined value is 0, never a clamped +-1", "[pearson][bad_input]") {
  CHECK(detail::clamp_similarity(std::numeric_limits<double>::quiet_NaN()) == 0.0);
  CHECK(detail::clamp_similarity(std::numeric_limits<double>::infinity()) == 0.0);
  CHECK(detail::clamp_similarity(-std::numeric_limits<double>::infinity()) == 0.0);
  CHECK(detail::clamp_similarity(1.0000000001) == 1.0);
  CHECK(detail::clamp_similarity(-0.5) == -0.5);
  // The largest ratings accepted: every statistic stays finite, opposite
  // users are opposite (-1, not neighbours), never a NaN turned into +1.
  const double big = kMaxRatingMagnitude;
  const Ratings r = Ratings::from_triplets(cf_test::triplets({{"u", "a", big},
                                                               {"u", "b", -big},
                                                               {"u", "c", big / 2},
                                                               {"v", "a", -big},
                                                               {"v", "b", big},
                                                               {"v", "c", -big / 2}}));
  for (PearsonMean mean : {PearsonMean::CoRated, PearsonMean::User}) {
    SimilarityOptions o = all_neighbors();
    o.mean = mean;
    o.shrinkage = Shrinkage::None;
    const Matrix<double> sim = similarity_matrix(r, o);
    CHECK(sim.allFinite());
    CHECK_THAT(sim(0, 1), WithinAbs(-1.0, 1e-12));
    CHECK(compute_neighbors(r, o).of(0).size == 0);
  }
}

TEST_CASE("Offsets far from zero do not cancel", "[pearson]") {
  // The same pattern shifted by 1e6: Pearson is shift invariant.
  const auto make = [](double offset) {
    return Ratings::from_triplets(cf_test::triplets({{"u", "a", offset + 1.25},
                                                      {"u", "b", offset + 2.5},
                                                      {"u", "c", offset + 4.75},
                                                      {"v", "a", offset + 2.0},
                                                      {"v", "b", offset + 2.25},
                                                      {"v", "c", offset + 5.0}}));
  };
  const double near = similarity_matrix(make(0.0), all_neighbors())(0, 1);
  const double far = similarity_matrix(make(1e6), all_neighbors())(0, 1);
  CHECK(near > 0.5);
  CHECK_THAT(far, WithinAbs(near, 1e-9));
}

TEST_CASE("Blocks, threads and budgets do not change the result", "[pearson]") {
  const Ratings r = read_ratings(cf_test::data_path("synthetic_train.tsv"));
  SimilarityOptions reference = all_neighbors();
  reference.threads = 1;
  reference.memory_budget_bytes = std::size_t{1} << 30;
  const NeighborLists expected = compute_neighbors(r, reference);
  REQUIRE(expected.total() > 0);

  SimilarityOptions varied = reference;
  varied.threads = 3;
  for (SimilarityKernel kernel : kRowKernels) {
    varied.kernel = kernel;
    INFO("kernel " << name_of(kernel));
    CHECK(same_lists(compute_neighbors(r, varied), expected));
  }
  SimilarityOptions eigen = varied;
  eigen.kernel = SimilarityKernel::EigenProducts;
  eigen.memory_budget_bytes = detail::working_bytes(r, eigen) + 400000;  // blocks of one group or two
  CHECK(same_lists(compute_neighbors(r, eigen), expected));

  SECTION("dense matrix agrees with the lists") {
    const Matrix<double> sim = similarity_matrix(r, reference);
    for (std::int32_t u = 0; u < r.num_users(); ++u) {
      const NeighborSpan n = expected.of(u);
      for (std::size_t e = 0; e < n.size; ++e) REQUIRE(sim(u, n.users[e]) == n.similarities[e]);
    }
  }
}

TEST_CASE("Top-M keeps the M most similar, ties by lower index", "[pearson]") {
  // Under shrinkage the kernel skips pairs whose co-rated count cannot reach
  // the current M-th similarity; the lists must equal a full sort anyway.
  const Ratings r = read_ratings(cf_test::data_path("synthetic_train.tsv"));
  const SimilarityKernel kernel = GENERATE(SimilarityKernel::Fused, SimilarityKernel::UpperTriangle);
  INFO("kernel " << name_of(kernel));
  for (Shrinkage shrinkage : {Shrinkage::None, Shrinkage::NMinusOne, Shrinkage::N, Shrinkage::Capped}) {
    for (int m : {1, 3, 7, 40}) {
      SimilarityOptions o = all_neighbors(kernel);
      o.shrinkage = shrinkage;
      o.shrinkage_lambda = shrinkage == Shrinkage::Capped ? 12.0 : 25.0;
      const NeighborLists all = compute_neighbors(r, o);
      o.max_neighbors = m;
      const NeighborLists top = compute_neighbors(r, o);
      INFO("shrinkage " << static_cast<int>(shrinkage) << ", M = " << m);
      for (std::int32_t u = 0; u < r.num_users(); ++u) {
        std::vector<std::pair<double, std::int32_t>> ranked;  // (-sim, v): ascending = best first
        const NeighborSpan n = all.of(u);
        for (std::size_t e = 0; e < n.size; ++e) ranked.emplace_back(-n.similarities[e], n.users[e]);
        std::sort(ranked.begin(), ranked.end());
        ranked.resize(std::min<std::size_t>(ranked.size(), static_cast<std::size_t>(m)));
        std::vector<std::int32_t> expected;
        for (const auto& p : ranked) expected.push_back(p.second);
        std::sort(expected.begin(), expected.end());
        REQUIRE(users_of(top, u) == expected);
        for (std::int32_t v : users_of(top, u)) REQUIRE(top.similarity(u, v) == all.similarity(u, v));
      }
    }
  }
}

TEST_CASE("Under shrinkage the top M are found among pairs at the cut", "[pearson]") {
  // u rates 60 items; each other user repeats u's ratings on the first n of
  // them (raw similarity 1), so the shrunk similarity is factor(n) and the
  // top M are the users with the largest n, many tied, ties by lower index.
  std::mt19937_64 rng(5);
  std::vector<RatingTriplet> t;
  const auto rating_of = [](int item) { return 1.0 + static_cast<double>((item * 7) % 5); };
  for (int i = 0; i < 60; ++i) t.push_back({"u", std::to_string(i), rating_of(i), 0});
  std::vector<int> order(300);
  for (int j = 0; j < 300; ++j) order[static_cast<std::size_t>(j)] = j;
  std::shuffle(order.begin(), order.end(), rng);
  for (int j : order) {
    const int n = 2 + (j * 37) % 40;
    for (int i = 0; i < n; ++i) t.push_back({"v" + std::to_string(j), std::to_string(i), rating_of(i), 0});
  }
  const Ratings r = Ratings::from_triplets(t);
  const SimilarityKernel kernel = GENERATE(SimilarityKernel::Fused, SimilarityKernel::UpperTriangle);
  INFO("kernel " << name_of(kernel));
  for (Shrinkage shrinkage : {Shrinkage::NMinusOne, Shrinkage::N, Shrinkage::Capped}) {
    SimilarityOptions o = all_neighbors(kernel);
    o.shrinkage = shrinkage;
    o.shrinkage_lambda = shrinkage == Shrinkage::Capped ? 35.0 : 10.0;
    const NeighborLists all = compute_neighbors(r, o);
    for (int m : {5, 17, 64}) {
      o.max_neighbors = m;
      const NeighborLists top = compute_neighbors(r, o);
      const std::int32_t u = r.find_user("u");
      std::vector<std::pair<double, std::int32_t>> ranked;
      const NeighborSpan n = all.of(u);
      for (std::size_t e = 0; e < n.size; ++e) ranked.emplace_back(-n.similarities[e], n.users[e]);
      REQUIRE(ranked.size() == 300);
      std::sort(ranked.begin(), ranked.end());
      ranked.resize(static_cast<std::size_t>(m));
      std::vector<std::int32_t> expected;
      for (const auto& p : ranked) expected.push_back(p.second);
      std::sort(expected.begin(), expected.end());
      INFO("shrinkage " << static_cast<int>(shrinkage) << ", M = " << m);
      CHECK(users_of(top, u) == expected);
    }
  }
}

TEST_CASE("Similarities equal Surprise's pearson", "[pearson][parity]") {
  const std::string path = cf_test::data_path("surprise_similarities.tsv");
  std::ifstream in(path);
  REQUIRE(in);
  const Ratings r = read_ratings(cf_test::data_path("synthetic_train.tsv"));
  const Matrix<double> sim = similarity_matrix(r, all_neighbors());

  std::string line;
  std::getline(in, line);  // header
  std::size_t compared = 0;
  double max_difference = 0.0;
  std::vector<std::size_t> nonzero_in_fixture(static_cast<std::size_t>(r.num_users()), 0);
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string u, v;
    double expected = 0.0;
    fields >> u >> v >> expected;
    const std::int32_t ui = r.find_user(u), vi = r.find_user(v);
    REQUIRE(ui >= 0);
    REQUIRE(vi >= 0);
    max_difference = std::max(max_difference, std::abs(sim(ui, vi) - expected));
    ++nonzero_in_fixture[static_cast<std::size_t>(ui)];
    ++compared;
  }
  INFO("regenerate with: /opt/cfenv/bin/python weights_tools/make_cf_fixtures.py tests/data/cf");
  INFO("max |ours - Surprise| = " << max_difference << " over " << compared << " pairs");
  CHECK(compared > 1000);
  CHECK(max_difference <= 1e-12);
  // Every other pair of those users is 0 in both.
  for (std::int32_t u = 0; u < 25; ++u) {
    std::size_t nonzero = 0;
    for (std::int32_t v = 0; v < r.num_users(); ++v) nonzero += sim(u, v) != 0.0;
    CHECK(nonzero == nonzero_in_fixture[static_cast<std::size_t>(u)]);
  }
}

TEST_CASE("Similarity options are checked", "[pearson][bad_input]") {
  const Ratings r = cf_test::alice_ratings();
  SimilarityOptions o;
  o.min_support = -1;
  CHECK_THROWS_AS(compute_neighbors(r, o), InputError);
  o = SimilarityOptions{};
  o.shrinkage = Shrinkage::Capped;
  o.shrinkage_lambda = 0.0;
  CHECK_THROWS_AS(compute_neighbors(r, o), InputError);
  o = SimilarityOptions{};
  o.memory_budget_bytes = 8;
  CHECK_THROWS_AS(similarity_matrix(r, o), InputError);
}

TEST_CASE("The fused kernels equal blocked Eigen sparse products", "[pearson]") {
  const Ratings r = read_ratings(cf_test::data_path("synthetic_train.tsv"));
  const SimilarityKernel kernel = GENERATE(SimilarityKernel::Fused, SimilarityKernel::UpperTriangle);
  INFO("kernel " << name_of(kernel));
  for (PearsonMean mean : {PearsonMean::CoRated, PearsonMean::User}) {
    SimilarityOptions fused;
    fused.kernel = kernel;
    fused.mean = mean;
    fused.max_neighbors = 0;
    fused.min_support = 2;
    fused.shrinkage = Shrinkage::N;
    fused.shrinkage_lambda = 5.0;
    SimilarityOptions eigen = fused;
    eigen.kernel = SimilarityKernel::EigenProducts;
    // Room for the dense result and blocks of one group of users.
    eigen.memory_budget_bytes = detail::working_bytes(r, eigen) + r.num_users() * r.num_users() * 8 + 100000;
    const Matrix<double> expected = similarity_matrix(r, eigen);
    const Matrix<double> got = similarity_matrix(r, fused);
    INFO("mean " << (mean == PearsonMean::CoRated ? "co_rated" : "user") << ", max difference "
                 << (got - expected).cwiseAbs().maxCoeff());
    if (mean == PearsonMean::CoRated) {
      // Whole-star ratings: every statistic is an exact sum, so the kernels agree bitwise.
      CHECK((got.array() == expected.array()).all());
    } else {
      // Exact means leave rounding in x; the two compilers' loops may fuse multiply-adds differently.
      CHECK((got - expected).cwiseAbs().maxCoeff() <= 1e-15);
    }
    CHECK((got.array() != 0.0).count() > 10000);
  }
}

std::string error_id(const std::function<void()>& run) {
  try {
    run();
  } catch (const Error& e) {
    return e.id();
  }
  return "none";
}

TEST_CASE("The memory budget bounds the lists and the working memory", "[pearson][bad_input]") {
  const Ratings r = read_ratings(cf_test::data_path("synthetic_train.tsv"));
  SimilarityOptions o;
  o.max_neighbors = 50;
  const std::size_t needed = detail::working_bytes(r, o) + detail::list_bytes_bound(r, o);
  o.memory_budget_bytes = needed - 1;  // refused before any work
  CHECK(error_id([&] { compute_neighbors(r, o); }) == "input.over_budget");
  o.memory_budget_bytes = needed;
  CHECK(compute_neighbors(r, o).total() > 0);

  // Every positive neighbour: refused when the lists outgrow the budget.
  SimilarityOptions all = all_neighbors();
  const std::size_t kept = compute_neighbors(r, all).total() * 12;
  for (int threads : {1, 3}) {
    all.threads = threads;
    all.memory_budget_bytes = detail::working_bytes(r, all) + kept / 2;
    CHECK(error_id([&] { compute_neighbors(r, all); }) == "input.over_budget");
  }
  all.memory_budget_bytes = detail::working_bytes(r, all) + kept + 4 * 400;
  CHECK(compute_neighbors(r, all).total() * 12 == kept);
}

TEST_CASE("Float and double sums: same results on and off the rating grid", "[pearson]") {
  // Rows use float sums when they are provably exact (ratings on a 1/16 grid,
  // not too many items), double otherwise; both must equal the Eigen kernel.
  std::mt19937_64 rng(11);
  std::vector<RatingTriplet> t;
  for (int u = 0; u < 300; ++u)
    for (int n = 0; n < 12; ++n)
      t.push_back({std::to_string(u), std::to_string(static_cast<int>(rng() % 6000)), 1.0 + static_cast<double>(rng() % 5), 0});
  for (int i = 0; i < 5000; ++i)  // a heavy user: 5000 items is past the float limit
    t.push_back({"heavy", std::to_string(i), 1.0 + static_cast<double>(rng() % 5), 0});
  for (bool off_grid : {false, true}) {
    std::vector<RatingTriplet> data = t;
    if (off_grid)
      for (RatingTriplet& x : data) x.rating += 0.1 * static_cast<double>(rng() % 7);
    const Ratings r = Ratings::from_triplets(data);
    SimilarityOptions eigen = all_neighbors(SimilarityKernel::EigenProducts);
    const NeighborLists b = compute_neighbors(r, eigen);
    for (SimilarityKernel kernel : kRowKernels) {
      const NeighborLists a = compute_neighbors(r, all_neighbors(kernel));
      INFO((off_grid ? "off grid" : "on grid") << ", kernel " << name_of(kernel));
      CHECK(a.of(r.find_user("heavy")).size > 100);
      // On the grid every sum is exact: bitwise. Off it the compilers may fuse
      // multiply-adds differently in the two kernels' loops.
      CHECK(same_lists(a, b, off_grid ? 1e-14 : 0.0));
    }
  }
}

TEST_CASE("Row tiles of the fused kernel: every user of a tile touched more than once", "[pearson]") {
  // 2100 users rate the same three items: each row touches every user of the
  // first tile (2048 on whole stars) three times, and 600 users more.
  std::vector<RatingTriplet> t;
  std::mt19937_64 rng(9);
  for (int u = 0; u < 2100; ++u)
    for (int i = 0; i < 3; ++i) t.push_back({std::to_string(u), std::to_string(i), 1.0 + static_cast<double>(rng() % 5), 0});
  const Ratings r = Ratings::from_triplets(t);
  SimilarityOptions fused = all_neighbors(SimilarityKernel::Fused);
  fused.max_neighbors = 50;
  SimilarityOptions eigen = fused;
  eigen.kernel = SimilarityKernel::EigenProducts;
  SimilarityOptions triangle = fused;
  triangle.kernel = SimilarityKernel::UpperTriangle;
  const NeighborLists a = compute_neighbors(r, fused);
  CHECK(a.total() > 2100 * 40);
  CHECK(same_lists(a, compute_neighbors(r, eigen)));
  CHECK(same_lists(a, compute_neighbors(r, triangle)));
}

TEST_CASE("Row tiles of the fused kernel: more users than one tile", "[pearson]") {
  // 9000 users (the fused kernel walks rows in tiles of 2048 users on whole
  // stars), 30 items, 3 ratings each.
  std::vector<RatingTriplet> t;
  std::mt19937_64 rng(3);
  for (int u = 0; u < 9000; ++u)
    for (int n = 0; n < 3; ++n)
      t.push_back({std::to_string(u), std::to_string(static_cast<int>(rng() % 30)), 1.0 + static_cast<double>(rng() % 5), 0});
  const Ratings r = Ratings::from_triplets(t);
  SimilarityOptions fused;
  fused.max_neighbors = 0;
  fused.kernel = SimilarityKernel::Fused;
  SimilarityOptions eigen = fused;
  eigen.kernel = SimilarityKernel::EigenProducts;
  const NeighborLists a = compute_neighbors(r, fused);
  const NeighborLists b = compute_neighbors(r, eigen);
  CHECK(a.total() > 9000);
  CHECK(same_lists(a, b));
  // Users of the first tile have neighbours four tiles on.
  std::size_t far = 0;
  for (std::int32_t u = 0; u < 2048; ++u)
    for (std::int32_t v : users_of(a, u)) far += v >= 8192;
  CHECK(far > 0);
}

TEST_CASE("The upper-triangle kernel's matrix is within the budget", "[pearson][bad_input]") {
  const Ratings r = read_ratings(cf_test::data_path("synthetic_train.tsv"));
  const auto num_u = static_cast<std::size_t>(r.num_users());
  SimilarityOptions o;
  o.max_neighbors = 20;
  o.kernel = SimilarityKernel::Fused;
  const NeighborLists expected = compute_neighbors(r, o);
  const std::size_t without_matrix = detail::working_bytes(r, o) + detail::list_bytes_bound(r, o);
  // The matrix, and the position of each rating in the by-item order.
  const std::size_t matrix = num_u * num_u * sizeof(double) + r.num_ratings() * sizeof(std::size_t);

  o.kernel = SimilarityKernel::UpperTriangle;
  o.memory_budget_bytes = without_matrix + matrix - 1;
  CHECK(error_id([&] { compute_neighbors(r, o); }) == "input.over_budget");
  o.memory_budget_bytes = without_matrix + matrix;
  CHECK(same_lists(compute_neighbors(r, o), expected));
  CHECK(detail::choose_kernel(r, o, detail::KeptSimilarities::TopPositive, without_matrix) == SimilarityKernel::UpperTriangle);

  // automatic takes the triangle only when it fits, and gives the same lists either way.
  o.kernel = SimilarityKernel::Automatic;
  CHECK(detail::choose_kernel(r, o, detail::KeptSimilarities::TopPositive, without_matrix) == SimilarityKernel::UpperTriangle);
  CHECK(same_lists(compute_neighbors(r, o), expected));
  o.memory_budget_bytes = without_matrix + matrix - 1;
  CHECK(detail::choose_kernel(r, o, detail::KeptSimilarities::TopPositive, without_matrix) == SimilarityKernel::Fused);
  CHECK(same_lists(compute_neighbors(r, o), expected));

  // Keeping every neighbour, the triangle reserves the lists' worst case: U (U - 1) of them.
  SimilarityOptions all = all_neighbors(SimilarityKernel::UpperTriangle);
  all.memory_budget_bytes = detail::working_bytes(r, all) + matrix + num_u * (num_u - 1) * 12;
  CHECK(error_id([&] { compute_neighbors(r, all); }) == "input.over_budget");
  all.memory_budget_bytes += num_u * 4;
  CHECK(compute_neighbors(r, all).total() > 0);
}
