"""embedrank's encoder beside sentence-transformers (PyTorch fp32) and ONNX Runtime (fp32 and int8), same texts, same cores.

    python3 bench/compare_encoders.py build/bin/bench_encoder_latency [--threads 1,2] [--quick] [--write-docs]

Runs all-MiniLM-L6-v2 end to end (text in, L2-normalised mean-pooled vector
out, tokenizer included) in three systems:

  embedrank       bench_encoder_latency (Embedder::embed on models/all-MiniLM-L6-v2.f32.bin)
  PyTorch         SentenceTransformer.encode (fp32, the model's default attention)
  ONNX Runtime    the BertModel exported with torch.onnx.export and fused by
                  onnxruntime.transformers.optimizer (Attention, SkipLayerNorm,
                  BiasGelu, EmbedLayerNorm), Hugging Face fast tokenizer with
                  padding to the longest text, mean pooling and normalisation in numpy

and in int8:

  embedrank int8  the same on models/all-MiniLM-L6-v2.int8.bin (weights int8 per
                  row and group of 32, activations 16-bit per token)
  ONNX Runtime int8, the fused model through onnxruntime.quantization.quantize_dynamic:
                  default (per-tensor weights, full range) and per-channel with
                  reduce_range (7-bit weights), the two settings users try first

on three workloads: one short query per call (~12 tokens), a batch of 32
shop titles of 8 to 64 tokens, and a batch of 32 descriptions of ~200 tokens.
Each system runs in its own process, pinned to the same CPUs (the first N
this process may use) with N intra-op threads (torch.set_num_threads,
intra_op_num_threads with inter_op 1, embedrank threads=N), for every N of
--threads. Before timing, the three systems' embeddings of every text must
agree (cosine > 0.9999). Timing interleaves the systems in rounds (A B C,
B C A, C A B, ...), each process timing its own calls; the table reports
the median (p50) and p99 of per-call latency, sentences/s = batch / p50 and
the ratios embedrank / peer (embedrank int8 / peer for the int8 peers). The
fp32 systems must agree before timing; each int8 system's minimum cosine to
the fp32 embeddings (sentence-transformers') is reported beside its speed.
The tokenizer's share is timed separately on
the same batch, so the tables also give the encoder-only p50 (e2e - tokenizer).

Python packages: the script creates .venv-bench/ in the repository root and
installs sentence-transformers, torch, onnx, onnxruntime, onnxscript and
matplotlib into it (once; a stamp file records what was installed), then
re-runs itself there. --python uses an existing interpreter with those
packages instead. Not part of CI.

Outputs: the tables on stdout, a bar chart (docs/encoder-peers.png), the raw
samples as JSON (--json), and with --write-docs the table in the
"## Encoder beside peers" section of docs/benchmarks.md (between its
encoder-peers markers).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR = ROOT / "models" / "all-MiniLM-L6-v2"
MODEL_BIN = ROOT / "models" / "all-MiniLM-L6-v2.f32.bin"
MODEL_INT8 = ROOT / "models" / "all-MiniLM-L6-v2.int8.bin"
CATALOGUE = ROOT / "examples" / "data" / "catalogue.tsv"
VENV = ROOT / ".venv-bench"
REQUIREMENTS = ["sentence-transformers", "torch", "transformers", "onnx", "onnxruntime", "onnxscript", "matplotlib", "numpy"]
FP32_SYSTEMS = ["embedrank", "pytorch", "onnxruntime"]
INT8_SYSTEMS = ["embedrank-int8", "onnxruntime-int8", "onnxruntime-int8-pc"]
SYSTEMS = FP32_SYSTEMS + INT8_SYSTEMS
LABELS = {"embedrank": "embedrank", "pytorch": "sentence-transformers (PyTorch)", "onnxruntime": "ONNX Runtime",
          "embedrank-int8": "embedrank int8", "onnxruntime-int8": "ONNX Runtime int8 (default)",
          "onnxruntime-int8-pc": "ONNX Runtime int8 (per-channel, reduce_range)"}
# The embedrank build each peer is compared with.
OURS = {"pytorch": "embedrank", "onnxruntime": "embedrank", "onnxruntime-int8": "embedrank-int8",
        "onnxruntime-int8-pc": "embedrank-int8"}
WORKLOADS = ["query", "titles", "long"]
WORKLOAD_LABELS = {"query": "1 query (~12 tokens)", "titles": "32 titles (8-64 tokens)", "long": "32 descriptions (~200 tokens)"}
# Seconds each system spends timing one workload at one thread count (default; --quick divides by 4).
BUDGET_SECONDS = {"query": 4.0, "titles": 8.0, "long": 16.0}
AGREEMENT = 0.9999
DOCS = ROOT / "docs" / "benchmarks.md"
DOCS_BEGIN = "<!-- encoder-peers:begin (written by bench/compare_encoders.py --write-docs) -->"
DOCS_END = "<!-- encoder-peers:end -->"

QUERIES = [
    "red linen summer dress with pockets for a beach wedding",
    "waterproof hiking boots for women with wide feet",
    "wireless noise cancelling earbuds for running in the rain",
    "cast iron frying pan that works on an induction hob",
    "gentle fragrance free moisturiser for dry sensitive skin",
    "birthday present for a five year old who loves dinosaurs",
    "lightweight two person tent for backpacking in the mountains",
    "grain free wet food for an older indoor cat",
]


# ---------------------------------------------------------------- environment

def ensure_environment(args: argparse.Namespace) -> None:
    """Re-runs this script under --python or .venv-bench/ (created and filled once) unless already there."""
    if os.environ.get("COMPARE_ENCODERS_CHILD") == "1":
        return
    if args.python:
        python = Path(args.python)
    else:
        python = VENV / "bin" / "python"
        stamp = VENV / ".compare_encoders-requirements"
        wanted = "\n".join(REQUIREMENTS) + "\n"
        if not python.exists():
            print(f"creating {VENV}", file=sys.stderr)
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        if not stamp.exists() or stamp.read_text() != wanted:
            print(f"installing {' '.join(REQUIREMENTS)} into {VENV} (once)", file=sys.stderr)
            subprocess.run([str(python), "-m", "pip", "install", "--upgrade", "pip"], check=True)
            pip = [str(python), "-m", "pip", "install"]
            if args.torch_index_url:
                subprocess.run(pip + ["torch", "--index-url", args.torch_index_url], check=True)
            subprocess.run(pip + REQUIREMENTS, check=True)
            stamp.write_text(wanted)
    env = dict(os.environ, COMPARE_ENCODERS_CHILD="1")
    result = subprocess.run([str(python), str(Path(__file__).resolve())] + sys.argv[1:], env=env)
    sys.exit(result.returncode)


def worker_env(threads: int) -> dict:
    env = dict(os.environ)
    for key in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[key] = str(threads)
    env["TOKENIZERS_PARALLELISM"] = "false"
    env["RAYON_NUM_THREADS"] = "1"
    env["TRANSFORMERS_VERBOSITY"] = "error"
    env["HF_HUB_OFFLINE"] = "1"
    env["COMPARE_ENCODERS_CHILD"] = "1"
    return env


# ---------------------------------------------------------------- texts

def token_count(tokenizer, text: str) -> int:
    return len(tokenizer(text, truncation=True, max_length=256)["input_ids"])


# A unit a text may be cut after: one CJK character, or a run of other non-space characters.
CUT_UNIT = re.compile(r"[\u3000-\u9fff\uff00-\uffef]|[^\s\u3000-\u9fff\uff00-\uffef]+")


def longest_prefix(tokenizer, text: str, limit: int) -> str:
    """The longest prefix of `text`, cut after a word or CJK character, with at most `limit` tokens (specials included)."""
    ends = [m.end() for m in CUT_UNIT.finditer(text)]
    lo, hi = 1, len(ends)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if token_count(tokenizer, text[:ends[mid - 1]]) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return text[:ends[lo - 1]]


def build_workloads(tokenizer) -> dict[str, list[list[str]]]:
    """Workload -> calls, each a list of texts. Titles and descriptions come from examples/data/catalogue.tsv."""
    rows = [line.split("\t") for line in CATALOGUE.read_text(encoding="utf-8").splitlines()[1:] if line.strip()]
    titles, descriptions = [r[2] for r in rows], [r[3] for r in rows]

    def title_and_descriptions(row: int, min_chars: int) -> str:
        text = titles[row] + ","
        while len(text) < min_chars:
            text += " " + descriptions[row % len(rows)]
            row += 1
        return text

    # Titles of 8 to 64 tokens, evenly spread: a title, lengthened with descriptions or cut to the target.
    mixed = [longest_prefix(tokenizer, title_and_descriptions((i * 11) % len(rows), 600), 8 + round(i * (64 - 8) / 31))
             for i in range(32)]
    # Descriptions of ~200 tokens: consecutive catalogue descriptions joined, cut to 200 tokens.
    long_texts = [longest_prefix(tokenizer, title_and_descriptions((i * 7) % len(rows), 1600)[len(titles[(i * 7) % len(rows)]) + 2:], 200)
                  for i in range(32)]
    return {"query": [[q] for q in QUERIES], "titles": [mixed], "long": [long_texts]}


def write_workload(path: Path, calls: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8") as out:
        for index, texts in enumerate(calls):
            for text in texts:
                if "\n" in text or "\t" in text:
                    raise ValueError(f"workload text contains a tab or newline: {text!r}")
                out.write(f"{index}\t{text}\n")


def read_workload(path: str) -> list[list[str]]:
    calls: list[list[str]] = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        index, text = line.split("\t", 1)
        if int(index) == len(calls):
            calls.append([])
        calls[int(index)].append(text)
    return calls


# ---------------------------------------------------------------- ONNX export

def export_onnx(cache_dir: Path) -> Path:
    """models/all-MiniLM-L6-v2 as ONNX, fused for CPU fp32 (cached by the model's size and mtime)."""
    import torch
    from onnxruntime.transformers.optimizer import optimize_model
    from transformers import AutoModel, AutoTokenizer

    weights = MODEL_DIR / "model.safetensors"
    key = f"{weights.stat().st_size}-{int(weights.stat().st_mtime)}-torch{torch.__version__}"
    optimized = cache_dir / f"all-MiniLM-L6-v2.{key}.opt.onnx"
    if optimized.exists():
        return optimized
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Eager attention exports the MatMul/Softmax pattern the BERT fusion recognises (SDPA does not fuse).
    model = AutoModel.from_pretrained(str(MODEL_DIR), attn_implementation="eager").eval()
    tokenizer = AutoTokenizer.from_pretrained(str(MODEL_DIR))

    class LastHiddenState(torch.nn.Module):
        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state

    names = ["input_ids", "attention_mask", "token_type_ids"]
    sample = tokenizer(["red dress", "a longer text about waterproof boots"], padding=True, return_tensors="pt")
    raw = cache_dir / f"all-MiniLM-L6-v2.{key}.onnx"
    with torch.no_grad():
        torch.onnx.export(LastHiddenState(model).eval(), tuple(sample[n] for n in names), str(raw),
                          input_names=names, output_names=["last_hidden_state"], opset_version=17, dynamo=False,
                          dynamic_axes={n: {0: "batch", 1: "sequence"} for n in names + ["last_hidden_state"]})
    fused = optimize_model(str(raw), model_type="bert", num_heads=12, hidden_size=384, opt_level=1, use_gpu=False)
    stats = {k: v for k, v in fused.get_fused_operator_statistics().items() if v}
    print(f"ONNX fusions: {stats}", file=sys.stderr)
    if not stats.get("Attention"):
        print("warning: the ONNX optimizer fused no Attention node; ONNX Runtime runs unfused attention", file=sys.stderr)
    fused.save_model_to_file(str(optimized))
    raw.unlink()
    return optimized


def quantize_onnx(optimized: Path, per_channel: bool) -> Path:
    """The fused fp32 model through ONNX Runtime's dynamic int8 quantization (cached beside it)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    out = optimized.with_suffix(".int8-pc.onnx" if per_channel else ".int8.onnx")
    if not out.exists():
        # The fused contrib ops (Attention, SkipLayerNormalization) have no ONNX shape inference: their
        # outputs are declared float, as the quantizer's error message advises.
        quantize_dynamic(str(optimized), str(out), weight_type=QuantType.QInt8, per_channel=per_channel,
                         reduce_range=per_channel, extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    return out


# ---------------------------------------------------------------- workers (run in child processes)

def mean_pool_normalize(states, mask):
    import numpy as np
    m = mask[:, :, None].astype(np.float32)                          # (B, T, 1)
    pooled = (states * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)  # (B, H)
    return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)


def run_worker(args: argparse.Namespace) -> None:
    """A Python system behind the same stdin protocol as bench_encoder_latency."""
    import numpy as np
    threads = args.threads_one
    workloads = {}
    for spec in args.workload:
        name, path = spec.split("=", 1)
        workloads[name] = read_workload(path)

    if args.worker == "pytorch":
        import torch
        torch.set_num_threads(threads)
        torch.set_num_interop_threads(1)
        from sentence_transformers import SentenceTransformer
        model = SentenceTransformer(str(MODEL_DIR), device="cpu")

        preprocess = model.preprocess if hasattr(model, "preprocess") else model.tokenize

        def tokenize(texts):
            return preprocess(texts)

        def embed(texts):
            return model.encode(texts, batch_size=32, convert_to_numpy=True, show_progress_bar=False)
    else:
        import onnxruntime as ort
        from transformers import AutoTokenizer
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = ort.InferenceSession(args.onnx, options, providers=["CPUExecutionProvider"])
        inputs = [i.name for i in session.get_inputs()]
        tokenizer = AutoTokenizer.from_pretrained(str(MODEL_DIR))

        def tokenize(texts):
            return tokenizer(texts, padding=True, truncation=True, max_length=256, return_tensors="np")

        def embed(texts):
            encoded = tokenize(texts)
            feeds = {name: encoded[name].astype(np.int64) for name in inputs}
            states = session.run(None, feeds)[0]  # (B, T, H)
            return mean_pool_normalize(states, encoded["attention_mask"])

    print(json.dumps({"ready": True, "threads": threads}), flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] == "quit":
            break
        calls = workloads.get(words[1]) if len(words) > 1 else None
        if calls is None:
            print(json.dumps({"error": f"unknown workload or command: {line.strip()}"}), flush=True)
        elif words[0] == "time":
            e2e, cpu, tok = [], [], []
            for call in range(int(words[2])):
                texts = calls[call % len(calls)]
                start = time.perf_counter()
                tokenize(texts)
                tok.append(time.perf_counter() - start)
                cpu_start, start = time.process_time(), time.perf_counter()
                out = embed(texts)
                e2e.append(time.perf_counter() - start)
                cpu.append(time.process_time() - cpu_start)
                assert out.shape[0] == len(texts)
            print(json.dumps({"e2e": e2e, "cpu": cpu, "tokenize": tok}), flush=True)
        elif words[0] == "embed":
            rows = [row for texts in calls for row in np.asarray(embed(texts), dtype=np.float64).tolist()]
            print(json.dumps({"embeddings": rows}), flush=True)
        else:
            print(json.dumps({"error": f"unknown command: {line.strip()}"}), flush=True)


class Worker:
    """One system in its own process, answering one JSON line per command."""

    def __init__(self, name: str, command: list[str], threads: int):
        self.name = name
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True, env=worker_env(threads), cwd=ROOT)
        ready = self._read()
        if not ready.get("ready"):
            raise RuntimeError(f"{name}: did not start: {ready}")

    def _read(self) -> dict:
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.name}: worker exited (code {self.process.wait()})")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"{self.name}: {answer['error']}")
        return answer

    def ask(self, command: str) -> dict:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self._read()

    def close(self) -> None:
        try:
            self.process.stdin.write("quit\n")
            self.process.stdin.close()
        except BrokenPipeError:
            pass
        self.process.wait(timeout=60)


# ---------------------------------------------------------------- measurement

def percentile(values: list[float], q: float) -> float:
    """Linear-interpolation percentile (numpy's default)."""
    s = sorted(values)
    pos = (len(s) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def check_agreement(workers: dict[str, Worker], workloads: list[str]) -> tuple[dict, dict]:
    """Minimum cosine over all texts for every pair of fp32 systems, and of each int8 system to
    sentence-transformers' fp32 embeddings (over all workloads)."""
    import numpy as np

    def unit(v):
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    agreement, fidelity = {}, {name: 1.0 for name in INT8_SYSTEMS}
    for workload in workloads:
        vectors = {name: unit(np.asarray(w.ask(f"embed {workload}")["embeddings"], dtype=np.float64))
                   for name, w in workers.items()}
        for i, a in enumerate(FP32_SYSTEMS):
            for b in FP32_SYSTEMS[i + 1:]:
                agreement[f"{workload}: {a} vs {b}"] = float((vectors[a] * vectors[b]).sum(axis=1).min())
        for name in INT8_SYSTEMS:
            fidelity[name] = min(fidelity[name], float((vectors[name] * vectors["pytorch"]).sum(axis=1).min()))
    return agreement, fidelity


def measure(workers: dict[str, Worker], workload: str, batch: int, budget: float, rounds: int) -> dict:
    """Interleaved rounds; each system spends about budget/rounds seconds per round on `workload`."""
    per_call = {}
    for name, worker in workers.items():
        first = worker.ask(f"time {workload} 1")["e2e"][0]  # warm-up: first-call allocations, lazy initialisation
        per_call[name] = statistics.median(worker.ask(f"time {workload} 3")["e2e"]) if first < 0.2 else first
    samples = {name: {"e2e": [], "cpu": [], "tokenize": []} for name in workers}
    order = list(workers)
    for r in range(rounds):
        for name in order[r % len(order):] + order[:r % len(order)]:
            calls = max(1, int(budget / rounds / per_call[name]))
            answer = workers[name].ask(f"time {workload} {calls}")
            for key in samples[name]:
                samples[name][key] += answer[key]
    stats = {}
    for name, s in samples.items():
        p50 = statistics.median(s["e2e"])
        tok = statistics.median(s["tokenize"])
        cpu = statistics.median(s["cpu"])
        stats[name] = {"calls": len(s["e2e"]), "p50_s": p50, "p99_s": percentile(s["e2e"], 99),
                       "cpu_p50_s": cpu, "tokenize_p50_s": tok, "encoder_p50_s": max(p50 - tok, 0.0),
                       "sentences_per_s": batch / p50, "sentences_per_cpu_s": batch / cpu, "samples": s}
    return stats


# ---------------------------------------------------------------- reporting

def format_rate(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.1f}"


def speedups(stats: dict, name: str) -> tuple[float, float, float]:
    """embedrank's speed-up over `name` (int8 over the int8 peers): wall p50, CPU time p50, encoder-only p50 (peer / embedrank)."""
    ours, peer = stats[OURS[name]], stats[name]
    return (peer["p50_s"] / ours["p50_s"], peer["cpu_p50_s"] / ours["cpu_p50_s"],
            peer["encoder_p50_s"] / max(ours["encoder_p50_s"], 1e-12))


def table(results: dict, fidelity: dict) -> str:
    lines = ["| threads | workload | system | min cosine to fp32 | sentences/s | p50 ms | p99 ms | CPU ms per call "
             "| encoder-only p50 ms | embedrank speed-up: p50 / CPU / encoder-only |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for threads, per_workload in results.items():
        for workload, stats in per_workload.items():
            for name in SYSTEMS:
                s = stats[name]
                ratio = " / ".join(f"{r:.2f}x" for r in speedups(stats, name)) if name in OURS else "-"
                cosine = f"{fidelity[name]:.4f}" if name in fidelity else "fp32"
                lines.append(f"| {threads} | {WORKLOAD_LABELS[workload]} | {LABELS[name]} | {cosine} | "
                             f"{format_rate(s['sentences_per_s'])} | {s['p50_s'] * 1e3:.2f} | {s['p99_s'] * 1e3:.2f} | "
                             f"{s['cpu_p50_s'] * 1e3:.2f} | {s['encoder_p50_s'] * 1e3:.2f} | {ratio} |")
    return "\n".join(lines)


def draw_chart(results: dict, path: Path, subtitle: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {"embedrank": "#1b9e77", "pytorch": "#d95f02", "onnxruntime": "#7570b3",
               "embedrank-int8": "#66c2a5", "onnxruntime-int8": "#bcbddc", "onnxruntime-int8-pc": "#9e9ac8"}
    metrics = [("sentences_per_s", "sentences/s (median call, wall)"),
               ("sentences_per_cpu_s", "sentences per CPU second")]
    thread_counts = list(results)
    fig, axes = plt.subplots(len(metrics), len(WORKLOADS), figsize=(4.6 * len(WORKLOADS), 3.6 * len(metrics)), squeeze=False)
    width = 0.8 / len(SYSTEMS)
    for row, (metric, ylabel) in enumerate(metrics):
        for ax, workload in zip(axes[row], WORKLOADS):
            for k, name in enumerate(SYSTEMS):
                xs = [i + (k - (len(SYSTEMS) - 1) / 2) * width for i in range(len(thread_counts))]
                values = [results[t][workload][name][metric] for t in thread_counts]
                bars = ax.bar(xs, values, width, color=colours[name], label=LABELS[name])
                for bar, t in zip(bars, thread_counts):
                    if name in OURS:
                        text = f"{results[t][workload][OURS[name]][metric] / bar.get_height():.2f}x"
                    else:
                        text = format_rate(bar.get_height())
                    ax.annotate(text, (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom",
                                fontsize=6, rotation=90)
            ax.set_xticks(range(len(thread_counts)))
            ax.set_xticklabels([f"{t} thread{'s' if int(t) > 1 else ''}" for t in thread_counts])
            ax.set_title(WORKLOAD_LABELS[workload], fontsize=10)
            ax.set_ylabel(ylabel, fontsize=9)
            ax.margins(y=0.18)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=9, frameon=False)
    fig.suptitle("all-MiniLM-L6-v2, end to end (tokenizer included); label on embedrank: its rate, on a peer: "
                 "embedrank's speed-up over it (int8 over int8)\n" + subtitle, fontsize=9)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_docs(text: str) -> None:
    doc = DOCS.read_text(encoding="utf-8")
    if DOCS_BEGIN not in doc or DOCS_END not in doc:
        raise SystemExit(f"{DOCS}: no encoder-peers markers; add the '## Encoder beside peers' section first")
    head, rest = doc.split(DOCS_BEGIN, 1)
    _, tail = rest.split(DOCS_END, 1)
    DOCS.write_text(head + DOCS_BEGIN + "\n" + text + "\n" + DOCS_END + tail, encoding="utf-8")


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


# ---------------------------------------------------------------- main

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("binary", nargs="?", default=str(ROOT / "build" / "bin" / "bench_encoder_latency"),
                        help="bench_encoder_latency (default build/bin/bench_encoder_latency)")
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    parser.add_argument("--quick", action="store_true", help="a quarter of the default timing budget, 3 rounds")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds per workload (default 5)")
    parser.add_argument("--budget-scale", type=float, default=1.0, help="multiplies the per-workload timing budget")
    parser.add_argument("--python", help="run in this interpreter (with the packages) instead of .venv-bench/")
    parser.add_argument("--torch-index-url", help="pip index for torch when creating .venv-bench (e.g. the CPU wheels)")
    parser.add_argument("--cache-dir", help="where the ONNX export is kept (default: compare_encoders/ in the binary's build directory)")
    parser.add_argument("--chart", default=str(ROOT / "docs" / "encoder-peers.png"), help="PNG to write ('' for none)")
    parser.add_argument("--json", help="write all samples and statistics here")
    parser.add_argument("--write-docs", action="store_true", help="replace the table in docs/benchmarks.md")
    parser.add_argument("--worker", choices=["pytorch", "onnxruntime"], help=argparse.SUPPRESS)
    parser.add_argument("--workload", action="append", default=[], help=argparse.SUPPRESS)
    parser.add_argument("--onnx", help=argparse.SUPPRESS)
    parser.add_argument("--threads-one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        run_worker(args)
        return
    ensure_environment(args)

    binary = Path(args.binary)
    if not binary.exists():
        raise SystemExit(f"{binary}: not found; build it with cmake --build build --target bench_encoder_latency")
    if not MODEL_BIN.exists() or not MODEL_INT8.exists() or not MODEL_DIR.exists():
        raise SystemExit(f"{MODEL_BIN}, {MODEL_INT8} or {MODEL_DIR} missing; run ./scripts/get_model.sh")
    thread_counts = [int(t) for t in args.threads.split(",")]
    allowed = sorted(os.sched_getaffinity(0))
    if max(thread_counts) > len(allowed):
        raise SystemExit(f"--threads {args.threads}: only {len(allowed)} CPUs available ({allowed})")
    rounds = 3 if args.quick else args.rounds
    scale = args.budget_scale * (0.25 if args.quick else 1.0)

    import onnxruntime
    import sentence_transformers
    import torch
    import transformers
    from transformers import AutoTokenizer

    started = time.time()
    tokenizer = AutoTokenizer.from_pretrained(str(MODEL_DIR))
    workloads = build_workloads(tokenizer)
    token_stats = {}
    print("Texts (tokens with [CLS] and [SEP], Hugging Face fast tokenizer):")
    for name, calls in workloads.items():
        counts = [token_count(tokenizer, t) for texts in calls for t in texts]
        token_stats[name] = {"texts_per_call": len(calls[0]), "min": min(counts), "median": statistics.median(counts),
                             "max": max(counts), "mean": sum(counts) / len(counts)}
        print(f"  {name:7s} {len(calls)} call(s) of {len(calls[0])} text(s); tokens min {min(counts)}, "
              f"median {statistics.median(counts):g}, max {max(counts)}; e.g. {calls[0][0][:70]!r}")
    onnx_path = export_onnx(Path(args.cache_dir) if args.cache_dir else binary.resolve().parent.parent / "compare_encoders")
    onnx_int8 = {"onnxruntime-int8": quantize_onnx(onnx_path, per_channel=False),
                 "onnxruntime-int8-pc": quantize_onnx(onnx_path, per_channel=True)}
    versions = (f"torch {torch.__version__}, sentence-transformers {sentence_transformers.__version__}, "
                f"transformers {transformers.__version__}, onnxruntime {onnxruntime.__version__}")
    print(f"{cpu_name()}; CPUs available {allowed}; {versions}")

    results: dict = {}
    agreement: dict = {}
    fidelity: dict = {}
    with tempfile.TemporaryDirectory(prefix="compare_encoders_") as tmp:
        files = {}
        for name, calls in workloads.items():
            files[name] = Path(tmp) / f"{name}.tsv"
            write_workload(files[name], calls)
        workload_args = [a for name in WORKLOADS for a in ("--workload", f"{name}={files[name]}")]
        for threads in thread_counts:
            cpus = set(allowed[:threads])
            os.sched_setaffinity(0, cpus)  # inherited by the workers
            print(f"\n== {threads} thread(s), pinned to CPUs {sorted(cpus)}")
            me = [sys.executable, str(Path(__file__).resolve()), "--threads-one", str(threads)] + workload_args
            workers = {}
            try:
                workers["embedrank"] = Worker("embedrank", [str(binary), "--model", str(MODEL_BIN), "--threads", str(threads)] + workload_args, threads)
                workers["pytorch"] = Worker("pytorch", me + ["--worker", "pytorch"], threads)
                workers["onnxruntime"] = Worker("onnxruntime", me + ["--worker", "onnxruntime", "--onnx", str(onnx_path)], threads)
                workers["embedrank-int8"] = Worker("embedrank-int8", [str(binary), "--model", str(MODEL_INT8), "--threads", str(threads)] + workload_args, threads)
                for name, path in onnx_int8.items():
                    workers[name] = Worker(name, me + ["--worker", "onnxruntime", "--onnx", str(path)], threads)
                if not agreement:
                    agreement, fidelity = check_agreement(workers, WORKLOADS)
                    print("int8, min cosine to fp32 over all texts: " + ", ".join(f"{k} {v:.5f}" for k, v in fidelity.items()))
                    worst = min(agreement.values())
                    print("Agreement (min cosine over all texts): " + ", ".join(f"{k} {v:.7f}" for k, v in agreement.items()))
                    if worst <= AGREEMENT:
                        raise SystemExit(f"embeddings disagree (min cosine {worst:.7f} <= {AGREEMENT}); not timing")
                    print(f"All pairs agree: min cosine {worst:.7f} > {AGREEMENT}")
                results[threads] = {}
                for workload in WORKLOADS:
                    batch = token_stats[workload]["texts_per_call"]
                    results[threads][workload] = measure(workers, workload, batch, BUDGET_SECONDS[workload] * scale, rounds)
                    for name in SYSTEMS:
                        s = results[threads][workload][name]
                        print(f"  {workload:7s} {name:20s} {s['sentences_per_s']:10.1f} sentences/s  p50 {s['p50_s'] * 1e3:9.2f} ms  "
                              f"p99 {s['p99_s'] * 1e3:9.2f} ms  CPU {s['cpu_p50_s'] * 1e3:9.2f} ms  tokenizer {s['tokenize_p50_s'] * 1e3:7.2f} ms  ({s['calls']} calls)")
            finally:
                for w in workers.values():
                    w.close()
        os.sched_setaffinity(0, set(allowed))

    print()
    markdown = table(results, fidelity)
    print(markdown)
    print("\nSpeed-up of embedrank, end to end (peer / embedrank; wall p50, CPU time p50); int8 against the faster ONNX Runtime int8:")
    for threads, per_workload in results.items():
        for workload, stats in per_workload.items():
            (pw, pc, _), (ow, oc, _) = speedups(stats, "pytorch"), speedups(stats, "onnxruntime")
            best = min(("onnxruntime-int8", "onnxruntime-int8-pc"), key=lambda n: stats[n]["p50_s"])
            iw, ic, _ = speedups(stats, best)
            print(f"  {threads} thread(s) {workload:7s} vs PyTorch {pw:5.2f}x wall {pc:5.2f}x CPU   "
                  f"vs ONNX Runtime {ow:5.2f}x wall {oc:5.2f}x CPU   int8 vs {LABELS[best]} {iw:5.2f}x wall {ic:5.2f}x CPU")
    elapsed = time.time() - started
    print(f"\nTotal {elapsed:.0f} s")

    subtitle = f"{cpu_name()}, {', '.join(str(t) for t in thread_counts)} thread(s); {versions}"
    if args.chart:
        draw_chart(results, Path(args.chart), subtitle)
        print(f"chart: {args.chart}")
    if args.json:
        Path(args.json).write_text(json.dumps({"cpu": cpu_name(), "versions": versions, "tokens": token_stats,
                                               "agreement": agreement, "fidelity": fidelity, "results": results}, indent=1))
    if args.write_docs:
        command = "python3 bench/compare_encoders.py build/bin/bench_encoder_latency" + (" --quick" if args.quick else "")
        doc = (f"Measured on {cpu_name()} ({len(allowed)} CPUs), {time.strftime('%Y-%m-%d')}, in one run of "
               f"`{command}`; {versions}. Minimum cosine between any two fp32 systems over all texts: "
               f"{min(agreement.values()):.6f}; each int8 system's minimum cosine to fp32 is in its row.\n\n" + markdown)
        write_docs(doc)
        print(f"table written to {DOCS}")


if __name__ == "__main__":
    main()
