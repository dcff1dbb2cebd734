"""examples/spark/ in local mode on 2 cores: embed_catalogue.py gives the
vectors of a single-process encode() bit for bit, search_catalogue.py the
results of one EmbeddingIndex over the whole catalogue (ties across shards
included).

Run with the interpreter that has pyspark and pyarrow (scripts/install_deps.sh
makes .venv-spark) and the package built in <build>/python:

    PYTHONPATH=build/python .venv-spark/bin/python -m pytest tests/spark
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("EMBEDRANK_BUILD_DIR", ROOT / "build")).resolve()
MODEL = ROOT / "models" / "all-MiniLM-L6-v2.f32.bin"

# The Python workers Spark starts import the same package and examples.
os.environ["PYTHONPATH"] = os.pathsep.join([str(BUILD / "python"), str(ROOT / "examples" / "spark"),
                                            os.environ.get("PYTHONPATH", "")])
os.environ["PYSPARK_PYTHON"] = sys.executable
os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
sys.path[:0] = [str(BUILD / "python"), str(ROOT / "examples" / "spark")]

import embedrank  # noqa: E402
import embed_catalogue  # noqa: E402
import search_catalogue  # noqa: E402
from pyspark.sql import SparkSession  # noqa: E402

# pyspark 3.5 compares versions with distutils' LooseVersion
pytestmark = pytest.mark.filterwarnings("ignore:distutils Version classes are deprecated:DeprecationWarning")


@pytest.fixture(scope="module")
def spark():
    session = (SparkSession.builder.master("local[2]").appName("embedrank-tests")
               .config("spark.sql.shuffle.partitions", "4").config("spark.ui.enabled", "false")
               .config("spark.driver.memory", "1g").getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def catalogue():
    if not MODEL.exists():
        pytest.fail(f"{MODEL} not found: ./scripts/get_model.sh downloads and converts it")
    rows = [line.split("\t") for line in (ROOT / "examples" / "data" / "catalogue.tsv").read_text().splitlines()[1:]]
    return pd.DataFrame({"id": [r[0] for r in rows], "text": [f"{r[2]}. {r[3]}" for r in rows]})


def write_parts(frame: pd.DataFrame, directory: Path, parts: int) -> Path:
    directory.mkdir(parents=True)
    for p, part in enumerate(np.array_split(np.arange(len(frame)), parts)):
        frame.iloc[part].to_parquet(directory / f"part-{p:03d}.parquet", index=False)
    return directory


def test_embedding_a_catalogue_equals_one_process(spark, catalogue, tmp_path):
    source = write_parts(catalogue, tmp_path / "catalogue", parts=5)
    embed_catalogue.embed_catalogue(spark, str(MODEL), str(source), str(tmp_path / "vectors"), batch_size=16)
    got = pd.read_parquet(tmp_path / "vectors")
    assert sorted(got["id"]) == sorted(catalogue["id"])
    got = got.set_index("id").loc[catalogue["id"]]
    vectors = np.stack(got["vector"].to_list())
    assert vectors.dtype == np.float32
    expected = embedrank.Embedder(str(MODEL)).encode(catalogue["text"].tolist())
    assert np.array_equal(vectors.view(np.uint32), expected.view(np.uint32))


@pytest.mark.parametrize("metric, shards", [("cosine", 3), ("ip", 5)])
def test_sharded_search_equals_one_index(spark, catalogue, tmp_path, metric, shards):
    model = embedrank.Embedder(str(MODEL))
    vectors = model.encode(catalogue["text"].tolist())
    # exact ties in different shards: copies of item 5 at the middle and the end
    ids = catalogue["id"].tolist() + ["COPY-A", "COPY-B"]
    vectors = np.concatenate([vectors, vectors[5:6], vectors[5:6]])
    order = list(range(len(ids) - 2))
    order.insert(len(order) // 2, len(ids) - 2)
    order.append(len(ids) - 1)
    ids = [ids[i] for i in order]
    vectors = vectors[order]
    write_parts(pd.DataFrame({"id": ids, "vector": list(vectors)}), tmp_path / "vectors", parts=4)
    queries = (ROOT / "examples" / "data" / "queries.txt").read_text().splitlines()
    query_vectors = np.concatenate([model.encode(queries), vectors[[order.index(5)]]])
    names = queries + ["item 5 itself"]
    pd.DataFrame({"query": names, "vector": list(query_vectors)}).to_parquet(tmp_path / "queries.parquet")

    k = 12
    results = search_catalogue.search_catalogue(spark, str(tmp_path / "vectors"), str(tmp_path / "queries.parquet"), k,
                                                shards=shards, metric=metric).toPandas()
    # the reference: one index over the catalogue in the order Spark reads it
    read = spark.read.parquet(str(tmp_path / "vectors")).toPandas()
    single = embedrank.EmbeddingIndex(vectors.shape[1], metric=metric)
    single.add(read["id"].tolist(), np.ascontiguousarray(np.stack(read["vector"].to_list()), dtype=np.float32))
    expected_ids, expected_scores = single.search(query_vectors, k)
    assert len(results) == len(names) * k
    for q, name in enumerate(names):
        rows = results[results["query"] == name].sort_values("rank")
        assert rows["rank"].tolist() == list(range(1, k + 1))
        assert rows["id"].tolist() == expected_ids[q].tolist(), name
        got = rows["score"].to_numpy(dtype=np.float32)
        assert np.array_equal(got.view(np.uint32), expected_scores[q].view(np.uint32)), name
    tied = results[results["query"] == "item 5 itself"]["id"].tolist()
    assert tied[:3] == [i for i in read["id"].tolist() if i in {catalogue["id"][5], "COPY-A", "COPY-B"}]
