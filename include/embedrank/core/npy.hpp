#pragma once
/// A small reader and writer for NumPy .npy files holding a 2-D float32 array
/// in C order, little-endian (dtype '<f4'), the format `embedrank-embed
/// --format npy` writes and `numpy.load` reads. Read: header versions 1.0, 2.0
/// and 3.0; written: version 1.0. Lives in namespace embedrank (core layer) so
/// every layer may use it.
///
/// R = rows, C = columns.
///
/// File layout (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
///   "\x93NUMPY" major minor, header length (uint16 LE for 1.0, uint32 LE for
///   2.0/3.0), an ASCII Python dict literal
///   "{'descr': '<f4', 'fortran_order': False, 'shape': (R, C), }" padded with
///   spaces and ended by '\n' so the data starts on a 64-byte boundary, then
///   R * C float32 values row by row.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>

#include "embedrank/core/error.hpp"
#include "embedrank/core/output_file.hpp"
#include "embedrank/core/tensor.hpp"

namespace embedrank {

/// Shape of a 2-D float32 .npy array and where its data starts in the file.
struct NpyInfo {
  std::size_t rows = 0;         // R
  std::size_t cols = 0;         // C
  std::size_t data_offset = 0;  // bytes from the start of the file
};

namespace detail {

inline bool npy_little_endian_host() {
  const std::uint16_t probe = 1;
  unsigned char first = 0;
  std::memcpy(&first, &probe, 1);
  return first == 1;
}

/// Value of `key` in the header dict, as the raw text up to the next ',' or
/// '}' at nesting depth 0 (so a shape tuple stays whole).
inline std::string npy_header_value(const std::string& header, const std::string& key, const std::string& path) {
  const std::string quoted_single = "'" + key + "'";
  const std::string quoted_double = "\"" + key + "\"";
  std::size_t at = header.find(quoted_single);
  std::size_t key_length = quoted_single.size();
  if (at == std::string::npos) {
    at = header.find(quoted_double);
    key_length = quoted_double.size();
  }
  if (at == std::string::npos)
    throw FormatError("npy.missing_key", path + ": .npy header has no '" + key + "' entry");
  std::size_t pos = header.find(':', at + key_length);
  if (pos == std::string::npos) throw FormatError("npy.bad_header", path + ": .npy header entry '" + key + "' has no value");
  ++pos;
  int depth = 0;
  std::size_t end = pos;
  for (; end < header.size(); ++end) {
    const char c = header[end];
    if (c == '(' || c == '[') ++depth;
    if (c == ')' || c == ']') --depth;
    if (depth == 0 && (c == ',' || c == '}')) break;
  }
  std::string value = header.substr(pos, end - pos);
  const auto first = value.find_first_not_of(" \t");
  const auto last = value.find_last_not_of(" \t");
  return first == std::string::npos ? std::string() : value.substr(first, last - first + 1);
}

/// Parses "(R, C)" into rows and cols; with `vector_as_row`, "(C,)" too, as
/// one row. Anything else throws.
inline void npy_parse_shape(const std::string& text, const std::string& path, std::size_t& rows, std::size_t& cols,
                            bool vector_as_row = false) {
  if (text.size() < 2 || text.front() != '(' || text.back() != ')')
    throw FormatError("npy.bad_shape", path + ": .npy shape '" + text + "' is not a tuple");
  std::size_t dims[2] = {0, 0};
  int count = 0;
  std::size_t i = 1;
  const std::size_t end = text.size() - 1;
  while (i < end) {
    while (i < end && (text[i] == ' ' || text[i] == ',')) ++i;
    if (i >= end) break;
    if (text[i] < '0' || text[i] > '9')
      throw FormatError("npy.bad_shape", path + ": .npy shape '" + text + "' has a non-integer dimension");
    std::size_t value = 0;
    while (i < end && text[i] >= '0' && text[i] <= '9') {
      const std::size_t digit = static_cast<std::size_t>(text[i] - '0');
      if (value > (std::numeric_limits<std::size_t>::max() - digit) / 10)
        throw FormatError("npy.bad_shape", path + ": .npy shape '" + text + "' overflows");
      value = value * 10 + digit;
      ++i;
    }
    if (count == 2)
      throw FormatError("npy.bad_shape", path + ": .npy shape '" + text + "' is not 2-D (rows, cols)");
    dims[count++] = value;
  }
  if (count == 1 && vector_as_row) {
    rows = 1;
    cols = dims[0];
    return;
  }
  if (count != 2) throw FormatError("npy.bad_shape", path + ": .npy shape '" + text + "' is not 2-D (rows, cols)");
  rows = dims[0];
  cols = dims[1];
}

inline std::size_t npy_file_size(std::ifstream& in, const std::string& path) {
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  in.seekg(0, std::ios::beg);
  if (size < 0) throw FileError("npy.unreadable", path + ": cannot determine the file size");
  return static_cast<std::size_t>(size);
}

}  // namespace detail

/// Reads and validates the header of a 2-D float32 .npy file.
/// Throws FileError (cannot open/read) or FormatError (bad magic, unsupported
/// version, dtype other than '<f4', Fortran order, shape not 2-D, file size
/// not equal to header + R * C * 4 bytes). With `vector_as_row` a 1-D
/// array of C values reads as one row, shape (1, C).
inline NpyInfo read_npy_info(std::ifstream& in, const std::string& path, bool vector_as_row = false) {
  const std::size_t file_size = detail::npy_file_size(in, path);
  unsigned char preamble[10];
  if (file_size < 10 || !in.read(reinterpret_cast<char*>(preamble), 10))
    throw FormatError("npy.truncated", path + ": too short for a .npy header");
  if (std::memcmp(preamble, "\x93NUMPY", 6) != 0) throw FormatError("npy.bad_magic", path + ": not a .npy file (bad magic)");
  const int major = preamble[6];
  std::size_t header_length = 0;
  std::size_t prefix = 0;
  if (major == 1) {
    header_length = static_cast<std::size_t>(preamble[8]) | (static_cast<std::size_t>(preamble[9]) << 8);
    prefix = 10;
  } else if (major == 2 || major == 3) {
    unsigned char high[2];
    if (!in.read(reinterpret_cast<char*>(high), 2)) throw FormatError("npy.truncated", path + ": truncated .npy header");
    header_length = static_cast<std::size_t>(preamble[8]) | (static_cast<std::size_t>(preamble[9]) << 8) |
                    (static_cast<std::size_t>(high[0]) << 16) | (static_cast<std::size_t>(high[1]) << 24);
    prefix = 12;
  } else {
    throw FormatError("npy.bad_version", path + ": unsupported .npy version " + std::to_string(major) + "." +
                                             std::to_string(preamble[7]));
  }
  if (header_length > file_size - prefix) throw FormatError("npy.truncated", path + ": .npy header runs past the end of the file");
  std::string header(header_length, '\0');
  if (!in.read(&header[0], static_cast<std::streamsize>(header_length)))
    throw FormatError("npy.truncated", path + ": truncated .npy header");

  const std::string descr = detail::npy_header_value(header, "descr", path);
  if (descr != "'<f4'" && descr != "\"<f4\"")
    throw FormatError("npy.bad_dtype", path + ": .npy dtype " + descr + " is not little-endian float32 ('<f4')");
  const std::string fortran = detail::npy_header_value(header, "fortran_order", path);
  if (fortran != "False")
    throw FormatError("npy.fortran_order", path + ": .npy array is in Fortran order; only C order is supported");
  NpyInfo info;
  detail::npy_parse_shape(detail::npy_header_value(header, "shape", path), path, info.rows, info.cols,
                          vector_as_row);
  info.data_offset = prefix + header_length;

  // Each dimension must fit the matrices' index type (Eigen::Index), even
  // when the other is 0 and the array is empty.
  const auto max_dimension = static_cast<std::size_t>(std::numeric_limits<Eigen::Index>::max());
  if (info.rows > max_dimension || info.cols > max_dimension)
    throw FormatError("npy.bad_shape", path + ": .npy shape (" + std::to_string(info.rows) + ", " +
                                           std::to_string(info.cols) + ") has a dimension past " +
                                           std::to_string(max_dimension));
  const std::size_t max_elements = std::numeric_limits<std::size_t>::max() / sizeof(float);
  if (info.cols != 0 && info.rows > max_elements / info.cols)
    throw FormatError("npy.bad_shape", path + ": .npy shape is too large");
  const std::size_t data_bytes = info.rows * info.cols * sizeof(float);
  if (file_size - info.data_offset != data_bytes)
    throw FormatError("npy.size_mismatch", path + ": .npy shape (" + std::to_string(info.rows) + ", " +
                                               std::to_string(info.cols) + ") needs " + std::to_string(data_bytes) +
                                               " data bytes, the file has " + std::to_string(file_size - info.data_offset));
  return info;
}

/// Reads a 2-D float32 .npy file into a (R, C) row-major matrix.
/// Throws FileError if the file cannot be opened or read, FormatError as
/// read_npy_info does; with `vector_as_row` a 1-D array reads as (1, C).
inline MatrixF read_npy(const std::string& path, bool vector_as_row = false) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileError("npy.open", path + ": cannot open for reading");
  if (!detail::npy_little_endian_host())
    throw FormatError("npy.host_endianness", path + ": .npy reading needs a little-endian host");
  const NpyInfo info = read_npy_info(in, path, vector_as_row);
  MatrixF values(static_cast<Eigen::Index>(info.rows), static_cast<Eigen::Index>(info.cols));  // (R, C)
  in.seekg(static_cast<std::streamoff>(info.data_offset), std::ios::beg);
  const std::size_t bytes = info.rows * info.cols * sizeof(float);
  if (bytes > 0 && !in.read(reinterpret_cast<char*>(values.data()), static_cast<std::streamsize>(bytes)))
    throw FileError("npy.read", path + ": read failed");
  return values;
}

namespace detail {

/// The version 1.0 preamble and header of a (rows, cols) '<f4' array, padded
/// so the data starts on a 64-byte boundary; `shape_width` pads the shape
/// text to at least that many characters (room to rewrite the row count).
inline std::string npy_header(std::size_t rows, std::size_t cols, std::size_t shape_width, const std::string& path) {
  std::string shape = "(" + std::to_string(rows) + ", " + std::to_string(cols) + "), ";
  if (shape.size() < shape_width) shape.append(shape_width - shape.size(), ' ');
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + "}";
  const std::size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header.push_back('\n');
  if (header.size() > 0xFFFF) throw FileError("npy.header_too_long", path + ": .npy header does not fit version 1.0");
  const char preamble[10] = {'\x93', 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<char>(header.size() & 0xFF),
                             static_cast<char>(header.size() >> 8)};
  return std::string(preamble, 10) + header;
}

}  // namespace detail

/// Writes a (R, C) float32 .npy file row block by row block, for outputs
/// whose row count is known only at the end: the header leaves room for any
/// row count and finish() writes the final one. The file appears complete at
/// finish() or not at all (AtomicOutputFile); the constructor fails at once
/// (FileError) when the target cannot be written.
class NpyRowWriter {
 public:
  NpyRowWriter(const std::string& path, std::size_t cols) : out_(path), cols_(cols) {
    if (!detail::npy_little_endian_host())
      throw FileError("npy.host_endianness", path + ": .npy writing needs a little-endian host");
    header_ = detail::npy_header(0, cols_, kShapeWidth, path);
    out_.stream().write(header_.data(), static_cast<std::streamsize>(header_.size()));
  }

  /// Appends `count` rows of C floats, row-major.
  void append(const float* rows, std::size_t count) {
    out_.stream().write(reinterpret_cast<const char*>(rows), static_cast<std::streamsize>(count * cols_ * sizeof(float)));
    rows_ += count;
  }

  std::size_t rows() const { return rows_; }

  /// Writes the final shape and puts the file in place.
  void finish() {
    const std::string header = detail::npy_header(rows_, cols_, kShapeWidth, out_.path());
    if (header.size() != header_.size()) throw FileError("npy.header_too_long", out_.path() + ": .npy shape does not fit");
    out_.stream().seekp(0);
    out_.stream().write(header.data(), static_cast<std::streamsize>(header.size()));
    out_.commit();
  }

 private:
  static constexpr std::size_t kShapeWidth = 48;  // "(" + two 20-digit counts + "), "
  AtomicOutputFile out_;
  std::size_t cols_;
  std::size_t rows_ = 0;
  std::string header_;
};

/// Writes `values` (R, C), row-major, as a version 1.0 .npy file with dtype
/// '<f4', complete or not at all (AtomicOutputFile). Throws FileError if the
/// file cannot be written.
inline void write_npy(const std::string& path, const float* values, std::size_t rows, std::size_t cols) {
  if (!detail::npy_little_endian_host())
    throw FileError("npy.host_endianness", path + ": .npy writing needs a little-endian host");
  AtomicOutputFile out(path);
  const std::string header = detail::npy_header(rows, cols, 0, path);
  out.stream().write(header.data(), static_cast<std::streamsize>(header.size()));
  const std::size_t bytes = rows * cols * sizeof(float);
  if (bytes > 0) out.stream().write(reinterpret_cast<const char*>(values), static_cast<std::streamsize>(bytes));
  out.commit();
}

/// Writes a (R, C) row-major matrix as a version 1.0 float32 .npy file.
inline void write_npy(const std::string& path, const MatrixF& values) {
  write_npy(path, values.data(), static_cast<std::size_t>(values.rows()), static_cast<std::size_t>(values.cols()));
}

}  // namespace embedrank
