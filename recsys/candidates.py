"""The contract every candidate source follows, and the one relational per-user top-n.

A source (ALS, content, EASE, item-kNN, user-kNN, popularity) is a config plus ``fit(data) ->
model``; the fitted model's ``candidates(ratings, n)`` gives each user of ``ratings`` at most
``n`` movies they did not rate, ``user_id, movie_id, score, rank`` (:data:`recsys.schemas.RECS`,
rank 1..n by score, ties to the smaller movie id) and, where the source can say why, a
``because_movie_id`` the user rated. The blend (:mod:`recsys.blend`) combines any of them;
``tests/test_candidate_sources.py`` checks every source against this contract.

Sources computed in numpy rank with :func:`recsys.vectorised.top_positions`; sources computed in
Spark rank with :func:`top_n_unrated`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from recsys import columns as C

__all__ = ["CandidateModel", "CandidateSource", "TrainingData", "top_n_unrated"]


@dataclass(frozen=True)
class TrainingData:
    """What a source may fit on: the ratings and, for the content source, the catalogue."""

    ratings: DataFrame
    """``user_id, movie_id, rating[, rated_at]``."""
    movies: DataFrame | None = None
    tags: DataFrame | None = None


class CandidateModel(Protocol):
    def candidates(self, ratings: DataFrame, n: int) -> DataFrame:
        """Each user of ``ratings``: at most ``n`` unrated movies, ``user_id, movie_id, score,
        rank[, because_movie_id]``."""
        ...


class CandidateSource(Protocol):
    def fit(self, data: TrainingData) -> CandidateModel: ...


def top_n_unrated(
    scored: DataFrame,
    n: int,
    rated: DataFrame | None = None,
    order: Sequence[Column] | None = None,
) -> DataFrame:
    """``scored`` (``user_id, movie_id, score, ...``) without the (user, movie) pairs of
    ``rated``, each user's first ``n`` rows by ``order`` (default: score descending, the smaller
    movie id on ties) with an int ``rank`` 1..n."""
    if rated is not None:
        scored = scored.join(
            rated.select(C.USER_ID, C.MOVIE_ID), [C.USER_ID, C.MOVIE_ID], "left_anti"
        )
    by = list(order) if order else [F.col(C.SCORE).desc(), F.col(C.MOVIE_ID)]
    ranked = scored.withColumn(
        C.RANK, F.row_number().over(Window.partitionBy(C.USER_ID).orderBy(*by)).cast("int")
    )
    return ranked.where(F.col(C.RANK) <= n)
