"""embedrank.Embedder: the same bits as embedrank-embed, sentence-transformers'
encode() within the C++ tolerances (committed references, no torch), the
tokenizer as embedrank-tokenize, and bad input answered by exceptions."""
from __future__ import annotations

import json
import sys
import threading

import numpy as np
import pytest

import embedrank
from conftest import (DATA, assert_bitwise_equal, program, read_lines, real_model, run, tiny_model,
                      write_lines)

# The tiny models whose references include sentence-transformers' encode()
# (the list of tests/model/test_embedder.cpp).
TEXT_MODELS = ["bert_gelu_mean", "bert_gelu_new_cls", "bert_relu_max_mean", "bert_silu_mean_sqrt_len",
               "bert_gelu_pytorch_tanh_cls_mean", "xlmr_gelu_mean", "distilbert_gelu_mean", "distilbert_relu_cls",
               "bert_st_saved", "mpnet_gelu_mean", "mpnet_relu_cls"]


def model_texts(name: str) -> list[str]:
    return read_lines(DATA / "models" / name / "texts.txt")


def cli_embed(model: str, texts: list[str], tmp_path, *flags: str) -> np.ndarray:
    source = write_lines(tmp_path / "texts.txt", texts)
    out = tmp_path / "cli.npy"
    run([program("embedrank-embed"), "--model", model, "--out", out, *flags, source])
    return np.load(out)


@pytest.mark.parametrize("name", TEXT_MODELS)
def test_encode_equals_the_command_line_bit_for_bit(name, tmp_path):
    model = embedrank.Embedder(tiny_model(name), threads=2)
    texts = model_texts(name)
    got = model.encode(texts)
    assert got.dtype == np.float32 and got.shape == (len(texts), model.dimension)
    assert_bitwise_equal(got, cli_embed(tiny_model(name), texts, tmp_path), name)


@pytest.mark.parametrize("name", TEXT_MODELS)
def test_encode_matches_sentence_transformers(name):
    got = embedrank.Embedder(tiny_model(name)).encode(model_texts(name))
    expected = np.load(DATA / "models" / name / "text_embeddings.npy")
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() <= 1e-5, name


@pytest.mark.parametrize("prompt_name", ["query", "passage", "document", "instruction"])
def test_prompts_match_sentence_transformers_and_the_command_line(prompt_name, tmp_path):
    path = tiny_model("bert_st_saved")
    model = embedrank.Embedder(path)
    texts = model_texts("bert_st_saved")
    got = model.encode(texts, prompt_name=prompt_name)
    expected = np.load(DATA / "models" / "bert_st_saved" / f"text_embeddings.{prompt_name}.npy")
    assert np.abs(got - expected).max() <= 1e-5
    assert_bitwise_equal(got, cli_embed(path, texts, tmp_path, "--prompt-name", prompt_name), prompt_name)


def test_prompt_defaults_and_explicit_prompts():
    model = embedrank.Embedder(tiny_model("bert_st_saved"))
    assert model.default_prompt_name == "query"
    assert model.prompts["passage"] == "passage: "
    texts = model_texts("bert_st_saved")
    reference = DATA / "models" / "bert_st_saved"
    assert np.abs(model.encode(texts) - np.load(reference / "text_embeddings.npy")).max() <= 1e-5
    assert np.abs(model.encode(texts, prompt_name="") - np.load(reference / "text_embeddings.document.npy")).max() <= 1e-5
    assert_bitwise_equal(model.encode(texts, prompt="passage: "), model.encode(texts, prompt_name="passage"), "prompt")
    assert embedrank.Embedder(tiny_model("bert_gelu_mean")).default_prompt_name is None


def test_normalize_and_chunking_options_equal_the_command_line(tmp_path):
    path = tiny_model("bert_gelu_mean")
    model = embedrank.Embedder(path)
    assert model.normalize_embeddings is True
    texts = model_texts("bert_gelu_mean") + [" ".join(["red cotton summer dress"] * 40)]
    raw = model.encode(texts, normalize_embeddings=False)
    assert_bitwise_equal(raw, cli_embed(path, texts, tmp_path, "--no-normalize"), "no-normalize")
    assert not np.allclose(np.linalg.norm(raw, axis=1), 1.0)
    assert np.allclose(np.linalg.norm(model.encode(texts, normalize_embeddings=True), axis=1), 1.0, atol=1e-6)
    chunked = model.encode(texts, chunk_stride=4)
    assert_bitwise_equal(chunked, cli_embed(path, texts, tmp_path, "--chunk-stride", "4"), "chunk-stride")
    assert_bitwise_equal(chunked[:-1], model.encode(texts[:-1]), "texts that fit keep their vectors")
    assert not np.array_equal(chunked[-1], model.encode(texts[-1]))


def test_results_do_not_depend_on_batch_size_threads_or_progress_display(capsys):
    texts = model_texts("xlmr_gelu_mean") * 7
    reference = embedrank.Embedder(tiny_model("xlmr_gelu_mean"), threads=1).encode(texts, batch_size=64)
    model = embedrank.Embedder(tiny_model("xlmr_gelu_mean"), threads=2)
    for batch_size in (1, 3, 32):
        assert_bitwise_equal(model.encode(texts, batch_size=batch_size), reference, f"batch_size={batch_size}")
    shown = model.encode(texts, batch_size=8, show_progress_bar=True)
    assert_bitwise_equal(shown, reference, "show_progress_bar")
    assert str(len(texts)) in capsys.readouterr().err
    assert_bitwise_equal(model.encode(texts[:2], show_progress_bar=True), reference[:2], "one batch with progress")
    assert "2" in capsys.readouterr().err


def test_shapes_of_one_text_and_of_none():
    model = embedrank.Embedder(tiny_model("bert_gelu_mean"))
    one = model.encode("red summer dress")
    assert one.shape == (model.dimension,) and one.dtype == np.float32
    assert_bitwise_equal(one, model.encode(["red summer dress"])[0], "one text")
    assert model.encode([]).shape == (0, model.dimension)
    assert model.encode(("a", "b")).shape == (2, model.dimension)
    assert model.encode(np.array(["a", "b"])).shape == (2, model.dimension)
    assert model.encode(t for t in ["a", "b", "c"]).shape == (3, model.dimension)


def test_real_model_matches_sentence_transformers_and_the_command_line(tmp_path):
    path = real_model("all-MiniLM-L6-v2")
    texts = read_lines(DATA / "real_model" / "texts.txt")
    assert len(texts) == 510
    model = embedrank.Embedder(path)
    assert (model.dimension, model.max_seq_length) == (384, 256)
    got = model.encode(texts)
    expected = np.load(DATA / "real_model" / "all-MiniLM-L6-v2.npy")
    x, y = got.astype(np.float64), expected.astype(np.float64)
    cosine = (x * y).sum(1) / (np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1))
    # the C++ gates of tests/model/test_real_model.cpp for float32
    assert cosine.min() >= 0.99999, f"min cosine {cosine.min()}"
    assert np.abs(x - y).max() <= 1e-5, f"max abs diff {np.abs(x - y).max()}"
    assert_bitwise_equal(got, cli_embed(path, texts, tmp_path), "all-MiniLM-L6-v2")


def test_tokenize_equals_the_command_line(tmp_path):
    for name in ("bert_gelu_mean", "xlmr_gelu_mean", "mpnet_gelu_mean"):
        path = tiny_model(name)
        model = embedrank.Embedder(path)
        texts = model_texts(name) + ["  padded   text  ", "Ünïcödé Straße 東京"]
        got = model.tokenize(texts)
        assert set(got) == {"input_ids", "attention_mask", "token_type_ids", "offsets"}
        lines = [model.preprocess(t) for t in texts]
        out = run([program("embedrank-tokenize"), "--model", path, "--offsets", "--max-length", model.max_seq_length],
                  stdin="".join(line + "\n" for line in lines).encode()).stdout.decode()
        rows = [json.loads(line) for line in out.splitlines()]
        assert len(rows) == len(texts)
        width = max(len(r["ids"]) for r in rows)
        assert got["input_ids"].shape == (len(texts), width) and got["input_ids"].dtype == np.int64
        assert got["offsets"].shape == (len(texts), width, 2)
        for n, row in enumerate(rows):
            t = len(row["ids"])
            assert got["input_ids"][n, :t].tolist() == row["ids"], (name, texts[n])
            assert got["token_type_ids"][n, :t].tolist() == row["type_ids"]
            assert got["offsets"][n, :t].tolist() == row["offsets"]
            assert got["attention_mask"][n].tolist() == [1] * t + [0] * (width - t)
            assert not got["input_ids"][n, t:].any() and not got["offsets"][n, t:].any()
    # offsets index the preprocessed text
    model = embedrank.Embedder(tiny_model("bert_gelu_mean"))
    assert model.preprocess("  red dress\t") == "red dress"
    tokens = model.tokenize(["  red dress\t"])
    starts = tokens["offsets"][0, 1:-1, 0]
    assert starts[0] == 0


@pytest.mark.parametrize("texts, error, message", [
    (None, TypeError, "not None"),
    (42, TypeError, "not int"),
    (b"red dress", TypeError, "not bytes"),
    (["red", None], TypeError, r"texts\[1\] is NoneType, not str"),
    (["red", 3.5], TypeError, r"texts\[1\] is float, not str"),
    (["\ud800 lone surrogate"], UnicodeEncodeError, "surrogate"),
])
def test_bad_texts_raise(texts, error, message):
    model = embedrank.Embedder(tiny_model("bert_gelu_mean"))
    with pytest.raises(error, match=message):
        model.encode(texts)
    with pytest.raises(error, match=message):
        model.tokenize(texts)


def test_bad_options_and_files_raise_library_errors(tmp_path):
    model = embedrank.Embedder(tiny_model("bert_st_saved"))
    with pytest.raises(embedrank.InputError, match=r"^\[embedrank\.input\.unknown_prompt\] .*passage") as info:
        model.encode(["a"], prompt_name="nope")
    assert info.value.id == "input.unknown_prompt"
    with pytest.raises(embedrank.InputError, match=r"\[embedrank\.input\.bad_chunk_stride\]"):
        model.encode(["a"], chunk_stride=10_000)
    with pytest.raises(embedrank.InputError, match=r"\[embedrank\.input\.bad_option\] batch_size"):
        model.encode(["a"], batch_size=0)
    with pytest.raises(TypeError):
        model.encode(["a"], batch_size=-1)
    with pytest.raises(embedrank.FileError, match=r"\[embedrank\.file\.open\] .*missing\.bin") as info:
        embedrank.Embedder(str(tmp_path / "missing.bin"))
    assert isinstance(info.value, OSError)
    broken = tmp_path / "broken.bin"
    broken.write_bytes(b"not a model file at all" * 10)
    with pytest.raises(embedrank.FormatError, match=r"^\[embedrank\.format\.") as info:
        embedrank.Embedder(str(broken))
    assert info.value.id.startswith("format.")
    with pytest.raises(TypeError):
        embedrank.Embedder(None)


def test_concurrent_callers_share_one_embedder():
    model = embedrank.Embedder(tiny_model("bert_gelu_mean"), threads=1)
    texts = model_texts("bert_gelu_mean") * 20
    reference = model.encode(texts)
    results, errors = [None] * 4, []

    def work(slot: int) -> None:
        try:
            for _ in range(5):
                results[slot] = model.encode(texts)
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for r in results:
        assert_bitwise_equal(r, reference, "concurrent encode")


def test_encode_releases_the_gil(monkeypatch):
    # Another Python thread counts the times it runs while encode() computes:
    # between the progress display's flush() after one batch and its write()
    # before the next, the caller runs only C++. If encode held the GIL there,
    # the other thread could not run at all. A huge switch interval keeps the
    # interpreter from handing the GIL over in the middle of Python code, so a
    # count can only come from encode() releasing it. No clock is read: the
    # number of batches, not their duration, gives the other thread its turns.
    model = embedrank.Embedder(tiny_model("bert_gelu_mean"), threads=1)
    texts = model_texts("bert_gelu_mean") * 200
    state = {"computing": False, "during": 0, "lines": []}
    done = threading.Event()

    class Display:  # sys.stderr as the progress display writes to it
        def write(self, text: str) -> None:
            state["computing"] = False
            state["lines"].append(text)

        def flush(self) -> None:
            state["computing"] = True

    def count() -> None:
        while not done.wait(0.0001):
            if state["computing"]:
                state["during"] += 1

    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # the stderr display, tqdm or not
    monkeypatch.setattr(sys, "stderr", Display())
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1000.0)
    counter = threading.Thread(target=count)
    counter.start()
    try:
        got = model.encode(texts, batch_size=1, show_progress_bar=True)
    finally:
        state["computing"] = False
        done.set()
        counter.join()
        sys.setswitchinterval(interval)
    assert got.shape[0] == len(texts)
    # the display counted every batch, and ended on the total
    progress = [line for line in state["lines"] if line.strip()]
    assert len(progress) == len(texts)
    assert progress[-1].strip() == f"embedrank: {len(texts)} / {len(texts)} texts"
    assert state["during"] >= 1, f"the other thread never ran during {len(texts)} batches of encode()"
