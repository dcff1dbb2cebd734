"""The command-line programs on bad flags and failing runs: exit 2 for a usage
error before any work, exit 1 with an [embedrank.*] message for a data or
file error, never an abort; an output file is complete or keeps its old
contents, and no temporary file is left behind.

    python3 check_cli_errors.py BIN_DIR MODELS_DIR WORK_DIR

BIN_DIR holds embedrank-{embed,search,tokenize,cf}; MODELS_DIR the converted
tiny models (bert_gelu_mean.f32.bin, xlmr_gelu_mean.f32.bin).
"""
from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

FAILURES: list[str] = []


def run(args: list[str], stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(args, input=stdin.encode(), capture_output=True, timeout=120)


def expect(name: str, result: subprocess.CompletedProcess, status: int, stderr_has: str = "") -> None:
    err = result.stderr.decode(errors="replace")
    if result.returncode != status:
        FAILURES.append(f"{name}: exit {result.returncode}, expected {status}; stderr: {err.strip()[:300]}")
    elif stderr_has and stderr_has not in err:
        FAILURES.append(f"{name}: stderr lacks {stderr_has!r}: {err.strip()[:300]}")


def write_npy(path: Path, rows: list[list[float]], cols: int) -> None:
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }" % (len(rows), cols)
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    data = b"".join(struct.pack(f"<{cols}f", *r) for r in rows)
    path.write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + data)


def leftovers(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if ".tmp-" in p.name]


def main() -> int:
    bin_dir, models, work = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    work.mkdir(parents=True, exist_ok=True)
    embed, search = str(bin_dir / "embedrank-embed"), str(bin_dir / "embedrank-search")
    tokenize, cf = str(bin_dir / "embedrank-tokenize"), str(bin_dir / "embedrank-cf")
    model = str(models / "bert_gelu_mean.f32.bin")
    texts = work / "texts.txt"
    texts.write_text("red running shoes\nblue denim jacket\n\nwireless earbuds\n")

    # embedrank-embed: usage errors before any work
    for flags, what in ((["--threads", "100000"], "--threads"), (["--threads", "-1"], "--threads"),
                        (["--batch", "0"], "--batch"), (["--pooling", ""], "--pooling"),
                        (["--pooling", "mean,"], "--pooling"), (["--pooling", "bogus"], "bogus"),
                        (["--format", "xml"], "--format"), (["--chunk-stride", "0"], "--chunk-stride"),
                        (["--prompt", "a", "--prompt-name", "b"], "not both")):
        expect(f"embed {flags}", run([embed, "--model", model, *flags, str(texts)]), 2, what)
    # an unwritable output fails first, naming the file
    expect("embed unwritable --out", run([embed, "--model", model, "--out", str(work / "missing" / "v.npy"), str(texts)]),
           1, "[embedrank.file.open]")
    # a good run: complete .npy, the count stated
    out = work / "vectors.npy"
    result = run([embed, "--model", model, "--out", str(out), str(texts)])
    expect("embed to npy", result, 0, "4 texts embedded")
    good = out.read_bytes()
    if b"(4, " not in good[:128]:
        FAILURES.append(f"embed to npy: header {good[:128]!r} does not give 4 rows")
    # a run that fails after the output was opened keeps the old file: the
    # input is a directory, which cannot be read
    expect("embed unreadable input", run([embed, "--model", model, "--out", str(out), str(work)]), 1, "[embedrank.")
    if out.read_bytes() != good:
        FAILURES.append("embed unreadable input: the old output changed")
    if leftovers(work):
        FAILURES.append(f"temporary files left behind: {leftovers(work)}")
    # an unknown prompt name fails before any work, naming the model's prompts
    expect("embed unknown prompt", run([embed, "--model", model, "--prompt-name", "title", "--out", str(out),
                                        str(texts)]), 1, "(document, query)")
    if out.read_bytes() != good:
        FAILURES.append("embed unknown prompt: the old output changed")
    # truncation is counted on stderr; chunking embeds the long text whole
    # (bert_gelu_mean keeps 24 tokens; windows of 22 fit in its 24 positions)
    long_texts = work / "long.txt"
    long_texts.write_text("red dress\n" + "red " * 40 + "\n")
    expect("embed truncation count", run([embed, "--model", model, str(long_texts)]), 0,
           "1 of 2 texts were longer than the model's 24 tokens and were truncated")
    expect("embed chunked", run([embed, "--model", model, "--chunk-stride", "11", str(long_texts)]), 0,
           "1 texts longer than 24 tokens were embedded as windows")
    expect("embed chunk stride too large", run([embed, "--model", model, "--chunk-stride", "23", str(long_texts)]), 1,
           "leaves gaps")

    # embedrank-search: --k 0 is a usage error; non-finite rows are named
    index, queries = work / "index.npy", work / "queries.npy"
    write_npy(index, [[float("nan"), 1.0], [1.0, float("inf")]], 2)
    write_npy(queries, [[1.0, 0.0]], 2)
    expect("search --k 0", run([search, "--index", str(index), "--queries", str(queries), "--k", "0"]), 2, "--k")
    result = run([search, "--index", str(index), "--queries", str(queries), "--k", "3"])
    expect("search all-NaN index", result, 0, "2 of 2 rows")
    expect("search missing index", run([search, "--index", str(work / "none.npy"), "--queries", str(queries), "--k", "1"]),
           1, "[embedrank.")

    # embedrank-tokenize: a bad count, a damaged SentencePiece model
    expect("tokenize --max-length -1", run([tokenize, "--model", model, "--max-length", "-1"]), 2, "--max-length")
    damaged = bytearray((models / "xlmr_gelu_mean.f32.bin").read_bytes())
    at = damaged.index(b"nmt_nfkc") + 12  # the charsmap's trie size, after the spec's name, tag and length
    damaged[at:at + 4] = b"\xff\xff\xff\x7f"
    (work / "damaged.bin").write_bytes(bytes(damaged))
    expect("tokenize damaged charsmap", run([tokenize, "--model", str(work / "damaged.bin")], "wireless earbuds\n"), 1,
           "[embedrank.format.tokenizer.bad_sentencepiece]")
    # --offsets: valid JSON, a pair per token, characters and bytes
    result = run([tokenize, "--model", model, "--offsets"], "red dress \u00e9\n")
    expect("tokenize --offsets", result, 0)
    try:
        line = json.loads(result.stdout.decode())
        if line["offsets"] != [[0, 0], [0, 3], [4, 9], [10, 11], [0, 0]] or line["byte_offsets"][3] != [10, 12]:
            FAILURES.append(f"tokenize --offsets: {line}")
    except (ValueError, KeyError) as e:
        FAILURES.append(f"tokenize --offsets: {e}: {result.stdout[:200]!r}")

    # embedrank-rerank / embedrank-classify: usage errors; CrossEncoder.predict's
    # scores for the committed pairs; a model without a head is refused
    rerank, classify = str(bin_dir / "embedrank-rerank"), str(bin_dir / "embedrank-classify")
    heads = models.parent / "heads"
    cross_encoder = str(heads / "bert_cross_encoder.f32.bin")
    for flags, what in ((["--query", "x"], "go together"), (["--top", "3"], "--top needs"),
                        (["--format", "xml"], "--format"), (["--batch", "0"], "--batch")):
        expect(f"rerank {flags}", run([rerank, "--model", cross_encoder, *flags]), 2, what)
    expect("classify --top 0", run([classify, "--model", cross_encoder, "--top", "0"]), 2, "--top")
    data = Path(__file__).resolve().parents[1] / "data" / "heads" / "bert_cross_encoder"
    result = run([rerank, "--model", cross_encoder], (data / "pairs.tsv").read_text(encoding="utf-8"))
    expect("rerank pairs", result, 0)
    got = [float(v) for v in result.stdout.decode().split()]
    raw = (data / "scores.npy").read_bytes()
    header_len = struct.unpack("<H", raw[8:10])[0]
    expected = struct.unpack(f"<{len(got)}f", raw[10 + header_len:10 + header_len + 4 * len(got)])
    if len(got) != 10 or max(abs(a - b) for a, b in zip(got, expected)) > 1e-6:
        FAILURES.append(f"rerank pairs: {got} against CrossEncoder.predict's {expected}")
    expect("rerank with an embedding model", run([rerank, "--model", model], "a\tb\n"), 1, "[embedrank.format.no_head]")
    expect("rerank line without a tab", run([rerank, "--model", cross_encoder], "a b\n"), 1, "found no tab")
    expect("classify --aggregation", run([classify, "--model", cross_encoder, "--tokens", "--aggregation", "x"]), 2,
           "--aggregation")
    result = run([classify, "--model", str(heads / "bert_token_cls.f32.bin"), "--tokens"], "blue cotton shirt\n红色 red\n")
    expect("classify --tokens", result, 0)
    for line in result.stdout.decode().splitlines():
        for entity in json.loads(line)["entities"]:
            if entity["end"] <= entity["start"] or entity["label"] == "O" or not entity["text"]:
                FAILURES.append(f"classify --tokens: {entity}")
    expect("classify --tokens with a sequence classifier",
           run([classify, "--model", str(heads / "bert_seq_cls.f32.bin"), "--tokens"], "a\n"), 1, "no token-classification head")

    # embedrank-cf: out-of-range flags; ratings whose statistics could
    # overflow are refused with the line; the JSON printed is valid JSON
    ratings = work / "ratings.tsv"
    ratings.write_text("".join(f"u{u}\ti{i}\t{(1 + (u * 7 + i * 3) % 5) * 1e200}\n" for u in range(6) for i in range(5)))
    expect("cf --k 0", run([cf, "--train", str(ratings), "--test", str(ratings), "--algo", "knn_basic", "--k", "0"]), 2, "--k")
    expect("cf --threads", run([cf, "--train", str(ratings), "--test", str(ratings), "--algo", "knn_basic",
                                "--threads", "100000"]), 2, "--threads")
    expect("cf huge ratings", run([cf, "--train", str(ratings), "--test", str(ratings), "--algo", "knn_with_means"]), 1,
           "[embedrank.parse.rating_out_of_range]")
    ratings.write_text("".join(f"u{u}\ti{i}\t{(1 + (u * 7 + i * 3) % 5) * 1e49}\n" for u in range(6) for i in range(5)))
    result = run([cf, "--train", str(ratings), "--test", str(ratings), "--algo", "knn_with_means", "--mean", "user"])
    expect("cf largest ratings", result, 0)
    try:
        report = json.loads(result.stdout.decode())
        if report.get("rmse") is None:
            FAILURES.append(f"cf largest ratings: rmse is {report.get('rmse')}")
    except ValueError as e:
        FAILURES.append(f"cf largest ratings: output is not JSON ({e}): {result.stdout[:200]!r}")

    for f in FAILURES:
        print("FAIL", f)
    print(f"{len(FAILURES)} failure(s)")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
