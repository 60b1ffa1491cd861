"""Evaluation module: splits, metrics on hand-computed cases, baselines, the metrics table."""

from __future__ import annotations

import math

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, StringType

from recsys import columns as C
from recsys.evaluation import (
    METRICS_SCHEMA,
    SplitError,
    beyond_accuracy_metrics,
    evaluate_models,
    evaluate_recs,
    format_metrics,
    metrics_rows,
    most_popular,
    random_recs,
    random_split,
    ranking_metrics,
    rating_metrics,
    stratified_split,
    temporal_split,
)
from recsys.jobs import write_metrics
from recsys.schemas import RECS
from tests import _frames as fr

# ---------------------------------------------------------------- ranking metrics (hand-made)


def test_ranking_metrics_hand_computed(spark):
    k = 3
    test = fr.pairs(
        spark,
        [(1, 10), (1, 20), (1, 30), (2, 40), (3, 50), (3, 60)]
        + [(5, m) for m in (1, 2, 3, 4, 5)]
        + [(6, 80)],
    )
    recs = fr.recs(
        spark,
        [
            *[(1, 10, 1), (1, 99, 2), (1, 30, 3), (1, 20, 4)],  # hits at 1, 3; rank 4 > k
            *[(2, 41, 1), (2, 40, 2)],  # fewer than k recs, hit at 2
            (3, 70, 1),  # no hit
            (4, 10, 1),  # no test rows: not evaluated
            *[(5, 1, 1), (5, 7, 2), (5, 2, 3)],  # 5 relevant > k
            # user 6 has test rows and no recommendations: counts as 0
        ],
    )
    ln = math.log
    ideal = [sum(1 / ln(1 + i) for i in range(1, n + 1)) for n in range(5)]
    dcg13 = 1 / ln(2) + 1 / ln(4)
    per_user = {  # user: (precision, recall, ndcg, map, map_rel, hit)
        1: (2 / 3, 2 / 3, dcg13 / ideal[3], (1 + 2 / 3) / 3, (1 + 2 / 3) / 3, 1),
        2: (1 / 3, 1.0, (1 / ln(3)) / ideal[1], 0.5, 0.5, 1),
        3: (0, 0, 0, 0, 0, 0),
        5: (2 / 3, 2 / 5, dcg13 / ideal[3], (1 + 2 / 3) / 3, (1 + 2 / 3) / 5, 1),
        6: (0, 0, 0, 0, 0, 0),
    }
    names = ["precision", "recall", "ndcg", "map", "map_rel", "hit_rate"]
    expected = {n: sum(v[i] for v in per_user.values()) / 5 for i, n in enumerate(names)}

    got = ranking_metrics(recs, test, k=k)

    assert got["users"] == 5
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, abs=1e-12), name


def test_ranking_metrics_perfect_and_empty(spark):
    test = fr.pairs(spark, [(1, 1), (1, 2)])
    perfect = ranking_metrics(fr.recs(spark, [(1, 2, 1), (1, 1, 2)]), test, k=10)
    assert perfect["ndcg"] == pytest.approx(1.0)
    assert perfect["recall"] == pytest.approx(1.0)
    assert perfect["precision"] == pytest.approx(0.2)
    none = ranking_metrics(spark.createDataFrame([], RECS), test, k=10)
    assert none["ndcg"] == 0.0 and none["users"] == 1


def test_rating_metrics_skip_missing_predictions(spark):
    schema = "rating double, prediction double"
    df = spark.createDataFrame([(4.0, 3.0), (2.0, 4.0), (5.0, None), (1.0, float("nan"))], schema)
    got = rating_metrics(df)
    assert got["rmse"] == pytest.approx(math.sqrt((1 + 4) / 2))
    assert got["mae"] == pytest.approx(1.5)
    assert got["n_scored"] == 2


def test_beyond_accuracy_hand_computed(spark):
    # train popularity: movie 1 (3 ratings) > 2 (2) > 3 (1) = 4 (1) ; ranks 1, 2, 3, 3
    train = fr.ratings(
        spark,
        [(u, 1, 4, 0) for u in (1, 2, 3)]
        + [(1, 2, 4, 0), (2, 2, 4, 0), (1, 3, 4, 0), (2, 4, 3, 0)],
    )
    recs = fr.recs(spark, [(1, 1, 1), (1, 2, 2), (1, 3, 3), (2, 1, 1), (2, 5, 2)])
    movies = spark.createDataFrame(
        [(1, ["a", "b"]), (2, ["b"]), (3, ["c"]), (5, ["a", "b"])],
        "movie_id int, genres array<string>",
    )
    got = beyond_accuracy_metrics(recs, train, movies=movies, k=3)
    assert got["coverage"] == pytest.approx(4 / 4)  # movies 1, 2, 3, 5 / 4 train movies
    assert got["novelty"] == pytest.approx((1 + 2 + 3 + 1 + 5) / 5)  # unseen movie 5 -> 4 + 1
    # user 1: d(1,2) = 1 - 1/2, d(1,3) = 1, d(2,3) = 1 ; user 2: d(1,5) = 0
    assert got["diversity"] == pytest.approx(((0.5 + 1 + 1) / 3 + 0.0) / 2)
    # k cuts the list: only rank 1 counts
    assert beyond_accuracy_metrics(recs, train, k=1)["coverage"] == pytest.approx(1 / 4)


def test_evaluate_models_scores_each_model_as_alone(spark):
    """The grouped pass over several models gives each model exactly its one-model numbers;
    a model with no recommendations gets zeros, not a missing row."""
    train = fr.ratings(spark, [(u, m, 4, 0) for u in (1, 2, 3) for m in range(1, u + 3)])
    test = fr.pairs(spark, [(1, 5), (1, 6), (2, 1), (3, 7), (4, 2)])
    movies = spark.createDataFrame(
        [(m, [["a", "b"], ["b"], ["c"]][m % 3]) for m in range(1, 8)],
        "movie_id int, genres array<string>",
    )
    recs = {
        "a": fr.recs(spark, [(1, 5, 1), (1, 2, 2), (1, 6, 3), (2, 3, 1), (3, 7, 2), (3, 1, 1)]),
        "b": fr.recs(spark, [(1, 6, 1), (2, 1, 1), (2, 4, 2), (4, 2, 3), (4, 3, 1)]),
        "empty": spark.createDataFrame([], RECS),
    }
    got = evaluate_models(recs, train, test, movies=movies, k=2)
    assert list(got) == list(recs)  # the caller's order, whatever order Spark returns rows in
    for name, df in recs.items():
        alone = evaluate_recs(df, train, test, movies=movies, k=2)
        assert got[name] == pytest.approx(alone), name
    assert got["a"] != pytest.approx(got["b"])
    assert got["empty"]["ndcg"] == 0.0 and got["empty"]["users"] == 4
    assert got["empty"]["coverage"] == 0.0


# ---------------------------------------------------------------------------------- splits


def _many_ratings(spark):
    rows = [(u, m, 1 + (u * m) % 5, m) for u in range(1, 31) for m in range(1, u + 1)]
    return fr.ratings(spark, rows)  # user u has u ratings


def test_stratified_split_properties(spark):
    ratings = _many_ratings(spark)
    train, test = stratified_split(ratings, ratio=0.75, seed=42, min_ratings=2)
    key = [C.USER_ID, C.MOVIE_ID]
    assert train.join(test, key).count() == 0
    assert_df_equality(
        train.unionByName(test), ratings, ignore_row_order=True, ignore_nullable=True
    )
    n_train = dict(train.groupBy(C.USER_ID).count().collect())
    for u in range(1, 31):
        assert n_train.get(u, 0) == round(0.75 * u), u  # Python rounds half to even, like MS
    # deterministic and independent of partitioning
    again, _ = stratified_split(ratings.repartition(7).orderBy(F.rand(3)), 0.75, seed=42)
    assert_df_equality(train, again, ignore_row_order=True, ignore_nullable=True)
    other, _ = stratified_split(ratings, 0.75, seed=7)
    assert other.exceptAll(train).count() > 0


def test_stratified_split_keeps_small_users_in_train(spark):
    ratings = _many_ratings(spark)
    train, test = stratified_split(ratings, ratio=0.5, seed=1, min_ratings=5)
    assert test.filter(F.col(C.USER_ID) < 5).count() == 0
    assert train.filter(F.col(C.USER_ID) == 4).count() == 4
    assert test.filter(F.col(C.USER_ID) == 5).count() == 3  # train: round(2.5) == 2
    with pytest.raises(SplitError):
        stratified_split(ratings, ratio=1.0)


def test_random_split_disjoint_and_deterministic(spark):
    ratings = _many_ratings(spark)
    train, test = random_split(ratings, 0.75, seed=3)
    assert train.count() + test.count() == ratings.count()
    assert train.join(test, [C.USER_ID, C.MOVIE_ID]).count() == 0
    again, _ = random_split(ratings.repartition(5), 0.75, seed=3)
    assert_df_equality(train, again, ignore_row_order=True, ignore_nullable=True)


def test_temporal_split_holds_out_latest(spark):
    # user 1 rated movies 1..5 on days 1..5; user 2 rated one movie
    ratings = fr.ratings(spark, [(1, m, 3, m) for m in range(1, 6)] + [(2, 9, 4, 1)])
    _, test = temporal_split(ratings, holdout=2)
    assert sorted(r[C.MOVIE_ID] for r in test.collect()) == [4, 5]  # user 2 keeps its only one
    train, test = temporal_split(ratings, holdout=0.2)
    assert [r[C.MOVIE_ID] for r in test.collect()] == [5]
    assert train.count() == 5


# ------------------------------------------------------------------------------- baselines


def test_most_popular_excludes_rated_and_orders_by_popularity(spark):
    # popularity by count: 1 (4) > 2 (3) > 3 (2) > 4 (1)
    rows = [(u, 1, 2, 0) for u in (1, 2, 3, 4)] + [(u, 2, 5, 0) for u in (1, 2, 3)]
    rows += [(u, 3, 5, 0) for u in (2, 3)] + [(2, 4, 5, 0)]
    train = fr.ratings(spark, rows)
    users = spark.createDataFrame([(1,), (9,)], "user_id int")
    got = most_popular(train, users, k=2).select(C.USER_ID, C.MOVIE_ID, C.RANK)
    expected = spark.createDataFrame(
        [(1, 3, 1), (1, 4, 2), (9, 1, 1), (9, 2, 2)], "user_id int, movie_id int, rank int"
    )
    assert_df_equality(got, expected, ignore_row_order=True, ignore_nullable=True)
    # damped mean: mu = 38/10 = 3.8 ; movie 1: (8 + 3.8) / 5 = 2.36 ; 2: (15 + 3.8) / 4 = 4.7
    # 3: (10 + 3.8) / 3 = 4.6 ; 4: (5 + 3.8) / 2 = 4.4  -> order 2, 3, 4, 1
    damped = most_popular(train, users, k=4, by="damped_mean", damping=1.0)
    user9 = damped.filter(F.col(C.USER_ID) == 9).orderBy(C.RANK).collect()
    assert [r[C.MOVIE_ID] for r in user9] == [2, 3, 4, 1]
    assert user9[0][C.SCORE] == pytest.approx(4.7)


def test_random_recs_exclude_rated_and_are_seeded(spark):
    ratings = _many_ratings(spark)
    users = ratings.select(C.USER_ID).distinct()
    recs = random_recs(ratings, users, k=5, seed=1)
    assert recs.join(ratings, [C.USER_ID, C.MOVIE_ID]).count() == 0
    per_user = dict(recs.groupBy(C.USER_ID).count().collect())
    assert per_user[1] == 5 and per_user[25] == 5  # 30 movies, 25 rated: exactly 5 left
    assert_df_equality(recs, random_recs(ratings, users, k=5, seed=1), ignore_row_order=True)
    assert random_recs(ratings, users, k=5, seed=2).exceptAll(recs).count() > 0


# --------------------------------------------------------------------------- metrics table


def test_metrics_rows_write_and_format(spark, lake):
    values = {"ndcg": 0.25, "map": 0.1}
    rows = metrics_rows("run-1", "tiny", "stratified", "most-popular", {"by": "count"}, values, 10)
    assert rows.schema == METRICS_SCHEMA
    write_metrics(lake, rows)
    write_metrics(lake, metrics_rows("run-2", "tiny", "stratified", "als", None, {"ndcg": 0.5}, 10))
    stored = lake.read(C.T_METRICS)
    assert stored.count() == 3
    assert stored.filter(F.col(C.PARAMS) == '{"by": "count"}').count() == 2
    text = format_metrics(stored.orderBy(C.RUN_ID, C.METRIC))
    lines = text.splitlines()
    assert lines[0].split() == ["dataset", "split", "model", "k", "ndcg", "map"]
    assert lines[2].split() == ["tiny", "stratified", "most-popular", "10", "0.2500", "0.1000"]
    assert lines[3].split() == ["tiny", "stratified", "als", "10", "0.5000", "-"]


def test_genres_schema_is_what_movies_table_holds():
    # diversity reads movies.genres as array<string>, the ingest schema
    from recsys.schemas import MOVIES

    assert isinstance(MOVIES[C.GENRES].dataType, ArrayType)
    assert MOVIES[C.GENRES].dataType.elementType == StringType()
