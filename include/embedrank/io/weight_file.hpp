#pragma once
/// The embedrank model file: one file holds one model (config, weights,
/// tokenizer, pooling, provenance). Format spec: docs/weight-format.md.
///
/// WeightFile::open memory-maps the file and validates the header, every
/// metadata entry and every tensor-table entry against the file length before
/// any pointer into the data is formed. Every failure is a FormatError (or a
/// FileError for I/O) naming the file and the field or tensor at fault.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "embedrank/core/enum_text.hpp"
#include "embedrank/core/error.hpp"
#include "embedrank/core/mapped_file.hpp"
#include "embedrank/io/metadata.hpp"

namespace embedrank::io {

inline constexpr char kMagic[8] = {'E', 'M', 'B', 'R', 'A', 'N', 'K', '\0'};
/// The newest format version this reader reads (it reads 1 too).
inline constexpr std::uint32_t kFormatVersion = 2;
/// Version 2 added the i8 dtype (int8 weights, scaled per output row).
inline constexpr std::uint32_t kFirstInt8Version = 2;
inline constexpr std::size_t kHeaderSize = 64;
inline constexpr std::size_t kAlignment = 64;
inline constexpr int kMaxRank = 4;

/// Storage type of a tensor; compute is always in the caller's Scalar.
enum class DType : std::uint8_t { F32 = 0, F16 = 1, BF16 = 2, I8 = 3 };

/// Names as convert.py --dtype takes them.
inline EnumText<DType> enum_text(DType) {
  static constexpr EnumName<DType> names[] = {{DType::F32, "f32"},
                                              {DType::F16, "f16"},
                                              {DType::BF16, "bf16"},
                                              {DType::I8, "i8"}};
  return {"dtype", "unknown_dtype", names};
}

inline std::size_t dtype_size(DType d) { return d == DType::F32 ? 4 : d == DType::I8 ? 1 : 2; }

/// One entry of the tensor table; `data` points into the mapped file.
struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;  // PyTorch order
  std::uint64_t offset = 0;         // from the start of the data section
  std::uint64_t nbytes = 0;
  std::int64_t numel = 0;
  const unsigned char* data = nullptr;  // 64-byte aligned

  std::string shape_string() const {
    std::string s = "(";
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + ")";
  }
};

namespace detail {

/// Bounds-checked little-endian reader over the header bytes.
class HeaderCursor {
 public:
  HeaderCursor(const std::string& path, const unsigned char* data, std::size_t begin, std::size_t end)
      : path_(path), data_(data), pos_(begin), end_(end) {}

  template <typename T>
  T read(const std::string& what) {
    T value;
    std::memcpy(&value, take(sizeof(T), what), sizeof(T));
    return value;
  }

  std::string read_string(std::uint64_t length, const std::string& what) {
    const unsigned char* p = take(length, what);
    return std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(length));
  }

  std::size_t position() const { return pos_; }

 private:
  const unsigned char* take(std::uint64_t n, const std::string& what) {
    if (n > end_ - pos_)
      throw FormatError("truncated_header", path_ + ": header ends while reading " + what + " (needs " +
                                                std::to_string(n) + " bytes at offset " + std::to_string(pos_) +
                                                ", header ends at " + std::to_string(end_) + ")");
    const unsigned char* p = data_ + pos_;
    pos_ += static_cast<std::size_t>(n);
    return p;
  }

  const std::string& path_;
  const unsigned char* data_;
  std::size_t pos_;
  std::size_t end_;
};

/// A 64-bit multiply-xorshift hash of `size` bytes (8 at a time), as 16 hex
/// digits. Not cryptographic: it tells files apart, it does not defend
/// against someone forging one.
inline std::string hash_bytes(const unsigned char* data, std::size_t size) {
  constexpr std::uint64_t kMul = 0x9E3779B97F4A7C15ull;
  std::uint64_t h = 0x243F6A8885A308D3ull ^ size;
  const auto mix = [&](std::uint64_t word) {
    h ^= word * kMul;
    h = (h << 31) | (h >> 33);
    h *= 0xBF58476D1CE4E5B9ull;
  };
  std::size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    std::uint64_t word;
    std::memcpy(&word, data + i, 8);
    mix(word);
  }
  std::uint64_t tail = 0;
  for (std::size_t k = 0; i + k < size; ++k) tail |= std::uint64_t{data[i + k]} << (8 * k);
  mix(tail);
  h ^= h >> 29;
  h *= 0x94D049BB133111EBull;
  h ^= h >> 32;
  static const char* hex = "0123456789abcdef";
  std::string out(16, '0');
  for (int k = 15; k >= 0; --k, h >>= 4) out[static_cast<std::size_t>(k)] = hex[h & 0xF];
  return out;
}

}  // namespace detail

class WeightFile {
 public:
  /// Maps and validates `path`. Throws FileError (cannot open/map) or
  /// FormatError (bad magic, unsupported version, truncated header, offsets or
  /// sizes outside the file, misaligned or overlapping tensors, unknown dtype,
  /// shape/size disagreement, duplicate names, bad metadata).
  static std::shared_ptr<const WeightFile> open(const std::string& path) {
    return std::shared_ptr<const WeightFile>(new WeightFile(path));
  }

  const std::string& path() const { return file_.path(); }
  std::uint32_t version() const { return version_; }
  std::size_t file_size() const { return file_.size(); }
  const Metadata& metadata() const { return metadata_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }

  /// A 64-bit hash of the whole file's bytes, as 16 hex digits: the same
  /// file gives the same fingerprint, another file (another model, another
  /// dtype of one model) almost surely another. Computed once, on first
  /// use (about 10 ms per 100 MB); thread-safe.
  const std::string& fingerprint() const {
    std::call_once(fingerprint_once_, [this] { fingerprint_ = detail::hash_bytes(file_.data(), file_.size()); });
    return fingerprint_;
  }

  bool has_tensor(const std::string& name) const { return index_.count(name) != 0; }

  /// Throws FormatError "missing_tensor" naming the file and tensor.
  const TensorInfo& tensor(const std::string& name) const {
    auto it = index_.find(name);
    if (it == index_.end()) throw FormatError("missing_tensor", path() + ": tensor " + name + " not found");
    return tensors_[it->second];
  }

  /// The tensor `name`, checked to have exactly `shape`; throws FormatError
  /// "shape_mismatch" naming the tensor, its shape and the expected one.
  const TensorInfo& tensor(const std::string& name, const std::vector<std::int64_t>& shape) const {
    const TensorInfo& t = tensor(name);
    if (t.shape != shape) {
      TensorInfo expected;
      expected.shape = shape;
      throw FormatError("shape_mismatch", path() + ": tensor " + name + " has shape " + t.shape_string() +
                                              ", the model config implies " + expected.shape_string());
    }
    return t;
  }

 private:
  explicit WeightFile(const std::string& path) : file_(path), metadata_(path) { parse(); }

  [[noreturn]] void fail(const std::string& id, const std::string& message) const {
    throw FormatError(id, path() + ": " + message);
  }

  void parse() {
    const unsigned char* base = file_.data();
    const std::size_t size = file_.size();
    if (size < kHeaderSize)
      fail("truncated_file", "file is " + std::to_string(size) + " bytes, shorter than the " +
                                 std::to_string(kHeaderSize) + "-byte header");
    if (std::memcmp(base, kMagic, sizeof kMagic) != 0) fail("bad_magic", "bad magic: not an embedrank model file");

    detail::HeaderCursor fixed(path(), base, sizeof kMagic, kHeaderSize);
    version_ = fixed.read<std::uint32_t>("format version");
    const auto flags = fixed.read<std::uint32_t>("flags");
    const auto header_size = fixed.read<std::uint64_t>("header size");
    const auto data_offset = fixed.read<std::uint64_t>("data offset");
    const auto data_size = fixed.read<std::uint64_t>("data size");
    const auto metadata_count = fixed.read<std::uint32_t>("metadata count");
    const auto tensor_count = fixed.read<std::uint32_t>("tensor count");

    if (version_ < 1 || version_ > kFormatVersion)
      fail("unsupported_version", "format version " + std::to_string(version_) + " is not supported (this reader reads versions 1 to " +
                                      std::to_string(kFormatVersion) + "; convert the model again or update embedrank)");
    if (flags != 0) fail("bad_header", "reserved header flags are " + std::to_string(flags) + ", expected 0");
    if (header_size < kHeaderSize || header_size > size)
      fail("bad_header", "header size " + std::to_string(header_size) + " is outside the file (" + std::to_string(size) + " bytes)");
    if (data_offset < header_size || data_offset > size || data_offset % kAlignment != 0)
      fail("bad_header", "data offset " + std::to_string(data_offset) + " is misaligned or outside [header end, file end]");
    if (data_size != size - data_offset)
      fail("truncated_file", "data section should hold " + std::to_string(data_size) + " bytes but the file has " +
                                 std::to_string(size - data_offset) + " after offset " + std::to_string(data_offset));

    detail::HeaderCursor cursor(path(), base, kHeaderSize, static_cast<std::size_t>(header_size));
    for (std::uint32_t i = 0; i < metadata_count; ++i) read_metadata_entry(cursor);
    tensors_.reserve(std::min<std::uint32_t>(tensor_count, 1u << 16));
    for (std::uint32_t i = 0; i < tensor_count; ++i)
      read_tensor_entry(cursor, base + data_offset, data_size);
    if (cursor.position() != header_size)
      fail("bad_header", "header size says " + std::to_string(header_size) + " bytes but its entries end at " +
                             std::to_string(cursor.position()));
    check_overlaps();
  }

  void read_metadata_entry(detail::HeaderCursor& cursor) {
    const auto key_length = cursor.read<std::uint16_t>("metadata key length");
    const std::string key = cursor.read_string(key_length, "metadata key");
    const auto type = cursor.read<std::uint8_t>("type of metadata " + key);
    if (metadata_.has(key)) fail("duplicate_metadata", "metadata key '" + key + "' appears twice");
    switch (static_cast<MetaType>(type)) {
      case MetaType::Int: metadata_.set(key, cursor.read<std::int64_t>(key)); break;
      case MetaType::Float: metadata_.set(key, cursor.read<double>(key)); break;
      case MetaType::Bool: {
        const auto v = cursor.read<std::uint8_t>(key);
        if (v > 1) fail("bad_metadata", "metadata key '" + key + "' is a bool with value " + std::to_string(v));
        metadata_.set(key, v == 1);
        break;
      }
      case MetaType::String: metadata_.set(key, cursor.read_string(cursor.read<std::uint64_t>(key), key)); break;
      case MetaType::Bytes: metadata_.set(key, Bytes{cursor.read_string(cursor.read<std::uint64_t>(key), key)}); break;
      case MetaType::StringList: {
        const auto n = cursor.read<std::uint32_t>(key);
        std::vector<std::string> list;
        for (std::uint32_t j = 0; j < n; ++j) list.push_back(cursor.read_string(cursor.read<std::uint32_t>(key), key));
        metadata_.set(key, std::move(list));
        break;
      }
      case MetaType::IntList: {
        const auto n = cursor.read<std::uint32_t>(key);
        std::vector<std::int64_t> list;
        for (std::uint32_t j = 0; j < n; ++j) list.push_back(cursor.read<std::int64_t>(key));
        metadata_.set(key, std::move(list));
        break;
      }
      default: fail("bad_metadata", "metadata key '" + key + "' has unknown type " + std::to_string(type));
    }
  }

  void read_tensor_entry(detail::HeaderCursor& cursor, const unsigned char* data, std::uint64_t data_size) {
    TensorInfo t;
    const auto name_length = cursor.read<std::uint16_t>("tensor name length");
    t.name = cursor.read_string(name_length, "tensor name");
    const std::string what = "tensor " + t.name;
    const auto dtype = cursor.read<std::uint8_t>(what + " dtype");
    const auto rank = cursor.read<std::uint8_t>(what + " rank");
    if (dtype > static_cast<std::uint8_t>(DType::I8)) fail("bad_dtype", what + " has unknown dtype code " + std::to_string(dtype));
    if (dtype == static_cast<std::uint8_t>(DType::I8) && version_ < kFirstInt8Version)
      fail("bad_dtype", what + " is i8, which format version " + std::to_string(version_) + " does not have");
    if (rank < 1 || rank > kMaxRank) fail("bad_shape", what + " has rank " + std::to_string(rank) + " (1 to 4 supported)");
    t.dtype = static_cast<DType>(dtype);
    std::uint64_t numel = 1;
    for (int d = 0; d < rank; ++d) {
      const auto extent = cursor.read<std::uint64_t>(what + " shape");
      if (extent == 0 || extent > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) ||
          numel > std::numeric_limits<std::uint64_t>::max() / extent)
        fail("bad_shape", what + " has an empty or overflowing shape");
      numel *= extent;
      t.shape.push_back(static_cast<std::int64_t>(extent));
    }
    t.offset = cursor.read<std::uint64_t>(what + " offset");
    t.nbytes = cursor.read<std::uint64_t>(what + " size");
    if (numel > std::numeric_limits<std::uint64_t>::max() / dtype_size(t.dtype) || numel * dtype_size(t.dtype) != t.nbytes)
      fail("size_mismatch", what + ": shape " + t.shape_string() + " of " + to_string(t.dtype) + " needs " +
                                std::to_string(numel * dtype_size(t.dtype)) + " bytes, the table says " + std::to_string(t.nbytes));
    if (t.offset % kAlignment != 0) fail("misaligned", what + " offset " + std::to_string(t.offset) + " is not 64-byte aligned");
    if (t.offset > data_size || t.nbytes > data_size - t.offset)
      fail("out_of_bounds", what + " spans bytes " + std::to_string(t.offset) + ".." + std::to_string(t.offset + t.nbytes) +
                                " of a data section of " + std::to_string(data_size) + " bytes");
    if (index_.count(t.name) != 0) fail("duplicate_tensor", what + " appears twice");
    t.numel = static_cast<std::int64_t>(numel);
    t.data = data + t.offset;
    index_.emplace(t.name, tensors_.size());
    tensors_.push_back(std::move(t));
  }

  void check_overlaps() const {
    std::vector<const TensorInfo*> by_offset;
    for (const auto& t : tensors_) by_offset.push_back(&t);
    std::sort(by_offset.begin(), by_offset.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
    for (std::size_t i = 1; i < by_offset.size(); ++i) {
      const TensorInfo& prev = *by_offset[i - 1];
      if (by_offset[i]->offset < prev.offset + prev.nbytes)
        fail("overlap", "tensors " + prev.name + " and " + by_offset[i]->name + " overlap");
    }
  }

  MappedFile file_;
  mutable std::once_flag fingerprint_once_;
  mutable std::string fingerprint_;
  std::uint32_t version_ = 0;
  Metadata metadata_;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, std::size_t> index_;
};

}  // namespace embedrank::io
