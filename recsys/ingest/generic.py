"""Any ratings file, CSV or Parquet, with a column mapping, plus optional movies and tags files.

The mapping names the source columns: ``user``, ``item``, ``rating`` and optionally
``timestamp`` (Unix seconds or an ISO 8601 date-time) for ratings; ``item``, ``title`` and
optionally ``genres`` (``|``-separated) and ``year`` for movies (defaults: MovieLens's
``movieId``, ``title``, ``genres``); ``user``, ``item``, ``tag`` and optionally ``timestamp``
for tags (defaults: MovieLens's ``userId``, ``movieId``, ``tag``, ``timestamp``). A CSV column
is named by its header, or by its 1-based position (``user=1``) when the file has no header.
The format follows the extension: ``.parquet`` or a folder of Parquet files, else CSV. Rejects
name the file's base name as their source; Parquet rejects number rows (1-based, per file)
instead of lines.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from recsys import columns as C
from recsys.errors import InputError
from recsys.ingest import _lines as L
from recsys.ingest import validate as V

_F = "_fields"
RATINGS_ROLES = ("user", "item", "rating", "timestamp")
MOVIES_ROLES = ("item", "title", "genres", "year")
TAGS_ROLES = ("user", "item", "tag", "timestamp")


def _empty() -> Column:
    return F.array().cast("array<string>")


DEFAULT_MOVIES_MAP = {"item": "movieId", "title": "title", "genres": "genres"}
DEFAULT_TAGS_MAP = {"user": "userId", "item": "movieId", "tag": "tag", "timestamp": "timestamp"}


def parse_mapping(
    text: str, roles: tuple[str, ...] = RATINGS_ROLES, flag: str = "--map"
) -> dict[str, str]:
    """``"user=userId,item=movieId,rating=rating"`` -> {"user": "userId", ...}."""
    mapping = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        role, sep, col = part.partition("=")
        if not sep or role.strip() not in roles or not col.strip():
            raise InputError(f"{flag} entry {part!r}: expected ROLE=COLUMN with ROLE in {roles}")
        mapping[role.strip()] = col.strip()
    return mapping


@dataclass(frozen=True)
class GenericSource:
    """A ratings file with a column mapping (and optionally a movies file)."""

    ratings: str
    mapping: dict[str, str]
    """role (user, item, rating[, timestamp]) -> column name or 1-based position."""
    movies: str | None = None
    movies_mapping: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_MOVIES_MAP))
    tags: str | None = None
    tags_mapping: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_TAGS_MAP))
    """role (user, item, tag[, timestamp]) -> column name or 1-based position."""
    sep: str = ","
    header: bool = True
    scale: V.RatingScale = V.HALF_STARS


def _is_parquet(path: str) -> bool:
    p = Path(path)
    return path.endswith(".parquet") or (p.is_dir() and any(p.glob("*.parquet")))


def _check_exists(spark: SparkSession, path: str) -> None:
    if "://" in path and not path.startswith("file:"):
        jvm = spark.sparkContext._jvm
        hp = jvm.org.apache.hadoop.fs.Path(path)
        fs = hp.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
        if not fs.exists(hp):
            raise InputError(f"{path}: file not found")
        return
    p = Path(path).expanduser()
    if not p.exists():
        raise InputError(f"{path}: file not found")
    if p.is_file() and p.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty (expected a header or data lines)")


def _header(spark: SparkSession, path: str) -> str:
    if "://" in path and not path.startswith("file:"):
        row = spark.read.option("lineSep", "\n").text(path).first()
        return "" if row is None else row[0].rstrip("\r")
    with open(os.path.expanduser(path), "rb") as fh:
        return fh.readline(1 << 16).rstrip(b"\r\n").decode("utf-8", "replace")


def _positions(names: list[str] | None, n: int, mapping: dict[str, str], path: str) -> dict:
    """role -> 0-based field index."""
    out = {}
    for role, col in mapping.items():
        if names is not None and col in names:
            out[role] = names.index(col)
        elif col.isdigit() and 1 <= int(col) <= n:
            out[role] = int(col) - 1
        else:
            have = ", ".join(names) if names is not None else f"positions 1-{n}"
            raise InputError(f"{path}: no column {col!r} for {role}; the file has {have}")
    return out


def _csv_fields(
    spark: SparkSession, path: str, source: GenericSource, mapping: dict[str, str]
) -> tuple[DataFrame, int, dict[str, int]]:
    """Lines split into fields, the expected field count, and the mapped positions."""
    first = _header(spark, path)
    if not first.strip():
        raise InputError(f"{path}: the first line is empty (expected a header or data)")
    quote_free = first.replace('"', "")
    names = [c.strip() for c in quote_free.split(source.sep)]
    n = len(names)
    pos = _positions(names if source.header else None, n, mapping, path)
    lines = L.drop_blank(L.read_lines(spark, path, os.path.basename(path.rstrip("/"))))
    if source.header:
        lines = L.drop_header(lines)
    lines = V.flag(lines, (~L.csv_quotes_balanced(F.col(V.RECORD)), V.Reason.MALFORMED_LINE))
    return lines.withColumn(_F, L.split_csv(F.col(V.RECORD), source.sep)), n, pos


def _parquet_fields(
    spark: SparkSession, path: str, mapping: dict[str, str]
) -> tuple[DataFrame, int, dict[str, int]]:
    """Rows with the mapped columns as text fields, numbered per file via ``row_index``."""
    try:
        df = spark.read.parquet(path)
    except AnalysisException as exc:
        raise InputError(
            f"{path}: not a readable Parquet file or folder ({exc.getMessage()[:120]})"
        ) from exc
    missing = [c for c in mapping.values() if c not in df.columns]
    if missing:
        raise InputError(f"{path}: no column(s) {missing}; the file has {df.columns}")
    roles = list(mapping)
    base = os.path.basename(path.rstrip("/"))
    src = (
        F.lit(base)
        if path.endswith(".parquet")
        else F.concat_ws("/", F.lit(base), F.col("_metadata.file_name"))
    )
    out = df.select(
        src.alias(V.SRC),
        (F.col("_metadata.row_index") + 1).alias(V.LINE),
        F.to_json(F.struct(*df.columns)).alias(V.RECORD),
        F.lit(None).cast("string").alias(V.REASON),
        F.array(*[F.col(mapping[r]).cast("string") for r in roles]).alias(_F),
    )
    return out, len(roles), {r: i for i, r in enumerate(roles)}


def _fields(spark: SparkSession, path: str, source: GenericSource, mapping: dict[str, str]):
    _check_exists(spark, path)
    if _is_parquet(path):
        return _parquet_fields(spark, path, mapping)
    return _csv_fields(spark, path, source, mapping)


def _at(pos: dict[str, int], role: str) -> Column:
    return F.try_element_at(F.col(_F), F.lit(pos[role] + 1))


def _require_roles(mapping: dict[str, str], need: tuple[str, ...], flag: str) -> None:
    missing = [r for r in need if r not in mapping]
    if missing:
        example = ",".join(f"{r}=COL" for r in need)
        raise InputError(f"{flag} lacks {missing}; e.g. {flag} {example}")


def parse_generic(spark: SparkSession, source: GenericSource) -> dict[str, DataFrame]:
    """Parsed frames for ratings (and movies, tags); checks every file before any is read."""
    _require_roles(source.mapping, ("user", "item", "rating"), "--map")
    _require_roles(source.movies_mapping, ("item", "title"), "--movies-map")
    _require_roles(source.tags_mapping, ("user", "item", "tag"), "--tags-map")
    ratings, n, pos = _fields(spark, source.ratings, source, source.mapping)
    movies = tags = None
    if source.movies:
        movies = _fields(spark, source.movies, source, source.movies_mapping)
    if source.tags:
        tags = _fields(spark, source.tags, source, source.tags_mapping)
    ts = _at(pos, "timestamp") if "timestamp" in pos else F.lit(None).cast("string")
    df = ratings.select(
        "*",
        V.parse_int(_at(pos, "user")).alias(C.USER_ID),
        V.parse_int(_at(pos, "item")).alias(C.MOVIE_ID),
        V.parse_double(_at(pos, "rating")).alias(C.RATING),
        V.parse_timestamp(ts).alias(C.RATED_AT),
    )
    out = {
        C.T_RATINGS: V.flag(
            df,
            V.field_count_rule(F.col(_F), n),
            *V.id_rules(C.USER_ID, C.MOVIE_ID),
            *V.rating_rules(C.RATING, source.scale),
            *V.timestamp_rules(ts, C.RATED_AT, required="timestamp" in pos),
        ).drop(_F)
    }
    if movies is not None:
        out[C.T_MOVIES] = _movies(*movies)
    if tags is not None:
        out[C.T_TAGS] = _tags(*tags)
    return out


def _movies(df: DataFrame, n: int, pos: dict[str, int]) -> DataFrame:
    title = F.trim(_at(pos, "title"))
    genres = V.genre_list(_at(pos, "genres")) if "genres" in pos else _empty()
    year = V.parse_int(_at(pos, "year")) if "year" in pos else V.year_from_title(title)
    parsed = df.select(
        "*",
        V.parse_int(_at(pos, "item")).alias(C.MOVIE_ID),
        title.alias(C.TITLE),
        year.alias(C.YEAR),
        F.coalesce(genres, _empty()).alias(C.GENRES),
        F.lit(None).cast("date").alias(C.RELEASE_DATE),
    )
    return V.flag(
        parsed,
        V.field_count_rule(F.col(_F), n),
        *V.id_rules(C.MOVIE_ID),
        (F.coalesce(F.col(C.TITLE), F.lit("")) == "", V.Reason.MISSING_VALUE),
    ).drop(_F)


def _tags(df: DataFrame, n: int, pos: dict[str, int]) -> DataFrame:
    """The same rules as MovieLens's tags.csv; the timestamp is optional unless mapped."""
    ts = _at(pos, "timestamp") if "timestamp" in pos else F.lit(None).cast("string")
    parsed = df.select(
        "*",
        V.parse_int(_at(pos, "user")).alias(C.USER_ID),
        V.parse_int(_at(pos, "item")).alias(C.MOVIE_ID),
        F.trim(_at(pos, "tag")).alias(C.TAG),
        V.parse_timestamp(ts).alias(C.TAGGED_AT),
    )
    return V.flag(
        parsed,
        V.field_count_rule(F.col(_F), n),
        *V.id_rules(C.USER_ID, C.MOVIE_ID),
        (F.coalesce(F.col(C.TAG), F.lit("")) == "", V.Reason.MISSING_VALUE),
        *V.timestamp_rules(ts, C.TAGGED_AT, required="timestamp" in pos),
    ).drop(_F)
