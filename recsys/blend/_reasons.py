"""Human-readable reasons: every recommendation names a movie the user actually rated.

The preferred explanation is the rated movie that contributed most to the candidate's score
(item-kNN's or content's ``because_movie_id``). When the winning sources cannot say (ALS, user-
kNN, popularity), the reason falls back to the user's rated movie sharing the most genres with
the recommendation (higher rating, then smaller id, on ties). Users with no ratings get
"popular in <genre>".
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from recsys import columns as C


def rating_text(rating: Column) -> Column:
    """5.0 -> "5", 4.5 -> "4.5" (MovieLens scales are whole or half stars).

    Whole ratings are printed with ``%.0f`` rather than cast to int: on a scale declared at
    ingest (``--rating-scale``) a rating may exceed the int range, and the cast would fail."""
    whole = rating == F.floor(rating)
    return F.when(whole, F.format_string("%.0f", rating)).otherwise(F.format_number(rating, 1))


def because_text(title: Column, rating: Column) -> Column:
    return F.concat(
        F.lit("because you rated "), title, F.lit(" "), rating_text(rating), F.lit("/5")
    )


def fill_because(recs: DataFrame, ratings: DataFrame, movies: DataFrame) -> DataFrame:
    """Set a null ``because_movie_id`` to the user's rated movie sharing most genres with the
    recommended one. Bounded: (recommendations without a reason) x (that user's ratings)."""
    missing = recs.where(F.col(C.BECAUSE_MOVIE_ID).isNull()).select(C.USER_ID, C.MOVIE_ID)
    genres = movies.select(C.MOVIE_ID, F.coalesce(C.GENRES, F.array()).alias("_g"))
    rated = ratings.select(
        C.USER_ID, F.col(C.MOVIE_ID).alias("_src"), F.col(C.RATING).alias("_r")
    ).join(genres.withColumnRenamed(C.MOVIE_ID, "_src").withColumnRenamed("_g", "_sg"), "_src",
           "left")  # fmt: skip
    pairs = missing.join(genres, C.MOVIE_ID, "left").join(rated, C.USER_ID)
    overlap = F.size(F.array_intersect(F.coalesce("_g", F.array()), F.coalesce("_sg", F.array())))
    order = Window.partitionBy(C.USER_ID, C.MOVIE_ID).orderBy(
        overlap.desc(), F.col("_r").desc(), F.col("_src")
    )
    best = (
        pairs.withColumn("_pos", F.row_number().over(order))
        .where(F.col("_pos") == 1)
        .select(C.USER_ID, C.MOVIE_ID, F.col("_src").cast("int").alias("_fill"))
    )
    return (
        recs.join(best, [C.USER_ID, C.MOVIE_ID], "left")
        .withColumn(C.BECAUSE_MOVIE_ID, F.coalesce(C.BECAUSE_MOVIE_ID, "_fill"))
        .drop("_fill")
    )


def attach_reasons(recs: DataFrame, ratings: DataFrame, movies: DataFrame) -> DataFrame:
    """``recs`` (with a nullable ``because_movie_id``) plus ``reason``.

    "because you rated Heat (1995) 5/5" for users with ratings; "popular in Drama" (the
    movie's first genre) for users without, "popular with everyone" when the movie has no
    genre (an empty ``genres`` array, e.g. "(no genres listed)"). ``because_movie_id`` is
    always a movie the user rated (or null for users without ratings).
    """
    filled = fill_because(recs, ratings, movies)
    because = ratings.select(
        C.USER_ID, F.col(C.MOVIE_ID).alias(C.BECAUSE_MOVIE_ID), F.col(C.RATING).alias("_r")
    ).join(
        movies.select(F.col(C.MOVIE_ID).alias(C.BECAUSE_MOVIE_ID), F.col(C.TITLE).alias("_t")),
        C.BECAUSE_MOVIE_ID,
        "left",
    )
    # get (0-based) is null past the end: element_at would fail on an empty genres array
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
