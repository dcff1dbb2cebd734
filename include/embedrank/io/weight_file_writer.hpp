#pragma once
/// Writes a valid model file (docs/weight-format.md) from metadata and f32
/// tensors. weights_tools/convert.py is the converter for Hugging Face
/// checkpoints; this writer serves programs that build models themselves
/// (benchmarks with random weights, tests, fine-tuned weights saved from C++).

#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "embedrank/core/error.hpp"
#include "embedrank/core/output_file.hpp"
#include "embedrank/io/metadata.hpp"
#include "embedrank/io/weight_file.hpp"

namespace embedrank::io {

class WeightFileWriter {
 public:
  Metadata& metadata() { return metadata_; }

  /// Adds an f32 tensor with a PyTorch-order shape; values.size() must be
  /// the product of the shape (InputError otherwise).
  void add_tensor(const std::string& name, std::vector<std::int64_t> shape, std::vector<float> values) {
    std::int64_t n = 1;
    for (auto d : shape) n *= d;
    if (shape.empty() || n != static_cast<std::int64_t>(values.size()))
      throw InputError("tensor_size", "tensor " + name + ": shape and value count disagree");
    tensors_.push_back({name, std::move(shape), std::move(values)});
  }

  /// Writes the file; throws FileError naming `path` on I/O failure.
  void write(const std::string& path) const {
    std::string meta;
    for (const auto& [key, value] : metadata_.values()) {
      put(meta, static_cast<std::uint16_t>(key.size()));
      meta += key;
      meta += static_cast<char>(value.index());
      std::visit([&](const auto& v) { put_value(meta, v); }, value);
    }
    std::string table;
    std::uint64_t offset = 0;
    for (const auto& t : tensors_) {
      put(table, static_cast<std::uint16_t>(t.name.size()));
      table += t.name;
      table += static_cast<char>(DType::F32);
      table += static_cast<char>(t.shape.size());
      for (auto d : t.shape) put(table, static_cast<std::uint64_t>(d));
      put(table, offset);
      put(table, static_cast<std::uint64_t>(t.values.size() * 4));
      offset = aligned(offset + t.values.size() * 4);
    }
    const std::uint64_t header_size = kHeaderSize + meta.size() + table.size();
    const std::uint64_t data_offset = aligned(header_size);
    std::string header(kMagic, sizeof kMagic);
    put(header, std::uint32_t{1});  // f32 tensors only: the oldest version holds them
    put(header, std::uint32_t{0});
    put(header, header_size);
    put(header, data_offset);
    put(header, offset);
    put(header, static_cast<std::uint32_t>(metadata_.size()));
    put(header, static_cast<std::uint32_t>(tensors_.size()));
    header.append(16, '\0');

    AtomicOutputFile file(path);  // complete or absent
    std::ofstream& out = file.stream();
    out << header << meta << table << std::string(data_offset - header_size, '\0');
    for (const auto& t : tensors_) {
      const std::size_t bytes = t.values.size() * 4;
      out.write(reinterpret_cast<const char*>(t.values.data()), static_cast<std::streamsize>(bytes));
      out << std::string(aligned(bytes) - bytes, '\0');
    }
    file.commit();
  }

 private:
  struct Tensor {
    std::string name;
    std::vector<std::int64_t> shape;
    std::vector<float> values;
  };

  static std::uint64_t aligned(std::uint64_t n) { return (n + kAlignment - 1) / kAlignment * kAlignment; }

  template <typename T>
  static void put(std::string& out, T v) {
    out.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  static void put_value(std::string& out, std::int64_t v) { put(out, v); }
  static void put_value(std::string& out, double v) { put(out, v); }
  static void put_value(std::string& out, bool v) { out += static_cast<char>(v ? 1 : 0); }
  static void put_value(std::string& out, const std::string& v) {
    put(out, static_cast<std::uint64_t>(v.size()));
    out += v;
  }
  static void put_value(std::string& out, const Bytes& v) { put_value(out, v.data); }
  static void put_value(std::string& out, const std::vector<std::string>& v) {
    put(out, static_cast<std::uint32_t>(v.size()));
    for (const auto& s : v) {
      put(out, static_cast<std::uint32_t>(s.size()));
      out += s;
    }
  }
  static void put_value(std::string& out, const std::vector<std::int64_t>& v) {
    put(out, static_cast<std::uint32_t>(v.size()));
    for (auto x : v) put(out, x);
  }

  Metadata metadata_;
  std::vector<Tensor> tensors_;
};

}  // namespace embedrank::io
