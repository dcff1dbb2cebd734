// Catalogue: the owner of product identity. Its three readers give the same
// products; every bad file gets a ParseError naming file, line and column;
// rows stay fixed through upserts and removals until compact(), whose remap
// says where each row went.

#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "embedrank/shop/catalogue.hpp"

using embedrank::Catalogue;
using embedrank::CatalogueOptions;
using embedrank::InputError;
using embedrank::ParseError;
using embedrank::Product;
using embedrank::RowRemap;
using Catch::Matchers::Contains;

namespace {

std::string write_file(const std::string& name, const std::string& text) {
  const std::string path = std::string(EMBEDRANK_TEST_WORK_DIR) + "/" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

// The message of the ParseError that reading `text` as `name` throws ("" if none).
std::string read_error(const std::string& name, const std::string& text) {
  const std::string path = write_file(name, text);
  try {
    Catalogue::read(path);
  } catch (const ParseError& e) {
    return e.what();
  }
  return "";
}

Product product(const std::string& id, const std::string& title, double price = std::nan("")) {
  Product p;
  p.id = id;
  p.title = title;
  p.price = price;
  return p;
}

}  // namespace

TEST_CASE("TSV, CSV and JSON Lines give the same products", "[catalogue]") {
  const std::string tsv = write_file("cat.tsv",
                                     "id\ttitle\tdescription\tbrand\tColor\tprice\tmaterial\n"
                                     "A1\tRed dress\tLinen, light\tOrla\tred\t39.5\tlinen\n"
                                     "\n"
                                     "B2\tBlue shoes\t\tPacewell\tblue\t120\t\r\n");
  const std::string csv = write_file("cat.csv",
                                     "id,title,description,brand,Color,price,material\r\n"
                                     "A1,Red dress,\"Linen, light\",Orla,red,39.5,linen\r\n"
                                     "B2,\"Blue shoes\",,Pacewell,blue,120,\r\n");
  const std::string jsonl = write_file("cat.jsonl",
                                       "{\"id\": \"A1\", \"title\": \"Red dress\", \"description\": \"Linen, light\", "
                                       "\"brand\": \"Orla\", \"Color\": \"red\", \"price\": 39.5, \"material\": \"linen\"}\n"
                                       "{\"id\": \"B2\", \"title\": \"Blue \\u0073hoes\", \"brand\": \"Pacewell\", "
                                       "\"Color\": \"blue\", \"price\": \"120\", \"material\": null}\n");
  for (const std::string& path : {tsv, csv, jsonl}) {
    INFO(path);
    const Catalogue c = Catalogue::read(path);
    REQUIRE(c.size() == 2);
    REQUIRE(c.rows() == 2);
    const Product& a = c.product("A1");
    CHECK(a.title == "Red dress");
    CHECK(a.description == "Linen, light");
    CHECK(a.brand == "Orla");
    CHECK(a.colour == "red");
    CHECK(a.price == 39.5);
    CHECK(a.attributes.at("material") == "linen");
    const Product& b = c.product("B2");
    CHECK(b.title == "Blue shoes");
    CHECK(b.description.empty());
    CHECK(b.price == 120);
    CHECK(b.attributes.count("material") == 0);
    CHECK(c.row_of("A1") == 0);
    CHECK(c.row_of("B2") == 1);
    // the default template: "title. description", the bare title without a description
    CHECK(c.text(0) == "Red dress. Linen, light");
    CHECK(c.text(1) == "Blue shoes");
  }
}

TEST_CASE("CSV fields may hold quotes and line breaks", "[catalogue]") {
  const std::string path = write_file("quoted.csv",
                                      "id,title,description\n"
                                      "Q1,\"The \"\"Cloud\"\" shoe\",\"two\nlines\"\n"
                                      "Q2,plain,x\n");
  const Catalogue c = Catalogue::read(path);
  CHECK(c.product("Q1").title == "The \"Cloud\" shoe");
  CHECK(c.product("Q1").description == "two\nlines");
  // a line break inside a field still counts lines: Q2's duplicate is reported on line 4
  CHECK_THAT(read_error("dup.csv", "id,title\n\"Q1\",\"a\nb\"\nQ1,c\n"), Contains("dup.csv:4") && Contains("line 2"));
}

TEST_CASE("the sample shop loads in one call", "[catalogue]") {
  const std::string data = std::string(EMBEDRANK_SOURCE_DIR) + "/examples/data/";
  const Catalogue shop = Catalogue::read({data + "catalogue.tsv", data + "attributes.tsv"});
  CHECK(shop.size() == 358);
  const Product& p = shop.product("P0001");
  CHECK(p.category == "Clothing");
  CHECK(p.brand == "Orla Rae");
  CHECK(p.colour == "red");
  CHECK(p.price == 77.99);
  CHECK_THAT(shop.text(shop.row_of("P0001")), Contains("Orla Rae Poppy Red Linen Sundress. Sleeveless"));
}

TEST_CASE("every bad catalogue file gets a ParseError with file, line and column", "[catalogue]") {
  CHECK_THAT(read_error("noid.tsv", "sku\ttitle\nA\tx\n"), Contains("noid.tsv:1") && Contains("no 'id' column"));
  CHECK_THAT(read_error("emptyid.tsv", "id\ttitle\nA\tx\n\ty\n"),
             Contains("emptyid.tsv:3") && Contains("column 'id' (1)") && Contains("empty id"));
  CHECK_THAT(read_error("dupid.tsv", "id\ttitle\nA\tx\nB\ty\nA\tz\n"),
             Contains("dupid.tsv:4") && Contains("'A' already on line 2"));
  CHECK_THAT(read_error("price.tsv", "id\ttitle\tprice\nA\tx\t12.5\nB\ty\t12,50\n"),
             Contains("price.tsv:3") && Contains("column 'price' (3)") && Contains("'12,50'"));
  CHECK_THAT(read_error("negative.csv", "id,price\nA,-3\n"), Contains("negative.csv:2") && Contains("column 'price' (2)"));
  CHECK_THAT(read_error("nan.jsonl", "{\"id\":\"A\",\"price\":\"nan\"}\n"), Contains("nan.jsonl:1") && Contains("'price'"));
  CHECK_THAT(read_error("ragged.tsv", "id\ttitle\tprice\nA\tx\t1\nB\ty\n"),
             Contains("ragged.tsv:3") && Contains("2 fields, the header has 3"));
  CHECK_THAT(read_error("ragged.csv", "id,title\nA,x,extra\n"), Contains("ragged.csv:2") && Contains("3 fields"));
  CHECK_THAT(read_error("quote.csv", "id,title\nA,ab\"c\n"), Contains("quote.csv:2") && Contains("column 2"));
  CHECK_THAT(read_error("after.csv", "id,title\nA,\"ab\"c\n"), Contains("after.csv:2") && Contains("after the closing quote"));
  CHECK_THAT(read_error("open.csv", "id,title\nA,x\nB,\"never closed\n"),
             Contains("open.csv:3") && Contains("not closed"));
  CHECK_THAT(read_error("json.jsonl", "{\"id\":\"A\"}\n{\"id\":\"B\",}\n"), Contains("json.jsonl:2") && Contains("expected"));
  CHECK_THAT(read_error("nested.jsonl", "{\"id\":\"A\",\"sizes\":[\"S\",\"M\"]}\n"),
             Contains("nested.jsonl:1") && Contains("'sizes'"));
  CHECK_THAT(read_error("dupkey.jsonl", "{\"id\":\"A\",\"id\":\"B\"}\n"), Contains("dupkey.jsonl:1"));
  CHECK_THAT(read_error("utf8.tsv", "id\ttitle\nA\tbad \xC3\x28 byte\n"),
             Contains("utf8.tsv:2") && Contains("column 'title' (2)") && Contains("UTF-8"));
  CHECK_THAT(read_error("dupcol.csv", "id,title,Title\nA,x,y\n"), Contains("dupcol.csv:1") && Contains("twice"));
  CHECK_THAT(read_error("empty.tsv", ""), Contains("empty.tsv") && Contains("header"));
  CHECK_THAT(read_error("notext.tsv", "id\tsku\nA\tx\n"), Contains("notext.tsv") && Contains("template"));
  CHECK_THROWS_AS(Catalogue::read(write_file("cat.xlsx", "id\n")), InputError);
  CHECK_THROWS_AS(Catalogue::read(std::string(EMBEDRANK_TEST_WORK_DIR) + "/no-such-file.tsv"), embedrank::FileError);

  // a joined file: its ids must be in the first file
  const std::string first = write_file("first.tsv", "id\ttitle\nA\tx\nB\ty\n");
  const std::string second = write_file("second.tsv", "id\tprice\nA\t3\nC\t4\n");
  try {
    Catalogue::read({first, second});
    FAIL("no error");
  } catch (const ParseError& e) {
    CHECK_THAT(std::string(e.what()), Contains("second.tsv:3") && Contains("'C' is not in"));
  }
}

TEST_CASE("text templates read any column; separators need text on both sides", "[catalogue]") {
  Product p = product("A", "Dress");
  p.brand = "Orla";
  p.attributes["material"] = "linen";
  CHECK(embedrank::TextTemplate("{brand} {title} ({material})").render(p) == "Orla Dress (linen)");
  CHECK(embedrank::TextTemplate("{title}. {description}").render(p) == "Dress");
  CHECK(embedrank::TextTemplate("{description} | {title}").render(p) == "Dress");
  CHECK(embedrank::TextTemplate("passage: {title}").render(p) == "passage: Dress");
  CHECK_THROWS_AS(embedrank::TextTemplate("{title"), InputError);
  CHECK_THROWS_AS(embedrank::TextTemplate("no fields"), InputError);
  CHECK_THROWS_AS(embedrank::TextTemplate("{}"), InputError);
}

TEST_CASE("rows stay fixed through upserts and removals; compact remaps them all at once", "[catalogue]") {
  Catalogue c;
  auto changes = c.upsert({product("A", "a", 1), product("B", "b", 2), product("C", "c", 3)});
  REQUIRE(changes.size() == 3);
  CHECK(changes[2].row == 2);
  CHECK(changes[2].added);

  // a changed price is no new text; a changed title is
  Product b = product("B", "b", 5);
  Product a = product("A", "a, new");
  a.price = 1;
  changes = c.upsert({b, a});
  CHECK(changes[0].row == 1);
  CHECK_FALSE(changes[0].added);
  CHECK_FALSE(changes[0].text_changed);
  CHECK(changes[0].attributes_changed);
  CHECK(changes[1].text_changed);
  CHECK_FALSE(changes[1].attributes_changed);
  changes = c.upsert({a});
  CHECK_FALSE(changes[0].text_changed);
  CHECK_FALSE(changes[0].attributes_changed);

  // removal leaves a tombstone; the id may come back on a new row
  CHECK(c.remove({"A", "nope"}) == std::vector<std::size_t>{0, Catalogue::npos});
  CHECK(c.size() == 2);
  CHECK(c.rows() == 3);
  CHECK(c.removed(0));
  CHECK_FALSE(c.contains("A"));
  CHECK_THROWS_AS(c.row_of("A"), InputError);
  CHECK(c.upsert({product("A", "back")})[0].row == 3);
  CHECK(c.row_of("C") == 2);

  const RowRemap remap = c.compact();
  CHECK(remap.new_row == std::vector<std::size_t>{RowRemap::kRemoved, 0, 1, 2});
  CHECK(remap.rows_after == 3);
  CHECK(c.rows() == 3);
  CHECK(c.row_of("B") == 0);
  CHECK(c.row_of("C") == 1);
  CHECK(c.row_of("A") == 2);
  CHECK(c.product(2).title == "back");
  CHECK(c.compact().identity());
}

TEST_CASE("a bad upsert changes nothing", "[catalogue]") {
  Catalogue c;
  c.upsert({product("A", "a", 1)});
  CHECK_THROWS_AS(c.upsert({product("B", "b"), product("", "empty id")}), InputError);
  CHECK_THROWS_AS(c.upsert({product("B", "b"), product("B", "twice")}), InputError);
  CHECK_THROWS_AS(c.upsert({product("B", "b"), product("C", "c", -1)}), InputError);
  CHECK_THROWS_AS(c.upsert({product("B\tC", "tab")}), InputError);
  CHECK_THROWS_AS(c.upsert({product("B", "bad \xFF utf-8")}), InputError);
  Product reserved = product("B", "b");
  reserved.attributes["price"] = "3";
  CHECK_THROWS_AS(c.upsert({reserved}), InputError);
  CHECK(c.size() == 1);
  CHECK(c.rows() == 1);
  CHECK(c.product("A").price == 1);
}
