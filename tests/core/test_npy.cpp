// The .npy reader/writer (core/npy.hpp) against files written by numpy
// (tests/data/rank/make_npy_fixtures.py) and against malformed files.

#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "embedrank/core/npy.hpp"

namespace {

const std::string kFixtures = std::string(EMBEDRANK_TEST_DATA_DIR) + "/rank/";
const std::string kWork = std::string(EMBEDRANK_TEST_WORK_DIR) + "/";

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void require_fixture_values(const embedrank::MatrixF& m) {
  REQUIRE(m.rows() == 3);
  REQUIRE(m.cols() == 5);
  for (Eigen::Index i = 0; i < 3; ++i)
    for (Eigen::Index j = 0; j < 5; ++j) REQUIRE(m(i, j) == static_cast<float>(i * 10) + static_cast<float>(j) / 4.0f);
}

std::string expect_format_error(const std::string& path) {
  try {
    embedrank::read_npy(path);
  } catch (const embedrank::FormatError& e) {
    return e.id();
  }
  FAIL("no FormatError for " << path);
  return "";
}

}  // namespace

TEST_CASE("read_npy reads numpy's float32 C-order files", "[npy]") {
  SECTION("version 1.0") { require_fixture_values(embedrank::read_npy(kFixtures + "npy_v1_3x5.npy")); }
  SECTION("version 2.0") { require_fixture_values(embedrank::read_npy(kFixtures + "npy_v2_3x5.npy")); }
  SECTION("zero rows") {
    const auto m = embedrank::read_npy(kFixtures + "npy_empty_0x4.npy");
    REQUIRE(m.rows() == 0);
    REQUIRE(m.cols() == 4);
  }
}

TEST_CASE("write_npy output reads back and matches numpy's bytes", "[npy]") {
  const auto values = embedrank::read_npy(kFixtures + "npy_v1_3x5.npy");
  const std::string path = kWork + "npy_roundtrip.npy";
  embedrank::write_npy(path, values);
  SECTION("round trip") { require_fixture_values(embedrank::read_npy(path)); }
  SECTION("byte-identical to numpy.save") { REQUIRE(read_bytes(path) == read_bytes(kFixtures + "npy_v1_3x5.npy")); }
  SECTION("data starts on a 64-byte boundary") {
    std::ifstream in(path, std::ios::binary);
    REQUIRE(embedrank::read_npy_info(in, path).data_offset % 64 == 0);
  }
  std::remove(path.c_str());
}

TEST_CASE("NpyRowWriter streams rows and writes the final shape", "[npy]") {
  const auto values = embedrank::read_npy(kFixtures + "npy_v1_3x5.npy");
  const std::string path = kWork + "npy_rows.npy";
  std::remove(path.c_str());
  {
    embedrank::NpyRowWriter writer(path, 5);
    writer.append(values.data(), 1);
    writer.append(values.data() + 5, 2);
    CHECK(writer.rows() == 3);
    CHECK_FALSE(std::ifstream(path).good());  // nothing at the target until finish()
    writer.finish();
  }
  require_fixture_values(embedrank::read_npy(path));
  std::ifstream in(path, std::ios::binary);
  CHECK(embedrank::read_npy_info(in, path).data_offset % 64 == 0);
  std::remove(path.c_str());
}

TEST_CASE("Outputs are complete or absent", "[npy][output]") {
  const std::string path = kWork + "npy_atomic.npy";
  const auto values = embedrank::read_npy(kFixtures + "npy_v1_3x5.npy");
  embedrank::write_npy(path, values);
  const std::string before = read_bytes(path);
  SECTION("an unfinished writer leaves the old file and no temporary behind") {
    {
      embedrank::NpyRowWriter writer(path, 2);
      const float row[2] = {1, 2};
      writer.append(row, 1);
    }  // destroyed without finish(), as when an exception unwinds
    CHECK(read_bytes(path) == before);
    std::size_t leftovers = 0;
    for (const auto& entry : std::filesystem::directory_iterator(kWork))
      if (entry.path().filename().string().rfind("npy_atomic.npy.tmp-", 0) == 0) ++leftovers;
    CHECK(leftovers == 0);
  }
  SECTION("a directory that cannot be written fails before any data") {
    CHECK_THROWS_AS(embedrank::NpyRowWriter(kWork + "no_such_directory/x.npy", 4), embedrank::FileError);
    try {
      embedrank::write_npy(kWork + "no_such_directory/x.npy", values);
      FAIL("no exception");
    } catch (const embedrank::FileError& e) {
      CHECK(e.id() == "file.open");
      CHECK_THAT(e.what(), Catch::Matchers::Contains("no_such_directory/x.npy"));
    }
  }
  std::remove(path.c_str());
}

TEST_CASE("read_npy reads a 1-D array as one row when asked", "[npy]") {
  // numpy.save of one vector (shape (5,)): one query for embedrank-search
  const embedrank::MatrixF row = embedrank::read_npy(kFixtures + "npy_1d_5.npy", /*vector_as_row=*/true);
  REQUIRE(row.rows() == 1);
  REQUIRE(row.cols() == 5);
  for (Eigen::Index j = 0; j < 5; ++j) CHECK(row(0, j) == static_cast<float>(j) / 4.0f);
  // a 2-D array reads as it is either way
  require_fixture_values(embedrank::read_npy(kFixtures + "npy_v1_3x5.npy", /*vector_as_row=*/true));
}

TEST_CASE("read_npy rejects what it cannot read with typed errors", "[npy][errors]") {
  SECTION("other dtype, Fortran order, 1-D") {
    REQUIRE(expect_format_error(kFixtures + "npy_f64_3x5.npy") == "format.npy.bad_dtype");
    REQUIRE(expect_format_error(kFixtures + "npy_fortran_3x5.npy") == "format.npy.fortran_order");
    REQUIRE(expect_format_error(kFixtures + "npy_1d_5.npy") == "format.npy.bad_shape");
  }
  SECTION("missing file") { REQUIRE_THROWS_AS(embedrank::read_npy(kWork + "no_such.npy"), embedrank::FileError); }

  const std::string good = read_bytes(kFixtures + "npy_v1_3x5.npy");
  const std::string path = kWork + "npy_broken.npy";
  SECTION("bad magic") {
    write_bytes(path, "XNUMPY" + good.substr(6));
    REQUIRE(expect_format_error(path) == "format.npy.bad_magic");
  }
  SECTION("unsupported version") {
    std::string bytes = good;
    bytes[6] = 9;
    write_bytes(path, bytes);
    REQUIRE(expect_format_error(path) == "format.npy.bad_version");
  }
  SECTION("truncated data") {
    write_bytes(path, good.substr(0, good.size() - 4));
    REQUIRE(expect_format_error(path) == "format.npy.size_mismatch");
  }
  SECTION("trailing bytes") {
    write_bytes(path, good + "xxxx");
    REQUIRE(expect_format_error(path) == "format.npy.size_mismatch");
  }
  SECTION("header longer than the file") {
    write_bytes(path, good.substr(0, 20));
    REQUIRE(expect_format_error(path) == "format.npy.truncated");
  }
  SECTION("too short") {
    write_bytes(path, "\x93NUM");
    REQUIRE(expect_format_error(path) == "format.npy.truncated");
  }
  SECTION("absurd shape") {
    std::string bytes = good;
    const auto at = bytes.find("(3, 5)");
    bytes.replace(at, 6, "(99999999999999999999, 5)");
    write_bytes(path, bytes);
    REQUIRE(expect_format_error(path) == "format.npy.bad_shape");
  }
  SECTION("a dimension past the index type, even with zero elements") {
    for (const char* shape : {"(0, 18446744073709551615)", "(9223372036854775808, 0)"}) {
      std::string header = std::string("{'descr': '<f4', 'fortran_order': False, 'shape': ") + shape + ", }";
      header.append(63 - (10 + header.size()) % 64, ' ');
      header += '\n';
      std::string bytes = "\x93NUMPY\x01";
      bytes += '\0';
      bytes += static_cast<char>(header.size() & 0xFF);
      bytes += static_cast<char>(header.size() >> 8);
      write_bytes(path, bytes + header);
      INFO(shape);
      REQUIRE(expect_format_error(path) == "format.npy.bad_shape");
    }
  }
  SECTION("error messages name the file") {
    write_bytes(path, good.substr(0, good.size() - 4));
    REQUIRE_THROWS_WITH(embedrank::read_npy(path), Catch::Matchers::Contains(path));
  }
  std::remove(path.c_str());
}
