#!/usr/bin/env python3
"""Tiny random sequence-classification checkpoints and their reference outputs.

Generate (development time; needs torch, transformers, sentence-transformers):
    .venv-bench/bin/python weights_tools/make_head_models.py tests/data/heads

writes, for every model in MODELS, tests/data/heads/NAME/ with the checkpoint
(Hugging Face layout, or a sentence-transformers CrossEncoder folder as
CrossEncoder.save() writes it), texts.txt (make_test_models.TEXTS), pairs.tsv
(query<TAB>text per line), and in float32: logits.npy (B, num_labels) of the
texts, pair_logits.npy of the pairs (tokenizer pair template, truncation
longest_first to the tokenizer's model_max_length of 24), and for the
CrossEncoder scores.npy, CrossEncoder.predict(pairs) with its activation.
Token classifiers (TOKEN_MODELS) get token_texts.txt, token_logits.npy (the
tokens of every text with its special tokens, packed: (TT, num_labels)) and
entities.tsv: transformers' token-classification pipeline output for each
aggregation strategy (none, simple, first, average, max) and text, one entity
per line: STRATEGY, text index, label (entity or entity_group), score,
start, end (characters). stride_entities.tsv: the same pipeline with
`stride` on STRIDE_TEXTS (longer than the model's 24 tokens), one entity per
line: STRATEGY, stride, text index, label, score, start, end; written with
the rest, or alone from the committed checkpoints by --stride-only.
Convert (CI; needs only numpy):
    python3 weights_tools/make_head_models.py --convert-only tests/data/heads OUT_DIR
writes OUT_DIR/NAME.{f32,f16,int8}.bin, which tests/model/test_sequence_classifier.cpp
compares with the references.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_test_models import MAX_POSITIONS, TEXTS, VOCAB_SIZE, XLMR_TOKENIZER, _vocab_file  # noqa: E402

SEED = 20261130
QUERIES = ["red dress", "wireless earbuds for running", "usb-c charger", "", "红色", "cotton shirt " * 12]

MODELS = [
    dict(name="bert_seq_cls", family="bert", hidden=32, layers=2, heads=4, inter=64,
         labels=["apparel", "electronics", "home"], problem_type=None),
    dict(name="xlmr_seq_multilabel", family="xlm-roberta", hidden=32, layers=2, heads=4, inter=64,
         labels=["red", "blue", "cotton", "sale"], problem_type="multi_label_classification"),
    dict(name="distilbert_seq_regression", family="distilbert", hidden=24, layers=2, heads=3, inter=48,
         labels=["relevance"], problem_type="regression"),
    dict(name="mpnet_seq_cls", family="mpnet", hidden=24, layers=2, heads=2, inter=40,
         labels=["buy", "browse"], problem_type="single_label_classification"),
    dict(name="bert_cross_encoder", family="bert", hidden=32, layers=2, heads=4, inter=64,
         labels=["LABEL_0"], problem_type=None, cross_encoder=True),
]


TOKEN_LABELS = ["O", "B-COLOR", "I-COLOR", "B-BRAND", "I-BRAND", "B-SIZE", "I-SIZE", "MATERIAL"]
TOKEN_TEXTS = ["red summer dress", "Wireless earbuds for running", "USB-C 65W charger", "",
               "blue cotton shirt size 3", "The phone case and a laptop bag", "zebra quartz xylophone",
               "红色连衣裙 red", "3.5mm cable, blue!", "RED DRESS with shoes"]
TOKEN_MODELS = [
    dict(name="bert_token_cls", family="bert", hidden=32, layers=2, heads=4, inter=64),
    dict(name="xlmr_token_cls", family="xlm-roberta", hidden=32, layers=2, heads=4, inter=64),
]
STRATEGIES = ["none", "simple", "first", "average", "max"]
STRIDE_TEXTS = [
    "red summer dress and a blue cotton shirt size 3 with a laptop bag, wireless earbuds for running, "
    "a zebra quartz xylophone and the phone case in black",
    "RED DRESS with shoes " * 6,
    "红色连衣裙 red blue 3.5mm cable, blue! The phone case and a laptop bag, USB-C 65W charger for the road",
]
STRIDES = [4, 10]


def pairs() -> list[tuple[str, str]]:
    return [(QUERIES[i % len(QUERIES)], text) for i, text in enumerate(TEXTS)]


def make_token_model(out_root: Path, spec: dict, torch, transformers) -> None:
    name, family = spec["name"], spec["family"]
    out = out_root / name
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    common = dict(num_labels=len(TOKEN_LABELS), id2label=dict(enumerate(TOKEN_LABELS)),
                  label2id={label: i for i, label in enumerate(TOKEN_LABELS)})
    shape = dict(hidden_size=spec["hidden"], num_hidden_layers=spec["layers"], num_attention_heads=spec["heads"],
                 intermediate_size=spec["inter"])
    if family == "bert":
        cfg = transformers.BertConfig(vocab_size=VOCAB_SIZE, max_position_embeddings=MAX_POSITIONS, **shape, **common)
        model = transformers.BertForTokenClassification(cfg)
    else:
        vocab = len(json.loads((XLMR_TOKENIZER / "tokenizer.json").read_text())["model"]["vocab"])
        cfg = transformers.XLMRobertaConfig(vocab_size=vocab, max_position_embeddings=MAX_POSITIONS + 2, type_vocab_size=1,
                                            pad_token_id=1, bos_token_id=0, eos_token_id=2, layer_norm_eps=1e-5,
                                            **shape, **common)
        model = transformers.XLMRobertaForTokenClassification(cfg)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
        # a bias towards entity labels, so the spans are many and varied
        model.classifier.bias.add_(torch.tensor([-0.5] + [0.0] * (len(TOKEN_LABELS) - 1)))
    model.eval()
    model.save_pretrained(out)
    if family == "bert":
        _vocab_file(out / "vocab.txt", family)
        tok = transformers.BertTokenizerFast(vocab_file=str(out / "vocab.txt"), do_lower_case=True)
    else:
        for f in XLMR_TOKENIZER.iterdir():
            shutil.copy(f, out / f.name)
        tok = transformers.AutoTokenizer.from_pretrained(str(out))
    tok.model_max_length = MAX_POSITIONS
    tok.save_pretrained(out)
    tok = transformers.AutoTokenizer.from_pretrained(str(out))

    logits = []
    with torch.no_grad():
        for text in TOKEN_TEXTS:
            logits.append(model(**tok(text, return_tensors="pt")).logits[0].numpy())
    entities = {}
    for strategy in STRATEGIES:
        pipe = transformers.pipeline("token-classification", model=model, tokenizer=tok, aggregation_strategy=strategy,
                                     device="cpu")
        entities[strategy] = [[{"label": e.get("entity_group", e.get("entity")), "score": float(e["score"]),
                                "start": int(e["start"]), "end": int(e["end"])} for e in pipe(text)]
                              for text in TOKEN_TEXTS]
    write_stride_entities(out, model, tok, transformers)
    (out / "token_texts.txt").write_text("".join(t + "\n" for t in TOKEN_TEXTS), encoding="utf-8")
    np.save(out / "token_logits.npy", np.concatenate(logits).astype(np.float32))
    (out / "entities.tsv").write_text("".join(
        f"{strategy}\t{i}\t{e['label']}\t{e['score']!r}\t{e['start']}\t{e['end']}\n"
        for strategy in STRATEGIES for i, found in enumerate(entities[strategy]) for e in found), encoding="utf-8")
    print(f"{name}: {family}, {len(TOKEN_LABELS)} labels, "
          f"{sum(len(x) for x in entities['simple'])} simple entities over {len(TOKEN_TEXTS)} texts")


def write_stride_entities(out: Path, model, tok, transformers) -> None:
    lines = []
    for strategy in STRATEGIES[1:]:  # the pipeline refuses a stride without aggregation
        pipe = transformers.pipeline("token-classification", model=model, tokenizer=tok, aggregation_strategy=strategy,
                                     device="cpu")
        for stride in STRIDES:
            for i, text in enumerate(STRIDE_TEXTS):
                assert len(tok(text)["input_ids"]) > tok.model_max_length, text
                for e in pipe(text, stride=stride):
                    lines.append(f"{strategy}\t{stride}\t{i}\t{e['entity_group']}\t{float(e['score'])!r}\t"
                                 f"{int(e['start'])}\t{int(e['end'])}\n")
    (out / "stride_texts.txt").write_text("".join(t + "\n" for t in STRIDE_TEXTS), encoding="utf-8")
    (out / "stride_entities.tsv").write_text("".join(lines), encoding="utf-8")


def convert_all(src: Path, dst: Path) -> None:
    import convert

    dst.mkdir(parents=True, exist_ok=True)
    names = sorted(d.name for d in src.iterdir() if (d / "config.json").is_file())
    for name in names:
        for dtype in ("f32", "f16", "int8"):
            convert.convert(src / name, dst / f"{name}.{dtype}.bin", dtype)
    print(f"converted {len(names)} models x 3 dtypes into {dst}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--convert-only", action="store_true", help="convert committed models (needs only numpy)")
    parser.add_argument("--stride-only", action="store_true",
                        help="write stride_entities.tsv of the committed token classifiers in OUT_DIR")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("dst", type=Path, nargs="?")
    args = parser.parse_args()
    if args.convert_only:
        if args.dst is None:
            parser.error("--convert-only needs SRC and DST")
        convert_all(args.out_dir, args.dst)
        return 0
    import torch
    import transformers
    from sentence_transformers import CrossEncoder

    if args.stride_only:
        for spec in TOKEN_MODELS:
            out = args.out_dir / spec["name"]
            model = transformers.AutoModelForTokenClassification.from_pretrained(str(out)).eval()
            write_stride_entities(out, model, transformers.AutoTokenizer.from_pretrained(str(out)), transformers)
        return 0

    torch.manual_seed(SEED)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for spec in MODELS:
        name, family = spec["name"], spec["family"]
        out = args.out_dir / name
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        labels = spec["labels"]
        common = dict(num_labels=len(labels), id2label=dict(enumerate(labels)),
                      label2id={label: i for i, label in enumerate(labels)})
        if spec["problem_type"]:
            common["problem_type"] = spec["problem_type"]
        shape = dict(hidden_size=spec["hidden"], num_hidden_layers=spec["layers"], num_attention_heads=spec["heads"],
                     intermediate_size=spec["inter"])
        if family == "bert":
            cfg = transformers.BertConfig(vocab_size=VOCAB_SIZE, max_position_embeddings=MAX_POSITIONS, **shape, **common)
            model = transformers.BertForSequenceClassification(cfg)
        elif family == "xlm-roberta":
            vocab = len(json.loads((XLMR_TOKENIZER / "tokenizer.json").read_text())["model"]["vocab"])
            cfg = transformers.XLMRobertaConfig(vocab_size=vocab, max_position_embeddings=MAX_POSITIONS + 2, type_vocab_size=1,
                                                pad_token_id=1, bos_token_id=0, eos_token_id=2, layer_norm_eps=1e-5,
                                                **shape, **common)
            model = transformers.XLMRobertaForSequenceClassification(cfg)
        elif family == "distilbert":
            cfg = transformers.DistilBertConfig(vocab_size=VOCAB_SIZE, dim=spec["hidden"], n_layers=spec["layers"],
                                                n_heads=spec["heads"], hidden_dim=spec["inter"],
                                                max_position_embeddings=MAX_POSITIONS, **common)
            model = transformers.DistilBertForSequenceClassification(cfg)
        else:
            cfg = transformers.MPNetConfig(vocab_size=VOCAB_SIZE, max_position_embeddings=MAX_POSITIONS + 2, pad_token_id=1,
                                           bos_token_id=0, eos_token_id=2, layer_norm_eps=1e-5, **shape, **common)
            model = transformers.MPNetForSequenceClassification(cfg)
        with torch.no_grad():  # random init leaves LayerNorm the identity; perturb every parameter
            for p in model.parameters():
                p.add_(torch.randn_like(p) * 0.05)
        model.eval()
        model.save_pretrained(out)

        if family == "xlm-roberta":
            for f in XLMR_TOKENIZER.iterdir():
                shutil.copy(f, out / f.name)
            tok = transformers.AutoTokenizer.from_pretrained(str(out))
        else:
            _vocab_file(out / "vocab.txt", family)
            if family == "mpnet":
                words = (out / "vocab.txt").read_text(encoding="utf-8").split("\n")[:VOCAB_SIZE]
                tok = transformers.MPNetTokenizerFast(vocab={w: i for i, w in enumerate(words)}, do_lower_case=True)
            else:
                tok = transformers.BertTokenizerFast(vocab_file=str(out / "vocab.txt"), do_lower_case=True)
        tok.model_max_length = MAX_POSITIONS
        tok.save_pretrained(out)
        tok = transformers.AutoTokenizer.from_pretrained(str(out))

        queries, docs = [q for q, _ in pairs()], [d for _, d in pairs()]
        with torch.no_grad():
            single = tok(TEXTS, padding=True, truncation=True, return_tensors="pt")
            logits = model(**single).logits.numpy()
            both = tok(queries, docs, padding=True, truncation="longest_first", return_tensors="pt")
            pair_logits = model(**both).logits.numpy()
        (out / "texts.txt").write_text("".join(t + "\n" for t in TEXTS), encoding="utf-8")
        (out / "pairs.tsv").write_text("".join(f"{q}\t{d}\n" for q, d in pairs()), encoding="utf-8")
        np.save(out / "logits.npy", logits.astype(np.float32))
        np.save(out / "pair_logits.npy", pair_logits.astype(np.float32))

        if spec.get("cross_encoder"):
            # a CrossEncoder folder as sentence-transformers saves it, and its predict()
            ce = CrossEncoder(str(out), device="cpu")
            saved = args.out_dir / (name + ".saved")
            ce.save(str(saved))
            shutil.rmtree(out)
            saved.rename(out)
            (out / "README.md").unlink(missing_ok=True)
            ce = CrossEncoder(str(out), device="cpu")
            scores = ce.predict(pairs(), batch_size=4, convert_to_numpy=True)
            np.save(out / "scores.npy", np.asarray(scores, dtype=np.float32).reshape(len(TEXTS), -1))
            (out / "texts.txt").write_text("".join(t + "\n" for t in TEXTS), encoding="utf-8")
            (out / "pairs.tsv").write_text("".join(f"{q}\t{d}\n" for q, d in pairs()), encoding="utf-8")
            np.save(out / "logits.npy", logits.astype(np.float32))
            np.save(out / "pair_logits.npy", pair_logits.astype(np.float32))
        print(f"{name}: {family}, {len(labels)} labels, logits {logits.shape}")
    for spec in TOKEN_MODELS:
        make_token_model(args.out_dir, spec, torch, transformers)
    print("versions: torch", torch.__version__, "transformers", transformers.__version__)
    return 0


if __name__ == "__main__":
    sys.exit(main())
