#pragma once
/// EmbeddingIndex: an exact top-k ranker over a catalogue of item vectors.
///
/// N = stored rows (live + removed), D = vector dimension,
/// DP = D padded to a multiple of 8, Q = queries in a batch, k = results.
///
/// Scores are inner products <query, item>; with Metric::Cosine the rows are
/// L2-normalised when added and each query when searched. Results are
/// exactly min(k, eligible) hits, best first, in the total order
/// (score descending, row ascending); see rank/topk.hpp and docs/ranking.md.
///
/// Item ids are std::string: shop SKUs are strings, the id file is text, and
/// one id type keeps the API and the files simple. Integer ids are accepted
/// through overloads and stored as their decimal text. The hot loop never
/// touches ids: it works on row numbers, ids are looked up for the k results.
///
/// Thread safety: const member functions (search, search_batch, scores,
/// save, ...) may run concurrently; add/remove/compact need exclusive access.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <ostream>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "embedrank/core/cpu_features.hpp"
#include "embedrank/core/enum_text.hpp"
#include "embedrank/core/error.hpp"
#include "embedrank/core/mapped_file.hpp"
#include "embedrank/core/row_remap.hpp"
#include "embedrank/core/npy.hpp"
#include "embedrank/core/output_file.hpp"
#include "embedrank/core/thread_pool.hpp"
#include "embedrank/core/tensor.hpp"
#include "embedrank/rank/detail/dot.hpp"
#include "embedrank/rank/item_bitmap.hpp"
#include "embedrank/rank/search_types.hpp"
#include "embedrank/core/half.hpp"
#include "embedrank/rank/topk.hpp"

namespace embedrank::rank {

class EmbeddingIndex {
 public:
  /// An empty index of D-dimensional vectors. Throws InputError if dim == 0.
  explicit EmbeddingIndex(std::size_t dim, IndexOptions options = {})
      : dim_(dim), padded_dim_(detail::padded_dimension(dim)), options_(options), simd_level_(default_simd_level()) {
    if (dim == 0) throw InputError("zero_dimension", "an EmbeddingIndex needs a dimension > 0");
  }

  std::size_t dim() const { return dim_; }
  Metric metric() const { return options_.metric; }
  Storage storage() const { return options_.storage; }
  /// Threads a search uses at most: the handed-in pool's size, else the
  /// `threads` option capped at the shared pool's size.
  int threads() const { return pool_threads(options_.pool, options_.threads); }
  /// Sets the threads per search; <= 0: all of the pool's. Results do not depend on it.
  void set_threads(int threads) { options_.threads = threads; }
  /// Sets the pool searches run on (null: the shared pool; see IndexOptions::pool).
  void set_pool(ThreadPool* pool) { options_.pool = pool; }

  /// The SIMD kernels searches use: the CPU's level, lowered by EMBEDRANK_SIMD
  /// (read at construction; core/cpu_features.hpp). Results do not depend on it.
  SimdLevel simd_level() const { return simd_level_; }
  /// Sets the kernels' level, capped by what the CPU supports (see simd_level()).
  void set_simd_level(SimdLevel level) { simd_level_ = supported_simd_level(level); }

  /// Live items (added and not removed).
  std::size_t size() const { return ids_.size() - removed_count_; }
  /// Stored rows, including removed ones not yet compacted (N).
  std::size_t rows() const { return ids_.size(); }

  /// Adds one item. `vector` has `dim` floats. Throws InputError on a
  /// dimension mismatch, a duplicate id, or an id that is empty or contains
  /// a tab, '\r' or '\n' (ids are written one per line and as TSV fields).
  void add(const std::string& id, const float* vector, std::size_t dim) {
    check_dimension(dim, "item " + id);
    check_new_id(id);
    append_row(id, vector);
  }
  /// Adds one item with an integer id, stored as its decimal text.
  void add(std::int64_t id, const float* vector, std::size_t dim) { add(std::to_string(id), vector, dim); }
  /// Adds one item from a (D) vector.
  void add(const std::string& id, const VectorF& vector) { add(id, vector.data(), static_cast<std::size_t>(vector.size())); }

  /// Adds rows[i] (a (count, D) row-major block) under ids[i]. All ids are
  /// checked before anything is added, so on an exception the index is unchanged.
  void add_rows(const std::vector<std::string>& ids, const float* rows, std::size_t count, std::size_t dim) {
    check_dimension(dim, "item block");
    if (ids.size() != count)
      throw InputError("id_count_mismatch",
                       std::to_string(ids.size()) + " ids for " + std::to_string(count) + " vectors");
    std::unordered_map<std::string, std::size_t> seen;
    for (std::size_t i = 0; i < count; ++i) {
      check_new_id(ids[i]);
      if (!seen.emplace(ids[i], i).second) throw InputError("duplicate_id", "item id '" + ids[i] + "' appears twice");
    }
    reserve(rows_count_after(count));
    for (std::size_t i = 0; i < count; ++i) append_row(ids[i], rows + i * dim);
  }
  /// Adds the rows of `vectors` (count, D) under `ids`.
  void add_rows(const std::vector<std::string>& ids, const MatrixF& vectors) {
    add_rows(ids, vectors.data(), static_cast<std::size_t>(vectors.rows()), static_cast<std::size_t>(vectors.cols()));
  }

  /// Removes an item; returns false if the id is unknown. Its row stays
  /// (skipped by every search) until compact(), so row numbers and bitmaps
  /// stay valid.
  bool remove(const std::string& id) {
    const auto it = row_of_.find(id);
    if (it == row_of_.end()) return false;
    const std::size_t row = it->second;
    removed_[row / 64] |= std::uint64_t{1} << (row % 64);
    ++removed_count_;
    row_of_.erase(it);
    return true;
  }
  bool remove(std::int64_t id) { return remove(std::to_string(id)); }

  /// Drops removed rows, keeping the order of the others, and returns where
  /// each old row went; renumbers rows, so ItemBitmaps built before no
  /// longer apply.
  RowRemap compact() {
    RowRemap remap = RowRemap::dropping(rows(), [&](std::size_t row) { return is_removed(row); });
    if (removed_count_ == 0) return remap;
    own_rows();
    std::size_t kept = 0;
    for (std::size_t row = 0; row < ids_.size(); ++row) {
      if (is_removed(row)) continue;
      if (kept != row) {
        if (options_.storage == Storage::Float32)
          std::copy_n(&f32_[row * padded_dim_], padded_dim_, &f32_[kept * padded_dim_]);
        else
          std::copy_n(&f16_[row * padded_dim_], padded_dim_, &f16_[kept * padded_dim_]);
        ids_[kept] = std::move(ids_[row]);
      }
      ++kept;
    }
    ids_.resize(kept);
    f32_.resize(options_.storage == Storage::Float32 ? kept * padded_dim_ : 0);
    f16_.resize(options_.storage == Storage::Float16 ? kept * padded_dim_ : 0);
    removed_.assign((kept + 63) / 64, 0);
    removed_count_ = 0;
    row_of_.clear();
    for (std::size_t row = 0; row < kept; ++row) row_of_.emplace(ids_[row], row);
    return remap;
  }

  /// Replaces the vector of a live row in place (normalised for cosine, as
  /// add does). Throws InputError on a dimension mismatch, a row past
  /// rows() or a removed row.
  void set_vector(std::size_t row, const float* vector, std::size_t dim) {
    check_dimension(dim, "item " + (row < rows() ? ids_[row] : std::to_string(row)));
    check_row(row);
    if (is_removed(row)) throw InputError("removed_row", "row " + std::to_string(row) + " was removed");
    own_rows();
    store_row(row, vector);
  }
  void set_vector(std::size_t row, const VectorF& vector) {
    set_vector(row, vector.data(), static_cast<std::size_t>(vector.size()));
  }

  /// True if the row's item was removed (and compact() has not run since).
  bool removed(std::size_t row) const {
    check_row(row);
    return is_removed(row);
  }

  /// Writes the stored rows as they are scored, removed ones included:
  /// rows() x DP values (float32 or float16 as storage(), little-endian,
  /// DP = dim padded to a multiple of 8, zeros past dim), no header. Read
  /// back, mapped in place, by open_stored_rows(). Throws FileError.
  void write_stored_rows(std::ostream& out) const;

  /// An index over a file that write_stored_rows() wrote, memory-mapped and
  /// used in place (opening reads no vector; the first change copies the
  /// rows into memory of the index's own). `ids` (N) name the rows;
  /// `removed` (N) flags removed rows, whose ids may repeat live ones.
  /// Throws FileError, FormatError "stored_rows_size" when the file's size
  /// is not N x DP values of the storage type, InputError for bad ids.
  static EmbeddingIndex open_stored_rows(const std::string& path, std::size_t dim, std::vector<std::string> ids,
                                         const std::vector<bool>& removed, IndexOptions options = {});

  bool contains(const std::string& id) const { return row_of_.count(id) != 0; }
  /// Row of a live item; throws InputError("unknown_id") if there is none.
  std::size_t row_of(const std::string& id) const {
    const auto it = row_of_.find(id);
    if (it == row_of_.end()) throw InputError("unknown_id", "no item with id '" + id + "' in the index");
    return it->second;
  }
  /// Id of a stored row; throws InputError if row >= rows().
  const std::string& id_at(std::size_t row) const {
    check_row(row);
    return ids_[row];
  }
  /// The stored vector of a row (D), as used for scoring (normalised for
  /// cosine, rounded for float16). Throws InputError if row >= rows().
  VectorF vector(std::size_t row) const {
    check_row(row);
    VectorF out(static_cast<Eigen::Index>(dim_));
    for (std::size_t j = 0; j < dim_; ++j)
      out[static_cast<Eigen::Index>(j)] = options_.storage == Storage::Float32 ? f32_rows()[row * padded_dim_ + j]
                                                                               : fp16_to_float(f16_rows()[row * padded_dim_ + j]);
    return out;
  }

  /// A bitmap (size rows()) excluding the given ids; ids not in the index are
  /// ignored (an absent item can never be returned anyway).
  ItemBitmap exclusion(const std::vector<std::string>& ids) const {
    ItemBitmap bitmap(rows());
    for (const auto& id : ids) {
      const auto it = row_of_.find(id);
      if (it != row_of_.end()) bitmap.set(it->second);
    }
    return bitmap;
  }

  /// The k best live items for one query (D floats), best first; exactly
  /// min(k, eligible) results, where eligible = live, not excluded, kept by
  /// the predicate and with a non-NaN score. Throws InputError on a
  /// dimension mismatch or a bitmap larger than rows(); rethrows what the
  /// predicate throws.
  std::vector<SearchResult> search(const float* query, std::size_t dim, std::size_t k,
                                   const SearchFilter& filter = {}) const {
    auto batch = search_batch(query, 1, dim, k, filter);
    return std::move(batch.front());
  }
  /// search() for a (D) vector.
  std::vector<SearchResult> search(const VectorF& query, std::size_t k, const SearchFilter& filter = {}) const {
    return search(query.data(), static_cast<std::size_t>(query.size()), k, filter);
  }

  /// search() for each of Q queries, a (Q, D) row-major block; result q
  /// belongs to query q. Throws as search() does.
  std::vector<std::vector<SearchResult>> search_batch(const float* queries, std::size_t count, std::size_t dim,
                                                      std::size_t k, const SearchFilter& filter = {}) const {
    check_dimension(dim, "query");
    check_filter(filter);
    std::vector<std::vector<SearchResult>> results(count);
    const std::size_t k_used = std::min(k, size());
    if (count == 0 || k_used == 0) return results;

    const std::vector<float, Eigen::aligned_allocator<float>> padded = prepare_queries(queries, count);  // (Q, DP)
    const std::vector<std::vector<Hit>> hits = options_.storage == Storage::Float32
                                                   ? scan(f32_rows(), padded.data(), count, k_used, filter)
                                                   : scan(f16_rows(), padded.data(), count, k_used, filter);
    for (std::size_t q = 0; q < count; ++q) {
      results[q].reserve(hits[q].size());
      for (const Hit& hit : hits[q]) results[q].push_back(SearchResult{ids_[hit.index], hit.score, hit.index, hit.score, 0.0f});
    }
    return results;
  }
  /// search_batch() for a (Q, D) matrix.
  std::vector<std::vector<SearchResult>> search_batch(const MatrixF& queries, std::size_t k,
                                                      const SearchFilter& filter = {}) const {
    return search_batch(queries.data(), static_cast<std::size_t>(queries.rows()), static_cast<std::size_t>(queries.cols()),
                        k, filter);
  }

  /// The score of every stored row (N), removed rows included, computed
  /// exactly as search() does; for diagnostics and re-ranking.
  /// Throws InputError on a dimension mismatch.
  std::vector<float> scores(const float* query, std::size_t dim) const {
    check_dimension(dim, "query");
    const auto padded = prepare_queries(query, 1);  // (1, DP)
    std::vector<float> out(rows());                 // (N)
    for (std::size_t row = 0; row < rows(); ++row)
      out[row] = score_row(padded.data(), row);
    return out;
  }

  /// The scores of the given rows for one query (D), computed exactly as
  /// search() does, in the order of `rows`. Throws InputError on a dimension
  /// mismatch or a row >= rows().
  std::vector<float> scores_of(const VectorF& query, const std::vector<std::size_t>& rows) const {
    check_dimension(static_cast<std::size_t>(query.size()), "query");
    const auto padded = prepare_queries(query.data(), 1);  // (1, DP)
    std::vector<float> out(rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
      check_row(rows[i]);
      out[i] = score_row(padded.data(), rows[i]);
    }
    return out;
  }

  /// Writes the live items: vectors as a (size(), D) float32 .npy file, ids
  /// one per line ('\n'-terminated, same order). Each file is complete or
  /// keeps its old contents (AtomicOutputFile); the ids file is put in place
  /// only after the vectors. Throws FileError.
  void save(const std::string& vectors_path, const std::string& ids_path) const;

  /// Loads a (N, D) float32 .npy file and its ids file (one id per line,
  /// a trailing '\r' ignored); an empty ids_path names the items "0".."N-1".
  /// With Metric::Cosine the rows are normalised again (idempotent up to
  /// rounding). Throws FileError, FormatError (bad .npy, D == 0, id count
  /// differs from N) or ParseError (empty or duplicate id, with file and line).
  static EmbeddingIndex load(const std::string& vectors_path, const std::string& ids_path, IndexOptions options = {});

  /// Reads an ids file: one non-empty id per line, a trailing '\r' ignored.
  /// Throws FileError or ParseError (empty, duplicate or tab-containing id,
  /// with file and line).
  static std::vector<std::string> read_ids(const std::string& path);

 private:
  // One stored row's score for a prepared (DP) query, as search() computes it.
  float score_row(const float* padded_query, std::size_t row) const {
    return options_.storage == Storage::Float32
               ? detail::dot_reference(padded_query, f32_rows() + row * padded_dim_, padded_dim_)
               : detail::dot_reference(padded_query, f16_rows() + row * padded_dim_, padded_dim_);
  }

  using AlignedFloats = std::vector<float, Eigen::aligned_allocator<float>>;
  using AlignedHalves = std::vector<std::uint16_t, Eigen::aligned_allocator<std::uint16_t>>;

  // items per register tile: single queries stream memory (wide item tiles),
  // batches reuse each loaded item across 3 queries (12 accumulators)
  static constexpr int kSingleItems = 8;
  static constexpr int kBatchQueries = 3;
  static constexpr int kBatchItems = 4;
  // below this many (query, row) pairs per thread a thread costs more than it saves
  static constexpr std::size_t kMinPairsPerThread = 2048;
  // tasks per thread: enough that a thread that starts late (busy machine)
  // leaves its share to the others
  static constexpr std::size_t kTasksPerThread = 16;

  std::size_t rows_count_after(std::size_t added) const { return ids_.size() + added; }

  void reserve(std::size_t total_rows) {
    if (options_.storage == Storage::Float32)
      f32_.reserve(total_rows * padded_dim_);
    else
      f16_.reserve(total_rows * padded_dim_);
    ids_.reserve(total_rows);
  }

  void check_dimension(std::size_t dim, const std::string& what) const {
    if (dim != dim_)
      throw InputError("dimension_mismatch", what + " has dimension " + std::to_string(dim) + ", the index has " +
                                                 std::to_string(dim_));
  }

  void check_row(std::size_t row) const {
    if (row >= rows())
      throw InputError("row_out_of_range", "row " + std::to_string(row) + " is outside the index (" +
                                               std::to_string(rows()) + " rows)");
  }

  void check_new_id(const std::string& id) const {
    if (id.empty()) throw InputError("empty_id", "item ids must not be empty");
    if (id.find_first_of("\t\r\n") != std::string::npos)
      throw InputError("bad_id", "item id '" + id + "' contains a tab, '\\r' or '\\n'");
    if (row_of_.count(id) != 0) throw InputError("duplicate_id", "item id '" + id + "' is already in the index");
  }

  void check_filter(const SearchFilter& filter) const {
    if (filter.exclude != nullptr && filter.exclude->size() > rows())
      throw InputError("bitmap_too_large", "exclusion bitmap has " + std::to_string(filter.exclude->size()) +
                                               " rows, the index " + std::to_string(rows()) +
                                               " (built before compact()?)");
  }

  bool is_removed(std::size_t row) const { return ((removed_[row / 64] >> (row % 64)) & 1u) != 0; }

  // The stored rows (N, DP): mapped from a file, or the index's own.
  const float* f32_rows() const {
    return mapped_rows_ ? reinterpret_cast<const float*>(mapped_rows_->data()) : f32_.data();
  }
  const std::uint16_t* f16_rows() const {
    return mapped_rows_ ? reinterpret_cast<const std::uint16_t*>(mapped_rows_->data()) : f16_.data();
  }
  const void* stored_data() const {
    return options_.storage == Storage::Float32 ? static_cast<const void*>(f32_rows()) : static_cast<const void*>(f16_rows());
  }

  // Before a change: rows mapped from a file are copied into the index's own memory.
  void own_rows() {
    if (!mapped_rows_) return;
    const std::size_t values = rows() * padded_dim_;
    if (options_.storage == Storage::Float32)
      f32_.assign(f32_rows(), f32_rows() + values);
    else
      f16_.assign(f16_rows(), f16_rows() + values);
    mapped_rows_.reset();
  }

  // stored row <- vector, L2-normalised for cosine (a zero or non-finite norm leaves it as is)
  void store_row(std::size_t row, const float* vector) {
    const double scale = options_.metric == Metric::Cosine ? inverse_norm(vector) : 1.0;
    if (options_.storage == Storage::Float32) {
      for (std::size_t j = 0; j < dim_; ++j) f32_[row * padded_dim_ + j] = static_cast<float>(vector[j] * scale);
    } else {
      // scaled in blocks on the stack, each block rounded to fp16 at once
      constexpr std::size_t kBlock = 64;
      float scaled[kBlock];
      for (std::size_t begin = 0; begin < dim_; begin += kBlock) {
        const std::size_t count = std::min(kBlock, dim_ - begin);
        for (std::size_t j = 0; j < count; ++j) scaled[j] = static_cast<float>(vector[begin + j] * scale);
        float_to_fp16(scaled, &f16_[row * padded_dim_ + begin], count, simd_level_);
      }
    }
  }

  void append_row(const std::string& id, const float* vector) {
    own_rows();
    const std::size_t row = ids_.size();
    if (options_.storage == Storage::Float32)
      f32_.resize((row + 1) * padded_dim_, 0.0f);
    else
      f16_.resize((row + 1) * padded_dim_, 0);
    store_row(row, vector);
    ids_.push_back(id);
    row_of_.emplace(id, row);
    if (removed_.size() * 64 < ids_.size()) removed_.push_back(0);
  }

  double inverse_norm(const float* vector) const {
    double squares = 0.0;
    for (std::size_t j = 0; j < dim_; ++j) squares += static_cast<double>(vector[j]) * vector[j];
    const double norm = std::sqrt(squares);
    return (norm > 0.0 && std::isfinite(norm)) ? 1.0 / norm : 1.0;
  }

  // queries copied to (Q, DP), zero-padded, normalised for cosine
  AlignedFloats prepare_queries(const float* queries, std::size_t count) const {
    AlignedFloats padded(count * padded_dim_, 0.0f);  // (Q, DP)
    for (std::size_t q = 0; q < count; ++q) {
      const float* query = queries + q * dim_;
      const double scale = options_.metric == Metric::Cosine ? inverse_norm(query) : 1.0;
      for (std::size_t j = 0; j < dim_; ++j) padded[q * padded_dim_ + j] = static_cast<float>(query[j] * scale);
    }
    return padded;
  }

  // Exact top-k of every query over all eligible rows. The rows are cut into
  // contiguous 64-row-aligned tasks that the calling thread and the pool's
  // workers claim dynamically; each thread (slot) keeps a TopK per query over
  // the tasks it ran, and the per-slot lists are merged in the total order,
  // so the result does not depend on which thread ran which task.
  template <typename Item>
  std::vector<std::vector<Hit>> scan(const Item* items, const float* queries, std::size_t query_count, std::size_t k,
                                     const SearchFilter& filter) const {
    const std::size_t words = (rows() + 63) / 64;
    const std::size_t pairs = rows() * query_count;
    const std::size_t threads = std::max<std::size_t>(
        1, std::min<std::size_t>(static_cast<std::size_t>(this->threads()), pairs / kMinPairsPerThread));
    const std::size_t tasks = std::min(words, threads * kTasksPerThread);
    std::vector<std::vector<Hit>> merged(query_count);
    with_pool(options_.pool, static_cast<int>(threads), [&](ThreadPool& pool) {
      const std::size_t slots = pool.slots(tasks, static_cast<int>(threads));
      std::vector<std::vector<TopK>> tops(slots, std::vector<TopK>(query_count, TopK(k)));  // (slots, Q)
      pool.parallel_for(
          tasks,
          [&](std::size_t task, std::size_t slot) {
            scan_task(items, queries, query_count, words * task / tasks, words * (task + 1) / tasks, filter,
                      tops[slot].data());
          },
          static_cast<int>(threads));
      std::vector<std::vector<Hit>> per_slot(slots);
      for (std::size_t q = 0; q < query_count; ++q) {
        for (std::size_t slot = 0; slot < slots; ++slot) per_slot[slot] = tops[slot][q].take_sorted();
        merged[q] = merge_top_k(per_slot, k);
      }
    });
    return merged;
  }

  // One task's scan on the kernels of simd_level_. The scan loop is compiled
  // once per kernel family with that family's instruction set (scan_words is
  // always inlined into these), so the tiles inline into it as in a
  // -march=native build instead of being called once per tile.
  template <typename Item>
  void scan_task(const Item* items, const float* queries, std::size_t query_count, std::size_t word_begin,
                 std::size_t word_end, const SearchFilter& filter, TopK* tops) const {
#if EMBEDRANK_X86_KERNELS
    if (simd_level_ == SimdLevel::Avx512)
      return scan_task_avx512(items, queries, query_count, word_begin, word_end, filter, tops);
    if (simd_level_ == SimdLevel::Avx2)
      return scan_task_avx2(items, queries, query_count, word_begin, word_end, filter, tops);
#endif
    scan_words<detail::PortableDot>(items, queries, query_count, word_begin, word_end, filter, tops);
  }
#if EMBEDRANK_X86_KERNELS
  template <typename Item>
  EMBEDRANK_TARGET_AVX512 void scan_task_avx512(const Item* items, const float* queries, std::size_t query_count,
                                                std::size_t word_begin, std::size_t word_end,
                                                const SearchFilter& filter, TopK* tops) const {
    scan_words<detail::Avx512Dot>(items, queries, query_count, word_begin, word_end, filter, tops);
  }
  template <typename Item>
  EMBEDRANK_TARGET_AVX2 void scan_task_avx2(const Item* items, const float* queries, std::size_t query_count,
                                            std::size_t word_begin, std::size_t word_end, const SearchFilter& filter,
                                            TopK* tops) const {
    scan_words<detail::Avx2Dot>(items, queries, query_count, word_begin, word_end, filter, tops);
  }
#endif

  // Scans rows [64 word_begin, 64 word_end): eligible rows (live, not
  // excluded) are gathered into register tiles, scored, and offered to the
  // per-query TopK right away (selection fused into the tile loop).
  template <typename Kernels, typename Item>
  __attribute__((always_inline)) void scan_words(const Item* items, const float* queries, std::size_t query_count,
                                                 std::size_t word_begin, std::size_t word_end,
                                                 const SearchFilter& filter, TopK* tops) const {
    const bool single = query_count == 1;
    const int tile_items = single ? kSingleItems : kBatchItems;
    std::size_t tile[kSingleItems];  // rows of the tile being gathered
    int filled = 0;
    for (std::size_t w = word_begin; w < word_end; ++w) {
      std::uint64_t eligible = ~removed_[w];
      if (filter.exclude != nullptr) eligible &= ~filter.exclude->word(w);
      const std::size_t rows_in_word = std::min<std::size_t>(64, rows() - w * 64);
      if (rows_in_word < 64) eligible &= (std::uint64_t{1} << rows_in_word) - 1;
      while (eligible != 0) {
        tile[filled++] = w * 64 + static_cast<std::size_t>(__builtin_ctzll(eligible));
        eligible &= eligible - 1;
        if (filled == tile_items) {
          if (single)
            score_tile<Kernels, kSingleItems>(items, queries, query_count, tile, filter, tops);
          else
            score_tile<Kernels, kBatchItems>(items, queries, query_count, tile, filter, tops);
          filled = 0;
        }
      }
    }
    for (int i = 0; i < filled; ++i) score_tile<Kernels, 1>(items, queries, query_count, tile + i, filter, tops);
  }

  // scores the IT rows of `tile` against all Q queries, QT queries at a time
  template <typename Kernels, int IT, typename Item>
  __attribute__((always_inline)) void score_tile(const Item* items, const float* queries, std::size_t query_count,
                                                 const std::size_t* tile, const SearchFilter& filter,
                                                 TopK* tops) const {
    const Item* item_rows[IT];
    for (int i = 0; i < IT; ++i) item_rows[i] = items + tile[i] * padded_dim_;
    std::size_t q = 0;
    for (; q + kBatchQueries <= query_count; q += kBatchQueries)
      score_and_offer<Kernels, kBatchQueries, IT>(item_rows, queries, q, tile, filter, tops);
    if (query_count - q == 2) score_and_offer<Kernels, 2, IT>(item_rows, queries, q, tile, filter, tops);
    if (query_count - q == 1) score_and_offer<Kernels, 1, IT>(item_rows, queries, q, tile, filter, tops);
  }

  template <typename Kernels, int QT, int IT, typename Item>
  __attribute__((always_inline)) void score_and_offer(const Item* const* item_rows, const float* queries,
                                                      std::size_t first_query, const std::size_t* tile,
                                                      const SearchFilter& filter, TopK* tops) const {
    const float* query_rows[QT];
    for (int q = 0; q < QT; ++q) query_rows[q] = queries + (first_query + q) * padded_dim_;
    float tile_scores[QT * IT];  // (QT, IT)
    Kernels::template tile<QT, IT>(query_rows, item_rows, padded_dim_, tile_scores);
    for (int q = 0; q < QT; ++q) {
      TopK& top = tops[first_query + q];
      for (int i = 0; i < IT; ++i) {
        const float score = tile_scores[q * IT + i];
        // one compare rejects almost every row (and every NaN)
        if (!(score >= top.threshold())) continue;
        if (filter.keep && !filter.keep(tile[i])) continue;
        top.push(score, tile[i]);
      }
    }
  }

  std::size_t dim_;         // D
  std::size_t padded_dim_;  // DP
  IndexOptions options_;
  SimdLevel simd_level_;                             // the dot kernels' family (detail/dot.hpp)
  std::shared_ptr<const MappedFile> mapped_rows_;    // (N, DP) stored rows used in place, until the first change
  AlignedFloats f32_;                                // (N, DP) when storage is float32
  AlignedHalves f16_;                                // (N, DP) when storage is float16
  std::vector<std::string> ids_;                     // (N)
  std::unordered_map<std::string, std::size_t> row_of_;  // live id -> row
  std::vector<std::uint64_t> removed_;               // (ceil(N / 64)) removed-row bits
  std::size_t removed_count_ = 0;
};

}  // namespace embedrank::rank

#include "embedrank/rank/detail/index_files.hpp"
