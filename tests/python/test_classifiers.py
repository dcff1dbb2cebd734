"""embedrank.SequenceClassifier and embedrank.TokenClassifier on the tiny
head checkpoints of tests/data/heads: against the references the C++ tests
use (transformers' logits and pipeline entities, sentence-transformers'
CrossEncoder scores; weights_tools/make_head_models.py) within the C++ tests'
tolerances, and against embedrank-classify / embedrank-rerank bit for bit."""
from __future__ import annotations

import json
import threading

import numpy as np
import pytest

import embedrank
from conftest import DATA, assert_bitwise_equal, head_model, program, read_lines, run, tiny_model

HEADS = DATA / "heads"
SEQUENCE_MODELS = ["bert_seq_cls", "xlmr_seq_multilabel", "distilbert_seq_regression", "mpnet_seq_cls",
                   "bert_cross_encoder"]
TOKEN_MODELS = ["bert_token_cls", "xlmr_token_cls"]


def pairs_of(name: str) -> list[tuple[str, str]]:
    """pairs.tsv as the C++ test reads it: split at the first tab."""
    return [tuple(line.split("\t", 1)) for line in read_lines(HEADS / name / "pairs.tsv")]


def max_abs_diff(got: np.ndarray, expected: np.ndarray) -> float:
    assert got.shape == expected.shape, f"shape {got.shape}, expected {expected.shape}"
    return float(np.abs(got.astype(np.float64) - expected.astype(np.float64)).max())


def float32_of(printed) -> np.float32:
    """A score the programs print with %.9g (as text or as JSON read it), which gives the float32 back exactly."""
    return np.float32(float(printed))


# ---------------------------------------------------------------- SequenceClassifier

@pytest.mark.parametrize("name", SEQUENCE_MODELS)
def test_logits_match_transformers_for_texts_and_pairs(name):
    classifier = embedrank.SequenceClassifier(head_model(name), threads=2)
    texts = read_lines(HEADS / name / "texts.txt")
    pairs = pairs_of(name)
    assert len(texts) == 10
    expected_logits = np.load(HEADS / name / "logits.npy")
    expected_pair_logits = np.load(HEADS / name / "pair_logits.npy")
    assert classifier.labels and len(classifier.labels) == expected_logits.shape[1]
    for batch in (3, 32):
        logits = classifier.logits(texts, batch_size=batch)
        pair_logits = classifier.pair_logits(pairs, batch_size=batch)
        assert logits.dtype == np.float32 and pair_logits.dtype == np.float32
        assert max_abs_diff(logits, expected_logits) <= 1e-5, f"{name} batch {batch} texts"
        assert max_abs_diff(pair_logits, expected_pair_logits) <= 1e-5, f"{name} batch {batch} pairs"
    # one str or one pair gives one row (NL,)
    assert classifier.logits(texts[0]).shape == (len(classifier.labels),)
    assert classifier.pair_logits(pairs[0]).shape == (len(classifier.labels),)
    assert classifier.pair_logits(list(pairs[0])).shape == (len(classifier.labels),)


def test_cross_encoder_predict_matches_sentence_transformers():
    classifier = embedrank.SequenceClassifier(head_model("bert_cross_encoder"))
    pairs = pairs_of("bert_cross_encoder")
    scores = classifier.predict(pairs)
    assert scores.dtype == np.float32 and scores.shape == (10, 1)
    assert max_abs_diff(scores, np.load(HEADS / "bert_cross_encoder" / "scores.npy")) <= 1e-6
    # the activation CrossEncoder saved: a sigmoid of the logits
    logits = classifier.pair_logits(pairs).astype(np.float64)
    assert max_abs_diff(scores, 1.0 / (1.0 + np.exp(-logits))) <= 1e-6


@pytest.mark.parametrize("name", SEQUENCE_MODELS)
def test_predict_equals_embedrank_rerank_bit_for_bit(tmp_path, name):
    pairs = pairs_of(name)
    stdin = "".join(f"{a}\t{b}\n" for a, b in pairs).encode("utf-8")
    out = run([program("embedrank-rerank"), "--model", head_model(name), "--threads", 1], stdin=stdin)
    expected = np.array([[float32_of(v) for v in line.split("\t")] for line in out.stdout.decode().splitlines()],
                        dtype=np.float32)
    got = embedrank.SequenceClassifier(head_model(name), threads=1).predict(pairs)
    assert_bitwise_equal(got, expected, f"{name} predict")


@pytest.mark.parametrize("name", SEQUENCE_MODELS)
def test_classify_and_ranked_labels_equal_embedrank_classify_bit_for_bit(name):
    texts = read_lines(HEADS / name / "texts.txt")
    stdin = "".join(t + "\n" for t in texts).encode("utf-8")
    out = run([program("embedrank-classify"), "--model", head_model(name), "--threads", 1], stdin=stdin)
    expected = [json.loads(line)["labels"] for line in out.stdout.decode().splitlines()]
    classifier = embedrank.SequenceClassifier(head_model(name), threads=1)
    scores = classifier.classify(texts)
    assert scores.dtype == np.float32 and scores.shape == (len(texts), len(classifier.labels))
    ranked = classifier.ranked_labels(scores)
    assert len(ranked) == len(expected)
    for row, (got_row, want_row) in enumerate(zip(ranked, expected)):
        assert [label for label, _ in got_row] == [w["label"] for w in want_row], f"{name} text {row}"
        got_scores = np.array([score for _, score in got_row], dtype=np.float32)
        want_scores = np.array([float32_of(w["score"]) for w in want_row], dtype=np.float32)
        assert_bitwise_equal(got_scores, want_scores, f"{name} text {row} scores")
        # the scores in label order are classify()'s row
        by_label = dict(got_row)
        assert_bitwise_equal(np.array([by_label[label] for label in classifier.labels], dtype=np.float32),
                             scores[row], f"{name} text {row} classify")


def test_classify_follows_the_pipeline_per_problem_type():
    texts = read_lines(HEADS / "bert_seq_cls" / "texts.txt")
    single_label = embedrank.SequenceClassifier(head_model("bert_seq_cls"))
    assert single_label.labels == ["apparel", "electronics", "home"]
    p = single_label.classify(texts)
    assert np.abs(p.astype(np.float64).sum(axis=1) - 1.0).max() < 1e-6
    # the softmax of transformers' logits (the pipeline's probabilities; 5e-8 measured)
    for name in ("bert_seq_cls", "mpnet_seq_cls"):
        logits = np.load(HEADS / name / "logits.npy").astype(np.float64)
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        got = embedrank.SequenceClassifier(head_model(name)).classify(read_lines(HEADS / name / "texts.txt"))
        assert max_abs_diff(got, e / e.sum(axis=1, keepdims=True)) <= 1e-6, name
    ranked = single_label.ranked_labels(p[0])
    assert len(ranked) == 3 and ranked[0][1] >= ranked[1][1] >= ranked[2][1]
    assert single_label.ranked_labels(p[0], top_k=1) == ranked[:1]
    assert single_label.ranked_labels(p, top_k=2)[0] == ranked[:2]
    # ties keep label order
    assert [label for label, _ in single_label.ranked_labels(np.full(3, 0.5, np.float32))] == single_label.labels

    multi_label = embedrank.SequenceClassifier(head_model("xlmr_seq_multilabel"))
    logits = multi_label.logits(texts).astype(np.float64)
    assert max_abs_diff(multi_label.classify(texts), 1.0 / (1.0 + np.exp(-logits))) <= 1e-6

    regression = embedrank.SequenceClassifier(head_model("distilbert_seq_regression"))
    assert_bitwise_equal(regression.classify(texts), regression.logits(texts), "regression: the logit itself")


@pytest.mark.parametrize("dtype, tolerance", [("f16", 2e-3), ("int8", 3e-2)])
def test_half_and_int8_classifier_files_stay_close(dtype, tolerance):
    for name in SEQUENCE_MODELS:
        got = embedrank.SequenceClassifier(head_model(name, dtype)).pair_logits(pairs_of(name))
        assert max_abs_diff(got, np.load(HEADS / name / "pair_logits.npy")) <= tolerance, f"{name} {dtype}"


def test_threads_share_one_classifier():
    classifier = embedrank.SequenceClassifier(head_model("bert_cross_encoder"), threads=1)
    pairs = pairs_of("bert_cross_encoder")
    expected = classifier.predict(pairs)
    results, errors = [], []

    def work() -> None:
        try:
            for _ in range(5):
                results.append(classifier.predict(pairs))
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 20
    for got in results:
        assert_bitwise_equal(got, expected, "a concurrent predict")


def test_sequence_classifier_bad_input_raises():
    classifier = embedrank.SequenceClassifier(head_model("bert_seq_cls"))
    cases = [
        (lambda: embedrank.SequenceClassifier(tiny_model("bert_gelu_mean")), embedrank.FormatError,
         r"\[embedrank\.format\.no_head\].*has no classification head"),
        (lambda: embedrank.SequenceClassifier(head_model("bert_token_cls")), embedrank.FormatError,
         r"format\.bad_head.*token_classification"),
        (lambda: classifier.logits(["a"], batch_size=0), embedrank.InputError, r"input\.bad_option.*batch_size"),
        (lambda: classifier.logits(None), TypeError, "not None"),
        (lambda: classifier.logits(["a", 1]), TypeError, r"texts\[1\] is int"),
        (lambda: classifier.predict("a"), TypeError, "pairs must be a sequence"),
        (lambda: classifier.predict([("a", "b"), ("c",)]), TypeError, r"pairs\[1\] must be a \(str, str\) pair"),
        (lambda: classifier.predict([("a", 2)]), TypeError, r"pairs\[0\]\[1\] is int"),
        (lambda: classifier.ranked_labels(np.zeros((2, 4), np.float32)), embedrank.InputError, r"input\.bad_shape"),
        (lambda: classifier.ranked_labels(np.zeros(3)), embedrank.InputError, r"input\.bad_dtype"),
    ]
    for call, error, pattern in cases:
        with pytest.raises(error, match=pattern):
            call()
    assert classifier.predict([]).shape == (0, 3)


# ---------------------------------------------------------------- TokenClassifier

def expected_entities(name: str, stride: bool) -> list[dict]:
    """entities.tsv: strategy, text, label, score, start, end (stride_entities.tsv: stride after strategy)."""
    rows = []
    for line in read_lines(HEADS / name / ("stride_entities.tsv" if stride else "entities.tsv")):
        fields = line.split("\t")
        strategy, stride_value = fields[0], int(fields[1]) if stride else 0
        text, label, score, begin, end = fields[2:] if stride else fields[1:]
        rows.append({"strategy": strategy, "stride": stride_value, "text": int(text), "label": label,
                     "score": float(score), "begin": int(begin), "end": int(end)})
    return rows


def check_entities(got, expected, strategy, stride, text) -> int:
    want = [e for e in expected if e["strategy"] == strategy and e["stride"] == stride and e["text"] == text]
    where = f"{strategy} stride {stride} text {text}"
    assert len(got) == len(want), where
    for g, w in zip(got, want):
        assert (g.label, g.begin, g.end) == (w["label"], w["begin"], w["end"]), where
        assert abs(g.score - w["score"]) <= 1e-5, where
    return len(got)


@pytest.mark.parametrize("name", TOKEN_MODELS)
def test_token_logits_and_entities_match_transformers(name):
    classifier = embedrank.TokenClassifier(head_model(name), threads=1)
    texts = read_lines(HEADS / name / "token_texts.txt")
    assert len(texts) == 10
    # logits of every token, packed in text order
    expected_logits = np.load(HEADS / name / "token_logits.npy")
    row = 0
    for text in texts:
        out = classifier.token_logits(text)
        T = out["input_ids"].shape[0]
        assert out["logits"].dtype == np.float32 and out["logits"].shape == (T, len(classifier.labels))
        assert out["offsets"].shape == (T, 2) and out["special_tokens_mask"].shape == (T,)
        assert max_abs_diff(out["logits"], expected_logits[row:row + T]) <= 1e-5
        row += T
    assert row == expected_logits.shape[0]

    expected = expected_entities(name, stride=False)
    compared = 0
    for strategy in ("none", "simple", "first", "average", "max"):
        found = classifier.entities(texts, aggregation=strategy)
        assert len(found) == len(texts)
        for t, entities in enumerate(found):
            compared += check_entities(entities, expected, strategy, 0, t)
    assert compared == len(expected)


@pytest.mark.parametrize("name", TOKEN_MODELS)
def test_strided_entities_match_the_pipelines_stride(name):
    classifier = embedrank.TokenClassifier(head_model(name))
    texts = read_lines(HEADS / name / "stride_texts.txt")
    assert len(texts) == 3
    expected = expected_entities(name, stride=True)
    compared = 0
    for strategy in ("simple", "first", "average", "max"):
        for stride in (4, 10):
            for t, text in enumerate(texts):
                compared += check_entities(classifier.entities(text, strategy, stride), expected, strategy, stride, t)
    assert compared == len(expected)
    # entities reach past the first window's end
    assert max(e.end for e in classifier.entities(texts[0], "simple", 4)) > classifier.entities(texts[0])[-1].end
    with pytest.raises(embedrank.InputError, match=r"\[embedrank\.input\.tokens\.bad_stride\]"):
        classifier.entities(texts[0], "none", 4)
    with pytest.raises(embedrank.InputError, match=r"input\.tokens\.bad_stride.*below the window"):
        classifier.entities(texts[0], "simple", 22)


@pytest.mark.parametrize("name, aggregation, stride", [
    ("bert_token_cls", "none", 0), ("bert_token_cls", "simple", 0), ("xlmr_token_cls", "first", 0),
    ("xlmr_token_cls", "average", 0), ("bert_token_cls", "max", 0), ("bert_token_cls", "simple", 4),
    ("xlmr_token_cls", "max", 10),
])
def test_entities_equal_embedrank_classify_tokens_bit_for_bit(name, aggregation, stride):
    texts = read_lines(HEADS / name / ("stride_texts.txt" if stride else "token_texts.txt")) + ["红色连衣裙 red"]
    flags = ["--tokens", "--aggregation", aggregation] + (["--stride", stride] if stride else [])
    out = run([program("embedrank-classify"), "--model", head_model(name), "--threads", 1, *flags],
              stdin="".join(t + "\n" for t in texts).encode("utf-8"))
    expected = [json.loads(line)["entities"] for line in out.stdout.decode().splitlines()]
    got = embedrank.TokenClassifier(head_model(name), threads=1).entities(texts, aggregation, stride)
    assert len(got) == len(expected) == len(texts)
    for t, (got_text, want_text) in enumerate(zip(got, expected)):
        assert [(e.label, e.begin, e.end, e.byte_begin, e.byte_end, e.text) for e in got_text] == \
            [(w["label"], w["start"], w["end"], w["byte_start"], w["byte_end"], w["text"]) for w in want_text], f"text {t}"
        assert_bitwise_equal(np.array([e.score for e in got_text], dtype=np.float32),
                             np.array([float32_of(w["score"]) for w in want_text], dtype=np.float32),
                             f"text {t} scores")


def test_entity_spans_carry_byte_offsets_and_their_text():
    classifier = embedrank.TokenClassifier(head_model("bert_token_cls"))
    text = "红色连衣裙 red"
    data = text.encode("utf-8")
    entities = classifier.entities(text, aggregation="none")
    assert entities
    for e in entities:
        assert e.text == data[e.byte_begin:e.byte_end].decode("utf-8") == text[e.begin:e.end]
    cases = [
        (lambda: embedrank.TokenClassifier(head_model("bert_seq_cls")), embedrank.FormatError,
         r"\[embedrank\.format\.no_head\]"),
        (lambda: classifier.entities(text, aggregation="longest"), embedrank.InputError,
         r"input\.unknown_aggregation.*'longest' is not one of none, simple, first, average, max"),
        (lambda: classifier.entities(None), TypeError, "not None"),
        (lambda: classifier.token_logits(None), TypeError, ""),
    ]
    for call, error, pattern in cases:
        with pytest.raises(error, match=pattern):
            call()
