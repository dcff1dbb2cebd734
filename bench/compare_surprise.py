"""embedrank user-kNN vs Surprise: same synthetic ratings, same machine, side by side.

For each size (users; items and ratings in MovieLens-like proportions, see
SIZES) it writes a seeded synthetic train/test split (1-5 stars skewed towards
4, Zipf-like item popularity, long-tailed user activity), then runs
  * Surprise KNNWithMeans, user-based Pearson (k=40, min_k=1, min_support=1),
    in a child process under a memory cap (prlimit --as); its dense similarity
    needs 56 U^2 bytes (six float64 and one intp (U, U) arrays), so sizes whose
    56 U^2 exceeds the cap are not started and the computed figure is reported;
  * build/bin/embedrank-cf, the same algorithm, twice: --surprise-compatible
    (every positive neighbour kept; its predictions equal Surprise's, and the
    script checks that RMSE agrees) and the default top-200 neighbour lists;
each --repeats times, and reports median fit and predict seconds (loading
the files is outside both: Surprise's Dataset/build_full_trainset, our
load_seconds), peak resident memory and CPU seconds (user + system) of the whole process
(/usr/bin/time %M %U %S; the CPU figure is less disturbed by other load on
the machine than wall time),
RMSE (both clip to [1, 5]) and the ratios Surprise / embedrank.

Needs numpy (system python) and a venv with scikit-surprise for the peer:
  python3 -m venv /opt/cfenv && /opt/cfenv/bin/pip install numpy cython scikit-surprise
Run from the repository root after building embedrank-cf:
  /usr/bin/python3 bench/compare_surprise.py --cli build-cf/bin/embedrank-cf \
      --surprise-python /opt/cfenv/bin/python --work /tmp/cfbench --sizes 1k,10k,50k
  /usr/bin/python3 bench/compare_surprise.py --cli build-cf/bin/embedrank-cf \
      --work /tmp/cfbench --sizes 100k,500k --no-surprise --repeats 1
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

# name: (users, items, ratings). 1k and 10k follow MovieLens 100K / 1M
# (about 100 ratings per user); 500k is the 500k x 50k x 20M.
SIZES = {
    "1k": (1_000, 1_700, 100_000),
    "10k": (10_000, 6_000, 1_000_000),
    "50k": (50_000, 15_000, 5_000_000),
    "100k": (100_000, 50_000, 4_000_000),  # the 500k shape at a fifth of the users
    "500k": (500_000, 50_000, 20_000_000),
}
TEST_FRACTION = 0.1
SEED = 7

SURPRISE_CHILD = r"""
import json, sys, time
import numpy as np
from surprise import Dataset, KNNWithMeans, Reader
train_path, test_path = sys.argv[1], sys.argv[2]
reader = Reader(line_format="user item rating timestamp", sep="\t", rating_scale=(1, 5))
try:
    trainset = Dataset.load_from_file(train_path, reader=reader).build_full_trainset()
    testset = []
    with open(test_path) as f:
        for line in f:
            u, i, r = line.split("\t")[:3]
            testset.append((u, i, float(r)))
    algo = KNNWithMeans(k=40, min_k=1, sim_options={"name": "pearson", "user_based": True, "min_support": 1},
                        verbose=False)
    start = time.perf_counter()
    algo.fit(trainset)
    fit = time.perf_counter() - start
    start = time.perf_counter()
    preds = algo.test(testset)
    predict = time.perf_counter() - start
    errors = np.array([p.r_ui - p.est for p in preds])
    print(json.dumps({"status": "ok", "fit_seconds": fit, "predict_seconds": predict,
                      "rmse": float(np.sqrt(np.mean(errors ** 2)))}))
except MemoryError:
    print(json.dumps({"status": "out of memory"}))
"""


def generate(directory: Path, name: str):
    """Writes train.tsv / test.tsv for a size (skipped when present)."""
    users, items, ratings = SIZES[name]
    train, test = directory / f"{name}_train.tsv", directory / f"{name}_test.tsv"
    meta = directory / f"{name}_meta.json"
    if train.exists() and test.exists() and meta.exists():
        return train, test, json.loads(meta.read_text())["item_pairs"]
    rng = np.random.default_rng(SEED)
    # Item popularity: Zipf-like over a random item order.
    popularity = 1.0 / (np.arange(items) + 10.0) ** 0.8
    popularity = popularity[rng.permutation(items)]
    popularity /= popularity.sum()
    # Activity: long-tailed, at least 1 rating, about `ratings` in total.
    activity = rng.lognormal(0.0, 0.9, users)
    activity = np.maximum(1, np.round(activity / activity.sum() * ratings)).astype(np.int64)
    activity = np.minimum(activity, items // 2)
    # Sample with replacement, then drop repeated (user, item) pairs.
    user_of = np.repeat(np.arange(users, dtype=np.int64), activity)
    item_of = rng.choice(items, size=user_of.size, p=popularity)
    pairs = np.unique(user_of * items + item_of)
    user_of, item_of = pairs // items, pairs % items
    # Ratings from biases and a few latent factors, rounded to 1..5 stars.
    dim = 4
    user_bias, item_bias = rng.normal(0.0, 0.45, users), rng.normal(0.0, 0.45, items)
    p, q = rng.normal(0.0, 0.45, (users, dim)), rng.normal(0.0, 0.45, (items, dim))
    stars = np.empty(user_of.size, dtype=np.int8)
    for start in range(0, user_of.size, 2_000_000):
        u, i = user_of[start:start + 2_000_000], item_of[start:start + 2_000_000]
        score = 3.6 + user_bias[u] + item_bias[i] + np.einsum("ij,ij->i", p[u], q[i]) + rng.normal(0.0, 0.6, u.size)
        stars[start:start + u.size] = np.clip(np.round(score), 1, 5)
    in_test = rng.random(user_of.size) < TEST_FRACTION
    order = rng.permutation(user_of.size)
    for path, mask in ((train, ~in_test), (test, in_test)):
        rows = order[mask[order]]
        with open(path, "w") as f:
            for start in range(0, rows.size, 1_000_000):
                r = rows[start:start + 1_000_000]
                block = np.column_stack([user_of[r], item_of[r] + 1_000_000, stars[r], np.full(r.size, 881250949)])
                np.savetxt(f, block, fmt="%d", delimiter="\t")
    # Sum over items of (training raters)^2: the work of one co-rating product.
    raters = np.bincount(item_of[~in_test], minlength=items).astype(np.float64)
    pairs_work = float((raters ** 2).sum())
    meta.write_text(json.dumps({"item_pairs": pairs_work}))
    return train, test, pairs_work


def timed(command, memory_cap_bytes=None):
    """Runs a command under /usr/bin/time; returns (stdout, peak RSS bytes, return code)."""
    prefix = ["/usr/bin/time", "-f", "PEAK_KB %M CPU %U %S"]
    if memory_cap_bytes:
        prefix = ["prlimit", f"--as={memory_cap_bytes}"] + prefix
    result = subprocess.run(prefix + command, capture_output=True, text=True)
    peak, cpu = 0, float("nan")
    for line in result.stderr.splitlines():
        if line.startswith("PEAK_KB"):
            fields = line.split()
            peak, cpu = int(fields[1]) * 1024, float(fields[3]) + float(fields[4])
    return result.stdout, (peak, cpu), result.returncode, result.stderr


def run_ours(cli, train, test, surprise_compatible, threads):
    # --clip: Surprise's test() clips to the rating scale (1, 5), the training range here.
    command = [cli, "--train", str(train), "--test", str(test), "--algo", "knn_with_means", "--k", "40",
               "--min-k", "1", "--min-support", "1", "--threads", str(threads), "--clip"]
    if surprise_compatible:
        command.append("--surprise-compatible")
    out, (peak, cpu), code, err = timed(command)
    if code != 0:
        return {"status": f"failed ({code}): {err.strip()[-300:]}"}
    result = json.loads(out)
    result.update(status="ok", peak_bytes=peak, process_cpu_seconds=cpu)
    return result


def run_surprise(python, train, test, cap):
    out, (peak, cpu), code, err = timed([python, "-c", SURPRISE_CHILD, str(train), str(test)], cap)
    if code != 0 or not out.strip():
        status = "out of memory" if "MemoryError" in err or code in (-9, 137) else f"failed ({code}): {err.strip()[-300:]}"
        return {"status": status, "peak_bytes": peak}
    result = json.loads(out)
    result.update(peak_bytes=peak, process_cpu_seconds=cpu)
    return result


def median_of(runs, key):
    values = [r[key] for r in runs if r.get("status") == "ok"]
    return statistics.median(values) if values else float("nan")


def summarise(runs):
    ok = [r for r in runs if r.get("status") == "ok"]
    if not ok:
        return {"status": runs[0]["status"] if runs else "not run", "peak_bytes": max((r.get("peak_bytes", 0) for r in runs), default=0)}
    return {"status": "ok", "runs": len(ok), "fit_seconds": median_of(ok, "fit_seconds"),
            "load_seconds": median_of(ok, "load_seconds") if "load_seconds" in ok[0] else float("nan"),
            "predict_seconds": median_of(ok, "predict_seconds"), "peak_bytes": max(r["peak_bytes"] for r in ok),
            "process_cpu_seconds": median_of(ok, "process_cpu_seconds"),
            "rmse": ok[0]["rmse"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cli", required=True, help="path to embedrank-cf")
    parser.add_argument("--surprise-python", default="/opt/cfenv/bin/python")
    parser.add_argument("--no-surprise", action="store_true")
    parser.add_argument("--work", default="/tmp/cfbench")
    parser.add_argument("--sizes", default="1k,10k,50k")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--surprise-repeats", type=int, default=0, help="default: --repeats at 1k, 1 above")
    parser.add_argument("--memory-cap-gb", type=float, default=16.0, help="address-space cap for Surprise")
    parser.add_argument("--threads", type=int, default=0, help="embedrank threads (0: all CPUs)")
    parser.add_argument("--compatible-max-users", type=int, default=20_000,
                        help="run --surprise-compatible (all neighbours kept) only up to this many users")
    parser.add_argument("--json", help="write all results here")
    args = parser.parse_args()

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    cap = int(args.memory_cap_gb * 2**30)
    report = []
    for name in args.sizes.split(","):
        users, items, ratings = SIZES[name]
        t0 = time.perf_counter()
        train, test, pairs_work = generate(work, name)
        print(f"[{name}] data ready in {time.perf_counter() - t0:.1f} s: {train}", file=sys.stderr)
        entry = {"load_average_1min": os.getloadavg()[0], "size": name, "users": users, "items": items, "ratings_target": ratings,
                 "item_pairs": pairs_work, "surprise_dense_bytes": 56 * users**2}

        ours = {}
        for label, compatible in (("embedrank_compatible", True), ("embedrank_top200", False)):
            if compatible and users > args.compatible_max_users:
                ours[label] = {"status": "not run (all positive neighbours of every user would not fit 4 GB)"}
                continue
            runs = []
            for _ in range(args.repeats):
                runs.append(run_ours(args.cli, train, test, compatible, args.threads))
                print(f"[{name}] {label}: {runs[-1]}", file=sys.stderr)
            ours[label] = summarise(runs)
            ours[label]["train_ratings"] = runs[0].get("train_ratings")
        entry.update(ours)

        if args.no_surprise:
            entry["surprise"] = {"status": "not run (--no-surprise)"}
        elif 56 * users**2 > cap:
            entry["surprise"] = {"status": f"not started: needs 56 U^2 = {56 * users**2 / 2**30:.0f} GiB "
                                           f"> {args.memory_cap_gb:g} GiB cap"}
        else:
            repeats = args.surprise_repeats or (args.repeats if users <= 1000 else 1)
            runs = []
            for _ in range(repeats):
                runs.append(run_surprise(args.surprise_python, train, test, cap))
                print(f"[{name}] surprise: {runs[-1]}", file=sys.stderr)
            entry["surprise"] = summarise(runs)
        report.append(entry)

    print_table(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))


def fmt_seconds(x):
    return "—" if x != x else (f"{x:.3f}" if x < 10 else f"{x:.1f}")


def print_table(report):
    print("| size (users x items, train ratings) | system | fit s | predict s | peak RSS | RMSE | process CPU s "
          "| fit ratio | fit+predict ratio | CPU ratio |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for e in report:
        s = e.get("surprise", {})
        s_total = s.get("fit_seconds", float("nan")) + s.get("predict_seconds", float("nan"))
        first = True
        for label, title in (("surprise", "Surprise KNNWithMeans"), ("embedrank_compatible", "embedrank, Surprise-compatible"),
                             ("embedrank_top200", "embedrank, top-200 lists")):
            r = e.get(label, {})
            size = f"{e['size']} ({e['users']} x {e['items']}, {e.get('embedrank_top200', {}).get('train_ratings', '?')})" if first else ""
            first = False
            if r.get("status") != "ok":
                peak = f"{r.get('peak_bytes', 0) / 2**20:.0f} MiB" if r.get("peak_bytes") else ""
                print(f"| {size} | {title} | {r.get('status', 'not run')} | | {peak} | | | | | |")
                continue
            total = r["fit_seconds"] + r["predict_seconds"]
            mine = label != "surprise"
            fit_ratio = s.get("fit_seconds", float("nan")) / r["fit_seconds"] if mine else float("nan")
            total_ratio = s_total / total if mine else float("nan")
            cpu_ratio = s.get("process_cpu_seconds", float("nan")) / r["process_cpu_seconds"] if mine else float("nan")
            ratio = lambda x: "—" if x != x else f"{x:.0f}x"
            print(f"| {size} | {title} | {fmt_seconds(r['fit_seconds'])} | {fmt_seconds(r['predict_seconds'])} | "
                  f"{r['peak_bytes'] / 2**20:.0f} MiB | {r['rmse']:.4f} | {fmt_seconds(r['process_cpu_seconds'])} | "
                  f"{ratio(fit_ratio)} | {ratio(total_ratio)} | {ratio(cpu_ratio)} |")
        print(f"|  | (Surprise dense similarity: 56 U^2 = {e['surprise_dense_bytes'] / 2**30:.2f} GiB; "
              f"sum over items of raters^2 = {e['item_pairs']:.3g}; load average {e['load_average_1min']:.1f}) "
              f"| | | | | | | | |")


if __name__ == "__main__":
    main()
