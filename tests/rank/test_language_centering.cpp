// Per-language centering (rank/language_centering.hpp): a text's script, the
// means fitted per script (the mean of all for a script with too few texts),
// and the means file read back or refused.

#include <catch2/catch.hpp>

#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "embedrank/rank/language_centering.hpp"

using embedrank::MatrixF;
using embedrank::rank::LanguageCentering;

TEST_CASE("a text's script is CJK when a fifth of its letters are", "[centering]") {
  CHECK(embedrank::rank::script_of("我想买一件红色的连衣裙") == embedrank::rank::kCjk);
  CHECK(embedrank::rank::script_of("Whiskerly 老年猫粮 无谷物") == embedrank::rank::kCjk);
  CHECK(embedrank::rank::script_of("red dress 红") == embedrank::rank::kOther);  // 1 of 8 letters
  CHECK(embedrank::rank::script_of("한국어 텍스트") == embedrank::rank::kCjk);
  CHECK(embedrank::rank::script_of("Привет, платье") == embedrank::rank::kOther);
  CHECK(embedrank::rank::script_of("12345 !!") == embedrank::rank::kOther);
  CHECK(embedrank::rank::script_of("") == embedrank::rank::kOther);
  CHECK(embedrank::rank::script_of("\xff\xfe 红色") == embedrank::rank::kCjk);
}

TEST_CASE("means are fitted per script and subtracted; a rare script gets the mean of all", "[centering]") {
  std::vector<std::string> texts;
  MatrixF vectors(12, 2);
  for (int i = 0; i < 12; ++i) {
    texts.push_back(i < 6 ? "红色连衣裙" : "red dress");
    vectors(i, 0) = static_cast<float>(i);
    vectors(i, 1) = i < 6 ? 1.0f : -1.0f;
  }
  const LanguageCentering c = LanguageCentering::fit(texts, vectors);
  CHECK(c.means()(embedrank::rank::kCjk, 0) == Approx(2.5));
  CHECK(c.means()(embedrank::rank::kCjk, 1) == Approx(1.0));
  CHECK(c.means()(embedrank::rank::kOther, 0) == Approx(8.5));
  CHECK(c.means()(embedrank::rank::kOther, 1) == Approx(-1.0));
  float v[2] = {3.0f, 2.0f};
  c.apply("连衣裙", v, 2);
  CHECK(v[0] == Approx(0.5));
  CHECK(v[1] == Approx(1.0));
  CHECK_THROWS_AS(c.apply("连衣裙", v, 3), embedrank::InputError);

  // Four CJK texts (fewer than kMinTexts): that script gets the mean of all.
  const LanguageCentering rare = LanguageCentering::fit(
      std::vector<std::string>(texts.begin() + 2, texts.end()), MatrixF(vectors.bottomRows(10)));
  CHECK(rare.means()(embedrank::rank::kCjk, 0) == Approx(6.5));
  CHECK(rare.means()(embedrank::rank::kOther, 0) == Approx(8.5));

  // No centering: vectors stay as they are.
  float w[2] = {3.0f, 2.0f};
  LanguageCentering().apply("连衣裙", w, 2);
  CHECK(w[0] == 3.0f);
}

TEST_CASE("the means file reads back; a short, long or non-finite one is refused", "[centering][bad_input]") {
  MatrixF vectors(2, 3);
  vectors << 1, 2, 3, 4, 5, 6;
  const LanguageCentering c = LanguageCentering::fit({"红色", "red"}, vectors);
  std::ostringstream out;
  c.write(out);
  std::istringstream in(out.str());
  CHECK(LanguageCentering::read(in, 3, "means.f32").means() == c.means());
  const auto refused = [](std::string bytes, std::size_t dim) {
    std::istringstream s(bytes);
    CHECK_THROWS_WITH(LanguageCentering::read(s, dim, "means.f32"),
                      Catch::Contains("means.f32") && Catch::Contains("shop.bad_state"));
  };
  refused(out.str().substr(0, 20), 3);
  refused(out.str() + "x", 3);
  std::string nan_bytes = out.str();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  nan_bytes.replace(0, 4, reinterpret_cast<const char*>(&nan), 4);
  refused(nan_bytes, 3);
}
