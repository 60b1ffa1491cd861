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
top-N sum as item-kNN (:func:`recsys.neighbors.knn.itemknn_scores`); weights can be negative (a
movie that "explains away" another), so the reason is the rated movie with the largest term.

Scale: users' ratings are capped at ``max_per_user`` (a seeded sample), as in item-kNN, and the
co-rating counts are summed in numpy per block of movies from the same broadcast
(:class:`recsys.neighbors.knn.LinkIndex`). Each movie keeps the counts of its ``max_corated``
(2,000) most similar co-rated movies, a superset of its regressors; the kept counts travel to
the executors as a broadcast sparse matrix, 8 bytes an entry, at most movies x 2,000 entries
(160 MB for 10k movies, where the whole co-rating matrix, ~movies^2, has 100M entries: 800 MB
through the driver, and 29 GB at 60k movies); each block of target movies picks its ``k``
regressors and reads its ``k x k`` system from it, ``movies * k^2`` lookups in all.
``G[a, b]`` between two regressors is kept when either movie is among the other's 2,000 most
similar (docs/recommend.md: the accuracy this costs on ml-latest-small).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, DoubleType, IntegerType, StructField, StructType

from recsys import columns as C
from recsys.candidates import TrainingData
from recsys.config import ConfigError
from recsys.neighbors.knn import KnnConfig, LinkIndex, itemknn_scores, link_index
from recsys.vectorised import lookup, top_positions, typed_frame, udf_groups

__all__ = ["EASE_WEIGHTS", "EaseConfig", "EaseSource", "FittedEase", "ease_scores", "ease_weights"]

EASE_WEIGHTS = StructType(
    [
        StructField(C.MOVIE_ID, IntegerType(), False),
        StructField(C.NEIGHBOR_ID, IntegerType(), False),
        StructField(C.WEIGHT, DoubleType(), False),
    ]
)
"""``movie_id`` (a regressor), ``neighbor_id`` (the movie it helps predict), ``weight`` =
``B[movie_id, neighbor_id]``."""


@dataclass(frozen=True)
class EaseConfig:
    """Settings; defaults chosen on validation splits of ml-100k / ml-latest-small
    (``benchmarks/blend.py``)."""

    k: int = 200
    """Regressors (most co-rated movies by cosine) per movie; cost grows with k^2."""
    reg: float = 300.0
    """Ridge penalty (EASE's lambda), in co-rating counts: larger = smoother, more popular."""
    max_per_user: int = 500
    """Cap on one user's ratings entering the co-rating counts (seeded sample)."""
    max_corated: int = 2000
    """Co-rated movies kept per movie in the co-rating matrix the solves read (its most
    similar by cosine, so every movie's ``k`` regressors are among them): bounds the matrix at
    movies x max_corated entries. ``G[a, b]`` is lost only when neither movie is among the
    other's ``max_corated`` most similar; exact when the catalogue has at most this many
    movies."""
    seed: int = 42
    """Seed of the per-user cap's sample."""

    def __post_init__(self) -> None:
        if self.max_corated < self.k:
            raise ConfigError(
                f"ease: max_corated ({self.max_corated}) must be at least k ({self.k})"
            )

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class _CoRatings:
    """The kept co-rating counts ``G[a, b]`` (a != b) as a sparse matrix over the dense movie
    index of a :class:`LinkIndex` (canonical CSR: columns ascending), and ``n[a] = G[a, a]``."""

    movie_ids: np.ndarray
    counts: sp.csr_array
    n: np.ndarray

    @classmethod
    def build(cls, rows: pd.DataFrame, index: LinkIndex) -> _CoRatings:
        rows = rows.sort_values(_POS)
        lens = rows[_OTHERS].map(len).to_numpy(np.int64)
        sizes = np.zeros(len(index.key_ids), np.int64)
        sizes[rows[_POS].to_numpy(np.int64)] = lens
        empty = np.empty(0, np.int64)
        size = len(index.key_ids)
        counts = sp.csr_array(
            (
                np.concatenate([empty, *rows[_COUNTS]]).astype(np.float32),
                np.concatenate([empty, *rows[_OTHERS]]).astype(np.int32),
                np.r_[0, np.cumsum(sizes)],
            ),
            shape=(size, size),
        )
        return cls(movie_ids=index.key_ids, counts=counts, n=index.n)

    def row(self, a: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.counts.indptr[a], self.counts.indptr[a + 1]
        return self.counts.indices[lo:hi], self.counts.data[lo:hi]


_POS, _OTHERS, _COUNTS = "_pos", "_others", "_counts"

_CO_ROWS = StructType(
    [
        StructField(_POS, IntegerType(), False),
        StructField(_OTHERS, ArrayType(IntegerType()), False),
        StructField(_COUNTS, ArrayType(IntegerType()), False),
    ]
)


def _co_rows(movies: np.ndarray, index: LinkIndex, kept: int) -> pd.DataFrame:
    """One row per movie of ``movies``: its dense position, the positions (ascending) of its
    ``kept`` most similar co-rated movies (cosine ``G[a, j] / sqrt(n_a n_j)``, ties to the
    smaller id, as :func:`_solve_targets` ranks regressors) and their co-rating counts
    (:meth:`LinkIndex.cooccurrences`)."""
    pos, known = lookup(index.key_ids, movies)
    slot = np.full(len(index.key_ids), -1, np.int64)
    rows = []
    for p in pos[known].tolist():
        others, _, support = index.cooccurrences(p, slot)
        if len(others) > kept:
            cosine = support / np.sqrt(index.n[others] * index.n[p])
            top = top_positions(cosine, others, kept)
        else:
            top = np.arange(len(others))
        top = top[np.argsort(others[top])]
        others, support = others[top], support[top]
        rows.append((p, others, support))
    return pd.DataFrame(
        {
            _POS: np.array([r[0] for r in rows], np.int32),
            _OTHERS: [r[1].astype(np.int32) for r in rows],
            _COUNTS: [r[2].astype(np.int32) for r in rows],
        }
    )


def _solve_targets(movies: np.ndarray, co: _CoRatings, k: int, reg: float) -> pd.DataFrame:
    """For every target movie ``j`` of ``movies``: its ``k`` regressors ``N`` (most co-rated by
    cosine ``G[a, j] / sqrt(n_a n_j)``, ties to the smaller id) and the weights solving
    ``(G[N, N] + reg I) w = G[N, j]``, all read from ``co``."""
    pos, known = lookup(co.movie_ids, np.sort(movies))
    out: list[tuple[np.ndarray, ...]] = []
    for t in pos[known].tolist():
        others, support = co.row(t)
        if not len(others):
            continue
        cosine = support / np.sqrt(co.n[others] * co.n[t])
        top = np.sort(top_positions(cosine, others, k))  # regressors in id order
        own, rhs = others[top].astype(np.int64), support[top].astype(np.float64)
        # G[a, b] is in a's row, b's row or both (rows keep max_corated movies each); scipy
        # selects the k x k block in C (2.3x the numpy gathers it replaced)
        gram = co.counts[own][:, own].toarray().astype(np.float64)
        gram = np.maximum(gram, gram.T)
        gram[np.diag_indices(len(own))] = co.n[own] + reg
        weights = np.linalg.solve(gram, rhs)
        out.append((co.movie_ids[own], np.full(len(own), co.movie_ids[t]), weights))
    return typed_frame(out, EASE_WEIGHTS)


def ease_weights(ratings: DataFrame, params: EaseConfig = EaseConfig()) -> DataFrame:
    """``EASE_WEIGHTS`` rows: the regression weights of every movie's neighbourhood model.

    Only implicit feedback is used (a rating is a 1, whatever its value), as EASE does. Like
    an Estimator's ``fit`` this is eager: the weights come back persisted (``unpersist()``
    them when done) and the broadcasts are released.

    Two passes over blocks of movies: the co-rating counts of each movie with its
    ``max_corated`` most similar movies (summed in numpy from the broadcast capped ratings, one
    row of arrays per movie), collected into a sparse matrix (at most movies x max_corated
    entries) and broadcast; then each movie's ``k x k``
    system, built from it in memory. Joining every target's ``k^2 / 2`` regressor pairs with
    the counts in Spark shuffled ``movies * k^2 / 2`` rows (80M at 1M ratings).
    """
    spark = ratings.sparkSession
    knn = KnnConfig(via_weight=0.0, max_per_via=params.max_per_user, seed=params.seed)
    index = spark.sparkContext.broadcast(link_index(ratings, C.MOVIE_ID, C.USER_ID, knn))
    movies = ratings.select(C.MOVIE_ID).distinct()
    groups = F.pmod(F.hash(C.MOVIE_ID), F.lit(udf_groups(spark, len(index.value.key_ids))))
    kept = params.max_corated

    def co_rows(block: pd.DataFrame) -> pd.DataFrame:
        return _co_rows(block[C.MOVIE_ID].to_numpy(np.int64), index.value, kept)

    rows = movies.groupBy(groups).applyInPandas(co_rows, schema=_CO_ROWS).toPandas()
    co = spark.sparkContext.broadcast(_CoRatings.build(rows, index.value))
    del rows
    k, reg = params.k, float(params.reg)

    def solve(block: pd.DataFrame) -> pd.DataFrame:
        return _solve_targets(block[C.MOVIE_ID].to_numpy(np.int64), co.value, k, reg)

    weights = (
        movies.groupBy(groups)
        .applyInPandas(solve, schema=EASE_WEIGHTS)
        .where(F.col(C.WEIGHT) != 0.0)
        .persist()
    )
    weights.count()  # materialise before the broadcasts are released
    index.unpersist()
    co.unpersist()
    return weights


@dataclass(frozen=True)
class EaseSource:
    """Neighbourhood EASE as a candidate source (:mod:`recsys.candidates`)."""

    config: EaseConfig = EaseConfig()

    def fit(self, data: TrainingData) -> FittedEase:
        return FittedEase(ease_weights(data.ratings, self.config))


@dataclass(frozen=True)
class FittedEase:
    weights: DataFrame
    """:func:`ease_weights`' persisted table; :meth:`unpersist` when done."""

    def candidates(self, ratings: DataFrame, n: int) -> DataFrame:
        return ease_scores(ratings, self.weights, n=n)

    def unpersist(self) -> None:
        self.weights.unpersist()


def ease_scores(ratings: DataFrame, weights: DataFrame, n: int = 100) -> DataFrame:
    """Top-``n`` unrated movies per user, ``user_id, movie_id, score, rank, because_movie_id``
    (see :func:`recsys.neighbors.knn.itemknn_scores`)."""
    return itemknn_scores(ratings, weights, n=n, weight=C.WEIGHT)
