"""Schemas of the small hand-made frames the unit tests build (one copy, shared)."""

from __future__ import annotations

from pyspark.sql.types import (
    ArrayType,
    DoubleType,
    FloatType,
    IntegerType,
    StringType,
    StructField,
    StructType,
)

from recsys import columns as C

SCORED = StructType(
    [
        StructField(C.USER_ID, IntegerType(), False),
        StructField(C.MOVIE_ID, IntegerType(), False),
        StructField(C.SCORE, DoubleType(), False),
    ]
)
RATINGS = StructType(
    [
        StructField(C.USER_ID, IntegerType(), False),
        StructField(C.MOVIE_ID, IntegerType(), False),
        StructField(C.RATING, FloatType(), False),
    ]
)
"""A ratings frame without timestamps: what the blend and baseline code read."""
MOVIES = StructType(
    [
        StructField(C.MOVIE_ID, IntegerType(), False),
        StructField(C.TITLE, StringType(), False),
        StructField(C.GENRES, ArrayType(StringType(), False), False),
    ]
)
"""A catalogue with just what reasons and cold start read."""
