"""ALS: known-answer cases (planted low-rank matrix, an obvious favourite, no rated movie in the
candidates), output schemas, and one end-to-end run of train-als on ml-100k."""

from __future__ import annotations

import random

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from recsys import columns as C
from recsys.als import (
    CANDIDATES,
    FACTORS,
    ALSConfig,
    ALSConfigError,
    fit,
)
from recsys.evaluation import rating_metrics
from tests import _frames as fr
from tests._paths import movielens_zip


def _planted(spark, n_users=40, n_items=30, seed=3):
    """Ratings 3 + u.v with rank-2 factors; 75% of cells observed, the rest held out."""
    rnd = random.Random(seed)
    users = [[rnd.uniform(-1, 1) for _ in range(2)] for _ in range(n_users)]
    items = [[rnd.uniform(-1, 1) for _ in range(2)] for _ in range(n_items)]
    train, test = [], []
    for u in range(n_users):
        for i in range(n_items):
            r = 3.0 + sum(a * b for a, b in zip(users[u], items[i], strict=True))
            (train if rnd.random() < 0.75 else test).append((u + 1, i + 1, r))
    return fr.ratings(spark, train), fr.ratings(spark, test)


def test_planted_low_rank_matrix_is_recovered(spark):
    train, test = _planted(spark)
    # "predict 3 everywhere" scores about 0.5 here; 3 + u.v is a rank-3 matrix
    plain = fit(train, ALSConfig(mode="explicit", rank=3, reg_param=0.01, max_iter=15,
                                 biases=False, num_blocks=2))  # fmt: skip
    assert rating_metrics(plain.predict(test))["rmse"] < 0.1
    biased = fit(train, ALSConfig(mode="explicit", rank=4, reg_param=0.01, max_iter=15,
                                  num_blocks=2, user_damping=0, item_damping=0))  # fmt: skip
    m = rating_metrics(biased.predict(test))
    assert m["rmse"] < 0.1
    assert m["n_scored"] == test.count()
    # the augmented factors hold the biases: a plain dot product is the full prediction
    assert biased.model.rank == 6
    assert len(biased.user_factors.first()[C.FEATURES]) == 6


def test_explicit_predicts_unknown_users_from_biases(spark):
    train, _ = _planted(spark, n_users=10, n_items=10)
    fitted = fit(train, ALSConfig(mode="explicit", rank=2, max_iter=3, num_blocks=1))
    pairs = spark.createDataFrame([(999, 1), (999, 999)], "user_id int, movie_id int")
    got = {r[C.MOVIE_ID]: r[C.PREDICTION] for r in fitted.predict(pairs).collect()}
    item_bias = fitted.item_bias.filter(F.col(C.MOVIE_ID) == 1).first()["_bias"]
    assert got[999] == pytest.approx(fitted.global_mean)
    assert got[1] == pytest.approx(fitted.global_mean + item_bias)


def test_explicit_predictions_are_clipped_to_the_training_scale(spark):
    from recsys.als._model import FittedALS, model_from_factors

    factors = "id int, features array<float>"
    users = spark.createDataFrame([(1, [3.0, 1.0])], factors)
    items = spark.createDataFrame([(1, [2.0, 1.0]), (2, [-2.0, 0.0])], factors)
    model = model_from_factors(spark, 2, users, items)
    config = ALSConfig(mode="explicit", biases=False)
    pairs = spark.createDataFrame([(1, 1), (1, 2)], "user_id int, movie_id int")

    def predictions(fitted: FittedALS) -> dict[int, float]:
        return {r[C.MOVIE_ID]: r[C.PREDICTION] for r in fitted.predict(pairs).collect()}

    assert predictions(FittedALS(config, model, 0.0)) == {1: 7.0, 2: -6.0}
    assert predictions(FittedALS(config, model, 0.0, rating_range=(1.0, 5.0))) == {1: 5.0, 2: 1.0}
    train, _ = _planted(spark, n_users=10, n_items=10)
    fitted = fit(train, ALSConfig(mode="explicit", rank=2, max_iter=3, num_blocks=1))
    lo, hi = train.agg(F.min(C.RATING), F.max(C.RATING)).first()
    assert fitted.rating_range == pytest.approx((lo, hi))


def _blocks(spark):
    """Two tastes: users 1-10 watch movies 1-5, users 11-20 movies 6-10; each user misses
    exactly one movie of their block (user u misses movie (u-1) % 5 + block start)."""
    rows = []
    for u in range(1, 21):
        start = 1 if u <= 10 else 6
        missing = start + (u - 1) % 5
        rows += [(u, m, 4.0) for m in range(start, start + 5) if m != missing]
    # a heavy user who rated almost everything but movie 12: one unrated movie to offer
    rows += [(21, m, 3.0) for m in range(1, 12)] + [(21, 13, 3.0)]
    return fr.ratings(spark, rows)


def test_implicit_ranks_the_obvious_movie_first(spark):
    ratings = _blocks(spark).union(
        fr.ratings(spark, [(u, m, 1.0) for u in (1, 11) for m in (11, 12, 13)])
    )
    fitted = fit(ratings, ALSConfig(mode="implicit", rank=4, reg_param=0.05, alpha=10.0,
                                    max_iter=10, num_blocks=2))  # fmt: skip
    recs = fitted.candidates(ratings, n=3).persist()
    firsts = {r[C.USER_ID]: r[C.MOVIE_ID] for r in recs.filter(F.col(C.RANK) == 1).collect()}
    for u in range(2, 11):  # user 1 and 11 also saw 11-13; skip them
        assert firsts[u] == 1 + (u - 1) % 5, u
    for u in range(12, 21):
        assert firsts[u] == 6 + (u - 1) % 5, u
    assert firsts[21] == 12  # the only movie user 21 has not rated
    counts = dict(recs.groupBy(C.USER_ID).count().collect())
    assert counts[21] == 1 and all(counts[u] == 3 for u in range(1, 21))
    assert_df_equality(
        spark.createDataFrame([], CANDIDATES).drop(C.RUN_ID),
        recs.limit(0),
        ignore_nullable=True,
    )


def test_config_rejects_bad_values():
    with pytest.raises(ALSConfigError):
        ALSConfig(mode="bpr")
    with pytest.raises(ALSConfigError):
        ALSConfig.from_dict({"rank": 4, "ranks": 5})
    cfg = ALSConfig(mode="explicit", rank=7)
    assert ALSConfig.from_dict(cfg.to_dict()) == cfg


@pytest.mark.integration
def test_train_als_end_to_end_on_ml_100k(spark, lake, ctx):
    from recsys.cli import build_parser
    from recsys.cli import train_als as job
    from recsys.jobs.ingest import ingest

    ingest(spark, lake, str(movielens_zip("ml-100k")))
    argv = ["train-als", "--mode", "implicit", "--rank", "4,8", "--max-iter", "3",
            "--alpha", "5", "--top-n", "5", "--dataset", "ml-100k", "--run-id", "e2e",
            "--num-blocks", "2", "--no-baselines"]  # fmt: skip
    args = build_parser("train-als").parse_args(argv)
    assert job.run(args, ctx) == 0

    candidates = lake.read(C.T_ALS_CANDIDATES)
    assert_df_equality(
        candidates.limit(0), spark.createDataFrame([], CANDIDATES), ignore_nullable=True
    )
    assert candidates.groupBy(C.USER_ID).count().filter("count != 5").count() == 0
    ratings = lake.read(C.T_RATINGS)
    assert candidates.join(ratings, [C.USER_ID, C.MOVIE_ID]).count() == 0
    types = [(f.name, f.dataType.simpleString()) for f in FACTORS.fields]
    assert [(f.name, f.dataType.simpleString()) for f in lake.schema(C.T_ALS_USER_FACTORS)] == types
    assert lake.read(C.T_ALS_ITEM_FACTORS).count() == 1682
    search = lake.read(C.T_ALS_SEARCH)
    assert search.count() == 2 and search.filter("chosen").count() == 1
    metrics = {r[C.METRIC]: r[C.VALUE] for r in lake.read(C.T_METRICS).collect()}
    assert metrics["users"] == 943
    assert metrics["ndcg"] > 0.2  # most-popular is 0.25; even a 3-sweep rank-8 model is close
    runs = lake.read("runs").filter(F.col(C.RUN_ID) == "e2e").first()
    assert runs["status"] == "succeeded"
    assert runs["output_versions"][C.T_ALS_CANDIDATES] == 0


def test_model_from_factors_sets_its_columns_on_the_jvm_model(spark):
    """Regression (explicit train-als crashed at its last step): the bias-augmented model is
    built through the JVM constructor, and ``recommendForUserSubset`` goes straight to the Java
    object, so columns set only on the Python wrapper raised 'Failed to find a default value
    for userCol' unless a ``transform`` had happened to copy them over first."""
    from recsys.als._model import model_from_factors

    factors = "id int, features array<float>"
    users = spark.createDataFrame([(1, [1.0, 0.0])], factors)
    items = spark.createDataFrame([(1, [2.0, 0.0]), (2, [1.0, 0.0])], factors)
    model = model_from_factors(spark, 2, users, items)
    subset = spark.createDataFrame([(1,)], f"{C.USER_ID} int")
    recs = model.recommendForUserSubset(subset, 2).select(C.USER_ID, "recommendations")
    row = recs.first()
    assert row[C.USER_ID] == 1
    assert [(r[C.MOVIE_ID], r["rating"]) for r in row["recommendations"]] == [(1, 2.0), (2, 1.0)]


def test_train_als_explicit_job_end_to_end_and_the_saved_model_predicts(spark, lake, ctx):
    """`recsys train-als --mode explicit` writes every output, and the model it saves loads back
    with its columns (saved from the JVM object's params) and scores pairs and users."""
    from pyspark.ml.recommendation import ALSModel

    from recsys.cli import build_parser
    from recsys.cli import train_als as job
    from recsys.jobs.train_als import model_path

    train, _ = _planted(spark, n_users=30, n_items=20)
    ratings = train.withColumn(C.RATED_AT, F.lit(None).cast("timestamp"))
    lake.overwrite(C.T_RATINGS, ratings)
    argv = ["train-als", "--mode", "explicit", "--rank", "2", "--max-iter", "3", "--top-n", "3",
            "--run-id", "explicit-e2e", "--num-blocks", "2", "--no-baselines"]  # fmt: skip
    args = build_parser("train-als").parse_args(argv)
    assert job.run(args, ctx) == 0

    candidates = lake.read(C.T_ALS_CANDIDATES)
    unrated = {r[C.USER_ID]: 20 - r["count"] for r in ratings.groupBy(C.USER_ID).count().collect()}
    got = dict(candidates.groupBy(C.USER_ID).count().collect())
    assert got == {u: min(3, n) for u, n in unrated.items() if n > 0}
    assert candidates.join(ratings, [C.USER_ID, C.MOVIE_ID], "left_semi").count() == 0
    assert lake.read(C.T_ALS_USER_FACTORS).count() == 30
    assert len(lake.read(C.T_ALS_ITEM_FACTORS).first()[C.FEATURES]) == 4  # rank 2 + 2 biases
    metrics = {r[C.METRIC]: r[C.VALUE] for r in lake.read(C.T_METRICS).collect()}
    assert metrics["rmse"] < 1.0
    assert lake.read("runs").filter(F.col(C.RUN_ID) == "explicit-e2e").first()["status"] == (
        "succeeded"
    )

    loaded = ALSModel.load(model_path(lake, "explicit-e2e"))
    pairs = spark.createDataFrame([(1, 1), (2, 3)], f"{C.USER_ID} int, {C.MOVIE_ID} int")
    scored = loaded.transform(pairs).collect()
    assert len(scored) == 2 and all(r[C.PREDICTION] == r[C.PREDICTION] for r in scored)  # no NaN
    top = loaded.recommendForUserSubset(pairs.select(C.USER_ID), 2).collect()
    assert sorted(r[C.USER_ID] for r in top) == [1, 2]


def test_candidates_only_writes_no_model_or_factor_tables(spark, lake, ctx):
    """`--candidates-only` (what the evaluate stage's scoring run passes) writes the candidates
    the blend reads and nothing a server would load."""
    from pathlib import Path

    from recsys.cli import build_parser
    from recsys.cli import train_als as job
    from recsys.jobs.train_als import model_path

    train, _ = _planted(spark, n_users=20, n_items=12)
    lake.overwrite(C.T_RATINGS, train.withColumn(C.RATED_AT, F.lit(None).cast("timestamp")))
    argv = ["train-als", "--rank", "2", "--max-iter", "2", "--top-n", "3", "--split", "none",
            "--run-id", "scoring", "--num-blocks", "2", "--candidates-only"]  # fmt: skip
    assert job.run(build_parser("train-als").parse_args(argv), ctx) == 0
    assert lake.read(C.T_ALS_CANDIDATES).count() > 0
    assert not lake.exists(C.T_ALS_USER_FACTORS) and not lake.exists(C.T_ALS_ITEM_FACTORS)
    assert not Path(model_path(lake, "scoring")).exists()


def test_top_n_is_the_exact_top_of_the_dot_products(spark):
    """Hand-set factors with tied scores: every user's n best unrated movies by dot product,
    ties to the smaller movie id; a user the model does not know gets nothing."""
    from recsys.als import FittedALS, model_from_factors

    factors = "id int, features array<float>"
    users = spark.createDataFrame([(1, [1.0, 0.0]), (2, [0.0, 1.0]), (3, [1.0, 1.0])], factors)
    items = spark.createDataFrame(
        [(1, [2.0, 0.0]), (2, [1.0, 0.0]), (3, [1.0, 0.0]), (4, [0.0, 3.0]), (5, [0.0, 0.5])],
        factors,
    )
    fitted = FittedALS(ALSConfig(), model_from_factors(spark, 2, users, items), fit_s=0.0)
    rated = fr.ratings(spark, [(1, 1, 4.0), (2, 4, 4.0), (3, 5, 4.0), (4, 1, 4.0)])
    got = {
        (r[C.USER_ID], r[C.RANK]): (r[C.MOVIE_ID], r[C.SCORE])
        for r in fitted.candidates(rated, n=3).collect()
    }
    assert got == {
        (1, 1): (2, 1.0), (1, 2): (3, 1.0), (1, 3): (4, 0.0),
        (2, 1): (5, 0.5), (2, 2): (1, 0.0), (2, 3): (2, 0.0),
        (3, 1): (4, 3.0), (3, 2): (1, 2.0), (3, 3): (2, 1.0),
    }  # fmt: skip
    subset = spark.createDataFrame([(3,), (4,), (9,)], f"{C.USER_ID} int")
    only = fitted.candidates(rated, n=1, users=subset).collect()
    assert [(r[C.USER_ID], r[C.MOVIE_ID]) for r in only] == [(3, 4)]
