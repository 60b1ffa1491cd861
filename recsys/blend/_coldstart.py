"""Cold start: popularity for users without history, and the popularity candidate source.

"Popular, well-rated" is a damped mean (the movie's ratings plus ``prior_weight`` pseudo-ratings
at the global mean, so a movie with three 5-star ratings does not beat one with 300 ratings
averaging 4.4) among movies with at least ``min_count`` ratings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from recsys import columns as C
from recsys.candidates import TrainingData, top_n_unrated


def movie_popularity(ratings: DataFrame, prior_weight: float = 10.0) -> DataFrame:
    """``movie_id, rating_count, mean_rating, damped_mean`` for every rated movie."""
    stats = ratings.groupBy(C.MOVIE_ID).agg(
        F.count(F.lit(1)).alias(C.RATING_COUNT),
        F.sum(C.RATING).alias("_sum"),
    )
    overall = ratings.agg(F.avg(C.RATING).alias("_mu"))
    damped = (F.col("_sum") + prior_weight * F.col("_mu")) / (F.col(C.RATING_COUNT) + prior_weight)
    return stats.crossJoin(F.broadcast(overall)).select(
        F.col(C.MOVIE_ID).cast("int").alias(C.MOVIE_ID),
        F.col(C.RATING_COUNT).cast("long").alias(C.RATING_COUNT),
        (F.col("_sum") / F.col(C.RATING_COUNT)).cast("double").alias(C.MEAN_RATING),
        damped.cast("double").alias("damped_mean"),
    )


class PopularitySource:
    """The popularity candidate source: each user's most-rated movies they have not rated,
    ``score`` = the movie's rating count."""

    def fit(self, data: TrainingData) -> FittedPopularity:
        counts = data.ratings.groupBy(C.MOVIE_ID).agg(
            F.count(F.lit(1)).cast("double").alias(C.SCORE)
        )
        order = Window.orderBy(F.col(C.SCORE).desc(), F.col(C.MOVIE_ID))
        return FittedPopularity(counts.withColumn(_POS, F.row_number().over(order)))


_POS = "_pos"


@dataclass(frozen=True)
class FittedPopularity:
    ranked: DataFrame
    """``movie_id, score, _pos``: every movie by rating count (one row per movie)."""

    def candidates(self, ratings: DataFrame, n: int) -> DataFrame:
        """Only the ``3 n`` most-rated movies are considered (a broadcast list), so the cross
        join is bounded by users x 3n; a user who rated most of them gets fewer than ``n``."""
        top = self.ranked.where(F.col(_POS) <= F.lit(n) * 3)
        # only ratings of the listed movies can remove a candidate: the anti-join shuffles those
        rated = ratings.select(C.USER_ID, C.MOVIE_ID).join(
            F.broadcast(top.select(C.MOVIE_ID)), C.MOVIE_ID, "left_semi"
        )
        users = ratings.select(C.USER_ID).distinct()
        cand = users.crossJoin(F.broadcast(top))
        return top_n_unrated(cand, n, rated=rated, order=[F.col(_POS)]).select(
            F.col(C.USER_ID).cast("int").alias(C.USER_ID),
            F.col(C.MOVIE_ID).cast("int").alias(C.MOVIE_ID),
            C.SCORE,
            C.RANK,
        )


def cold_start(
    popularity: DataFrame,
    movies: DataFrame,
    n: int = 10,
    genres: Sequence[str] | None = None,
    min_count: int = 20,
    exclude: DataFrame | None = None,
) -> DataFrame:
    """Top-``n`` popular, well-rated movies for someone with no (usable) history.

    ``genres`` (case-insensitive) keeps movies having at least one of them. ``exclude``
    (``movie_id``) removes movies, e.g. the few the user already rated. Returns ``movie_id,
    title, score (damped mean), rank, reason`` with reason ``popular in <genre>`` (the first
    requested genre the movie has; otherwise its first genre; ``popular with everyone`` for a
    movie without genres, which is kept unless ``genres`` filters on them).
    """
    wanted = [g.strip().lower() for g in (genres or []) if g.strip()]
    cand = popularity.where(F.col(C.RATING_COUNT) >= min_count).join(
        movies.select(C.MOVIE_ID, C.TITLE, C.GENRES), C.MOVIE_ID
    )
    if exclude is not None:
        cand = cand.join(exclude.select(C.MOVIE_ID), C.MOVIE_ID, "left_anti")
    # get (0-based) is null past the end: element_at would fail on an empty genres array
    genre = F.get(C.GENRES, 0)
    if wanted:
        matching = F.filter(C.GENRES, lambda g: F.lower(g).isin(wanted))
        cand = cand.where(F.size(matching) > 0)
        genre = F.get(matching, 0)
    reason = F.when(genre.isNull(), F.lit("popular with everyone")).otherwise(
        F.concat(F.lit("popular in "), genre)
    )
    order = Window.orderBy(F.col("damped_mean").desc(), F.col(C.RATING_COUNT).desc(), C.MOVIE_ID)
    return (
        cand.withColumn(C.RANK, F.row_number().over(order).cast("int"))
        .where(F.col(C.RANK) <= n)
        .select(
            C.MOVIE_ID,
            C.TITLE,
            F.col("damped_mean").alias(C.SCORE),
            C.RANK,
            reason.alias(C.REASON),
        )
    )
