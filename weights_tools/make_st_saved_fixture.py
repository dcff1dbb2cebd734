#!/usr/bin/env python3
"""A sentence-transformers folder as the installed sentence-transformers saves it.

Generate (development time; needs torch, transformers, sentence-transformers):
    python weights_tools/make_st_saved_fixture.py tests/data/models

Takes the committed tiny model bert_gelu_mean (its weights and WordPiece
vocabulary), gives it a tokenizer with model_max_length 24, loads it as
models.Transformer(max_seq_length=16) with mean pooling and Normalize, and
writes SentenceTransformer.save() into tests/data/models/bert_st_saved/:
sentence-transformers 6.x keeps the sequence length in tokenizer_config.json
(model_max_length) rather than in sentence_bert_config.json. Then it reloads
the folder and writes the reference embeddings of make_test_models.TEXTS
(several longer than 16 tokens) and st_settings.json (what
sentence-transformers decided), and adds the model to manifest.json.
The model carries prompts (config_sentence_transformers.json), E5-style
"query: " (the default) and "passage: ", an empty one, and an instruction
longer than the 16 tokens, so truncation has to count the prompt:
text_embeddings.npy is encode(TEXTS) (the default prompt applies),
text_embeddings.NAME.npy encode(TEXTS, prompt_name=NAME) for every prompt. The token-level references (inputs, hidden states, pooled)
are bert_gelu_mean's: the same weights.
"""
from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_test_models import TEXTS  # noqa: E402

NAME, SOURCE = "bert_st_saved", "bert_gelu_mean"
MAX_SEQ_LENGTH = 16
PROMPTS = {
    "query": "query: ",
    "passage": "passage: ",
    "document": "",
    "instruction": "Represent the shop product title for finding red cotton shirts and blue water bottles: ",
}
DEFAULT_PROMPT = "query"


def main() -> int:
    import sentence_transformers
    import transformers
    from sentence_transformers import SentenceTransformer, models

    root = Path(sys.argv[1])
    src, out = root / SOURCE, root / NAME
    with tempfile.TemporaryDirectory() as tmp:
        hf = Path(tmp)
        for f in ("config.json", "model.safetensors"):
            shutil.copy(src / f, hf / f)
        vocab = json.loads((src / "tokenizer.json").read_text())["model"]["vocab"]
        (hf / "vocab.txt").write_text("".join(t + "\n" for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])))
        tokenizer = transformers.BertTokenizerFast(vocab_file=str(hf / "vocab.txt"), do_lower_case=True)
        tokenizer.model_max_length = 24
        tokenizer.save_pretrained(hf)
        transformer = models.Transformer(str(hf), max_seq_length=MAX_SEQ_LENGTH)
        pooling = models.Pooling(transformer.get_word_embedding_dimension(), pooling_mode="mean")
        st = SentenceTransformer(modules=[transformer, pooling, models.Normalize()], device="cpu",
                                 prompts=PROMPTS, default_prompt_name=DEFAULT_PROMPT)
        shutil.rmtree(out, ignore_errors=True)
        st.save(str(out))
    (out / "README.md").unlink(missing_ok=True)
    reloaded = SentenceTransformer(str(out), device="cpu")
    assert reloaded.max_seq_length == MAX_SEQ_LENGTH, reloaded.max_seq_length
    embeddings = reloaded.encode(TEXTS, batch_size=4, convert_to_numpy=True)
    (out / "texts.txt").write_text("".join(t + "\n" for t in TEXTS), encoding="utf-8")
    np.save(out / "text_embeddings.npy", embeddings.astype(np.float32))
    assert reloaded.prompts == PROMPTS and reloaded.default_prompt_name == DEFAULT_PROMPT
    for name in PROMPTS:
        with_prompt = reloaded.encode(TEXTS, batch_size=4, convert_to_numpy=True, prompt_name=name)
        np.save(out / f"text_embeddings.{name}.npy", with_prompt.astype(np.float32))
    (out / "st_settings.json").write_text(json.dumps({
        "sentence_transformers": sentence_transformers.__version__,
        "max_seq_length": reloaded.max_seq_length,
    }, indent=2) + "\n")
    for f in ("inputs.txt", "token_types.txt", "hidden_states.npy", "pooled.npy"):
        shutil.copy(src / f, out / f)
    manifest_path = root / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest[NAME] = dict(manifest[SOURCE], layout="sentence-transformers", convert_pooling=None, convert_normalize=None)
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"{NAME}: saved by sentence-transformers {sentence_transformers.__version__}, "
          f"max_seq_length {reloaded.max_seq_length}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
