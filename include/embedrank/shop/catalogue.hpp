#pragma once
/// Catalogue: the one owner of product identity. Each product has a row
/// that stays fixed while the process runs; every table keyed by products
/// (the embedding index, the attribute tables, the CF bridge) is keyed by
/// these rows. A removed product leaves a tombstone (its row is skipped)
/// until compact(), which drops the tombstones and returns the one RowRemap
/// that every holder applies in the same step.
///
///   Catalogue shop = Catalogue::read({"catalogue.tsv", "attributes.tsv"});  // joined by id
///   std::size_t row = shop.row_of("P0042");
///   shop.upsert({changed_product});   // reports which texts changed
///   shop.remove({"P0007"});
///
/// Files: TSV, CSV (RFC 4180) or JSON Lines, by extension, with a header
/// (or keys) naming the columns: id (required), title, description,
/// category, brand, colour (or color), price; any other column is a further
/// attribute. Bad input is a ParseError naming the file, the line and the
/// column, and nothing is loaded.
///
/// Thread safety: const member functions may run concurrently; upsert,
/// remove and compact need exclusive access (ShoppingGuide provides it).

#include <charconv>
#include <ostream>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "embedrank/core/error.hpp"
#include "embedrank/core/row_remap.hpp"
#include "embedrank/shop/detail/table_reader.hpp"
#include "embedrank/shop/product.hpp"

namespace embedrank {

struct CatalogueOptions {
  /// The text embedded for each product (see TextTemplate).
  std::string text_template = "{title}. {description}";
};

/// What an upsert did to one product of its batch.
struct ProductChange {
  std::size_t row = 0;
  bool added = false;               ///< a new id: a new row
  bool text_changed = false;        ///< the embedded text differs (or the product is new): embed it
  bool attributes_changed = false;  ///< category, brand, colour, price or a further attribute differs
};

class Catalogue {
 public:
  static constexpr std::size_t npos = std::numeric_limits<std::size_t>::max();

  /// An empty catalogue. Throws InputError "catalogue.bad_template".
  explicit Catalogue(CatalogueOptions options = {}) : template_(std::move(options.text_template)) {}

  /// Reads one catalogue file (format by extension).
  static Catalogue read(const std::string& path, CatalogueOptions options = {}) {
    return read(std::vector<std::string>{path}, std::move(options));
  }

  /// Reads the products from the first file and joins the columns of the
  /// others by id (e.g. titles in one file, prices and brands in another):
  /// every id of a later file must be in the first. Throws FileError,
  /// InputError "catalogue.unknown_format", or ParseError naming file, line
  /// and column: "catalogue.no_id_column", "catalogue.empty_id",
  /// "catalogue.bad_id", "catalogue.duplicate_id", "catalogue.unknown_id"
  /// (a joined file's id not in the first), "catalogue.bad_price",
  /// "catalogue.ragged_row", "catalogue.bad_quote",
  /// "catalogue.unterminated_quote", "catalogue.bad_json",
  /// "catalogue.nested_value", "catalogue.duplicate_column",
  /// "catalogue.bad_utf8", "catalogue.no_header", "catalogue.no_text_columns"
  /// (none of the template's columns is in the files).
  static Catalogue read(const std::vector<std::string>& paths, CatalogueOptions options = {}) {
    if (paths.empty()) throw InputError("catalogue.no_files", "no catalogue file given");
    std::vector<shop::detail::Table> tables;
    for (const std::string& path : paths) tables.push_back(shop::detail::read_table(path));
    return from_tables(tables, std::move(options));
  }

  /// read() on tables already parsed (shop::detail::parse_tsv, parse_csv,
  /// parse_json_lines): the first gives the products, the others join by id.
  /// Throws as read() does.
  static Catalogue from_tables(const std::vector<shop::detail::Table>& tables, CatalogueOptions options = {}) {
    if (tables.empty()) throw InputError("catalogue.no_files", "no catalogue file given");
    Catalogue catalogue(std::move(options));
    std::vector<Product> products;
    std::unordered_map<std::string, std::pair<std::size_t, std::size_t>> first_line;  // id -> (product, line)
    std::unordered_set<std::string> columns;
    for (std::size_t f = 0; f < tables.size(); ++f) {
      const shop::detail::Table& table = tables[f];
      const std::vector<Field> fields = map_columns(table);
      std::size_t id_column = npos;
      for (std::size_t c = 0; c < fields.size(); ++c) {
        if (fields[c] == Field::Id) id_column = c;
        columns.insert(canonical_name(table.columns[c]));
      }
      if (id_column == npos)
        throw ParseError("catalogue.no_id_column", table.path + ":1: no 'id' column (columns: " + join(table.columns) + ")");
      std::unordered_map<std::string, std::size_t> seen_here;  // id -> line, for a joined file's duplicates
      for (const auto& record : table.records) {
        const std::string& id = record.values[id_column];
        if (id.empty()) throw ParseError("catalogue.empty_id", table.where(record.line, id_column) + "empty id");
        if (id.find_first_of("\t\r\n") != std::string::npos)
          throw ParseError("catalogue.bad_id", table.where(record.line, id_column) + "the id contains a tab or a line break");
        std::size_t p = 0;
        if (f == 0) {
          const auto [it, added] = first_line.try_emplace(id, products.size(), record.line);
          if (!added)
            throw ParseError("catalogue.duplicate_id", table.where(record.line, id_column) + "id '" + id +
                                                           "' already on line " + std::to_string(it->second.second));
          p = products.size();
          products.emplace_back();
          products.back().id = id;
        } else {
          const auto it = first_line.find(id);
          if (it == first_line.end())
            throw ParseError("catalogue.unknown_id", table.where(record.line, id_column) + "id '" + id +
                                                         "' is not in " + tables.front().path);
          const auto [dup, added] = seen_here.try_emplace(id, record.line);
          if (!added)
            throw ParseError("catalogue.duplicate_id", table.where(record.line, id_column) + "id '" + id +
                                                           "' already on line " + std::to_string(dup->second));
          p = it->second.first;
        }
        for (std::size_t c = 0; c < fields.size(); ++c)
          set_field(products[p], fields[c], table.columns[c], record.values[c], table, record.line, c);
      }
    }
    bool any_text = false;
    for (const std::string& name : catalogue.template_.fields()) any_text = any_text || columns.count(canonical_name(name));
    if (!any_text)
      throw ParseError("catalogue.no_text_columns", tables.front().path + ": the text template '" +
                                                        catalogue.template_.source() +
                                                        "' reads no column the files have");
    catalogue.upsert(std::move(products));
    return catalogue;
  }

  /// Stored rows, removed ones included (N).
  std::size_t rows() const { return products_.size(); }
  /// Live products.
  std::size_t size() const { return row_of_.size(); }
  bool contains(const std::string& id) const { return row_of_.count(id) != 0; }
  /// The row of a live product, or npos.
  std::size_t find(const std::string& id) const {
    const auto it = row_of_.find(id);
    return it == row_of_.end() ? npos : it->second;
  }
  /// The row of a live product; throws InputError "catalogue.unknown_product".
  std::size_t row_of(const std::string& id) const {
    const std::size_t row = find(id);
    if (row == npos) throw InputError("catalogue.unknown_product", "product '" + id + "' is not in the catalogue");
    return row;
  }
  /// True if the row's product was removed (a tombstone until compact()).
  bool removed(std::size_t row) const {
    check_row(row);
    return removed_[row] != 0;
  }
  /// The product at a row (a removed one too); throws InputError past rows().
  const Product& product(std::size_t row) const {
    check_row(row);
    return products_[row];
  }
  /// The live product with this id; throws InputError "catalogue.unknown_product".
  const Product& product(const std::string& id) const { return products_[row_of(id)]; }
  /// The text embedded for the product at `row`.
  std::string text(std::size_t row) const { return template_.render(product(row)); }
  const TextTemplate& text_template() const { return template_; }
  /// Rows of the live products, ascending.
  std::vector<std::size_t> live_rows() const {
    std::vector<std::size_t> out;
    out.reserve(size());
    for (std::size_t row = 0; row < rows(); ++row)
      if (!removed_[row]) out.push_back(row);
    return out;
  }

  /// Adds new products (new rows, in batch order) and replaces existing ones
  /// in place (same row). Returns one change per product, in batch order.
  /// All products are checked before anything changes: throws InputError
  /// "catalogue.bad_product" (empty id, an id with a tab or line break, a
  /// price that is not a finite number >= 0, an attribute named like a
  /// column, text that is not UTF-8) or "catalogue.duplicate_id" (an id
  /// twice in the batch), naming the product.
  std::vector<ProductChange> upsert(std::vector<Product> products) {
    check(products);
    std::vector<ProductChange> changes;
    changes.reserve(products.size());
    row_of_.reserve(row_of_.size() + products.size());
    for (Product& p : products) {
      ProductChange change;
      const auto it = row_of_.find(p.id);
      if (it == row_of_.end()) {
        change.row = products_.size();
        change.added = change.text_changed = change.attributes_changed = true;
        row_of_.emplace(p.id, change.row);
        products_.push_back(std::move(p));
        removed_.push_back(0);
      } else {
        change.row = it->second;
        Product& old = products_[change.row];
        change.text_changed = template_.render(old) != template_.render(p);
        change.attributes_changed = !old.same_attributes(p);
        old = std::move(p);
      }
      changes.push_back(change);
    }
    return changes;
  }

  /// Checks a batch as upsert() does, changing nothing.
  static void check(const std::vector<Product>& products) {
    std::unordered_set<std::string> batch;
    for (const Product& p : products) {
      check_product(p);
      if (!batch.insert(p.id).second)
        throw InputError("catalogue.duplicate_id", "product '" + p.id + "' appears twice in one upsert");
    }
  }

  /// Removes products by id; their rows become tombstones. Returns, per id,
  /// the row it had, or npos for an id that is not in the catalogue.
  std::vector<std::size_t> remove(const std::vector<std::string>& ids) {
    std::vector<std::size_t> rows;
    rows.reserve(ids.size());
    for (const std::string& id : ids) {
      const auto it = row_of_.find(id);
      if (it == row_of_.end()) {
        rows.push_back(npos);
        continue;
      }
      rows.push_back(it->second);
      removed_[it->second] = 1;
      row_of_.erase(it);
    }
    return rows;
  }

  /// Drops the tombstones, keeping the order of the live rows, and returns
  /// where each old row went. Every holder of per-row data must apply it.
  RowRemap compact() {
    RowRemap remap = RowRemap::dropping(rows(), [&](std::size_t row) { return removed_[row] != 0; });
    if (remap.identity()) return remap;
    std::vector<Product> kept;
    kept.reserve(remap.rows_after);
    for (std::size_t row = 0; row < rows(); ++row)
      if (!removed_[row]) kept.push_back(std::move(products_[row]));
    products_ = std::move(kept);
    removed_.assign(products_.size(), 0);
    for (auto& [id, row] : row_of_) row = remap(row);
    return remap;
  }

  /// Writes every row (removed ones too, in row order) as JSON Lines, one
  /// object per product with its non-empty columns (further attributes
  /// under their own names). from_rows() rebuilds the same rows.
  void write_rows(std::ostream& out) const {
    for (std::size_t row = 0; row < rows(); ++row) {
      const Product& p = products_[row];
      out << "{\"id\":" << shop::detail::json_quote(p.id);
      const auto field = [&](const std::string& name, const std::string& value) {
        if (!value.empty()) out << "," << shop::detail::json_quote(name) << ":" << shop::detail::json_quote(value);
      };
      field("title", p.title);
      field("description", p.description);
      field("category", p.category);
      field("brand", p.brand);
      field("colour", p.colour);
      if (!std::isnan(p.price)) out << ",\"price\":" << Product::format_price(p.price);
      for (const auto& [name, value] : p.attributes) field(name, value);
      out << "}\n";
    }
  }

  /// The catalogue whose rows are `products`, the rows flagged in `removed`
  /// (N) being tombstones: how a saved state comes back with the same rows.
  /// Throws as upsert() does, and InputError "catalogue.duplicate_id" for a
  /// live id given twice.
  static Catalogue from_rows(std::vector<Product> products, const std::vector<bool>& removed,
                             CatalogueOptions options = {}) {
    if (removed.size() != products.size())
      throw InputError("catalogue.bad_rows", std::to_string(removed.size()) + " removed flags for " +
                                                 std::to_string(products.size()) + " products");
    Catalogue catalogue(std::move(options));
    catalogue.products_.reserve(products.size());
    catalogue.removed_.reserve(products.size());
    catalogue.row_of_.reserve(products.size());
    for (std::size_t row = 0; row < products.size(); ++row) {
      check_product(products[row]);
      if (!removed[row] && !catalogue.row_of_.emplace(products[row].id, row).second)
        throw InputError("catalogue.duplicate_id", "product '" + products[row].id + "' appears twice");
      catalogue.products_.push_back(std::move(products[row]));
      catalogue.removed_.push_back(removed[row] ? 1 : 0);
    }
    return catalogue;
  }

  /// The products of a table read by shop::detail::read_table, in file
  /// order, without the id checks of read() (for from_rows()).
  static std::vector<Product> products_of(const shop::detail::Table& table) {
    const std::vector<Field> fields = map_columns(table);
    std::vector<Product> products;
    products.reserve(table.records.size());
    for (const auto& record : table.records) {
      products.emplace_back();
      for (std::size_t c = 0; c < fields.size(); ++c) {
        if (fields[c] == Field::Id)
          products.back().id = record.values[c];
        else
          set_field(products.back(), fields[c], table.columns[c], record.values[c], table, record.line, c);
      }
    }
    return products;
  }

 private:
  enum class Field { Id, Title, Description, Category, Brand, Colour, Price, Attribute };

  static std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    return s;
  }
  // a known column's lowercase name ("color" as "colour"); others as they are
  static std::string canonical_name(const std::string& column) {
    if (!known_column(column)) return column;
    const std::string l = lower(column);
    return l == "color" ? "colour" : l;
  }
  // id, title, description, category, brand, colour (or color), price, in any case
  static bool known_column(const std::string& name) {
    const std::string l = lower(name);
    return l == "id" || l == "title" || l == "description" || l == "category" || l == "brand" || l == "colour" ||
           l == "color" || l == "price";
  }

  // Each column's field; throws ParseError "catalogue.duplicate_column" when
  // two columns are one field ("colour" and "Color").
  static std::vector<Field> map_columns(const shop::detail::Table& table) {
    std::vector<Field> fields;
    for (std::size_t c = 0; c < table.columns.size(); ++c) {
      const std::string& column = table.columns[c];
      const std::string name = canonical_name(column);
      if (known_column(column))
        for (std::size_t earlier = 0; earlier < c; ++earlier)
          if (canonical_name(table.columns[earlier]) == name)
            throw ParseError("catalogue.duplicate_column", table.path + ":1: columns '" + table.columns[earlier] +
                                                               "' and '" + column + "' are the same column twice");
      fields.push_back(name == "id"            ? Field::Id
                       : name == "title"       ? Field::Title
                       : name == "description" ? Field::Description
                       : name == "category"    ? Field::Category
                       : name == "brand"       ? Field::Brand
                       : name == "colour"      ? Field::Colour
                       : name == "price"       ? Field::Price
                                               : Field::Attribute);
    }
    return fields;
  }

  static void set_field(Product& p, Field field, const std::string& column, const std::string& value,
                        const shop::detail::Table& table, std::size_t line, std::size_t c) {
    switch (field) {
      case Field::Id: break;
      case Field::Title: p.title = value; break;
      case Field::Description: p.description = value; break;
      case Field::Category: p.category = value; break;
      case Field::Brand: p.brand = value; break;
      case Field::Colour: p.colour = value; break;
      case Field::Price: p.price = parse_price(value, table, line, c); break;
      case Field::Attribute:
        if (!value.empty()) p.attributes[column] = value;
        break;
    }
  }

  static double parse_price(const std::string& text, const shop::detail::Table& table, std::size_t line,
                            std::size_t c) {
    if (text.empty()) return std::numeric_limits<double>::quiet_NaN();
    double value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value) || value < 0)
      throw ParseError("catalogue.bad_price",
                       table.where(line, c) + "'" + text + "' is not a price (a finite number >= 0, '.' decimal point)");
    return value;
  }

  static std::string join(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
    return out;
  }

  static void check_product(const Product& p) {
    const auto bad = [&](const std::string& why) {
      throw InputError("catalogue.bad_product", "product '" + p.id + "': " + why);
    };
    if (p.id.empty()) bad("empty id");
    if (p.id.find_first_of("\t\r\n") != std::string::npos) bad("the id contains a tab or a line break");
    if (!std::isnan(p.price) && !(std::isfinite(p.price) && p.price >= 0)) bad("the price is not a finite number >= 0");
    const auto utf8 = [&](const std::string& field, const std::string& value) {
      if (!text::is_valid_utf8(value)) bad(field + " is not valid UTF-8");
    };
    utf8("id", p.id);
    utf8("title", p.title);
    utf8("description", p.description);
    utf8("category", p.category);
    utf8("brand", p.brand);
    utf8("colour", p.colour);
    for (const auto& [name, value] : p.attributes) {
      if (name.empty() || known_column(name))
        bad("attribute name '" + name + "' is empty or a column's name");
      utf8("attribute '" + name + "'", value);
    }
  }

  void check_row(std::size_t row) const {
    if (row >= rows())
      throw InputError("catalogue.row_out_of_range",
                       "row " + std::to_string(row) + " is outside the catalogue (" + std::to_string(rows()) + " rows)");
  }

  TextTemplate template_;
  std::vector<Product> products_;                         // (N) by row, tombstones included
  std::vector<unsigned char> removed_;                    // (N) 1 for a tombstone
  std::unordered_map<std::string, std::size_t> row_of_;  // live id -> row
};

}  // namespace embedrank
