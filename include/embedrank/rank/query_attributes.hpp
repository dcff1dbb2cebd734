#pragma once
/// Query understanding from the catalogue itself: the attribute values a
/// catalogue holds (categories, brands, colours, sizes, ...) are found in a
/// shopper's query, together with price phrases ("under 50", "between 20 and
/// 40 euros", "100元以下"), and turned into a search filter and a boost.
///
///   CatalogueAttributes attributes;                  // keyed by catalogue rows
///   attributes.add(row, "brand", "Orla Rae");        // any attribute name
///   attributes.set_price(row, 39.0);
///   ParsedQuery q = attributes.parse("orla rae red dress under 50");
///   //  q.attributes: brand "Orla Rae" [0, 8), colour "red" [9, 12), price "<= 50" [19, 27)
///   //  q.price = [-inf, 50], q.search_text = "orla rae red dress"
///   QueryConstraints c = attributes.constraints(q, policy);
///   auto results = search_with_constraints(index, embed(q.search_text), c, k);
///
/// Matching. Query and values are compared lowercased (each code point's
/// first lowercase code point, so offsets stay those of the query), with
/// runs of whitespace counting as one space. A value matches only as whole
/// words: the characters around it are not letters or digits, except next to
/// CJK ideographs, which are written without spaces. An English plural in the
/// query ("dresses", "shoes") matches a singular value and a value ending in
/// "s" ("Shoes") matches its singular ("shoe"). Left to right, the longest
/// value wins; a span can carry several attributes (a value that is both a
/// colour and part of a title is found once per attribute it belongs to).
///
/// Filters and boosts (AttributePolicy): a price phrase is always a filter
/// (items without a price are dropped by it); every other attribute is a
/// boost unless the policy makes it a filter. Within one attribute, items
/// holding any of the matched values pass; across attributes, all filters
/// must pass. boost(row) = the fraction of the query's boost attributes the
/// item holds, in [0, 1]; search_with_constraints ranks by
///   score = (1 - w) * similarity + w * boost(row)      (w = boost_weight)
///
/// A model instead of the catalogue: a token classifier's entity spans
/// (model::TokenClassifier::entities) become QueryAttributes through
/// from_entities(), which maps each span's text to the catalogue's value
/// (same matching rules) so it can filter and boost the same way.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "embedrank/core/error.hpp"
#include "embedrank/core/row_remap.hpp"
#include "embedrank/rank/detail/query_text.hpp"
#include "embedrank/rank/embedding_index.hpp"
#include "embedrank/rank/price_range.hpp"
#include "embedrank/text/unicode.hpp"

namespace embedrank::rank {

/// One attribute found in a query: a typed span.
struct QueryAttribute {
  std::string name;   ///< the attribute ("brand", "colour", ...) or "price"
  std::string value;  ///< the catalogue's value as added; for a price, "<= 50", ">= 20" or "20 - 40"
  std::size_t begin = 0, end = 0;            ///< span in the query, in characters (code points; an ill-formed byte reads as one U+FFFD)
  std::size_t byte_begin = 0, byte_end = 0;  ///< the same span in UTF-8 bytes
};

struct ParsedQuery {
  std::vector<QueryAttribute> attributes;  ///< in query order
  PriceRange price;                        ///< from the price phrases (intersected)
  std::string search_text;                 ///< the query without its price phrases: the text to embed
};

/// Which attributes filter (drop items without a matched value); the others boost.
struct AttributePolicy {
  std::set<std::string> filters;
};

/// A parsed query as a filter and a boost over the index's rows (thread-safe
/// to call; valid while the CatalogueAttributes that made them lives).
struct QueryConstraints {
  SearchFilter filter;                          ///< empty when nothing filters
  std::function<float(std::size_t row)> boost;  ///< in [0, 1]; empty when nothing boosts
  std::size_t filter_attributes = 0;            ///< attributes (price included) that filter
  std::size_t boost_attributes = 0;             ///< attributes that boost
};

/// One entity span from a model (a token classifier), in query characters.
struct EntitySpan {
  std::string attribute;  ///< the entity's label mapped to an attribute name
  std::size_t begin = 0, end = 0;
};

class CatalogueAttributes {
 public:
  /// Attributes by catalogue row (the rows of the EmbeddingIndex searched
  /// with the constraints); rows without attributes hold none.
  CatalogueAttributes() = default;

  /// The item at `row` holds `value` of `attribute` (several values per
  /// attribute allowed). Throws InputError for an empty attribute name or
  /// value, or the reserved name "price".
  void add(std::size_t row, const std::string& attribute, const std::string& value) {
    if (attribute.empty() || attribute == "price")
      throw InputError("attributes.bad_name", "attribute name '" + attribute + "' is empty or reserved");
    // a value as written is normalised once, however many rows hold it
    std::string spelled = attribute;
    spelled.push_back('\0');
    spelled += value;
    Value* v = nullptr;
    if (const auto known = spelled_.find(spelled); known != spelled_.end()) {
      v = known->second;
    } else {
      const std::u32string key = detail::normalise(text::decode_utf8(value)).text;
      if (key.empty() || key == U" ")
        throw InputError("attributes.empty_value",
                         "row " + std::to_string(row) + " has an empty value of '" + attribute + "'");
      auto [it, inserted] = values_.try_emplace(Key{attribute, key}, Value{attribute, value, {}, {}});
      v = &it->second;
      if (inserted) index_value(key, v);
      v->spellings.push_back(spelled);
      spelled_.emplace(std::move(spelled), v);
    }
    grow(row);
    std::vector<std::size_t>& rows = v->rows;
    const auto at = std::lower_bound(rows.begin(), rows.end(), row);
    if (at == rows.end() || *at != row) {
      rows.insert(at, row);
      values_of_row_[row].push_back(v);
    }
  }

  /// The item at `row` costs `price` (finite, >= 0). Throws InputError otherwise.
  void set_price(std::size_t row, double price) {
    if (!(std::isfinite(price) && price >= 0))
      throw InputError("attributes.bad_price", "row " + std::to_string(row) + " has an invalid price");
    grow(row);
    prices_[row] = price;
  }

  /// Forgets every attribute and the price of `row` (a removed or changed
  /// item). A value no row holds any more is no longer found in queries.
  void clear(std::size_t row) {
    if (row >= rows_) return;
    prices_[row] = std::numeric_limits<double>::quiet_NaN();
    for (Value* value : values_of_row_[row]) {
      std::vector<std::size_t>& rows = value->rows;
      rows.erase(std::lower_bound(rows.begin(), rows.end(), row));
      if (rows.empty()) {
        const Key key{value->attribute, detail::normalise(text::decode_utf8(value->value)).text};
        forget(key, value);
      }
    }
    values_of_row_[row].clear();
  }

  /// Renumbers rows as the catalogue's compact() did; dropped rows lose
  /// their attributes.
  void apply(const RowRemap& remap) {
    std::vector<double> prices(remap.rows_after, std::numeric_limits<double>::quiet_NaN());
    for (std::size_t row = 0; row < prices_.size(); ++row)
      if (remap(row) != RowRemap::kRemoved) prices[remap(row)] = prices_[row];
    prices_ = std::move(prices);
    rows_ = remap.rows_after;
    std::vector<std::vector<Value*>> values_of_row(remap.rows_after);
    for (std::size_t row = 0; row < values_of_row_.size(); ++row)
      if (remap(row) != RowRemap::kRemoved) values_of_row[remap(row)] = std::move(values_of_row_[row]);
    values_of_row_ = std::move(values_of_row);
    for (auto it = values_.begin(); it != values_.end();) {
      std::vector<std::size_t> kept;
      for (std::size_t row : it->second.rows)
        if (remap(row) != RowRemap::kRemoved) kept.push_back(remap(row));  // the remap keeps the order
      it->second.rows = std::move(kept);
      if (it->second.rows.empty()) {
        const Key key = (it++)->first;
        forget(key, &values_.at(key));
      } else {
        ++it;
      }
    }
  }

  /// True if `value` is nothing but spaces once normalised: add() refuses it.
  static bool is_blank(const std::string& value) {
    const std::u32string key = detail::normalise(text::decode_utf8(value)).text;
    return key.empty() || key == U" ";
  }

  /// Rows covered: one past the highest row given an attribute or a price.
  std::size_t rows() const { return rows_; }

  /// The attributes and price phrases of `query`.
  ParsedQuery parse(std::string_view query) const {
    std::vector<std::size_t> byte_at;  // (characters + 1) byte offset of each character in `query`
    const std::u32string original = decode(query, byte_at);
    const detail::Normalised q = detail::normalise(original);
    ParsedQuery out;
    std::vector<std::pair<std::size_t, std::size_t>> price_spans;  // original characters
    std::size_t i = 0;
    while (i < q.text.size()) {
      if (!detail::starts_word(q.text, i) && !detail::is_currency_sign(q.text[i])) {
        ++i;
        continue;
      }
      detail::PricePhrase price;
      if (detail::match_price(q.text, i, price)) {
        const std::size_t b = q.source[i], e = q.source[price.end - 1] + 1;
        out.attributes.push_back(make_attribute("price", price.describe(), byte_at, b, e));
        out.price.min = std::max(out.price.min, price.range.min);
        out.price.max = std::min(out.price.max, price.range.max);
        price_spans.emplace_back(b, e);
        i = price.end;
        continue;
      }
      const auto [length, values] = longest_value(q.text, i);
      if (length == 0) {
        ++i;
        continue;
      }
      const std::size_t b = q.source[i], e = q.source[i + length - 1] + 1;
      for (const Value* v : values) out.attributes.push_back(make_attribute(v->attribute, v->value, byte_at, b, e));
      i += length;
    }
    out.search_text = without_spans(original, price_spans);
    return out;
  }

  /// Attributes from a model's entity spans over `query`: each span's text
  /// becomes the catalogue value of its attribute that it spells (whole span,
  /// same matching rules); spans the catalogue does not hold are dropped.
  /// Prices and search_text come from parse(), as a model gives no ranges.
  ParsedQuery from_entities(std::string_view query, const std::vector<EntitySpan>& spans) const {
    std::vector<std::size_t> byte_at;
    const std::u32string original = decode(query, byte_at);
    ParsedQuery out = parse(query);
    out.attributes.erase(std::remove_if(out.attributes.begin(), out.attributes.end(),
                                        [](const QueryAttribute& a) { return a.name != "price"; }),
                         out.attributes.end());
    for (const EntitySpan& span : spans) {
      if (span.begin >= span.end || span.end > original.size())
        throw InputError("attributes.bad_span", "an entity span lies outside the query");
      const detail::Normalised s = detail::normalise(original.substr(span.begin, span.end - span.begin));
      const auto [length, values] = longest_value(s.text, 0);
      if (length != s.text.size()) continue;
      for (const Value* v : values)
        if (v->attribute == span.attribute)
          out.attributes.push_back(make_attribute(v->attribute, v->value, byte_at, span.begin, span.end));
    }
    std::stable_sort(out.attributes.begin(), out.attributes.end(),
                     [](const QueryAttribute& a, const QueryAttribute& b) { return a.begin < b.begin; });
    return out;
  }

  /// The filter and boost of a parsed query under `policy`.
  /// The filter and boost read this object's tables: they are valid while it
  /// lives. Per query they cost one bitmap (rows / 8 bytes) per matched
  /// attribute; the price is checked only for rows the search asks about.
  QueryConstraints constraints(const ParsedQuery& query, const AttributePolicy& policy = {}) const {
    std::map<std::string, ItemBitmap> holders;  // attribute -> rows holding one of its matched values
    for (const QueryAttribute& a : query.attributes) {
      if (a.name == "price") continue;
      const auto it = values_.find(Key{a.name, detail::normalise(text::decode_utf8(a.value)).text});
      if (it == values_.end()) {  // a value no item holds (given, not parsed): a filter on it keeps nothing
        if (policy.filters.count(a.name)) holders.try_emplace(a.name, rows_);
        continue;
      }
      ItemBitmap& rows = holders.try_emplace(a.name, rows_).first->second;
      for (std::size_t r : it->second.rows) rows.set(r);
    }
    QueryConstraints out;
    auto filters = std::make_shared<std::vector<ItemBitmap>>();  // each must hold the row
    auto boosts = std::make_shared<std::vector<ItemBitmap>>();   // the share that holds it is the boost
    for (auto& [name, rows] : holders) (policy.filters.count(name) ? *filters : *boosts).push_back(std::move(rows));
    const PriceRange price = query.price;
    out.filter_attributes = filters->size() + (price.bounded() ? 1 : 0);
    out.boost_attributes = boosts->size();
    if (out.filter_attributes > 0) {
      const std::vector<double>* prices = &prices_;
      out.filter.keep = [filters, price, prices](std::size_t row) {
        if (price.bounded() && !(row < prices->size() && price.contains((*prices)[row]))) return false;
        for (const ItemBitmap& f : *filters)
          if (!f.test(row)) return false;
        return true;
      };
    }
    if (out.boost_attributes > 0) {
      const float share = 1.0f / static_cast<float>(out.boost_attributes);
      out.boost = [boosts, share](std::size_t row) {
        float held = 0.0f;
        for (const ItemBitmap& b : *boosts) held += b.test(row) ? 1.0f : 0.0f;
        return held * share;
      };
    }
    return out;
  }

  /// The price of the item at `row` (NaN if none was set).
  double price(std::size_t row) const { return row < prices_.size() ? prices_[row] : std::numeric_limits<double>::quiet_NaN(); }

 private:
  // A value as added, and the rows holding it.
  struct Value {
    std::string attribute;
    std::string value;
    std::vector<std::size_t> rows;       // ascending
    std::vector<std::string> spellings;  // keys of spelled_ that lead here
  };
  struct Key {
    std::string attribute;
    std::u32string text;
    bool operator<(const Key& o) const { return attribute < o.attribute || (attribute == o.attribute && text < o.text); }
  };
  void index_value(const std::u32string& key, const Value* value) {
    add_form(key, value);
    // A plural value ("shoes") also matches its singular ("shoe").
    const std::size_t n = key.size();
    if (n > 3 && key[n - 1] == U's' && key[n - 2] != U's' && key[n - 2] >= U'a' && key[n - 2] <= U'z')
      add_form(key.substr(0, n - 1), value);
  }
  // A value no row holds any more: out of the forms, the spellings and the table.
  void forget(const Key& key, Value* value) {
    unindex_value(key.text, value);
    for (const std::string& spelled : value->spellings) spelled_.erase(spelled);
    values_.erase(key);
  }

  void unindex_value(const std::u32string& key, const Value* value) {
    remove_form(key, value);
    const std::size_t n = key.size();
    if (n > 3 && key[n - 1] == U's' && key[n - 2] != U's' && key[n - 2] >= U'a' && key[n - 2] <= U'z')
      remove_form(key.substr(0, n - 1), value);
  }
  void remove_form(const std::u32string& form, const Value* value) {
    const auto bucket = forms_.find(form[0]);
    if (bucket == forms_.end()) return;
    std::vector<Form>& forms = bucket->second;
    const auto it = std::find_if(forms.begin(), forms.end(), [&](const Form& f) { return f.text == form; });
    if (it == forms.end()) return;
    it->values.erase(std::remove(it->values.begin(), it->values.end(), value), it->values.end());
    if (it->values.empty()) forms.erase(it);
    if (forms.empty()) forms_.erase(bucket);
  }
  void add_form(const std::u32string& form, const Value* value) {
    std::vector<Form>& forms = forms_[form[0]];
    auto it = std::find_if(forms.begin(), forms.end(), [&](const Form& f) { return f.text == form; });
    if (it == forms.end()) {  // longest first: insert after the forms at least as long
      it = std::upper_bound(forms.begin(), forms.end(), form.size(),
                            [](std::size_t size, const Form& f) { return size > f.text.size(); });
      it = forms.insert(it, Form{form, {}});
    }
    // values of one form in (attribute, value) order, however they were added
    if (std::find(it->values.begin(), it->values.end(), value) == it->values.end())
      it->values.insert(std::upper_bound(it->values.begin(), it->values.end(), value,
                                         [](const Value* a, const Value* b) {
                                           return a->attribute < b->attribute ||
                                                  (a->attribute == b->attribute && a->value < b->value);
                                         }),
                        value);
  }

  // The longest value form starting at i that ends on a word boundary, with
  // an optional English plural ending ("s" or "es"); {0, {}} if none.
  std::pair<std::size_t, std::vector<const Value*>> longest_value(const std::u32string& s, std::size_t i) const {
    const auto it = forms_.find(s[i]);
    if (it == forms_.end()) return {0, {}};
    for (const Form& f : it->second) {  // longest first
      if (s.compare(i, f.text.size(), f.text) != 0) continue;
      const std::size_t e = i + f.text.size();
      if (detail::ends_word(s, e)) return {f.text.size(), f.values};
      for (const std::u32string_view ending : {std::u32string_view(U"s"), std::u32string_view(U"es")})
        if (s.compare(e, ending.size(), ending) == 0 && detail::ends_word(s, e + ending.size()))
          return {f.text.size() + ending.size(), f.values};
    }
    return {0, {}};
  }

  // ---- helpers ----------------------------------------------------------------
  // The query's characters (ill-formed bytes as U+FFFD, one per byte run
  // the decoder rejects) and where each starts in the query's bytes.
  static std::u32string decode(std::string_view query, std::vector<std::size_t>& byte_at) {
    std::u32string chars;
    byte_at.clear();
    for (std::size_t i = 0; i < query.size();) {
      byte_at.push_back(i);
      chars.push_back(text::decode_utf8(query, i));
    }
    byte_at.push_back(query.size());
    return chars;
  }

  static QueryAttribute make_attribute(const std::string& name, const std::string& value,
                                       const std::vector<std::size_t>& byte_at, std::size_t b, std::size_t e) {
    return QueryAttribute{name, value, b, e, byte_at[b], byte_at[e]};
  }

  // The query without the given character spans, whitespace tidied.
  static std::string without_spans(const std::u32string& query, const std::vector<std::pair<std::size_t, std::size_t>>& spans) {
    std::u32string kept;
    std::size_t next = 0;
    for (const auto& [b, e] : spans) {
      kept.append(query, next, b - next);
      kept.push_back(U' ');
      next = e;
    }
    kept.append(query, next, std::u32string::npos);
    std::u32string tidy;
    for (char32_t c : kept) {
      if (detail::is_space(c)) {
        if (!tidy.empty() && tidy.back() != U' ') tidy.push_back(U' ');
      } else {
        tidy.push_back(c);
      }
    }
    while (!tidy.empty() && (tidy.back() == U' ' || tidy.back() == U',')) tidy.pop_back();
    return text::encode_utf8(tidy);
  }

  struct Form {
    std::u32string text;
    std::vector<const Value*> values;
  };

  // rows [0, row] are covered
  void grow(std::size_t row) {
    if (row >= rows_) rows_ = row + 1;
    if (row >= prices_.size()) prices_.resize(row + 1, std::numeric_limits<double>::quiet_NaN());
    if (row >= values_of_row_.size()) values_of_row_.resize(row + 1);
  }

  std::size_t rows_ = 0;
  std::vector<double> prices_;                            // by row, NaN = unknown
  std::map<Key, Value> values_;                           // stable addresses
  std::vector<std::vector<Value*>> values_of_row_;        // by row: the values it holds, for clear()
  std::unordered_map<std::string, Value*> spelled_;       // "attribute\0value as written" -> its value
  std::unordered_map<char32_t, std::vector<Form>> forms_;  // by first character, longest first
};

/// The k best items for `query_vector` under the constraints: the filter
/// applies, and with a boost the top `candidates` by similarity are
/// re-scored as (1 - boost_weight) * similarity + boost_weight * boost(row).
/// Ties keep the similarity order. Throws InputError for a boost weight
/// outside [0, 1] or candidates < k.
inline std::vector<SearchResult> search_with_constraints(const EmbeddingIndex& index, const VectorF& query_vector,
                                                         const QueryConstraints& constraints, std::size_t k,
                                                         std::size_t candidates = 100, double boost_weight = 0.3) {
  if (!(boost_weight >= 0 && boost_weight <= 1))
    throw InputError("attributes.bad_weight", "boost_weight must be in [0, 1]");
  if (!constraints.boost || boost_weight == 0) return index.search(query_vector, k, constraints.filter);
  if (candidates < k) throw InputError("attributes.bad_candidates", "candidates must be at least k");
  std::vector<SearchResult> results = index.search(query_vector, candidates, constraints.filter);
  const auto w = static_cast<float>(boost_weight);
  for (SearchResult& r : results) {
    r.boost = constraints.boost(r.row);
    r.score = (1 - w) * r.similarity + w * r.boost;
  }
  std::stable_sort(results.begin(), results.end(),
                   [](const SearchResult& a, const SearchResult& b) { return a.score > b.score; });
  if (results.size() > k) results.resize(k);
  return results;
}

}  // namespace embedrank::rank
