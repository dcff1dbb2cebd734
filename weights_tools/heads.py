"""Task heads for the converter: Hugging Face *ForSequenceClassification
checkpoints and sentence-transformers CrossEncoder folders (a
sequence-classification model over text pairs), and *ForTokenClassification
checkpoints (one linear layer `classifier.out` on every token's state).

Each family's head becomes `classifier.dense` (optional) and `classifier.out`
in the model file, with `head.*` metadata saying how the logits are made
(docs/weight-format.md):

    style        logits of the first token's state h
    bert_pooler  out(tanh(pooler.dense(h)))      BertForSequenceClassification
    dense_tanh   out(tanh(dense(h)))             RoBERTa / XLM-R / MPNet (ClassificationHead)
    dense_relu   out(relu(dense(h)))             DistilBertForSequenceClassification
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

HEADS = {
    "bert": ("bert_pooler", {"classifier.weight": "classifier.out.weight", "classifier.bias": "classifier.out.bias"}),
    "roberta": ("dense_tanh", {"classifier.dense.weight": "classifier.dense.weight",
                               "classifier.dense.bias": "classifier.dense.bias",
                               "classifier.out_proj.weight": "classifier.out.weight",
                               "classifier.out_proj.bias": "classifier.out.bias"}),
    "distilbert": ("dense_relu", {"pre_classifier.weight": "classifier.dense.weight",
                                  "pre_classifier.bias": "classifier.dense.bias",
                                  "classifier.weight": "classifier.out.weight",
                                  "classifier.bias": "classifier.out.bias"}),
}
HEADS["mpnet"] = HEADS["roberta"]

# sentence-transformers' activation_fn (a torch.nn class path) -> file value
ACTIVATIONS = {"Sigmoid": "sigmoid", "Identity": "identity", "Tanh": "tanh"}


class HeadError(ValueError):
    pass


TOKEN_HEAD = {"classifier.weight": "classifier.out.weight", "classifier.bias": "classifier.out.bias"}


def is_sequence_classifier(architecture: str) -> bool:
    return architecture.endswith("ForSequenceClassification")


def is_token_classifier(architecture: str) -> bool:
    return architecture.endswith("ForTokenClassification")


def split_head(family: str, tensors: dict, token: bool = False) -> tuple[dict, dict]:
    """(the head's tensors under their file names, the remaining tensors)."""
    if family not in HEADS:
        raise HeadError(f"classification heads are not supported for family {family!r}")
    names = TOKEN_HEAD if token else HEADS[family][1]
    head, rest = {}, {}
    for name, array in tensors.items():
        if name in names:
            head[names[name]] = array
        else:
            rest[name] = array
    missing = [n for n in names if names[n] not in head]
    if missing:
        raise HeadError(f"sequence-classification checkpoint lacks {missing[0]}")
    return head, rest


def _activation(model_dir: Path, hf: dict, num_labels: int) -> str:
    """What CrossEncoder.predict applies to the logits (sentence-transformers rules)."""
    name = None
    st6 = model_dir / "config_sentence_transformers.json"
    if st6.is_file():
        name = json.loads(st6.read_text()).get("activation_fn")
    if name is None:
        name = (hf.get("sentence_transformers") or {}).get("activation_fn")
    if name is None:
        return "sigmoid" if num_labels == 1 else "identity"
    short = name.rsplit(".", 1)[-1]
    if short not in ACTIVATIONS:
        raise HeadError(f"{model_dir}: CrossEncoder activation_fn {name!r} is not supported "
                        f"(supported: {', '.join(ACTIVATIONS)})")
    return ACTIVATIONS[short]


def token_head_metadata(model_dir: Path, head: dict, hidden_size: int) -> dict:
    """head.* keys of a token classifier; checks the tensors' shapes."""
    hf = json.loads((model_dir / "config.json").read_text())
    out_weight = head["classifier.out.weight"]
    num_labels = int(out_weight.shape[0])
    if out_weight.shape != (num_labels, hidden_size) or head["classifier.out.bias"].shape != (num_labels,):
        raise HeadError(f"{model_dir}: classifier of shape {out_weight.shape} does not fit hidden size {hidden_size}")
    id2label = hf.get("id2label") or {}
    return {
        "head.type": "token_classification",
        "head.labels": [str(id2label.get(str(i), id2label.get(i, f"LABEL_{i}"))) for i in range(num_labels)],
    }


def head_metadata(model_dir: Path, family: str, head: dict, hidden_size: int) -> dict:
    """head.* keys; checks the tensors' shapes against config.json."""
    hf = json.loads((model_dir / "config.json").read_text())
    out_weight = head["classifier.out.weight"]
    num_labels = int(out_weight.shape[0])
    id2label = hf.get("id2label") or {}
    labels = [str(id2label.get(str(i), id2label.get(i, f"LABEL_{i}"))) for i in range(num_labels)]
    if out_weight.shape != (num_labels, hidden_size) or head["classifier.out.bias"].shape != (num_labels,):
        raise HeadError(f"{model_dir}: classifier output of shape {out_weight.shape} does not fit hidden size {hidden_size}")
    if "classifier.dense.weight" in head and head["classifier.dense.weight"].shape != (hidden_size, hidden_size):
        raise HeadError(f"{model_dir}: classifier dense layer of shape {head['classifier.dense.weight'].shape}")
    problem_type = hf.get("problem_type")
    if problem_type not in (None, "regression", "single_label_classification", "multi_label_classification"):
        raise HeadError(f"{model_dir}/config.json: problem_type {problem_type!r} is not supported")
    # transformers' text-classification pipeline: sigmoid for multi-label or a
    # single logit, softmax for several labels, nothing for regression
    if problem_type == "regression":
        function = "none"
    elif problem_type == "multi_label_classification" or num_labels == 1:
        function = "sigmoid"
    else:
        function = "softmax"
    return {
        "head.type": "sequence_classification",
        "head.style": HEADS[family][0],
        "head.labels": labels,
        "head.problem_type": problem_type or "",
        "head.function": function,
        "head.cross_encoder_activation": _activation(model_dir, hf, num_labels),
    }


def ordered_head(head: dict) -> dict:
    order = ["classifier.dense.weight", "classifier.dense.bias", "classifier.out.weight", "classifier.out.bias"]
    return {name: np.asarray(head[name]) for name in order if name in head}
