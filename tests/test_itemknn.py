"""Item-kNN on a tiny matrix whose cosine neighbours are known by hand.

users: 1 -> {10, 20}; 2 -> {10, 20, 30}; 3 -> {30, 40}; 4 -> {10, 40}
n: 10:3, 20:2, 30:2, 40:2
cosine: (10,20) = 2/sqrt(6); (10,30) = (10,40) = 1/sqrt(6); (20,30) = (30,40) = 1/2; (20,40) = 0
"""

from __future__ import annotations

import math

import pytest
from chispa import assert_approx_df_equality
from pyspark.sql.types import DoubleType, IntegerType, StructField, StructType

from recsys import columns as C
from recsys.neighbors.knn import (
    KnnConfig,
    item_neighbors,
    itemknn_scores,
    user_neighbors,
    userknn_scores,
)
from tests import _frames as fr

COSINE = KnnConfig(k=2, via_weight=0.0, neighbor_pop=0.5, normalize=False)
S6 = 1 / math.sqrt(6)


@pytest.fixture(scope="module")
def ratings(spark):
    rows = [(1, 10), (1, 20), (2, 10), (2, 20), (2, 30), (3, 30), (3, 40), (4, 10), (4, 40)]
    return fr.ratings(spark, [(u, m, 4.0) for u, m in rows])


def test_cosine_neighbors_top_k(spark, ratings):
    actual = item_neighbors(ratings, COSINE).select(C.MOVIE_ID, C.NEIGHBOR_ID, C.SIMILARITY, C.RANK)
    schema = StructType(
        [
            StructField(C.MOVIE_ID, IntegerType()),
            StructField(C.NEIGHBOR_ID, IntegerType()),
            StructField(C.SIMILARITY, DoubleType()),
            StructField(C.RANK, IntegerType()),
        ]
    )
    expected = spark.createDataFrame(
        [
            (10, 20, 2 * S6, 1),
            (10, 30, S6, 2),  # ties with 40: smaller id first, k=2 drops 40
            (20, 10, 2 * S6, 1),
            (20, 30, 0.5, 2),
            (30, 20, 0.5, 1),
            (30, 40, 0.5, 2),
            (40, 30, 0.5, 1),
            (40, 10, S6, 2),
        ],
        schema,
    )
    assert_approx_df_equality(
        actual, expected, precision=1e-9, ignore_row_order=True, ignore_nullable=True
    )


def test_scores_sum_neighbors_exclude_rated_and_name_best_rated(spark, ratings):
    nbrs = item_neighbors(ratings, COSINE)
    actual = itemknn_scores(ratings, nbrs, n=5).where(f"{C.USER_ID} in (1, 3)")
    schema = StructType(
        [
            StructField(C.USER_ID, IntegerType()),
            StructField(C.MOVIE_ID, IntegerType()),
            StructField(C.SCORE, DoubleType()),
            StructField(C.RANK, IntegerType()),
            StructField(C.BECAUSE_MOVIE_ID, IntegerType()),
        ]
    )
    # user 1 rated 10, 20: 30 gets 10->30 (1/sqrt6) + 20->30 (0.5); 40 is nobody's top-2 of
    # theirs. user 3 rated 30, 40: 20 via 30 (0.5); 10 via 40 (1/sqrt6).
    expected = spark.createDataFrame(
        [(1, 30, S6 + 0.5, 1, 20), (3, 20, 0.5, 1, 30), (3, 10, S6, 2, 40)], schema
    )
    assert_approx_df_equality(
        actual, expected, precision=1e-9, ignore_row_order=True, ignore_nullable=True
    )


def test_normalized_rows_sum_to_one_and_cap_bounds_join(spark, ratings):
    params = KnnConfig(k=3, normalize=True, max_per_via=2)
    sums = item_neighbors(ratings, params).groupBy(C.MOVIE_ID).sum(C.SIMILARITY).collect()
    assert sums and all(abs(r[1] - 1.0) < 1e-9 for r in sums)
    # with at most 2 ratings kept per user, no pair can be supported by more than 1 user here
    # except (10, 20) if both of user 1's and one of user 2's sampled pairs agree
    max_support = item_neighbors(ratings, params).agg({C.SUPPORT: "max"}).first()[0]
    assert max_support <= 2


def test_user_neighbors_roles_swapped(spark, ratings):
    got = {
        (r[C.USER_ID], r[C.NEIGHBOR_ID]): r[C.SIMILARITY]
        for r in user_neighbors(ratings, KnnConfig(k=5, via_weight=0.0, normalize=False))
        .where(f"{C.USER_ID} = 1")
        .collect()
    }
    # user 1 {10,20}, user 2 {10,20,30}: 2 / sqrt(2*3); user 4 {10,40}: 1 / sqrt(2*2)
    assert got == pytest.approx({(1, 2): 2 / math.sqrt(6), (1, 4): 0.5})


def _assert_same_rows(actual, expected) -> None:
    """A vectorised scorer against its relational definition: enough rows to mean something,
    the same rows and values."""
    assert actual.count() > 100
    assert_approx_df_equality(
        actual, expected, precision=1e-9, ignore_row_order=True, ignore_nullable=True
    )


def _scores_by_definition(ratings, neighbors, n, candidate_pop):
    """The item-kNN top-N sum written as the plain relational definition (joins, groupBy,
    window): what the vectorised scorer must reproduce."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    rated = ratings.select(C.USER_ID, C.MOVIE_ID)
    edges = neighbors.select(
        F.col(C.MOVIE_ID).alias("_src"), F.col(C.NEIGHBOR_ID).alias(C.MOVIE_ID), C.SIMILARITY
    )
    best = F.max(F.struct(F.col(C.SIMILARITY), (-F.col("_src")).alias("_src")))
    scored = (
        rated.withColumnRenamed(C.MOVIE_ID, "_src")
        .join(edges, "_src")
        .join(rated, [C.USER_ID, C.MOVIE_ID], "left_anti")
        .groupBy(C.USER_ID, C.MOVIE_ID)
        .agg(F.sum(C.SIMILARITY).alias(C.SCORE), best.alias("_best"))
    )
    counts = ratings.groupBy(C.MOVIE_ID).agg(F.count(F.lit(1)).alias("_n"))
    scored = scored.join(counts, C.MOVIE_ID, "left").withColumn(
        C.SCORE, F.col(C.SCORE) / F.pow(F.coalesce("_n", F.lit(0)) + 1.0, candidate_pop)
    )
    order = Window.partitionBy(C.USER_ID).orderBy(F.col(C.SCORE).desc(), C.MOVIE_ID)
    return (
        scored.withColumn(C.RANK, F.row_number().over(order))
        .where(F.col(C.RANK) <= n)
        .select(
            C.USER_ID,
            C.MOVIE_ID,
            C.SCORE,
            F.col(C.RANK).cast("int").alias(C.RANK),
            (-F.col("_best._src")).cast("int").alias(C.BECAUSE_MOVIE_ID),
        )
    )


@pytest.mark.parametrize("candidate_pop", [0.0, 0.7])
def test_vectorised_scores_match_the_relational_definition(spark, candidate_pop):
    """Random ratings, neighbour weights of both signs (as EASE's) with many ties, movies only
    some neighbour lists reach, users who rated nothing with neighbours: the broadcast scorer
    gives the same rows, scores, ranks and reasons as the joins it replaces."""
    import random

    rnd = random.Random(5)
    rows = sorted(
        {(u, rnd.randrange(1, 41)) for u in range(1, 61) for _ in range(rnd.randint(1, 12))}
    )
    ratings = fr.ratings(spark, [(u, m, 3.0) for u, m in rows])
    nbr_rows = [
        (m, j, rnd.choice([-1, 1]) * rnd.randint(1, 3) / 8.0, 1, 1)
        for m in range(1, 36)  # movies 36-40 have no neighbours of their own
        for j in rnd.sample([x for x in range(1, 46) if x != m], 6)  # 41-45: unrated targets
    ]
    from recsys.neighbors.knn import NEIGHBORS_SCHEMA

    neighbors = spark.createDataFrame(nbr_rows, NEIGHBORS_SCHEMA)
    actual = itemknn_scores(ratings, neighbors, n=4, candidate_pop=candidate_pop)
    expected = _scores_by_definition(ratings, neighbors, 4, candidate_pop)
    _assert_same_rows(actual, expected)


def test_terms_cancelling_to_zero_still_make_a_candidate(spark):
    """Weights of both signs can sum to exactly 0; the sparse product drops such entries, but
    the candidate was reached and ranks above the negative ones (as the definition says)."""
    from recsys.neighbors.knn import NEIGHBORS_SCHEMA

    ratings = fr.ratings(spark, [(1, 1, 3.0), (1, 2, 3.0)])
    neighbors = spark.createDataFrame(
        [(1, 3, 0.5, 1, 1), (2, 3, -0.5, 1, 1), (1, 4, -0.25, 1, 2), (2, 5, -0.75, 1, 2)],
        NEIGHBORS_SCHEMA,
    )
    actual = itemknn_scores(ratings, neighbors, n=2).select(
        C.MOVIE_ID, C.SCORE, C.RANK, C.BECAUSE_MOVIE_ID
    )
    assert [tuple(r) for r in actual.orderBy(C.RANK).collect()] == [
        (3, 0.0, 1, 1),
        (4, -0.25, 2, 1),
    ]


def _random_ratings(spark, seed: int, users: int = 60, movies: int = 40):
    import random

    rnd = random.Random(seed)
    rows = sorted(
        {(u, rnd.randrange(1, movies + 1)) for u in range(1, users + 1) for _ in range(12)}
    )
    return fr.ratings(spark, [(u, m, 3.0) for u, m in rows])


def _neighbors_by_definition(ratings, key, via, params):
    """Top-k co-occurrence neighbours as the plain relational definition (self-join on the
    capped pairs, groupBy, window): what the numpy blocks must reproduce."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    # the cap: each via entity's keys of smallest xxhash64(key, seed), ties to the smaller key
    order = Window.partitionBy(via).orderBy(F.xxhash64(F.col(key), F.lit(params.seed)), key)
    pairs = (
        ratings.select(key, via)
        .distinct()
        .withColumn("_pos", F.row_number().over(order))
        .where(F.col("_pos") <= params.max_per_via)
    )
    x = pairs.select(
        key,
        via,
        F.pow(F.count("*").over(Window.partitionBy(via)).cast("double"), -params.via_weight).alias(
            "_w"
        ),
        F.count("*").over(Window.partitionBy(key)).cast("double").alias("_n"),
    )
    a = x.select(F.col(key).alias("_i"), via, "_w", F.col("_n").alias("_ni"))
    b = x.select(F.col(key).alias("_j"), via, F.col("_n").alias("_nj"))
    both = (
        a.join(b, via)
        .where(F.col("_i") != F.col("_j"))
        .groupBy("_i", "_j", "_ni", "_nj")
        .agg(F.sum("_w").alias("_cw"), F.count("*").alias(C.SUPPORT))
    )
    sim = F.col("_cw") / (F.sqrt("_ni") * F.pow("_nj", params.neighbor_pop))
    if params.shrink > 0:
        sim = sim * F.col(C.SUPPORT) / (F.col(C.SUPPORT) + F.lit(float(params.shrink)))
    order = Window.partitionBy("_i").orderBy(F.col(C.SIMILARITY).desc(), "_j")
    top = (
        both.select("_i", "_j", sim.alias(C.SIMILARITY), C.SUPPORT)
        .withColumn(C.RANK, F.row_number().over(order))
        .where(F.col(C.RANK) <= params.k)
    )
    similarity = F.col(C.SIMILARITY)
    if params.normalize:
        similarity = similarity / F.sum(C.SIMILARITY).over(Window.partitionBy("_i"))
    return top.select(
        F.col("_i").cast("int").alias(key),
        F.col("_j").cast("int").alias(C.NEIGHBOR_ID),
        similarity.cast("double").alias(C.SIMILARITY),
        F.col(C.SUPPORT).cast("long").alias(C.SUPPORT),
        F.col(C.RANK).cast("int").alias(C.RANK),
    )


@pytest.mark.parametrize("role", ["item", "user"])
@pytest.mark.parametrize(
    "params",
    [
        KnnConfig(k=5, via_weight=0.0, normalize=False),
        KnnConfig(k=7, via_weight=1.0, shrink=3.0, neighbor_pop=0.8),
        KnnConfig(k=4, max_per_via=6),  # entities sampled down to 6 links each
    ],
)
def test_block_neighbors_match_the_relational_definition(spark, params, role):
    """The numpy blocks give the rows of the self-join definition, for movies through users
    and users through movies: similarity, support and ranks."""
    ratings = _random_ratings(spark, seed=11)
    if role == "item":
        expected = _neighbors_by_definition(ratings, C.MOVIE_ID, C.USER_ID, params)
        actual = item_neighbors(ratings, params)
    else:
        expected = _neighbors_by_definition(ratings, C.USER_ID, C.MOVIE_ID, params)
        actual = user_neighbors(ratings, params)
    _assert_same_rows(actual, expected)


def _userknn_by_definition(ratings, neighbors, n, candidate_pop):
    """User-kNN's top-N sum as joins, groupBy and a window: what the scorer must reproduce."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    rated = ratings.select(C.USER_ID, C.MOVIE_ID)
    theirs = rated.select(F.col(C.USER_ID).alias(C.NEIGHBOR_ID), C.MOVIE_ID)
    scored = (
        neighbors.select(C.USER_ID, C.NEIGHBOR_ID, C.SIMILARITY)
        .join(theirs, C.NEIGHBOR_ID)
        .join(rated, [C.USER_ID, C.MOVIE_ID], "left_anti")
        .groupBy(C.USER_ID, C.MOVIE_ID)
        .agg(F.sum(C.SIMILARITY).alias(C.SCORE))
    )
    counts = ratings.groupBy(C.MOVIE_ID).agg(F.count(F.lit(1)).alias("_n"))
    scored = scored.join(counts, C.MOVIE_ID).withColumn(
        C.SCORE, F.col(C.SCORE) / F.pow(F.col("_n") + 1.0, candidate_pop)
    )
    order = Window.partitionBy(C.USER_ID).orderBy(F.col(C.SCORE).desc(), C.MOVIE_ID)
    return (
        scored.withColumn(C.RANK, F.row_number().over(order))
        .where(F.col(C.RANK) <= n)
        .select(C.USER_ID, C.MOVIE_ID, C.SCORE, F.col(C.RANK).cast("int").alias(C.RANK))
    )


@pytest.mark.parametrize("candidate_pop", [0.0, 0.7])
def test_vectorised_userknn_scores_match_the_relational_definition(spark, candidate_pop):
    """Neighbour weights with many ties (eighths), users whose neighbours rated only what they
    rated: the array scorer returns the rows, scores and ranks of the joins it replaced."""
    import random

    from recsys.neighbors.knn import NEIGHBORS_SCHEMA

    rnd = random.Random(3)
    ratings = _random_ratings(spark, seed=7)
    schema = StructType([StructField(C.USER_ID, IntegerType(), False), *NEIGHBORS_SCHEMA[1:]])
    rows = [
        (u, v, rnd.randint(1, 3) / 8.0, 1, 1)
        for u in range(1, 56)  # users 56-60 have no neighbours
        for v in rnd.sample([x for x in range(1, 61) if x != u], 5)
    ]
    neighbors = spark.createDataFrame(rows, schema)
    actual = userknn_scores(ratings, neighbors, n=4, candidate_pop=candidate_pop)
    expected = _userknn_by_definition(ratings, neighbors, 4, candidate_pop)
    _assert_same_rows(actual, expected)


def test_userknn_scores_join_nothing(ratings, capsys):
    """The neighbours' movies come from the broadcast rating matrix, never from a join of the
    users x k neighbour rows (adaptive execution once broadcast those rows, 16M at 10M ratings,
    and overflowed the driver; a shuffle join moved 2.3G movie ids)."""
    scores = userknn_scores(ratings, user_neighbors(ratings, COSINE), n=2)
    assert scores.collect()  # the adaptive plan is final once run
    scores.explain()
    plan = capsys.readouterr().out
    assert "isFinalPlan=true" in plan
    assert "FlatMapGroupsInPandas" in plan
    assert "Join" not in plan


def test_cooccurrences_count_the_same_with_a_dense_index_and_with_slots():
    """Keys whose members outnumber the keys are counted over the dense key index, the others
    through scratch slots (no pass over every key per key); both give the self-join's sums
    and counts, and the scratch is left clean for the next key. A repeated pair counts once."""
    import numpy as np
    import pandas as pd

    from recsys.neighbors.knn import _KEY, _VIA, LinkIndex

    rng = np.random.default_rng(5)
    # 400 keys: keys 0-9 link to 30 busy vias (hundreds of members: dense), the rest to 1-3
    # of 200 quiet vias (a few members each: slots)
    busy = [(k, v) for k in range(10) for v in range(30)] + [
        (k, v) for v in range(30) for k in rng.choice(np.arange(10, 400), 25, replace=False)
    ]
    quiet = [(k, 100 + v) for k in range(10, 400) for v in rng.choice(200, 2, replace=False)]
    given = pd.DataFrame(busy + quiet + busy[:40], columns=[_KEY, _VIA])  # repeats count once
    index = LinkIndex.build(given.assign(_hash=given[_KEY] * 7919 % 1000), 0.7, cap=10**9)
    pairs = given.drop_duplicates()
    size = pairs.groupby(_VIA)[_KEY].transform("size")
    pairs = pairs.assign(w=size.astype(float) ** -0.7)
    both = pairs.merge(pairs[[_KEY, _VIA]].rename(columns={_KEY: "other"}), on=_VIA)
    both = both[both[_KEY] != both["other"]]
    expected = both.groupby([_KEY, "other"]).agg(cw=("w", "sum"), support=("w", "size"))
    slot = np.full(len(index.key_ids), -1, np.int64)
    for me in range(len(index.key_ids)):
        other, cw, support = index.cooccurrences(me, slot)
        mine = expected.loc[index.key_ids[me]]
        order = np.argsort(other)
        assert index.key_ids[other[order]].tolist() == mine.index.tolist()
        np.testing.assert_allclose(cw[order], mine["cw"], rtol=1e-12)
        assert support[order].tolist() == mine["support"].tolist()
        assert (slot == -1).all()
