"""Neighbourhood EASE: each movie predicted by a ridge regression on its K most co-rated movies.

EASE (Steck, 2019) learns item-item weights ``B`` by regressing every movie's column of the
binary user x movie matrix ``X`` on all the other columns; with ``G = X^T X`` the column of movie
``j`` is ``B[:, j] = (G[N, N] + reg * I)^-1 G[N, j]`` for ``N`` = every other movie. Exact EASE
inverts a dense movies x movies matrix (~30 GB for ml-25m's 62k movies) on one machine. Here
``N = N(j)`` is restricted to ``j``'s ``k`` most similar movies (cosine over co-ratings), as
in Bell & Koren's neighbourhood interpolation weights, so every movie is one ``k x k`` solve,
run in a grouped pandas UDF on the executors. With k = 200 it keeps nearly all of EASE's
accuracy (docs/recommend.md) while the work grows with movies * k^2, not movies^3.

A user's score for an unrated movie is ``sum over rated movies i of B[i, movie]``, the same
top-N sum as item-kNN (:func:`recsys.itemknn.itemknn_scores`); weights can be negative (a
movie that "explains away" another), so the reason is the rated movie with the largest term.

Scale: users' ratings are capped at ``max_per_user`` (a seeded sample) for the co-occurrence
self-join, as in item-kNN. The co-rating counts (one entry per co-rated pair of movies: 1.7M
for the default dataset, at most movies^2 whatever the number of ratings) travel to the
executors as a broadcast sparse matrix, 12 bytes an entry; each block of target movies then
reads its ``k x k`` systems from it, ``movies * k^2`` lookups in all.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, IntegerType, StructField, StructType

from recsys import columns as C
from recsys.itemknn import KnnParams, cooccurrence_counts, itemknn_scores
from recsys.sparse import csr_ranges

__all__ = ["EASE_WEIGHTS", "EaseParams", "ease_scores", "ease_weights", "shares_cooccurrences"]

EASE_WEIGHTS = StructType(
    [
        StructField(C.MOVIE_ID, IntegerType(), False),
        StructField(C.NEIGHBOR_ID, IntegerType(), False),
        StructField(C.WEIGHT, DoubleType(), False),
    ]
)
"""``movie_id`` (a regressor), ``neighbor_id`` (the movie it helps predict), ``weight`` =
``B[movie_id, neighbor_id]``."""

_T, _A, _G, _RHS = "_target", "_a", "_g", "_rhs"
_PARTITIONS = "spark.sql.shuffle.partitions"


@dataclass(frozen=True)
class EaseParams:
    """Settings; defaults chosen on validation splits of ml-100k / ml-latest-small
    (``benchmarks/blend.py``)."""

    k: int = 200
    """Regressors (most co-rated movies by cosine) per movie; cost grows with k^2."""
    reg: float = 300.0
    """Ridge penalty (EASE's lambda), in co-rating counts: larger = smoother, more popular."""
    max_per_user: int = 500
    """Cap on one user's ratings entering the co-occurrence self-join (seeded sample)."""
    seed: int = 42

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _regressors(counts: DataFrame, params: EaseParams) -> DataFrame:
    """``(j, a, n_a, G[a, j])`` for the ``k`` regressors ``a`` of every target movie ``j``."""
    cosine = F.col(C.SUPPORT) / F.sqrt(F.col("_ni") * F.col("_nj"))
    order = Window.partitionBy("_j").orderBy(F.col("_cos").desc(), F.col("_i"))
    return (
        counts.select("_i", "_j", C.SUPPORT, "_ni", cosine.alias("_cos"))
        .withColumn("_r", F.row_number().over(order))
        .where(F.col("_r") <= params.k)
        .select(
            F.col("_j").cast("int").alias(_T),
            F.col("_i").cast("int").alias(_A),
            F.col("_ni").cast("double").alias(_G),
            F.col(C.SUPPORT).cast("double").alias(_RHS),
        )
    )


@dataclass(frozen=True)
class _CoRatings:
    """The co-rating counts ``G[a, b]`` (a != b) as CSR arrays over a dense movie index."""

    movie_ids: np.ndarray
    indptr: np.ndarray
    columns: np.ndarray
    counts: np.ndarray

    @classmethod
    def build(cls, pairs: pd.DataFrame) -> _CoRatings:
        a = pairs["_i"].to_numpy(np.int64)
        b = pairs["_j"].to_numpy(np.int64)
        movie_ids = np.unique(np.concatenate([a, b]))
        ai, bi = np.searchsorted(movie_ids, a), np.searchsorted(movie_ids, b)
        order = np.lexsort((bi, ai))
        indptr = np.zeros(len(movie_ids) + 1, np.int64)
        np.cumsum(np.bincount(ai, minlength=len(movie_ids)), out=indptr[1:])
        return cls(
            movie_ids=movie_ids,
            indptr=indptr,
            columns=bi[order].astype(np.int32),
            counts=pairs[C.SUPPORT].to_numpy(np.float32)[order],
        )


def _solve_block(block: pd.DataFrame, co: _CoRatings, reg: float) -> pd.DataFrame:
    """``(G[N, N] + reg I) w = G[N, j]`` for every target ``j`` in ``block`` (its rows are
    ``(j, a, n_a, G[a, j])`` for each regressor ``a``); ``G[N, N]`` is read from ``co``."""
    block = block.sort_values([_T, _A], kind="stable")
    targets = block[_T].to_numpy(np.int64)
    regressors = block[_A].to_numpy(np.int64)
    diag = block[_G].to_numpy(np.float64)
    rhs = block[_RHS].to_numpy(np.float64)
    index = np.searchsorted(co.movie_ids, regressors)  # every regressor co-occurs: present
    where = np.full(len(co.movie_ids), -1, np.int64)
    cuts = np.flatnonzero(np.diff(targets)) + 1
    weights = np.empty(len(block))
    for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(block)], strict=True):
        own = index[lo:hi]
        k = hi - lo
        where[own] = np.arange(k)
        entry, lens = csr_ranges(co.indptr, own)
        row = np.repeat(np.arange(k), lens)
        col = where[co.columns[entry]]
        inside = col >= 0
        gram = np.zeros((k, k))
        gram[row[inside], col[inside]] = co.counts[entry[inside]]
        gram[np.diag_indices(k)] = diag[lo:hi] + reg
        weights[lo:hi] = np.linalg.solve(gram, rhs[lo:hi])
        where[own] = -1
    return pd.DataFrame(
        {
            C.MOVIE_ID: regressors.astype(np.int32),
            C.NEIGHBOR_ID: targets.astype(np.int32),
            C.WEIGHT: weights,
        }
    )


def shares_cooccurrences(params: EaseParams, knn: KnnParams) -> bool:
    """Whether item-kNN's co-occurrence counts (``knn``) are the ones EASE needs: the same cap
    and seed (EASE reads only the plain counts, so item-kNN's weighting does not matter)."""
    return params.max_per_user == knn.max_per_via and params.seed == knn.seed


def ease_weights(
    ratings: DataFrame, params: EaseParams = EaseParams(), counts: DataFrame | None = None
) -> DataFrame:
    """``EASE_WEIGHTS`` rows: the regression weights of every movie's neighbourhood model.

    Only implicit feedback is used (a rating is a 1, whatever its value), as EASE does. Like
    an Estimator's ``fit`` this is eager: the weights come back persisted (``unpersist()``
    them when done) and the intermediate co-occurrence tables are released. ``counts``:
    :func:`recsys.itemknn.item_cooccurrences` of ``ratings`` computed by the caller with
    parameters that :func:`shares_cooccurrences` accepts (one self-join for both models);
    the caller keeps (and releases) them.

    The co-rating counts are broadcast as a sparse matrix (catalogue-sized: at most movies^2
    entries, never ratings-sized), so each block of target movies builds its ``k x k`` systems
    in memory; joining every target's ``k^2 / 2`` regressor pairs with the counts in Spark
    shuffled ``movies * k^2 / 2`` rows (28M for the default dataset, 80M at 1M ratings).
    """
    spark = ratings.sparkSession
    own = counts is None
    if counts is None:
        knn = KnnParams(via_weight=0.0, max_per_via=params.max_per_user, seed=params.seed)
        counts = cooccurrence_counts(ratings, C.MOVIE_ID, C.USER_ID, knn).persist()
    co = spark.sparkContext.broadcast(
        _CoRatings.build(counts.select("_i", "_j", C.SUPPORT).toPandas())
    )
    blocks = max(spark.sparkContext.defaultParallelism, int(spark.conf.get(_PARTITIONS)))
    reg = float(params.reg)

    def solve(block: pd.DataFrame) -> pd.DataFrame:
        return _solve_block(block, co.value, reg)

    weights = (
        _regressors(counts, params)
        .groupBy(F.pmod(F.hash(_T), F.lit(blocks)))
        .applyInPandas(solve, schema=EASE_WEIGHTS)
        .where(F.col(C.WEIGHT) != 0.0)
        .persist()
    )
    weights.count()  # materialise before the intermediates are released
    if own:
        counts.unpersist()
    co.unpersist()
    return weights


def ease_scores(ratings: DataFrame, weights: DataFrame, n: int = 100) -> DataFrame:
    """Top-``n`` unrated movies per user, ``user_id, movie_id, score, rank, because_movie_id``
    (see :func:`recsys.itemknn.itemknn_scores`)."""
    return itemknn_scores(ratings, weights, n=n, weight=C.WEIGHT)
