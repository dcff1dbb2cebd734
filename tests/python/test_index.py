"""embedrank.EmbeddingIndex: the same results as embedrank-search bit for
bit, the C++ index's files, the tie rule, ids as given, bad input."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import embedrank
from conftest import assert_bitwise_equal, program, run, write_lines


def catalogue(n: int = 300, d: int = 24, seed: int = 7) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((n, d)).astype(np.float32)
    if n > 11:
        vectors[10] = vectors[3]  # exact ties: the earlier row ranks first
        vectors[11] = vectors[3]
    return [f"SKU-{i:04d}" for i in range(n)], vectors


def cli_search(tmp_path, ids, vectors, queries, k, *flags):
    np.save(tmp_path / "items.npy", vectors)
    write_lines(tmp_path / "ids.txt", ids)
    np.save(tmp_path / "queries.npy", queries)
    out = run([program("embedrank-search"), "--index", tmp_path / "items.npy", "--ids", tmp_path / "ids.txt",
               "--queries", tmp_path / "queries.npy", "--k", k, *flags]).stdout.decode()
    lines = out.splitlines()
    assert lines[0] == "query\trank\tid\tscore"
    got_ids = [[] for _ in range(len(queries))]
    got_scores = [[] for _ in range(len(queries))]
    for line in lines[1:]:
        q, rank, id_, score = line.split("\t")
        assert int(rank) == len(got_ids[int(q)]) + 1
        got_ids[int(q)].append(id_)
        got_scores[int(q)].append(float(score))
    return np.array(got_ids, dtype=object), np.array(got_scores, dtype=np.float32)


@pytest.mark.parametrize("metric, storage", [("ip", "float32"), ("cosine", "float32"), ("ip", "float16"),
                                             ("cosine", "float16")])
def test_search_equals_the_command_line_bit_for_bit(tmp_path, metric, storage):
    ids, vectors = catalogue()
    rng = np.random.default_rng(1)
    queries = rng.standard_normal((17, vectors.shape[1])).astype(np.float32)
    queries[0] = vectors[3]
    index = embedrank.EmbeddingIndex(vectors.shape[1], metric=metric, storage=storage, threads=2)
    index.add(ids, vectors)
    got_ids, got_scores = index.search(queries, k=12)
    flags = ["--metric", metric, "--storage", "f32" if storage == "float32" else "f16"]
    cli_ids, cli_scores = cli_search(tmp_path, ids, vectors, queries, 12, *flags)
    assert got_ids.dtype == object and got_ids.tolist() == cli_ids.tolist()
    assert_bitwise_equal(got_scores, cli_scores, f"{metric} {storage} scores")

    excluded = ["SKU-0003", "SKU-0100", "not-in-the-index"]
    write_lines(tmp_path / "exclude.txt", excluded)
    got_ids, got_scores = index.search(queries, k=12, exclude=excluded)
    cli_ids, cli_scores = cli_search(tmp_path, ids, vectors, queries, 12, *flags, "--exclude", tmp_path / "exclude.txt")
    assert got_ids.tolist() == cli_ids.tolist()
    assert_bitwise_equal(got_scores, cli_scores, "scores with exclusions")
    assert "SKU-0003" not in got_ids


def test_ties_rank_by_insertion_order_and_one_query_gives_one_row():
    ids, vectors = catalogue()
    index = embedrank.EmbeddingIndex(vectors.shape[1], metric="cosine")
    index.add(ids, vectors)
    top_ids, top_scores = index.search(vectors[3], k=4)
    assert top_ids.shape == (4,) and top_scores.shape == (4,)
    assert top_ids[:3].tolist() == ["SKU-0003", "SKU-0010", "SKU-0011"]
    assert top_scores[0] == top_scores[1] == top_scores[2] > top_scores[3]
    assert abs(top_scores[0] - 1) < 1e-6


def test_integer_ids_come_back_as_integers_and_k_past_the_size_returns_all():
    _, vectors = catalogue(n=5)
    index = embedrank.EmbeddingIndex(vectors.shape[1])
    index.add(np.arange(100, 105), vectors)
    ids, scores = index.search(vectors[:2], k=50)
    assert ids.dtype == np.int64 and ids.shape == (2, 5) and scores.shape == (2, 5)
    assert ids[0, 0] == 100 and ids[1, 0] == 101
    assert 103 in index and "103" in index and 7 not in index and len(index) == 5
    index.add("extra", vectors[0])
    ids, _ = index.search(vectors[0], k=2)
    assert ids.dtype == object and ids.tolist() == ["100", "extra"]


def test_remove_compact_and_vectors():
    ids, vectors = catalogue(n=20)
    index = embedrank.EmbeddingIndex(vectors.shape[1], metric="cosine")
    index.add(ids, vectors)
    assert index.remove("SKU-0003") is True
    assert index.remove("SKU-0003") is False
    assert index.remove(["SKU-0004", "SKU-0005", "nope"]) == 2
    assert len(index) == 17
    found, _ = index.search(vectors[3], k=20)
    assert found.shape == (17,) and "SKU-0003" not in found.tolist()
    index.compact()
    assert len(index) == 17
    stored = index.vectors(["SKU-0000"])
    expected = vectors[0] / np.linalg.norm(vectors[0].astype(np.float64))
    assert stored.shape == (1, vectors.shape[1]) and np.allclose(stored[0], expected, atol=1e-6)


def test_save_writes_the_files_the_command_line_reads_and_load_reads_them_back(tmp_path):
    ids, vectors = catalogue(n=50)
    index = embedrank.EmbeddingIndex(vectors.shape[1])
    index.add(ids, vectors)
    index.remove("SKU-0007")
    index.save(str(tmp_path / "saved.npy"), str(tmp_path / "saved.ids"))
    saved = np.load(tmp_path / "saved.npy")
    assert saved.shape == (49, vectors.shape[1]) and saved.dtype == np.float32
    assert (tmp_path / "saved.ids").read_text().split("\n")[:-1] == [i for i in ids if i != "SKU-0007"]

    queries = vectors[:4].copy()
    np.save(tmp_path / "q.npy", queries)
    out = run([program("embedrank-search"), "--index", tmp_path / "saved.npy", "--ids", tmp_path / "saved.ids",
               "--queries", tmp_path / "q.npy", "--k", 5]).stdout.decode().splitlines()[1:]
    cli = [line.split("\t")[2] for line in out]
    got, _ = index.search(queries, k=5)
    assert got.ravel().tolist() == cli

    loaded = embedrank.EmbeddingIndex.load(str(tmp_path / "saved.npy"), str(tmp_path / "saved.ids"))
    assert len(loaded) == 49 and loaded.dim == vectors.shape[1] and loaded.metric == "inner_product"
    for a, b in zip(loaded.search(queries, k=5), index.search(queries, k=5)):
        assert a.tolist() == b.tolist()

    # integer ids survive a round trip; without an ids file rows are named 0..N-1
    numbered = embedrank.EmbeddingIndex(vectors.shape[1])
    numbered.add(np.arange(50) * 10, vectors)
    numbered.save(str(tmp_path / "n.npy"), str(tmp_path / "n.ids"))
    assert embedrank.EmbeddingIndex.load(str(tmp_path / "n.npy"), str(tmp_path / "n.ids")).search(vectors[2], 1)[0][0] == 20
    assert embedrank.EmbeddingIndex.load(str(tmp_path / "n.npy")).search(vectors[2], 1)[0][0] == 2


def test_bad_input_raises_and_leaves_the_index_unchanged(tmp_path):
    ids, vectors = catalogue(n=10, d=8)
    index = embedrank.EmbeddingIndex(8)
    index.add(ids, vectors)
    cases = [
        (lambda: index.add(["a"], vectors[:1].astype(np.float64)), embedrank.InputError, r"input\.bad_dtype.*float64"),
        (lambda: index.add(["a", "b"], np.asfortranarray(vectors[:2])), embedrank.InputError, r"input\.not_contiguous"),
        (lambda: index.add(["a", "b"], vectors[:4:2]), embedrank.InputError, r"input\.not_contiguous"),
        (lambda: index.add(["a"], np.zeros((1, 5), np.float32)), embedrank.InputError, r"input\.dimension_mismatch"),
        (lambda: index.add(["a", "b"], vectors[:1]), embedrank.InputError, r"input\.bad_shape"),
        (lambda: index.add(["a", "SKU-0001"], vectors[:2]), embedrank.InputError, r"input\.duplicate_id"),
        (lambda: index.add(["a\tb"], vectors[:1]), embedrank.InputError, r"\[embedrank\.input\."),
        (lambda: index.add(None, vectors[:1]), TypeError, "not None"),
        (lambda: index.add([1.5], vectors[:1]), TypeError, r"ids\[0\] is float"),
        (lambda: index.add(np.array([1.5]), vectors[:1]), embedrank.InputError, r"input\.bad_dtype"),
        (lambda: index.add(["a"], None), TypeError, "not None"),
        (lambda: index.add(["a"], [[0.0] * 8]), TypeError, "not list"),
        (lambda: index.search(vectors.astype(np.float16), 3), embedrank.InputError, r"input\.bad_dtype"),
        (lambda: index.search(np.zeros((2, 2, 8), np.float32), 3), embedrank.InputError, r"input\.bad_shape"),
        (lambda: index.search(vectors[:, :4].copy(), 3), embedrank.InputError, r"input\.dimension_mismatch"),
        (lambda: index.search(vectors, -1), embedrank.InputError, r"input\.bad_option.*k must be"),
        (lambda: index.search(None, 3), TypeError, "not None"),
        (lambda: embedrank.EmbeddingIndex(0), embedrank.InputError, r"\[embedrank\.input\."),
        (lambda: embedrank.EmbeddingIndex(8, metric="l2"), embedrank.InputError,
         r"input\.unknown_metric.*'l2' is not one of inner_product, ip, cosine"),
        (lambda: embedrank.EmbeddingIndex(8, storage="bf16"), embedrank.InputError, r"input\.unknown_storage"),
        (lambda: embedrank.EmbeddingIndex.load(str(tmp_path / "none.npy")), embedrank.FileError, r"\[embedrank\.file\..*cannot open"),
    ]
    for call, error, pattern in cases:
        with pytest.raises(error, match=pattern):
            call()
    assert len(index) == 10
    assert index.search(vectors[0], 1)[0].tolist() == ["SKU-0000"]
    (tmp_path / "bad.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(embedrank.FormatError, match=r"^\[embedrank\.format\."):
        embedrank.EmbeddingIndex.load(str(tmp_path / "bad.npy"))


def test_searches_and_adds_from_several_threads():
    ids, vectors = catalogue(n=2000, d=32)
    index = embedrank.EmbeddingIndex(32, threads=1)
    index.add(ids[:1000], vectors[:1000])
    # A search sees the index between two adds: its answer is exactly the
    # single-threaded answer over one of the prefixes the adds leave.
    expected = []
    for n in range(1000, 2001, 100):
        prefix = embedrank.EmbeddingIndex(32, threads=1)
        prefix.add(ids[:n], vectors[:n])
        expected.append(prefix.search(vectors[:50], k=5))
    errors = []

    def search() -> None:
        try:
            for _ in range(20):
                got_ids, got_scores = index.search(vectors[:50], k=5)
                assert any(got_ids.tolist() == e_ids.tolist() and np.array_equal(got_scores, e_scores)
                           for e_ids, e_scores in expected), "a concurrent search answered what no prefix of the adds gives"
        except Exception as e:
            errors.append(e)

    def add() -> None:
        try:
            for start in range(1000, 2000, 100):
                index.add(ids[start:start + 100], vectors[start:start + 100])
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=search) for _ in range(3)] + [threading.Thread(target=add)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(index) == 2000
    final = embedrank.EmbeddingIndex(32)
    final.add(ids, vectors)
    for a, b in zip(index.search(vectors[:50], k=5), final.search(vectors[:50], k=5)):
        assert a.tolist() == b.tolist()


def test_k_zero_gives_empty_results():
    """k = 0 is one rule in C++ and Python: empty results, not an error (docs/ranking.md)."""
    rng = np.random.default_rng(5)
    vectors = rng.standard_normal((6, 8)).astype(np.float32)
    index = embedrank.EmbeddingIndex(8)
    index.add([f"P{i}" for i in range(6)], vectors)
    ids, scores = index.search(vectors[:3], 0)
    assert ids.shape == (3, 0) and scores.shape == (3, 0)
    ids, scores = index.search(vectors[0], 0)
    assert ids.shape == (0,) and scores.shape == (0,)
    users, items, ratings = ["a", "a", "b", "b"], ["x", "y", "x", "z"], [1.0, 3.0, 2.0, 5.0]
    recommended, scores = embedrank.UserKnn().fit(users, items, ratings).recommend("a", 0)
    assert len(recommended) == 0 and len(scores) == 0
    recommender = embedrank.Recommender(index)
    assert recommender.recommend(vectors[0], ["P0"], k=0) == []
