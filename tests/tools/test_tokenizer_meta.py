"""Tests of weights_tools/tokenizer_meta.py (Python 3 standard library only)."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "weights_tools"))

from tokenizer_meta import tokenizer_metadata  # noqa: E402

DATA = ROOT / "tests" / "data" / "text"
ALLOWED_TYPES = (bool, int, float, str, bytes)


def check_types(meta: dict) -> None:
    for key, value in meta.items():
        assert key.startswith("tokenizer."), key
        if isinstance(value, list):
            assert all(isinstance(v, str) for v in value) or all(
                isinstance(v, int) and not isinstance(v, bool) for v in value), key
        else:
            assert isinstance(value, ALLOWED_TYPES), key


def read_meta_tsv(path: Path) -> dict:
    """The fixture format of make_tokenizer_fixtures.py (file-valued keys skipped)."""
    meta, lines, i = {}, path.read_text(encoding="utf-8").split("\n"), 0
    while i < len(lines):
        if not lines[i]:
            i += 1
            continue
        key, kind, value = lines[i].split("\t", 2)
        i += 1
        if kind == "int":
            meta[key] = int(value)
        elif kind == "bool":
            meta[key] = value == "1"
        elif kind == "string":
            meta[key] = value
        elif kind == "ints":
            meta[key] = [int(v) for v in value.split()]
        elif kind == "strings":
            meta[key] = [lines[i + k][2:] for k in range(int(value))]
            i += int(value)
    return meta


def wordpiece_json(**normalizer) -> dict:
    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "##b"])}
    return {
        "added_tokens": [{"id": 2, "content": "[CLS]", "special": True, "normalized": False},
                         {"id": 3, "content": "[SEP]", "special": True, "normalized": False}],
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": None, "lowercase": True, **normalizer},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {"type": "BertProcessing", "cls": ["[CLS]", 2], "sep": ["[SEP]", 3]},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": vocab},
    }


def write_json(directory: Path, spec: dict) -> Path:
    (directory / "tokenizer.json").write_text(json.dumps(spec), encoding="utf-8")
    return directory


def test_xlmr_directory_gives_sentencepiece_keys():
    meta = tokenizer_metadata(DATA / "xlmr_tiny")
    check_types(meta)
    assert meta["tokenizer.type"] == "sentencepiece"
    assert meta["tokenizer.id_mapping"] == "fairseq"
    assert meta["tokenizer.sentencepiece_model"] == (DATA / "xlmr_tiny" / "sentencepiece.bpe.model").read_bytes()
    assert meta["tokenizer.unk_id"] == 3
    assert meta["tokenizer.template.pair.tokens"] == ["<s>", "$A", "</s>", "</s>", "$B", "</s>"]
    mask = meta["tokenizer.added_tokens"].index("<mask>")
    assert meta["tokenizer.added_token_flags"][mask] == 1 | 4  # special, lstrip


def test_vocab_txt_fallback_gives_wordpiece_keys():
    meta = tokenizer_metadata(DATA / "minilm")
    check_types(meta)
    assert meta["tokenizer.type"] == "wordpiece"
    assert len(meta["tokenizer.vocab"]) == 30522
    assert meta["tokenizer.normalizer.lowercase"] is True
    assert meta["tokenizer.normalizer.strip_accents"] is True  # null follows lowercase
    assert meta["tokenizer.template.single.ids"] == [101, -1, 102]
    assert meta["tokenizer.added_tokens"] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


@pytest.mark.parametrize("name,directory", [("minilm_uncased", "minilm"), ("xlmr_tiny", "xlmr_tiny")])
def test_committed_fixture_metadata_is_current(name, directory):
    expected = read_meta_tsv(DATA / f"{name}.meta.tsv")
    meta = tokenizer_metadata(DATA / directory)
    for key, value in expected.items():
        if key == "tokenizer.post_processor":
            continue  # informational: "template" from tokenizer.json, "bert" from vocab.txt
        assert meta[key] == value, key


def test_strip_accents_resolution(tmp_path):
    meta = tokenizer_metadata(write_json(tmp_path, wordpiece_json(lowercase=False)))
    assert meta["tokenizer.normalizer.strip_accents"] is False
    meta = tokenizer_metadata(write_json(tmp_path, wordpiece_json(lowercase=False, strip_accents=True)))
    assert meta["tokenizer.normalizer.strip_accents"] is True
    assert meta["tokenizer.post_processor"] == "bert"
    assert meta["tokenizer.template.pair.type_ids"] == [0, 0, 0, 1, 1]


def test_lowercase_before_bert_normalizer_folds_into_it(tmp_path):
    # sentence-transformers 6 saves do_lower_case as Sequence[Lowercase, BertNormalizer]
    for lowercase, strip_accents, expect_strip in [(False, None, False), (False, True, True), (True, None, True)]:
        spec = wordpiece_json(lowercase=lowercase, strip_accents=strip_accents)
        spec["normalizer"] = {"type": "Sequence", "normalizers": [{"type": "Lowercase"}, spec["normalizer"]]}
        meta = tokenizer_metadata(write_json(tmp_path, spec))
        assert meta["tokenizer.normalizer.lowercase"] is True
        assert meta["tokenizer.normalizer.strip_accents"] is expect_strip
    spec = wordpiece_json()
    spec["normalizer"] = {"type": "Sequence", "normalizers": [spec["normalizer"], {"type": "Lowercase"}]}
    with pytest.raises(ValueError, match="normalizer.type"):
        tokenizer_metadata(write_json(tmp_path, spec))


def test_no_tokenizer_gives_none(tmp_path):
    assert tokenizer_metadata(tmp_path) is None


@pytest.mark.parametrize("change,field", [
    (lambda s: s["normalizer"].update(type="Lowercase"), "normalizer.type"),
    (lambda s: s.update(pre_tokenizer={"type": "Whitespace"}), "pre_tokenizer.type"),
    (lambda s: s["model"].update(type="BPE"), "model.type"),
    (lambda s: s["model"].update(unk_token="<unk>"), "model.unk_token"),
    (lambda s: s.update(post_processor={"type": "ByteLevel"}), "post_processor.type"),
    (lambda s: s["model"]["vocab"].update(c=99), "model.vocab"),
])
def test_unsupported_inputs_name_file_and_field(tmp_path, change, field):
    spec = wordpiece_json()
    change(spec)
    write_json(tmp_path, spec)
    with pytest.raises(ValueError) as error:
        tokenizer_metadata(tmp_path)
    assert "tokenizer.json" in str(error.value) and field in str(error.value)


def test_unigram_without_sentencepiece_model_is_refused(tmp_path):
    shutil.copy(DATA / "xlmr_tiny" / "tokenizer.json", tmp_path / "tokenizer.json")
    with pytest.raises(ValueError, match="sentencepiece"):
        tokenizer_metadata(tmp_path)


def test_sentencepiece_pipeline_follows_the_tokenizer_json():
    assert tokenizer_metadata(DATA / "xlmr_tiny")["tokenizer.sentencepiece_pipeline"] == "metaspace"
    # saved by transformers 5's XLMRobertaTokenizer: Precompiled, then WhitespaceSplit and Metaspace
    saved = ROOT / "tests" / "data" / "models" / "xlmr_gelu_mean"
    assert tokenizer_metadata(saved)["tokenizer.sentencepiece_pipeline"] == "whitespace_split"


@pytest.mark.parametrize("change, field", [
    (lambda spec: spec["normalizer"]["normalizers"].pop(1), "normalizer"),  # no Strip(right)
    (lambda spec: spec["normalizer"]["normalizers"][2].update(content="_"), "normalizer"),
    (lambda spec: spec["normalizer"]["normalizers"][0].update(precompiled_charsmap="AAAA"), "normalizer"),
    (lambda spec: spec["pre_tokenizer"].update(prepend_scheme="first"), "pre_tokenizer"),
    (lambda spec: spec["pre_tokenizer"].update(split=False), "pre_tokenizer"),
    (lambda spec: spec["model"].update(byte_fallback=True), "model.byte_fallback"),
    (lambda spec: spec["model"]["vocab"][10].__setitem__(1, -1.5), "model.vocab"),
    (lambda spec: spec["model"]["vocab"].pop(), "model.vocab"),  # no <mask>
])
def test_unigram_pipeline_other_than_embedrank_runs_is_refused(tmp_path, change, field):
    spec = json.loads((DATA / "xlmr_tiny" / "tokenizer.json").read_text(encoding="utf-8"))
    change(spec)
    (tmp_path / "tokenizer.json").write_text(json.dumps(spec), encoding="utf-8")
    shutil.copy(DATA / "xlmr_tiny" / "sentencepiece.bpe.model", tmp_path)
    with pytest.raises(ValueError) as error:
        tokenizer_metadata(tmp_path)
    assert "tokenizer.json" in str(error.value) and field in str(error.value)


def test_sentencepiece_model_alone_for_xlmr(tmp_path):
    shutil.copy(DATA / "xlmr_tiny" / "sentencepiece.bpe.model", tmp_path)
    (tmp_path / "tokenizer_config.json").write_text('{"tokenizer_class": "XLMRobertaTokenizer"}')
    meta = tokenizer_metadata(tmp_path)
    reference = tokenizer_metadata(DATA / "xlmr_tiny")
    for key in ("tokenizer.id_mapping", "tokenizer.vocab_size", "tokenizer.added_tokens", "tokenizer.added_token_ids",
                "tokenizer.added_token_flags", "tokenizer.template.single.ids", "tokenizer.template.pair.ids"):
        assert meta[key] == reference[key], key


def test_corrupt_sentencepiece_model(tmp_path):
    (tmp_path / "spiece.model").write_bytes(b"\x0a\xff\xff\xff")
    (tmp_path / "tokenizer_config.json").write_text('{"tokenizer_class": "XLMRobertaTokenizer"}')
    with pytest.raises(ValueError, match="spiece.model"):
        tokenizer_metadata(tmp_path)
