"""Catalogue embedding on Spark (examples/spark/embed_catalogue.py, local mode
with 1 and 2 executor cores) beside one Python process (Embedder.encode with
1 and 2 threads), same texts, same model.

    .venv-spark/bin/python bench/spark_embed_throughput.py [--copies 8] [--rounds 3]

Texts: examples/data/catalogue.tsv ("title. description"), repeated --copies
times (358 products x 8 = 2,864 texts, ~31 tokens each). Each Spark run is a
whole job (read Parquet, mapInPandas, write Parquet) on a session that has
already run the job once (workers started, model opened); the table gives
the median of --rounds runs per setting, texts/s, and the share of the
single process's speed at the same core count. Needs build/python and
.venv-spark (scripts/install_deps.sh --spark); not part of CI.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "all-MiniLM-L6-v2.f32.bin"
os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT / "build" / "python"), str(ROOT / "examples" / "spark"),
                                            os.environ.get("PYTHONPATH", "")])
os.environ["PYSPARK_PYTHON"] = sys.executable
os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
sys.path[:0] = [str(ROOT / "build" / "python"), str(ROOT / "examples" / "spark")]

import embedrank  # noqa: E402
import embed_catalogue  # noqa: E402
import pandas as pd  # noqa: E402


def texts(copies: int) -> list[str]:
    out = []
    for line in (ROOT / "examples" / "data" / "catalogue.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        _, _, title, description = line.split("\t")
        out.append(f"{title}. {description}")
    return out * copies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    corpus = texts(args.copies)
    rows = []
    for threads in (1, 2):
        model = embedrank.Embedder(str(MODEL), threads=threads)
        model.encode(corpus[:64])
        samples = []
        for _ in range(args.rounds):
            start = time.perf_counter()
            model.encode(corpus, batch_size=64)
            samples.append(time.perf_counter() - start)
        rows.append(("one process, encode()", threads, statistics.median(samples)))

    from pyspark.sql import SparkSession

    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "catalogue.parquet"
        pd.DataFrame({"id": range(len(corpus)), "text": corpus}).to_parquet(source)
        for cores in (1, 2):
            spark = (SparkSession.builder.master(f"local[{cores}]").appName("embedrank-throughput")
                     .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false").config("spark.sql.shuffle.partitions", str(cores))
                     .config("spark.default.parallelism", str(cores)).getOrCreate())
            try:
                frame = spark.read.parquet(str(source)).repartition(cores)
                frame.write.mode("overwrite").parquet(str(Path(tmp) / "input"))
                run = lambda: embed_catalogue.embed_catalogue(spark, str(MODEL), str(Path(tmp) / "input"),  # noqa: E731
                                                              str(Path(tmp) / "out"), batch_size=64, threads=1)
                run()  # workers started, model opened
                samples = []
                for _ in range(args.rounds):
                    start = time.perf_counter()
                    run()
                    samples.append(time.perf_counter() - start)
                rows.append((f"Spark local[{cores}], mapInPandas", cores, statistics.median(samples)))
            finally:
                spark.stop()

    single = {threads: seconds for name, threads, seconds in rows if name.startswith("one")}
    print(f"{len(corpus)} texts, all-MiniLM-L6-v2 f32, median of {args.rounds} runs\n")
    print("| setting | cores | seconds | texts/s | vs one process on as many cores |")
    print("|---|---|---|---|---|")
    for name, cores, seconds in rows:
        print(f"| {name} | {cores} | {seconds:.2f} | {len(corpus) / seconds:,.0f} | {single[cores] / seconds:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
