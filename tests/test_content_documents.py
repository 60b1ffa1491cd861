"""build_documents: tokens per field, tag weighting, placeholders, extra fields."""

from __future__ import annotations

import datetime as dt

from chispa import assert_df_equality
from pyspark.sql.types import (
    ArrayType,
    DateType,
    IntegerType,
    StringType,
    StructField,
    StructType,
)

from recsys import columns as C
from recsys.content import DEFAULT_FIELDS, build_documents, value_tokens, word_tokens
from tests._content_data import movies_df, tags_df

DOCS = StructType(
    [
        StructField(C.MOVIE_ID, IntegerType(), False),
        StructField(C.TOKENS, ArrayType(StringType(), True), True),
    ]
)


def _docs(df):
    return df.select(C.MOVIE_ID, C.TOKENS)


def test_tokens_from_genres_title_era_and_weighted_tags(spark):
    actual = build_documents(movies_df(spark), tags_df(spark)).where("movie_id IN (1, 8, 9, 10)")
    expected = spark.createDataFrame(
        [
            # "time travel" + "Time Travel!" = 2 users -> repeated 1 + floor(log2 2) = 2 times
            (
                1,
                [
                    "decade_2010s",
                    "era_digital",
                    "genre_action",
                    "genre_sci_fi",
                    "genre_thriller",
                    "tag_mind_bending",
                    "tag_time_travel",
                    "tag_time_travel",
                    "title_inception",
                ],
            ),
            # "Matrix, The (1999)": the year is not a title word, "the" is a stop word
            (
                8,
                ["decade_1990s", "era_blockbuster", "genre_action", "genre_sci_fi", "title_matrix"],
            ),
            # movie 9 ("unknown", no genres, no year) has no document at all
            (10, ["title_zzyzx"]),
        ],
        DOCS,
    )
    assert_df_equality(_docs(actual), expected, ignore_row_order=True, ignore_nullable=True)


def test_release_date_year_and_extra_fields(spark):
    schema = StructType(
        [
            StructField(C.MOVIE_ID, IntegerType(), False),
            StructField(C.TITLE, StringType(), False),
            StructField(C.GENRES, ArrayType(StringType(), False), False),
            StructField(C.RELEASE_DATE, DateType(), True),
            StructField("director", StringType(), True),
            StructField("plot", StringType(), True),
        ]
    )
    movies = spark.createDataFrame(
        [
            (1, "Heat", ["Film-Noir"], dt.date(1955, 3, 1), "Christopher Nolan", "A heist."),
            (2, "Old (1925)", [], None, None, None),
        ],
        schema,
    )
    fields = {**DEFAULT_FIELDS, "director": value_tokens("director"), "plot": word_tokens("plot")}
    expected = spark.createDataFrame(
        [
            (
                1,
                [
                    "decade_1950s",
                    "director_christopher_nolan",
                    "era_golden_age",
                    "genre_film_noir",
                    "plot_heist",
                    "title_heat",
                ],
            ),
            # no year column, no release date: the year comes from the title
            (2, ["decade_1920s", "era_silent", "title_old"]),
        ],
        DOCS,
    )
    actual = build_documents(movies, None, fields=fields)
    assert_df_equality(_docs(actual), expected, ignore_row_order=True, ignore_nullable=True)
