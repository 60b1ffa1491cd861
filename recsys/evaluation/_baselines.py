"""Baselines every report shows next to a model: most popular and random.

Both return the recommendation contract (``user_id, movie_id, score, rank``) and never
recommend a movie the user rated in ``train``. Neither builds the users x movies matrix: each
user only looks at as many candidates as they could need (``k`` + their own rating count).
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from recsys import columns as C
from recsys.candidates import top_n_unrated
from recsys.errors import RecsysError

_BY = ("count", "damped_mean")


def _finish(candidates: DataFrame, train: DataFrame, k: int, order: list) -> DataFrame:
    """Drop rated movies, rank what is left per user, keep the top ``k``."""
    return top_n_unrated(candidates, k, rated=train, order=order).select(
        C.USER_ID, C.MOVIE_ID, F.col(C.SCORE).cast("double").alias(C.SCORE), C.RANK
    )


def _with_budget(users: DataFrame, train: DataFrame, k: int) -> DataFrame:
    """``user_id, _budget``: k + the user's number of train ratings (enough candidates to still
    have k once the rated ones are removed)."""
    n_rated = train.groupBy(C.USER_ID).agg(F.count(F.lit(1)).alias("_n"))
    return (
        users.select(C.USER_ID)
        .distinct()
        .join(n_rated, C.USER_ID, "left")
        .select(C.USER_ID, (F.coalesce(F.col("_n"), F.lit(0)) + k).alias("_budget"))
    )


def most_popular(
    train: DataFrame,
    users: DataFrame,
    k: int = 10,
    by: str = "count",
    damping: float = 10.0,
) -> DataFrame:
    """Top-``k`` movies by train popularity for every user in ``users``, minus their rated ones.

    ``by="count"``: number of train ratings. ``by="damped_mean"``: mean rating shrunk towards the
    global mean, ``(sum + damping * mu) / (count + damping)``, so a movie with one 5-star rating
    does not top the list. Ties break by movie id.
    """
    if by not in _BY:
        raise RecsysError(f"most_popular: by must be one of {_BY}, got {by!r}")
    per_movie = train.groupBy(C.MOVIE_ID).agg(
        F.count(F.lit(1)).alias("_cnt"), F.sum(C.RATING).alias("_sum")
    )
    if by == "count":
        scored = per_movie.select(C.MOVIE_ID, F.col("_cnt").cast("double").alias(C.SCORE))
    else:
        mu = train.agg(F.avg(C.RATING).alias("_mu"))
        scored = per_movie.crossJoin(mu).select(
            C.MOVIE_ID,
            ((F.col("_sum") + damping * F.col("_mu")) / (F.col("_cnt") + damping)).alias(C.SCORE),
        )
    ranked = scored.withColumn(
        "_pos", F.row_number().over(Window.orderBy(F.col(C.SCORE).desc(), C.MOVIE_ID))
    )  # one row per movie: a catalogue-sized window, not a ratings-sized one
    budget = _with_budget(users, train, k)
    candidates = budget.join(F.broadcast(ranked), F.col("_pos") <= F.col("_budget"))
    return _finish(candidates, train, k, [F.col("_pos")])


def random_recs(train: DataFrame, users: DataFrame, k: int = 10, seed: int = 42) -> DataFrame:
    """Up to ``k`` movies drawn uniformly from the train catalogue per user, minus rated ones.

    Each user draws ``3 * (k + n_rated)`` catalogue positions by hashing (seed, user, draw), so
    the result is deterministic and partition-independent; only a user who rated nearly the
    whole catalogue can get fewer than ``k``. ``score`` falls with the draw order.
    """
    catalogue = (
        train.select(C.MOVIE_ID)
        .distinct()
        .withColumn("_idx", F.row_number().over(Window.orderBy(C.MOVIE_ID)) - 1)
    )
    n_movies = catalogue.agg(F.count(F.lit(1)).alias("_m"))
    draws = (
        _with_budget(users, train, k)
        .crossJoin(n_movies)
        .withColumn("_draw", F.explode(F.sequence(F.lit(1), F.col("_budget") * 3)))
        .withColumn("_h", F.xxhash64(F.lit(int(seed)), F.col(C.USER_ID), F.col("_draw")))
        # an empty train catalogue (_m = 0) draws nothing; pmod by 0 would fail
        .withColumn("_idx", F.when(F.col("_m") > 0, F.pmod(F.col("_h"), F.col("_m"))))
    )
    picked = (
        draws.join(F.broadcast(catalogue), "_idx")
        .groupBy(C.USER_ID, C.MOVIE_ID)
        .agg(F.min("_draw").alias("_first"))
        .withColumn(C.SCORE, 1.0 - F.col("_first") / F.lit(1e9))
    )
    return _finish(picked, train, k, [F.col("_first")])
