#pragma once
// The files of an EmbeddingIndex (declared and documented in
// rank/embedding_index.hpp, which includes this at its end): the stored
// rows as they are scored (write_stored_rows, open_stored_rows: the shop
// state's vectors file, mapped in place), and the .npy vectors with their
// ids file (save, load, read_ids).

namespace embedrank::rank {

inline void EmbeddingIndex::write_stored_rows(std::ostream& out) const {
  const std::size_t bytes = rows() * padded_dim_ * (options_.storage == Storage::Float32 ? 4 : 2);
  out.write(reinterpret_cast<const char*>(stored_data()), static_cast<std::streamsize>(bytes));
}

inline EmbeddingIndex EmbeddingIndex::open_stored_rows(const std::string& path, std::size_t dim,
                                                      std::vector<std::string> ids, const std::vector<bool>& removed,
                                                      IndexOptions options) {
  EmbeddingIndex index(dim, options);
  auto mapped = std::make_shared<const MappedFile>(path);
  const std::size_t n = ids.size();
  const std::size_t value_bytes = options.storage == Storage::Float32 ? 4 : 2;
  if (removed.size() != n || mapped->size() != n * index.padded_dim_ * value_bytes)
    throw FormatError("stored_rows_size", path + ": " + std::to_string(mapped->size()) + " bytes, expected " +
                                              std::to_string(n) + " rows x " + std::to_string(index.padded_dim_) +
                                              " values x " + std::to_string(value_bytes) + " bytes");
  index.removed_.assign((n + 63) / 64, 0);
  index.row_of_.reserve(n);
  for (std::size_t row = 0; row < n; ++row) {
    if (removed[row]) {
      index.removed_[row / 64] |= std::uint64_t{1} << (row % 64);
      ++index.removed_count_;
      continue;
    }
    index.check_new_id(ids[row]);
    index.row_of_.emplace(ids[row], row);
  }
  index.ids_ = std::move(ids);
  index.mapped_rows_ = std::move(mapped);
  return index;
}

inline void EmbeddingIndex::save(const std::string& vectors_path, const std::string& ids_path) const {
  MatrixF live(static_cast<Eigen::Index>(size()), static_cast<Eigen::Index>(dim_));  // (live, D)
  AtomicOutputFile ids_out(ids_path);
  Eigen::Index out_row = 0;
  for (std::size_t row = 0; row < rows(); ++row) {
    if (is_removed(row)) continue;
    live.row(out_row++) = vector(row).transpose();
    ids_out.stream() << ids_[row] << '\n';
  }
  write_npy(vectors_path, live);
  ids_out.commit();
}

inline EmbeddingIndex EmbeddingIndex::load(const std::string& vectors_path, const std::string& ids_path,
                                          IndexOptions options) {
  const MatrixF vectors = read_npy(vectors_path);  // (N, D)
  if (vectors.cols() == 0) throw FormatError("zero_dimension", vectors_path + ": vectors have dimension 0");
  const std::size_t n = static_cast<std::size_t>(vectors.rows());
  std::vector<std::string> ids;
  if (ids_path.empty()) {
    ids.reserve(n);
    for (std::size_t i = 0; i < n; ++i) ids.push_back(std::to_string(i));
  } else {
    ids = read_ids(ids_path);
    if (ids.size() != n)
      throw FormatError("id_count_mismatch", ids_path + ": " + std::to_string(ids.size()) + " ids for " +
                                                 std::to_string(n) + " vectors in " + vectors_path);
  }
  EmbeddingIndex index(static_cast<std::size_t>(vectors.cols()), options);
  index.add_rows(ids, vectors);
  return index;
}

inline std::vector<std::string> EmbeddingIndex::read_ids(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileError("open", path + ": cannot open for reading");
  std::vector<std::string> ids;
  std::unordered_map<std::string, std::size_t> line_of;
  std::string line;
  std::size_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::string where = path + ":" + std::to_string(line_number);
    if (line.empty()) throw ParseError("empty_id", where + ": empty id");
    if (line.find_first_of("\t\r") != std::string::npos) throw ParseError("bad_id", where + ": id contains a tab or '\\r'");
    const auto inserted = line_of.emplace(line, line_number);
    if (!inserted.second)
      throw ParseError("duplicate_id", where + ": id '" + line + "' already on line " + std::to_string(inserted.first->second));
    ids.push_back(line);
  }
  if (in.bad()) throw FileError("read", path + ": read failed");
  return ids;
}

}  // namespace embedrank::rank
