"""Neighbourhood EASE: each movie predicted by a ridge regression on its K most co-rated movies.

EASE (Steck, 2019) learns item-item weights ``B`` by regressing every movie's column of the
binary user x movie matrix ``X`` on all the other columns; with ``G = X^T X`` the column of movie
``j`` is ``B[:, j] = (G[N, N] + reg * I)^-1 G[N, j]`` for ``N`` = every other movie. Exact EASE
inverts a dense movies x movies matrix (~30 GB for ml-25m's 62k movies) on one machine. Here
``N = N(j)`` is restricted to ``j``'s ``k`` most similar movies (cosine over co-ratings), as
in Bell & Koren's neighbourhood interpolation weights, so every movie is one ``k x k`` solve,
run in a grouped pandas UDF on the executors. With k = 200 it keeps nearly all of EASE's
accuracy (README, "Blend" section) while the work grows with movies * k^2, not movies^3.

A user's score for an unrated movie is ``sum over rated movies i of B[i, movie]``, the same
top-N sum as item-kNN (:func:`recsys.itemknn.itemknn_scores`); weights can be negative (a
movie that "explains away" another), so the reason is the rated movie with the largest term.

Scale: the Gram entries among each movie's neighbours are ``movies * k^2 / 2`` rows (ml-100k,
k = 200: ~30M) joined with the sparse co-occurrence pairs; users' ratings are capped at
``max_per_user`` (a seeded sample) for the co-occurrence self-join, as in item-kNN.
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

__all__ = ["EASE_WEIGHTS", "EaseParams", "ease_scores", "ease_weights"]

EASE_WEIGHTS = StructType(
    [
        StructField(C.MOVIE_ID, IntegerType(), False),
        StructField(C.NEIGHBOR_ID, IntegerType(), False),
        StructField(C.WEIGHT, DoubleType(), False),
    ]
)
"""``movie_id`` (a regressor), ``neighbor_id`` (the movie it helps predict), ``weight`` =
``B[movie_id, neighbor_id]``."""

_T, _A, _B, _G, _RHS = "_target", "_a", "_b", "_g", "_rhs"


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


def _gram_rows(counts: DataFrame, regressors: DataFrame) -> DataFrame:
    """One group per target movie ``j``: rows ``(j, a, null, n_a, G[a, j])`` for each
    regressor ``a`` (diagonal + right-hand side) and ``(j, a, b, G[a, b], null)`` for each
    co-rated pair ``a < b`` of regressors (pairs never co-rated are 0 and not materialised)."""
    left = regressors.select(_T, _A)
    right = regressors.select(_T, F.col(_A).alias(_B))
    pairs = counts.where(F.col("_i") < F.col("_j")).select(
        F.col("_i").cast("int").alias(_A),
        F.col("_j").cast("int").alias(_B),
        F.col(C.SUPPORT).cast("double").alias(_G),
    )
    off_diagonal = (
        left.join(right, _T)
        .where(F.col(_A) < F.col(_B))
        .join(pairs, [_A, _B])
        .select(_T, _A, _B, _G, F.lit(None).cast("double").alias(_RHS))
    )
    diagonal = regressors.select(_T, _A, F.lit(None).cast("int").alias(_B), _G, _RHS)
    return diagonal.unionByName(off_diagonal)


def _solver(reg: float):
    def solve(rows: pd.DataFrame) -> pd.DataFrame:
        """``(G[N, N] + reg I) w = G[N, j]`` for one target ``j`` (a k x k system)."""
        diag = rows[rows[_B].isna()]
        index = pd.Index(diag[_A].to_numpy())
        gram = np.diag(diag[_G].to_numpy(dtype=np.float64) + reg)
        off = rows[rows[_B].notna()]
        if len(off):
            i = index.get_indexer(off[_A].to_numpy())
            j = index.get_indexer(off[_B].to_numpy().astype(np.int64))
            gram[i, j] = gram[j, i] = off[_G].to_numpy(dtype=np.float64)
        weights = np.linalg.solve(gram, diag[_RHS].to_numpy(dtype=np.float64))
        target = int(rows[_T].iloc[0])
        return pd.DataFrame(
            {
                C.MOVIE_ID: diag[_A].to_numpy(dtype=np.int32),
                C.NEIGHBOR_ID: np.full(len(diag), target, dtype=np.int32),
                C.WEIGHT: weights,
            }
        )

    return solve


def ease_weights(ratings: DataFrame, params: EaseParams = EaseParams()) -> DataFrame:
    """``EASE_WEIGHTS`` rows: the regression weights of every movie's neighbourhood model.

    Only implicit feedback is used (a rating is a 1, whatever its value), as EASE does. Like
    an Estimator's ``fit`` this is eager: the weights come back persisted (``unpersist()``
    them when done) and the intermediate co-occurrence tables are released."""
    knn = KnnParams(via_weight=0.0, max_per_via=params.max_per_user, seed=params.seed)
    counts = cooccurrence_counts(ratings, C.MOVIE_ID, C.USER_ID, knn).persist()
    regressors = _regressors(counts, params).persist()
    weights = (
        _gram_rows(counts, regressors)
        .groupBy(_T)
        .applyInPandas(_solver(float(params.reg)), schema=EASE_WEIGHTS)
        .where(F.col(C.WEIGHT) != 0.0)
        .persist()
    )
    weights.count()  # materialise before the intermediates are released
    counts.unpersist()
    regressors.unpersist()
    return weights


def ease_scores(ratings: DataFrame, weights: DataFrame, n: int = 100) -> DataFrame:
    """Top-``n`` unrated movies per user, ``user_id, movie_id, score, rank, because_movie_id``
    (see :func:`recsys.itemknn.itemknn_scores`)."""
    return itemknn_scores(ratings, weights, n=n, weight=C.WEIGHT)
