"""content_scores: centred profiles, exclusion of rated movies, reasons, output contract."""

from __future__ import annotations

from chispa import assert_approx_df_equality
from chispa.schema_comparer import assert_schema_equality
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
