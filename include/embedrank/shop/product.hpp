#pragma once
/// Product: one item of a shop's catalogue, and TextTemplate: the text of a
/// product that the encoder embeds, written over its columns.

#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "embedrank/core/error.hpp"

namespace embedrank {

/// One catalogue item. Every field but the id may be empty (price NaN).
struct Product {
  std::string id;
  std::string title;
  std::string description;
  std::string category;
  std::string brand;
  std::string colour;
  double price = std::numeric_limits<double>::quiet_NaN();
  /// Further attribute columns (size, material, ...): name -> value.
  std::map<std::string, std::string> attributes;

  /// The value of a column by name ("" if the product has none); "color"
  /// reads "colour", "price" its shortest decimal text.
  std::string column(const std::string& name) const {
    if (name == "id") return id;
    if (name == "title") return title;
    if (name == "description") return description;
    if (name == "category") return category;
    if (name == "brand") return brand;
    if (name == "colour" || name == "color") return colour;
    if (name == "price") return std::isnan(price) ? std::string() : format_price(price);
    const auto it = attributes.find(name);
    return it == attributes.end() ? std::string() : it->second;
  }

  /// Attributes as the query understanding reads them: category, brand,
  /// colour, then the further columns, each (name, value) with a value.
  std::vector<std::pair<std::string, std::string>> attribute_values() const {
    std::vector<std::pair<std::string, std::string>> out;
    if (!category.empty()) out.emplace_back("category", category);
    if (!brand.empty()) out.emplace_back("brand", brand);
    if (!colour.empty()) out.emplace_back("colour", colour);
    for (const auto& [name, value] : attributes)
      if (!value.empty()) out.emplace_back(name, value);
    return out;
  }

  /// Everything but title and description is equal (price compared bit for
  /// bit, NaN equal to NaN): a change that needs no new embedding unless
  /// the text template reads these columns.
  bool same_attributes(const Product& o) const {
    const bool same_price = (std::isnan(price) && std::isnan(o.price)) || price == o.price;
    return same_price && category == o.category && brand == o.brand && colour == o.colour &&
           attributes == o.attributes;
  }

  /// The shortest decimal text that reads back as `value` exactly.
  static std::string format_price(double value) {
    char buffer[64];
    for (int digits = 1; digits <= 17; ++digits) {
      std::snprintf(buffer, sizeof buffer, "%.*g", digits, value);
      if (std::strtod(buffer, nullptr) == value) break;
    }
    return buffer;
  }
};

/// The text embedded for a product, as a template over its columns:
/// "{title}. {description}" (the default), "{brand} {title}", ... Each
/// {column} is replaced by the product's value (Product::column). The text
/// between two fields is a separator: it is written only when there is
/// text on both sides of it, so "{title}. {description}" gives the bare
/// title when the description is empty. Text before the first field and
/// after the last is always written.
class TextTemplate {
 public:
  /// Throws InputError "catalogue.bad_template" for an unmatched brace, an
  /// empty field name or a template without fields.
  explicit TextTemplate(std::string source = "{title}. {description}") : source_(std::move(source)) {
    std::string literal;
    for (std::size_t i = 0; i < source_.size(); ++i) {
      const char c = source_[i];
      if (c == '}') throw InputError("catalogue.bad_template", "text template '" + source_ + "': '}' without '{'");
      if (c != '{') {
        literal.push_back(c);
        continue;
      }
      const std::size_t close = source_.find('}', i + 1);
      if (close == std::string::npos)
        throw InputError("catalogue.bad_template", "text template '" + source_ + "': '{' without '}'");
      std::string name = source_.substr(i + 1, close - i - 1);
      if (name.empty() || name.find('{') != std::string::npos)
        throw InputError("catalogue.bad_template", "text template '" + source_ + "': an empty or nested field name");
      literals_.push_back(std::move(literal));
      literal.clear();
      fields_.push_back(std::move(name));
      i = close;
    }
    if (fields_.empty())
      throw InputError("catalogue.bad_template", "text template '" + source_ + "' names no {column}");
    literals_.push_back(std::move(literal));  // after the last field
  }

  const std::string& source() const { return source_; }
  /// The column names the template reads, in order.
  const std::vector<std::string>& fields() const { return fields_; }

  /// The product's text.
  std::string render(const Product& p) const {
    std::string out = literals_.front();
    bool pending = false;  // a field before this one wrote text: its separator waits for the next value
    for (std::size_t f = 0; f < fields_.size(); ++f) {
      const std::string value = p.column(fields_[f]);
      if (value.empty()) continue;
      if (pending) out += literals_[f];
      out += value;
      pending = true;
    }
    out += literals_.back();
    return out;
  }

 private:
  std::string source_;
  std::vector<std::string> fields_;    // (F)
  std::vector<std::string> literals_;  // (F + 1) before field 0, between fields, after the last
};

}  // namespace embedrank
