"""Exact top-k over a catalogue split into shards, with Spark: each shard
answers every query with its own k best, and the shards' lists are merged
under the library's order, so the result equals one EmbeddingIndex over the
whole catalogue, ids and scores bit for bit.

    spark-submit examples/spark/search_catalogue.py --vectors vectors.parquet \\
        --queries queries.parquet --k 10 --output results.parquet \\
        [--shards 8] [--metric ip|cosine] [--id-col id] [--threads 1]

vectors.parquet: (id, vector) as embed_catalogue.py writes it; queries.parquet:
(query, vector), small enough to broadcast (Q x D floats). Output:
(query, rank, id, score), rank 1 = best.

The order: score descending, ties by catalogue row ascending, the row being
the item's place in the catalogue as read (docs/ranking.md). Each item gets
its global row (monotonically_increasing_id, which follows the read order),
each shard is a contiguous range of rows indexed in that order, and the
merge sorts every query's shard hits by (score desc, row asc) and keeps k.
A shard's k best always hold the merged k best that fall in it, so nothing
is lost; a score is the same in a shard as in one big index (each row is
scored alone, normalised alone for cosine).
"""
from __future__ import annotations

import argparse
from typing import Iterator

import numpy as np
import pandas as pd


def search_shard(batches: Iterator[pd.DataFrame], queries: np.ndarray, k: int, metric: str,
                 threads: int) -> Iterator[pd.DataFrame]:
    """mapInPandas body over one shard's (row, vector) batches: the shard's
    k best per query as (query_index, row, score)."""
    import embedrank

    rows, vectors = [], []
    for batch in batches:
        rows.append(batch["row"].to_numpy(dtype=np.int64))
        vectors.extend(batch["vector"])
    if not rows or sum(len(r) for r in rows) == 0:
        return
    row_ids = np.concatenate(rows)
    matrix = np.ascontiguousarray(np.stack(vectors), dtype=np.float32)
    index = embedrank.EmbeddingIndex(matrix.shape[1], metric=metric, threads=threads)
    index.add(row_ids, matrix)  # integer ids: the global rows, in row order
    found, scores = index.search(queries, k)  # (Q, k') each
    valid = found >= 0  # padding of a query with fewer results
    query_index = np.broadcast_to(np.arange(found.shape[0])[:, None], found.shape)
    yield pd.DataFrame({"query_index": query_index[valid], "row": found[valid], "score": scores[valid]})


def search_catalogue(spark, vectors_path: str, queries_path: str, k: int, output_path: str | None = None,
                     shards: int | None = None, metric: str = "ip", id_col: str = "id", threads: int = 1):
    """The (query, rank, id, score) DataFrame; written to output_path when given."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F
    from pyspark.sql.types import FloatType, LongType, StructField, StructType

    items = spark.read.parquet(vectors_path).select(id_col, "vector").withColumn("row", F.monotonically_increasing_id())
    items = items.cache()
    shards = shards or items.rdd.getNumPartitions()
    query_frame = spark.read.parquet(queries_path).select("query", "vector").toPandas()
    queries = np.ascontiguousarray(np.stack(query_frame["vector"].to_list()), dtype=np.float32)  # (Q, D)
    query_names = spark.createDataFrame(pd.DataFrame({"query_index": np.arange(len(query_frame)),
                                                      "query": query_frame["query"]}))
    broadcast = spark.sparkContext.broadcast(queries)

    schema = StructType([StructField("query_index", LongType()), StructField("row", LongType()),
                         StructField("score", FloatType())])
    hits = (items.select("row", "vector").repartitionByRange(shards, "row")
            .mapInPandas(lambda batches: search_shard(batches, broadcast.value, k, metric, threads), schema))
    best_first = Window.partitionBy("query_index").orderBy(F.col("score").desc(), F.col("row").asc())
    merged = hits.withColumn("rank", F.row_number().over(best_first)).where(F.col("rank") <= k)
    results = (merged.join(items.select("row", id_col), "row").join(query_names, "query_index")
               .select("query", "rank", id_col, "score").orderBy("query_index", "rank"))
    if output_path:
        results.write.mode("overwrite").parquet(output_path)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vectors", required=True)
    parser.add_argument("--queries", required=True)
    parser.add_argument("--k", type=int, required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--shards", type=int, default=None)
    parser.add_argument("--metric", choices=["ip", "cosine"], default="ip")
    parser.add_argument("--id-col", default="id")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if args.k < 1:
        parser.error("--k must be >= 1")
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.appName("embedrank-search-catalogue").getOrCreate()
    try:
        search_catalogue(spark, args.vectors, args.queries, args.k, args.output, args.shards, args.metric, args.id_col,
                         args.threads)
    finally:
        spark.stop()


if __name__ == "__main__":
    main()
