"""ANSI mode (Spark's default): data that used to give NULL now raises unless the code says what
it wants. One regression test per class of site, each on the hand-made data that made the old
code fail: array index past the end, division / remainder by zero, casts that overflow, integer
overflow, and the 1.0 a uniform draw could reach (one past a table; make_date month 13)."""

from __future__ import annotations

from chispa import assert_approx_df_equality, assert_df_equality
from pyspark.sql import functions as F
from pyspark.sql.types import (
    DoubleType,
    IntegerType,
    StringType,
    StructField,
    StructType,
)

from recsys import columns as C
from recsys.blend import attach_reasons, cold_start, movie_popularity, rating_text
from recsys.evaluation import random_recs
from recsys.schemas import RECS, USERS
from tests import _frames as fr

RECS_WITH_BECAUSE = StructType(
    [
        StructField(C.USER_ID, IntegerType(), False),
        StructField(C.MOVIE_ID, IntegerType(), False),
        StructField(C.SCORE, DoubleType(), False),
        StructField(C.BECAUSE_MOVIE_ID, IntegerType(), True),
    ]
)
REASONS = StructType(
    [
        StructField(C.USER_ID, IntegerType()),
        StructField(C.MOVIE_ID, IntegerType()),
        StructField(C.BECAUSE_MOVIE_ID, IntegerType()),
        StructField(C.REASON, StringType()),
    ]
)
RANKED_REASONS = StructType(
    [
        StructField(C.MOVIE_ID, IntegerType()),
        StructField(C.RANK, IntegerType()),
        StructField(C.REASON, StringType()),
    ]
)

# Movie 2 is "(no genres listed)": ingest stores an EMPTY genres array for it.
CATALOGUE = [
    (1, "Heat (1995)", ["Action", "Crime"]),
    (2, "Untitled", []),
    (3, "Casino (1995)", ["Crime", "Drama"]),
]


# ---- array index past the end ----------------------------------------------------------------
def test_reasons_for_a_movie_without_genres(spark):
    """element_at(genres, 1) on [] raised INVALID_ARRAY_INDEX_IN_ELEMENT_AT while `recommend`
    wrote its table; a movie without genres now gets the generic "popular with everyone"."""
    movies = fr.movies(spark, CATALOGUE)
    # user 1's whole history is the genre-less movie; user 3 has no ratings
    ratings = fr.ratings(spark, [(1, 2, 4.0), (2, 1, 4.5)])
    recs = spark.createDataFrame(
        [(1, 3, 0.9, None), (2, 2, 0.5, None), (3, 2, 0.2, None), (3, 1, 0.1, None)],
        RECS_WITH_BECAUSE,
    )
    actual = attach_reasons(recs, ratings, movies).select(
        C.USER_ID, C.MOVIE_ID, C.BECAUSE_MOVIE_ID, C.REASON
    )
    expected = spark.createDataFrame(
        [
            (1, 3, 2, "because you rated Untitled 4/5"),  # no genre overlap: the only rated one
            (2, 2, 1, "because you rated Heat (1995) 4.5/5"),
            (3, 2, None, "popular with everyone"),
            (3, 1, None, "popular in Action"),
        ],
        REASONS,
    )
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_cold_start_keeps_a_movie_without_genres_and_filters_it_by_genre(spark):
    movies = fr.movies(spark, CATALOGUE)
    ratings = fr.ratings(
        spark, [(u, m, r) for m, r in ((1, 5.0), (2, 4.0), (3, 3.0)) for u in (1, 2, 3)]
    )
    pop = movie_popularity(ratings)
    anyone = cold_start(pop, movies, n=5, min_count=1).select(C.MOVIE_ID, C.RANK, C.REASON)
    expected = spark.createDataFrame(
        [(1, 1, "popular in Action"), (2, 2, "popular with everyone"), (3, 3, "popular in Crime")],
        RANKED_REASONS,
    )
    assert_df_equality(anyone, expected, ignore_row_order=True, ignore_nullable=True)
    dramas = cold_start(pop, movies, n=5, genres=["Drama"], min_count=1)
    expected = spark.createDataFrame([(3, 1, "popular in Drama")], RANKED_REASONS)
    assert_df_equality(dramas.select(C.MOVIE_ID, C.RANK, C.REASON), expected, ignore_nullable=True)


def test_synthetic_lookups_fall_back_past_the_end(spark):
    """_lookup is coalesce(<array lookup>, default): the default only works if the lookup is
    null out of range (get), not an ANSI error. _pick clamps its bucket before the lookup: u at
    or past 1 (one past the 1024 buckets) is the last index, u = 0 the first."""
    from recsys.ingest.synthetic import _lookup, _pick

    row = (
        spark.range(1)
        .select(
            _pick(F.lit(1.0), (1.0, 1.0)).alias("bucket_1025"),
            _pick(F.lit(0.0), (1.0, 1.0)).alias("bucket_1"),
            _lookup(("a", "b"), F.lit(1)).alias("inside"),
            _lookup(("a", "b"), F.lit(2)).alias("past_end"),
        )
        .first()
    )
    assert tuple(row) == (1, 0, "b", "a")


def test_synthetic_uniform_never_reaches_one(spark):
    """(h + 0.5) / 2^53 rounded to exactly 1.0 for h = 2^53 - 1: month floor(12 u) + 1 = 13
    (make_date raised) and every `floor(u * len) + 1` lookup was one past the end."""
    from recsys.ingest.synthetic import _unit

    df = spark.range(1).select(
        _unit(F.lit((1 << 53) - 1)).alias("top"), _unit(F.lit(0)).alias("bottom")
    )
    top, bottom = df.first()
    assert top == 1.0 - 2.0**-53 and bottom == 2.0**-54
    month = F.floor(F.col("top") * 12).cast("int") + 1  # as _movies_full draws release months
    assert df.select(F.make_date(F.lit(2000), month, F.lit(1))).first()[0].month == 12


# ---- division / remainder by zero ------------------------------------------------------------
def test_random_recs_with_an_empty_train_catalogue(spark, tmp_path):
    """pmod(hash, #train movies) with no train movies raised REMAINDER_BY_ZERO. Only the
    engine hid it: an in-memory empty train is pruned at planning, adaptive execution drops the
    join with the empty broadcast catalogue, and without whole-stage codegen the join never
    pulls the draws. So: a train read from files, adaptive execution off (a profile may turn it
    off) and whole-stage codegen on (Spark's default), where the old code raised."""
    fr.ratings(spark, []).write.parquet(str(tmp_path / "train"))
    train = spark.read.parquet(str(tmp_path / "train"))
    users = spark.createDataFrame([(1,)], StructType([StructField(C.USER_ID, IntegerType())]))
    keys = {"spark.sql.adaptive.enabled": "false", "spark.sql.codegen.wholeStage": "true"}
    before = {k: spark.conf.get(k) for k in keys}
    try:
        for k, v in keys.items():
            spark.conf.set(k, v)
        actual = random_recs(train, users, k=3)
        assert_df_equality(actual, spark.createDataFrame([], RECS), ignore_nullable=True)
    finally:
        for k, v in before.items():
            spark.conf.set(k, v)


# ---- casts and integer arithmetic that overflow ----------------------------------------------
def test_rating_text_of_a_whole_rating_beyond_the_int_range(spark):
    """A scale declared at ingest (--rating-scale 0:1e10) allows ratings > 2^31: the cast to
    int raised CAST_OVERFLOW while writing reasons."""
    df = spark.createDataFrame([(5.0,), (4.5,), (3.0e9,)], "r float")
    actual = [r[0] for r in df.select(rating_text(F.col("r"))).collect()]
    assert actual == ["5", "4.5", "3000000000"]


def test_synthetic_ratings_per_user_beyond_the_int_range_are_capped(spark):
    """n_wanted was cast to int before being capped at movies / 4: CAST_OVERFLOW."""
    from recsys.ingest.synthetic import SyntheticConfig, generate

    spec = SyntheticConfig(users=3, movies=20, ratings_per_user=10**12)
    ratings = generate(spark, spec, partitions=2)[C.T_RATINGS]
    per_user = sorted(tuple(r) for r in ratings.groupBy(C.USER_ID).count().collect())
    assert per_user == [(1, 5), (2, 5), (3, 5)]  # the cap, max(5, 20 // 4)


def test_1m_occupation_code_at_the_int_maximum(spark, tmp_path):
    """try_element_at(names, code + 1): code + 1 raised ARITHMETIC_OVERFLOW for 2147483647."""
    from recsys.ingest import movielens as ML
    from recsys.ingest import validate as V

    d = tmp_path / "ml-1m"
    d.mkdir()
    (d / "movies.dat").write_bytes(b"1::Heat (1995)::Action|Crime\n")
    (d / "ratings.dat").write_bytes(b"1::1::5::978300760\n")
    (d / "users.dat").write_bytes(b"1::F::1::2147483647::48067\n2::M::56::16::70072\n")
    users = ML.parse(spark, ML.detect_layout(tmp_path))[C.T_USERS]
    expected = spark.createDataFrame(
        [(1, 1, "F", "2147483647", "48067"), (2, 56, "M", "self-employed", "70072")], USERS
    )
    assert_df_equality(V.split(users, USERS)[0], expected, ignore_row_order=True)


# ---- sites audited as safe: pinned so a refactor keeps them safe (these pass on old code) ----
def test_zero_tfidf_document_and_a_user_whose_ratings_all_equal_their_mean(spark):
    """Movie 4's only token (genre_crime) is in every document: idf 0, a zero vector. It has no
    term_weights row, so the L2 norm it would divide by is never 0; movie 5 (no title words, no
    year, no genres) has no document at all. User 1 rates everything 4: weights 1, norm 2."""
    from recsys.content import (
        ContentEstimator,
        build_documents,
        content_scores,
        exact_neighbors,
    )

    movies = fr.movies(
        spark,
        [
            (1, "Heat (1995)", ["Action", "Crime"]),
            (2, "Casino (1995)", ["Crime", "Drama"]),
            (4, "X", ["Crime"]),
            (5, "unknown", []),
        ],
    )
    documents = build_documents(movies)
    model = ContentEstimator().fit(documents)
    neighbors = exact_neighbors(model, documents)
    nbr_schema = StructType(
        [
            StructField(C.MOVIE_ID, IntegerType()),
            StructField(C.NEIGHBOR_ID, IntegerType()),
            StructField(C.SIMILARITY, DoubleType()),
            StructField(C.RANK, IntegerType()),
        ]
    )
    # 1 and 2 share only decade_1990s and era_blockbuster (min_df 2) with equal idf: cosine 1
    assert_approx_df_equality(
        neighbors,
        spark.createDataFrame([(1, 2, 1.0, 1), (2, 1, 1.0, 1)], nbr_schema),
        precision=1e-9,
        ignore_row_order=True,
        ignore_nullable=True,
    )
    ratings = fr.ratings(spark, [(1, 1, 4.0), (1, 4, 4.0), (2, 5, 3.0)])
    scores = content_scores(ratings, neighbors).select(
        C.USER_ID, C.MOVIE_ID, C.SCORE, C.BECAUSE_MOVIE_ID
    )
    score_schema = StructType(
        [
            StructField(C.USER_ID, IntegerType()),
            StructField(C.MOVIE_ID, IntegerType()),
            StructField(C.SCORE, DoubleType()),
            StructField(C.BECAUSE_MOVIE_ID, IntegerType()),
        ]
    )
    assert_approx_df_equality(
        scores,
        spark.createDataFrame([(1, 2, 0.5, 1)], score_schema),
        precision=1e-9,
        ignore_nullable=True,
    )
