"""content_scores: centred profiles, exclusion of rated movies, reasons, output contract."""

from __future__ import annotations

import random

import pytest
from chispa import assert_approx_df_equality
from chispa.schema_comparer import assert_schema_equality
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, IntegerType, StructField, StructType

from recsys import columns as C
from recsys.content import CONTENT_SCORES, content_scores, user_weights
from tests._content_data import ratings_df

NEIGHBORS = StructType(
    [
        StructField(C.MOVIE_ID, IntegerType(), False),
        StructField(C.NEIGHBOR_ID, IntegerType(), False),
        StructField(C.SIMILARITY, DoubleType(), False),
        StructField(C.RANK, IntegerType(), False),
    ]
)

# 1 ~ 2 (0.9), 3 ~ 4 (0.8), 5 ~ 2 (0.5), 5 ~ 6 (0.4); listed one way only for 5 -> 6
GRAPH = [
    (1, 2, 0.9, 1),
    (2, 1, 0.9, 1),
    (2, 5, 0.5, 2),
    (3, 4, 0.8, 1),
    (4, 3, 0.8, 1),
    (5, 2, 0.5, 1),
    (5, 6, 0.4, 2),
]


def test_liked_neighbour_above_disliked_and_rated_excluded(spark):
    neighbors = spark.createDataFrame(GRAPH, NEIGHBORS)
    # user 7: loves 1, hates 3, neutral on 5 (mean 3 -> weights +2, -2, 0)
    ratings = ratings_df(spark, [(7, 1, 5), (7, 3, 1), (7, 5, 3)])
    actual = content_scores(ratings, neighbors, n=10)
    assert_schema_equality(actual.schema, CONTENT_SCORES, ignore_nullable=True)
    # movie 2: (+2 * 0.9 + 0 * 0.5) / (|2| + |-2| + |0|) = 0.45, because of movie 1;
    # movie 4 (-2 * 0.8 < 0) is pushed away and not listed; 6 only via 5 (weight 0);
    # rated movies 1, 3, 5 never appear
    expected = spark.createDataFrame([(7, 2, 0.45, 1, 1)], CONTENT_SCORES)
    assert_approx_df_equality(actual, expected, precision=1e-9, ignore_nullable=True)


def test_reverse_edges_and_ranking(spark):
    neighbors = spark.createDataFrame(GRAPH, NEIGHBORS)
    # user 8 likes 6 (only a *neighbour* of 5 in the table) and 4, dislikes 1
    ratings = ratings_df(spark, [(8, 6, 5), (8, 4, 4), (8, 1, 1)])
    actual = content_scores(ratings, neighbors, n=10).orderBy(C.RANK)
    rows = [(r[C.MOVIE_ID], r[C.RANK], r[C.BECAUSE_MOVIE_ID]) for r in actual.collect()]
    # mean 10/3: weights 6 -> +5/3, 4 -> +2/3, 1 -> -7/3; norm 14/3
    # 3: (2/3 * 0.8) / (14/3) = 0.114; 5: (5/3 * 0.4) / (14/3) = 0.143 (edge 5->6 reversed);
    # 2: -7/3 * 0.9 < 0 -> absent
    assert rows == [(5, 1, 6), (3, 2, 4)]


def test_user_with_constant_ratings_weighs_every_movie_one(spark):
    ratings = ratings_df(spark, [(9, 1, 4), (9, 2, 4), (10, 1, 2), (10, 2, 4)])
    weights = {(r[0], r[1]): r[2] for r in user_weights(ratings).collect()}
    assert weights == {(9, 1): 1.0, (9, 2): 1.0, (10, 1): -1.0, (10, 2): 1.0}


def _scores_by_definition(ratings, neighbors, n, candidates=None):
    """The content score as the plain relational definition (every rating joined with its
    movie's edges, grouped, ranked by a window): what the vectorised scorer must reproduce."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from recsys.content import neighbor_edges

    weights = user_weights(ratings).withColumnRenamed("_weight", "_w")
    norms = weights.groupBy(C.USER_ID).agg(F.sum(F.abs("_w")).alias("_norm"))
    edges = neighbor_edges(neighbors).withColumnRenamed(C.MOVIE_ID, "_src")
    terms = (
        weights.withColumnRenamed(C.MOVIE_ID, "_src")
        .join(edges, "_src")
        .select(
            C.USER_ID,
            F.col(C.NEIGHBOR_ID).alias(C.MOVIE_ID),
            "_src",
            (F.col("_w") * F.col(C.SIMILARITY)).alias("_t"),
        )
        .join(ratings.select(C.USER_ID, C.MOVIE_ID), [C.USER_ID, C.MOVIE_ID], "left_anti")
    )
    if candidates is not None:
        terms = terms.join(candidates, C.MOVIE_ID, "left_semi")
    best = F.max(F.struct(F.col("_t"), (-F.col("_src")).alias("_src")))
    scored = (
        terms.groupBy(C.USER_ID, C.MOVIE_ID)
        .agg(F.sum("_t").alias(C.SCORE), best.alias("_best"))
        .join(norms, C.USER_ID)
        .select(
            C.USER_ID,
            C.MOVIE_ID,
            (F.col(C.SCORE) / F.col("_norm")).alias(C.SCORE),
            (-F.col("_best._src")).alias(C.BECAUSE_MOVIE_ID),
        )
        .where(F.col(C.SCORE) > 0)
    )
    order = Window.partitionBy(C.USER_ID).orderBy(F.col(C.SCORE).desc(), C.MOVIE_ID)
    ranked = scored.withColumn(C.RANK, F.row_number().over(order)).where(F.col(C.RANK) <= n)
    return ranked.select(*CONTENT_SCORES.fieldNames())


@pytest.mark.parametrize("restricted", [False, True])
def test_vectorised_scores_match_the_relational_definition(spark, restricted):
    """Random ratings (liked, disliked, constant users) over a random one-way neighbour graph
    with tied similarities: the numpy scorer returns the rows, scores, ranks and reasons of the
    joins it replaced, with and without a candidate restriction."""
    rnd = random.Random(5)
    picked = {(u, rnd.randrange(1, 41)) for u in range(1, 61) for _ in range(8)}
    rows = [(u, m, float(rnd.randint(1, 5))) for u, m in sorted(picked)]
    rows += [(61, 1, 3.0), (61, 2, 3.0)]  # constant ratings: every movie weighs 1
    ratings = ratings_df(spark, rows)
    graph = [
        (m, v, rnd.randint(1, 4) / 8.0, r + 1)
        for m in range(1, 41)
        for r, v in enumerate(rnd.sample([x for x in range(1, 46) if x != m], 4))
    ]
    neighbors = spark.createDataFrame(graph, NEIGHBORS)
    candidates = spark.range(1, 46, 2).select(F.col("id").cast("int").alias(C.MOVIE_ID))
    allowed = candidates if restricted else None
    actual = content_scores(ratings, neighbors, n=5, candidates=allowed)
    expected = _scores_by_definition(ratings, neighbors, 5, allowed)
    assert expected.count() > 100
    assert_approx_df_equality(
        actual, expected, precision=1e-9, ignore_row_order=True, ignore_nullable=True
    )
