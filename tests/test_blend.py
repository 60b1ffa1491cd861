"""Blend, cold start, reasons and the MMR re-rank on small hand-made frames."""

from __future__ import annotations

import numpy as np
import pytest
from chispa import assert_approx_df_equality, assert_df_equality
from pyspark.sql.types import (
    DoubleType,
    IntegerType,
    StringType,
    StructField,
    StructType,
)

from recsys import columns as C
from recsys.blend import (
    BlendWeights,
    Bucket,
    GenreBits,
    attach_reasons,
    because_sentence,
    blend,
    blend_user,
    cold_start,
    explain_user,
    mmr_rerank,
    movie_popularity,
    normalize_per_user,
)
from tests import _frames as fr
from tests._frames import SCORED

TITLES = {
    1: ("Heat (1995)", ["Action", "Crime"]),
    2: ("Toy Story (1995)", ["Animation", "Comedy"]),
    3: ("Casino (1995)", ["Crime", "Drama"]),
    4: ("Babe (1995)", ["Comedy", "Drama"]),
    5: ("Se7en (1995)", ["Crime", "Thriller"]),
    6: ("Clueless (1995)", ["Comedy"]),
    7: ("New Movie (2024)", ["Drama"]),
}


@pytest.fixture(scope="module")
def movies(spark):
    return fr.movies(spark, [(m, t, g) for m, (t, g) in TITLES.items()])


def test_normalize_minmax_rank_zscore(spark):
    df = fr.scored(spark, [(1, 1, 2.0), (1, 2, 4.0), (1, 3, 10.0), (2, 1, 7.0)])
    out = StructType([*SCORED.fields, StructField("n", DoubleType(), True)])
    expected = {
        # user 2 has one candidate: min = max -> 1 (minmax, rank), 0.5 (zscore)
        "minmax": [0.0, 0.25, 1.0, 1.0],
        "rank": [1 / 3, 2 / 3, 1.0, 1.0],
        "zscore": None,
    }
    for method, values in expected.items():
        actual = normalize_per_user(df, out_col="n", method=method)
        if values is None:
            z = np.array([2.0, 4.0, 10.0])
            z = (z - z.mean()) / z.std()
            values = [*(1 / (1 + np.exp(-z))), 0.5]
        rows = [(1, 1, 2.0), (1, 2, 4.0), (1, 3, 10.0), (2, 1, 7.0)]
        exp = spark.createDataFrame(
            [(*r, float(v)) for r, v in zip(rows, values, strict=False)], out
        )
        assert_approx_df_equality(
            actual, exp, precision=1e-9, ignore_row_order=True, ignore_nullable=True
        )
    with pytest.raises(ValueError):
        normalize_per_user(df, method="bogus")


WEIGHTS = BlendWeights(
    (
        Bucket("1-5", 5, {"content": 1.0, "als": 0.0}),
        Bucket(">5", None, {"als": 0.8, "content": 0.2}),
    )
)


def test_blend_weights_follow_history_bucket_and_exclude_rated(spark):
    # user 1 rated 2 movies (bucket 1-5), user 2 rated 6 (bucket >5)
    ratings = fr.ratings(
        spark, [(1, 100, 4.0), (1, 101, 3.0)] + [(2, 100 + i, 4.0) for i in range(6)]
    )
    als = fr.scored(
        spark, [(u, 1, 9.0) for u in (1, 2)] + [(u, 2, 1.0) for u in (1, 2)] + [(1, 100, 50.0)]
    )
    content = fr.scored(spark, [(u, 2, 0.9) for u in (1, 2)] + [(u, 1, 0.1) for u in (1, 2)])
    actual = blend({"als": als, "content": content}, ratings, WEIGHTS, n=2).select(
        C.USER_ID, C.MOVIE_ID, C.RANK, C.SCORE, C.HISTORY_BUCKET
    )
    schema = StructType(
        [
            StructField(C.USER_ID, IntegerType()),
            StructField(C.MOVIE_ID, IntegerType()),
            StructField(C.RANK, IntegerType()),
            StructField(C.SCORE, DoubleType()),
            StructField(C.HISTORY_BUCKET, StringType()),
        ]
    )
    # user 1 rated 100: it is dropped before normalising, so ALS {1: 9, 2: 1} -> 1, 0.
    # Content-led bucket: movie 2 (content 1) first. User 2: ALS-led, movie 1 first.
    expected = spark.createDataFrame(
        [
            (1, 2, 1, 1.0, "1-5"),
            (1, 1, 2, 0.0, "1-5"),
            (2, 1, 1, 0.8, ">5"),
            (2, 2, 2, 0.2, ">5"),
        ],
        schema,
    )
    assert_approx_df_equality(
        actual, expected, precision=1e-9, ignore_row_order=True, ignore_nullable=True
    )


def _relational_blend(sources, ratings, weights, n, method):
    """The blend's definition in Spark SQL terms (what :func:`blend` computes in numpy)."""
    from recsys.blend import assign_buckets, blend_scores, combine_candidates, history_sizes
    from recsys.candidates import top_n_unrated

    rated = ratings.select(C.USER_ID, C.MOVIE_ID)
    kept = {k: df.join(rated, [C.USER_ID, C.MOVIE_ID], "left_anti") for k, df in sources.items()}
    bucketed = assign_buckets(history_sizes(ratings), weights)
    return top_n_unrated(blend_scores(combine_candidates(kept, method), bucketed), n)


@pytest.mark.parametrize("method", ["minmax", "rank", "zscore"])
def test_blend_equals_its_relational_definition(spark, method):
    """Random sources with tied scores, a duplicate candidate, because ids on the explaining
    sources, a rated movie proposed, users without ratings (dropped), every bucket used."""
    from recsys.blend import DEFAULT_WEIGHTS, SOURCES

    rng = np.random.default_rng(7)
    ratings = fr.ratings(
        spark,
        [
            (u, int(m), float(rng.integers(1, 6)))
            for u in range(1, 26)
            for m in rng.choice(40, size=int(rng.choice([1, 3, 8, 25])), replace=False)
        ],
    )
    because_schema = StructType([*SCORED.fields, StructField(C.BECAUSE_MOVIE_ID, IntegerType())])
    sources = {}
    for name in SOURCES:
        rows = [
            (u, int(m), round(float(rng.normal()), 1), int(rng.integers(0, 40)))
            for u in range(1, 31)
            for m in rng.choice(40, size=int(rng.integers(1, 15)), replace=False)
        ]
        rows.append((*rows[0][:2], rows[0][2] + 1.0, rows[0][3]))  # a duplicate (user, movie)
        if name in ("itemknn", "ease", "content"):
            rows = [(*r[:3], None if r[3] % 3 == 0 else r[3]) for r in rows]
            sources[name] = spark.createDataFrame(rows, because_schema)
        else:
            sources[name] = fr.scored(spark, [r[:3] for r in rows])
    actual = blend(sources, ratings, DEFAULT_WEIGHTS, n=7, method=method)
    expected = _relational_blend(sources, ratings, DEFAULT_WEIGHTS, 7, method)
    assert actual.columns == expected.columns
    assert_approx_df_equality(
        actual.orderBy(C.USER_ID, C.RANK),
        expected.select(*actual.columns).orderBy(C.USER_ID, C.RANK),
        precision=1e-12,
        ignore_nullable=True,
    )
    assert actual.select(C.HISTORY_BUCKET).distinct().count() == 3
    # the serving fold-in's one-user blend is the same computation
    got, rated = actual.toPandas(), ratings.toPandas()
    offered = {s: f.toPandas() for s, f in sources.items()}
    for user in (1, 2, 5, 9):
        mine = {s: f[f[C.USER_ID] == user] for s, f in offered.items()}
        one = blend_user(rated[rated[C.USER_ID] == user][C.MOVIE_ID].to_numpy(), mine,
                         DEFAULT_WEIGHTS, 7, method)  # fmt: skip
        want = got[got[C.USER_ID] == user].sort_values(C.RANK)
        assert one[C.MOVIE_ID].tolist() == want[C.MOVIE_ID].tolist()
        assert one[C.SCORE] == pytest.approx(want[C.SCORE].to_numpy(), abs=1e-12)
        assert one[C.HISTORY_BUCKET].tolist() == want[C.HISTORY_BUCKET].tolist()
        wanted = want[C.BECAUSE_MOVIE_ID].to_numpy(np.float64)
        assert np.array_equal(one[C.BECAUSE_MOVIE_ID], wanted, equal_nan=True)


def test_blend_user_without_candidates_is_empty():
    from recsys.blend import DEFAULT_WEIGHTS

    for sources in ({}, {"als": {C.MOVIE_ID: np.array([1]), C.SCORE: np.array([0.5])}}):
        out = blend_user(np.array([1, 2]), sources, DEFAULT_WEIGHTS, 10)  # movie 1 is rated
        assert len(out[C.MOVIE_ID]) == 0 and len(out[C.HISTORY_BUCKET]) == 0


def test_numpy_min_max_equals_pandas_per_group_with_missing_scores():
    import pandas as pd

    from recsys.blend._blend import _normalised

    rng = np.random.default_rng(3)
    group = np.sort(rng.integers(0, 30, 400))
    score = np.where(rng.random(400) < 0.2, np.nan, rng.normal(size=400).round(1))
    score[group == group[0]] = np.nan  # a group without any score
    by = pd.Series(score).groupby(group)
    lo, hi = by.transform("min").to_numpy(), by.transform("max").to_numpy()
    with np.errstate(invalid="ignore"):
        want = np.where(hi > lo, (score - lo) / (hi - lo), 1.0)
    assert np.array_equal(_normalised(score, group, "minmax"), want, equal_nan=True)
    assert len(_normalised(np.empty(0), np.empty(0, np.int64), "minmax")) == 0


def test_weights_round_trip_and_validation(tmp_path):
    path = tmp_path / "w.yaml"
    import yaml

    path.write_text(yaml.safe_dump(WEIGHTS.to_dict()))
    assert BlendWeights.load(path) == WEIGHTS
    from recsys.blend import WeightsError

    with pytest.raises(WeightsError):
        BlendWeights((Bucket("all", None, {"svd": 1.0}),))
    with pytest.raises(WeightsError):
        BlendWeights((Bucket("closed", 5, {"als": 1.0}),))
    with pytest.raises(WeightsError, match="increase"):
        BlendWeights((Bucket("a", 20, {}), Bucket("b", 5, {}), Bucket("c", None, {})))


def test_cold_start_popular_well_rated_and_genre_filter(spark, movies):
    ratings = fr.ratings(
        spark,
        [(u, 1, 5.0) for u in range(1, 31)]  # Heat: 30 x 5 stars
        + [(u, 2, 3.0) for u in range(1, 41)]  # Toy Story: 40 x 3 stars
        + [(u, 3, 5.0) for u in range(1, 3)]  # Casino: only 2 ratings (below min_count)
        + [(u, 4, 4.0) for u in range(1, 26)],  # Babe: 25 x 4 stars
    )
    pop = movie_popularity(ratings)
    schema = StructType(
        [
            StructField(C.MOVIE_ID, IntegerType()),
            StructField(C.RANK, IntegerType()),
            StructField(C.REASON, StringType()),
        ]
    )
    anyone = cold_start(pop, movies, n=3, min_count=20).select(C.MOVIE_ID, C.RANK, C.REASON)
    expected = spark.createDataFrame(
        [(1, 1, "popular in Action"), (4, 2, "popular in Comedy"), (2, 3, "popular in Animation")],
        schema,
    )
    assert_df_equality(anyone, expected, ignore_row_order=True, ignore_nullable=True)
    dramas = cold_start(pop, movies, n=3, genres=["drama"], min_count=20)
    expected = spark.createDataFrame([(4, 1, "popular in Drama")], schema)
    assert_df_equality(dramas.select(C.MOVIE_ID, C.RANK, C.REASON), expected, ignore_nullable=True)


def test_reasons_name_a_rated_movie_in_the_right_format(spark, movies):
    ratings = fr.ratings(spark, [(1, 1, 5.0), (1, 6, 3.5), (2, 2, 4.0)])
    schema = StructType([*SCORED.fields, StructField(C.BECAUSE_MOVIE_ID, IntegerType(), True)])
    recs = spark.createDataFrame(
        [
            (1, 5, 0.9, 1),  # explained by item-kNN: Heat
            (1, 4, 0.5, None),  # no source reason: rated movie sharing most genres (Clueless)
            (3, 3, 0.2, None),  # user without ratings
        ],
        schema,
    )
    actual = attach_reasons(recs, ratings, movies).select(
        C.USER_ID, C.MOVIE_ID, C.BECAUSE_MOVIE_ID, C.REASON
    )
    out = StructType(
        [
            StructField(C.USER_ID, IntegerType()),
            StructField(C.MOVIE_ID, IntegerType()),
            StructField(C.BECAUSE_MOVIE_ID, IntegerType()),
            StructField(C.REASON, StringType()),
        ]
    )
    expected = spark.createDataFrame(
        [
            (1, 5, 1, "because you rated Heat (1995) 5/5"),
            (1, 4, 6, "because you rated Clueless (1995) 3.5/5"),
            (3, 3, None, "popular in Crime"),
        ],
        out,
    )
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def _reasons_by_definition(recs, ratings, movies):
    """The reasons as the relational definition (joins and a window), what the cogrouped UDF
    must reproduce: a missing ``because_movie_id`` is the user's rated movie sharing most genres
    (array_intersect), then the higher rating, then the smaller id; the reason quotes the
    user's rating of it (none: "popular in <first genre>")."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from recsys.blend import because_text

    genres = movies.select(C.MOVIE_ID, F.coalesce(C.GENRES, F.array()).alias("_g"))
    missing = recs.where(F.col(C.BECAUSE_MOVIE_ID).isNull()).select(C.USER_ID, C.MOVIE_ID)
    rated = ratings.select(
        C.USER_ID, F.col(C.MOVIE_ID).alias("_src"), F.col(C.RATING).alias("_r")
    ).join(genres.select(F.col(C.MOVIE_ID).alias("_src"), F.col("_g").alias("_sg")), "_src", "left")
    pairs = missing.join(genres, C.MOVIE_ID, "left").join(rated, C.USER_ID)
    overlap = F.size(F.array_intersect(F.coalesce("_g", F.array()), F.coalesce("_sg", F.array())))
    order = Window.partitionBy(C.USER_ID, C.MOVIE_ID).orderBy(
        overlap.desc(), F.col("_r").desc(), F.col("_src")
    )
    best = (
        pairs.withColumn("_pos", F.row_number().over(order))
        .where(F.col("_pos") == 1)
        .select(C.USER_ID, C.MOVIE_ID, F.col("_src").alias("_fill"))
    )
    filled = (
        recs.join(best, [C.USER_ID, C.MOVIE_ID], "left")
        .withColumn(C.BECAUSE_MOVIE_ID, F.coalesce(C.BECAUSE_MOVIE_ID, "_fill"))
        .drop("_fill")
    )
    because = ratings.select(
        C.USER_ID, F.col(C.MOVIE_ID).alias(C.BECAUSE_MOVIE_ID), F.col(C.RATING).alias("_r")
    ).join(
        movies.select(F.col(C.MOVIE_ID).alias(C.BECAUSE_MOVIE_ID), F.col(C.TITLE).alias("_t")),
        C.BECAUSE_MOVIE_ID,
        "left",
    )
    own = movies.select(C.MOVIE_ID, F.get(C.GENRES, 0).alias("_genre"))
    popular = F.when(F.col("_genre").isNull(), F.lit("popular with everyone")).otherwise(
        F.concat(F.lit("popular in "), F.col("_genre"))
    )
    title = F.coalesce(F.col("_t"), F.concat(F.lit("movie "), F.col(C.BECAUSE_MOVIE_ID)))
    reason = F.when(F.col("_r").isNotNull(), because_text(title, F.col("_r"))).otherwise(popular)
    return (
        filled.join(because, [C.USER_ID, C.BECAUSE_MOVIE_ID], "left")
        .join(own, C.MOVIE_ID, "left")
        .withColumn(C.REASON, reason)
        .withColumn(
            C.BECAUSE_MOVIE_ID,
            F.when(F.col("_r").isNotNull(), F.col(C.BECAUSE_MOVIE_ID)).cast("int"),
        )
        .drop("_r", "_t", "_genre")
    )


def test_reasons_equal_their_relational_definition(spark):
    """Random catalogue (genre lists with duplicates and empty ones, a recommended movie
    missing from it), random half-star ratings, recommendations with and without a source's
    reason, users without ratings: the cogrouped UDF gives the definition's rows."""
    import random

    rnd = random.Random(11)
    names = ["Action", "Comedy", "Drama", "Crime", "Horror", "Sci-Fi"]
    catalogue = []
    for m in range(1, 31):
        g = rnd.choice([[], *[rnd.choices(names, k=rnd.randint(1, 4)) for _ in range(6)]])
        catalogue.append((m, f"Movie {m}", g))
    movies = fr.movies(spark, catalogue)
    rated = {(u, m) for u in range(1, 36) for m in rnd.sample(range(1, 31), rnd.randint(1, 12))}
    ratings = fr.ratings(spark, [(u, m, rnd.randint(1, 10) / 2) for u, m in sorted(rated)])
    schema = StructType([*SCORED.fields, StructField(C.BECAUSE_MOVIE_ID, IntegerType(), True)])
    rows = []
    for u in range(1, 41):  # users 36-40 rated nothing
        mine = [m for (v, m) in rated if v == u]
        for m in rnd.sample(range(1, 33), 5):  # 31, 32: not in the catalogue
            because = rnd.choice(mine) if mine and rnd.random() < 0.3 else None
            rows.append((u, m, rnd.random(), because))
    recs = spark.createDataFrame(rows, schema)
    actual = attach_reasons(recs, ratings, movies)
    expected = _reasons_by_definition(recs, ratings, movies)
    assert actual.count() == len(rows) > 150
    assert actual.where(f"{C.BECAUSE_MOVIE_ID} is null").count() > 10
    assert_df_equality(
        actual, expected.select(*actual.columns), ignore_row_order=True, ignore_nullable=True
    )
    # the serving fold-in's one-user reasons are the same computation
    got, offered, given = actual.toPandas(), recs.toPandas(), ratings.toPandas()
    bits, titles = GenreBits.build(movies.toPandas()), {m: t for m, t, _ in catalogue}
    for user in range(1, 11):
        mine, theirs = offered[offered[C.USER_ID] == user], given[given[C.USER_ID] == user]
        because, rating = explain_user(
            mine[C.MOVIE_ID].to_numpy(), mine[C.BECAUSE_MOVIE_ID].to_numpy(np.float64),
            theirs[C.MOVIE_ID].to_numpy(), theirs[C.RATING].to_numpy(), bits,
        )  # fmt: skip
        want = got[got[C.USER_ID] == user].set_index(C.MOVIE_ID).loc[mine[C.MOVIE_ID]]
        assert because.tolist() == want[C.BECAUSE_MOVIE_ID].astype(float).tolist()
        said = [because_sentence(titles[int(b)], r) for b, r in zip(because, rating, strict=True)]
        assert said == want[C.REASON].tolist()


def test_mmr_rerank_in_spark(spark, movies):
    schema = StructType([*SCORED.fields, StructField(C.RANK, IntegerType(), False)])
    recs = spark.createDataFrame(
        [(1, 1, 1.0, 1), (1, 3, 0.99, 2), (1, 5, 0.98, 3), (1, 6, 0.5, 4)], schema
    )
    same = mmr_rerank(recs, movies, 0.0, n=3).select(C.MOVIE_ID, C.RANK)
    assert [tuple(r) for r in same.orderBy(C.RANK).collect()] == [(1, 1), (3, 2), (5, 3)]
    # relevance (min-max) 1, .98, .96, 0; lambda .8: after Heat, Casino/Se7en score
    # .2 * .98 - .8 / 3 < 0 while Clueless (no genre shared with Heat) scores 0.
    diverse = mmr_rerank(recs, movies, 0.8, n=3).orderBy(C.RANK)
    got = [(r[C.MOVIE_ID], r[C.RANK], r[C.SCORE]) for r in diverse.collect()]
    assert [g[:2] for g in got] == [(1, 1), (6, 2), (3, 3)] and got[1][2] == 0.5

    def ild(ids):
        g = [set(TITLES[m][1]) for m in ids]
        pairs = [(a, b) for i, a in enumerate(g) for b in g[i + 1 :]]
        return sum(1 - len(a & b) / len(a | b) for a, b in pairs) / len(pairs)

    assert ild([g[0] for g in got]) > ild([1, 3, 5])


def test_candidate_sources_blend_every_source(spark):
    """Each source's own contract is tests/test_candidate_sources.py's; here: all six reach the
    blend, the two read from tables as given."""
    from recsys.blend import candidate_sources
    from recsys.schemas import RECS

    pairs = [(u, m) for u in range(1, 7) for m in range(1, 9) if (u + m) % 3]
    ratings = fr.ratings(spark, [(u, m, 4.0) for u, m in pairs])
    given = spark.createDataFrame([(1, 3, 0.9, 1), (2, 2, 0.8, 1)], RECS)
    content = given.withColumn(C.BECAUSE_MOVIE_ID, given[C.MOVIE_ID])
    sources = candidate_sources(ratings, als=given, content=content)
    assert set(sources.frames) == {"als", "ease", "itemknn", "userknn", "content", "popularity"}
    assert_df_equality(sources.frames["als"], given)
