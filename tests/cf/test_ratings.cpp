#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>

#include "cf/cf_test_util.hpp"
#include "embedrank/cf/ratings.hpp"

using namespace embedrank;
using namespace embedrank::cf;
using Catch::Matchers::Contains;
using Catch::Matchers::WithinAbs;

namespace {

// Runs fn and returns the id of the embedrank::Error it throws ("" if none).
template <typename Fn>
std::string error_id(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.id();
  }
  return "";
}

template <typename Fn>
std::string error_message(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("Ratings maps external ids to dense indices and keeps both orientations", "[ratings]") {
  const Ratings r = Ratings::from_triplets(cf_test::triplets(
      {{"u9", "b", 4}, {"u2", "a", 2}, {"u9", "a", 5}, {"u2", "c", 1}, {"u7", "b", 3}}));

  SECTION("indices follow first appearance") {
    REQUIRE(r.num_users() == 3);
    REQUIRE(r.num_items() == 3);
    REQUIRE(r.num_ratings() == 5);
    CHECK(r.find_user("u9") == 0);
    CHECK(r.find_user("u2") == 1);
    CHECK(r.find_user("u7") == 2);
    CHECK(r.find_user("nobody") == -1);
    CHECK(r.find_item("b") == 0);
    CHECK(r.item_id(2) == "c");
  }
  SECTION("user lists are sorted by item, item lists by user with their insertion ranks") {
    const std::int32_t u9 = r.find_user("u9");
    REQUIRE(r.user_end(u9) - r.user_begin(u9) == 2);
    CHECK(r.user_items()[r.user_begin(u9)] == r.find_item("b"));
    CHECK(r.user_items()[r.user_begin(u9) + 1] == r.find_item("a"));
    const std::int32_t b = r.find_item("b");
    REQUIRE(r.item_end(b) - r.item_begin(b) == 2);
    CHECK(r.item_users()[r.item_begin(b)] == u9);
    CHECK(r.item_users()[r.item_begin(b) + 1] == r.find_user("u7"));
    // Item a was rated by u2 first, then u9 (index 0): listed u9, u2 with ranks 1, 0.
    const std::int32_t a = r.find_item("a");
    CHECK(r.item_users()[r.item_begin(a)] == u9);
    CHECK(r.item_ranks()[r.item_begin(a)] == 1);
    CHECK(r.item_users()[r.item_begin(a) + 1] == r.find_user("u2"));
    CHECK(r.item_ranks()[r.item_begin(a) + 1] == 0);
    CHECK(r.rating(u9, r.find_item("a")) == 5.0);
    CHECK(std::isnan(r.rating(u9, r.find_item("c"))));
  }
  SECTION("statistics") {
    CHECK_THAT(r.global_mean(), WithinAbs(3.0, 1e-15));
    CHECK_THAT(r.global_stddev(), WithinAbs(std::sqrt(2.0), 1e-15));
    CHECK_THAT(r.user_means()[r.find_user("u9")], WithinAbs(4.5, 1e-15));
    CHECK_THAT(r.user_stddevs()[r.find_user("u9")], WithinAbs(0.5, 1e-15));
    CHECK_THAT(r.user_stddevs()[r.find_user("u7")], WithinAbs(0.0, 0.0));
    CHECK_THAT(r.item_means()[r.find_item("a")], WithinAbs(3.5, 1e-15));
    CHECK(r.min_rating() == 1.0);
    CHECK(r.max_rating() == 5.0);
  }
  SECTION("int64 ids are their decimal text") {
    const Ratings numeric = Ratings::from_triplets(cf_test::triplets({{"196", "242", 3}}));
    CHECK(numeric.find_user(std::int64_t{196}) == 0);
    CHECK(numeric.find_item(std::int64_t{242}) == 0);
    CHECK(numeric.find_user(std::int64_t{197}) == -1);
  }
}

TEST_CASE("Duplicate (user, item) pairs", "[ratings]") {
  const auto t = cf_test::triplets({{"u", "a", 1}, {"v", "a", 2}, {"u", "a", 5}});
  SECTION("last wins by default, at the first rating's position") {
    const Ratings r = Ratings::from_triplets(t);
    REQUIRE(r.num_ratings() == 2);
    CHECK(r.rating(r.find_user("u"), r.find_item("a")) == 5.0);
    // u's rating of a keeps rank 0 (before v's), with the later value.
    CHECK(r.item_users()[r.item_begin(0)] == r.find_user("u"));
    CHECK(r.item_ranks()[r.item_begin(0)] == 0);
    CHECK(r.item_ranks()[r.item_begin(0) + 1] == 1);
  }
  SECTION("error on request") {
    CHECK(error_id([&] { Ratings::from_triplets(t, DuplicatePolicy::Error); }) == "input.duplicate_rating");
  }
}

TEST_CASE("Ratings rejects what it cannot use", "[ratings][bad_input]") {
  SECTION("no triplets") {
    CHECK(error_id([] { Ratings::from_triplets({}); }) == "input.empty_ratings");
  }
  SECTION("non-finite rating from a caller") {
    auto t = cf_test::triplets({{"u", "a", 1}});
    t[0].rating = std::numeric_limits<double>::quiet_NaN();
    CHECK(error_id([&] { Ratings::from_triplets(t); }) == "input.non_finite_rating");
    t[0].rating = std::numeric_limits<double>::infinity();
    CHECK(error_id([&] { Ratings::from_triplets(t); }) == "input.non_finite_rating");
  }
  SECTION("ratings whose squares could overflow") {
    auto t = cf_test::triplets({{"u", "a", 1}});
    t[0].rating = -1e51;
    CHECK(error_id([&] { Ratings::from_triplets(t); }) == "input.rating_out_of_range");
    t[0].rating = kMaxRatingMagnitude;  // the bound itself is accepted
    CHECK(Ratings::from_triplets(t).num_ratings() == 1);
  }
}

TEST_CASE("Ratings files", "[ratings][io]") {
  SECTION("MovieLens u.data layout: tab separated with a timestamp") {
    const std::string path = cf_test::write_scratch("udata.tsv", "196\t242\t3\t881250949\n186\t302\t3\t891717742\n\n22\t377\t1\t878887116\n");
    const Ratings r = read_ratings(path);
    CHECK(r.num_ratings() == 3);
    CHECK(r.rating(r.find_user(std::int64_t{22}), r.find_item(std::int64_t{377})) == 1.0);
  }
  SECTION("CSV with a header, CRLF line ends and spaces") {
    const std::string path = cf_test::write_scratch("header.csv", "user,item,rating\r\n a , x ,4.5\r\nb,x,2\r\n");
    const Ratings r = read_ratings(path, RatingsFileOptions{',', true});
    CHECK(r.num_ratings() == 2);
    CHECK(r.rating(r.find_user("a"), r.find_item("x")) == 4.5);
  }
  SECTION("duplicates in a file under the error policy name the line") {
    const std::string path = cf_test::write_scratch("dup.csv", "a,x,1\nb,x,2\na,x,3\n");
    const std::string message = error_message([&] { read_ratings(path, {',', false}, DuplicatePolicy::Error); });
    CHECK_THAT(message, Contains("duplicate_rating") && Contains(path + ":3"));
  }
}

TEST_CASE("Ratings files with bad content get typed errors with the line", "[ratings][io][bad_input]") {
  const RatingsFileOptions csv{',', false};
  SECTION("missing file") {
    CHECK(error_id([] { read_rating_triplets("/nonexistent/ratings.csv"); }) == "file.open");
  }
  SECTION("empty file") {
    const std::string path = cf_test::write_scratch("empty.csv", "");
    CHECK(error_id([&] { read_rating_triplets(path, csv); }) == "parse.empty_file");
  }
  SECTION("header only") {
    const std::string path = cf_test::write_scratch("header_only.csv", "user,item,rating\n");
    CHECK(error_id([&] { read_rating_triplets(path, {',', true}); }) == "parse.empty_file");
  }
  SECTION("too few fields") {
    const std::string path = cf_test::write_scratch("short.csv", "a,x,1\nb,x\n");
    CHECK(error_id([&] { read_rating_triplets(path, csv); }) == "parse.malformed_line");
    CHECK_THAT(error_message([&] { read_rating_triplets(path, csv); }), Contains(path + ":2"));
  }
  SECTION("wrong separator reads as one field") {
    const std::string path = cf_test::write_scratch("tabs.csv", "a\tx\t1\n");
    CHECK(error_id([&] { read_rating_triplets(path, csv); }) == "parse.malformed_line");
  }
  SECTION("empty id") {
    const std::string path = cf_test::write_scratch("empty_id.csv", "a,x,1\n,x,2\n");
    CHECK(error_id([&] { read_rating_triplets(path, csv); }) == "parse.malformed_line");
  }
  SECTION("rating is not a number") {
    const std::string path = cf_test::write_scratch("word.csv", "a,x,1\nb,x,good\n");
    CHECK(error_id([&] { read_rating_triplets(path, csv); }) == "parse.bad_rating");
    CHECK_THAT(error_message([&] { read_rating_triplets(path, csv); }), Contains(path + ":2") && Contains("good"));
  }
  SECTION("trailing garbage after the number") {
    const std::string path = cf_test::write_scratch("garbage.csv", "a,x,4stars\n");
    CHECK(error_id([&] { read_rating_triplets(path, csv); }) == "parse.bad_rating");
  }
  SECTION("empty rating field") {
    const std::string path = cf_test::write_scratch("blank_rating.csv", "a,x,\n");
    CHECK(error_id([&] { read_rating_triplets(path, csv); }) == "parse.bad_rating");
  }
  SECTION("NaN and infinity") {
    for (const char* text : {"nan", "NaN", "inf", "-inf", "1e999"}) {
      const std::string path = cf_test::write_scratch("nonfinite.csv", std::string("a,x,1\nb,y,2\nc,z,") + text + "\n");
      CHECK(error_id([&] { read_rating_triplets(path, csv); }) == "parse.non_finite_rating");
      CHECK_THAT(error_message([&] { read_rating_triplets(path, csv); }), Contains(path + ":3"));
    }
    const std::string huge = cf_test::write_scratch("huge.csv", "a,x,1\nb,y,1e200\n");
    CHECK(error_id([&] { read_rating_triplets(huge, csv); }) == "parse.rating_out_of_range");
    CHECK_THAT(error_message([&] { read_rating_triplets(huge, csv); }), Contains(huge + ":2"));
  }
}
