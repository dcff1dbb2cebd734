// EmbeddingIndex against a brute-force reference: exact ids under the tie
// rule, scores within 1e-5 of a double-precision dot product, over random
// data with planted ties, duplicates and NaN rows, every k from 1 to N + 5,
// filters excluding none, some and all, any thread count.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "embedrank/core/npy.hpp"
#include "embedrank/rank/embedding_index.hpp"
#include "support/scratch_dir.hpp"

using embedrank::MatrixF;
using embedrank::rank::EmbeddingIndex;
using embedrank::rank::IndexOptions;
using embedrank::rank::ItemBitmap;
using embedrank::rank::Metric;
using embedrank::rank::SearchFilter;
using embedrank::rank::SearchResult;
using embedrank::rank::Storage;

namespace {

// N = items, D = dimension, Q = queries
struct Catalogue {
  MatrixF items;    // (N, D)
  MatrixF queries;  // (Q, D)
  std::vector<std::string> ids;
};

// Gaussian rows with planted trouble: exact duplicates of earlier rows,
// all-zero rows (score 0 for every query), NaN rows, and a block of rows on a
// coarse integer grid so that many scores tie exactly.
Catalogue make_catalogue(std::size_t n, std::size_t d, std::size_t q, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_int_distribution<int> grid(-1, 1);
  Catalogue c;
  c.items.resize(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(d));
  for (Eigen::Index i = 0; i < c.items.rows(); ++i) {
    for (Eigen::Index j = 0; j < c.items.cols(); ++j)
      c.items(i, j) = (i % 5 == 1) ? static_cast<float>(grid(rng)) : normal(rng);
    if (i % 7 == 3 && i > 10) c.items.row(i) = c.items.row(i / 3);  // duplicate
    if (i % 11 == 5) c.items.row(i).setZero();
    if (i % 13 == 6) c.items(i, static_cast<Eigen::Index>(d) / 2) = std::numeric_limits<float>::quiet_NaN();
  }
  c.queries.resize(static_cast<Eigen::Index>(q), static_cast<Eigen::Index>(d));
  for (Eigen::Index i = 0; i < c.queries.rows(); ++i)
    for (Eigen::Index j = 0; j < c.queries.cols(); ++j)
      c.queries(i, j) = (i % 2 == 1) ? static_cast<float>(grid(rng)) : normal(rng);
  for (std::size_t i = 0; i < n; ++i) c.ids.push_back("sku-" + std::to_string(i));
  return c;
}

struct Expected {
  std::size_t row;
  float score;
};

// Brute force: score every row with the index's own scoring (bit-identical
// to the search kernels), drop ineligible and NaN rows, full sort by the tie
// rule written out here, keep k.
std::vector<Expected> brute_force(const EmbeddingIndex& index, const float* query, const SearchFilter& filter,
                                  std::size_t k) {
  const std::vector<float> scores = index.scores(query, index.dim());
  std::vector<Expected> all;
  for (std::size_t row = 0; row < index.rows(); ++row) {
    if (!index.contains(index.id_at(row)) || index.row_of(index.id_at(row)) != row) continue;
    if (filter.exclude != nullptr && filter.exclude->test(row)) continue;
    if (filter.keep && !filter.keep(row)) continue;
    if (std::isnan(scores[row])) continue;
    all.push_back(Expected{row, scores[row]});
  }
  std::sort(all.begin(), all.end(), [](const Expected& a, const Expected& b) {
    if (a.score != b.score) return a.score > b.score;
    return a.row < b.row;
  });
  if (all.size() > k) all.resize(k);
  return all;
}

void require_matches(const std::vector<SearchResult>& got, const std::vector<Expected>& want,
                     const EmbeddingIndex& index) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("rank " << i);
    REQUIRE(got[i].row == want[i].row);
    REQUIRE(got[i].id == index.id_at(want[i].row));
    REQUIRE(got[i].score == want[i].score);
  }
}

// scores against an independent double-precision dot product of the stored rows
void require_scores_close(const std::vector<SearchResult>& got, const EmbeddingIndex& index, const float* query,
                          double query_scale) {
  for (const auto& r : got) {
    const auto v = index.vector(r.row);
    double exact = 0.0;
    for (std::size_t j = 0; j < index.dim(); ++j) exact += static_cast<double>(query[j]) * query_scale * v[static_cast<Eigen::Index>(j)];
    REQUIRE_THAT(r.score, Catch::Matchers::WithinAbs(exact, 1e-5));
  }
}

double inverse_norm(const float* v, std::size_t d) {
  double s = 0.0;
  for (std::size_t j = 0; j < d; ++j) s += static_cast<double>(v[j]) * v[j];
  return s > 0.0 ? 1.0 / std::sqrt(s) : 1.0;
}

}  // namespace

TEST_CASE("search equals brute force for every k, filter and thread count", "[embedding_index]") {
  const std::size_t n = 150, d = 37;
  const auto c = make_catalogue(n, d, 4, 42);
  const Metric metric = GENERATE(Metric::InnerProduct, Metric::Cosine);
  INFO("metric " << (metric == Metric::Cosine ? "cosine" : "inner product"));
  EmbeddingIndex index(d, IndexOptions{metric, Storage::Float32, 1});
  index.add_rows(c.ids, c.items);
  REQUIRE(index.size() == n);

  ItemBitmap none(n);
  ItemBitmap some(n);
  ItemBitmap all(n);
  for (std::size_t row = 0; row < n; ++row) {
    if (row % 3 == 0 || row % 17 == 2) some.set(row);
    all.set(row);
  }
  SearchFilter no_filter;
  SearchFilter exclude_none{&none, {}};
  SearchFilter exclude_some{&some, {}};
  SearchFilter exclude_all{&all, {}};
  SearchFilter keep_some{nullptr, [](std::size_t row) { return row % 4 != 1; }};
  SearchFilter both{&some, [](std::size_t row) { return row % 4 != 1; }};
  SearchFilter keep_none{nullptr, [](std::size_t) { return false; }};
  const std::vector<std::pair<const char*, const SearchFilter*>> filters = {
      {"no filter", &no_filter},   {"exclude none", &exclude_none}, {"exclude some", &exclude_some},
      {"exclude all", &exclude_all}, {"predicate", &keep_some},     {"bitmap and predicate", &both},
      {"predicate rejects all", &keep_none}};

  for (const auto& named : filters) {
    for (Eigen::Index q = 0; q < c.queries.rows(); ++q) {
      const float* query = c.queries.row(q).data();
      const double scale = metric == Metric::Cosine ? inverse_norm(query, d) : 1.0;
      const auto full = brute_force(index, query, *named.second, n + 5);
      for (std::size_t k = 1; k <= n + 5; ++k) {
        INFO(named.first << ", query " << q << ", k = " << k);
        const auto got = index.search(query, d, k, *named.second);
        const std::vector<Expected> want(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(std::min(k, full.size())));
        require_matches(got, want, index);
        require_scores_close(got, index, query, scale);
      }
    }
  }

  SECTION("NaN rows are never returned and the count is exactly the eligible count") {
    const auto got = index.search(c.queries.row(0).data(), d, n + 5);
    std::size_t nan_rows = 0;
    for (std::size_t row = 0; row < n; ++row)
      if (c.items.row(static_cast<Eigen::Index>(row)).hasNaN()) ++nan_rows;
    REQUIRE(nan_rows > 0);
    REQUIRE(got.size() == n - nan_rows);
    for (const auto& r : got) REQUIRE_FALSE(c.items.row(static_cast<Eigen::Index>(r.row)).hasNaN());
  }
}

TEST_CASE("one index serves 8 threads at once, each result as when alone", "[embedding_index][threads]") {
  const std::size_t n = 3000, d = 16;
  const auto c = make_catalogue(n, d, 6, 11);
  EmbeddingIndex index(d, IndexOptions{Metric::Cosine, Storage::Float16, 2});
  index.add_rows(c.ids, c.items);
  ItemBitmap some(n);
  for (std::size_t row = 0; row < n; row += 7) some.set(row);
  const SearchFilter filter{&some, [](std::size_t row) { return row % 5 != 0; }};
  const auto reference = index.search_batch(c.queries, 25, filter);
  std::vector<int> mismatches(8, 0);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < mismatches.size(); ++t)
    threads.emplace_back([&, t] {
      for (int repeat = 0; repeat < 3; ++repeat) {
        const auto batch = index.search_batch(c.queries, 25, filter);  // the index's own pool size (2)
        for (Eigen::Index q = 0; q < c.queries.rows(); ++q) {
          const auto one = index.search(c.queries.row(q).data(), d, 25, filter);
          const auto& expected = reference[static_cast<std::size_t>(q)];
          for (const auto* got : {&batch[static_cast<std::size_t>(q)], &one}) {
            if (got->size() != expected.size()) ++mismatches[t];
            for (std::size_t r = 0; r < std::min(got->size(), expected.size()); ++r)
              if ((*got)[r].row != expected[r].row || (*got)[r].score != expected[r].score) ++mismatches[t];
          }
        }
      }
    });
  for (auto& t : threads) t.join();
  for (int m : mismatches) CHECK(m == 0);
}

TEST_CASE("results do not depend on the thread count, batch equals single queries", "[embedding_index]") {
  const std::size_t n = 20000, d = 8;
  const auto c = make_catalogue(n, d, 7, 5);
  const Storage storage = GENERATE(Storage::Float32, Storage::Float16);
  INFO("storage " << (storage == Storage::Float16 ? "float16" : "float32"));
  EmbeddingIndex index(d, IndexOptions{Metric::InnerProduct, storage, 1});
  index.add_rows(c.ids, c.items);
  ItemBitmap some(n);
  for (std::size_t row = 0; row < n; row += 10) some.set(row);
  SearchFilter filter{&some, [](std::size_t row) { return row % 3 != 0; }};

  for (std::size_t k : {1u, 10u, 64u, 65u, 100u, 1000u}) {
    index.set_threads(1);
    const auto reference = index.search_batch(c.queries, k, filter);
    for (Eigen::Index q = 0; q < c.queries.rows(); ++q) {
      INFO("k = " << k << ", query " << q);
      require_matches(reference[static_cast<std::size_t>(q)], brute_force(index, c.queries.row(q).data(), filter, k), index);
      require_matches(index.search(c.queries.row(q).data(), d, k, filter),
                      brute_force(index, c.queries.row(q).data(), filter, k), index);
    }
    for (int threads : {2, 3, 5}) {
      INFO("k = " << k << ", threads = " << threads);
      index.set_threads(threads);
      const auto got = index.search_batch(c.queries, k, filter);
      for (std::size_t q = 0; q < got.size(); ++q) {
        REQUIRE(got[q].size() == reference[q].size());
        for (std::size_t i = 0; i < got[q].size(); ++i) {
          REQUIRE(got[q][i].row == reference[q][i].row);
          REQUIRE(got[q][i].score == reference[q][i].score);
        }
      }
    }
  }
}

TEST_CASE("every SIMD level gives the same results, bit for bit, as the brute force", "[embedding_index][simd]") {
  // D = 389 pads to 392 (a zero tail in the last 8 lanes); Q = 7 exercises 3-query tiles and a remainder
  const std::size_t n = 3001, d = 389;
  const auto c = make_catalogue(n, d, 7, 11);
  const Storage storage = GENERATE(Storage::Float32, Storage::Float16);
  const Metric metric = GENERATE(Metric::InnerProduct, Metric::Cosine);
  EmbeddingIndex index(d, IndexOptions{metric, storage, 2});
  index.add_rows(c.ids, c.items);
  REQUIRE(index.simd_level() == embedrank::default_simd_level());
  ItemBitmap some(n);
  for (std::size_t row = 0; row < n; row += 7) some.set(row);
  const SearchFilter filter{&some, {}};
  for (const auto level : {embedrank::SimdLevel::Portable, embedrank::SimdLevel::Avx2, embedrank::SimdLevel::Avx512}) {
    if (embedrank::supported_simd_level(level) != level) continue;
    index.set_simd_level(level);
    REQUIRE(index.simd_level() == level);
    INFO("storage " << embedrank::to_string(storage) << ", metric " << embedrank::to_string(metric) << ", level "
                    << embedrank::to_string(level));
    for (std::size_t k : {1u, 10u, 100u}) {
      const auto batch = index.search_batch(c.queries, k, filter);
      for (Eigen::Index q = 0; q < c.queries.rows(); ++q) {
        INFO("k = " << k << ", query " << q);
        // scores() runs the reference order (dot_reference), whatever the level
        const auto want = brute_force(index, c.queries.row(q).data(), filter, k);
        require_matches(batch[static_cast<std::size_t>(q)], want, index);
        require_matches(index.search(c.queries.row(q).data(), d, k, filter), want, index);
      }
    }
  }
}

TEST_CASE("float16 storage scores the rounded vectors", "[embedding_index]") {
  const std::size_t d = 16;
  EmbeddingIndex index(d, IndexOptions{Metric::InnerProduct, Storage::Float16, 1});
  std::vector<float> v(d, 0.0f);
  v[0] = 1.0f + 1.0f / 4096.0f;  // not representable in float16: rounds to 1
  index.add("a", v.data(), d);
  REQUIRE(index.vector(0)[0] == 1.0f);
  std::vector<float> query(d, 0.0f);
  query[0] = 2.0f;
  const auto got = index.search(query.data(), d, 1);
  REQUIRE(got.size() == 1);
  REQUIRE(got[0].score == 2.0f);
}

TEST_CASE("defined results for degenerate inputs", "[embedding_index]") {
  const std::size_t d = 5;
  EmbeddingIndex index(d);
  const std::vector<float> query(d, 1.0f);

  SECTION("an empty catalogue returns empty") { REQUIRE(index.search(query.data(), d, 10).empty()); }

  index.add("x", std::vector<float>{1, 0, 0, 0, 0}.data(), d);
  index.add(std::int64_t{7}, std::vector<float>{0, 2, 0, 0, 0}.data(), d);

  SECTION("k = 0 returns empty") { REQUIRE(index.search(query.data(), d, 0).empty()); }
  SECTION("k larger than the catalogue returns every item") {
    const auto got = index.search(query.data(), d, 1000);
    REQUIRE(got.size() == 2);
    REQUIRE(got[0].id == "7");
    REQUIRE(got[1].id == "x");
  }
  SECTION("a NaN query returns empty") {
    const std::vector<float> nan_query(d, std::numeric_limits<float>::quiet_NaN());
    REQUIRE(index.search(nan_query.data(), d, 3).empty());
  }
  SECTION("an empty batch returns empty") { REQUIRE(index.search_batch(query.data(), 0, d, 3).empty()); }
}

TEST_CASE("bad input gets typed errors naming the culprit", "[embedding_index][errors]") {
  const std::size_t d = 4;
  EmbeddingIndex index(d);
  const std::vector<float> v(d, 1.0f);
  index.add("a", v.data(), d);

  SECTION("query of the wrong dimension") {
    const std::vector<float> q(d + 1, 1.0f);
    try {
      index.search(q.data(), d + 1, 1);
      FAIL("no exception");
    } catch (const embedrank::InputError& e) {
      REQUIRE(e.id() == "input.dimension_mismatch");
      REQUIRE_THAT(e.what(), Catch::Matchers::Contains("dimension 5") && Catch::Matchers::Contains("has 4"));
    }
    REQUIRE_THROWS_AS(index.search_batch(q.data(), 1, d + 1, 1), embedrank::InputError);
    REQUIRE_THROWS_AS(index.scores(q.data(), d + 1), embedrank::InputError);
  }
  SECTION("item of the wrong dimension, duplicate and malformed ids") {
    REQUIRE_THROWS_AS(index.add("b", v.data(), d - 1), embedrank::InputError);
    REQUIRE_THROWS_WITH(index.add("a", v.data(), d), Catch::Matchers::Contains("'a'"));
    REQUIRE_THROWS_AS(index.add("", v.data(), d), embedrank::InputError);
    REQUIRE_THROWS_AS(index.add("tab\tid", v.data(), d), embedrank::InputError);
    REQUIRE_THROWS_AS(index.add_rows({"c", "c"}, MatrixF::Ones(2, static_cast<Eigen::Index>(d))), embedrank::InputError);
    REQUIRE(index.size() == 1);
  }
  SECTION("zero dimension") { REQUIRE_THROWS_AS(EmbeddingIndex(0), embedrank::InputError); }
  SECTION("a bitmap larger than the index") {
    ItemBitmap big(5);
    SearchFilter filter{&big, {}};
    REQUIRE_THROWS_AS(index.search(v.data(), d, 1, filter), embedrank::InputError);
    REQUIRE_THROWS_AS(big.set(5), embedrank::InputError);
  }
  SECTION("a throwing predicate propagates") {
    SearchFilter filter{nullptr, [](std::size_t) -> bool { throw std::runtime_error("predicate failed"); }};
    REQUIRE_THROWS_WITH(index.search(v.data(), d, 1, filter), "predicate failed");
  }
  SECTION("unknown ids") {
    REQUIRE_THROWS_AS(index.row_of("zzz"), embedrank::InputError);
    REQUIRE_FALSE(index.remove("zzz"));
    REQUIRE_THROWS_AS(index.id_at(3), embedrank::InputError);
  }
}

TEST_CASE("remove, compact and re-add keep the tie order of the others", "[embedding_index]") {
  const std::size_t d = 3;
  EmbeddingIndex index(d);
  const std::vector<float> same{1, 1, 1};
  for (const char* id : {"a", "b", "c", "d", "e"}) index.add(id, same.data(), d);
  const auto ids_of = [&](const std::vector<SearchResult>& results) {
    std::vector<std::string> out;
    for (const auto& r : results) out.push_back(r.id);
    return out;
  };

  REQUIRE(index.remove("b"));
  REQUIRE_FALSE(index.remove("b"));
  REQUIRE(index.size() == 4);
  REQUIRE(ids_of(index.search(same.data(), d, 10)) == std::vector<std::string>{"a", "c", "d", "e"});
  index.add("b", same.data(), d);  // re-added: a new row at the end
  REQUIRE(ids_of(index.search(same.data(), d, 10)) == std::vector<std::string>{"a", "c", "d", "e", "b"});
  REQUIRE(index.rows() == 6);
  index.compact();
  REQUIRE(index.rows() == 5);
  REQUIRE(index.row_of("b") == 4);
  REQUIRE(ids_of(index.search(same.data(), d, 10)) == std::vector<std::string>{"a", "c", "d", "e", "b"});
  const auto excluded = index.exclusion({"c", "not-there"});
  REQUIRE(ids_of(index.search(same.data(), d, 3, SearchFilter{&excluded, {}})) == std::vector<std::string>{"a", "d", "e"});
}

TEST_CASE("save and load round-trip vectors, ids and results", "[embedding_index][io]") {
  const std::size_t n = 60, d = 12;
  const auto c = make_catalogue(n, d, 2, 9);
  const std::string& dir = embedrank_test::scratch_dir();
  const std::string vectors_path = dir + "/rank_index_vectors.npy";
  const std::string ids_path = dir + "/rank_index_ids.txt";
  const Metric metric = GENERATE(Metric::InnerProduct, Metric::Cosine);

  EmbeddingIndex index(d, IndexOptions{metric, Storage::Float32, 2});
  index.add_rows(c.ids, c.items);
  index.remove("sku-4");
  index.save(vectors_path, ids_path);
  const auto loaded = EmbeddingIndex::load(vectors_path, ids_path, IndexOptions{metric, Storage::Float32, 2});
  REQUIRE(loaded.size() == n - 1);
  REQUIRE_FALSE(loaded.contains("sku-4"));
  for (Eigen::Index q = 0; q < c.queries.rows(); ++q) {
    const auto before = index.search(c.queries.row(q).data(), d, 20);
    const auto after = loaded.search(c.queries.row(q).data(), d, 20);
    REQUIRE(before.size() == after.size());
    for (std::size_t i = 0; i < before.size(); ++i) {
      REQUIRE(before[i].id == after[i].id);
      REQUIRE_THAT(after[i].score, Catch::Matchers::WithinAbs(before[i].score, 1e-6));
    }
  }

  SECTION("no ids file names items by row") {
    const auto by_row = EmbeddingIndex::load(vectors_path, "");
    REQUIRE(by_row.id_at(0) == "0");
    REQUIRE(by_row.id_at(n - 2) == std::to_string(n - 2));
  }
  SECTION("id count mismatch") {
    std::ofstream(ids_path) << "only\ntwo\n";
    REQUIRE_THROWS_AS(EmbeddingIndex::load(vectors_path, ids_path), embedrank::FormatError);
  }
  SECTION("empty and duplicate ids name file and line") {
    std::ofstream(ids_path) << "a\n\nb\n";
    REQUIRE_THROWS_WITH(EmbeddingIndex::read_ids(ids_path), Catch::Matchers::Contains(ids_path + ":2"));
    std::ofstream(ids_path) << "a\r\nb\r\na\r\n";
    REQUIRE_THROWS_WITH(EmbeddingIndex::read_ids(ids_path), Catch::Matchers::Contains(ids_path + ":3"));
    std::ofstream(ids_path) << "a\r\nb\r\n";
    REQUIRE(EmbeddingIndex::read_ids(ids_path) == std::vector<std::string>{"a", "b"});
  }
  SECTION("missing files") {
    REQUIRE_THROWS_AS(EmbeddingIndex::load(dir + "/no_such.npy", ""), embedrank::FileError);
    REQUIRE_THROWS_AS(EmbeddingIndex::load(vectors_path, dir + "/no_such_ids.txt"), embedrank::FileError);
  }
  std::remove(vectors_path.c_str());
  std::remove(ids_path.c_str());
}
