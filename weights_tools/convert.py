#!/usr/bin/env python3
"""Converts a Hugging Face or sentence-transformers encoder into one embedrank model file.

    python3 weights_tools/convert.py MODEL_DIR OUT_FILE [--dtype f32|f16|bf16|int8]
    python3 weights_tools/convert.py --inspect FILE

MODEL_DIR is a Hugging Face model directory (config.json and model.safetensors,
sharded safetensors with an index, or pytorch_model.bin) or a
sentence-transformers directory (modules.json, 1_Pooling/config.json,
2_Normalize, sentence_bert_config.json, tokenizer files). Needs only Python 3
and numpy. The file format is specified in docs/weight-format.md.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from checkpoint import CheckpointError, read_checkpoint  # noqa: E402
from heads import (HeadError, head_metadata, is_sequence_classifier, is_token_classifier, ordered_head,  # noqa: E402
                   split_head, token_head_metadata)
from model_file import INT8_BYTE_ACTIVATIONS, STORAGE_DTYPES, describe, read_model_file, write_model_file  # noqa: E402
from tokenizer_meta import tokenizer_metadata  # noqa: E402

CONVERTER_VERSION = "1.0.0"


class ConversionError(ValueError):
    pass


# ---------------------------------------------------------------------------
# Name-mapping tables: Hugging Face parameter name (after the model prefix is
# stripped) -> embedrank file name. The file uses the BertModel module names of
# modeling_bert.py for every family, so one C++ layer implementation reads all
# of them; query/key/value are fused into one `qkv` projection after mapping.
# "{i}" stands for the layer index.
# ---------------------------------------------------------------------------

# BERT (BertModel: MiniLM, BGE, E5, GTE-style, multilingual MiniLM) and
# RoBERTa/XLM-R (RobertaModel has the same module tree as BertModel).
BERT_NAMES = {
    "embeddings.word_embeddings.weight": "embeddings.word_embeddings.weight",
    "embeddings.position_embeddings.weight": "embeddings.position_embeddings.weight",
    "embeddings.token_type_embeddings.weight": "embeddings.token_type_embeddings.weight",
    "embeddings.LayerNorm.weight": "embeddings.LayerNorm.weight",
    "embeddings.LayerNorm.bias": "embeddings.LayerNorm.bias",
    "encoder.layer.{i}.attention.self.query.weight": "encoder.layer.{i}.attention.self.query.weight",
    "encoder.layer.{i}.attention.self.query.bias": "encoder.layer.{i}.attention.self.query.bias",
    "encoder.layer.{i}.attention.self.key.weight": "encoder.layer.{i}.attention.self.key.weight",
    "encoder.layer.{i}.attention.self.key.bias": "encoder.layer.{i}.attention.self.key.bias",
    "encoder.layer.{i}.attention.self.value.weight": "encoder.layer.{i}.attention.self.value.weight",
    "encoder.layer.{i}.attention.self.value.bias": "encoder.layer.{i}.attention.self.value.bias",
    "encoder.layer.{i}.attention.output.dense.weight": "encoder.layer.{i}.attention.output.dense.weight",
    "encoder.layer.{i}.attention.output.dense.bias": "encoder.layer.{i}.attention.output.dense.bias",
    "encoder.layer.{i}.attention.output.LayerNorm.weight": "encoder.layer.{i}.attention.output.LayerNorm.weight",
    "encoder.layer.{i}.attention.output.LayerNorm.bias": "encoder.layer.{i}.attention.output.LayerNorm.bias",
    "encoder.layer.{i}.intermediate.dense.weight": "encoder.layer.{i}.intermediate.dense.weight",
    "encoder.layer.{i}.intermediate.dense.bias": "encoder.layer.{i}.intermediate.dense.bias",
    "encoder.layer.{i}.output.dense.weight": "encoder.layer.{i}.output.dense.weight",
    "encoder.layer.{i}.output.dense.bias": "encoder.layer.{i}.output.dense.bias",
    "encoder.layer.{i}.output.LayerNorm.weight": "encoder.layer.{i}.output.LayerNorm.weight",
    "encoder.layer.{i}.output.LayerNorm.bias": "encoder.layer.{i}.output.LayerNorm.bias",
    # BertPooler: dense + tanh on the first token (the "pooler" pooling mode).
    "pooler.dense.weight": "pooler.dense.weight",
    "pooler.dense.bias": "pooler.dense.bias",
}

# DistilBERT (modeling_distilbert.py): its own names for the same post-LN
# block; no token types, no pooler; q_lin/k_lin/v_lin fuse like query/key/value.
DISTILBERT_NAMES = {
    "embeddings.word_embeddings.weight": "embeddings.word_embeddings.weight",
    "embeddings.position_embeddings.weight": "embeddings.position_embeddings.weight",
    "embeddings.LayerNorm.weight": "embeddings.LayerNorm.weight",
    "embeddings.LayerNorm.bias": "embeddings.LayerNorm.bias",
    "transformer.layer.{i}.attention.q_lin.weight": "encoder.layer.{i}.attention.self.query.weight",
    "transformer.layer.{i}.attention.q_lin.bias": "encoder.layer.{i}.attention.self.query.bias",
    "transformer.layer.{i}.attention.k_lin.weight": "encoder.layer.{i}.attention.self.key.weight",
    "transformer.layer.{i}.attention.k_lin.bias": "encoder.layer.{i}.attention.self.key.bias",
    "transformer.layer.{i}.attention.v_lin.weight": "encoder.layer.{i}.attention.self.value.weight",
    "transformer.layer.{i}.attention.v_lin.bias": "encoder.layer.{i}.attention.self.value.bias",
    "transformer.layer.{i}.attention.out_lin.weight": "encoder.layer.{i}.attention.output.dense.weight",
    "transformer.layer.{i}.attention.out_lin.bias": "encoder.layer.{i}.attention.output.dense.bias",
    "transformer.layer.{i}.sa_layer_norm.weight": "encoder.layer.{i}.attention.output.LayerNorm.weight",
    "transformer.layer.{i}.sa_layer_norm.bias": "encoder.layer.{i}.attention.output.LayerNorm.bias",
    "transformer.layer.{i}.ffn.lin1.weight": "encoder.layer.{i}.intermediate.dense.weight",
    "transformer.layer.{i}.ffn.lin1.bias": "encoder.layer.{i}.intermediate.dense.bias",
    "transformer.layer.{i}.ffn.lin2.weight": "encoder.layer.{i}.output.dense.weight",
    "transformer.layer.{i}.ffn.lin2.bias": "encoder.layer.{i}.output.dense.bias",
    "transformer.layer.{i}.output_layer_norm.weight": "encoder.layer.{i}.output.LayerNorm.weight",
    "transformer.layer.{i}.output_layer_norm.bias": "encoder.layer.{i}.output.LayerNorm.bias",
}

# MPNet (MPNetModel, modeling_mpnet.py: all-mpnet-base-v2): BERT's post-LN
# block under other names (attention.attn.q/k/v/o, attention.LayerNorm), no
# token types, and one table of relative-position bias shared by all layers.
MPNET_NAMES = {
    "embeddings.word_embeddings.weight": "embeddings.word_embeddings.weight",
    "embeddings.position_embeddings.weight": "embeddings.position_embeddings.weight",
    "embeddings.LayerNorm.weight": "embeddings.LayerNorm.weight",
    "embeddings.LayerNorm.bias": "embeddings.LayerNorm.bias",
    "encoder.layer.{i}.attention.attn.q.weight": "encoder.layer.{i}.attention.self.query.weight",
    "encoder.layer.{i}.attention.attn.q.bias": "encoder.layer.{i}.attention.self.query.bias",
    "encoder.layer.{i}.attention.attn.k.weight": "encoder.layer.{i}.attention.self.key.weight",
    "encoder.layer.{i}.attention.attn.k.bias": "encoder.layer.{i}.attention.self.key.bias",
    "encoder.layer.{i}.attention.attn.v.weight": "encoder.layer.{i}.attention.self.value.weight",
    "encoder.layer.{i}.attention.attn.v.bias": "encoder.layer.{i}.attention.self.value.bias",
    "encoder.layer.{i}.attention.attn.o.weight": "encoder.layer.{i}.attention.output.dense.weight",
    "encoder.layer.{i}.attention.attn.o.bias": "encoder.layer.{i}.attention.output.dense.bias",
    "encoder.layer.{i}.attention.LayerNorm.weight": "encoder.layer.{i}.attention.output.LayerNorm.weight",
    "encoder.layer.{i}.attention.LayerNorm.bias": "encoder.layer.{i}.attention.output.LayerNorm.bias",
    "encoder.layer.{i}.intermediate.dense.weight": "encoder.layer.{i}.intermediate.dense.weight",
    "encoder.layer.{i}.intermediate.dense.bias": "encoder.layer.{i}.intermediate.dense.bias",
    "encoder.layer.{i}.output.dense.weight": "encoder.layer.{i}.output.dense.weight",
    "encoder.layer.{i}.output.dense.bias": "encoder.layer.{i}.output.dense.bias",
    "encoder.layer.{i}.output.LayerNorm.weight": "encoder.layer.{i}.output.LayerNorm.weight",
    "encoder.layer.{i}.output.LayerNorm.bias": "encoder.layer.{i}.output.LayerNorm.bias",
    "encoder.relative_attention_bias.weight": "encoder.relative_attention_bias.weight",
    "pooler.dense.weight": "pooler.dense.weight",
    "pooler.dense.bias": "pooler.dense.bias",
}

# MPNetEncoder.compute_position_bias always buckets relative positions into
# 32 (its num_buckets default, whatever relative_attention_num_buckets says),
# so the table needs at least 32 rows; the C++ encoder reads the first 32.
MPNET_BUCKETS = 32

# Checkpoint entries that are not weights of the encoder: buffers and the
# heads of task models (masked-LM, classification, QA), which are dropped.
IGNORED = re.compile(
    r"^(embeddings\.position_ids|embeddings\.token_type_ids|cls\.|lm_head\.|classifier\.|pre_classifier\."
    r"|qa_outputs\.|vocab_transform\.|vocab_layer_norm\.|vocab_projector\.|dropout)"
)

# model_type in config.json -> (family, prefixes to strip, name table).
FAMILIES = {
    "bert": ("bert", ("bert.",), BERT_NAMES),
    "roberta": ("roberta", ("roberta.",), BERT_NAMES),
    "xlm-roberta": ("roberta", ("roberta.",), BERT_NAMES),
    "camembert": ("roberta", ("roberta.",), BERT_NAMES),
    "distilbert": ("distilbert", ("distilbert.",), DISTILBERT_NAMES),
    "mpnet": ("mpnet", ("mpnet.",), MPNET_NAMES),
}

ACTIVATIONS = {"gelu", "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "relu", "silu", "swish", "quick_gelu"}
POOLING_MODES = ("cls", "max", "mean", "mean_sqrt_len", "pooler")


def _compile_table(table: dict[str, str]) -> list[tuple[re.Pattern, str]]:
    compiled = []
    for hf_name, our_name in table.items():
        pattern = re.escape(hf_name).replace(re.escape("{i}"), r"(?P<i>\d+)")
        compiled.append((re.compile("^" + pattern + "$"), our_name))
    return compiled


def _canonical_name(name: str) -> str:
    """Old TF-converted checkpoints call LayerNorm parameters gamma/beta."""
    return re.sub(r"\.gamma$", ".weight", re.sub(r"\.beta$", ".bias", name))


def map_tensors(family: str, prefixes: tuple, table: dict, tensors: dict) -> tuple[dict, list]:
    compiled = _compile_table(table)
    mapped, ignored = {}, []
    for name, array in tensors.items():
        short = _canonical_name(name)
        for prefix in prefixes:
            if short.startswith(prefix):
                short = short[len(prefix) :]
                break
        if IGNORED.match(short):
            ignored.append(name)
            continue
        for pattern, target in compiled:
            m = pattern.match(short)
            if m:
                mapped[target.replace("{i}", m.group("i")) if "{i}" in target else target] = array
                break
        else:
            raise ConversionError(f"{family} checkpoint has a tensor this converter does not know: {name}")
    return mapped, ignored


def read_config(model_dir: Path) -> tuple[str, dict]:
    path = model_dir / "config.json"
    if not path.exists():
        raise ConversionError(f"{model_dir}: config.json not found")
    hf = json.loads(path.read_text())
    model_type = hf.get("model_type")
    if model_type not in FAMILIES:
        raise ConversionError(
            f"{path}: unsupported architecture model_type={model_type!r} "
            f"(supported: {', '.join(sorted(FAMILIES))})"
        )
    family = FAMILIES[model_type][0]
    if family == "distilbert":
        config = {
            "vocab_size": hf["vocab_size"],
            "hidden_size": hf["dim"],
            "num_layers": hf["n_layers"],
            "num_heads": hf["n_heads"],
            "intermediate_size": hf["hidden_dim"],
            "max_position_embeddings": hf["max_position_embeddings"],
            "type_vocab_size": 0,
            "pad_token_id": hf.get("pad_token_id", 0),
            "hidden_act": hf.get("activation", "gelu"),
            "layer_norm_eps": 1e-12,  # hard-coded in modeling_distilbert.py
        }
    else:
        # BertModel's config names, which RobertaModel and MPNetModel share
        config = {
            "vocab_size": hf["vocab_size"],
            "hidden_size": hf["hidden_size"],
            "num_layers": hf["num_hidden_layers"],
            "num_heads": hf["num_attention_heads"],
            "intermediate_size": hf["intermediate_size"],
            "max_position_embeddings": hf["max_position_embeddings"],
            "type_vocab_size": hf.get("type_vocab_size", 2),
            "pad_token_id": hf.get("pad_token_id", 0) if hf.get("pad_token_id") is not None else 0,
            "hidden_act": hf.get("hidden_act", "gelu"),
            "layer_norm_eps": float(hf.get("layer_norm_eps", 1e-12)),
        }
        if family == "mpnet":
            # no token types; MPNetEmbeddings fixes padding_idx at 1 (positions
            # start at 2), whatever config.json's pad_token_id says
            config.update(type_vocab_size=0, pad_token_id=1,
                          relative_attention_buckets=hf.get("relative_attention_num_buckets", MPNET_BUCKETS))
            if config["relative_attention_buckets"] < MPNET_BUCKETS:
                raise ConversionError(f"{path}: relative_attention_num_buckets={config['relative_attention_buckets']} "
                                      f"is below the {MPNET_BUCKETS} buckets MPNet's attention looks up")
        position_type = hf.get("position_embedding_type", "absolute")
        if position_type != "absolute":
            raise ConversionError(f"{path}: position_embedding_type={position_type!r} is not supported (absolute only)")
    if config["hidden_act"] not in ACTIVATIONS:
        raise ConversionError(f"{path}: activation {config['hidden_act']!r} is not supported")
    if config["hidden_size"] % config["num_heads"] != 0:
        raise ConversionError(f"{path}: hidden size {config['hidden_size']} is not divisible by {config['num_heads']} heads")
    config["family"] = family
    config["architecture"] = (hf.get("architectures") or [model_type])[0]
    return model_type, config


def expected_shapes(config: dict) -> dict[str, tuple]:
    """Every tensor the file must hold (the pooler is optional), with its shape."""
    H, I, L = config["hidden_size"], config["intermediate_size"], config["num_layers"]
    shapes = {
        "embeddings.word_embeddings.weight": (config["vocab_size"], H),
        "embeddings.position_embeddings.weight": (config["max_position_embeddings"], H),
        "embeddings.LayerNorm.weight": (H,),
        "embeddings.LayerNorm.bias": (H,),
    }
    if config["type_vocab_size"] > 0:
        shapes["embeddings.token_type_embeddings.weight"] = (config["type_vocab_size"], H)
    if config["family"] == "mpnet":
        shapes["encoder.relative_attention_bias.weight"] = (config["relative_attention_buckets"], config["num_heads"])
    for i in range(L):
        p = f"encoder.layer.{i}."
        shapes.update({
            p + "attention.self.qkv.weight": (3 * H, H),
            p + "attention.self.qkv.bias": (3 * H,),
            p + "attention.output.dense.weight": (H, H),
            p + "attention.output.dense.bias": (H,),
            p + "attention.output.LayerNorm.weight": (H,),
            p + "attention.output.LayerNorm.bias": (H,),
            p + "intermediate.dense.weight": (I, H),
            p + "intermediate.dense.bias": (I,),
            p + "output.dense.weight": (H, I),
            p + "output.dense.bias": (H,),
            p + "output.LayerNorm.weight": (H,),
            p + "output.LayerNorm.bias": (H,),
        })
    return shapes


def fuse_qkv(mapped: dict, num_layers: int) -> None:
    """Q, K and V become one (3H, H) projection [Q; K; V]: one GEMM instead of three."""
    for i in range(num_layers):
        p = f"encoder.layer.{i}.attention.self."
        for kind in ("weight", "bias"):
            parts = [p + f"{n}.{kind}" for n in ("query", "key", "value")]
            missing = [n for n in parts if n not in mapped]
            if missing:
                raise ConversionError(f"incomplete checkpoint: missing {missing[0]}")
            mapped[p + f"qkv.{kind}"] = np.concatenate([mapped.pop(n) for n in parts], axis=0)


def find_modules(model_dir: Path) -> dict:
    """sentence-transformers layout: where the transformer, pooling and normalize modules live."""
    modules_path = model_dir / "modules.json"
    layout = {"transformer": model_dir, "pooling": None, "normalize": False, "dense": False}
    if not modules_path.exists():
        return layout
    for module in json.loads(modules_path.read_text()):
        kind = module.get("type", "")
        # The class name decides; its module path moved between versions
        # (sentence_transformers.models.Pooling, ...base.modules.pooling.Pooling).
        class_name = kind.rsplit(".", 1)[-1]
        path = model_dir / module.get("path", "")
        if class_name == "Transformer":
            layout["transformer"] = path
        elif class_name == "Pooling":
            layout["pooling"] = path
        elif class_name == "Normalize":
            layout["normalize"] = True
        elif class_name == "Dense":
            raise ConversionError(f"{modules_path}: a Dense module after pooling is not supported")
        else:
            raise ConversionError(f"{modules_path}: unsupported sentence-transformers module {kind!r}")
    return layout


def pooling_from_config(path: Path) -> list[str]:
    """Pooling modes of a sentence-transformers Pooling module, in its concatenation order.

    sentence-transformers >= 5 writes "pooling_mode": a mode or a list of modes,
    concatenated in the order listed; older versions write one boolean flag per
    mode, concatenated in the fixed order cls, max, mean, mean_sqrt_len.
    """
    config_path = path / "config.json"
    cfg = json.loads(config_path.read_text())
    names = {"cls": "cls", "max": "max", "mean": "mean", "mean_sqrt_len_tokens": "mean_sqrt_len"}
    if "pooling_mode" in cfg:
        listed = cfg["pooling_mode"]
        listed = [listed] if isinstance(listed, str) else list(listed)
    else:
        legacy = [
            ("pooling_mode_cls_token", "cls"),
            ("pooling_mode_max_tokens", "max"),
            ("pooling_mode_mean_tokens", "mean"),
            ("pooling_mode_mean_sqrt_len_tokens", "mean_sqrt_len_tokens"),
            ("pooling_mode_weightedmean_tokens", "weightedmean"),
            ("pooling_mode_lasttoken", "lasttoken"),
        ]
        listed = [mode for key, mode in legacy if cfg.get(key)]
    unsupported = [m for m in listed if m not in names]
    if unsupported:
        raise ConversionError(f"{config_path}: pooling mode {unsupported[0]!r} is not supported "
                              f"(supported: cls, max, mean, mean_sqrt_len_tokens)")
    if not listed:
        raise ConversionError(f"{config_path}: no pooling mode is enabled")
    if cfg.get("include_prompt", True) is False:
        raise ConversionError(f"{config_path}: include_prompt=false (prompt tokens left out of the pooling) "
                              f"is not supported")
    return [names[m] for m in listed]


def prompts_from_config(model_dir: Path) -> dict:
    """The prompts of config_sentence_transformers.json as metadata keys.

    sentence-transformers prepends prompts[name] to every text encoded with
    prompt_name=name, and prompts[default_prompt_name] when no name is given.
    """
    path = model_dir / "config_sentence_transformers.json"
    if not path.is_file():
        return {}
    cfg = json.loads(path.read_text())
    prompts = cfg.get("prompts") or {}
    if not isinstance(prompts, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in prompts.items()):
        raise ConversionError(f"{path}: prompts must map names to texts")
    default = cfg.get("default_prompt_name")
    if default is not None and default not in prompts:
        raise ConversionError(f"{path}: default_prompt_name {default!r} is not one of the prompts")
    if not prompts:
        return {}
    out = {"embedder.prompt_names": list(prompts), "embedder.prompts": list(prompts.values())}
    if default:
        out["embedder.default_prompt_name"] = default
    return out


# The sentence-transformers module config, under its current and legacy names.
ST_CONFIG_NAMES = ("sentence_bert_config.json", "sentence_roberta_config.json", "sentence_distilbert_config.json",
                   "sentence_xlm-roberta_config.json")


def sequence_settings(transformer_dir: Path, family: str, config: dict) -> tuple[int, bool]:
    """(max_seq_length, do_lower_case) as sentence-transformers decides them.

    max_seq_length: the module config's "max_seq_length" when it has one
    (sentence-transformers before 6 writes it); else the tokenizer's
    model_max_length (tokenizer_config.json, where 6.x saves it) capped by
    max_position_embeddings; else max_position_embeddings. Always at most the
    positions the encoder has (RoBERTa's and MPNet's tables start after padding_idx).
    do_lower_case: the module config's flag (Python str.lower before the
    tokenizer); 6.x saves it as a Lowercase normalizer in tokenizer.json
    instead, which the tokenizer metadata carries.
    """
    position_offset = config["pad_token_id"] + 1 if family in ("roberta", "mpnet") else 0
    positions = config["max_position_embeddings"] - position_offset
    st = {}
    for name in ST_CONFIG_NAMES:
        if (transformer_dir / name).is_file():
            st = json.loads((transformer_dir / name).read_text())
            break
    max_seq_length = None
    if st.get("max_seq_length"):
        max_seq_length = int(st["max_seq_length"])
    else:
        tokenizer_config = transformer_dir / "tokenizer_config.json"
        limit = json.loads(tokenizer_config.read_text()).get("model_max_length") if tokenizer_config.is_file() else None
        if isinstance(limit, (int, float)) and 0 < limit < 1e12:  # transformers writes 1e30 for "no limit"
            max_seq_length = min(int(limit), config["max_position_embeddings"])
    if max_seq_length is None:
        max_seq_length = positions
    return min(max_seq_length, positions), bool(st.get("do_lower_case", False))


def build_metadata(model_dir: Path, dtype: str, pooling: list[str] | None, normalize: bool | None) -> tuple[dict, dict]:
    layout = find_modules(model_dir)
    transformer_dir = layout["transformer"]
    model_type, config = read_config(transformer_dir)
    family, prefixes, table = FAMILIES[model_type]

    tensors, source_file = read_checkpoint(transformer_dir)
    head = None
    token_head = is_token_classifier(config["architecture"])
    if is_sequence_classifier(config["architecture"]) or token_head:
        head, tensors = split_head(family, tensors, token=token_head)
    mapped, _ignored = map_tensors(family, prefixes, table, tensors)
    fuse_qkv(mapped, config["num_layers"])

    shapes = expected_shapes(config)
    for name, shape in shapes.items():
        if name not in mapped:
            raise ConversionError(f"incomplete checkpoint in {transformer_dir}: missing tensor {name}")
        if tuple(mapped[name].shape) != shape:
            raise ConversionError(
                f"tensor {name} has shape {tuple(mapped[name].shape)}, but config.json implies {shape}"
            )
    has_pooler = "pooler.dense.weight" in mapped and "pooler.dense.bias" in mapped
    ordered = {name: mapped[name] for name in shapes}
    if has_pooler:
        ordered["pooler.dense.weight"] = mapped["pooler.dense.weight"]
        ordered["pooler.dense.bias"] = mapped["pooler.dense.bias"]

    max_seq_length, do_lower_case = sequence_settings(transformer_dir, family, config)
    if head is not None and token_head:
        head_meta = token_head_metadata(transformer_dir, head, config["hidden_size"])
        ordered.update(ordered_head(head))
    elif head is not None:
        head_meta = head_metadata(transformer_dir, family, head, config["hidden_size"])
        if head_meta["head.style"] == "bert_pooler" and not has_pooler:
            raise ConversionError(f"{transformer_dir}: BertForSequenceClassification without pooler weights")
        ordered.update(ordered_head(head))

    if pooling is None:
        pooling = pooling_from_config(layout["pooling"]) if layout["pooling"] else ["mean"]
    if "pooler" in pooling and not has_pooler:
        raise ConversionError(f"pooling mode 'pooler' needs pooler.dense weights, which {transformer_dir} lacks")
    if normalize is None:
        normalize = layout["normalize"]

    metadata = {
        "provenance.source": str(model_dir.resolve().name),
        "provenance.checkpoint": source_file,
        "provenance.architecture": config["architecture"],
        "provenance.converter": "weights_tools/convert.py",
        "provenance.converter_version": CONVERTER_VERSION,
        "provenance.storage_dtype": dtype,
        "config.family": family,
        "config.vocab_size": config["vocab_size"],
        "config.hidden_size": config["hidden_size"],
        "config.num_layers": config["num_layers"],
        "config.num_heads": config["num_heads"],
        "config.intermediate_size": config["intermediate_size"],
        "config.max_position_embeddings": config["max_position_embeddings"],
        "config.type_vocab_size": config["type_vocab_size"],
        "config.pad_token_id": config["pad_token_id"],
        "config.hidden_act": config["hidden_act"],
        "config.layer_norm_eps": config["layer_norm_eps"],
        "config.has_pooler": has_pooler,
        "model.max_seq_length": max_seq_length,
        "pooling.modes": pooling,
        "pooling.normalize": bool(normalize),
        "embedder.do_lower_case": do_lower_case,
    }
    if family == "mpnet":
        metadata["config.relative_attention_buckets"] = config["relative_attention_buckets"]
    metadata.update(prompts_from_config(model_dir))
    if head is not None:
        metadata.update(head_meta)
    tokenizer = tokenizer_metadata(transformer_dir)
    if tokenizer is None and transformer_dir != model_dir:
        tokenizer = tokenizer_metadata(model_dir)
    if tokenizer:
        metadata.update(tokenizer)
    if dtype == "int8":
        metadata["int8.byte_activations"] = list(INT8_BYTE_ACTIVATIONS)
    return metadata, ordered


def convert(model_dir: Path, out_file: Path, dtype: str = "f32", pooling=None, normalize=None) -> dict:
    metadata, tensors = build_metadata(Path(model_dir), dtype, pooling, normalize)
    out_file = Path(out_file)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_file.with_name(out_file.name + ".tmp")
    write_model_file(tmp, metadata, tensors, dtype)
    tmp.replace(out_file)
    return metadata


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dir", nargs="?", type=Path)
    parser.add_argument("out_file", nargs="?", type=Path)
    parser.add_argument("--dtype", choices=STORAGE_DTYPES, default="f32",
                        help="storage type of matrices (vectors stay f32); int8: linear weights per output channel, embedding tables f16")
    parser.add_argument("--pooling", help="comma-separated pooling modes overriding the model's: " + ",".join(POOLING_MODES))
    parser.add_argument("--normalize", dest="normalize", action="store_true", default=None, help="L2-normalise embeddings")
    parser.add_argument("--no-normalize", dest="normalize", action="store_false")
    parser.add_argument("--inspect", type=Path, metavar="FILE", help="print the header, metadata and tensor table of FILE")
    args = parser.parse_args(argv)
    try:
        if args.inspect:
            print(describe(read_model_file(args.inspect)))
            return 0
        if not args.model_dir or not args.out_file:
            parser.error("MODEL_DIR and OUT_FILE are required (or --inspect FILE)")
        pooling = None
        if args.pooling:
            pooling = [m.strip() for m in args.pooling.split(",") if m.strip()]
            bad = [m for m in pooling if m not in POOLING_MODES]
            if bad:
                parser.error(f"unknown pooling mode {bad[0]!r} (known: {', '.join(POOLING_MODES)})")
        metadata = convert(args.model_dir, args.out_file, args.dtype, pooling, args.normalize)
        print(f"wrote {args.out_file}: {metadata['config.family']} {metadata['config.num_layers']} layers, "
              f"hidden {metadata['config.hidden_size']}, {args.dtype}, pooling {'+'.join(metadata['pooling.modes'])}"
              f"{' + normalize' if metadata['pooling.normalize'] else ''}")
        return 0
    except (ConversionError, CheckpointError, HeadError, ValueError, OSError, KeyError) as e:
        print(f"convert.py: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
