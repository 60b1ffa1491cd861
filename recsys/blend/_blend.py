"""Weighted blend of per-user candidate lists from several sources.

Every source is a recommendation frame (``user_id, movie_id, score``, optionally
``because_movie_id``). Scores are normalised per user (see :mod:`._normalize`), the lists are
unioned, and each (user, movie) gets ``sum_s w_s(bucket(user)) * norm_s`` with 0 for a source
that did not propose the movie. Weights come from the user's history-size bucket.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, IntegerType, LongType, StringType, StructField, StructType

from recsys import columns as C
from recsys.blend._normalize import METHODS, normalize_per_user
from recsys.blend._weights import SCORE_COLUMNS, SOURCES, BlendWeights
from recsys.vectorised import udf_groups

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


def blend(
    sources: Mapping[str, DataFrame],
    ratings: DataFrame,
    weights: BlendWeights,
    n: int = 10,
    method: str = "minmax",
    exclude_rated: bool = True,
) -> DataFrame:
    """Per-user top-``n`` of the weighted blend of ``sources``.

    Returns ``user_id, movie_id, <source>_score..., because_movie_id, history_size,
    history_bucket, score, rank``. Movies the user rated are removed even if a source proposed
    them. Users who have no ratings are not in ``ratings`` and get nothing here (see
    :func:`recsys.blend.cold_start`).

    The result is the relational definition ``top_n_unrated(blend_scores(combine_candidates(...),
    assign_buckets(history_sizes(ratings), weights)), n)``, computed in one grouped pandas UDF
    over blocks of users (:func:`_blend_block`): every source's rows and the ratings travel in
    one shuffle, where the relational plan shuffled them five times (anti-joins, per-user
    windows, the union's aggregation, the bucket join and the ranking window).
    """
    unknown = set(sources) - set(SOURCES)
    if unknown:
        raise ValueError(f"unknown candidate source(s) {sorted(unknown)}; known: {SOURCES}")
    if method not in METHODS:
        raise ValueError(f"unknown normalisation {method!r}; choose one of {METHODS}")
    spark = ratings.sparkSession
    parts = [
        ratings.select(
            C.USER_ID,
            C.MOVIE_ID,
            F.lit(_RATED).cast("int").alias(_SOURCE),
            F.lit(None).cast("double").alias(C.SCORE),
            F.lit(None).cast("int").alias(C.BECAUSE_MOVIE_ID),
        )
    ]
    for name, df in sources.items():
        because = F.col(C.BECAUSE_MOVIE_ID) if C.BECAUSE_MOVIE_ID in df.columns else F.lit(None)
        parts.append(
            df.select(
                C.USER_ID,
                C.MOVIE_ID,
                F.lit(SOURCES.index(name)).alias(_SOURCE),
                F.col(C.SCORE).cast("double").alias(C.SCORE),
                because.cast("int").alias(C.BECAUSE_MOVIE_ID),
            )
        )
    rows = parts[0]
    for part in parts[1:]:
        rows = rows.unionByName(part)
    blocks = udf_groups(spark, ratings.select(C.USER_ID).distinct().count())
    table = _BucketTable.of(weights)

    def blend_block(block: pd.DataFrame) -> pd.DataFrame:
        return _blend_block(block, table, n, method, exclude_rated)

    return rows.groupBy(F.pmod(F.hash(C.USER_ID), F.lit(blocks))).applyInPandas(
        blend_block, schema=BLENDED
    )


def blend_user(
    rated: np.ndarray,
    sources: Mapping[str, Mapping[str, Any]],
    weights: BlendWeights,
    n: int = 10,
    method: str = "minmax",
) -> dict[str, np.ndarray]:
    """One user's blend outside Spark (the serving process's fold-in), by the same code as
    :func:`blend`: ``rated`` holds the user's movie ids, ``sources`` each source's candidates
    (columns ``movie_id, score[, because_movie_id]``: a DataFrame or a dict of arrays).
    Returns :data:`BLENDED`'s columns as arrays (user 0; ``because_movie_id`` a float, NaN
    for none), without pandas: a request's fold-in is a few hundred rows, where building
    frames would cost more than the blend."""
    movie, source, score, because = [np.asarray(rated, np.int64)], [_RATED], [], []
    for name, cols in sources.items():
        m = np.asarray(cols[C.MOVIE_ID], np.int64)
        movie.append(m)
        source.append(SOURCES.index(name))
        score.append(np.asarray(cols[C.SCORE], np.float64))
        b = cols.get(C.BECAUSE_MOVIE_ID)
        because.append(np.full(len(m), np.nan) if b is None else np.asarray(b, np.float64))
    sizes = [len(m) for m in movie]
    nothing = np.full(sizes[0], np.nan)
    return _blend_arrays(
        np.zeros(sum(sizes), np.int64),
        np.concatenate(movie),
        np.repeat(np.asarray(source, np.int64), sizes),
        np.concatenate([nothing, *score]),
        np.concatenate([nothing, *because]),
        _BucketTable.of(weights),
        n,
        method,
        exclude_rated=True,
    )


_RATED, _SOURCE = -1, "_source"
BLENDED = StructType(
    [
        StructField(C.USER_ID, IntegerType(), False),
        StructField(C.MOVIE_ID, IntegerType(), False),
        *[StructField(col, DoubleType(), True) for col in SCORE_COLUMNS.values()],
        StructField(C.BECAUSE_MOVIE_ID, IntegerType(), True),
        StructField(C.HISTORY_SIZE, LongType(), False),
        StructField(C.HISTORY_BUCKET, StringType(), False),
        StructField(C.SCORE, DoubleType(), False),
        StructField(C.RANK, IntegerType(), False),
    ]
)
"""What :func:`blend` returns."""


@dataclass(frozen=True)
class _BucketTable:
    """The weight buckets as arrays: upper bounds (inf for the open one), labels, weights."""

    upper: np.ndarray
    labels: np.ndarray
    weights: np.ndarray
    """buckets x sources, in :data:`SOURCES` order."""

    @classmethod
    def of(cls, weights: BlendWeights) -> _BucketTable:
        b = weights.buckets
        return cls(
            np.array([np.inf if x.max_history is None else x.max_history for x in b]),
            np.array([x.label for x in b], dtype=object),
            np.array([[x.weight(s) for s in SOURCES] for x in b], dtype=np.float64),
        )


def _normalised(score: np.ndarray, group: np.ndarray, method: str) -> np.ndarray:
    """Per-group normalisation as :func:`recsys.blend.normalize_per_user` (rows grouped by
    ``group``, consecutive: one group's rows are next to each other)."""
    if method == "minmax":  # min and max are exact: numpy, no frame
        if not len(score):
            return score
        starts = np.r_[0, np.flatnonzero(np.diff(group)) + 1]
        sizes = np.diff(np.r_[starts, len(score)])
        lo = np.repeat(np.fmin.reduceat(score, starts), sizes)  # fmin skips NaN, as pandas
        hi = np.repeat(np.fmax.reduceat(score, starts), sizes)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(hi > lo, (score - lo) / (hi - lo), 1.0)
    frame = pd.DataFrame({"g": group, "s": score})
    by = frame.groupby("g", sort=False)["s"]
    if method == "rank":
        count = by.transform("size").to_numpy(np.float64)
        rank = by.rank(method="min", ascending=False).to_numpy()
        return (count - rank + 1) / count
    mean = by.transform("mean").to_numpy()
    frame["d"] = (score - mean) ** 2
    std = np.sqrt(frame.groupby("g", sort=False)["d"].transform("mean").to_numpy())
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(std > 0, (score - mean) / std, 0.0)
    return 1.0 / (1.0 + np.exp(-z))


def _blend_block(
    block: pd.DataFrame, table: _BucketTable, n: int, method: str, exclude_rated: bool
) -> pd.DataFrame:
    """One block of users: their ratings (source -1) and every source's candidate rows."""
    out = _blend_arrays(
        block[C.USER_ID].to_numpy(np.int64),
        block[C.MOVIE_ID].to_numpy(np.int64),
        block[_SOURCE].to_numpy(np.int64),
        block[C.SCORE].to_numpy(np.float64),
        block[C.BECAUSE_MOVIE_ID].to_numpy(np.float64),
        table,
        n,
        method,
        exclude_rated,
    )
    out[C.BECAUSE_MOVIE_ID] = pd.array(out[C.BECAUSE_MOVIE_ID], dtype="Int32")  # NaN -> null
    return pd.DataFrame(out)


def _blend_arrays(
    user: np.ndarray,
    movie: np.ndarray,
    source: np.ndarray,
    score: np.ndarray,
    because: np.ndarray,
    table: _BucketTable,
    n: int,
    method: str,
    exclude_rated: bool,
) -> dict[str, np.ndarray]:
    """:func:`_blend_block` on its columns: ratings are the rows of source -1; a
    ``because`` of NaN is none. :data:`BLENDED`'s columns, ``because_movie_id`` a float."""
    key = (user << 32) | movie  # ids are non-negative ints (ingest's rules)
    is_rated = source == _RATED
    rated_keys = np.unique(key[is_rated])
    users, history = np.unique(rated_keys >> 32, return_counts=True)
    keep = ~is_rated & np.isin(user, users)  # users without ratings get nothing (inner join)
    if exclude_rated:
        keep &= ~np.isin(key, rated_keys)
    rows = np.flatnonzero(keep)
    rows = rows[np.lexsort((source[rows], user[rows]))]  # by user, then source
    user, movie, source, key = user[rows], movie[rows], source[rows], key[rows]
    norm = _normalised(score[rows], (user << 3) | source, method)
    because = because[rows]
    pairs, pair = np.unique(key, return_inverse=True)
    n_pairs = len(pairs)
    # each source's column: the max of its rows for the pair (null when it has none)
    scores = np.full((n_pairs, len(SOURCES)), np.nan)
    order = np.lexsort((norm, source, pair))  # the last row of each (pair, source) is its max
    last = np.r_[np.diff(pair[order] * len(SOURCES) + source[order]) != 0, True][: len(order)]
    scores[pair[order][last], source[order][last]] = norm[order][last]
    reason = np.full(n_pairs, np.nan)
    for s in reversed(_BECAUSE_ORDER):  # the first explaining source with an id wins
        mine = (source == SOURCES.index(s)) & ~np.isnan(because)
        best = np.full(n_pairs, np.nan)
        np.fmax.at(best, pair[mine], because[mine])
        reason = np.where(np.isnan(best), reason, best)
    pair_user = pairs >> 32
    at = np.searchsorted(users, pair_user)
    size = history[at]
    bucket = np.searchsorted(table.upper, size, side="left")
    w = table.weights[bucket]
    total = np.zeros(n_pairs)
    for s in range(len(SOURCES)):  # summed in SOURCES order, as blend_scores does
        total = total + w[:, s] * np.nan_to_num(scores[:, s], nan=0.0)
    pair_movie = pairs & 0xFFFFFFFF
    ranked = np.lexsort((pair_movie, -total, pair_user))
    starts = np.r_[0, np.flatnonzero(np.diff(pair_user[ranked])) + 1]
    rank = np.arange(n_pairs) - np.repeat(starts, np.diff(np.r_[starts, n_pairs])) + 1
    top = ranked[rank <= n]
    out = {C.USER_ID: pair_user[top].astype(np.int32), C.MOVIE_ID: pair_movie[top].astype(np.int32)}
    for s, col in SCORE_COLUMNS.items():
        out[col] = scores[top, SOURCES.index(s)]
    out[C.BECAUSE_MOVIE_ID] = reason[top]
    out[C.HISTORY_SIZE] = size[top].astype(np.int64)
    out[C.HISTORY_BUCKET] = table.labels[bucket[top]]
    out[C.SCORE] = total[top]
    out[C.RANK] = rank[rank <= n].astype(np.int32)
    return out
