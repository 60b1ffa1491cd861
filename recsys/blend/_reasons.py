"""Human-readable reasons: every recommendation names a movie the user actually rated.

The preferred explanation is the rated movie that contributed most to the candidate's score
(item-kNN's or content's ``because_movie_id``). When the winning sources cannot say (ALS, user-
kNN, popularity), the reason falls back to the user's rated movie sharing the most genres with
the recommendation (higher rating, then smaller id, on ties). Users with no ratings get
"popular in <genre>".

Both lookups in the user's ratings (the fallback's choice and the rating the reason quotes) run
in one cogrouped pandas UDF over blocks of users, with the genres as a broadcast bit set per
movie: the relational form (``tests/test_blend.py``) shuffled the ratings twice and
ranked (recommendations without a reason) x (that user's ratings) rows with a window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, IntegerType, LongType, StructField, StructType

from recsys import columns as C
from recsys.vectorised import csr_ranges, lookup, udf_groups


def rating_text(rating: Column) -> Column:
    """5.0 -> "5", 4.5 -> "4.5" (MovieLens scales are whole or half stars).

    Whole ratings are printed with ``%.0f`` rather than cast to int: on a scale declared at
    ingest (``--rating-scale``) a rating may exceed the int range, and the cast would fail."""
    whole = rating == F.floor(rating)
    return F.when(whole, F.format_string("%.0f", rating)).otherwise(F.format_number(rating, 1))


def rating_words(rating: float) -> str:
    """:func:`rating_text` outside Spark: 5.0 -> "5", 4.5 -> "4.5"."""
    return f"{rating:.0f}" if rating == int(rating) else f"{rating:,.1f}"


def because_sentence(title: str, rating: float) -> str:
    """:func:`because_text` outside Spark (the serving process's fold-in)."""
    return f"because you rated {title} {rating_words(rating)}/5"


def popular_sentence(genre: str | None) -> str:
    """The cold-start reason: ``popular in <genre>``, or ``popular with everyone``."""
    return "popular with everyone" if genre is None else f"popular in {genre}"


def because_text(title: Column, rating: Column) -> Column:
    return F.concat(
        F.lit("because you rated "), title, F.lit(" "), rating_text(rating), F.lit("/5")
    )


def attach_reasons(recs: DataFrame, ratings: DataFrame, movies: DataFrame) -> DataFrame:
    """``recs`` (with a nullable ``because_movie_id``) plus ``reason``.

    "because you rated Heat (1995) 5/5" for users with ratings; "popular in Drama" (the
    movie's first genre) for users without, "popular with everyone" when the movie has no
    genre (an empty ``genres`` array, e.g. "(no genres listed)"). ``because_movie_id`` is
    always a movie the user rated (or null for users without ratings); where no source named
    one, it is the user's rated movie sharing most genres with the recommendation (higher
    rating, then smaller id, on ties).
    """
    spark = recs.sparkSession
    catalogue = movies.select(C.MOVIE_ID, C.GENRES).toPandas()  # catalogue-sized
    genres = spark.sparkContext.broadcast(GenreBits.build(catalogue))
    if C.BECAUSE_MOVIE_ID not in recs.columns:
        recs = recs.withColumn(C.BECAUSE_MOVIE_ID, F.lit(None).cast("int"))
    fields = [
        StructField(C.BECAUSE_MOVIE_ID, IntegerType(), True) if f.name == C.BECAUSE_MOVIE_ID else f
        for f in recs.schema.fields
    ]
    schema = StructType([*fields, StructField(_R, DoubleType(), True)])
    block = F.pmod(F.hash(F.col(C.USER_ID).cast("int")), F.lit(udf_groups(spark, 0)))
    rated = ratings.select(C.USER_ID, C.MOVIE_ID, F.col(C.RATING).cast("double").alias(_R))

    def explain(mine: pd.DataFrame, theirs: pd.DataFrame) -> pd.DataFrame:
        return _explain_block(mine, theirs, genres.value, schema)

    explained = recs.groupBy(block).cogroup(rated.groupBy(block)).applyInPandas(explain, schema)
    titles = movies.select(F.col(C.MOVIE_ID).alias(C.BECAUSE_MOVIE_ID), F.col(C.TITLE).alias("_t"))
    # get (0-based) is null past the end: element_at would fail on an empty genres array
    own = movies.select(C.MOVIE_ID, F.get(C.GENRES, 0).alias("_genre"))
    popular = F.when(F.col("_genre").isNull(), F.lit("popular with everyone")).otherwise(
        F.concat(F.lit("popular in "), F.col("_genre"))
    )
    title = F.coalesce(F.col("_t"), F.concat(F.lit("movie "), F.col(C.BECAUSE_MOVIE_ID)))
    reason = F.when(F.col(_R).isNotNull(), because_text(title, F.col(_R))).otherwise(popular)
    return (
        explained.join(F.broadcast(titles), C.BECAUSE_MOVIE_ID, "left")
        .join(F.broadcast(own), C.MOVIE_ID, "left")
        .withColumn(C.REASON, reason)
        .withColumn(
            C.BECAUSE_MOVIE_ID,
            F.when(F.col(_R).isNotNull(), F.col(C.BECAUSE_MOVIE_ID)).cast("int"),
        )
        .drop(_R, "_t", "_genre")
    )


_R = "_r"


@dataclass(frozen=True)
class GenreBits:
    """Every movie's genres as a row of 64-bit words (bit g = genre g), so the genres two
    movies share are a popcount of an AND (duplicates count once, as ``array_intersect``)."""

    movie_ids: np.ndarray
    """Sorted; a movie not in it (or without genres) has no bits."""
    bits: np.ndarray
    """``len(movie_ids) + 1`` rows (the last is all zeros) x words."""

    @classmethod
    def build(cls, catalogue: pd.DataFrame) -> GenreBits:
        catalogue = catalogue.sort_values(C.MOVIE_ID)
        lists = [list(g) if g is not None else [] for g in catalogue[C.GENRES]]
        names = {g: i for i, g in enumerate(sorted({g for gs in lists for g in gs}))}
        bits = np.zeros((len(lists) + 1, max(1, -(-len(names) // 64))), np.uint64)
        for row, gs in enumerate(lists):
            for g in gs:
                bits[row, names[g] // 64] |= np.uint64(1) << np.uint64(names[g] % 64)
        return cls(catalogue[C.MOVIE_ID].to_numpy(np.int64), bits)

    def rows(self, movies: np.ndarray) -> np.ndarray:
        pos, known = lookup(self.movie_ids, movies)
        return np.where(known, pos, len(self.movie_ids))

    def shared(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Genres shared by movies ``a[i]`` and ``b[i]``."""
        both = self.bits[self.rows(a)] & self.bits[self.rows(b)]
        return np.bitwise_count(both).sum(axis=1, dtype=np.int64)


def explain_user(
    movies: np.ndarray, because: np.ndarray, rated: np.ndarray, ratings: np.ndarray,
    genres: GenreBits,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """One user's recommended ``movies`` with their sources' ``because`` ids (NaN for none):
    every reason movie chosen as :func:`attach_reasons` chooses it, and the user's rating of
    it (NaN where the user rated none), from the user's ``rated`` movies and ``ratings``.
    Arrays in and out, no frames (the serving process's fold-in)."""
    zeros = np.zeros(len(movies), np.int64)
    return _explain_arrays(
        zeros, np.asarray(movies, np.int64), np.asarray(because, np.float64),
        np.zeros(len(rated), np.int64), np.asarray(rated, np.int64),
        np.asarray(ratings, np.float64), genres,
    )  # fmt: skip


def _explain_block(
    recs: pd.DataFrame, rated: pd.DataFrame, genres: GenreBits, schema: StructType
) -> pd.DataFrame:
    """One block of users: each recommendation's ``because_movie_id`` (the source's, else the
    rated movie sharing most genres, higher rating, smaller id) and the user's rating of it
    (``_r``, null when the user did not rate it)."""
    because, rating = _explain_arrays(
        recs[C.USER_ID].to_numpy(np.int64),
        recs[C.MOVIE_ID].to_numpy(np.int64),
        recs[C.BECAUSE_MOVIE_ID].to_numpy(np.float64),
        rated[C.USER_ID].to_numpy(np.int64),
        rated[C.MOVIE_ID].to_numpy(np.int64),
        rated[_R].to_numpy(np.float64),
        genres,
    )
    out = recs.copy()
    out[C.BECAUSE_MOVIE_ID] = pd.array(because, dtype="Int32")  # NaN -> null
    out[_R] = rating
    for f in schema.fields:  # a nullable int column holding a null arrives as floats
        if isinstance(f.dataType, IntegerType | LongType) and out[f.name].dtype.kind == "f":
            out[f.name] = pd.array(
                out[f.name], dtype="Int32" if f.dataType == IntegerType() else "Int64"
            )
    return out[[f.name for f in schema.fields]]


def _explain_arrays(
    users: np.ndarray,
    movies: np.ndarray,
    because: np.ndarray,
    r_user: np.ndarray,
    r_movie: np.ndarray,
    r_rating: np.ndarray,
    genres: GenreBits,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_explain_block` on columns: the recommendations' reason ids (a float, NaN for
    none) and the users' ratings of them (NaN when not rated)."""
    because = because.copy()
    order = np.lexsort((r_movie, r_user))
    r_user, r_movie, r_rating = r_user[order], r_movie[order], r_rating[order]
    raters, starts = np.unique(r_user, return_index=True)
    missing = np.flatnonzero(np.isnan(because))
    at, known = lookup(raters, users[missing])
    missing, at = missing[known], at[known]
    if len(missing):
        entry, lens = csr_ranges(np.r_[starts, len(r_user)], at)
        rec = np.repeat(missing, lens)
        src, rating = r_movie[entry], r_rating[entry]
        best = np.lexsort((src, -rating, -genres.shared(movies[rec], src), rec))
        first = np.r_[True, rec[best][1:] != rec[best][:-1]]
        because[rec[best][first]] = src[best][first]
    ids = np.where(np.isnan(because), -1, because).astype(np.int64)
    pos, found = lookup((r_user << 32) | r_movie, (users << 32) | ids)
    rating = np.where(found & (ids >= 0), r_rating[pos] if len(r_rating) else np.nan, np.nan)
    return because, rating
