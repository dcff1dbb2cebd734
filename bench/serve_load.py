"""embedrank-serve under load on loopback, the figures docs/benchmarks.md
records ("The HTTP service"). Run after ./scripts/test.sh built everything:

    .venv-serve/bin/python bench/serve_load.py [--seconds 30] [--rounds 3]

Per round, interleaved:
  offline   Embedder.encode of the same ~12-token query, packed in batches of
            64, on the same threads: the throughput the service should reach;
  served    wrk, 64 connections each sending that query to /v1/embeddings;
  lone      one client, one request at a time: the latency a lone request
            sees, with --batch-wait-us 0 and 500;
then once: 4x capacity (--max-concurrent-requests 16, 64 connections): the
429 share and the RSS, and a SIGTERM in the middle of the load: every
answer is a 200 or a 503 and the program exits 0.
Prints medians and the served/offline ratio; names the CPU.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "serve"))
from conftest import Server, embedrank, real_model  # noqa: E402
from test_load import rss_kib, wrk  # noqa: E402

QUERY = "lightweight waterproof trail running shoes for men, size 44"


def offline_rate(embedder, seconds: float) -> float:
    texts = [QUERY] * 64
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        embedder.encode(texts, batch_size=64)
        done += len(texts)
    return done / (time.perf_counter() - start)


def lone_latency_ms(server: Server, n: int = 200) -> float:
    session = requests.Session()
    times = []
    for _ in range(n):
        start = time.perf_counter()
        session.post(server.url + "/v1/embeddings", json={"input": QUERY}, timeout=60).raise_for_status()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def cpu_name() -> str:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    embedder = embedrank.Embedder(real_model())
    offline, served, p50, p99, lone0, lone500 = [], [], [], [], [], []
    for _ in range(args.rounds):
        offline.append(offline_rate(embedder, min(args.seconds, 10)))
        server = Server("--quiet")
        figures = wrk(server.url, 64, args.seconds)
        assert figures["socket_errors"] == 0 and set(figures["status"]) == {200}, figures
        served.append(figures["requests"] / figures["seconds"])
        p50.append(figures["latency_p50_ms"])
        p99.append(figures["latency_p99_ms"])
        lone0.append(lone_latency_ms(server))
        assert server.stop() == 0
        server = Server("--quiet", "--batch-wait-us", "500")
        lone500.append(lone_latency_ms(server))
        assert server.stop() == 0
    med = statistics.median
    print(f"CPU: {cpu_name()}, {args.rounds} rounds, medians")
    print(f"offline packed batches of 64: {med(offline):.0f} queries/s")
    print(f"served, 64 connections:       {med(served):.0f} requests/s  ({med(served) / med(offline):.2f} of offline), "
          f"p50 {med(p50):.1f} ms, p99 {med(p99):.1f} ms")
    print(f"lone request: {med(lone0):.2f} ms (--batch-wait-us 0), {med(lone500):.2f} ms (500)")

    server = Server("--quiet", "--max-concurrent-requests", "16")
    wrk(server.url, 16, 2)
    before = rss_kib(server.process.pid)
    figures = wrk(server.url, 64, args.seconds)
    after = rss_kib(server.process.pid)
    assert server.stop() == 0
    total = sum(figures["status"].values())
    print(f"4x capacity (16 admitted, 64 connections): {figures['status']}, "
          f"429 share {figures['status'].get(429, 0) / total:.2f}, socket errors {figures['socket_errors']:.0f}, "
          f"RSS {before / 1024:.0f} -> {after / 1024:.0f} MiB")

    server = Server()
    outcomes, stop = [], threading.Event()

    def client():
        session = requests.Session()
        while not stop.is_set():
            try:
                outcomes.append(session.post(server.url + "/v1/embeddings", json={"input": [QUERY] * 8},
                                             timeout=60).status_code)
            except requests.ConnectionError:
                outcomes.append("refused")  # after the stop: never accepted
                return

    clients = [threading.Thread(target=client) for _ in range(32)]
    for c in clients:
        c.start()
    time.sleep(min(args.seconds, 5))
    status = server.stop()
    stop.set()
    for c in clients:
        c.join()
    counts = {s: outcomes.count(s) for s in set(outcomes)}
    print(f"SIGTERM under 32 clients: exit {status}, answers {counts}")
    assert status == 0 and set(counts) <= {200, 503, "refused"}
    return 0


if __name__ == "__main__":
    sys.exit(main())
