// Tests of the ranking metrics and the leave-newest-out split
// (rank/evaluation.hpp), on cases computed by hand.

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "embedrank/core/error.hpp"
#include "embedrank/rank/evaluation.hpp"

using Catch::Matchers::WithinAbs;
using embedrank::rank::evaluate_ranking;
using embedrank::rank::QueryMetrics;

namespace {

using Ids = std::vector<std::string>;
using Relevant = std::unordered_set<std::string>;

constexpr double kTol = 1e-12;

}  // namespace

TEST_CASE("evaluate_ranking: binary relevance by hand", "[evaluation]") {
  // L = a b c d e, R = {b, d, x}: relevant at positions 2 and 4, x never ranked.
  const Ids ranked = {"a", "b", "c", "d", "e"};
  const Relevant relevant = {"b", "d", "x"};

  SECTION("k = 5") {
    const QueryMetrics m = evaluate_ranking(ranked, relevant, 5);
    CHECK(m.relevant == 3);
    CHECK_THAT(m.hit_rate, WithinAbs(1.0, kTol));
    CHECK_THAT(m.reciprocal_rank, WithinAbs(0.5, kTol));
    // DCG = 1/log2(3) + 1/log2(5); IDCG = 1 + 1/log2(3) + 1/log2(4) (three relevant ids fit in 5)
    CHECK_THAT(m.ndcg, WithinAbs(0.49818925746641285, kTol));
    CHECK_THAT(m.recall, WithinAbs(2.0 / 3.0, kTol));
    // AP = (P@2 + P@4) / min(3, 5) = (1/2 + 2/4) / 3
    CHECK_THAT(m.average_precision, WithinAbs(1.0 / 3.0, kTol));
  }
  SECTION("k = 3 cuts d off") {
    const QueryMetrics m = evaluate_ranking(ranked, relevant, 3);
    CHECK_THAT(m.hit_rate, WithinAbs(1.0, kTol));
    CHECK_THAT(m.reciprocal_rank, WithinAbs(0.5, kTol));
    // DCG = 1/log2(3); IDCG@3 = 1 + 1/log2(3) + 1/2
    CHECK_THAT(m.ndcg, WithinAbs(0.2960819109658652, kTol));
    CHECK_THAT(m.recall, WithinAbs(1.0 / 3.0, kTol));
    CHECK_THAT(m.average_precision, WithinAbs(0.5 / 3.0, kTol));
  }
  SECTION("k = 2: AP and IDCG count at most k relevant ids") {
    const QueryMetrics m = evaluate_ranking(ranked, relevant, 2);
    // AP = P@2 / min(3, 2) = (1/2) / 2 (trec_eval's map_cut_2 would divide by |R| = 3)
    CHECK_THAT(m.average_precision, WithinAbs(0.25, kTol));
    // DCG = 1/log2(3); IDCG@2 = 1 + 1/log2(3)
    CHECK_THAT(m.ndcg, WithinAbs(0.38685280723454163, kTol));
  }
  SECTION("a miss within k scores 0 everywhere") {
    const QueryMetrics m = evaluate_ranking(ranked, relevant, 1);
    CHECK(m.relevant == 3);
    CHECK(m.hit_rate == 0.0);
    CHECK(m.ndcg == 0.0);
    CHECK(m.recall == 0.0);
    CHECK(m.reciprocal_rank == 0.0);
    CHECK(m.average_precision == 0.0);
  }
}

TEST_CASE("evaluate_ranking: one held-out item", "[evaluation]") {
  // Leave-one-out: with |R| = 1 at position r, HR = recall = 1, NDCG = 1/log2(r + 1), RR = AP = 1/r.
  const Ids ranked = {"p", "q", "r", "s", "t", "u"};
  const QueryMetrics m = evaluate_ranking(ranked, Relevant{"s"}, 10);
  CHECK_THAT(m.hit_rate, WithinAbs(1.0, kTol));
  CHECK_THAT(m.recall, WithinAbs(1.0, kTol));
  CHECK_THAT(m.ndcg, WithinAbs(0.43067655807339306, kTol));  // 1 / log2(5)
  CHECK_THAT(m.reciprocal_rank, WithinAbs(0.25, kTol));
  CHECK_THAT(m.average_precision, WithinAbs(0.25, kTol));

  SECTION("a list shorter than k is not padded") {
    const QueryMetrics first = evaluate_ranking(Ids{"s"}, Relevant{"s"}, 10);
    CHECK(first.ndcg == 1.0);
    CHECK(first.average_precision == 1.0);
    CHECK(first.reciprocal_rank == 1.0);
  }
  SECTION("ids of any hashable type") {
    const QueryMetrics ints = evaluate_ranking(std::vector<int>{7, 3, 9}, std::unordered_set<int>{9}, 3);
    CHECK_THAT(ints.ndcg, WithinAbs(0.5, kTol));  // 1 / log2(4)
  }
}

TEST_CASE("evaluate_ranking: graded gains", "[evaluation]") {
  // L = a b c, gains a 1, b 3, c 0 (not relevant), z 2 (not ranked).
  const std::unordered_map<std::string, double> gains = {{"a", 1.0}, {"b", 3.0}, {"c", 0.0}, {"z", 2.0}};
  const QueryMetrics m = evaluate_ranking(Ids{"a", "b", "c"}, gains, 3);
  CHECK(m.relevant == 3);
  // DCG = 1 + 3/log2(3); IDCG = 3 + 2/log2(3) + 1/2 (gains 3, 2, 1 in order)
  CHECK_THAT(m.ndcg, WithinAbs(0.6074915180456525, kTol));
  // The others on rel = (gain > 0): a and b of {a, b, z}.
  CHECK_THAT(m.recall, WithinAbs(2.0 / 3.0, kTol));
  CHECK_THAT(m.reciprocal_rank, WithinAbs(1.0, kTol));
  CHECK_THAT(m.average_precision, WithinAbs(2.0 / 3.0, kTol));  // (1/1 + 2/2) / min(3, 3)

  SECTION("unit gains give the binary NDCG") {
    const QueryMetrics graded =
        evaluate_ranking(Ids{"a", "b", "c", "d", "e"}, std::unordered_map<std::string, double>{{"b", 1}, {"d", 1}, {"x", 1}}, 5);
    CHECK_THAT(graded.ndcg, WithinAbs(0.49818925746641285, kTol));
  }
  SECTION("a gain that is not finite is refused") {
    const std::unordered_map<std::string, double> bad = {{"a", std::numeric_limits<double>::quiet_NaN()}};
    CHECK_THROWS_AS(evaluate_ranking(Ids{"a"}, bad, 1), embedrank::InputError);
  }
}

TEST_CASE("evaluate_ranking: bad inputs", "[evaluation]") {
  CHECK_THROWS_AS(evaluate_ranking(Ids{"a"}, Relevant{"a"}, 0), embedrank::InputError);
  try {
    evaluate_ranking(Ids{"a", "b", "a"}, Relevant{"a"}, 3);
    FAIL("a repeated id was accepted");
  } catch (const embedrank::InputError& e) {
    CHECK(e.id() == "input.duplicate_ranked_id");
  }
  // A repeat beyond the cutoff is not part of the evaluated list.
  CHECK_NOTHROW(evaluate_ranking(Ids{"a", "b", "a"}, Relevant{"a"}, 2));
}

TEST_CASE("MetricsMean averages queries with relevant ids and counts the others", "[evaluation]") {
  embedrank::rank::MetricsMean mean;
  CHECK(mean.mean().queries == 0);
  CHECK(mean.mean().ndcg == 0.0);
  mean.add(evaluate_ranking(Ids{"a", "b", "c", "d", "e"}, Relevant{"b", "d", "x"}, 5));
  mean.add(evaluate_ranking(Ids{"p", "q", "r", "s"}, Relevant{"s"}, 10));
  mean.add(evaluate_ranking(Ids{"p", "q"}, Relevant{}, 10));  // no relevant id: counted, not averaged
  const embedrank::rank::MeanMetrics m = mean.mean();
  CHECK(m.queries == 2);
  CHECK(m.without_relevant == 1);
  CHECK_THAT(m.hit_rate, WithinAbs(1.0, kTol));
  CHECK_THAT(m.ndcg, WithinAbs((0.49818925746641285 + 0.43067655807339306) / 2, kTol));
  CHECK_THAT(m.recall, WithinAbs((2.0 / 3.0 + 1.0) / 2, kTol));
  CHECK_THAT(m.mrr, WithinAbs((0.5 + 0.25) / 2, kTol));
  CHECK_THAT(m.map, WithinAbs((1.0 / 3.0 + 0.25) / 2, kTol));
}

TEST_CASE("leave_newest_out holds out each user's newest eligible event", "[evaluation]") {
  using embedrank::rank::Interaction;
  const std::vector<Interaction> log = {
      {"u2", "i1", 5, 1},  // 0
      {"u1", "i2", 4, 3},  // 1: u1's newest liked event (tied at time 3 with 2, first in log order)
      {"u1", "i3", 5, 3},  // 2
      {"u1", "i4", 2, 9},  // 3: newer, but not eligible (rating < 4)
      {"u2", "i5", 4, 2},  // 4: u2's newest liked event
      {"u3", "i6", 1, 5},  // 5: u3 has no eligible event and keeps it in train
  };
  SECTION("with an eligibility rule") {
    const auto split = embedrank::rank::leave_newest_out(log, [](const Interaction& x) { return x.rating >= 4; });
    CHECK(split.held_out == std::vector<std::size_t>{1, 4});
    CHECK(split.train == std::vector<std::size_t>{0, 2, 3, 5});
  }
  SECTION("every event eligible") {
    const auto split = embedrank::rank::leave_newest_out(log);
    CHECK(split.held_out == std::vector<std::size_t>{3, 4, 5});
    CHECK(split.train == std::vector<std::size_t>{0, 1, 2});
  }
  SECTION("held-out events come in user id order") {
    const auto split = embedrank::rank::leave_newest_out({{"b", "x", 5, 1}, {"a", "y", 5, 1}});
    CHECK(split.held_out == std::vector<std::size_t>{1, 0});
    CHECK(split.train.empty());
  }
  SECTION("a NaN time is refused") {
    CHECK_THROWS_AS(embedrank::rank::leave_newest_out({{"a", "x", 5, std::numeric_limits<double>::quiet_NaN()}}),
                    embedrank::InputError);
  }
}
