"""Content scores for every user from the movies they rated and the neighbour graph.

A user's profile is the rating-weighted sum of the vectors of the movies they rated, with each
rating centred on the user's mean: ``p_u = sum_j w_uj v_j / sum_j |w_uj|`` where
``w_uj = r_uj - mean_u``. A movie rated above the user's mean pulls its neighbours up, one rated
below pushes them down. The score of a candidate ``c`` is ``p_u . v_c``, restricted to the pairs
(j, c) in the top-K neighbour graph (taken in both directions, so a new movie reaches the users
who rated the movies in *its* top-K too). Everything is joins and aggregations in Spark.

``because_movie_id`` is the rated movie with the largest positive contribution ``w_uj * sim(j,
c)``: the "because you liked X" of the blend.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, IntegerType, StructField, StructType

from recsys import columns as C

DEFAULT_N = 100

CONTENT_SCORES = StructType(
    [
        StructField(C.USER_ID, IntegerType(), False),
        StructField(C.MOVIE_ID, IntegerType(), False),
        StructField(C.SCORE, DoubleType(), False),
        StructField(C.RANK, IntegerType(), False),
        StructField(C.BECAUSE_MOVIE_ID, IntegerType(), False),
    ]
)

_WEIGHT, _SOURCE, _CONTRIB, _NORM, _BEST = "_weight", "_source", "_contrib", "_norm", "_best"


def user_weights(ratings: DataFrame) -> DataFrame:
    """(user_id, movie_id, weight): rating minus the user's mean. A user whose ratings are all
    equal carries no like/dislike signal relative to themself; their movies all weigh 1."""
    by_user = Window.partitionBy(C.USER_ID)
    mean = F.avg(C.RATING).over(by_user)
    spread = F.max(C.RATING).over(by_user) - F.min(C.RATING).over(by_user)
    weight = F.when(spread > 0, F.col(C.RATING) - mean).otherwise(F.lit(1.0))
    return ratings.select(C.USER_ID, C.MOVIE_ID, weight.cast("double").alias(_WEIGHT))


def neighbor_edges(neighbors: DataFrame) -> DataFrame:
    """(movie_id, neighbor_id, similarity) in both directions, each ordered pair once."""
    forward = neighbors.select(C.MOVIE_ID, C.NEIGHBOR_ID, C.SIMILARITY)
    backward = neighbors.select(
        F.col(C.NEIGHBOR_ID).alias(C.MOVIE_ID),
        F.col(C.MOVIE_ID).alias(C.NEIGHBOR_ID),
        C.SIMILARITY,
    )
    return (
        forward.unionByName(backward)
        .groupBy(C.MOVIE_ID, C.NEIGHBOR_ID)
        .agg(F.max(C.SIMILARITY).alias(C.SIMILARITY))
    )


def content_scores(
    ratings: DataFrame,
    neighbors: DataFrame,
    n: int = DEFAULT_N,
    candidates: DataFrame | None = None,
) -> DataFrame:
    """Top-``n`` unrated movies per user by content score (> 0), with ``because_movie_id``.

    ``candidates`` (a frame with ``movie_id``) restricts what may be recommended, e.g. to new
    movies only.

    Output follows the project's recommendation contract: user_id, movie_id, score (double),
    rank (1-based, ties broken by the smaller movie_id), plus ``because_movie_id``.
    """
    weights = user_weights(ratings)
    norms = weights.groupBy(C.USER_ID).agg(F.sum(F.abs(F.col(_WEIGHT))).alias(_NORM))
    edges = neighbor_edges(neighbors).withColumnRenamed(C.MOVIE_ID, _SOURCE)
    contributions = (
        weights.withColumnRenamed(C.MOVIE_ID, _SOURCE)
        .join(edges, _SOURCE)
        .select(
            C.USER_ID,
            F.col(C.NEIGHBOR_ID).alias(C.MOVIE_ID),
            _SOURCE,
            (F.col(_WEIGHT) * F.col(C.SIMILARITY)).alias(_CONTRIB),
        )
        .join(ratings.select(C.USER_ID, C.MOVIE_ID), [C.USER_ID, C.MOVIE_ID], "left_anti")
    )
    if candidates is not None:
        contributions = contributions.join(candidates.select(C.MOVIE_ID), C.MOVIE_ID, "left_semi")
    # max of (contribution, -source) = largest contribution, the smaller movie id on ties
    best = F.max(F.struct(F.col(_CONTRIB), (-F.col(_SOURCE)).alias(_SOURCE)))
    scored = (
        contributions.groupBy(C.USER_ID, C.MOVIE_ID)
        .agg(F.sum(_CONTRIB).alias(C.SCORE), best.alias(_BEST))
        .join(norms, C.USER_ID)
        .select(
            C.USER_ID,
            C.MOVIE_ID,
            (F.col(C.SCORE) / F.col(_NORM)).alias(C.SCORE),
            (-F.col(f"{_BEST}.{_SOURCE}")).alias(C.BECAUSE_MOVIE_ID),
        )
        .where(F.col(C.SCORE) > 0)
    )
    order = Window.partitionBy(C.USER_ID).orderBy(F.col(C.SCORE).desc(), F.col(C.MOVIE_ID))
    ranked = scored.withColumn(C.RANK, F.row_number().over(order)).where(F.col(C.RANK) <= n)
    return ranked.select(
        F.col(C.USER_ID).cast("int").alias(C.USER_ID),
        F.col(C.MOVIE_ID).cast("int").alias(C.MOVIE_ID),
        F.col(C.SCORE).cast("double").alias(C.SCORE),
        F.col(C.RANK).cast("int").alias(C.RANK),
        F.col(C.BECAUSE_MOVIE_ID).cast("int").alias(C.BECAUSE_MOVIE_ID),
    )
