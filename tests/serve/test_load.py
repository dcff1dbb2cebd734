"""Load on loopback, reduced for CI (a few seconds; the full run with figures
is bench/serve_load.py): wrk's 64 connections each sending one ~12-token
query get no error, and at several times the admitted concurrency the excess
gets 429s while the admitted requests complete and the memory stays bounded."""
from __future__ import annotations

import re
import subprocess

from conftest import ROOT, Server

SCRIPT = ROOT / "bench" / "serve" / "embed_query.lua"


def wrk(url: str, connections: int, seconds: int) -> dict:
    result = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(SCRIPT),
                             url + "/v1/embeddings"], capture_output=True, text=True, timeout=seconds + 60, check=True)
    figures = {"status": {}}
    for line in result.stdout.splitlines():
        if m := re.fullmatch(r"status (\d+) (\d+)", line):
            figures["status"][int(m.group(1))] = int(m.group(2))
        elif m := re.fullmatch(r"(\w+) ([0-9.]+)", line):
            figures[m.group(1)] = float(m.group(2))
    return figures


def rss_kib(pid: int) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_64_clients_get_no_error():
    server = Server("--quiet")
    try:
        figures = wrk(server.url, 64, 3)
        print(f"\n64 connections, 3 s: {figures['requests'] / figures['seconds']:.0f} requests/s, "
              f"p50 {figures['latency_p50_ms']:.1f} ms, p99 {figures['latency_p99_ms']:.1f} ms")
        assert figures["requests"] > 0
        assert figures["socket_errors"] == 0
        assert set(figures["status"]) == {200}, figures["status"]
    finally:
        assert server.stop() == 0


def test_four_times_capacity_gets_429s_and_bounded_memory():
    server = Server("--quiet", "--max-concurrent-requests", "16")
    try:
        wrk(server.url, 16, 1)  # warm up: buffers at their working size
        before = rss_kib(server.process.pid)
        figures = wrk(server.url, 64, 3)
        after = rss_kib(server.process.pid)
        print(f"\n64 connections, 16 admitted: {figures['status']}, RSS {before} -> {after} KiB")
        assert figures["socket_errors"] == 0
        assert set(figures["status"]) == {200, 429} and figures["status"][200] > 0, figures["status"]
        assert after < before + 256 * 1024, f"RSS grew from {before} to {after} KiB"
    finally:
        assert server.stop() == 0
