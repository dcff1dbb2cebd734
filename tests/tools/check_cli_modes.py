"""The command-line programs' modes against the library's own results: every
mode a flag selects is run and compared with the same computation through
the Python package (built from the same headers) or, where the package has
no such call, with a reference this script computes from it.

    python3 check_cli_modes.py BIN_DIR PYTHON_DIR TEST_WORK_DIR DATA_DIR WORK_DIR

BIN_DIR holds embedrank-{rerank,embed,tokenize,cf,classify}; PYTHON_DIR the
built package (<build>/python); TEST_WORK_DIR the converted tiny models
(models/, heads/); DATA_DIR tests/data.

  embedrank-rerank --query/--candidates/--top (tsv, json): the candidates
      scored by SequenceClassifier.predict, stably sorted best first, cut at K;
  embedrank-embed --format tsv/jsonl: Embedder.encode, bit for bit ("%.9g"
      gives every float32 back);
  embedrank-tokenize (plain, --json, --no-special, --pair): Embedder.tokenize
      for the single texts; without special tokens, the same ids without the
      template's first and last; pairs, the template of the model family
      (BERT: [CLS] A [SEP] B [SEP], types 0 then 1; XLM-R: <s> A </s> </s> B
      </s>, types 0) around the two texts' own ids;
  embedrank-cf --cv/--seed: the folds of std::mt19937_64(seed) (as
      cf::kfold_assignment), each fitted and predicted by UserKnn, RMSE and MAE;
      --clip/--no-clip/--fallback/--order/--similarity/--memory-budget-mb: the predictions
      of UserKnn with the same options;
  embedrank-classify --tokens --stride: TokenClassifier.entities with the stride.
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

FAILURES: list[str] = []


def run(args: list, stdin: str = "") -> str:
    result = subprocess.run([str(a) for a in args], input=stdin.encode("utf-8"), capture_output=True, timeout=600)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, args))} exited {result.returncode}: "
                         f"{result.stderr.decode(errors='replace').strip()}")
    return result.stdout.decode("utf-8")


def check(what: str, ok: bool, detail: str = "") -> None:
    if not ok:
        FAILURES.append(f"{what}: {detail}" if detail else what)


def read_lines(path: Path) -> list[str]:
    lines = path.read_bytes().decode("utf-8").split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def f32(text) -> bytes:
    """The float32 a printed number stands for, as bytes (compare bit for bit)."""
    import numpy as np
    return np.array(text, dtype=np.float64).astype(np.float32).tobytes()


# ---- embedrank-rerank --------------------------------------------------------

def check_rerank(bin_dir: Path, heads: Path, data: Path, work: Path) -> None:
    import embedrank
    model = heads / "bert_cross_encoder.f32.bin"
    texts = [t.strip() for t in read_lines(data / "heads" / "bert_cross_encoder" / "texts.txt")]
    # every other line with an ID (the others are numbered by their line)
    lines, ids = [], []
    for n, text in enumerate(texts, start=1):
        if n % 2:
            lines.append(f"sku-{n}\t{text}")
            ids.append(f"sku-{n}")
        else:
            lines.append(text)
            ids.append(str(n))
    candidates = work / "rerank_candidates.txt"
    candidates.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    query = "red dress for summer"
    scores = embedrank.SequenceClassifier(str(model), threads=1).predict([(query, t) for t in texts])[:, 0]
    order = sorted(range(len(texts)), key=lambda i: -float(scores[i]))  # stable: ties keep file order
    check("rerank: the candidates' scores are not all equal", len(set(scores.tolist())) > 1)

    for top in (None, 3):
        flags = [] if top is None else ["--top", top]
        out = run([bin_dir / "embedrank-rerank", "--model", model, "--threads", 1, "--query", query,
                   "--candidates", candidates, *flags]).splitlines()
        expected = order if top is None else order[:top]
        rows = [line.split("\t") for line in out]
        check(f"rerank --top {top}: rows", len(rows) == len(expected), f"{len(rows)} rows, expected {len(expected)}")
        for rank, (row, i) in enumerate(zip(rows, expected), start=1):
            what = f"rerank --top {top} rank {rank}"
            check(what, row[:2] == [str(rank), ids[i]] and row[3] == texts[i], f"{row} vs {[rank, ids[i], texts[i]]}")
            check(what + " score", f32(row[2]) == f32(scores[i]), f"{row[2]} vs {scores[i]!r}")
    out = run([bin_dir / "embedrank-rerank", "--model", model, "--threads", 1, "--query", query,
               "--candidates", candidates, "--top", 2, "--format", "json"])
    ranked = json.loads(out)
    check("rerank --format json --top 2",
          [(r["id"], r["text"]) for r in ranked] == [(ids[i], texts[i]) for i in order[:2]], str(ranked))
    check("rerank --format json scores", [f32(r["score"]) for r in ranked] == [f32(scores[i]) for i in order[:2]])


# ---- embedrank-embed ---------------------------------------------------------

def check_embed(bin_dir: Path, models: Path, data: Path, work: Path) -> None:
    import numpy as np

    import embedrank
    model = models / "bert_gelu_mean.f32.bin"
    texts = read_lines(data / "models" / "bert_gelu_mean" / "texts.txt")
    source = work / "embed_texts.txt"
    source.write_text("".join(t + "\n" for t in texts), encoding="utf-8")
    expected = embedrank.Embedder(str(model), threads=1).encode(texts)  # (N, D) float32

    tsv = run([bin_dir / "embedrank-embed", "--model", model, "--threads", 1, "--format", "tsv", source])
    got = np.array([[float(v) for v in line.split("\t")] for line in tsv.splitlines()]).astype(np.float32)
    check("embed --format tsv", got.shape == expected.shape and got.tobytes() == expected.tobytes(),
          f"shape {got.shape}, max diff {np.abs(got - expected).max() if got.shape == expected.shape else '-'}")
    out = work / "embed.jsonl"
    run([bin_dir / "embedrank-embed", "--model", model, "--threads", 1, "--format", "jsonl", "--out", out, source])
    got = np.array([json.loads(line) for line in read_lines(out)]).astype(np.float32)
    check("embed --format jsonl", got.shape == expected.shape and got.tobytes() == expected.tobytes(),
          f"shape {got.shape}")


# ---- embedrank-tokenize ------------------------------------------------------

def check_tokenize(bin_dir: Path, models: Path, data: Path) -> None:
    import embedrank
    for name, family in (("bert_gelu_mean", "bert"), ("xlmr_gelu_mean", "xlmr")):
        model = models / f"{name}.f32.bin"
        embedder = embedrank.Embedder(str(model), threads=1)
        # texts the package's tokenize() reads as they are: preprocess(text)
        # leaves them unchanged, and they fit in max_seq_length untruncated
        texts = [t for t in read_lines(data / "models" / name / "texts.txt") if embedder.preprocess(t) == t]
        encoded = embedder.tokenize(texts)
        single = [[int(i) for i, m in zip(ids, mask) if m]
                  for ids, mask in zip(encoded["input_ids"], encoded["attention_mask"])]
        texts, single = [t for t, s in zip(texts, single) if len(s) < embedder.max_seq_length], \
            [s for s in single if len(s) < embedder.max_seq_length]
        check(f"tokenize {name}: texts", len(texts) >= 4, f"{len(texts)} usable texts")
        stdin = "".join(t + "\n" for t in texts)

        plain = [[int(i) for i in line.split()] for line in
                 run([bin_dir / "embedrank-tokenize", "--model", model], stdin).splitlines()]
        check(f"tokenize {name}", plain == single, f"{plain[:2]} vs {single[:2]}")
        bare = [[int(i) for i in line.split()] for line in
                run([bin_dir / "embedrank-tokenize", "--model", model, "--no-special"], stdin).splitlines()]
        check(f"tokenize {name} --no-special", bare == [s[1:-1] for s in single], f"{bare[:2]} vs {single[:2]}")
        first, last = single[0][0], single[0][-1]  # the template's: [CLS] [SEP] or <s> </s>

        rows = [json.loads(line) for line in run([bin_dir / "embedrank-tokenize", "--model", model, "--json"],
                                                 stdin).splitlines()]
        check(f"tokenize {name} --json ids", [r["ids"] for r in rows] == single)
        for r in rows:
            n = len(r["ids"])
            ok = len(r["tokens"]) == n and r["type_ids"] == [0] * n and r["attention_mask"] == [1] * n
            check(f"tokenize {name} --json fields", ok, str(r)[:200])
        specials = {(r["tokens"][0], r["tokens"][-1]) for r in rows}
        check(f"tokenize {name} --json special tokens",
              specials == ({("[CLS]", "[SEP]")} if family == "bert" else {("<s>", "</s>")}), str(specials))

        pairs = [(texts[i], texts[(i + 1) % len(texts)]) for i in range(len(texts))]
        pair_stdin = "".join(f"{a}\t{b}\n" for a, b in pairs)
        rows = [json.loads(line) for line in
                run([bin_dir / "embedrank-tokenize", "--model", model, "--pair", "--json"], pair_stdin).splitlines()]
        check(f"tokenize {name} --pair rows", len(rows) == len(pairs))
        for p, r in enumerate(rows):
            a, b = bare[p], bare[(p + 1) % len(texts)]
            if family == "bert":
                ids = [first, *a, last, *b, last]
                types = [0] * (len(a) + 2) + [1] * (len(b) + 1)
            else:
                ids = [first, *a, last, last, *b, last]
                types = [0] * len(ids)
            check(f"tokenize {name} --pair {p}", r["ids"] == ids and r["type_ids"] == types,
                  f"{r['ids']} {r['type_ids']} vs {ids} {types}")
        plain_pairs = [[int(i) for i in line.split()] for line in
                       run([bin_dir / "embedrank-tokenize", "--model", model, "--pair"], pair_stdin).splitlines()]
        check(f"tokenize {name} --pair (plain)", plain_pairs == [r["ids"] for r in rows])


# ---- embedrank-cf ------------------------------------------------------------

class MT19937_64:
    """std::mt19937_64, whose output the C++ standard fixes."""

    def __init__(self, seed: int) -> None:
        self.mt = [seed & 0xFFFFFFFFFFFFFFFF]
        for i in range(1, 312):
            self.mt.append((6364136223846793005 * (self.mt[-1] ^ (self.mt[-1] >> 62)) + i) & 0xFFFFFFFFFFFFFFFF)
        self.index = 312

    def __call__(self) -> int:
        if self.index >= 312:
            for i in range(312):
                x = (self.mt[i] & 0xFFFFFFFF80000000) | (self.mt[(i + 1) % 312] & 0x7FFFFFFF)
                xa = (x >> 1) ^ (0xB5026F5AA96619E9 if x & 1 else 0)
                self.mt[i] = self.mt[(i + 156) % 312] ^ xa
            self.index = 0
        y = self.mt[self.index]
        self.index += 1
        y ^= (y >> 29) & 0x5555555555555555
        y ^= (y << 17) & 0x71D67FFFEDA60000
        y ^= (y << 37) & 0xFFF7EEE000000000
        y ^= y >> 43
        return y


def kfold_assignment(count: int, folds: int, seed: int) -> list[int]:
    order = list(range(count))
    rng = MT19937_64(seed)
    for p in range(count, 1, -1):
        j = rng() % p
        order[p - 1], order[j] = order[j], order[p - 1]
    fold_of = [0] * count
    for p in range(count):
        fold_of[order[p]] = p * folds // count
    return fold_of


def read_triplets(path: Path) -> list[tuple[str, str, float]]:
    rows = [line.split("\t") for line in read_lines(path)]
    return [(r[0], r[1], float(r[2])) for r in rows]


def accuracy(truth: list[tuple[str, str, float]], predictions) -> tuple[float, float]:
    squares = absolutes = 0.0
    for (_, _, rating), value in zip(truth, predictions):
        squares += (rating - value) ** 2
        absolutes += abs(rating - value)
    return math.sqrt(squares / len(truth)), absolutes / len(truth)


def predictions_of(out: Path) -> list[float]:
    return [float(line.split("\t")[3]) for line in read_lines(out)[1:]]


def check_cf(bin_dir: Path, data: Path, work: Path) -> None:
    import embedrank
    cf_dir = data / "cf"
    train_path, test_path = cf_dir / "synthetic_train.tsv", cf_dir / "synthetic_test.tsv"
    train, test = read_triplets(train_path), read_triplets(test_path)
    cli = bin_dir / "embedrank-cf"

    def fit(triplets, **options):
        return embedrank.UserKnn(algorithm="knn_with_means", threads=1, **options).fit(
            [t[0] for t in triplets], [t[1] for t in triplets], [t[2] for t in triplets])

    # --cv K --seed S: the folds of mt19937_64(S), each a fit and a prediction
    for seed in (None, 7):
        flags = [] if seed is None else ["--seed", seed]
        report = json.loads(run([cli, "--train", train_path, "--cv", 3, "--algo", "knn_with_means", "--threads", 1,
                                 *flags]))
        fold_of = kfold_assignment(len(train), 3, seed or 0)
        check(f"cf --cv 3 seed {seed}: report", report["folds"] == 3 and report["seed"] == (seed or 0)
              and len(report["per_fold"]) == 3, str(report)[:300])
        for f, got in enumerate(report["per_fold"]):
            fold_test = [t for t, fold in zip(train, fold_of) if fold == f]
            fold_train = [t for t, fold in zip(train, fold_of) if fold != f]
            values = fit(fold_train).predict_many([t[0] for t in fold_test], [t[1] for t in fold_test])
            rmse, mae = accuracy(fold_test, values)
            what = f"cf --cv 3 seed {seed} fold {f}"
            check(what + " size", got["test_ratings"] == len(fold_test), f"{got['test_ratings']} vs {len(fold_test)}")
            check(what + " rmse", abs(got["rmse"] - rmse) <= 1e-12, f"{got['rmse']!r} vs {rmse!r}")
            check(what + " mae", abs(got["mae"] - mae) <= 1e-12, f"{got['mae']!r} vs {mae!r}")
    seeds = [json.loads(run([cli, "--train", train_path, "--cv", 3, "--algo", "knn_with_means", "--threads", 1,
                             "--seed", s]))["per_fold"] for s in (7, 8)]
    check("cf --cv: another seed, other folds", [f["rmse"] for f in seeds[0]] != [f["rmse"] for f in seeds[1]])

    # --test with the options a flag sets: the predictions of UserKnn with the same options
    users, items = [t[0] for t in test], [t[1] for t in test]
    default = fit(train).predict_many(users, items).tolist()
    cases = [
        (["--clip"], {"clip": True}),      # the default
        (["--no-clip"], {"clip": False}),
        (["--fallback", "global_mean"], {"fallback": "global_mean"}),
        (["--order", "surprise"], {"order": "surprise"}),
        (["--similarity", "pearson"], {}),
        (["--memory-budget-mb", "64"], {}),  # enough: the same predictions
    ]
    for flags, options in cases:
        out = work / f"cf_{flags[0].strip('-')}.tsv"
        report = json.loads(run([cli, "--train", train_path, "--test", test_path, "--algo", "knn_with_means",
                                 "--threads", 1, "--predictions", out, *flags]))
        expected = fit(train, **options).predict_many(users, items).tolist()
        got = predictions_of(out)
        differ = sum(a != b for a, b in zip(got, expected))
        check(f"cf {' '.join(flags)}", len(got) == len(expected) and differ == 0,
              f"{differ} of {len(expected)} predictions differ")
        for key, value in options.items():
            check(f"cf {' '.join(flags)}: settings", report[key] == value, f"{key} = {report[key]!r}")
        if options.get("clip") is False or options.get("fallback"):
            changed = sum(a != b for a, b in zip(expected, default))
            check(f"cf {' '.join(flags)} changes some predictions", changed > 0, "none changed: the check says little")
    # a budget the similarity computation does not fit in: refused, exit 1, before any output
    small = subprocess.run([str(cli), "--train", str(train_path), "--test", str(test_path), "--algo", "knn_with_means",
                            "--memory-budget-mb", "1"], capture_output=True, timeout=600)
    check("cf --memory-budget-mb 1: over budget", small.returncode == 1 and not small.stdout
          and b"[embedrank.input.over_budget]" in small.stderr, small.stderr.decode(errors="replace")[:300])


# ---- embedrank-classify --stride --------------------------------------------

def check_classify_stride(bin_dir: Path, heads: Path, data: Path) -> None:
    import embedrank
    for name, aggregation, stride in (("bert_token_cls", "simple", 4), ("xlmr_token_cls", "max", 10)):
        model = heads / f"{name}.f32.bin"
        texts = read_lines(data / "heads" / name / "stride_texts.txt")
        out = run([bin_dir / "embedrank-classify", "--model", model, "--threads", 1, "--tokens",
                   "--aggregation", aggregation, "--stride", stride], "".join(t + "\n" for t in texts))
        got = [json.loads(line)["entities"] for line in out.splitlines()]
        expected = embedrank.TokenClassifier(str(model), threads=1).entities(texts, aggregation, stride)
        check(f"classify --stride {stride} {name}: lines", len(got) == len(expected) == len(texts))
        for t, (g, e) in enumerate(zip(got, expected)):
            spans = [(x["label"], x["start"], x["end"], x["text"]) for x in g]
            check(f"classify --stride {stride} {name} text {t}",
                  spans == [(x.label, x.begin, x.end, x.text) for x in e], f"{spans} vs {e}")
            check(f"classify --stride {stride} {name} text {t} scores",
                  [f32(x["score"]) for x in g] == [f32(x.score) for x in e])
        # the windows reach past the first one: a stride changes what is read
        unstrided = embedrank.TokenClassifier(str(model), threads=1).entities(texts, aggregation)
        check(f"classify --stride {stride} {name}: differs from truncation",
              [[(x.begin, x.end) for x in e] for e in expected] != [[(x.begin, x.end) for x in e] for e in unstrided])


def main() -> int:
    bin_dir, python_dir, test_work, data, work = (Path(a) for a in sys.argv[1:6])
    sys.path.insert(0, str(python_dir))
    work.mkdir(parents=True, exist_ok=True)
    models, heads = test_work / "models", test_work / "heads"
    for name, check_mode in (("rerank", lambda: check_rerank(bin_dir, heads, data, work)),
                             ("embed", lambda: check_embed(bin_dir, models, data, work)),
                             ("tokenize", lambda: check_tokenize(bin_dir, models, data)),
                             ("cf", lambda: check_cf(bin_dir, data, work)),
                             ("classify", lambda: check_classify_stride(bin_dir, heads, data))):
        before = len(FAILURES)
        check_mode()
        print(f"{name}: {'ok' if len(FAILURES) == before else f'{len(FAILURES) - before} failures'}")
    for failure in FAILURES[:40]:
        print("FAIL", failure)
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
