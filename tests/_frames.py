"""Small hand-made frames for unit tests, built over the lake's own schemas (recsys.schemas):
one place that knows the column order, so no test module declares a ratings schema again."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import IntegerType, StructField, StructType

from recsys import columns as C
from recsys import schemas as S

T0 = dt.datetime(2020, 1, 1)

SCORED = StructType([*S.RECS.fields[:3]])
"""``user_id, movie_id, score``: a candidate source's rows before ranking."""
SCORED_BECAUSE = StructType([*SCORED.fields, StructField(C.BECAUSE_MOVIE_ID, IntegerType(), True)])


def _when(value: object) -> dt.datetime | None:
    """A timestamp, or days after :data:`T0`."""
    if value is None or isinstance(value, dt.datetime):
        return value
    return T0 + dt.timedelta(days=float(value))  # type: ignore[arg-type]


def ratings(spark: SparkSession, rows: Iterable[Sequence]) -> DataFrame:
    """``ratings`` rows from ``(user, movie, rating[, when])``; ``when`` is a datetime or days
    after :data:`T0` (``rated_at`` is null without it)."""
    return spark.createDataFrame(
        [(u, m, float(r), _when(rest[0]) if rest else None) for u, m, r, *rest in rows],
        S.RATINGS,
    )


def movies(spark: SparkSession, rows: Iterable[Sequence]) -> DataFrame:
    """``movies`` rows from ``(movie, title, genres)`` or the full ``(movie, title, year, genres,
    release_date)``."""
    full = [r if len(r) == 5 else (r[0], r[1], None, list(r[2]), None) for r in rows]
    return spark.createDataFrame(full, S.MOVIES)


def tags(spark: SparkSession, rows: Iterable[Sequence]) -> DataFrame:
    """``tags`` rows from ``(user, movie, tag[, when])`` (``tagged_at`` defaults to T0)."""
    return spark.createDataFrame(
        [(u, m, t, _when(rest[0]) if rest else T0) for u, m, t, *rest in rows], S.TAGS
    )


def scored(spark: SparkSession, rows: Iterable[Sequence]) -> DataFrame:
    """``user_id, movie_id, score[, because_movie_id]`` from 3- or 4-tuples."""
    rows = [tuple(r) for r in rows]
    schema = SCORED_BECAUSE if rows and len(rows[0]) == 4 else SCORED
    return spark.createDataFrame([(u, m, float(s), *rest) for u, m, s, *rest in rows], schema)


def recs(spark: SparkSession, rows: Iterable[Sequence]) -> DataFrame:
    """The recommendation contract (:data:`recsys.schemas.RECS`) from ``(user, movie, rank)``;
    the score falls with the rank."""
    return spark.createDataFrame([(u, m, 100.0 - r, r) for u, m, r in rows], S.RECS)


def pairs(spark: SparkSession, rows: Iterable[Sequence]) -> DataFrame:
    """``user_id, movie_id`` (e.g. held-out truth)."""
    return spark.createDataFrame([tuple(r) for r in rows], StructType([*S.RECS.fields[:2]]))


__all__ = ["SCORED", "SCORED_BECAUSE", "T0", "movies", "pairs", "ratings", "recs", "scored", "tags"]
