"""Validation shared by every source: reject reasons, parsing of text fields, the rules, and
keep-latest deduplication.

Parsers produce a *parsed frame*: the target table's columns plus four working columns,
``_src`` (file within the dataset), ``_line`` (1-based line), ``_record`` (the raw line) and
``_reason`` (null while the record is fine). Each rule sets ``_reason`` only where it is still
null, so a record carries the FIRST rule it breaks, and rules may assume earlier ones held.
:func:`split` then yields the rows for the table and the rows for ``ingest_rejects``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    DataType,
    DateType,
    StringType,
    StructType,
    TimestampType,
)

from recsys import columns as C
from recsys.schemas import INGEST_REJECTS

# Working columns of a parsed frame (never written to a table).
SRC = "_src"
LINE = "_line"
RECORD = "_record"
REASON = "_reason"
_RANK = "_rank"
_KNOWN = "_known"
_MAX_EPOCH = 253402300800  # 10000-01-01


class Reason:
    """Reject reason codes, as stored in ``ingest_rejects.reason``."""

    UNDECODABLE_TEXT = "undecodable_text"  # bytes that are not valid in the file's encoding
    MALFORMED_LINE = "malformed_line"  # unbalanced quotes, genre flags other than 0/1
    WRONG_FIELD_COUNT = "wrong_field_count"
    NON_NUMERIC_ID = "non_numeric_id"  # user or movie id not a non-negative integer
    NON_NUMERIC_VALUE = "non_numeric_value"  # rating, age or timestamp that is not a number
    MISSING_VALUE = "missing_value"  # empty title or tag
    RATING_NAN = "rating_nan"
    RATING_OUT_OF_SCALE = "rating_out_of_scale"
    MISSING_TIMESTAMP = "missing_timestamp"
    INVALID_DATE = "invalid_date"  # a release date present but not a date
    UNKNOWN_MOVIE = "unknown_movie"  # movie id neither in this batch's movies nor in the lake
    DUPLICATE_RATING = "duplicate_rating"  # superseded by a later rating of the same pair
    DUPLICATE_TAG = "duplicate_tag"
    DUPLICATE_MOVIE = "duplicate_movie"
    DUPLICATE_USER = "duplicate_user"


REASONS: tuple[str, ...] = tuple(v for k, v in vars(Reason).items() if k.isupper())


@dataclass(frozen=True)
class RatingScale:
    """Valid ratings: ``low <= r <= high`` and, with ``step``, ``r = low + k * step``."""

    low: float
    high: float
    step: float | None = None

    @classmethod
    def parse(cls, text: str) -> RatingScale:
        """``"1:5:1"`` or ``"0:10"`` (no step)."""
        parts = [float(p) for p in text.split(":")]
        if len(parts) not in (2, 3) or parts[0] > parts[1] or (len(parts) == 3 and parts[2] <= 0):
            raise ValueError(f"rating scale {text!r} must look like LOW:HIGH[:STEP]")
        return cls(*parts)


FIVE_STARS = RatingScale(1.0, 5.0, 1.0)  # ml-100k, ml-1m
HALF_STARS = RatingScale(0.5, 5.0, 0.5)  # ml-latest(-small), ml-25m, ml-32m, synthetic


# ---- parsing text fields ---------------------------------------------------------------------
def parse_int(text: Column, target: str = "int") -> Column:
    """A non-negative integer or null (``" 12 "`` ok; ``"1.5"``, ``"x"``, overflow are null)."""
    t = F.trim(text)
    return F.when(t.rlike(r"^[0-9]+$"), t.try_cast(target))


def parse_double(text: Column) -> Column:
    """A number (``NaN`` included) or null."""
    return F.trim(text).try_cast("double")


def parse_epoch(text: Column) -> Column:
    """Unix seconds -> timestamp, or null (also beyond year 9999, which would overflow)."""
    seconds = parse_int(text, "long")
    return F.when(seconds < _MAX_EPOCH, F.timestamp_seconds(seconds))


def parse_timestamp(text: Column) -> Column:
    """Unix seconds, or a date-time string Spark understands (ISO 8601), or null."""
    t = F.trim(text)
    return F.coalesce(parse_epoch(t), F.try_to_timestamp(t))


def year_from_title(title: Column) -> Column:
    """``"Heat (1995)"`` -> 1995; GroupLens puts the year last, in parentheses."""
    y = F.regexp_extract(title, r"\((\d{4})\)\s*$", 1)
    return F.when(y != "", y.cast("int"))


def genre_list(text: Column, sep: str = "|") -> Column:
    """``"Action|Drama"`` -> [Action, Drama]; ``"(no genres listed)"`` or empty -> []."""
    import re

    parts = F.split(F.trim(text), re.escape(sep), -1)
    return F.filter(F.transform(parts, F.trim), lambda g: (g != "") & (g != "(no genres listed)"))


# ---- rules -----------------------------------------------------------------------------------
def flag(df: DataFrame, *rules: tuple[Column, str]) -> DataFrame:
    """Give each still-valid row the reason of the first rule whose condition is true."""
    reasons = [F.when(cond, F.lit(reason)) for cond, reason in rules]
    return df.withColumn(REASON, F.coalesce(F.col(REASON), *reasons))


def field_count_rule(fields: Column, n: int) -> tuple[Column, str]:
    return F.size(fields) != n, Reason.WRONG_FIELD_COUNT


def id_rules(*id_cols: str) -> list[tuple[Column, str]]:
    return [(F.col(c).isNull(), Reason.NON_NUMERIC_ID) for c in id_cols]


def rating_rules(rating: str, scale: RatingScale) -> list[tuple[Column, str]]:
    """Rules for an already parsed (double) rating column."""
    r = F.col(rating)
    rules = [
        (r.isNull(), Reason.NON_NUMERIC_VALUE),
        (F.isnan(r), Reason.RATING_NAN),
        ((r < scale.low) | (r > scale.high), Reason.RATING_OUT_OF_SCALE),
    ]
    if scale.step:
        k = (r - F.lit(scale.low)) / F.lit(scale.step)
        rules.append((F.abs(k - F.round(k)) > 1e-6, Reason.RATING_OUT_OF_SCALE))
    return rules


def timestamp_rules(raw: Column, parsed: str, required: bool = True) -> list[tuple[Column, str]]:
    """``raw`` is the text field, ``parsed`` the parsed timestamp column."""
    empty = raw.isNull() | (F.trim(raw) == "")
    rules = [(~empty & F.col(parsed).isNull(), Reason.NON_NUMERIC_VALUE)]
    if required:
        rules.insert(0, (empty, Reason.MISSING_TIMESTAMP))
    return rules


def keep_latest(df: DataFrame, keys: list[str], newer_col: str | None, reason: str) -> DataFrame:
    """Among valid rows sharing ``keys`` keep the one with the greatest ``newer_col`` (nulls
    oldest; ties: the later line); the others get ``reason``."""
    order = [F.col(LINE).desc_nulls_last()]
    if newer_col:
        order.insert(0, F.col(newer_col).desc_nulls_last())
    w = Window.partitionBy(*keys, F.col(REASON).isNull()).orderBy(*order)
    return (
        df.withColumn(_RANK, F.row_number().over(w))
        .withColumn(
            REASON,
            F.when(F.col(REASON).isNull() & (F.col(_RANK) > 1), F.lit(reason)).otherwise(
                F.col(REASON)
            ),
        )
        .drop(_RANK)
    )


def known_movies(df: DataFrame, movie_ids: DataFrame) -> DataFrame:
    """Reject valid rows whose movie id is not among ``movie_ids`` (one column, movie_id)."""
    known = movie_ids.select(C.MOVIE_ID).distinct().withColumn(_KNOWN, F.lit(True))
    joined = df.join(known, C.MOVIE_ID, "left")
    return flag(joined, (F.col(_KNOWN).isNull(), Reason.UNKNOWN_MOVIE)).drop(_KNOWN)


# ---- splitting into table rows and rejects ---------------------------------------------------
def conform(df: DataFrame, schema: StructType) -> DataFrame:
    """Select ``schema``'s columns with its exact types and nullability, so every source writes
    the same Delta schema. Missing nullable columns become nulls. Non-nullable columns must
    hold no nulls here (rules saw to that); the coalesce only tells Spark so."""
    cols = []
    for f in schema.fields:
        present = f.name in df.columns
        c = F.col(f.name) if present else F.lit(None)
        if isinstance(f.dataType, ArrayType) and not f.dataType.containsNull and present:
            c = F.array_compact(c)  # declares the elements non-null, which a cast cannot
        c = c.cast(f.dataType)
        if not f.nullable:
            c = F.coalesce(c, _default(f.dataType))
        cols.append(c.alias(f.name))
    return df.select(cols)


def _default(dtype: DataType) -> Column:
    """A non-null literal of ``dtype`` (never used as a value; see :func:`conform`)."""
    if isinstance(dtype, ArrayType):
        return F.array_compact(F.array().cast(dtype))
    if isinstance(dtype, StringType):
        return F.lit("")
    if isinstance(dtype, TimestampType):
        return F.timestamp_seconds(F.lit(0))
    if isinstance(dtype, DateType):
        return F.lit(date(1970, 1, 1))
    return F.lit(0).cast(dtype)


def split(df: DataFrame, schema: StructType) -> tuple[DataFrame, DataFrame]:
    """(valid rows in ``schema``, rejects without ``ingested_at``)."""
    good = conform(df.where(F.col(REASON).isNull()), schema)
    bad = df.where(F.col(REASON).isNotNull()).select(
        F.col(SRC).alias(C.SOURCE),
        F.col(LINE).alias(C.LINE_NUMBER),
        F.col(RECORD).alias(C.RECORD),
        F.col(REASON).alias(C.REASON),
    )
    return good, bad


def finish_rejects(rejects: DataFrame, ingested_at: Column) -> DataFrame:
    """Rejects in the ``ingest_rejects`` schema, one row per (source, line, reason)."""
    keys = [C.SOURCE, C.LINE_NUMBER, C.REASON]
    return conform(
        rejects.dropDuplicates(keys).withColumn(C.INGESTED_AT, ingested_at), INGEST_REJECTS
    )
