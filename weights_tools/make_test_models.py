#!/usr/bin/env python3
"""Tiny random encoder checkpoints and their Hugging Face reference outputs.

Generate (development time; needs torch, transformers, sentence-transformers):
    python weights_tools/make_test_models.py tests/data/models

writes, for every model in MODELS below, tests/data/models/NAME/ holding the
checkpoint in Hugging Face (or sentence-transformers) layout, the fixed inputs
(inputs.txt: one sequence of token ids per line; token_types.txt likewise) and
the reference outputs of transformers / sentence-transformers in float32:
hidden_states.npy ((L+1) * TT, H): the embeddings output and every layer's
output, real tokens only, sequences packed in order; pooled.npy (B, M*H).

Convert (CI; needs only numpy):
    python3 weights_tools/make_test_models.py --convert-only tests/data/models OUT_DIR

converts every committed model with convert.py into OUT_DIR/NAME.{f32,f16,bf16,int8}.bin.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import convert  # noqa: E402

SEED = 20261122

# Every family and configuration the encoder claims: layer/head/hidden sizes,
# each activation, each pooling mode (and a concatenation), both checkpoint
# formats, sharding, and the sentence-transformers layout.
MODELS = [
    dict(name="bert_gelu_mean", family="bert", hidden=32, layers=2, heads=4, inter=64, act="gelu",
         pooling=["mean"], normalize=True, layout="sentence-transformers"),
    dict(name="bert_gelu_new_cls", family="bert", hidden=48, layers=3, heads=6, inter=96, act="gelu_new",
         pooling=["cls"], normalize=False, layout="sentence-transformers"),
    dict(name="bert_relu_max_mean", family="bert", hidden=24, layers=2, heads=2, inter=40, act="relu", eps=1e-7,
         pooling=["max", "mean"], normalize=False, layout="hf", save="pytorch_bin"),
    dict(name="bert_silu_mean_sqrt_len", family="bert", hidden=32, layers=1, heads=8, inter=48, act="silu",
         type_vocab=3, pooling=["mean_sqrt_len"], normalize=True, layout="hf", save="sharded"),
    dict(name="bert_gelu_fast_pooler", family="bert", hidden=32, layers=2, heads=4, inter=64, act="gelu_fast",
         pooling=["pooler"], normalize=False, layout="hf"),
    dict(name="bert_gelu_pytorch_tanh_cls_mean", family="bert", hidden=16, layers=4, heads=1, inter=32,
         act="gelu_pytorch_tanh", pooling=["cls", "mean"], normalize=True, layout="hf"),
    dict(name="xlmr_gelu_mean", family="xlm-roberta", hidden=32, layers=2, heads=4, inter=64, act="gelu",
         pooling=["mean"], normalize=True, layout="sentence-transformers"),
    dict(name="distilbert_gelu_mean", family="distilbert", hidden=32, layers=2, heads=4, inter=64, act="gelu",
         pooling=["mean"], normalize=False, layout="hf"),
    dict(name="distilbert_relu_cls", family="distilbert", hidden=24, layers=3, heads=3, inter=48, act="relu",
         pooling=["cls"], normalize=True, layout="sentence-transformers"),
    # MPNet: a sequence of 150 tokens reaches every relative-position bucket
    # (distances past max_distance 128 share the last); the second model's
    # bias table has more rows than the 32 buckets MPNet looks up.
    dict(name="mpnet_gelu_mean", family="mpnet", hidden=32, layers=2, heads=4, inter=64, act="gelu",
         pooling=["mean"], normalize=True, layout="sentence-transformers", positions=160,
         lengths=[5, 1, 12, 7, 150, 3]),
    dict(name="mpnet_relu_cls", family="mpnet", hidden=24, layers=3, heads=2, inter=40, act="relu", buckets=40,
         pooling=["cls"], normalize=False, layout="hf"),
]

VOCAB_SIZE = 120
# The tiny XLM-R model uses the SentencePiece tokenizer of the tokenizer tests
# (weights_tools/make_tokenizer_fixtures.py), so its vocabulary is that size.
XLMR_TOKENIZER = Path(__file__).resolve().parents[1] / "tests" / "data" / "text" / "xlmr_tiny"

# End-to-end texts for the Embedder: whitespace to strip, case, CJK, an empty
# text, words outside the tiny vocabulary, and texts longer than max_seq_length.
TEXTS = [
    "red summer dress",
    "  Wireless earbuds for running\t",
    "USB-C 65W charger",
    "",
    "红色连衣裙",
    "3.5mm cable, blue!",
    "The cotton shirt? A laptop bag and a water bottle for the phone case",
    "zebra quartz xylophone",
    "red " * 30,
    "RED DRESS",
]
MAX_POSITIONS = 24  # usable positions; RoBERTa's table has padding_idx + 1 more rows
LENGTHS = [5, 1, 12, 7, MAX_POSITIONS, 3]


def _vocab_file(path: Path, family: str) -> None:
    """A small WordPiece vocabulary so the tiny BERT and MPNet models carry a working tokenizer."""
    # MPNet's specials sit where MPNetEmbeddings expects them (<pad> = padding_idx 1).
    special = ["<s>", "<pad>", "</s>", "[UNK]", "<mask>"] if family == "mpnet" else ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    words = ["red", "blue", "dress", "shoe", "shoes", "summer", "wireless", "ear", "##buds", "for", "running",
             "usb", "-", "c", "charger", "65", "##w", "a", "the", "cotton", "shirt", "phone", "case", "laptop",
             "bag", "water", "bottle", "3", ".", "5", "##mm", "cable", ",", "!", "?", "连", "衣", "裙", "红", "色"]
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)] + ["##" + chr(c) for c in range(ord("a"), ord("z") + 1)]
    tokens = special + words + [t for t in letters if t not in words]
    tokens += [f"[unused{i}]" for i in range(VOCAB_SIZE - len(tokens))]
    path.write_text("\n".join(tokens[:VOCAB_SIZE]) + "\n", encoding="utf-8")


def _pad_id(family: str) -> int:
    return 1 if family in ("xlm-roberta", "mpnet") else 0


def _inputs(spec: dict, rng: np.random.Generator) -> tuple[list, list]:
    pad = _pad_id(spec["family"])
    first, last = (0, 2) if spec["family"] in ("xlm-roberta", "mpnet") else (2, 3)
    sequences, types = [], []
    for n in spec.get("lengths", LENGTHS):
        body = [int(i) for i in rng.integers(5, spec.get("vocab", VOCAB_SIZE), size=max(0, n - 2))]
        ids = ([first] + body + [last])[:n] if n > 1 else [first]
        sequences.append(ids)
        tv = spec.get("type_vocab", 2 if spec["family"] == "bert" else 0)
        types.append([int(t) for t in rng.integers(0, tv, size=n)] if tv > 1 else [0] * n)
    if spec["family"] in ("xlm-roberta", "mpnet"):
        # A padding id inside a sequence keeps position padding_idx (cumulative-count rule).
        sequences[2][5] = pad
    return sequences, types


def _st_pooling(models, spec: dict, modes: list):
    return models.Pooling(spec["hidden"], pooling_mode_cls_token="cls" in modes,
                          pooling_mode_max_tokens="max" in modes, pooling_mode_mean_tokens="mean" in modes,
                          pooling_mode_mean_sqrt_len_tokens="mean_sqrt_len" in modes)


def generate(out_root: Path) -> None:
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer, models

    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    out_root.mkdir(parents=True, exist_ok=True)
    manifest = {}
    for spec in MODELS:
        name, family = spec["name"], spec["family"]
        out = out_root / name
        if out.exists():
            shutil.rmtree(out)
        hf_dir = out / "hf" if spec["layout"] == "sentence-transformers" else out
        hf_dir.mkdir(parents=True)
        vocab_size = VOCAB_SIZE
        if family == "xlm-roberta":
            vocab_size = len(json.loads((XLMR_TOKENIZER / "tokenizer.json").read_text())["model"]["vocab"])
        common = dict(vocab_size=vocab_size)
        positions = spec.get("positions", MAX_POSITIONS)
        if family == "bert":
            cfg = transformers.BertConfig(hidden_size=spec["hidden"], num_hidden_layers=spec["layers"],
                                          num_attention_heads=spec["heads"], intermediate_size=spec["inter"],
                                          hidden_act=spec["act"], max_position_embeddings=positions,
                                          type_vocab_size=spec.get("type_vocab", 2),
                                          layer_norm_eps=spec.get("eps", 1e-12), **common)
            model = transformers.BertModel(cfg, add_pooling_layer="pooler" in spec["pooling"])
        elif family == "xlm-roberta":
            cfg = transformers.XLMRobertaConfig(hidden_size=spec["hidden"], num_hidden_layers=spec["layers"],
                                                num_attention_heads=spec["heads"], intermediate_size=spec["inter"],
                                                hidden_act=spec["act"], max_position_embeddings=MAX_POSITIONS + 2,
                                                type_vocab_size=1, pad_token_id=1, bos_token_id=0, eos_token_id=2,
                                                layer_norm_eps=1e-5, **common)
            model = transformers.XLMRobertaModel(cfg, add_pooling_layer=False)
        elif family == "mpnet":
            cfg = transformers.MPNetConfig(hidden_size=spec["hidden"], num_hidden_layers=spec["layers"],
                                           num_attention_heads=spec["heads"], intermediate_size=spec["inter"],
                                           hidden_act=spec["act"], max_position_embeddings=positions + 2,
                                           relative_attention_num_buckets=spec.get("buckets", 32),
                                           pad_token_id=1, bos_token_id=0, eos_token_id=2, layer_norm_eps=1e-5,
                                           **common)
            model = transformers.MPNetModel(cfg, add_pooling_layer=False)
        else:
            cfg = transformers.DistilBertConfig(dim=spec["hidden"], n_layers=spec["layers"], n_heads=spec["heads"],
                                                hidden_dim=spec["inter"], activation=spec["act"],
                                                max_position_embeddings=MAX_POSITIONS, **common)
            model = transformers.DistilBertModel(cfg)
        # Random init has LayerNorm = identity; perturb every parameter so each one matters.
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn_like(p) * 0.05)
        model.eval()

        save = spec.get("save", "safetensors")
        if save == "pytorch_bin":
            # The zip-format pickle that torch.save writes, read by convert.py without torch.
            model.config.save_pretrained(hf_dir)
            torch.save(model.state_dict(), hf_dir / "pytorch_model.bin")
        elif save == "sharded":
            model.save_pretrained(hf_dir, max_shard_size="20KB")
        else:
            model.save_pretrained(hf_dir)
        if family == "xlm-roberta":
            for f in XLMR_TOKENIZER.iterdir():
                shutil.copy(f, hf_dir / f.name)
        else:
            _vocab_file(hf_dir / "vocab.txt", family)
            if family == "mpnet":
                words = (hf_dir / "vocab.txt").read_text(encoding="utf-8").split("\n")[:VOCAB_SIZE]
                tok = transformers.MPNetTokenizerFast(vocab={w: i for i, w in enumerate(words)}, do_lower_case=True)
            else:
                tok = transformers.BertTokenizerFast(vocab_file=str(hf_dir / "vocab.txt"), do_lower_case=True)
            tok.model_max_length = positions
            tok.save_pretrained(hf_dir)

        spec["vocab"] = vocab_size
        sequences, types = _inputs(spec, rng)
        B, T = len(sequences), max(len(s) for s in sequences)
        pad = _pad_id(family)
        input_ids = torch.full((B, T), pad, dtype=torch.long)
        mask = torch.zeros((B, T), dtype=torch.long)
        type_ids = torch.zeros((B, T), dtype=torch.long)
        for b, (s, t) in enumerate(zip(sequences, types)):
            input_ids[b, : len(s)] = torch.tensor(s)
            mask[b, : len(s)] = 1
            type_ids[b, : len(t)] = torch.tensor(t)
        kwargs = dict(input_ids=input_ids, attention_mask=mask, output_hidden_states=True)
        if family == "bert":
            kwargs["token_type_ids"] = type_ids
        with torch.no_grad():
            result = model(**kwargs)
        hidden = [h.numpy() for h in result.hidden_states]  # (L+1) x (B, T, H)
        packed = np.concatenate([np.concatenate([h[b, : len(s)] for b, s in enumerate(sequences)]) for h in hidden])

        # Pooled reference: sentence-transformers' Pooling (and Normalize), or BertPooler for "pooler".
        st_modes = [m for m in spec["pooling"] if m != "pooler"]
        parts = []
        if "pooler" in spec["pooling"]:
            parts.append(result.pooler_output)
        if st_modes:
            features = {"token_embeddings": result.last_hidden_state, "attention_mask": mask}
            parts.append(_st_pooling(models, spec, st_modes)(features)["sentence_embedding"])
        pooled = torch.cat(parts, dim=1)
        if spec["normalize"]:
            pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)

        st = None
        if "pooler" not in spec["pooling"]:
            modules = [models.Transformer(str(hf_dir), max_seq_length=positions), _st_pooling(models, spec, st_modes)]
            if spec["normalize"]:
                modules.append(models.Normalize())
            st = SentenceTransformer(modules=modules, device="cpu")
        if spec["layout"] == "sentence-transformers":
            # A real sentence-transformers directory, checked to reproduce the reference.
            shutil.rmtree(hf_dir)
            st.save(str(out))
            (out / "README.md").unlink(missing_ok=True)
            if family == "xlm-roberta":
                # The fast tokenizer saves only tokenizer.json; the converter embeds the SentencePiece model.
                shutil.copy(XLMR_TOKENIZER / "sentencepiece.bpe.model", out / "sentencepiece.bpe.model")
            st = SentenceTransformer(str(out), device="cpu")
            features = {"input_ids": input_ids, "attention_mask": mask}
            if family == "bert":
                features["token_type_ids"] = type_ids
            with torch.no_grad():
                st_out = st(features)["sentence_embedding"]
            assert torch.allclose(st_out, pooled, atol=1e-6), f"{name}: sentence-transformers disagrees"
        if st is not None:
            # Text in, vector out: sentence-transformers' encode on the same model.
            text_embeddings = st.encode(TEXTS, batch_size=4, convert_to_numpy=True)
            (out / "texts.txt").write_text("".join(t + "\n" for t in TEXTS), encoding="utf-8")
            np.save(out / "text_embeddings.npy", text_embeddings.astype(np.float32))

        (out / "inputs.txt").write_text("".join(" ".join(map(str, s)) + "\n" for s in sequences))
        (out / "token_types.txt").write_text("".join(" ".join(map(str, t)) + "\n" for t in types))
        np.save(out / "hidden_states.npy", packed.astype(np.float32))
        np.save(out / "pooled.npy", pooled.numpy().astype(np.float32))
        manifest[name] = {
            "family": family,
            "layers": spec["layers"],
            "hidden": spec["hidden"],
            "pooling": spec["pooling"],
            "normalize": spec["normalize"],
            "layout": spec["layout"],
            "checkpoint": save,
            # convert.py options for the plain Hugging Face layouts (no pooling config of their own).
            "convert_pooling": None if spec["layout"] == "sentence-transformers" else spec["pooling"],
            "convert_normalize": None if spec["layout"] == "sentence-transformers" else spec["normalize"],
        }
        print(f"{name}: {family}, {spec['layers']} layers, hidden {spec['hidden']}, pooling {'+'.join(spec['pooling'])}")
    (out_root / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print("versions: torch", torch.__version__, "transformers", transformers.__version__)


def convert_all(src: Path, dst: Path) -> None:
    manifest = json.loads((src / "manifest.json").read_text())
    dst.mkdir(parents=True, exist_ok=True)
    for name, info in manifest.items():
        for dtype in ("f32", "f16", "bf16", "int8"):
            convert.convert(src / name, dst / f"{name}.{dtype}.bin", dtype,
                            info["convert_pooling"], info["convert_normalize"])
    print(f"converted {len(manifest)} models x 4 dtypes into {dst}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--convert-only", action="store_true", help="convert committed models (needs only numpy)")
    parser.add_argument("src", type=Path)
    parser.add_argument("dst", type=Path, nargs="?")
    args = parser.parse_args()
    if args.convert_only:
        if args.dst is None:
            parser.error("--convert-only needs SRC and DST")
        convert_all(args.src, args.dst)
    else:
        generate(args.src)
    return 0


if __name__ == "__main__":
    sys.exit(main())
