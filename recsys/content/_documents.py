"""Movie metadata -> one bag of prefixed tokens per movie (the "document" TF-IDF weighs).

Every token carries its field as a prefix (``genre_sci_fi``, ``tag_time_travel``,
``title_matrix``, ``decade_1990s``, ``era_blockbuster``) so that the same word coming from two
fields stays two features, and a vocabulary entry says where it came from.

Fields are data: :data:`DEFAULT_FIELDS` maps a column of ``movies`` to a *tokenizer*, a function
from that column to an ``array<string>`` column. To use more metadata when a catalogue has it,
pass ``fields`` with extra entries::

    fields = {
        **DEFAULT_FIELDS,
        "director": value_tokens("director"),   # string or array<string>: one token per value
        "cast": value_tokens("cast"),           # e.g. cast_tom_hanks
        "plot": word_tokens("plot"),            # free text: words minus English stop words
    }
    documents = build_documents(movies, tags, fields=fields)

User tags (from ``tags``) and the release-time tokens (from ``year``, else the release date,
else a ``(1995)`` at the end of the title) are always added. Placeholder values GroupLens uses
for "missing" (title ``unknown``, genre ``(no genres listed)`` / ``unknown``) produce no token,
so a movie with no real metadata gets no document and hence no neighbours.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping

from pyspark.ml.feature import StopWordsRemover
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType

from recsys import columns as C

Tokenizer = Callable[[Column], Column]
"""Maps one metadata column to an ``array<string>`` column of prefixed tokens."""


@functools.cache
def stop_words() -> tuple[str, ...]:
    """Spark's English stop-word list (read from the JVM, so only once a session exists)."""
    return tuple(StopWordsRemover.loadDefaultStopWords("english"))


# Values that mean "nothing known" in the MovieLens files; they must not make movies similar.
PLACEHOLDERS: tuple[str, ...] = ("", "unknown", "no_genres_listed", "none", "n_a")

# A year (or year range such as 2006-2007 for series) in parentheses at the end of a title.
TITLE_YEAR = r"\s*\(\s*(\d{4})(?:\s*[-–]\s*\d{0,4})?\s*\)\s*$"

# (first year, token) of film-history eras, oldest first; coarser than decades.
ERAS: tuple[tuple[int, str], ...] = (
    (0, "silent"),
    (1930, "golden_age"),
    (1960, "new_hollywood"),
    (1980, "blockbuster"),
    (2000, "digital"),
)


def slug(col: Column) -> Column:
    """Lower-case, drop apostrophes, join the remaining words with ``_`` (``Sci-Fi`` -> sci_fi)."""
    lowered = F.regexp_replace(F.lower(F.trim(col)), r"['’`]", "")
    words = F.regexp_replace(lowered, r"[^\p{L}\p{N}]+", " ")
    return F.regexp_replace(F.trim(words), " ", "_")


def _prefixed(values: Column, prefix: str) -> Column:
    """``prefix_<slug>`` for every array element that is not a placeholder."""
    slugs = F.transform(values, slug)
    kept = F.filter(slugs, lambda s: s.isNotNull() & ~s.isin(*PLACEHOLDERS))
    return F.transform(kept, lambda s: F.concat(F.lit(f"{prefix}_"), s))


def value_tokens(prefix: str) -> Tokenizer:
    """One token per value (genres, director, cast): ``Tom Hanks`` -> cast_tom_hanks.

    Meant for ``array<string>`` columns; :func:`build_documents` wraps a plain string column
    into a one-element array first (the tokenizer is marked ``expects_array``).
    """

    def tokenize(values: Column) -> Column:
        return _prefixed(F.coalesce(values, F.array().cast("array<string>")), prefix)

    tokenize.expects_array = True  # type: ignore[attr-defined]
    return tokenize


def word_tokens(prefix: str) -> Tokenizer:
    """Words of free text (plot, title) minus English stop words, digits-only words and
    single letters; e.g. ``The Matrix Reloaded`` -> title_matrix, title_reloaded."""

    def tokenize(col: Column) -> Column:
        text = F.regexp_replace(F.lower(F.coalesce(col, F.lit(""))), r"['’`]", "")
        words = F.split(text, r"[^\p{L}\p{N}]+")
        dropped = (*stop_words(), *PLACEHOLDERS)
        kept = F.filter(words, lambda w: (F.length(w) > 1) & ~w.rlike(r"^\d+$") & ~w.isin(*dropped))
        return F.transform(kept, lambda w: F.concat(F.lit(f"{prefix}_"), w))

    return tokenize


def title_tokens(col: Column) -> Column:
    """Title words without the trailing ``(1995)``; the year becomes era tokens instead."""
    return word_tokens("title")(F.regexp_replace(col, TITLE_YEAR, ""))


DEFAULT_FIELDS: dict[str, Tokenizer] = {
    C.GENRES: value_tokens("genre"),
    C.TITLE: title_tokens,
}


def release_year(movies: DataFrame) -> Column:
    """The ``year`` column, else the release date's year (ml-100k), else a year in the title."""
    from_title = F.regexp_extract(F.col(C.TITLE), TITLE_YEAR, 1)
    candidates = [F.when(from_title != "", from_title.cast("int"))]
    if C.RELEASE_DATE in movies.columns:
        candidates.insert(0, F.year(F.col(C.RELEASE_DATE)))
    if C.YEAR in movies.columns:
        candidates.insert(0, F.col(C.YEAR))
    return F.coalesce(*candidates)


def time_tokens(year: Column) -> Column:
    """``decade_1990s`` and ``era_<name>`` for a known year, nothing otherwise."""
    decade = F.concat(F.lit("decade_"), (F.floor(year / 10) * 10).cast("string"), F.lit("s"))
    era = F.lit(f"era_{ERAS[0][1]}")
    for start, name in ERAS[1:]:
        era = F.when(year >= start, F.lit(f"era_{name}")).otherwise(era)
    return F.when(year.isNull(), F.array().cast("array<string>")).otherwise(F.array(decade, era))


def tag_tokens(tags: DataFrame) -> DataFrame:
    """(movie_id, tokens): each normalised tag repeated ``1 + floor(log2(users))`` times, where
    ``users`` is how many distinct users applied it, so consensus tags weigh more while one
    enthusiastic tagger cannot dominate (log damping)."""
    token = F.concat(F.lit("tag_"), slug(F.col(C.TAG)))
    users = (
        tags.where(slug(F.col(C.TAG)).isNotNull() & ~slug(F.col(C.TAG)).isin(*PLACEHOLDERS))
        .select(C.MOVIE_ID, C.USER_ID, token.alias(C.TOKENS))
        .groupBy(C.MOVIE_ID, C.TOKENS)
        .agg(F.countDistinct(C.USER_ID).alias("_users"))
    )
    repeats = (1 + F.floor(F.log2(F.col("_users")))).cast("int")
    return users.select(C.MOVIE_ID, F.array_repeat(F.col(C.TOKENS), repeats).alias(C.TOKENS))


def _input(movies: DataFrame, name: str, tokenize: Tokenizer) -> Column:
    col = F.col(name)
    wants_array = getattr(tokenize, "expects_array", False)
    if wants_array and not isinstance(movies.schema[name].dataType, ArrayType):
        return F.when(col.isNull(), F.lit(None)).otherwise(F.array(col.cast("string")))
    return col


def build_documents(
    movies: DataFrame,
    tags: DataFrame | None = None,
    fields: Mapping[str, Tokenizer] | None = None,
) -> DataFrame:
    """(movie_id, tokens array<string>) for every movie with at least one token.

    Tokens are sorted so a document is deterministic whatever the input order; a movie listed
    twice gets the union of its rows' tokens.
    """
    fields = DEFAULT_FIELDS if fields is None else fields
    missing = [name for name in fields if name not in movies.columns]
    if missing:
        raise ValueError(f"build_documents: movies has no column(s) {missing} named in fields")
    parts = [tokenize(_input(movies, name, tokenize)) for name, tokenize in fields.items()]
    parts.append(time_tokens(release_year(movies)))
    per_row = movies.select(F.col(C.MOVIE_ID), F.flatten(F.array(*parts)).alias(C.TOKENS))
    if tags is not None:
        per_row = per_row.unionByName(tag_tokens(tags))
    return (
        per_row.groupBy(C.MOVIE_ID)
        .agg(F.array_sort(F.flatten(F.collect_list(C.TOKENS))).alias(C.TOKENS))
        .where(F.size(C.TOKENS) > 0)
    )
