"""embedrank.retrieve_then_rerank: with the tiny CrossEncoder as the scorer,
equal to embedrank-rerank bit for bit on the retrieved candidates; with a
Python scorer, equal to scoring every retrieved item and sorting (ties in
retrieval order); the boost blend; bad input."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import embedrank
from conftest import DATA, head_model, program, read_lines, run, write_lines

QUERY = "red dress"


def catalogue(n: int = 40, d: int = 8, integer_ids: bool = False):
    """An index of n random vectors and a text per item (the fixture's texts, numbered)."""
    rng = np.random.default_rng(11)
    vectors = rng.standard_normal((n, d)).astype(np.float32)
    ids = list(range(100, 100 + n)) if integer_ids else [f"item{i}" for i in range(n)]
    base = read_lines(DATA / "heads" / "bert_cross_encoder" / "texts.txt")
    texts = {id_: f"{base[i % len(base)].strip()} {i}" for i, id_ in enumerate(ids)}
    index = embedrank.EmbeddingIndex(d)
    index.add(ids, vectors)
    return index, texts, rng.standard_normal(d).astype(np.float32)


def tie_scorer(query: str, texts: list[str]) -> list[float]:
    """Deterministic, with many ties: 7 distinct values."""
    return [float(sum(map(ord, query + t)) % 7) / 7.0 for t in texts]


def test_a_cross_encoder_scorer_equals_embedrank_rerank_bit_for_bit(tmp_path):
    index, texts, query = catalogue()
    reranker = embedrank.SequenceClassifier(head_model("bert_cross_encoder"), threads=1)
    got = embedrank.retrieve_then_rerank(index, query, QUERY, texts, reranker, candidates=25, k=25)
    # the program scores the same candidates, written in retrieval order, in one batch of 32 pairs as above
    retrieved, retrieval_scores = index.search(query, k=25)
    candidates = write_lines(tmp_path / "candidates.tsv", [f"{i}\t{texts[i]}" for i in retrieved])
    out = run([program("embedrank-rerank"), "--model", head_model("bert_cross_encoder"), "--threads", 1,
               "--query", QUERY, "--candidates", candidates]).stdout.decode().splitlines()
    expected = [line.split("\t") for line in out]
    assert [r.id for r in got] == [e[1] for e in expected]
    assert np.array([r.rerank_score for r in got], np.float32).tobytes() == \
        np.array([float(e[2]) for e in expected], np.float32).tobytes()
    assert [r.score for r in got] == [r.rerank_score for r in got]
    rank_of = {id_: rank for rank, id_ in enumerate(retrieved.tolist())}
    for r in got:
        assert r.retrieval_rank == rank_of[r.id]
        assert np.float32(r.retrieval_score) == retrieval_scores[r.retrieval_rank]
        assert r.boost == 0.0
    # the classifier's own predict on one batch of the same pairs
    pairs = [(QUERY, texts[i]) for i in retrieved]
    assert sorted(np.float32(r.rerank_score) for r in got) == sorted(reranker.predict(pairs)[:, 0].tolist())


@pytest.mark.parametrize("candidates, k, batch_size", [(1, 1, 1), (17, 5, 4), (40, 40, 1000), (60, 10, 7)])
def test_a_python_scorer_equals_scoring_every_candidate_and_sorting(candidates, k, batch_size):
    index, texts, query = catalogue()
    batches = []

    def scorer(q: str, batch: list[str]) -> list[float]:
        batches.append(len(batch))
        return tie_scorer(q, batch)

    got = embedrank.retrieve_then_rerank(index, query, QUERY, texts, scorer, candidates=candidates, k=k,
                                         batch_size=batch_size)
    retrieved, _ = index.search(query, k=candidates)
    scored = [(np.float32(tie_scorer(QUERY, [texts[i]])[0]), rank, i) for rank, i in enumerate(retrieved.tolist())]
    expected = sorted(scored, key=lambda s: (-s[0], s[1]))[:k]
    assert [(r.id, r.retrieval_rank) for r in got] == [(i, rank) for _, rank, i in expected]
    assert [np.float32(r.rerank_score) for r in got] == [s for s, _, _ in expected]
    assert sum(batches) == len(retrieved) and max(batches) <= batch_size


def test_integer_ids_reach_the_callables_as_ints_and_a_boost_blends_in():
    index, texts, query = catalogue(n=30, integer_ids=True)
    seen = []

    def text_of(id_):
        seen.append(id_)
        return texts[id_]

    got = embedrank.retrieve_then_rerank(index, query, QUERY, text_of, tie_scorer, candidates=30, k=30,
                                         boost={107: 10.0}, boost_weight=0.5)
    assert seen and all(isinstance(i, int) for i in seen)
    assert got[0].id == "107" and got[0].boost == 10.0
    for r in got:
        assert r.boost == (10.0 if r.id == "107" else 0.0)
        assert np.float32(r.score) == np.float32(0.5) * np.float32(r.rerank_score) + np.float32(0.5) * np.float32(r.boost)
    assert all(a.score >= b.score for a, b in zip(got, got[1:]))
    # a callable boost, and excluded ids never come back
    called = embedrank.retrieve_then_rerank(index, query, QUERY, texts, tie_scorer, candidates=30, k=30,
                                            boost=lambda id_: 10.0 if id_ == 107 else 0.0, boost_weight=0.5)
    assert [r.id for r in called] == [r.id for r in got]
    excluded = embedrank.retrieve_then_rerank(index, query, QUERY, texts, tie_scorer, candidates=30, k=10,
                                              exclude=[107, 108])
    assert not {"107", "108"} & {r.id for r in excluded} and len(excluded) == 10


def test_a_native_scorer_runs_beside_other_threads():
    index, texts, query = catalogue()
    reranker = embedrank.SequenceClassifier(head_model("bert_cross_encoder"), threads=1)
    expected = [(r.id, r.rerank_score) for r in
                embedrank.retrieve_then_rerank(index, query, QUERY, texts, reranker, candidates=20, k=5)]
    results, errors = [], []

    def work() -> None:
        try:
            for _ in range(3):
                got = embedrank.retrieve_then_rerank(index, query, QUERY, texts, reranker, candidates=20, k=5)
                results.append([(r.id, r.rerank_score) for r in got])
                index.search(query, k=3)
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and results == [expected] * 9


def test_bad_rerank_input_raises():
    index, texts, query = catalogue(n=20)
    multi_label = embedrank.SequenceClassifier(head_model("bert_seq_cls"))

    def failing(q, batch):
        raise ValueError("scorer broke")

    def changes_the_index(q, batch):
        index.remove("item0")
        return [0.0] * len(batch)

    def rerank(**kwargs):
        args = {"index": index, "query_vector": query, "query_text": QUERY, "texts": texts, "scorer": tie_scorer,
                "candidates": 10, "k": 5}
        args.update(kwargs)
        return embedrank.retrieve_then_rerank(**args)

    cases = [
        (lambda: rerank(query_text=""), embedrank.InputError, r"\[embedrank\.input\.rerank\.empty_query\]"),
        (lambda: rerank(k=11), embedrank.InputError, r"input\.rerank\.bad_k.*k = 11 must be in 1\.\.candidates \(10\)"),
        (lambda: rerank(k=0), embedrank.InputError, r"input\.rerank\.bad_k"),
        (lambda: rerank(boost_weight=0.5), embedrank.InputError, r"input\.rerank\.bad_weight.*no boost function"),
        (lambda: rerank(boost={}, boost_weight=1.5), embedrank.InputError, r"input\.rerank\.bad_weight"),
        (lambda: rerank(scorer=lambda q, b: [0.0] * (len(b) - 1)), embedrank.InputError, r"input\.rerank\.bad_scorer"),
        (lambda: rerank(scorer=lambda q, b: "no"), TypeError, "the scorer returned str"),
        (lambda: rerank(scorer=multi_label), embedrank.InputError, r"input\.rerank\.not_a_reranker.*3 scores per pair"),
        (lambda: rerank(scorer=failing), ValueError, "scorer broke"),
        (lambda: rerank(scorer=changes_the_index), embedrank.InputError, r"input\.index_in_use"),
        (lambda: rerank(scorer="model"), TypeError, "scorer must be a SequenceClassifier or a callable"),
        (lambda: rerank(texts={}), KeyError, "item"),
        (lambda: rerank(texts=None), TypeError, "texts must be a mapping"),
        (lambda: rerank(texts=lambda id_: 3), TypeError, "is int, not str"),
        (lambda: rerank(query_vector=query[:4].copy()), embedrank.InputError, r"input\.dimension_mismatch"),
        (lambda: rerank(query_vector=query.astype(np.float64)), embedrank.InputError, r"input\.bad_dtype"),
        (lambda: rerank(query_vector=np.stack([query, query])), embedrank.InputError, r"input\.bad_shape"),
        (lambda: rerank(index="index"), TypeError, "index must be an EmbeddingIndex"),
    ]
    for call, error, pattern in cases:
        with pytest.raises(error, match=pattern):
            call()
    assert len(index) == 20 and "item0" in index
    # a NaN score ranks last
    nan_first = rerank(scorer=lambda q, b: [float("nan")] + [1.0] * (len(b) - 1), k=10, batch_size=100)
    assert nan_first[-1].retrieval_rank == 0
