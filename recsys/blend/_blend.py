"""Weighted blend of per-user candidate lists from several sources.

Every source is a recommendation frame (``user_id, movie_id, score``, optionally
``because_movie_id``). Scores are normalised per user (see :mod:`._normalize`), the lists are
unioned, and each (user, movie) gets ``sum_s w_s(bucket(user)) * norm_s`` with 0 for a source
that did not propose the movie. Weights come from the user's history-size bucket.
"""

from __future__ import annotations

from collections.abc import Mapping

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from recsys import columns as C
from recsys.blend._normalize import normalize_per_user
from recsys.blend._weights import SCORE_COLUMNS, SOURCES, BlendWeights

# Which sources can explain a recommendation with a rated movie, best first.
_BECAUSE_ORDER = ("itemknn", "ease", "content")


def history_sizes(ratings: DataFrame) -> DataFrame:
    """``user_id, history_size``: number of distinct movies each user rated."""
    return ratings.groupBy(C.USER_ID).agg(F.countDistinct(C.MOVIE_ID).alias(C.HISTORY_SIZE))


def assign_buckets(history: DataFrame, weights: BlendWeights) -> DataFrame:
    """``history`` (``user_id, history_size``) with ``history_bucket`` and the bucket's weight
    columns ``_w_<source>`` (a broadcast join with the few bucket rows)."""
    spark = history.sparkSession
    buckets = F.broadcast(weights.frame(spark))
    h = F.col(C.HISTORY_SIZE)
    inside = (h >= F.col("_min_h")) & (F.col("_max_h").isNull() | (h <= F.col("_max_h")))
    return history.join(buckets, inside).drop("_min_h", "_max_h")


def combine_candidates(sources: Mapping[str, DataFrame], method: str = "minmax") -> DataFrame:
    """One row per (user, movie) proposed by any source, with each source's normalised score
    in its own column (null when that source did not propose it) and ``because_movie_id``
    from the first explaining source that has one."""
    unknown = set(sources) - set(SOURCES)
    if unknown:
        raise ValueError(f"unknown candidate source(s) {sorted(unknown)}; known: {SOURCES}")
    parts = []
    for name, df in sources.items():
        because = (
            F.col(C.BECAUSE_MOVIE_ID) if C.BECAUSE_MOVIE_ID in df.columns else F.lit(None)
        ).cast("int")
        norm = normalize_per_user(df, C.SCORE, "_norm", method)
        parts.append(
            norm.select(
                C.USER_ID,
                C.MOVIE_ID,
                *[
                    (F.col("_norm") if s == name else F.lit(None)).cast("double").alias(col)
                    for s, col in SCORE_COLUMNS.items()
                ],
                *[
                    (because if s == name else F.lit(None).cast("int")).alias(f"_because_{s}")
                    for s in _BECAUSE_ORDER
                ],
            )
        )
    union = parts[0]
    for p in parts[1:]:
        union = union.unionByName(p)
    aggs = [F.max(col).alias(col) for col in SCORE_COLUMNS.values()]
    aggs += [F.max(f"_because_{s}").alias(f"_because_{s}") for s in _BECAUSE_ORDER]
    merged = union.groupBy(C.USER_ID, C.MOVIE_ID).agg(*aggs)
    because = F.coalesce(*[F.col(f"_because_{s}") for s in _BECAUSE_ORDER])
    return merged.withColumn(C.BECAUSE_MOVIE_ID, because).drop(
        *[f"_because_{s}" for s in _BECAUSE_ORDER]
    )


def blend_scores(candidates: DataFrame, bucketed: DataFrame) -> DataFrame:
    """``candidates`` (from :func:`combine_candidates`) with ``score`` = the bucket-weighted
    sum and ``history_bucket``. Users absent from ``bucketed`` are dropped."""
    total = sum(
        (F.col(f"_w_{s}") * F.coalesce(F.col(col), F.lit(0.0)) for s, col in SCORE_COLUMNS.items()),
        F.lit(0.0),
    )
    return (
        candidates.join(bucketed, C.USER_ID)
        .withColumn(C.SCORE, total.cast("double"))
        .drop(*[f"_w_{s}" for s in SOURCES])
    )


def top_n(scored: DataFrame, n: int) -> DataFrame:
    """Keep each user's ``n`` best by ``score`` (ties: smaller movie id) with ``rank`` 1..n."""
    order = Window.partitionBy(C.USER_ID).orderBy(F.col(C.SCORE).desc(), F.col(C.MOVIE_ID))
    return scored.withColumn(C.RANK, F.row_number().over(order).cast("int")).where(
        F.col(C.RANK) <= n
    )


def blend(
    sources: Mapping[str, DataFrame],
    ratings: DataFrame,
    weights: BlendWeights,
    n: int = 10,
    method: str = "minmax",
    exclude_rated: bool = True,
) -> DataFrame:
    """Per-user top-``n`` of the weighted blend of ``sources``.

    Returns ``user_id, movie_id, score, rank, <source>_score..., because_movie_id,
    history_size, history_bucket``. Movies the user rated are removed even if a source
    proposed them. Users who have no ratings are not in ``ratings`` and get nothing here (see
    :func:`recsys.blend.cold_start`).
    """
    if exclude_rated:  # before normalising, so a rated movie cannot stretch a user's scale
        rated = ratings.select(C.USER_ID, C.MOVIE_ID)
        sources = {
            name: df.join(rated, [C.USER_ID, C.MOVIE_ID], "left_anti")
            for name, df in sources.items()
        }
    candidates = combine_candidates(sources, method)
    bucketed = assign_buckets(history_sizes(ratings), weights)
    return top_n(blend_scores(candidates, bucketed), n)
