"""Reads a Hugging Face / sentence-transformers tokenizer into embedrank metadata.

`tokenizer_metadata(model_dir)` returns a dict of "tokenizer.*" keys (values:
int, float, bool, str, bytes, list[str], list[int]) that the converter stores
verbatim in the model file; docs/tokenizer.md documents every key. Sources, in
order of preference:

- tokenizer.json (the fast tokenizer): WordPiece models with a BertNormalizer
  and BertPreTokenizer, and Unigram (SentencePiece) models such as XLM-R,
  whose sentencepiece model file must sit beside it;
- vocab.txt + tokenizer_config.json (+ special_tokens_map.json) for WordPiece;
- sentencepiece.bpe.model / spiece.model + tokenizer_config.json.

Anything this library cannot reproduce exactly raises ValueError naming the
file and the field. Needs only the Python 3 standard library.
"""
from __future__ import annotations

import base64
import json
import math
import struct
from pathlib import Path

# Bits of "tokenizer.added_token_flags", one int per added token.
FLAG_SPECIAL = 1
FLAG_NORMALIZED = 2
FLAG_LSTRIP = 4
FLAG_RSTRIP = 8
FLAG_SINGLE_WORD = 16

SENTENCEPIECE_FILES = ("sentencepiece.bpe.model", "spiece.model", "tokenizer.model")
FAIRSEQ_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]


def tokenizer_metadata(model_dir: Path) -> dict | None:
    """Metadata keys for the tokenizer in `model_dir`, or None if it has none."""
    model_dir = Path(model_dir)
    tokenizer_json = model_dir / "tokenizer.json"
    if tokenizer_json.is_file():
        return _from_tokenizer_json(tokenizer_json, model_dir)
    if (model_dir / "vocab.txt").is_file():
        return _from_vocab_txt(model_dir)
    spm_file = _find_sentencepiece_model(model_dir)
    if spm_file is not None:
        return _from_sentencepiece_only(spm_file, model_dir)
    return None


def _fail(path: Path, field: str, message: str) -> ValueError:
    return ValueError(f"{path}: {field}: {message}")


def _load_json(path: Path) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except json.JSONDecodeError as e:
        raise _fail(path, "(file)", f"not valid JSON ({e})") from None
    if not isinstance(data, dict):
        raise _fail(path, "(file)", "top level is not a JSON object")
    return data


def _find_sentencepiece_model(model_dir: Path) -> Path | None:
    for name in SENTENCEPIECE_FILES:
        if (model_dir / name).is_file():
            return model_dir / name
    return None


def _flags(token: dict) -> int:
    return ((FLAG_SPECIAL if token.get("special", False) else 0)
            | (FLAG_NORMALIZED if token.get("normalized", False) else 0)
            | (FLAG_LSTRIP if token.get("lstrip", False) else 0)
            | (FLAG_RSTRIP if token.get("rstrip", False) else 0)
            | (FLAG_SINGLE_WORD if token.get("single_word", False) else 0))


def _added_tokens(entries: list[dict]) -> dict:
    entries = sorted(entries, key=lambda t: t["id"])
    return {
        "tokenizer.added_tokens": [t["content"] for t in entries],
        "tokenizer.added_token_ids": [int(t["id"]) for t in entries],
        "tokenizer.added_token_flags": [_flags(t) for t in entries],
    }


def _template(prefix: str, items: list[tuple[str, int, int]]) -> dict:
    """items: (token or "$A"/"$B", id or -1, type id)."""
    return {
        f"tokenizer.template.{prefix}.tokens": [t for t, _, _ in items],
        f"tokenizer.template.{prefix}.ids": [i for _, i, _ in items],
        f"tokenizer.template.{prefix}.type_ids": [k for _, _, k in items],
    }


def _bert_template(cls: tuple[str, int], sep: tuple[str, int]) -> dict:
    out = {"tokenizer.post_processor": "bert"}
    out.update(_template("single", [(cls[0], cls[1], 0), ("$A", -1, 0), (sep[0], sep[1], 0)]))
    out.update(_template("pair", [(cls[0], cls[1], 0), ("$A", -1, 0), (sep[0], sep[1], 0),
                                  ("$B", -1, 1), (sep[0], sep[1], 1)]))
    return out


def _roberta_template(cls: tuple[str, int], sep: tuple[str, int], trim_offsets: bool = False) -> dict:
    # RobertaProcessing: <s> A </s> and <s> A </s> </s> B </s>, every type id 0;
    # with trim_offsets, a token's offsets leave out whitespace its string
    # begins or ends with (added tokens that strip whitespace).
    out = {"tokenizer.post_processor": "roberta", "tokenizer.trim_offsets": trim_offsets}
    out.update(_template("single", [(cls[0], cls[1], 0), ("$A", -1, 0), (sep[0], sep[1], 0)]))
    out.update(_template("pair", [(cls[0], cls[1], 0), ("$A", -1, 0), (sep[0], sep[1], 0),
                                  (sep[0], sep[1], 0), ("$B", -1, 0), (sep[0], sep[1], 0)]))
    return out


def _post_processor(path: Path, spec: dict | None) -> dict:
    if spec is None:
        out = {"tokenizer.post_processor": "none"}
        out.update(_template("single", [("$A", -1, 0)]))
        out.update(_template("pair", [("$A", -1, 0), ("$B", -1, 1)]))
        return out
    kind = spec.get("type")
    if kind == "BertProcessing":
        return _bert_template(tuple(spec["cls"]), tuple(spec["sep"]))
    if kind == "RobertaProcessing":
        return _roberta_template(tuple(spec["cls"]), tuple(spec["sep"]), bool(spec.get("trim_offsets", True)))
    if kind == "TemplateProcessing":
        specials = spec.get("special_tokens", {})
        out = {"tokenizer.post_processor": "template"}
        for prefix in ("single", "pair"):
            items = []
            for piece in spec[prefix]:
                if "Sequence" in piece:
                    seq = piece["Sequence"]
                    items.append(("$" + seq["id"], -1, int(seq["type_id"])))
                    continue
                special = piece["SpecialToken"]
                entry = specials.get(special["id"])
                if entry is None or len(entry.get("ids", [])) != 1:
                    raise _fail(path, f"post_processor.special_tokens.{special['id']}",
                                "template special tokens must map to exactly one id")
                items.append((entry["tokens"][0], int(entry["ids"][0]), int(special["type_id"])))
            out.update(_template(prefix, items))
        return out
    raise _fail(path, "post_processor.type", f"unsupported post-processor {kind!r} "
                "(supported: BertProcessing, RobertaProcessing, TemplateProcessing, null)")


def _vocab_list(path: Path, field: str, token_to_id: dict) -> list[str]:
    vocab = [None] * len(token_to_id)
    for token, index in token_to_id.items():
        if not isinstance(index, int) or not 0 <= index < len(vocab) or vocab[index] is not None:
            raise _fail(path, field, f"token ids are not a permutation of 0..{len(vocab) - 1} "
                        f"(token {token!r} has id {index!r})")
        vocab[index] = token
    return vocab


def _resolve_strip_accents(strip_accents, lowercase: bool) -> bool:
    # Hugging Face: strip_accents=None means "strip when lowercasing".
    return bool(lowercase) if strip_accents is None else bool(strip_accents)


def _from_tokenizer_json(path: Path, model_dir: Path) -> dict:
    spec = _load_json(path)
    model = spec.get("model") or {}
    kind = model.get("type")
    if kind == "WordPiece":
        out = _wordpiece_from_json(path, spec, model)
    elif kind == "Unigram":
        out = _unigram_from_json(path, spec, model, model_dir)
    else:
        raise _fail(path, "model.type", f"unsupported tokenizer model {kind!r} (supported: WordPiece, Unigram)")
    out.update(_added_tokens(spec.get("added_tokens") or []))
    out.update(_post_processor(path, spec.get("post_processor")))
    return out


def _fold_lowercase(normalizer: dict | None) -> tuple[dict | None, bool]:
    """Sequence[Lowercase, BertNormalizer] -> (the BertNormalizer, True).

    sentence-transformers 6 saves a model whose config says do_lower_case with
    a Lowercase normalizer put before the tokenizer's own. Lowercasing first
    and then running BertNormalizer gives, for every code point, what
    BertNormalizer with lowercase on (and its own strip_accents) gives, so the
    pair folds into one BertNormalizer exactly.
    """
    if not normalizer or normalizer.get("type") != "Sequence":
        return normalizer, False
    parts = normalizer.get("normalizers") or []
    if len(parts) == 2 and parts[0].get("type") == "Lowercase" and parts[1].get("type") == "BertNormalizer":
        return parts[1], True
    return normalizer, False


def _wordpiece_from_json(path: Path, spec: dict, model: dict) -> dict:
    normalizer, lowercased_first = _fold_lowercase(spec.get("normalizer"))
    if not normalizer or normalizer.get("type") != "BertNormalizer":
        raise _fail(path, "normalizer.type", f"WordPiece needs a BertNormalizer, got "
                    f"{(normalizer or {}).get('type')!r}")
    pre = spec.get("pre_tokenizer")
    if not pre or pre.get("type") != "BertPreTokenizer":
        raise _fail(path, "pre_tokenizer.type", f"WordPiece needs a BertPreTokenizer, got {(pre or {}).get('type')!r}")
    vocab = _vocab_list(path, "model.vocab", model.get("vocab") or {})
    unk = model.get("unk_token", "[UNK]")
    if unk not in vocab:
        raise _fail(path, "model.unk_token", f"unknown token {unk!r} is not in the vocabulary")
    lowercase = bool(normalizer.get("lowercase", True))
    strip_accents = _resolve_strip_accents(normalizer.get("strip_accents"), lowercase)
    lowercase = lowercase or lowercased_first
    return {
        "tokenizer.type": "wordpiece",
        "tokenizer.vocab": vocab,
        "tokenizer.unk_token": unk,
        "tokenizer.unk_id": vocab.index(unk),
        "tokenizer.continuing_subword_prefix": model.get("continuing_subword_prefix", "##"),
        "tokenizer.max_input_chars_per_word": int(model.get("max_input_chars_per_word", 100)),
        "tokenizer.normalizer.clean_text": bool(normalizer.get("clean_text", True)),
        "tokenizer.normalizer.handle_chinese_chars": bool(normalizer.get("handle_chinese_chars", True)),
        "tokenizer.normalizer.strip_accents": strip_accents,
        "tokenizer.normalizer.lowercase": lowercase,
    }


def _from_vocab_txt(model_dir: Path) -> dict:
    vocab_path = model_dir / "vocab.txt"
    with open(vocab_path, encoding="utf-8") as f:
        vocab = [line.rstrip("\n").rstrip("\r") for line in f]
    while vocab and vocab[-1] == "":
        vocab.pop()
    if len(set(vocab)) != len(vocab):
        raise _fail(vocab_path, "(lines)", "duplicate tokens")
    config_path = model_dir / "tokenizer_config.json"
    config = _load_json(config_path) if config_path.is_file() else {}
    specials_path = model_dir / "special_tokens_map.json"
    specials = _load_json(specials_path) if specials_path.is_file() else {}

    def special(name: str, default: str) -> str:
        value = config.get(name, specials.get(name, default))
        if isinstance(value, dict):
            value = value.get("content", default)
        if value not in vocab:
            raise _fail(config_path, name, f"{value!r} is not in {vocab_path.name}")
        return value

    unk, cls, sep = special("unk_token", "[UNK]"), special("cls_token", "[CLS]"), special("sep_token", "[SEP]")
    pad, mask = special("pad_token", "[PAD]"), special("mask_token", "[MASK]")
    lowercase = bool(config.get("do_lower_case", True))
    if config.get("do_basic_tokenize", True) is False:
        raise _fail(config_path, "do_basic_tokenize", "false is not supported")
    added = [{"id": vocab.index(t), "content": t, "special": True} for t in {unk, cls, sep, pad, mask}]
    out = {
        "tokenizer.type": "wordpiece",
        "tokenizer.vocab": vocab,
        "tokenizer.unk_token": unk,
        "tokenizer.unk_id": vocab.index(unk),
        "tokenizer.continuing_subword_prefix": "##",
        "tokenizer.max_input_chars_per_word": 100,
        "tokenizer.normalizer.clean_text": True,
        "tokenizer.normalizer.handle_chinese_chars": bool(config.get("tokenize_chinese_chars", True)),
        "tokenizer.normalizer.strip_accents": _resolve_strip_accents(config.get("strip_accents"), lowercase),
        "tokenizer.normalizer.lowercase": lowercase,
    }
    out.update(_added_tokens(added))
    out.update(_bert_template((cls, vocab.index(cls)), (sep, vocab.index(sep))))
    return out


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _proto_fields(data: bytes):
    """Yields (field number, wire type, value) of one protobuf message."""
    pos = 0
    while pos < len(data):
        key, pos = _read_varint(data, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(data, pos)
        elif wire == 1:
            value, pos = data[pos:pos + 8], pos + 8
        elif wire == 2:
            size, pos = _read_varint(data, pos)
            value, pos = data[pos:pos + size], pos + size
        elif wire == 5:
            value, pos = data[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        if pos > len(data):
            raise ValueError("truncated field")
        yield field, wire, value


def sentencepiece_pieces(path: Path) -> tuple[list[str], str]:
    """The pieces of a SentencePiece ModelProto (field 1) and its model type."""
    data = path.read_bytes()
    pieces, model_type = [], "unigram"
    try:
        for field, wire, value in _proto_fields(data):
            if field == 1 and wire == 2:
                piece = next((v for f, w, v in _proto_fields(value) if f == 1 and w == 2), b"")
                pieces.append(piece.decode("utf-8"))
            elif field == 2 and wire == 2:
                for f, w, v in _proto_fields(value):
                    if f == 3 and w == 0:
                        model_type = {1: "unigram", 2: "bpe", 3: "word", 4: "char"}.get(v, str(v))
    except (ValueError, UnicodeDecodeError) as e:
        raise _fail(path, "(file)", f"not a SentencePiece model ({e})") from None
    if not pieces:
        raise _fail(path, "pieces", "no pieces: not a SentencePiece model")
    return pieces, model_type


def _sentencepiece_common(spm_file: Path) -> tuple[dict, list[str]]:
    pieces, model_type = sentencepiece_pieces(spm_file)
    if model_type != "unigram":
        raise _fail(spm_file, "trainer_spec.model_type", f"{model_type} models are not supported (unigram only)")
    return {"tokenizer.type": "sentencepiece", "tokenizer.sentencepiece_model": spm_file.read_bytes()}, pieces


def sentencepiece_spec(path: Path) -> dict:
    """What the C++ tokenizer reads from a SentencePiece ModelProto besides the
    pieces: their scores, the precompiled charsmap, add_dummy_prefix, byte_fallback."""
    spec = {"scores": [], "charsmap": b"", "add_dummy_prefix": True, "byte_fallback": False}
    for field, wire, value in _proto_fields(path.read_bytes()):
        if field == 1 and wire == 2:
            score = next((v for f, w, v in _proto_fields(value) if f == 2 and w == 5), b"\0\0\0\0")
            spec["scores"].append(struct.unpack("<f", score)[0])
        elif field == 2 and wire == 2:
            for f, w, v in _proto_fields(value):
                if f == 35 and w == 0:
                    spec["byte_fallback"] = bool(v)
        elif field == 3 and wire == 2:
            for f, w, v in _proto_fields(value):
                if f == 2 and w == 2:
                    spec["charsmap"] = v
                elif f == 3 and w == 0:
                    spec["add_dummy_prefix"] = bool(v)
    return spec


def _unigram_pipeline(path: Path, spec: dict, model: dict, spm: dict) -> str:
    """The tokenizer.sentencepiece_pipeline of a Unigram tokenizer.json; refuses
    one whose steps differ from what embedrank runs for a SentencePiece model
    (docs/tokenizer.md):
    metaspace: Sequence[Precompiled, Strip(right), Replace(" {2,}", "▁")], Metaspace
    (transformers' SpmConverter / XLMRobertaConverter);
    whitespace_split: Precompiled, Sequence[WhitespaceSplit, Metaspace]
    (transformers 5's XLMRobertaTokenizer).
    Precompiled holds the model's charsmap (absent when it has none); Metaspace
    replaces with "▁", splits, and prepends "always" with add_dummy_prefix, else "never"."""
    normalizer = spec.get("normalizer") or {}
    steps = normalizer.get("normalizers") if normalizer.get("type") == "Sequence" else [normalizer]
    steps = [s for s in steps or [] if s]
    if spm["charsmap"]:
        if not steps or steps[0].get("type") != "Precompiled":
            raise _fail(path, "normalizer", "expected the SentencePiece model's Precompiled charsmap first")
        if base64.b64decode(steps[0].get("precompiled_charsmap") or "") != spm["charsmap"]:
            raise _fail(path, "normalizer", "the Precompiled charsmap is not the SentencePiece model's")
        steps = steps[1:]
    pre = spec.get("pre_tokenizer") or {}
    if pre.get("type") == "Sequence" and [p.get("type") for p in pre.get("pretokenizers") or []] == ["WhitespaceSplit",
                                                                                                      "Metaspace"]:
        pipeline, metaspace = "whitespace_split", pre["pretokenizers"][1]
        if steps:
            raise _fail(path, "normalizer", "expected Precompiled alone before WhitespaceSplit")
    elif pre.get("type") == "Metaspace":
        pipeline, metaspace = "metaspace", pre
        if (len(steps) != 2 or steps[0].get("type") != "Strip" or steps[0].get("strip_left", False)
                or not steps[0].get("strip_right", False) or steps[1].get("type") != "Replace"
                or (steps[1].get("pattern") or {}).get("Regex") != " {2,}"
                or steps[1].get("content") not in ("\u2581", " ")):
            raise _fail(path, "normalizer", "expected Sequence[Precompiled, Strip(right), Replace(' {2,}', '\u2581')]")
    else:
        raise _fail(path, "pre_tokenizer", "expected Metaspace or Sequence[WhitespaceSplit, Metaspace]")
    prepend = metaspace.get("prepend_scheme", "always" if metaspace.get("add_prefix_space", True) else "never")
    wanted = "always" if spm["add_dummy_prefix"] else "never"
    if metaspace.get("replacement") != "\u2581" or not metaspace.get("split", True) or prepend != wanted:
        raise _fail(path, "pre_tokenizer", f"expected Metaspace('\u2581', prepend_scheme {wanted!r}, split)")
    if bool(model.get("byte_fallback", False)) != spm["byte_fallback"]:
        raise _fail(path, "model.byte_fallback", "differs from the SentencePiece model's trainer_spec.byte_fallback")
    return pipeline


def _unigram_from_json(path: Path, spec: dict, model: dict, model_dir: Path) -> dict:
    spm_file = _find_sentencepiece_model(model_dir)
    if spm_file is None:
        raise _fail(path, "model", "a Unigram tokenizer needs its SentencePiece model beside it "
                    f"(one of {', '.join(SENTENCEPIECE_FILES)})")
    out, pieces = _sentencepiece_common(spm_file)
    spm = sentencepiece_spec(spm_file)
    out["tokenizer.sentencepiece_pipeline"] = _unigram_pipeline(path, spec, model, spm)
    entries = model.get("vocab") or []
    hf_vocab = [entry[0] for entry in entries]
    if hf_vocab == FAIRSEQ_SPECIALS + pieces[3:] + ["<mask>"]:
        out["tokenizer.id_mapping"] = "fairseq"
        first, offset = 3, 1
    elif hf_vocab == pieces:
        out["tokenizer.id_mapping"] = "plain"
        first, offset = 0, 0
    else:
        raise _fail(path, "model.vocab", f"pieces do not follow {spm_file.name} in plain order or in fairseq order "
                    "(<s> <pad> </s> <unk>, its pieces from id 3, <mask>)")
    # The C++ side scores pieces with the ModelProto's float32 scores. A
    # tokenizer.json written after an in-memory round trip through serde_json
    # holds some of them one double ULP off (its parser rounds twice); such
    # differences are accepted, anything larger is another model.
    for i in range(first, len(pieces)):
        score = spm["scores"][i]
        if abs(float(entries[i + offset][1]) - score) > 2 * math.ulp(score):
            raise _fail(path, "model.vocab", f"the score of {pieces[i]!r} differs from {spm_file.name}'s")
    unk_id = model.get("unk_id")
    if unk_id is None:
        raise _fail(path, "model.unk_id", "missing")
    out["tokenizer.unk_token"] = hf_vocab[unk_id]
    out["tokenizer.unk_id"] = int(unk_id)
    out["tokenizer.vocab_size"] = len(hf_vocab)
    return out


def _from_sentencepiece_only(spm_file: Path, model_dir: Path) -> dict:
    config_path = model_dir / "tokenizer_config.json"
    config = _load_json(config_path) if config_path.is_file() else {}
    tokenizer_class = config.get("tokenizer_class", "")
    if not tokenizer_class.startswith("XLMRoberta"):
        raise _fail(config_path, "tokenizer_class", f"{tokenizer_class!r} without tokenizer.json is not "
                    "supported (only XLMRobertaTokenizer); save the fast tokenizer (tokenizer.json) instead")
    out, pieces = _sentencepiece_common(spm_file)
    vocab_size = len(pieces) + 2  # fairseq: four specials replace spm's three, plus <mask>
    out.update({
        "tokenizer.sentencepiece_pipeline": "metaspace",  # what XLMRobertaConverter writes
        "tokenizer.id_mapping": "fairseq",
        "tokenizer.unk_token": "<unk>",
        "tokenizer.unk_id": 3,
        "tokenizer.vocab_size": vocab_size,
    })
    added = [{"id": i, "content": t, "special": True} for i, t in enumerate(FAIRSEQ_SPECIALS)]
    added.append({"id": vocab_size - 1, "content": "<mask>", "special": True, "lstrip": True})
    out.update(_added_tokens(added))
    out.update(_roberta_template(("<s>", 0), ("</s>", 2)))
    return out
