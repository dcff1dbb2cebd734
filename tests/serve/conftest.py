"""Shared setup of embedrank-serve's tests: the program (<build>/bin), the
Python package of the same build for reference answers, the real default
model (./scripts/get_model.sh) and the converted head fixtures
(`ctest -R convert_head_fixtures`), and a Server that runs the program for
real on a free loopback port. Run with a Python that has the `openai`
client (.venv-serve, made by `./scripts/install_deps.sh --serve`)."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("EMBEDRANK_BUILD_DIR", ROOT / "build")).resolve()
DATA = ROOT / "examples" / "data"
HEADS = ROOT / "tests" / "data" / "heads"
sys.path.insert(0, str(BUILD / "python"))

import embedrank  # noqa: E402


def require(path: Path, how: str) -> Path:
    if not path.exists():
        pytest.fail(f"{path} not found: {how}")
    return path


def real_model() -> str:
    return str(require(ROOT / "models" / "all-MiniLM-L6-v2.f32.bin", "./scripts/get_model.sh all-MiniLM-L6-v2"))


def head_model(name: str) -> str:
    return str(require(BUILD / "test_work" / "heads" / f"{name}.f32.bin",
                       f"run `ctest --test-dir {BUILD} -R convert_head_fixtures` first"))


def serve_program() -> str:
    return str(require(BUILD / "bin" / "embedrank-serve", f"cmake --build {BUILD} --target embedrank-serve"))


SHOP_ARGS = ["--catalogue", DATA / "catalogue.tsv", "--catalogue", DATA / "attributes.tsv",
             "--interactions", DATA / "interactions.tsv"]


class Server:
    """embedrank-serve on 127.0.0.1 and a port it picks; started by the test, stopped with SIGTERM."""

    def __init__(self, *args, ready_timeout: float = 180.0, log: Path | None = None):
        self.log = log
        command = [serve_program(), "--model", real_model(), "--port", "0", *map(str, args)]
        self.stderr = open(log, "wb") if log else subprocess.DEVNULL
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=self.stderr)
        line = self.process.stdout.readline().decode()
        match = re.search(r"listening on (http://[0-9.]+:\d+)", line)
        if not match:
            self.process.kill()
            pytest.fail(f"embedrank-serve did not start: {line!r}")
        self.url = match.group(1)
        deadline = time.monotonic() + ready_timeout
        while True:
            line = self.process.stdout.readline().decode()
            if "ready" in line:
                break
            if not line or time.monotonic() > deadline:
                self.process.kill()
                pytest.fail(f"embedrank-serve did not get ready: {line!r}")

    def post(self, path: str, body, **kwargs) -> requests.Response:
        return requests.post(self.url + path, json=body, timeout=120, **kwargs)

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(self.url + path, timeout=120, **kwargs)

    def stop(self) -> int:
        """SIGTERM, then the exit status (the drain completes in-flight requests first)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        status = self.process.wait(timeout=60)
        if self.stderr is not subprocess.DEVNULL:
            self.stderr.close()
        return status


@pytest.fixture(scope="session")
def shop_server():
    """The sample shop with the default model, a CrossEncoder and a classifier."""
    server = Server(*SHOP_ARGS, "--reranker", head_model("bert_cross_encoder"),
                    "--classifier", head_model("bert_seq_cls"), "--auto-truncate", "--quiet")
    yield server
    assert server.stop() == 0


@pytest.fixture(scope="session")
def guarded_server():
    """The model alone behind an API key, with small limits (the bad-input cases), CORS for one origin."""
    server = Server("--api-key", "s3cret", "--payload-limit", "4000", "--max-client-batch-size", "4",
                    "--cors-allow-origin", "https://shop.example", "--quiet")
    yield server
    assert server.stop() == 0


@pytest.fixture(scope="session")
def embedder():
    return embedrank.Embedder(real_model())
