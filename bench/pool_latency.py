"""One short query's embed() latency, p50 and p99, for several builds of
bench_encoder_latency measured interleaved (the thread pool's spin policy).

    python3 bench/pool_latency.py --rounds 9 --calls 1000 \
        spin4096=/tmp/lat_4096:models/all-MiniLM-L6-v2.int8.bin:2 \
        spin256=build/bin/bench_encoder_latency:models/all-MiniLM-L6-v2.int8.bin:2 \
        one=build/bin/bench_encoder_latency:models/all-MiniLM-L6-v2.int8.bin:1

Each NAME=BINARY:MODEL:THREADS runs in its own process for the whole run.
A round gives every process CALLS calls of one query ("red summer dress
with pockets", one embed() call each) in turn, the order rotating from
round to round; each round yields a p50 and a p99 per process, and the
table reports their medians over the rounds (and every round's p99, which
on a shared machine is the noisy one). A policy other than the built-in
one is a build with another ThreadPool kSpinIterations (core/thread_pool.hpp).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("configs", nargs="+", help="NAME=BINARY:MODEL:THREADS")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--text", default="red summer dress with pockets")
    args = parser.parse_args()

    workload = tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False)
    workload.write(f"0\t{args.text}\n")
    workload.close()
    processes = {}
    for config in args.configs:
        name, spec = config.split("=", 1)
        binary, model, threads = spec.rsplit(":", 2)
        p = subprocess.Popen([binary, "--model", model, "--threads", threads, "--workload", f"query={workload.name}"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if not json.loads(p.stdout.readline()).get("ready"):
            sys.exit(f"{name}: {binary} did not start")
        p.stdin.write("time query 200\n")  # warm-up, not counted
        p.stdin.flush()
        p.stdout.readline()
        processes[name] = p

    names = list(processes)
    p50s = {n: [] for n in names}
    p99s = {n: [] for n in names}
    for r in range(args.rounds):
        for n in names[r % len(names):] + names[:r % len(names)]:
            p = processes[n]
            p.stdin.write(f"time query {args.calls}\n")
            p.stdin.flush()
            e2e = json.loads(p.stdout.readline())["e2e"]
            p50s[n].append(percentile(e2e, 0.50) * 1e3)
            p99s[n].append(percentile(e2e, 0.99) * 1e3)
        print(f"round {r + 1}/{args.rounds}; load average {os.getloadavg()[0]:.1f}", file=sys.stderr, flush=True)
    for p in processes.values():
        p.stdin.write("quit\n")
        p.stdin.flush()
        p.wait()
    os.unlink(workload.name)

    print("| config | p50 ms | p99 ms | p99 of each round |")
    print("|---|---|---|---|")
    for n in names:
        rounds = ", ".join(f"{x:.1f}" for x in p99s[n])
        print(f"| {n} | {statistics.median(p50s[n]):.2f} | {statistics.median(p99s[n]):.1f} | {rounds} |")


if __name__ == "__main__":
    main()
