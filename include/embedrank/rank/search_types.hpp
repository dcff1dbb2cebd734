#pragma once
/// The vocabulary of a search over an EmbeddingIndex: the metric and the
/// storage of its vectors, its options, a search's filter and its results
/// (rank/embedding_index.hpp). Kept apart so a caller that only passes
/// options and results around does not need the index's scan code.

#include <cstddef>
#include <functional>
#include <string>

#include "embedrank/core/enum_text.hpp"
#include "embedrank/core/thread_pool.hpp"
#include "embedrank/rank/item_bitmap.hpp"

namespace embedrank::rank {

/// How a query is scored against an item.
enum class Metric {
  InnerProduct,  ///< <query, item>
  Cosine,        ///< <query / |query|, item / |item|>; rows are normalised at add time
};

/// Names as embedrank-search's --metric takes them (ip: inner_product).
inline EnumText<Metric> enum_text(Metric) {
  static constexpr EnumName<Metric> names[] = {{Metric::InnerProduct, "inner_product"},
                                               {Metric::InnerProduct, "ip"},
                                               {Metric::Cosine, "cosine"}};
  return {"metric", "unknown_metric", names};
}

/// How item vectors are stored. Queries are always float32.
enum class Storage {
  Float32,
  Float16,  ///< IEEE binary16, round to nearest even; halves memory and scan traffic
};

/// Names as embedrank-search's --storage takes them (f32, f16).
inline EnumText<Storage> enum_text(Storage) {
  static constexpr EnumName<Storage> names[] = {{Storage::Float32, "float32"},
                                                {Storage::Float32, "f32"},
                                                {Storage::Float16, "float16"},
                                                {Storage::Float16, "f16"}};
  return {"storage", "unknown_storage", names};
}

/// Construction options of an EmbeddingIndex.
struct IndexOptions {
  Metric metric = Metric::InnerProduct;
  Storage storage = Storage::Float32;
  int threads = 0;  ///< threads per search at most; <= 0: all of the pool's; 1: the calling thread
  /// Searches run on this pool (not owned; it must outlive the searches);
  /// null: on ThreadPool::shared(). A pool runs one search at a time;
  /// concurrent searches that find it busy run on their own thread.
  ThreadPool* pool = nullptr;
};

/// Which items a search may return. Both parts are optional and combine with
/// "and". Both are applied inside the scan, not as a post-filter, so the
/// result count is exactly min(k, eligible items).
struct SearchFilter {
  /// Rows to skip; the scan does not even read their vectors.
  const ItemBitmap* exclude = nullptr;
  /// keep(row) == false removes the row. Called only for rows whose score
  /// would enter the current top-k, from the search's worker threads,
  /// possibly concurrently and more than once per row (once per query of a
  /// batch): it must be thread-safe and give the same answer every time.
  std::function<bool(std::size_t row)> keep;
};

/// One result: external id, score and the row it came from.
struct SearchResult {
  std::string id;
  float score = 0.0f;  ///< what results are ordered by
  std::size_t row = 0;
  /// With query constraints (search_with_constraints): the similarity and
  /// the boost that make up the score; otherwise similarity = score, boost 0.
  float similarity = 0.0f;
  float boost = 0.0f;
  /// With a lexical index (rank/hybrid_search.hpp): the BM25 score, 0 when
  /// none of the query's terms is in the product; similarity is then the
  /// dense (cosine) score, whichever list the result came from.
  float lexical = 0.0f;
};

}  // namespace embedrank::rank
