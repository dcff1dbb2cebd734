"""Embeds a product catalogue with Spark: Parquet in, (id, vector) Parquet out.

    spark-submit examples/spark/embed_catalogue.py --model models/all-MiniLM-L6-v2.f32.bin \\
        --input catalogue.parquet --output vectors.parquet [--id-col id] [--text-col text] \\
        [--batch-size 64] [--threads 1]

Each Spark task runs embedrank.Embedder.encode over its partition's texts
(mapInPandas, in Arrow batches). The model is opened once per Python worker
process and kept for every later task that worker runs (Spark reuses its
Python workers by default, spark.python.worker.reuse): at most once per
executor core, never once per task or per batch. The model file must be
readable at the same path on every executor (a shared file system, or
`--files` with the file's name as --model). The vectors are float32, as
encode() returns them, and equal a single-process encode() of the same texts
bit for bit: a text's vector depends neither on its batch nor on the thread
count.

--threads: encoder threads per task; with one task per executor core, 1
(the default) uses each core once. Needs the embedrank package and pyarrow
on the executors.
"""
from __future__ import annotations

import argparse
from typing import Dict, Iterator, Tuple

import pandas as pd

# One Embedder per (model path, threads) in each Python worker process.
_MODELS: Dict[Tuple[str, int], object] = {}


def _model(path: str, threads: int):
    import embedrank

    key = (path, threads)
    if key not in _MODELS:
        _MODELS[key] = embedrank.Embedder(path, threads=threads)
    return _MODELS[key]


def embed_batches(batches: Iterator[pd.DataFrame], model_path: str, threads: int, batch_size: int,
                  id_col: str, text_col: str) -> Iterator[pd.DataFrame]:
    """mapInPandas body: (id, text) batches in, (id, vector) batches out."""
    model = _model(model_path, threads)
    for batch in batches:
        texts = batch[text_col].tolist()
        if any(not isinstance(t, str) for t in texts):
            bad = next(i for i, t in zip(batch[id_col], texts) if not isinstance(t, str))
            raise ValueError(f"{text_col} of {id_col} {bad!r} is not a string (null?)")
        vectors = model.encode(texts, batch_size=batch_size)  # float32 (B, D)
        yield pd.DataFrame({id_col: batch[id_col].to_numpy(), "vector": list(vectors)})


def embed_catalogue(spark, model_path: str, input_path: str, output_path: str, id_col: str = "id",
                    text_col: str = "text", batch_size: int = 64, threads: int = 1) -> None:
    from pyspark.sql.types import ArrayType, FloatType, StructField, StructType

    catalogue = spark.read.parquet(input_path).select(id_col, text_col)
    schema = StructType([catalogue.schema[id_col], StructField("vector", ArrayType(FloatType(), containsNull=False))])
    vectors = catalogue.mapInPandas(
        lambda batches: embed_batches(batches, model_path, threads, batch_size, id_col, text_col), schema)
    vectors.write.mode("overwrite").parquet(output_path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--id-col", default="id")
    parser.add_argument("--text-col", default="text")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.appName("embedrank-embed-catalogue").getOrCreate()
    try:
        embed_catalogue(spark, args.model, args.input, args.output, args.id_col, args.text_col, args.batch_size,
                        args.threads)
    finally:
        spark.stop()


if __name__ == "__main__":
    main()
