"""weights_tools/convert.py: formats, name mapping, refusals (runs with numpy only)."""
import json
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "weights_tools"))

import checkpoint  # noqa: E402
import convert  # noqa: E402
import model_file  # noqa: E402

MODELS = ROOT / "tests" / "data" / "models"
CONVERT = [sys.executable, str(ROOT / "weights_tools" / "convert.py")]


def write_safetensors(path: Path, tensors: dict) -> None:
    header, offset, blobs = {}, 0, []
    for name, array in tensors.items():
        raw = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    encoded = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + b"".join(blobs))


@pytest.fixture
def bert_dir(tmp_path):
    src = MODELS / "bert_gelu_fast_pooler"
    dst = tmp_path / "bert"
    shutil.copytree(src, dst)
    return dst


def run(*args):
    return subprocess.run(CONVERT + [str(a) for a in args], capture_output=True, text=True)


def test_converts_and_inspects(bert_dir, tmp_path):
    out = tmp_path / "m.bin"
    result = run(bert_dir, out, "--pooling", "pooler")
    assert result.returncode == 0, result.stderr
    parsed = model_file.read_model_file(out)
    assert parsed.metadata["config.family"] == "bert"
    assert parsed.metadata["pooling.modes"] == ["pooler"]
    assert parsed.data_offset % 64 == 0
    assert all(t.offset % 64 == 0 for t in parsed.tensors)
    names = [t.name for t in parsed.tensors]
    assert "encoder.layer.0.attention.self.qkv.weight" in names
    assert not any(".query." in n or "position_ids" in n for n in names)
    inspect = run("--inspect", out)
    assert inspect.returncode == 0
    assert "encoder.layer.1.output.LayerNorm.bias" in inspect.stdout
    assert "config.hidden_act" in inspect.stdout


def test_qkv_is_query_key_value_stacked(bert_dir, tmp_path):
    tensors, _ = checkpoint.read_checkpoint(bert_dir)
    out = tmp_path / "m.bin"
    convert.convert(bert_dir, out)
    qkv = model_file.read_model_file(out).array("encoder.layer.1.attention.self.qkv.weight")
    expected = np.concatenate([tensors[f"encoder.layer.1.attention.self.{n}.weight"] for n in ("query", "key", "value")])
    np.testing.assert_array_equal(qkv, expected)


def test_pytorch_bin_without_torch_matches_safetensors():
    from_bin, source = checkpoint.read_checkpoint(MODELS / "bert_relu_max_mean")
    assert source == "pytorch_model.bin"
    assert "torch" not in sys.modules
    assert from_bin["encoder.layer.1.output.dense.weight"].shape == (24, 40)
    assert all(a.dtype == np.float32 for a in from_bin.values())


def test_sharded_safetensors_are_merged():
    tensors, source = checkpoint.read_checkpoint(MODELS / "bert_silu_mean_sqrt_len")
    assert source == "model.safetensors.index.json"
    assert "encoder.layer.0.output.LayerNorm.weight" in tensors


def test_prefix_and_gamma_beta_are_mapped(bert_dir, tmp_path):
    # An old-style checkpoint: "bert." prefix, LayerNorm gamma/beta, a task head and position_ids.
    tensors, _ = checkpoint.read_checkpoint(bert_dir)
    renamed = {}
    for name, array in tensors.items():
        name = name.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")
        renamed["bert." + name] = array
    renamed["bert.embeddings.position_ids"] = np.arange(24, dtype=np.float32)[None]
    renamed["cls.predictions.bias"] = np.zeros(120, dtype=np.float32)
    (bert_dir / "model.safetensors").unlink()
    write_safetensors(bert_dir / "model.safetensors", renamed)
    out = tmp_path / "m.bin"
    convert.convert(bert_dir, out)
    got = model_file.read_model_file(out).array("encoder.layer.0.output.LayerNorm.weight")
    np.testing.assert_array_equal(got, tensors["encoder.layer.0.output.LayerNorm.weight"])


def test_refuses_unknown_architecture(bert_dir, tmp_path):
    config = json.loads((bert_dir / "config.json").read_text())
    config["model_type"] = "gpt2"
    (bert_dir / "config.json").write_text(json.dumps(config))
    result = run(bert_dir, tmp_path / "m.bin")
    assert result.returncode != 0
    assert "unsupported architecture" in result.stderr and "gpt2" in result.stderr
    assert not (tmp_path / "m.bin").exists()


def test_refuses_incomplete_checkpoint(bert_dir, tmp_path):
    tensors, _ = checkpoint.read_checkpoint(bert_dir)
    del tensors["encoder.layer.1.intermediate.dense.bias"]
    (bert_dir / "model.safetensors").unlink()
    write_safetensors(bert_dir / "model.safetensors", tensors)
    result = run(bert_dir, tmp_path / "m.bin")
    assert result.returncode != 0
    assert "encoder.layer.1.intermediate.dense.bias" in result.stderr
    assert not (tmp_path / "m.bin").exists()


def test_refuses_unknown_tensor(bert_dir, tmp_path):
    tensors, _ = checkpoint.read_checkpoint(bert_dir)
    tensors["encoder.layer.0.attention.self.rotary.weight"] = np.zeros((2, 2), np.float32)
    (bert_dir / "model.safetensors").unlink()
    write_safetensors(bert_dir / "model.safetensors", tensors)
    result = run(bert_dir, tmp_path / "m.bin")
    assert result.returncode != 0 and "rotary" in result.stderr


def test_sentence_transformers_layout_supplies_pooling_and_normalize(tmp_path):
    out = tmp_path / "m.bin"
    convert.convert(MODELS / "distilbert_relu_cls", out)
    meta = model_file.read_model_file(out).metadata
    assert meta["config.family"] == "distilbert"
    assert meta["pooling.modes"] == ["cls"] and meta["pooling.normalize"] is True
    assert meta["config.type_vocab_size"] == 0


@pytest.mark.parametrize("dtype", ["f16", "bf16"])
def test_half_storage_rounds_matrices_and_keeps_vectors(bert_dir, tmp_path, dtype):
    tensors, _ = checkpoint.read_checkpoint(bert_dir)
    out = tmp_path / "m.bin"
    convert.convert(bert_dir, out, dtype)
    parsed = model_file.read_model_file(out)
    entry = {t.name: t for t in parsed.tensors}
    assert model_file.DTYPE_NAMES[entry["encoder.layer.0.output.dense.weight"].dtype] == dtype
    assert model_file.DTYPE_NAMES[entry["encoder.layer.0.output.dense.bias"].dtype] == "f32"
    w = tensors["encoder.layer.0.output.dense.weight"]
    rel = 2.0**-11 if dtype == "f16" else 2.0**-8
    np.testing.assert_allclose(parsed.array("encoder.layer.0.output.dense.weight"), w, rtol=rel, atol=1e-7)


def test_int8_storage_quantizes_linear_weights_per_row_and_group(bert_dir, tmp_path):
    out = tmp_path / "m.int8.bin"
    convert.convert(bert_dir, out, "int8")
    model = model_file.read_model_file(out)
    entry = {t.name: t for t in model.tensors}
    assert model.version == model_file.FIRST_INT8_VERSION
    name = "encoder.layer.0.output.dense.weight"
    assert model_file.DTYPE_NAMES[entry[name].dtype] == "i8"
    assert model_file.DTYPE_NAMES[entry[name + "_scale"].dtype] == "f32"
    out, n_in = entry[name].shape
    assert entry[name + "_scale"].shape == (out, -(-n_in // model_file.INT8_GROUP))
    # embedding tables are not linear layers: half precision
    assert model_file.DTYPE_NAMES[entry["embeddings.word_embeddings.weight"].dtype] == "f16"
    assert model_file.DTYPE_NAMES[entry["encoder.layer.0.output.dense.bias"].dtype] == "f32"
    convert.convert(bert_dir, tmp_path / "m.f32.bin", "f32")
    exact = model_file.read_model_file(tmp_path / "m.f32.bin").array(name)
    approx = model.array(name)
    # each weight's error is at most half a step of its group's scale
    groups = model_file.INT8_GROUP
    for g in range(0, n_in, groups):
        step = np.abs(exact[:, g:g + groups]).max(axis=1) / 127
        assert np.all(np.abs(approx[:, g:g + groups] - exact[:, g:g + groups]) <= step[:, None] * 0.5 + 1e-7)
    assert model.metadata["int8.byte_activations"] == ["output.dense"]
    # a file without int8 tensors keeps format version 1
    assert model_file.read_model_file(tmp_path / "m.f32.bin").version == 1


def test_int8_quantization_is_symmetric_per_group_and_handles_zero_groups():
    w = np.zeros((3, 40), dtype=np.float32)  # two groups: 32 inputs and 8
    w[1, :3] = [1.0, -0.5, 0.25]
    w[2, :3] = [-2.0, 2.0, 1.0]
    w[2, 32:35] = [0.1, 0.0, -0.05]
    q, scale = model_file.quantize_int8(w)
    assert q.dtype == np.int8 and q.shape == (3, 40)
    assert scale.dtype == np.float32 and scale.shape == (3, 2)
    np.testing.assert_array_equal(q[0], np.zeros(40))
    np.testing.assert_array_equal(scale[0], [1.0, 1.0])
    np.testing.assert_array_equal(q[1, :3], [127, -64, 32])  # 63.5 rounds to even
    np.testing.assert_array_equal(q[2, :3], [-127, 127, 64])
    np.testing.assert_array_equal(q[2, 32:35], [127, 0, -64])  # the second group has its own scale
    assert np.isclose(scale[2, 1], 0.1 / 127)
    assert q.min() >= -127


def test_bf16_rounds_to_nearest_even():
    values = np.array([1.0, 1.0 + 2**-8, 1.0 + 3 * 2**-8, -2.5, np.inf], dtype=np.float32)
    bits = model_file.float32_to_bf16_bits(values)
    back = model_file.bf16_bits_to_float32(bits)
    np.testing.assert_array_equal(back, np.array([1.0, 1.0, 1.0 + 4 * 2**-8, -2.5, np.inf], dtype=np.float32))
    assert np.isnan(model_file.bf16_bits_to_float32(model_file.float32_to_bf16_bits(np.array([np.nan], np.float32))))


def test_sequence_length_of_a_folder_saved_by_current_sentence_transformers(tmp_path):
    # sentence-transformers 6.x writes no max_seq_length into sentence_bert_config.json:
    # the tokenizer's model_max_length decides (bert_st_saved: 16 of 24 positions)
    src = MODELS / "bert_st_saved"
    assert "max_seq_length" not in json.loads((src / "sentence_bert_config.json").read_text())
    expected = json.loads((src / "st_settings.json").read_text())["max_seq_length"]
    meta = convert.convert(src, tmp_path / "m.bin")
    assert meta["model.max_seq_length"] == expected == 16


def test_sequence_length_follows_sentence_transformers_rules(tmp_path):
    bert = {"max_position_embeddings": 24, "pad_token_id": 0}
    roberta = {"max_position_embeddings": 514, "pad_token_id": 1}

    def settings(family, config, st=None, tokenizer=None):
        d = tmp_path / f"case{len(list(tmp_path.iterdir()))}"
        d.mkdir()
        if st is not None:
            (d / "sentence_bert_config.json").write_text(json.dumps(st))
        if tokenizer is not None:
            (d / "tokenizer_config.json").write_text(json.dumps(tokenizer))
        return convert.sequence_settings(d, family, config)

    # the module config's max_seq_length wins (sentence-transformers < 6), capped by the positions
    assert settings("bert", bert, {"max_seq_length": 12}, {"model_max_length": 20}) == (12, False)
    assert settings("bert", bert, {"max_seq_length": 99}) == (24, False)
    assert settings("bert", bert, {"max_seq_length": 12, "do_lower_case": True}) == (12, True)
    # else the tokenizer's model_max_length, capped by max_position_embeddings
    assert settings("bert", bert, {}, {"model_max_length": 20}) == (20, False)
    assert settings("bert", bert, None, {"model_max_length": 512}) == (24, False)
    # transformers' "no limit" (1e30) and no tokenizer config: the positions
    assert settings("bert", bert, {}, {"model_max_length": 1e30}) == (24, False)
    assert settings("bert", bert) == (24, False)
    # RoBERTa: positions start after padding_idx; model_max_length 512 of 514 rows
    assert settings("roberta", roberta, {}, {"model_max_length": 512}) == (512, False)
    assert settings("roberta", roberta) == (512, False)


def test_mpnet_names_padding_and_relative_bias(tmp_path):
    # MPNet's attention.attn.q/k/v fuse into qkv; padding_idx is 1 whatever
    # config.json says; the bias table stays f32 in half-size files
    src = MODELS / "mpnet_relu_cls"
    tensors, _ = checkpoint.read_checkpoint(src)
    out = tmp_path / "mpnet.bin"
    metadata = convert.convert(src, out, "f16")
    assert metadata["config.family"] == "mpnet"
    assert metadata["config.pad_token_id"] == 1
    assert metadata["config.relative_attention_buckets"] == 40
    assert metadata["config.type_vocab_size"] == 0
    assert metadata["model.max_seq_length"] == 24  # 26 positions minus padding_idx + 1
    f = model_file.read_model_file(out)
    p = "encoder.layer.0.attention."
    qkv = np.concatenate([tensors[p + f"attn.{n}.weight"] for n in "qkv"])
    assert np.array_equal(f.array(p + "self.qkv.weight"), qkv.astype(np.float16).astype(np.float32))
    assert np.array_equal(f.array(p + "output.LayerNorm.weight"), tensors[p + "LayerNorm.weight"])
    bias = "encoder.relative_attention_bias.weight"
    assert next(t for t in f.tensors if t.name == bias).dtype == model_file.DTYPE_F32
    assert np.array_equal(f.array(bias), tensors[bias])


def test_mpnet_with_fewer_buckets_than_it_looks_up_is_refused(tmp_path):
    dst = tmp_path / "mpnet"
    shutil.copytree(MODELS / "mpnet_relu_cls", dst)
    config = json.loads((dst / "config.json").read_text())
    config["relative_attention_num_buckets"] = 16
    (dst / "config.json").write_text(json.dumps(config))
    with pytest.raises(convert.ConversionError, match="relative_attention_num_buckets=16"):
        convert.convert(dst, tmp_path / "out.bin")


def test_prompts_of_config_sentence_transformers_are_carried(tmp_path):
    metadata = convert.convert(MODELS / "bert_st_saved", tmp_path / "m.bin")
    prompts = dict(zip(metadata["embedder.prompt_names"], metadata["embedder.prompts"]))
    assert prompts["query"] == "query: " and prompts["passage"] == "passage: " and prompts["document"] == ""
    assert metadata["embedder.default_prompt_name"] == "query"
    stored = model_file.read_model_file(tmp_path / "m.bin").metadata
    assert stored["embedder.prompts"] == metadata["embedder.prompts"]


def test_bad_prompts_and_include_prompt_false_are_refused(tmp_path):
    dst = tmp_path / "st"
    shutil.copytree(MODELS / "bert_st_saved", dst)
    config_path = dst / "config_sentence_transformers.json"
    config = json.loads(config_path.read_text())
    config["default_prompt_name"] = "title"
    config_path.write_text(json.dumps(config))
    with pytest.raises(convert.ConversionError, match="default_prompt_name 'title'"):
        convert.convert(dst, tmp_path / "out.bin")
    config["default_prompt_name"] = None
    config_path.write_text(json.dumps(config))
    pooling_path = dst / "1_Pooling" / "config.json"
    pooling = json.loads(pooling_path.read_text())
    pooling["include_prompt"] = False
    pooling_path.write_text(json.dumps(pooling))
    with pytest.raises(convert.ConversionError, match="include_prompt"):
        convert.convert(dst, tmp_path / "out.bin")


def test_classification_heads_are_mapped(tmp_path):
    heads = ROOT / "tests" / "data" / "heads"
    seq = convert.convert(heads / "xlmr_seq_multilabel", tmp_path / "seq.bin")
    assert seq["head.type"] == "sequence_classification" and seq["head.style"] == "dense_tanh"
    assert seq["head.labels"] == ["red", "blue", "cotton", "sale"] and seq["head.function"] == "sigmoid"
    tensors, _ = checkpoint.read_checkpoint(heads / "xlmr_seq_multilabel")
    f = model_file.read_model_file(tmp_path / "seq.bin")
    assert np.array_equal(f.array("classifier.out.weight"), tensors["classifier.out_proj.weight"])
    assert np.array_equal(f.array("classifier.dense.bias"), tensors["classifier.dense.bias"])
    ce = convert.convert(heads / "bert_cross_encoder", tmp_path / "ce.bin")
    assert ce["head.style"] == "bert_pooler" and ce["head.cross_encoder_activation"] == "sigmoid"
    tok = convert.convert(heads / "bert_token_cls", tmp_path / "tok.bin")
    assert tok["head.type"] == "token_classification" and tok["head.labels"][0] == "O"
    assert not tok["config.has_pooler"]


def test_unsupported_cross_encoder_activation_is_refused(tmp_path):
    dst = tmp_path / "ce"
    shutil.copytree(ROOT / "tests" / "data" / "heads" / "bert_cross_encoder", dst)
    cfg = json.loads((dst / "config_sentence_transformers.json").read_text())
    cfg["activation_fn"] = "torch.nn.modules.activation.Softsign"
    (dst / "config_sentence_transformers.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="Softsign"):
        convert.convert(dst, tmp_path / "out.bin")
