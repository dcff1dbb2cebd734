"""embedrank EmbeddingIndex vs FAISS IndexFlatIP: same data, same cores, side by side.

Writes seeded random data to .npy (items (N, D) uniform in [-1, 1), 64 queries,
a random 10% exclusion list), then
  1. correctness: runs build/bin/embedrank-search on it and FAISS IndexFlatIP
     (with an IDSelectorNot(IDSelectorBitmap) for the filter) and checks that
     both return the same ids in the same order, modulo near-exact ties
     (positions where the ids differ must have scores within 1e-5 of each
     other, relative to max(1, |score|)), and scores within that tolerance;
  2. speed: runs bench_topk in file mode on the same files, one cell at a
     time, each cell immediately followed by FAISS with
     faiss.omp_set_num_threads(T), for k in {10, 100}, Q in {1, 64}, without
     and with the filter (FAISS timed at T threads and at 1 thread, the
     faster counts), and prints queries/s, ratios and, for single
     queries, the achieved bandwidth as a fraction of the plain read bandwidth
     bench_topk measures in the same process.

Needs numpy and faiss (Debian python3-faiss, or faiss-cpu from PyPI in a venv):
  python3 -m venv /opt/rankfaissenv && /opt/rankfaissenv/bin/pip install faiss-cpu numpy
Run (from the repository root, after building bench_topk and embedrank-search):
  /opt/rankfaissenv/bin/python bench/compare_faiss.py --build build-rank --sizes 10000,100000,1000000
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DIM = 384
BATCH = 64
# relative to max(1, |score|): two float32 sums of 384 products in different
# orders (FAISS's BLAS vs our kernel) differ by about 1e-6 relative
SCORE_TOLERANCE = 1e-5


def write_dataset(directory: Path, n: int, seed: int):
    rng = np.random.default_rng(seed)
    items = rng.uniform(-1.0, 1.0, size=(n, DIM)).astype("<f4")
    queries = rng.uniform(-1.0, 1.0, size=(BATCH, DIM)).astype("<f4")
    excluded = np.sort(rng.choice(n, size=n // 10, replace=False))
    np.save(directory / "items.npy", items)
    np.save(directory / "queries.npy", queries)
    (directory / "exclude_rows.txt").write_text("".join(f"{r}\n" for r in excluded))
    return items, queries, excluded


def faiss_index(faiss, items):
    index = faiss.IndexFlatIP(items.shape[1])
    index.add(items)
    return index


def faiss_exclusion_params(faiss, n, excluded):
    mask = np.zeros(n, dtype=bool)
    mask[excluded] = True
    bits = np.packbits(mask, bitorder="little")
    bitmap = faiss.IDSelectorBitmap(n, faiss.swig_ptr(bits))
    not_excluded = faiss.IDSelectorNot(bitmap)
    params = faiss.SearchParameters()
    params.sel = not_excluded
    # the selectors and the bit array must outlive the searches
    return params, (bits, bitmap, not_excluded)


def run_cli(cli: Path, directory: Path, k: int, threads: int, exclude: bool):
    command = [str(cli), "--index", str(directory / "items.npy"), "--queries", str(directory / "queries.npy"),
               "--k", str(k), "--threads", str(threads)]
    if exclude:
        command += ["--exclude", str(directory / "exclude_rows.txt")]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    ids = [[] for _ in range(BATCH)]
    scores = [[] for _ in range(BATCH)]
    for line in output.splitlines()[1:]:
        query, _, item, score = line.split("\t")
        ids[int(query)].append(int(item))
        scores[int(query)].append(float(score))
    return ids, scores


def compare_results(ours_ids, ours_scores, faiss_scores, faiss_ids):
    """Counts positions with identical ids; raises on any real disagreement."""
    identical = 0
    total = 0
    for q in range(BATCH):
        want_ids = [int(i) for i in faiss_ids[q] if i >= 0]
        want_scores = [float(s) for s, i in zip(faiss_scores[q], faiss_ids[q]) if i >= 0]
        if len(want_ids) != len(ours_ids[q]):
            raise AssertionError(f"query {q}: {len(ours_ids[q])} results, FAISS {len(want_ids)}")
        for position, (a, b, sa, sb) in enumerate(zip(ours_ids[q], want_ids, ours_scores[q], want_scores)):
            total += 1
            if abs(sa - sb) > SCORE_TOLERANCE * max(1.0, abs(sb)):
                raise AssertionError(f"query {q} rank {position}: score {sa} vs FAISS {sb}")
            if a == b:
                identical += 1
    return identical, total


def time_faiss(index, queries, k, batch, params, repetitions, min_seconds):
    """Median queries/s over `repetitions` runs of at least `min_seconds` each."""
    rates = []
    for _ in range(repetitions):
        done = 0
        start = time.perf_counter()
        while True:
            if batch == 1:
                q = queries[done % len(queries)][None, :]
            else:
                q = queries
            index.search(q, k, params=params)
            done += batch
            elapsed = time.perf_counter() - start
            if elapsed >= min_seconds:
                break
        rates.append(done / elapsed)
    return statistics.median(rates)


def run_bench(bench: Path, directory: Path, k: int, batch: int, exclude: bool, threads: int, repetitions: int,
              min_seconds: float):
    """Runs one search cell of bench_topk plus its read-bandwidth reference; returns the median entries."""
    cell = f"BM_Search/k:{k}/Q:{batch}/filter:{int(exclude)}"
    command = [str(bench), "--items", str(directory / "items.npy"), "--queries", str(directory / "queries.npy"),
               "--exclude", str(directory / "exclude_rows.txt"), "--k", str(k),
               f"--benchmark_filter=^(BM_ReadBandwidth|{cell})/",
               "--threads", str(threads), f"--benchmark_repetitions={repetitions}",
               "--benchmark_report_aggregates_only=true", f"--benchmark_min_time={min_seconds}",
               "--benchmark_format=json"]
    report = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
    medians = {}
    for entry in report["benchmarks"]:
        # with one repetition Google Benchmark writes no aggregates
        wanted = "median" if repetitions > 1 else None
        if entry.get("aggregate_name") != wanted:
            continue
        name = entry["run_name"].replace("/real_time", "")
        medians[name] = entry
    return medians


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default="build", help="CMake build directory holding bin/bench_topk and bin/embedrank-search")
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--ks", default="10,100")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--min-seconds", type=float, default=0.5)
    parser.add_argument("--check-only", action="store_true", help="correctness comparison only, no timing")
    parser.add_argument("--workdir", default=None, help="where to write the .npy files (default: a temporary directory)")
    args = parser.parse_args()

    import faiss

    build = Path(args.build)
    cli = build / "bin" / "embedrank-search"
    bench = build / "bin" / "bench_topk"
    ks = [int(k) for k in args.ks.split(",")]
    faiss.omp_set_num_threads(args.threads)
    print(f"faiss {faiss.__version__}, numpy {np.__version__}, threads {args.threads}, D = {DIM}")

    rows = []
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        directory = Path(tmp)
        for n in [int(s) for s in args.sizes.split(",")]:
            items, queries, excluded = write_dataset(directory, n, seed=n)
            index = faiss_index(faiss, items)
            del items
            params, keep_alive = faiss_exclusion_params(faiss, n, excluded)

            for exclude in (False, True):
                k = max(ks)
                faiss_scores, faiss_ids = index.search(queries, k, params=params if exclude else None)
                ours_ids, ours_scores = run_cli(cli, directory, k, args.threads, exclude)
                identical, total = compare_results(ours_ids, ours_scores, faiss_scores, faiss_ids)
                if exclude:
                    excluded_set = set(excluded.tolist())
                    if any(i in excluded_set for row in ours_ids for i in row):
                        raise AssertionError("an excluded item was returned")
                print(f"N = {n:>8} k = {k} filter = {int(exclude)}: {identical}/{total} positions with identical ids, "
                      f"all scores within {SCORE_TOLERANCE} (relative)")
            if args.check_only:
                continue

            for k in ks:
                for batch in (1, BATCH):
                    for exclude in (False, True):
                        # embedrank then FAISS for each cell, so both see the same machine load
                        medians = run_bench(bench, directory, k, batch, exclude, args.threads, args.repetitions,
                                            args.min_seconds)
                        read_bandwidth = medians["BM_ReadBandwidth"]["bytes_per_second"]
                        ours = medians[f"BM_Search/k:{k}/Q:{batch}/filter:{int(exclude)}"]
                        # FAISS at T threads and at 1 thread, the better one counts: on a
                        # busy machine OpenMP's spinning threads can make T threads slower
                        theirs = 0.0
                        for faiss_threads in sorted({args.threads, 1}, reverse=True):
                            faiss.omp_set_num_threads(faiss_threads)
                            theirs = max(theirs, time_faiss(index, queries, k, batch, params if exclude else None,
                                                            args.repetitions, args.min_seconds))
                        faiss.omp_set_num_threads(args.threads)
                        bandwidth = ours["bytes_per_second"] / read_bandwidth if batch == 1 else None
                        rows.append((n, k, batch, exclude, ours["items_per_second"], theirs, bandwidth,
                                     read_bandwidth))
                        print_row(rows[-1])
            del index, keep_alive

    if rows:
        print()
        print("| N | k | Q | filter | embedrank q/s | FAISS q/s | ratio | single-query GB/s (% of read BW) |")
        print("|---|---|---|---|---|---|---|---|")
        for row in rows:
            print(markdown_row(row))
    return 0


def print_row(row):
    n, k, batch, exclude, ours, theirs, bandwidth, read_bandwidth = row
    extra = f"  bandwidth {bandwidth * 100:5.1f}% of {read_bandwidth / 1e9:.1f} GB/s" if bandwidth is not None else ""
    print(f"N = {n:>8} k = {k:>3} Q = {batch:>2} filter = {int(exclude)}: embedrank {ours:10.1f} q/s, "
          f"FAISS {theirs:10.1f} q/s, ratio {ours / theirs:5.2f}x{extra}", flush=True)


def markdown_row(row):
    n, k, batch, exclude, ours, theirs, bandwidth, read_bandwidth = row
    bw = (f"{bandwidth * read_bandwidth / 1e9:.1f} of {read_bandwidth / 1e9:.1f} ({bandwidth * 100:.0f}%)"
          if bandwidth is not None else "")
    return (f"| {n:,} | {k} | {batch} | {'10%' if exclude else 'none'} | {ours:,.1f} | {theirs:,.1f} | "
            f"{ours / theirs:.2f}x | {bw} |")


if __name__ == "__main__":
    sys.exit(main())
