"""Tokens/s of embedrank's tokenizers against the Hugging Face fast tokenizer (Rust), same corpus, same core.

    RAYON_NUM_THREADS=1 /opt/tokenv/bin/python bench/compare_tokenizers.py build/bin/bench_tokenizer

Pins itself (and bench_tokenizer, which inherits the affinity) to one CPU,
runs the Hugging Face tokenizer single-threaded (RAYON_NUM_THREADS=1,
encode_batch so the loop runs in Rust) on every line of
tests/data/text/corpus.txt with special tokens, for the same two tokenizers
bench_tokenizer uses (all-MiniLM-L6-v2's WordPiece rebuilt from
tests/data/text/minilm, and tests/data/text/xlmr_tiny), and prints the median
tokens/s of each over --repetitions runs, and the ratio. Both sides count CPU
time of the one thread, so load from other processes on a shared machine
does not bias the ratio. Needs the `tokenizers` package.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "text"


def unescape_line(line: str) -> str:
    out, i = [], 0
    while i < len(line):
        if line[i] == "\\" and i + 1 < len(line):
            out.append({"n": "\n", "r": "\r"}.get(line[i + 1], line[i + 1]))
            i += 2
        else:
            out.append(line[i])
            i += 1
    return "".join(out)


def hf_tokenizers():
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece

    vocab = {}
    for i, token in enumerate((DATA / "minilm" / "vocab.txt").read_text(encoding="utf-8").split("\n")):
        if token:
            vocab.setdefault(token, i)
    wordpiece = Tokenizer(WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    wordpiece.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True,
                                                      strip_accents=None, lowercase=True)
    wordpiece.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    wordpiece.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", 101), ("[SEP]", 102)])
    wordpiece.add_special_tokens(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    wordpiece.decoder = decoders.WordPiece()
    sentencepiece = Tokenizer.from_file(str(DATA / "xlmr_tiny" / "tokenizer.json"))
    for t in (wordpiece, sentencepiece):
        t.no_truncation()
        t.no_padding()
    return {"wordpiece": wordpiece, "sentencepiece": sentencepiece}


def measure_hf(tokenizer, corpus: list[str], repetitions: int, min_seconds: float) -> float:
    """Median tokens per CPU second of encode_batch over the corpus."""
    per_pass = sum(len(e.ids) for e in tokenizer.encode_batch(corpus, add_special_tokens=True))
    rates = []
    for _ in range(repetitions):
        passes, start, elapsed = 0, time.process_time(), 0.0
        while elapsed < min_seconds:
            tokenizer.encode_batch(corpus, add_special_tokens=True)
            passes += 1
            elapsed = time.process_time() - start
        rates.append(passes * per_pass / elapsed)
    return statistics.median(rates)


def measure_embedrank(bench: Path, repetitions: int, min_seconds: float) -> dict[str, float]:
    out = subprocess.run([str(bench), "--benchmark_filter=Corpus", "--benchmark_format=json",
                          f"--benchmark_repetitions={repetitions}", f"--benchmark_min_time={min_seconds}",
                          "--benchmark_report_aggregates_only=true"], check=True, capture_output=True, text=True)
    rates = {}
    for row in json.loads(out.stdout)["benchmarks"]:
        if row.get("aggregate_name") == "median":
            name = "wordpiece" if "WordPiece" in row["run_name"] else "sentencepiece"
            rates[name] = row["items_per_second"]  # per CPU second of the benchmark thread
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("bench", type=Path, help="path of bench_tokenizer")
    parser.add_argument("--cpu", type=int, default=None, help="CPU to pin to (default: the first allowed)")
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--min-seconds", type=float, default=1.0)
    args = parser.parse_args()

    cpu = args.cpu if args.cpu is not None else min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    corpus = [unescape_line(line) for line in (DATA / "corpus.txt").read_text(encoding="utf-8").split("\n")[:-1]]
    import tokenizers

    hf = {name: measure_hf(t, corpus, args.repetitions, args.min_seconds) for name, t in hf_tokenizers().items()}
    ours = measure_embedrank(args.bench, args.repetitions, args.min_seconds)
    print(f"corpus: {len(corpus)} texts, CPU {cpu}, tokenizers {tokenizers.__version__} (RAYON_NUM_THREADS="
          f"{os.environ['RAYON_NUM_THREADS']}), medians of {args.repetitions} runs, tokens per CPU second")
    print(f"{'tokenizer':<14} {'embedrank':>14} {'HF tokenizers':>14} {'ratio':>7}")
    for name in ("wordpiece", "sentencepiece"):
        print(f"{name:<14} {ours[name] / 1e6:>12.2f}M/s {hf[name] / 1e6:>12.2f}M/s {ours[name] / hf[name]:>6.2f}x")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
