// Terminal widths and cutting of UTF-8 text (text/display_width.hpp): CJK,
// emoji, combining marks, Hangul jamo, format characters, ill-formed UTF-8.
#include <catch2/catch.hpp>

#include <string>

#include "embedrank/text/display_width.hpp"

namespace text = embedrank::text;

TEST_CASE("code_point_width", "[display_width]") {
  CHECK(text::code_point_width(U'a') == 1);
  CHECK(text::code_point_width(U'\u00E9') == 1);   // é precomposed
  CHECK(text::code_point_width(U'\u2026') == 1);   // … is East Asian Ambiguous: narrow
  CHECK(text::code_point_width(U'\u7EA2') == 2);   // 红
  CHECK(text::code_point_width(U'\u3042') == 2);   // あ
  CHECK(text::code_point_width(U'\uAC00') == 2);   // 가
  CHECK(text::code_point_width(U'\uFF21') == 2);   // Ａ fullwidth
  CHECK(text::code_point_width(U'\uFF71') == 1);   // ｱ halfwidth
  CHECK(text::code_point_width(U'\U00020000') == 2);  // CJK extension B
  CHECK(text::code_point_width(U'\U0001F44D') == 2);  // 👍
  CHECK(text::code_point_width(U'\u0301') == 0);   // combining acute
  CHECK(text::code_point_width(U'\u20DD') == 0);   // enclosing circle (Me)
  CHECK(text::code_point_width(U'\u200B') == 0);   // zero-width space
  CHECK(text::code_point_width(U'\u200D') == 0);   // zero-width joiner
  CHECK(text::code_point_width(U'\uFEFF') == 0);   // BOM
  CHECK(text::code_point_width(U'\uFE0F') == 0);   // variation selector 16
  CHECK(text::code_point_width(U'\u1161') == 0);   // conjoining Hangul vowel
  CHECK(text::code_point_width(U'\u00AD') == 1);   // soft hyphen is drawn
  CHECK(text::code_point_width(U'\u0001') == 0);   // control
  CHECK(text::code_point_width(U'\uFFFD') == 1);
  CHECK(text::code_point_width(0x110000) == 1);    // beyond Unicode: as U+FFFD
}

TEST_CASE("display_width sums grapheme clusters", "[display_width]") {
  CHECK(text::display_width("") == 0);
  CHECK(text::display_width("red dress") == 9);
  CHECK(text::display_width("红色连衣裙") == 10);
  CHECK(text::display_width("Whiskerly 老年猫粮") == 18);
  CHECK(text::display_width("e\u0301te\u0301") == 3);           // combining marks add nothing
  CHECK(text::display_width("a\u0308\u0301") == 1);
  CHECK(text::display_width("\u1100\u1161\u11A8") == 2);        // 각 as conjoining jamo: one wide cluster
  CHECK(text::display_width("\U0001F44D\U0001F3FD") == 2);      // thumbs up, skin tone modifier
  CHECK(text::display_width("\U0001F468\u200D\U0001F469\u200D\U0001F467") == 2);  // family ZWJ sequence
  CHECK(text::display_width("\U0001F1EB\U0001F1F7") == 2);      // flag FR
  CHECK(text::display_width("\u2764\uFE0F") == 2);              // ❤️ emoji presentation
  CHECK(text::display_width("\u2764") == 1);                    // ❤ text presentation
  CHECK(text::display_width("\u200B\uFEFF") == 0);
  // ill-formed UTF-8: one U+FFFD (1 column) per maximal ill-formed subpart
  CHECK(text::display_width("a\xE7\xBA") == 2);                 // 红 cut after two of its three bytes
  CHECK(text::display_width("\xFF\xFE") == 2);
  CHECK(text::display_width("\xED\xA0\x80") == 3);              // a surrogate: three subparts
}

TEST_CASE("truncate_to_width never splits a cluster", "[display_width]") {
  SECTION("text that fits is returned whole") {
    CHECK(text::truncate_to_width("red dress", 9) == "red dress");
    CHECK(text::truncate_to_width("红色连衣裙", 10) == "红色连衣裙");
  }
  SECTION("ASCII") {
    CHECK(text::truncate_to_width("red dress", 8) == "red dre\u2026");
    CHECK(text::truncate_to_width("red dress", 5) == "red\u2026");  // the space before … is dropped
    CHECK(text::truncate_to_width("red dress", 1) == "\u2026");
    CHECK(text::truncate_to_width("red dress", 0).empty());
  }
  SECTION("a wide character that would straddle the limit is left out") {
    // 红色连衣裙 in 7 columns: 红色连 (6) + … (1)
    CHECK(text::truncate_to_width("红色连衣裙", 7) == "红色连\u2026");
    // in 8: 红色连 (6) + … = 7 columns; 衣 would need 9
    const std::string cut = text::truncate_to_width("红色连衣裙", 8);
    CHECK(cut == "红色连\u2026");
    CHECK(text::display_width(cut) == 7);
    CHECK(text::fit_to_width("红色连衣裙", 8) == "红色连\u2026 ");
  }
  SECTION("combining marks stay with their base") {
    CHECK(text::truncate_to_width("e\u0301e\u0301e\u0301", 2) == "e\u0301\u2026");
    CHECK(text::truncate_to_width("e\u0301e\u0301", 2) == "e\u0301e\u0301");
  }
  SECTION("emoji sequences stay whole") {
    const std::string family = "\U0001F468\u200D\U0001F469\u200D\U0001F467";
    CHECK(text::truncate_to_width(family + family, 3) == family + "\u2026");
    CHECK(text::truncate_to_width("\U0001F1EB\U0001F1F7\U0001F1E9\U0001F1EA", 3) == "\U0001F1EB\U0001F1F7\u2026");
  }
  SECTION("ill-formed UTF-8 comes out well-formed") {
    const std::string cut = text::truncate_to_width("ab\xE7\xBA" "cdef", 4);
    CHECK(cut == "ab\uFFFD\u2026");
    CHECK(text::is_valid_utf8(cut));
    CHECK(text::truncate_to_width("\xE7\xBA", 5) == "\uFFFD");
  }
  SECTION("another ellipsis") {
    CHECK(text::truncate_to_width("red dress", 6, "...") == "red...");
    CHECK(text::truncate_to_width("red dress", 2, "...") == "re");  // no room for the ellipsis
  }
}

TEST_CASE("fit_to_width pads to exactly the width", "[display_width]") {
  for (const char* s : {"", "red dress", "红色连衣裙", "Whiskerly 老年猫粮 无谷物 易消化 护关节", "e\u0301te\u0301",
                        "\U0001F44D\U0001F44D\U0001F44D", "a\xFF" "b"}) {
    for (std::size_t width = 0; width <= 45; ++width) {
      INFO(s << " in " << width);
      const std::string fitted = text::fit_to_width(s, width);
      CHECK(text::display_width(fitted) == width);
      CHECK(text::is_valid_utf8(fitted));
    }
  }
}
