"""The blended item-to-item list (``similar_movies``): collaborative and content neighbours.

CF similarities (item-kNN, normalised per movie) are rescaled so each movie's best CF neighbour
is 1; content similarities are cosines in [0, 1]. ``score = cf_weight * cf + (1 - cf_weight) *
content`` with a missing side counting 0, so a new movie without ratings still gets (and
appears in) content neighbours.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, IntegerType, StructField, StructType

from recsys import columns as C

SIMILAR_MOVIES = StructType(
    [
        StructField(C.MOVIE_ID, IntegerType(), False),
        StructField(C.SIMILAR_MOVIE_ID, IntegerType(), False),
        StructField(C.RANK, IntegerType(), False),
        StructField(C.SCORE, DoubleType(), False),
        StructField(C.CONTENT_SIMILARITY, DoubleType(), True),
        StructField(C.CF_SIMILARITY, DoubleType(), True),
    ]
)


def blend_similar_movies(
    cf_neighbors: DataFrame | None,
    content_neighbors: DataFrame | None,
    k: int = 20,
    cf_weight: float = 0.5,
) -> DataFrame:
    """Top-``k`` similar movies per movie from either neighbour table (``movie_id,
    neighbor_id, similarity``); either may be None."""
    parts = []
    if cf_neighbors is not None:
        best = F.max(C.SIMILARITY).over(Window.partitionBy(C.MOVIE_ID))
        parts.append(
            cf_neighbors.select(
                C.MOVIE_ID,
                F.col(C.NEIGHBOR_ID).alias(C.SIMILAR_MOVIE_ID),
                F.lit(None).cast("double").alias(C.CONTENT_SIMILARITY),
                (F.col(C.SIMILARITY) / best).cast("double").alias(C.CF_SIMILARITY),
            )
        )
    if content_neighbors is not None:
        parts.append(
            content_neighbors.select(
                C.MOVIE_ID,
                F.col(C.NEIGHBOR_ID).alias(C.SIMILAR_MOVIE_ID),
                F.col(C.SIMILARITY).cast("double").alias(C.CONTENT_SIMILARITY),
                F.lit(None).cast("double").alias(C.CF_SIMILARITY),
            )
        )
    if not parts:
        raise ValueError("blend_similar_movies needs at least one neighbour table")
    union = parts[0]
    for p in parts[1:]:
        union = union.unionByName(p)
    merged = union.groupBy(C.MOVIE_ID, C.SIMILAR_MOVIE_ID).agg(
        F.max(C.CONTENT_SIMILARITY).alias(C.CONTENT_SIMILARITY),
        F.max(C.CF_SIMILARITY).alias(C.CF_SIMILARITY),
    )
    score = cf_weight * F.coalesce(F.col(C.CF_SIMILARITY), F.lit(0.0)) + (
        1 - cf_weight
    ) * F.coalesce(F.col(C.CONTENT_SIMILARITY), F.lit(0.0))
    order = Window.partitionBy(C.MOVIE_ID).orderBy(F.col(C.SCORE).desc(), C.SIMILAR_MOVIE_ID)
    return (
        merged.withColumn(C.SCORE, score)
        .withColumn(C.RANK, F.row_number().over(order))
        .where(F.col(C.RANK) <= k)
        .select(
            F.col(C.MOVIE_ID).cast("int").alias(C.MOVIE_ID),
            F.col(C.SIMILAR_MOVIE_ID).cast("int").alias(C.SIMILAR_MOVIE_ID),
            F.col(C.RANK).cast("int").alias(C.RANK),
            F.col(C.SCORE).cast("double").alias(C.SCORE),
            C.CONTENT_SIMILARITY,
            C.CF_SIMILARITY,
        )
    )
