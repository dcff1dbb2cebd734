"""The command-line programs with text in and ids out: embedrank-embed's
tsv, csv and jsonl input with id and text columns (ids in the output and in
an ids file beside the npy) and its warning on input that is not UTF-8;
embedrank-search with text queries over those files and with a 1-D .npy;
embedrank-tokenize on an INPUT file; embedrank-cf --recommend, its clipping
by default and its separator shown visibly in messages.

    python3 check_cli_text.py BIN_DIR MODELS_DIR WORK_DIR DATA_DIR

BIN_DIR holds embedrank-{embed,search,tokenize,cf}; MODELS_DIR the converted
tiny models (bert_gelu_mean.f32.bin); DATA_DIR is tests/data.
"""
from __future__ import annotations

import json
import random
import struct
import subprocess
import sys
from pathlib import Path

FAILURES: list[str] = []


def run(args: list, stdin: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], input=stdin, capture_output=True, timeout=120)


def check(name: str, ok: bool, result: subprocess.CompletedProcess | None = None) -> None:
    if not ok:
        detail = "" if result is None else f" (exit {result.returncode}; stderr: {result.stderr.decode(errors='replace').strip()[:300]})"
        FAILURES.append(name + detail)


def expect(name: str, result: subprocess.CompletedProcess, status: int, stderr_has: str = "") -> bool:
    err = result.stderr.decode(errors="replace")
    ok = result.returncode == status and stderr_has in err
    check(f"{name}: expected exit {status}" + (f" and {stderr_has!r} on stderr" if stderr_has else ""), ok, result)
    return ok


def npy_shape(path: Path) -> tuple:
    data = path.read_bytes()
    header_length = struct.unpack("<H", data[8:10])[0]
    header = data[10:10 + header_length].decode()
    return eval(header.split("'shape':")[1].split(")")[0] + ")")  # the shape tuple


def write_npy_vector(path: Path, values: list[float]) -> None:
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d,), }" % len(values)
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    path.write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode()
                     + struct.pack(f"<{len(values)}f", *values))


def npy_row(path: Path, row: int, cols: int) -> list[float]:
    data = path.read_bytes()
    start = 10 + struct.unpack("<H", data[8:10])[0] + row * cols * 4
    return list(struct.unpack(f"<{cols}f", data[start:start + cols * 4]))


def check_embed(embed: Path, model: Path, work: Path) -> Path:
    catalogue = work / "catalogue.tsv"
    catalogue.write_text("id\ttitle\tprice\nP1\tred running shoes\t59.99\nP2\tblue denim jacket\t89\n\n"
                         "P3\twireless earbuds\t25\n")
    npy = work / "catalogue.npy"
    result = run([embed, "--model", model, "--id-column", "id", "--text-column", "title", "--header", "--out", npy, catalogue])
    if expect("embed tsv columns to npy", result, 0, "their ids are in"):
        check("embed npy: 3 rows (the blank line skipped)", npy_shape(npy)[0] == 3, result)
        check("embed npy: the ids file beside it", (work / "catalogue.ids").read_text() == "P1\nP2\nP3\n", result)
    # the same texts by index, as tsv: each row starts with its id
    result = run([embed, "--model", model, "--id-column", "1", "--text-column", "2", "--header", "--format", "tsv", catalogue])
    if expect("embed tsv columns by index to tsv", result, 0):
        rows = [line.split("\t") for line in result.stdout.decode().splitlines()]
        check("embed tsv output: ids first", [r[0] for r in rows] == ["P1", "P2", "P3"], result)
        if (work / "catalogue.npy").exists():
            first = [float(v) for v in rows[0][1:]]
            check("embed tsv output: the npy's values", max(abs(a - b) for a, b in zip(first, npy_row(npy, 0, len(first)))) < 1e-6)
    # csv with quoted fields; jsonl with a numeric id
    csv = work / "catalogue.csv"
    csv.write_text('sku,name\nA1,"red, long ""maxi"" dress"\nA2,"two\nlines"\n')
    result = run([embed, "--model", model, "--id-column", "sku", "--text-column", "name", "--header", "--format", "jsonl", csv])
    if expect("embed csv to jsonl", result, 0):
        objects = [json.loads(line) for line in result.stdout.decode().splitlines()]
        check("embed jsonl output: {id, embedding}", [o["id"] for o in objects] == ["A1", "A2"] and
              all(len(o["embedding"]) > 0 for o in objects), result)
    plain = run([embed, "--model", model, "--format", "tsv"], stdin='red, long "maxi" dress\n'.encode())
    if result.returncode == 0 and plain.returncode == 0:
        check("embed csv: the quoted field is the text", result.stdout.decode().splitlines()[0].split('"embedding": [')[1]
              .rstrip("]}").split(", ")[0] == plain.stdout.decode().split("\t")[0], result)
    jsonl = work / "catalogue.jsonl"
    jsonl.write_text('{"id": "J1", "text": "red dress"}\n{"id": 7, "text": "shoes"}\n')
    result = run([embed, "--model", model, "--id-column", "id", "--text-column", "text", "--format", "tsv", jsonl])
    if expect("embed jsonl input", result, 0):
        check("embed jsonl input: ids", [l.split("\t")[0] for l in result.stdout.decode().splitlines()] == ["J1", "7"], result)

    # usage and data errors
    expect("embed name column without --header", run([embed, "--model", model, "--text-column", "title", catalogue]), 2,
           "needs --header")
    expect("embed column on plain text", run([embed, "--model", model, "--text-column", "2", work / "x.txt"]), 2,
           "--input-format")
    expect("embed --header on text", run([embed, "--model", model, "--header"]), 2, "--header")
    expect("embed unknown column", run([embed, "--model", model, "--text-column", "name", "--header", catalogue]), 1,
           "[embedrank.input.cli.unknown_column]")
    expect("embed missing column", run([embed, "--model", model, "--text-column", "9", catalogue]), 1,
           "cli.missing_column")
    duplicate = work / "duplicate.tsv"
    duplicate.write_text("P1\tred\nP1\tblue\n")
    out = work / "duplicate.npy"
    expect("embed duplicate id", run([embed, "--model", model, "--id-column", "1", "--text-column", "2", "--out", out,
                                      duplicate]), 1, "duplicate_id")
    check("embed duplicate id: no npy, no ids file", not out.exists() and not (work / "duplicate.ids").exists())

    # input that is not UTF-8: embedded, with a warning that counts it
    rng = random.Random(27)
    noise = bytes(rng.randrange(256) for _ in range(3000))
    lines = noise.count(b"\n") + (0 if noise.endswith(b"\n") else 1)
    result = run([embed, "--model", model, "--format", "tsv"], stdin=noise)
    expect("embed random bytes: embedded", result, 0, "not valid UTF-8")
    check("embed random bytes: every line embedded", len(result.stdout.decode().splitlines()) == lines, result)
    result = run([embed, "--model", model, "--format", "tsv"], stdin="héllo\nwörld\n".encode())
    check("embed valid UTF-8: no warning", result.returncode == 0 and b"UTF-8" not in result.stderr, result)
    result = run([embed, "--model", model, "--format", "tsv"], stdin=b"ok\n\xff\xfe bad\nok\n")
    expect("embed one bad line: counted", result, 0, "1 of 3 texts are not valid UTF-8 (the first at stdin line 2)")
    return npy


def check_search(search: Path, embed: Path, model: Path, work: Path, npy: Path) -> None:
    ids = work / "catalogue.ids"
    queries = work / "queries.txt"
    queries.write_text("earbuds\n")
    result = run([search, "--index", npy, "--ids", ids, "--model", model, "--query", "running shoes",
                  "--query", "denim\tjacket", "--queries", queries, "--k", "2"])
    if expect("search text queries", result, 0):
        rows = [line.split("\t") for line in result.stdout.decode().splitlines()]
        check("search: header", rows[0] == ["query", "rank", "id", "score"], result)
        check("search: rows labelled by query text (a tab as a space)",
              [r[0] for r in rows[1:]] == ["running shoes"] * 2 + ["denim jacket"] * 2 + ["earbuds"] * 2, result)
        check("search: ids from the ids file", {r[2] for r in rows[1:]} <= {"P1", "P2", "P3"}, result)
    result = run([search, "--index", npy, "--ids", ids, "--model", model, "--query", "red", "--k", "1", "--format", "json"])
    if expect("search text query json", result, 0):
        check("search json: the query text", json.loads(result.stdout)[0]["query"] == "red", result)
    # the query the tiny model gives a text equals that text's vector searched as a 1-D .npy
    vector = run([embed, "--model", model, "--format", "tsv"], stdin=b"red running shoes\n")
    one = work / "one.npy"
    write_npy_vector(one, [float(v) for v in vector.stdout.decode().split("\t")])
    result = run([search, "--index", npy, "--ids", ids, "--queries", one, "--k", "1"])
    if expect("search 1-D npy", result, 0):
        check("search 1-D npy: one query, its own item first", result.stdout.decode().splitlines()[1].split("\t")[:3] ==
              ["0", "1", "P1"], result)
    expect("search --query without --model", run([search, "--index", npy, "--query", "x", "--k", "1"]), 2, "--model")
    expect("search --model without queries", run([search, "--index", npy, "--model", model, "--k", "1"]), 2, "--query")


def check_tokenize(tokenize: Path, model: Path, work: Path) -> None:
    texts = work / "tokenize.txt"
    texts.write_text("red running shoes\nblue\n")
    from_file = run([tokenize, "--model", model, texts])
    from_stdin = run([tokenize, "--model", model], stdin=texts.read_bytes())
    expect("tokenize INPUT", from_file, 0)
    check("tokenize INPUT equals stdin", from_file.stdout == from_stdin.stdout and len(from_file.stdout.splitlines()) == 2,
          from_file)
    expect("tokenize missing INPUT", run([tokenize, "--model", model, work / "none.txt"]), 1, "[embedrank.file.open]")
    expect("tokenize --pair names INPUT", run([tokenize, "--model", model, "--pair", texts]), 1, "tokenize.txt line 1")
    expect("tokenize two INPUTs", run([tokenize, "--model", model, texts, texts]), 2, "more than one INPUT")


def check_cf(cf: Path, data: Path, work: Path) -> None:
    train, test = data / "cf" / "synthetic_train.tsv", data / "cf" / "synthetic_test.tsv"
    user = train.read_text().split("\t", 1)[0]
    result = run([cf, "--train", train, "--algo", "knn_with_means", "--recommend", f"{user},nobody", "--top", "3"])
    if expect("cf --recommend", result, 0, "user 'nobody' has no ratings"):
        rows = [line.split("\t") for line in result.stdout.decode().splitlines()]
        check("cf --recommend: header", rows[0] == ["user", "rank", "item", "score", "neighbors"], result)
        check("cf --recommend: 3 rows for the user, none for nobody",
              [(r[0], r[1]) for r in rows[1:]] == [(user, "1"), (user, "2"), (user, "3")], result)
        scores = [float(r[3]) for r in rows[1:]]
        check("cf --recommend: best first", scores == sorted(scores, reverse=True), result)
        seen = {line.split("\t")[1] for line in train.read_text().splitlines() if line.split("\t")[0] == user}
        check("cf --recommend: unseen items only", not seen & {r[2] for r in rows[1:]}, result)
    users = work / "users.txt"
    users.write_text(f"{user}\n")
    result = run([cf, "--train", train, "--algo", "knn_basic", "--recommend", f"@{users}", "--format", "json"])
    if expect("cf --recommend @FILE json", result, 0):
        answer = json.loads(result.stdout)
        check("cf --recommend json", answer[0]["user"] == user and len(answer[0]["items"]) == 10 and
              set(answer[0]["items"][0]) == {"item", "score", "neighbors"}, result)
    expect("cf --recommend with --test", run([cf, "--train", train, "--algo", "knn_basic", "--recommend", user,
                                              "--test", test]), 2, "exactly one of")
    expect("cf --top without --recommend", run([cf, "--train", train, "--algo", "knn_basic", "--test", test, "--top", "3"]),
           2, "go with --recommend")

    # predictions are clipped to the training ratings' range unless --no-clip
    def predictions(*flags: str) -> list[float]:
        out = work / "predictions.tsv"
        result = run([cf, "--train", train, "--test", test, "--algo", "knn_with_means", "--predictions", out, *flags])
        expect(f"cf --test {' '.join(flags)}", result, 0)
        return [float(line.split("\t")[3]) for line in out.read_text().splitlines()[1:]] if result.returncode == 0 else []
    clipped, unclipped = predictions(), predictions("--no-clip")
    check("cf clips by default", bool(clipped) and 1.0 <= min(clipped) and max(clipped) <= 5.0)
    check("cf --no-clip: some prediction past 5", bool(unclipped) and max(unclipped) > 5.0)
    check("cf clip: clipped = min(max(unclipped, 1), 5)",
          clipped == [min(max(p, 1.0), 5.0) for p in unclipped])

    # the separator shown visibly: a tab as '\t', not a literal tab
    commas = work / "ratings.csv"
    commas.write_text("u1,i1,4\nu2,i1,5\n")
    result = run([cf, "--train", commas, "--test", commas, "--algo", "knn_basic"])
    expect("cf tab-separated expected", result, 1, "separated by '\\t', got 1 field(s)")
    result = run([cf, "--train", train, "--test", test, "--algo", "knn_basic", "--sep", ","])
    expect("cf comma-separated expected", result, 1, "separated by ','")


def main() -> int:
    bin_dir, models, work, data = (Path(a) for a in sys.argv[1:5])
    work.mkdir(parents=True, exist_ok=True)
    embed, search = bin_dir / "embedrank-embed", bin_dir / "embedrank-search"
    tokenize, cf = bin_dir / "embedrank-tokenize", bin_dir / "embedrank-cf"
    model = models / "bert_gelu_mean.f32.bin"
    npy = check_embed(embed, model, work)
    check_search(search, embed, model, work, npy)
    check_tokenize(tokenize, model, work)
    check_cf(cf, data, work)
    for failure in FAILURES:
        print("FAIL:", failure)
    print(f"{len(FAILURES)} failure(s)")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
