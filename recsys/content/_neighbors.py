"""Top-K cosine neighbours of every movie: approximate (LSH similarity join) or exact.

Both paths produce the ``movie_neighbors`` table (movie_id, neighbor_id, similarity, rank):

* similarities are computed once per unordered pair (a < b) and mirrored, so the table is
  symmetric in values: when both (a, b) and (b, a) are present they hold the same number;
* only pairs with similarity > ``min_similarity`` (default 0) qualify, so a movie that shares no
  weighted token with any other movie has no neighbours rather than arbitrary ones;
* rank is 1..K by similarity descending, ties broken by the smaller neighbor_id.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import (
    DoubleType,
    IntegerType,
    StructField,
    StructType,
)

from recsys import columns as C
from recsys.content._features import (
    TERM,
    WEIGHT,
    ContentModel,
    distance_for_similarity,
    similarity_from_distance,
)

DEFAULT_K = 20

MOVIE_NEIGHBORS = StructType(
    [
        StructField(C.MOVIE_ID, IntegerType(), False),
        StructField(C.NEIGHBOR_ID, IntegerType(), False),
        StructField(C.SIMILARITY, DoubleType(), False),
        StructField(C.RANK, IntegerType(), False),
    ]
)

_A, _B, _DIST = "_a", "_b", "_distance"


def top_k(pairs: DataFrame, k: int = DEFAULT_K) -> DataFrame:
    """Mirror (a < b, similarity) pairs and keep each movie's ``k`` most similar neighbours."""
    both = pairs.select(
        F.col(_A).alias(C.MOVIE_ID), F.col(_B).alias(C.NEIGHBOR_ID), C.SIMILARITY
    ).unionByName(
        pairs.select(F.col(_B).alias(C.MOVIE_ID), F.col(_A).alias(C.NEIGHBOR_ID), C.SIMILARITY)
    )
    order = Window.partitionBy(C.MOVIE_ID).orderBy(
        F.col(C.SIMILARITY).desc(), F.col(C.NEIGHBOR_ID).asc()
    )
    ranked = both.withColumn(C.RANK, F.row_number().over(order)).where(F.col(C.RANK) <= k)
    return ranked.select(
        F.col(C.MOVIE_ID).cast("int").alias(C.MOVIE_ID),
        F.col(C.NEIGHBOR_ID).cast("int").alias(C.NEIGHBOR_ID),
        F.col(C.SIMILARITY).cast("double").alias(C.SIMILARITY),
        F.col(C.RANK).cast("int").alias(C.RANK),
    )


def lsh_pairs(model: ContentModel, vectors: DataFrame, min_similarity: float = 0.0) -> DataFrame:
    """Candidate pairs (a < b) from ``approxSimilarityJoin`` with their exact cosine."""
    threshold = distance_for_similarity(min_similarity)
    joined = model.lsh.approxSimilarityJoin(vectors, vectors, threshold, distCol=_DIST)
    return (
        joined.select(
            F.col(f"datasetA.{C.MOVIE_ID}").alias(_A),
            F.col(f"datasetB.{C.MOVIE_ID}").alias(_B),
            similarity_from_distance(_DIST).alias(C.SIMILARITY),
        )
        .where((F.col(_A) < F.col(_B)) & (F.col(C.SIMILARITY) > min_similarity))
        .dropDuplicates([_A, _B])
    )


def exact_pairs(term_weights: DataFrame, min_similarity: float = 0.0) -> DataFrame:
    """Every pair (a < b) sharing a term, with its exact cosine: a sparse dot product through
    an inverted index over :meth:`ContentModel.term_weights`. The cost is the sum over terms of
    (movies having it)^2: fine for small catalogues and tests, quadratic for a token present in
    most movies."""
    left = term_weights.select(F.col(C.MOVIE_ID).alias(_A), TERM, F.col(WEIGHT).alias("_wa"))
    right = term_weights.select(F.col(C.MOVIE_ID).alias(_B), TERM, F.col(WEIGHT).alias("_wb"))
    return (
        left.join(right, TERM)
        .where(F.col(_A) < F.col(_B))
        .groupBy(_A, _B)
        .agg(F.sum(F.col("_wa") * F.col("_wb")).alias(C.SIMILARITY))
        .where(F.col(C.SIMILARITY) > min_similarity)
    )


def movie_neighbors(
    model: ContentModel,
    documents: DataFrame,
    k: int = DEFAULT_K,
    min_similarity: float = 0.0,
) -> DataFrame:
    """The ``movie_neighbors`` table via LSH (``approxSimilarityJoin``)."""
    vectors = model.transform(documents)
    return top_k(lsh_pairs(model, vectors, min_similarity), k)


def exact_neighbors(
    model: ContentModel,
    documents: DataFrame,
    k: int = DEFAULT_K,
    min_similarity: float = 0.0,
) -> DataFrame:
    """The ``movie_neighbors`` table by brute force: the reference LSH is measured against."""
    return top_k(exact_pairs(model.term_weights(documents), min_similarity), k)
