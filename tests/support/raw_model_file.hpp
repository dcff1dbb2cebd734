#pragma once
// A test-side writer of the model file format (docs/weight-format.md) that
// can produce deliberately broken files: every field is settable.

#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>
#include <variant>
#include <vector>

#include "embedrank/io/weight_file.hpp"

namespace test_support {

struct RawTensor {
  std::string name;
  std::uint8_t dtype = 0;
  std::vector<std::uint64_t> shape;
  std::uint64_t offset = kAutoOffset;  // relative to the data section
  std::uint64_t nbytes = kAutoSize;
  std::string bytes;
  static constexpr std::uint64_t kAutoOffset = std::numeric_limits<std::uint64_t>::max();
  static constexpr std::uint64_t kAutoSize = std::numeric_limits<std::uint64_t>::max();
};

struct RawModelFile {
  std::string magic = std::string("EMBRANK\0", 8);
  std::uint32_t version = 1;
  std::uint32_t flags = 0;
  std::vector<std::pair<std::string, embedrank::io::MetaValue>> metadata;
  std::vector<RawTensor> tensors;

  RawTensor& tensor(const std::string& name) {
    for (auto& t : tensors)
      if (t.name == name) return t;
    throw std::runtime_error("test: no tensor " + name);
  }
  void set_metadata(const std::string& key, embedrank::io::MetaValue value) {
    for (auto& kv : metadata)
      if (kv.first == key) {
        kv.second = std::move(value);
        return;
      }
    metadata.emplace_back(key, std::move(value));
  }
  void erase_metadata(const std::string& key) {
    for (auto it = metadata.begin(); it != metadata.end(); ++it)
      if (it->first == key) {
        metadata.erase(it);
        return;
      }
  }
  void erase_tensor(const std::string& name) {
    for (auto it = tensors.begin(); it != tensors.end(); ++it)
      if (it->name == name) {
        tensors.erase(it);
        return;
      }
  }

  /// A copy of a valid file's contents.
  static RawModelFile from(const embedrank::io::WeightFile& file) {
    RawModelFile raw;
    for (const auto& kv : file.metadata().values()) raw.metadata.emplace_back(kv.first, kv.second);
    for (const auto& t : file.tensors()) {
      RawTensor r;
      r.name = t.name;
      r.dtype = static_cast<std::uint8_t>(t.dtype);
      for (auto d : t.shape) r.shape.push_back(static_cast<std::uint64_t>(d));
      r.bytes.assign(reinterpret_cast<const char*>(t.data), static_cast<std::size_t>(t.nbytes));
      raw.tensors.push_back(r);
    }
    return raw;
  }

  std::string serialize() const {
    auto put = [](std::string& out, const auto& v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); };
    std::string meta;
    for (const auto& [key, value] : metadata) {
      put(meta, static_cast<std::uint16_t>(key.size()));
      meta += key;
      meta += static_cast<char>(value.index());
      std::visit(
          [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::int64_t> || std::is_same_v<T, double>) put(meta, v);
            else if constexpr (std::is_same_v<T, bool>) meta += static_cast<char>(v ? 1 : 0);
            else if constexpr (std::is_same_v<T, std::string>) { put(meta, static_cast<std::uint64_t>(v.size())); meta += v; }
            else if constexpr (std::is_same_v<T, embedrank::io::Bytes>) { put(meta, static_cast<std::uint64_t>(v.data.size())); meta += v.data; }
            else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
              put(meta, static_cast<std::uint32_t>(v.size()));
              for (const auto& s : v) { put(meta, static_cast<std::uint32_t>(s.size())); meta += s; }
            } else {
              put(meta, static_cast<std::uint32_t>(v.size()));
              for (auto x : v) put(meta, x);
            }
          },
          value);
    }
    std::string table;
    std::uint64_t next = 0, data_size = 0;
    std::vector<std::uint64_t> offsets;
    for (const auto& t : tensors) {
      const std::uint64_t offset = t.offset == RawTensor::kAutoOffset ? next : t.offset;
      offsets.push_back(offset);
      const std::uint64_t nbytes = t.nbytes == RawTensor::kAutoSize ? t.bytes.size() : t.nbytes;
      put(table, static_cast<std::uint16_t>(t.name.size()));
      table += t.name;
      table += static_cast<char>(t.dtype);
      table += static_cast<char>(t.shape.size());
      for (auto d : t.shape) put(table, d);
      put(table, offset);
      put(table, nbytes);
      // Only automatically placed tensors grow the data section: an explicit
      // offset is there to point somewhere wrong.
      if (t.offset == RawTensor::kAutoOffset) {
        next = (offset + t.bytes.size() + 63) / 64 * 64;
        data_size = std::max(data_size, next);
      }
    }
    const std::uint64_t header_size = 64 + meta.size() + table.size();
    const std::uint64_t data_offset = (header_size + 63) / 64 * 64;
    std::string out = magic.substr(0, 8);
    put(out, version);
    put(out, flags);
    put(out, header_size);
    put(out, data_offset);
    put(out, data_size);
    put(out, static_cast<std::uint32_t>(metadata.size()));
    put(out, static_cast<std::uint32_t>(tensors.size()));
    out.append(16, '\0');
    out += meta;
    out += table;
    out.resize(data_offset + data_size, '\0');
    for (std::size_t i = 0; i < tensors.size(); ++i)
      if (offsets[i] + tensors[i].bytes.size() <= data_size)
        std::memcpy(&out[data_offset + offsets[i]], tensors[i].bytes.data(), tensors[i].bytes.size());
    return out;
  }

  std::string write(const std::string& path) const {
    write_bytes(path, serialize());
    return path;
  }

  static void write_bytes(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
};

}  // namespace test_support
