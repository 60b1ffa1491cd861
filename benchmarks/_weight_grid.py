"""benchmarks/blend.py's weight search on a validation split: every combination in one Spark job.

The normalised candidates (:func:`recsys.blend.combine_candidates`) are cross-joined with a
small table of weight combinations; each combination's top-k per user is scored against the
validation rows and nDCG@k is averaged per (combination, history bucket). Only that small
table (combinations x buckets) reaches the driver.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, IntegerType, StructField, StructType

from recsys import columns as C
from recsys.blend import SCORE_COLUMNS, SOURCES

COMBO = "combo"


def weight_grid_ndcg(
    candidates: DataFrame,
    history: DataFrame,
    truth: DataFrame,
    combos: Sequence[Mapping[str, float]],
    k: int = 10,
) -> list[dict[str, object]]:
    """nDCG@k of every weight combination, per history bucket and overall.

    ``candidates``: output of ``combine_candidates`` (rated movies already removed);
    ``history``: ``user_id, history_bucket``; ``truth``: ``user_id, movie_id`` held out.
    Users with truth rows but no candidates count as 0 (as ``ranking_metrics``).
    Returns one dict per (combo, bucket) with the weights, ``bucket`` (``all`` for every user),
    ``ndcg`` and ``users``.
    """
    spark = candidates.sparkSession
    schema = StructType(
        [StructField(COMBO, IntegerType(), False)]
        + [StructField(f"_w_{s}", DoubleType(), False) for s in SOURCES]
    )
    rows = [(i, *[float(c.get(s, 0.0)) for s in SOURCES]) for i, c in enumerate(combos)]
    grid = F.broadcast(spark.createDataFrame(rows, schema))
    total = sum(
        (F.col(f"_w_{s}") * F.coalesce(F.col(col), F.lit(0.0)) for s, col in SCORE_COLUMNS.items()),
        F.lit(0.0),
    )
    scored = candidates.crossJoin(grid).select(C.USER_ID, C.MOVIE_ID, COMBO, total.alias(C.SCORE))
    order = Window.partitionBy(COMBO, C.USER_ID).orderBy(F.col(C.SCORE).desc(), C.MOVIE_ID)
    top = scored.withColumn(C.RANK, F.row_number().over(order)).where(F.col(C.RANK) <= k)
    truth = truth.select(C.USER_ID, C.MOVIE_ID).distinct()
    n_rel = truth.groupBy(C.USER_ID).agg(F.count(F.lit(1)).alias("_rel"))
    dcg = (
        top.join(truth, [C.USER_ID, C.MOVIE_ID])
        .groupBy(COMBO, C.USER_ID)
        .agg(F.sum(1.0 / F.log(1.0 + F.col(C.RANK))).alias("_dcg"))
    )
    ideal = F.aggregate(
        F.sequence(F.lit(1), F.least(F.col("_rel"), F.lit(k))),
        F.lit(0.0),
        lambda acc, i: acc + 1.0 / F.log(1.0 + i),
    )
    users = n_rel.join(history.select(C.USER_ID, C.HISTORY_BUCKET), C.USER_ID, "left").crossJoin(
        grid.select(COMBO)
    )
    per_user = (
        users.join(dcg, [COMBO, C.USER_ID], "left")
        .select(
            COMBO,
            F.coalesce(C.HISTORY_BUCKET, F.lit("0")).alias(C.HISTORY_BUCKET),
            (F.coalesce("_dcg", F.lit(0.0)) / ideal).alias("_ndcg"),
        )
        .cache()
    )
    by_bucket = per_user.groupBy(COMBO, C.HISTORY_BUCKET).agg(
        F.avg("_ndcg").alias("ndcg"), F.count(F.lit(1)).alias("users")
    )
    overall = per_user.groupBy(COMBO).agg(
        F.lit("all").alias(C.HISTORY_BUCKET),
        F.avg("_ndcg").alias("ndcg"),
        F.count(F.lit(1)).alias("users"),
    )
    result = by_bucket.unionByName(overall).collect()  # combos x buckets rows
    per_user.unpersist()
    out = []
    for r in result:
        out.append(
            {
                **{s: float(combos[r[COMBO]].get(s, 0.0)) for s in SOURCES},
                "bucket": r[C.HISTORY_BUCKET],
                "ndcg": float(r["ndcg"]),
                "users": int(r["users"]),
            }
        )
    return sorted(out, key=lambda d: (d["bucket"], -d["ndcg"]))


def best_by_bucket(results: Sequence[Mapping[str, object]]) -> dict[str, dict[str, float]]:
    """Bucket -> the weights with the highest validation nDCG in that bucket."""
    best: dict[str, Mapping[str, object]] = {}
    for r in results:
        b = str(r["bucket"])
        if b not in best or float(r["ndcg"]) > float(best[b]["ndcg"]):  # type: ignore[arg-type]
            best[b] = r
    return {b: {s: float(r[s]) for s in SOURCES if float(r[s]) > 0} for b, r in best.items()}  # type: ignore[arg-type]
