"""The synthetic generator on its "tiny" preset (~3k ratings): exact schemas, determinism and
partition independence, value ranges, and the statistical shape the recommenders rely on."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest
from chispa.schema_comparer import assert_schema_equality
from pyspark.sql import functions as F

from recsys import columns as C
from recsys import schemas
from recsys.errors import InputError
from recsys.ingest import synthetic
from recsys.ingest._synthetic_vocab import GENRE_NAMES
from recsys.ingest.synthetic import SYNTHETIC_SIZES, SyntheticConfig, generate

TINY = SYNTHETIC_SIZES["tiny"]
TABLES = (C.T_RATINGS, C.T_MOVIES, C.T_TAGS, C.T_USERS)
KEYS = {
    C.T_RATINGS: [C.USER_ID, C.MOVIE_ID],
    C.T_MOVIES: [C.MOVIE_ID],
    C.T_TAGS: [C.USER_ID, C.MOVIE_ID, C.TAG],
    C.T_USERS: [C.USER_ID],
}


def _pandas(frames) -> dict[str, pd.DataFrame]:
    """Tiny tables as pandas sorted by key, for exact comparison and statistics."""
    out = {}
    for name in TABLES:
        pdf = frames[name].toPandas().sort_values(KEYS[name]).reset_index(drop=True)
        if name == C.T_MOVIES:
            pdf[C.GENRES] = pdf[C.GENRES].map(tuple)
        out[name] = pdf
    return out


@pytest.fixture(scope="module")
def frames(spark):
    return generate(spark, TINY)


@pytest.fixture(scope="module")
def tiny(frames) -> dict[str, pd.DataFrame]:
    return _pandas(frames)


def test_schemas_are_exactly_the_ingest_schemas(frames):
    for name in TABLES:
        assert_schema_equality(frames[name].schema, schemas.SCHEMAS[name])


def test_same_seed_same_rows_whatever_the_partitioning(spark, tiny):
    """Hash-derived randomness: other input and shuffle partition counts give the same rows."""
    before = spark.conf.get("spark.sql.shuffle.partitions")
    spark.conf.set("spark.sql.shuffle.partitions", "7")
    try:
        again = _pandas(synthetic.generate(spark, TINY, partitions=5))
    finally:
        spark.conf.set("spark.sql.shuffle.partitions", before)
    for name in TABLES:
        pd.testing.assert_frame_equal(again[name], tiny[name], check_dtype=True)


# Order-independent fingerprints (count, sum of each row's xxhash64) of the tiny preset's
# tables: a change that makes the generator faster must not change the data it generates.
FINGERPRINTS = {
    C.T_RATINGS: (2510, 90716549966679444444),
    C.T_MOVIES: (300, -23385693580916418581),
    C.T_TAGS: (62, -41397211807301865962),
    C.T_USERS: (150, 84786750129240773116),
}


def test_rows_are_pinned_by_fingerprint(frames):
    for name, expected in FINGERPRINTS.items():
        df = frames[name]
        row = df.select(
            F.count("*").alias("n"), F.sum(F.xxhash64(*df.columns).cast("decimal(38,0)")).alias("h")
        ).first()
        assert (row.n, int(row.h)) == expected, name


def test_another_seed_gives_other_data(spark, tiny):
    """Movies are the cheapest table to regenerate; every table draws from the same seed."""
    other = generate(spark, replace(TINY, seed=TINY.seed + 1))[C.T_MOVIES].toPandas()
    mine = tiny[C.T_MOVIES]
    assert len(other) == len(mine)
    assert len(set(other[C.TITLE]) & set(mine[C.TITLE])) < 0.2 * len(mine)


def test_sizes_and_value_ranges(tiny):
    ratings, movies, users = tiny[C.T_RATINGS], tiny[C.T_MOVIES], tiny[C.T_USERS]
    assert 2_000 <= len(ratings) <= 4_000  # "tiny" is ~3k ratings
    assert set(ratings[C.RATING].unique()) <= {x / 2 for x in range(1, 11)}
    assert not ratings.duplicated([C.USER_ID, C.MOVIE_ID]).any()
    per_user = ratings.groupby(C.USER_ID).size()
    assert len(per_user) == TINY.users and per_user.min() >= 5
    assert per_user.max() > 3 * per_user.median()  # heavy-tailed activity
    assert ratings[C.RATED_AT].min() >= pd.Timestamp(TINY.start)
    assert ratings[C.RATED_AT].max() < pd.Timestamp(TINY.end) + pd.Timedelta(days=1)
    assert sorted(movies[C.MOVIE_ID]) == list(range(1, TINY.movies + 1))
    assert set(ratings[C.MOVIE_ID]) <= set(movies[C.MOVIE_ID])
    assert movies[C.GENRES].map(len).between(1, 3).all()
    assert set().union(*movies[C.GENRES]) <= set(GENRE_NAMES)
    assert movies[C.YEAR].between(TINY.first_year, TINY.end.year).all()
    assert (
        (movies[C.TITLE] + "|" + movies[C.YEAR].astype(str))
        .str.match(r"^[A-Z][A-Za-z ]+ \((\d{4})\)\|\1$")
        .all()
    )
    assert movies[C.TITLE].nunique() > 0.95 * len(movies)
    assert users[C.AGE].between(15, 70).all() and set(users[C.GENDER]) == {"F", "M"}
    assert users[C.ZIP_CODE].str.fullmatch(r"\d{5}").all()


def test_tags_are_on_rated_movies(tiny):
    tags, ratings = tiny[C.T_TAGS], tiny[C.T_RATINGS]
    assert len(tags) > 0
    rated = tags.merge(ratings, on=[C.USER_ID, C.MOVIE_ID])
    assert len(rated) == len(tags)
    assert (rated[C.TAGGED_AT] >= rated[C.RATED_AT]).all()
    assert tags[C.USER_ID].nunique() < 0.3 * TINY.users  # a few users do the tagging


def test_popularity_is_heavy_tailed(tiny):
    counts = tiny[C.T_RATINGS].groupby(C.MOVIE_ID).size().sort_values(ascending=False)
    top_share = counts.iloc[: TINY.movies // 10].sum() / counts.sum()
    assert top_share > 0.3, top_share  # the top 10% of movies get 3x their fair share or more


def test_users_lean_to_their_liked_genres(spark, frames):
    """More ratings and higher ratings in a user's liked genres than the catalogue suggests."""
    user = synthetic._user_cols(TINY)
    names = F.array(*map(F.lit, GENRE_NAMES))
    liked = (
        spark.range(1, TINY.users + 1)
        .select(F.col("id").cast("int").alias(C.USER_ID))
        .select(
            C.USER_ID,
            F.transform(user["liked"], lambda g: F.element_at(names, g + 1)).alias("liked"),
        )
    )
    movies = frames[C.T_MOVIES].select(C.MOVIE_ID, C.GENRES)
    match = F.arrays_overlap(C.GENRES, "liked").cast("double")
    rated = frames[C.T_RATINGS].join(liked, C.USER_ID).join(movies, C.MOVIE_ID)
    stats = rated.agg(
        F.avg(match).alias("share"),
        F.avg(F.when(match == 1, F.col(C.RATING))).alias("liked_mean"),
        F.avg(F.when(match == 0, F.col(C.RATING))).alias("other_mean"),
    ).first()
    base = liked.crossJoin(movies).agg(F.avg(match)).first()[0]
    assert stats.share > 1.5 * base, (stats.share, base)
    assert stats.liked_mean > stats.other_mean + 0.3, stats


def test_presets_are_ordered_by_size():
    expected = [s.users * s.ratings_per_user for s in SYNTHETIC_SIZES.values()]
    assert expected == sorted(expected)
    assert list(SYNTHETIC_SIZES) == ["tiny", "small", "default", "1m", "10m", "25m"]
    assert SYNTHETIC_SIZES["default"] == SyntheticConfig()


def test_bad_spec_and_unknown_size_are_input_errors(spark):
    with pytest.raises(InputError, match="ratings_per_user"):
        generate(spark, SyntheticConfig(ratings_per_user=2))
    with pytest.raises(InputError, match="tiny, small, default"):
        synthetic.spec_for("huge")
    assert synthetic.spec_for("tiny", seed=7) == replace(TINY, seed=7)
