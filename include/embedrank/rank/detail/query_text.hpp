#pragma once
// The text side of query understanding (rank/query_attributes.hpp): how a
// query and the catalogue's values are normalised and cut into words, and
// the grammar of price phrases.

#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "embedrank/rank/price_range.hpp"
#include "embedrank/text/unicode.hpp"

namespace embedrank::rank::detail {

// A lowercased text with whitespace runs as one space; source[i] is the
// original character index of text[i].
struct Normalised {
  std::u32string text;
  std::vector<std::size_t> source;
};
struct PricePhrase {
  PriceRange range;
  std::size_t end = 0;  // one past the phrase, in normalised characters
  std::string describe() const {
    auto num = [](double v) {
      std::string s = std::to_string(v);
      s.erase(s.find_last_not_of('0') + 1);
      if (!s.empty() && s.back() == '.') s.pop_back();
      return s;
    };
    if (std::isfinite(range.min) && std::isfinite(range.max)) return num(range.min) + " - " + num(range.max);
    if (std::isfinite(range.max)) return "<= " + num(range.max);
    return ">= " + num(range.min);
  }
};

inline bool is_space(char32_t c) { return (text::char_record(c).flags & text::detail::kWhitespace) != 0; }
inline bool is_word_char(char32_t c) {
  return !is_space(c) && (text::char_record(c).flags & text::detail::kPunctuation) == 0;
}
inline bool is_digit(char32_t c) { return c >= U'0' && c <= U'9'; }
inline bool is_currency_sign(char32_t c) { return c == U'€' || c == U'$' || c == U'£' || c == U'¥'; }

inline Normalised normalise(const std::u32string& s) {
  Normalised n;
  std::u32string lower;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (is_space(s[i])) {
      if (!n.text.empty() && n.text.back() == U' ') continue;
      n.text.push_back(U' ');
    } else {
      lower.clear();
      text::append_lowercase(s[i], lower);
      n.text.push_back(lower.empty() ? s[i] : lower[0]);
    }
    n.source.push_back(i);
  }
  // no leading or trailing space
  if (!n.text.empty() && n.text.back() == U' ') {
    n.text.pop_back();
    n.source.pop_back();
  }
  if (!n.text.empty() && n.text.front() == U' ') {
    n.text.erase(n.text.begin());
    n.source.erase(n.source.begin());
  }
  return n;
}

// A value or phrase may start at i: a word character not glued to a word
// character before it (CJK ideographs glue to nothing).
inline bool starts_word(const std::u32string& s, std::size_t i) {
  if (!is_word_char(s[i])) return false;
  return i == 0 || !is_word_char(s[i - 1]) || text::is_chinese_char(s[i]) || text::is_chinese_char(s[i - 1]);
}
// A value or phrase may end before e.
inline bool ends_word(const std::u32string& s, std::size_t e) {
  return e == s.size() || !is_word_char(s[e]) || text::is_chinese_char(s[e]) || text::is_chinese_char(s[e - 1]);
}


// ---- price phrases -------------------------------------------------------
// English: under|below|less than|cheaper than|up to|at most|max|no more than X;
//          over|above|more than|at least|from|min X (with "from X to Y");
//          between X and Y; X-Y; X to Y.   Chinese: X元以下/以内, 不超过X元, X元以上.
// X: digits with an optional decimal part, an optional currency sign before
// (€ $ £ ¥) and an optional unit after (euros, eur, dollars, usd, pounds, gbp, 元, 块).
inline bool read_word(const std::u32string& s, std::size_t& i, std::u32string_view word) {
  if (s.compare(i, word.size(), word) != 0 || !ends_word(s, i + word.size())) return false;
  i += word.size();
  if (i < s.size() && s[i] == U' ') ++i;
  return true;
}
inline constexpr std::u32string_view kCurrencyUnits[] = {U"euros", U"euro", U"eur", U"dollars", U"dollar", U"usd",
                                                         U"pounds", U"pound", U"gbp", U"bucks", U"元", U"块"};
inline constexpr std::u32string_view kOtherUnits[] = {
    U"kg", U"g", U"cm", U"mm", U"m", U"l", U"ml", U"inch", U"inches", U"in", U"years", U"year", U"months", U"month",
    U"pieces", U"pcs", U"pack", U"gb", U"tb", U"w", U"mah", U"hours", U"h", U"%", U"岁", U"个", U"件", U"厘米", U"公斤"};
template <std::size_t N>
inline bool read_unit(const std::u32string& s, std::size_t& i, const std::u32string_view (&units)[N]) {
  for (std::u32string_view unit : units)
    if (s.compare(i, unit.size(), unit) == 0 && (text::is_chinese_char(unit[0]) || ends_word(s, i + unit.size()))) {
      i += unit.size();
      return true;
    }
  return false;
}

// A number, with an optional currency sign before it (€ $ £ ¥) and an
// optional currency unit after it (euros, usd, 元, ...). A number followed
// by another unit ("5 kg", "26cm", "3 years") is no price.
struct Amount {
  double value = 0;
  bool currency = false;  // a sign or a unit said it is money
};
inline bool read_amount(const std::u32string& s, std::size_t& i, Amount& out) {
  std::size_t j = i;
  Amount a;
  if (j < s.size() && is_currency_sign(s[j])) {
    a.currency = true;
    ++j;
  }
  if (j >= s.size() || !is_digit(s[j])) return false;
  while (j < s.size() && is_digit(s[j])) a.value = a.value * 10 + (s[j++] - U'0');
  // "1,000" and "1,000,000": a comma before exactly three digits groups thousands
  while (j + 3 < s.size() && s[j] == U',' && is_digit(s[j + 1]) && is_digit(s[j + 2]) && is_digit(s[j + 3]) &&
         (j + 4 == s.size() || !is_digit(s[j + 4]))) {
    a.value = a.value * 1000 + (s[j + 1] - U'0') * 100 + (s[j + 2] - U'0') * 10 + (s[j + 3] - U'0');
    j += 4;
  }
  if (j + 1 < s.size() && (s[j] == U'.' || s[j] == U',') && is_digit(s[j + 1])) {
    double scale = 0.1;
    for (++j; j < s.size() && is_digit(s[j]); ++j, scale /= 10) a.value += (s[j] - U'0') * scale;
  }
  std::size_t k = j;
  if (k < s.size() && s[k] == U' ') ++k;
  if (read_unit(s, k, kCurrencyUnits)) {
    a.currency = true;
    j = k;
  } else if (read_unit(s, k, kOtherUnits) || (j < s.size() && is_word_char(s[j]) && !text::is_chinese_char(s[j]))) {
    return false;
  }
  i = j;
  out = a;
  return true;
}
inline bool read_any(const std::u32string& s, std::size_t& i,
                     std::initializer_list<std::initializer_list<std::u32string_view>> phrases) {
  for (const auto& words : phrases) {
    std::size_t j = i;
    bool all = true;
    for (std::u32string_view w : words) all = all && read_word(s, j, w);
    if (all) {
      i = j;
      return true;
    }
  }
  return false;
}
inline void skip_space(const std::u32string& s, std::size_t& i) {
  if (i < s.size() && s[i] == U' ') ++i;
}
// "-" or "to" between the two ends of a range.
inline bool read_dash(const std::u32string& s, std::size_t& i) {
  std::size_t j = i;
  skip_space(s, j);
  if (j < s.size() && (s[j] == U'-' || s[j] == U'~' || s[j] == U'到')) {
    ++j;
    skip_space(s, j);
  } else if (!read_word(s, j, U"to")) {
    return false;
  }
  i = j;
  return true;
}

inline bool match_price(const std::u32string& s, std::size_t start, PricePhrase& out) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  auto finish = [&](std::size_t end, double lo, double hi) {
    out.range = {std::min(lo, hi), std::max(lo, hi)};
    out.end = end;
    while (out.end > start && s[out.end - 1] == U' ') --out.end;
    return true;
  };
  Amount x, y;
  std::size_t i = start;
  // between X and Y; from X to Y; from X
  if (read_any(s, i, {{U"between"}}) && read_amount(s, i, x) && (skip_space(s, i), read_word(s, i, U"and")) &&
      read_amount(s, i, y))
    return finish(i, x.value, y.value);
  i = start;
  if (read_any(s, i, {{U"from"}}) && read_amount(s, i, x)) {
    std::size_t j = i;
    if (read_dash(s, j) && read_amount(s, j, y)) return finish(j, x.value, y.value);
    return finish(i, x.value, inf);
  }
  // under X, ..., 不超过X
  i = start;
  if (read_any(s, i, {{U"under"}, {U"below"}, {U"less", U"than"}, {U"cheaper", U"than"}, {U"up", U"to"}, {U"at", U"most"},
                      {U"max"}, {U"no", U"more", U"than"}, {U"不超过"}, {U"低于"}}) &&
      read_amount(s, i, x))
    return finish(i, -inf, x.value);
  // over X, ..., 高于X
  i = start;
  if (read_any(s, i, {{U"over"}, {U"above"}, {U"more", U"than"}, {U"at", U"least"}, {U"min"}, {U"高于"}}) &&
      read_amount(s, i, x))
    return finish(i, x.value, inf);
  // X元以下, X以内, X以上; X-Y or X to Y when either end is money
  i = start;
  if (read_amount(s, i, x)) {
    std::size_t j = i;
    skip_space(s, j);
    if (s.compare(j, 2, U"以下") == 0 || s.compare(j, 2, U"以内") == 0) return finish(j + 2, -inf, x.value);
    if (s.compare(j, 2, U"以上") == 0) return finish(j + 2, x.value, inf);
    j = i;
    if (read_dash(s, j) && read_amount(s, j, y) && (x.currency || y.currency)) return finish(j, x.value, y.value);
  }
  return false;
}

}  // namespace embedrank::rank::detail
