"""Content scores for every user from the movies they rated and the neighbour graph.

A user's profile is the rating-weighted sum of the vectors of the movies they rated, with each
rating centred on the user's mean: ``p_u = sum_j w_uj v_j / sum_j |w_uj|`` where
``w_uj = r_uj - mean_u``. A movie rated above the user's mean pulls its neighbours up, one rated
below pushes them down. The score of a candidate ``c`` is ``p_u . v_c``, restricted to the pairs
(j, c) in the top-K neighbour graph (taken in both directions, so a new movie reaches the users
who rated the movies in *its* top-K too). The edge table is model-sized and summed per block of
users in numpy (the item-kNN scorer); the ratings are never joined with it.

``because_movie_id`` is the rated movie with the largest positive contribution ``w_uj * sim(j,
c)``: the "because you liked X" of the blend.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, IntegerType, StructField, StructType

from recsys import columns as C
from recsys.neighbors.knn import itemknn_scores

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

_WEIGHT = "_weight"


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

    The sums run in numpy per block of users over the broadcast edge table (up to movies x 2K
    rows for K neighbours each way; :func:`recsys.neighbors.knn.itemknn_scores` with the centred
    ratings as term weights): joining every rating with its movie's edges made up to ratings x
    2K rows (~400M at 10M ratings, 436 s).
    """
    edges = neighbor_edges(neighbors)
    if candidates is not None:
        allowed = candidates.select(F.col(C.MOVIE_ID).alias(C.NEIGHBOR_ID))
        edges = edges.join(allowed, C.NEIGHBOR_ID, "left_semi")
    scored = itemknn_scores(
        user_weights(ratings),
        edges,
        n=n,
        rating_weight=_WEIGHT,
        positive_only=True,
    )
    return scored.select(
        *[F.col(f.name).cast(f.dataType).alias(f.name) for f in CONTENT_SCORES.fields]
    )
