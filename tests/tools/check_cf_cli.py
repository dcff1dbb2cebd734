"""embedrank-cf --surprise-compatible against Surprise's committed predictions.

Runs the command line on the committed synthetic train/test split for the
three algorithms in the fixture's "default" setting (k 40, min_k 1,
min_support 1) and checks every prediction against Surprise 1.1.5's
(tests/data/cf/surprise_predictions.tsv, from weights_tools/make_cf_fixtures.py)
within 1e-9. Standard library only.

    python3 tests/tools/check_cf_cli.py build/bin/embedrank-cf tests/data/cf WORK_DIR
"""
import csv
import subprocess
import sys
from pathlib import Path


def main(cli: str, data: Path, work: Path) -> int:
    expected = {}  # (algo, user, item) -> prediction
    with open(data / "surprise_predictions.tsv") as f:
        for row in csv.reader((line for line in f if not line.startswith("#")), delimiter="\t"):
            setting, algo, user, item, prediction = row[0], row[4], row[5], row[6], float(row[8])
            if setting == "default":
                expected[(algo, user, item)] = prediction
    work.mkdir(parents=True, exist_ok=True)
    failures, compared, largest = [], 0, 0.0
    for algo in ("knn_basic", "knn_with_means", "knn_with_zscore"):
        out = work / f"cf_cli_{algo}.tsv"
        subprocess.run([cli, "--train", str(data / "synthetic_train.tsv"), "--test", str(data / "synthetic_test.tsv"),
                        "--algo", algo, "--k", "40", "--min-k", "1", "--min-support", "1", "--surprise-compatible",
                        "--predictions", str(out)], check=True, stdout=subprocess.DEVNULL)
        with open(out) as f:
            for row in csv.DictReader(f, delimiter="\t"):
                key = (algo, row["user"], row["item"])
                if key not in expected:
                    continue
                compared += 1
                largest = max(largest, abs(float(row["prediction"]) - expected[key]))
                if abs(float(row["prediction"]) - expected[key]) > 1e-9:
                    failures.append(f"{key}: {row['prediction']} vs Surprise {expected[key]}")
    print(f"compared {compared} predictions, {len(failures)} differ by more than 1e-9, largest difference {largest:.3g}")
    for line in failures[:10]:
        print(line)
    return 1 if failures or compared < 3 * 500 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])))
