"""Explicit schemas of every table the lake holds; columns come from :mod:`recsys.columns`."""

from pyspark.sql.types import (
    ArrayType,
    DateType,
    DoubleType,
    FloatType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from recsys import columns as C

RATINGS = StructType(
    [
        StructField(C.USER_ID, IntegerType(), False),
        StructField(C.MOVIE_ID, IntegerType(), False),
        StructField(C.RATING, FloatType(), False),
        StructField(C.RATED_AT, TimestampType(), True),
    ]
)

MOVIES = StructType(
    [
        StructField(C.MOVIE_ID, IntegerType(), False),
        StructField(C.TITLE, StringType(), False),
        StructField(C.YEAR, IntegerType(), True),
        StructField(C.GENRES, ArrayType(StringType(), False), False),
        StructField(C.RELEASE_DATE, DateType(), True),
    ]
)

TAGS = StructType(
    [
        StructField(C.USER_ID, IntegerType(), False),
        StructField(C.MOVIE_ID, IntegerType(), False),
        StructField(C.TAG, StringType(), False),
        StructField(C.TAGGED_AT, TimestampType(), True),
    ]
)

USERS = StructType(
    [
        StructField(C.USER_ID, IntegerType(), False),
        StructField(C.AGE, IntegerType(), True),
        StructField(C.GENDER, StringType(), True),
        StructField(C.OCCUPATION, StringType(), True),
        StructField(C.ZIP_CODE, StringType(), True),
    ]
)

INGEST_REJECTS = StructType(
    [
        StructField(C.SOURCE, StringType(), False),
        StructField(C.LINE_NUMBER, LongType(), True),
        StructField(C.RECORD, StringType(), True),
        StructField(C.REASON, StringType(), False),
        StructField(C.INGESTED_AT, TimestampType(), False),
    ]
)

# Keys by which each ingest table is upserted.
RECS = StructType(
    [
        StructField(C.USER_ID, IntegerType(), False),
        StructField(C.MOVIE_ID, IntegerType(), False),
        StructField(C.SCORE, DoubleType(), False),
        StructField(C.RANK, IntegerType(), False),
    ]
)
"""The recommendation contract every model's per-user top-N follows (ALS candidates, content
and kNN scores, the blend); tables add their own columns (run id, reasons, ...) to it."""

KEYS: dict[str, list[str]] = {
    C.T_RATINGS: [C.USER_ID, C.MOVIE_ID],
    C.T_MOVIES: [C.MOVIE_ID],
    C.T_TAGS: [C.USER_ID, C.MOVIE_ID, C.TAG],
    C.T_USERS: [C.USER_ID],
    C.T_REJECTS: [C.SOURCE, C.LINE_NUMBER, C.REASON],
}

SCHEMAS: dict[str, StructType] = {
    C.T_RATINGS: RATINGS,
    C.T_MOVIES: MOVIES,
    C.T_TAGS: TAGS,
    C.T_USERS: USERS,
    C.T_REJECTS: INGEST_REJECTS,
}
