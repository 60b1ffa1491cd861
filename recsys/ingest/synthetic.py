"""Seeded synthetic MovieLens-like data, generated in Spark: the built-in default dataset.

Every value is a pure function of ``(seed, ids)``: pseudo-random numbers come from
``xxhash64(seed, salt, ids)`` rather than ``rand()``, so a seed gives the same rows however the
data is partitioned or scheduled, and no row ever passes through the driver.

The model, chosen so that recommenders have something to learn:

- movies have 1-3 genres (weighted like MovieLens), a year skewed recent, a title built from
  word lists whose noun depends on the primary genre, a hidden quality and latent factors;
- movie popularity follows a power law: a rating's movie is drawn by the inverse CDF of a
  Zipf-like law over popularity ranks, over all movies, or (``taste_share`` of draws) within
  one of the user's liked genres, or (``niche_share``) within one of the user's two "niches":
  small hidden clusters of movies (like a director's or a scene's following) that genres do
  not reveal, so collaborative filtering has more to learn than genre matching;
- users have 1-3 liked genres and maybe one disliked genre, a bias, latent factors, a
  heavy-tailed (log-normal, at least 5) number of ratings and an active period;
- rating = clip(mean + user bias + movie quality + genre taste + latent match + noise) on the
  0.5-5 half-star scale (some users give whole stars only);
- a few "tagger" users tag some movies they rated, from genre vocabularies and generic tags.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from recsys import columns as C
from recsys import schemas
from recsys.errors import InputError
from recsys.ingest._synthetic_vocab import (
    ADJECTIVES,
    GENERIC_TAGS,
    GENRE_NAMES,
    GENRE_WEIGHTS,
    GENRES,
    NEGATIVE_TAGS,
    NOUNS_PER_GENRE,
    OCCUPATION_WEIGHTS,
    OCCUPATIONS,
    PLACES,
    TAGS_PER_GENRE,
)

_MASK53 = (1 << 53) - 1
_BELOW_ONE = 1.0 - 2.0**-53  # the largest double below 1
_BUCKETS = 1024
_LATENT_DIMS = 4
_NICHE_POOLS = 1000  # pool ids: -1 all movies, 0-17 genres, 1000 + k niche k
_TAGGER_SHARE = 0.15


@dataclass(frozen=True)
class SyntheticConfig:
    """Size and shape of a synthetic dataset; the same spec always gives the same rows."""

    users: int = 2000
    """Number of users (ids 1..users)."""
    movies: int = 1500
    """Number of movies (ids 1..movies); a few of the least popular may get no rating."""
    ratings_per_user: int = 50
    """Mean ratings per user; per-user counts are log-normal (heavy-tailed), at least 5 and at
    most a quarter of the movies."""
    seed: int = 42
    """Seed of every pseudo-random choice."""
    tag_rate: float = 0.03
    """Fraction of ratings that also produce a tag (made by ~15% of users, the "taggers")."""
    popularity_exponent: float = 1.0
    """Exponent ``a`` of the power law P(rank r) ~ r^-a that picks which movie is rated."""
    taste_share: float = 0.25
    """Fraction of a user's picks drawn among movies of the user's liked genres."""
    niche_share: float = 0.5
    """Fraction of a user's picks drawn among movies of the user's two niches."""
    movies_per_niche: int = 20
    """Mean movies per niche (hidden taste cluster); ``movies // movies_per_niche`` niches."""
    activity_sigma: float = 1.0
    """Sigma of the log-normal number of ratings per user (larger: heavier tail)."""
    noise: float = 0.6
    """Standard deviation of the rating noise, in stars."""
    first_year: int = 1920
    """Oldest movie year; the newest is ``end.year``; years are skewed recent."""
    start: date = date(1996, 1, 1)
    """First day ratings and tags can carry (UTC)."""
    end: date = date(2024, 12, 31)
    """Last day ratings and tags can carry (UTC)."""


SYNTHETIC_SIZES: dict[str, SyntheticConfig] = {
    "tiny": SyntheticConfig(users=150, movies=300, ratings_per_user=20),
    "small": SyntheticConfig(users=600, movies=1000, ratings_per_user=50),
    "default": SyntheticConfig(),
    "1m": SyntheticConfig(users=7500, movies=4000, ratings_per_user=167),
    "10m": SyntheticConfig(users=82000, movies=10000, ratings_per_user=143),
    "25m": SyntheticConfig(users=186000, movies=60000, ratings_per_user=156),
}
"""Presets by name; approximate rating counts: tiny 3k, small 30k, default 100k, 1m 1M,
10m 10M, 25m 25M."""


# --- pseudo-random columns --------------------------------------------------------------------


def _key(seed: int, salt: str) -> int:
    """A signed 64-bit key mixing seed and salt, so each hash takes one long, not a string."""
    digest = hashlib.blake2b(f"{seed}/{salt}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _unit(h: Column) -> Column:
    """A 53-bit hash -> (0, 1). ``(h + 0.5) / 2^53`` rounds to exactly 1.0 for h = 2^53 - 1
    (and only there), which would index one past the end of a lookup table or give
    ``make_date`` month 13 (both fail under ANSI): that one value is clamped below 1."""
    return F.least((h.cast("double") + 0.5) * (1.0 / (1 << 53)), F.lit(_BELOW_ONE))


def _uniform(seed: int, salt: str, *cols: Column) -> Column:
    """Uniform in (0, 1) from a hash of (seed, salt, cols): independent of partitioning."""
    return _unit(F.xxhash64(F.lit(_key(seed, salt)), *cols).bitwiseAND(F.lit(_MASK53)))


def _normal(seed: int, salt: str, *cols: Column) -> Column:
    """Standard normal by Box-Muller from two hashed uniforms."""
    u1, u2 = _uniform(seed, salt + "/1", *cols), _uniform(seed, salt + "/2", *cols)
    return F.sqrt(-2.0 * F.log(u1)) * F.cos(2.0 * math.pi * u2)


def _sql_literal(value: object) -> str:
    if isinstance(value, tuple | list):
        return "array(" + ", ".join(map(_sql_literal, value)) + ")"
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return repr(float(value))


def _literal(value: tuple | list) -> Column:
    """A (nested) array literal, parsed once by Spark instead of one JVM call per element."""
    return F.expr(_sql_literal(value))


def _pick(u: Column, weights: tuple[float, ...]) -> Column:
    """Index in [0, len(weights)) drawn with the given weights: the inverse CDF of ``u``
    tabulated on 1024 buckets, looked up in one array literal (:func:`_int_array`: a single
    literal node, where ``array(0, 0, ..., 19)`` was 1,024 expressions Spark re-analysed in every
    plan, and a chain of ``bucket >= start`` tests per step made 1M ratings 2.4x slower to
    generate). ``u`` outside [0, 1) takes the first or last index."""
    total, cdf, acc = float(sum(weights)), [], 0.0
    for w in weights:
        acc += w / total
        cdf.append(acc)
    table, i = [], 0
    for b in range(_BUCKETS):
        while i < len(cdf) - 1 and (b + 0.5) / _BUCKETS >= cdf[i]:
            i += 1
        table.append(i)
    bucket = F.least(F.greatest(F.floor(u * _BUCKETS).cast("int"), F.lit(0)), F.lit(_BUCKETS - 1))
    looked_up = F.element_at(_int_array(table), bucket + 1)
    return F.coalesce(looked_up, F.lit(0))  # never null (clamped): a non-null column


def _int_array(values: list[int]) -> Column:
    """An int array literal built from one string: the optimiser folds ``split`` + ``cast`` of a
    literal into a single literal node once per plan, where ``F.lit(numpy array)`` made one JVM
    call per element (2.3 s of the default dataset's 5 s of plan building)."""
    return F.split(F.lit(",".join(map(str, values))), ",").cast("array<int>")


def _lookup(values: tuple[str, ...], index: Column) -> Column:
    """``values[index]`` (0-based) as a non-null string column (``values[0]`` out of range)."""
    return F.coalesce(F.get(_literal(values), index), F.lit(values[0]))


def _zipf_rank(u: Column, n: Column, exponent: float) -> Column:
    """Rank in [1, n] with P(r) ~ r^-exponent: inverse CDF of the continuous law on [1, n+1)."""
    if abs(exponent - 1.0) < 1e-9:
        x = F.pow(n + 1, u)
    else:
        e = 1.0 - exponent
        x = F.pow(1.0 + u * (F.pow(n + 1, F.lit(e)) - 1.0), F.lit(1.0 / e))
    return F.least(F.floor(x).cast("int"), n.cast("int"))


def _coprime_near(n: int, fraction: float) -> int:
    """A multiplier coprime with ``n`` so ``r -> r * p mod n`` permutes popularity ranks."""
    p = max(1, int(n * fraction)) | 1
    while math.gcd(p, n) != 1:
        p += 2
    return p


def _niches(spec: SyntheticConfig) -> int:
    return max(1, spec.movies // max(1, spec.movies_per_niche))


def _epoch(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())


# --- movies and users as pure functions of their ids -------------------------------------------


def _movies_full(spark: SparkSession, spec: SyntheticConfig, partitions: int) -> DataFrame:
    """Movies with the hidden columns the ratings need (popularity rank, quality, factors)."""
    s, m = spec.seed, spec.movies
    mid = F.col(C.MOVIE_ID)

    def u(salt: str) -> Column:
        return _uniform(s, "movie/" + salt, mid)

    mult = _coprime_near(m, 0.6180339887)
    inverse = pow(mult, -1, m) if m > 1 else 0
    rank = ((mid.cast("long") - 1) * inverse % m + 1).cast("int")  # 1 = most popular
    n_genres = _pick(u("n_genres"), (0.45, 0.40, 0.15)) + 1
    picks = [_pick(u(f"genre{i}"), GENRE_WEIGHTS) for i in range(3)]
    genre_idx = F.array_distinct(F.slice(F.array(*picks), 1, n_genres))
    span = spec.end.year - spec.first_year + 1
    year = F.lit(spec.end.year) - F.coalesce(F.floor(F.pow(u("year"), 1.8) * span), F.lit(0))
    year = year.cast("int")
    release = F.least(
        F.make_date(
            year, F.floor(u("month") * 12).cast("int") + 1, F.floor(u("day") * 28).cast("int") + 1
        ),
        F.lit(spec.end),
    )
    primary = F.element_at(genre_idx, 1)
    nouns = _literal([nn for _, nn, _ in GENRES.values()])
    noun = F.coalesce(
        F.get(F.get(nouns, primary), F.floor(u("noun") * NOUNS_PER_GENRE).cast("int")),
        F.lit("Movie"),
    )
    adj = _lookup(ADJECTIVES, F.floor(u("adj") * len(ADJECTIVES)).cast("int"))
    place = _lookup(PLACES, F.floor(u("place") * len(PLACES)).cast("int"))
    pattern = _pick(u("pattern"), (0.35, 0.25, 0.25, 0.15))
    name = (
        F.when(pattern == 0, F.concat_ws(" ", F.lit("The"), adj, noun))
        .when(pattern == 1, F.concat_ws(" ", adj, noun))
        .when(pattern == 2, F.concat_ws(" ", noun, F.lit("of the"), place))
        .otherwise(F.concat_ws(" ", F.lit("The"), noun, F.lit("of"), adj, place))
    )
    quality = 0.4 * _normal(s, "movie/quality", mid) + 0.3 * (
        0.5 - F.log(rank.cast("double")) / math.log(m + 1)
    )
    return (
        spark.range(1, m + 1, numPartitions=partitions)
        .select(F.col("id").cast("int").alias(C.MOVIE_ID))
        .select(
            mid,
            F.concat(name, F.lit(" ("), year.cast("string"), F.lit(")")).alias(C.TITLE),
            year.alias(C.YEAR),
            F.array_sort(F.transform(genre_idx, lambda g: _lookup(GENRE_NAMES, g))).alias(C.GENRES),
            release.alias(C.RELEASE_DATE),
            genre_idx.alias("genre_idx"),
            F.floor(u("niche") * _niches(spec)).cast("int").alias("niche"),
            rank.alias("pop_rank"),
            quality.alias("quality"),
            *[(u(f"factor{k}") * 2 - 1).alias(f"mf{k}") for k in range(_LATENT_DIMS)],
            F.unix_timestamp(release.cast("timestamp")).alias("release_ts"),
        )
    )


def _user_cols(spec: SyntheticConfig) -> dict[str, Column]:
    """Hidden user attributes as expressions of ``user_id`` (evaluated wherever needed)."""
    s, uid = spec.seed, F.col(C.USER_ID)

    def u(salt: str) -> Column:
        return _uniform(s, "user/" + salt, uid)

    n_liked = _pick(u("n_liked"), (0.3, 0.5, 0.2)) + 1
    picks = [_pick(u(f"liked{i}"), GENRE_WEIGHTS) for i in range(3)]
    liked = F.array_distinct(F.slice(F.array(*picks), 1, n_liked))
    disliked = _pick(u("disliked"), GENRE_WEIGHTS)
    sigma = spec.activity_sigma
    wanted = 5 + (spec.ratings_per_user - 5) * F.exp(
        sigma * _normal(s, "user/n", uid) - sigma**2 / 2
    )
    cap = max(5, spec.movies // 4)
    t0, t1 = _epoch(spec.start), _epoch(spec.end) + 86399
    first = F.lit(t0) + F.floor(u("first") * (t1 - t0))
    active = F.lit(t1 - t0) * F.pow(u("active"), 2)
    return {
        "liked": liked,
        "niches": F.array_distinct(
            F.array(*[F.floor(u(f"niche{i}") * _niches(spec)).cast("int") for i in range(2)])
        ),
        "disliked": F.when(F.array_contains(liked, disliked), -1).otherwise(disliked),
        # capped before the cast: a large ratings_per_user or activity_sigma can exceed the int
        # range for a few users, and the cast would fail (ANSI) before least() capped it
        "n_wanted": F.least(F.floor(wanted), F.lit(cap)).cast("int"),
        "bias": 0.35 * _normal(s, "user/bias", uid),
        "whole_stars": u("whole") < 0.35,
        "tagger": u("tagger") < _TAGGER_SHARE,
        **{f"uf{k}": u(f"factor{k}") * 2 - 1 for k in range(_LATENT_DIMS)},
        "t_first": first,
        "t_last": F.least(first + active, F.lit(t1)),
    }


def _users(spark: SparkSession, spec: SyntheticConfig, partitions: int) -> DataFrame:
    s, uid = spec.seed, F.col(C.USER_ID)
    age = 15 + F.floor(F.pow(_uniform(s, "user/age", uid), 1.6) * 56).cast("int")
    zip_code = F.lpad(F.floor(_uniform(s, "user/zip", uid) * 99999).cast("string"), 5, "0")
    return (
        spark.range(1, spec.users + 1, numPartitions=partitions)
        .select(
            F.col("id").cast("int").alias(C.USER_ID),
        )
        .select(
            uid,
            age.alias(C.AGE),
            F.when(_uniform(s, "user/gender", uid) < 0.71, F.lit("M"))
            .otherwise("F")
            .alias(C.GENDER),
            _lookup(OCCUPATIONS, _pick(_uniform(s, "user/occ", uid), OCCUPATION_WEIGHTS)).alias(
                C.OCCUPATION
            ),
            zip_code.alias(C.ZIP_CODE),
        )
    )


# --- ratings and tags --------------------------------------------------------------------------


def _pools(movies: DataFrame) -> DataFrame:
    """(pool, pool_rank) -> movie_id: pool -1 holds all movies by popularity, pool g the movies
    of genre g, pool 1000 + k those of niche k; small (a few rows per movie): broadcast."""
    niche = F.array(F.col("niche") + _NICHE_POOLS)
    pool = F.explode(F.concat(F.array(F.lit(-1)), F.col("genre_idx"), niche)).alias("pool")
    return movies.select(C.MOVIE_ID, "pop_rank", pool).select(
        "pool",
        F.row_number().over(Window.partitionBy("pool").orderBy("pop_rank")).alias("pool_rank"),
        C.MOVIE_ID,
    )


def _rated_pairs(
    spark: SparkSession,
    spec: SyntheticConfig,
    user: dict[str, Column],
    movies: DataFrame,
    parts: int,
    taggers_only: bool,
) -> DataFrame:
    """Distinct (user_id, movie_id) pairs: each user's first ``n_wanted`` distinct draws.

    A user's pairs depend on nothing but the user, so ``taggers_only`` recomputes exactly the
    taggers' ratings (for the tags) at ~15% of the cost instead of re-reading all ratings."""
    s, uid = spec.seed, F.col(C.USER_ID)
    pools = _pools(movies)
    sizes = pools.groupBy("pool").agg(F.max("pool_rank").alias("pool_size"))
    # users hit popular and niche movies again and again: draw more so enough distinct remain
    oversample = 2.0 + 3.0 * user["n_wanted"] / spec.movies
    users = spark.range(1, spec.users + 1, numPartitions=parts).select(
        F.col("id").cast("int").alias(C.USER_ID)
    )
    if taggers_only:
        users = users.where(user["tagger"])
    # The draws' per-user attributes come from a broadcast join, computed once per user: selected
    # next to the explode, the optimiser moved them past it and evaluated them for every draw,
    # twice (and in the join's inferred not-null filter): 17 s of 1M ratings' 22 s, against 4 s.
    attrs = users.select(
        uid,
        user["liked"].alias("liked"),
        user["niches"].alias("niches"),
        user["n_wanted"].alias("n_wanted"),
    )
    draws = users.select(
        uid,
        F.explode(F.sequence(F.lit(1), (user["n_wanted"] * oversample).cast("int") + 3)).alias(
            "draw"
        ),
    ).join(F.broadcast(attrs), C.USER_ID)
    d = F.col("draw")
    liked_pick = F.element_at(
        "liked", F.floor(_uniform(s, "draw/genre", uid, d) * F.size("liked")).cast("int") + 1
    )
    niche_pick = F.element_at(
        "niches", F.floor(_uniform(s, "draw/niche", uid, d) * F.size("niches")).cast("int") + 1
    )
    source = _uniform(s, "draw/taste", uid, d)
    draws = draws.select(
        uid,
        "n_wanted",
        d,
        F.when(source < spec.taste_share, liked_pick)
        .when(source < spec.taste_share + spec.niche_share, niche_pick + _NICHE_POOLS)
        .otherwise(-1)
        .alias("pool"),
    ).join(F.broadcast(sizes), "pool")
    rank = _zipf_rank(
        _uniform(s, "draw/rank", uid, d), F.col("pool_size"), spec.popularity_exponent
    )
    picked = draws.select(uid, "n_wanted", d, "pool", rank.alias("pool_rank")).join(
        F.broadcast(pools), ["pool", "pool_rank"]
    )
    # one shuffle by user serves both windows (hash(user) clusters (user, movie) too)
    first = Window.partitionBy(C.USER_ID, C.MOVIE_ID).orderBy("draw")
    order = Window.partitionBy(C.USER_ID).orderBy("draw")
    return (
        picked.repartition(C.USER_ID)
        .withColumn("nth", F.row_number().over(first))
        .where("nth = 1")
        .withColumn("nth", F.row_number().over(order))
        .where(F.col("nth") <= F.col("n_wanted"))
        .select(C.USER_ID, C.MOVIE_ID)
    )


def _ratings_full(
    spec: SyntheticConfig, user: dict[str, Column], pairs: DataFrame, movies: DataFrame
) -> DataFrame:
    s, uid, mid = spec.seed, F.col(C.USER_ID), F.col(C.MOVIE_ID)
    df = pairs.select(uid, mid, *[c.alias(k) for k, c in user.items() if k != "n_wanted"]).join(
        F.broadcast(
            movies.select(
                C.MOVIE_ID,
                "genre_idx",
                "niche",
                "quality",
                "release_ts",
                *[f"mf{k}" for k in range(_LATENT_DIMS)],
            )
        ),
        C.MOVIE_ID,
    )
    genres = F.col("genre_idx")
    liked_share = F.size(F.array_intersect(genres, F.col("liked"))) / F.size(genres)
    latent = sum(F.col(f"uf{k}") * F.col(f"mf{k}") for k in range(_LATENT_DIMS))
    raw = (
        3.45
        + F.col("bias")
        + F.col("quality")
        + 1.0 * liked_share
        + 0.6 * F.array_contains(F.col("niches"), F.col("niche")).cast("double")
        - 0.9 * F.array_contains(genres, F.col("disliked")).cast("double")
        + 0.35 * latent
        + spec.noise * _normal(s, "rating/noise", uid, mid)
    )
    stars = F.when(F.col("whole_stars"), F.greatest(F.round(raw), F.lit(1.0))).otherwise(
        F.round(raw * 2) / 2
    )
    rating = F.least(F.greatest(stars, F.lit(0.5)), F.lit(5.0)).cast("float")
    t_end = _epoch(spec.end) + 86399
    seen = F.col("t_first") + F.floor(
        _uniform(s, "rating/time", uid, mid) * (F.col("t_last") - F.col("t_first"))
    )
    ts = F.least(F.greatest(seen, F.col("release_ts")), F.lit(t_end))
    return df.select(
        uid,
        mid,
        rating.alias(C.RATING),
        F.timestamp_seconds(ts).alias(C.RATED_AT),
        "genre_idx",
        ts.alias("ts"),
    )


def _tags(spec: SyntheticConfig, ratings: DataFrame) -> DataFrame:
    s, uid, mid = spec.seed, F.col(C.USER_ID), F.col(C.MOVIE_ID)

    def u(salt: str) -> Column:
        return _uniform(s, "tag/" + salt, uid, mid)

    rate = min(1.0, spec.tag_rate / _TAGGER_SHARE)
    genre = F.get("genre_idx", F.floor(u("genre") * F.size("genre_idx")).cast("int"))
    vocab = _literal([tags for _, _, tags in GENRES.values()])
    # get (0-based) is null out of range, and the coalesce below falls back to a generic tag
    genre_tag = F.get(F.get(vocab, genre), F.floor(u("word") * TAGS_PER_GENRE).cast("int"))
    generic = F.when(
        F.col(C.RATING) < 2.5,
        _lookup(NEGATIVE_TAGS, F.floor(u("generic") * len(NEGATIVE_TAGS)).cast("int")),
    ).otherwise(_lookup(GENERIC_TAGS, F.floor(u("generic") * len(GENERIC_TAGS)).cast("int")))
    tag = F.when(u("kind") < 0.75, F.coalesce(genre_tag, generic)).otherwise(generic)
    ts = F.least(F.col("ts") + F.floor(u("delay") * 86400), F.lit(_epoch(spec.end) + 86399))
    return ratings.where(u("apply") < rate).select(
        uid, mid, tag.alias(C.TAG), F.timestamp_seconds(ts).alias(C.TAGGED_AT)
    )


def _partitions(spark: SparkSession, spec: SyntheticConfig) -> int:
    """Enough input partitions for ~1M ratings each, at least the default parallelism."""
    expected = spec.users * spec.ratings_per_user
    return max(spark.sparkContext.defaultParallelism, math.ceil(expected / 1_000_000))


def generate(
    spark: SparkSession, spec: SyntheticConfig | None = None, *, partitions: int | None = None
) -> dict[str, DataFrame]:
    """Lazy DataFrames ``ratings``, ``movies``, ``tags``, ``users`` in :mod:`recsys.schemas`.

    ``partitions``: input partitions of the user range (default: ~1M ratings each, at least
    the default parallelism); it changes how work is split, never the rows.

    Nothing is computed until the frames are written, and nothing passes through the driver.
    """
    spec = spec or SyntheticConfig()
    if spec.users < 1 or spec.movies < 1 or spec.ratings_per_user < 5:
        raise InputError("synthetic spec needs users >= 1, movies >= 1, ratings_per_user >= 5")
    if spec.end < spec.start:
        raise InputError("synthetic spec: end must not precede start")
    parts = partitions or _partitions(spark, spec)
    movies = _movies_full(spark, spec, max(1, parts // 4))
    user = _user_cols(spec)  # built once: each build is hundreds of JVM calls
    ratings = _ratings_full(
        spec, user, _rated_pairs(spark, spec, user, movies, parts, False), movies
    )
    tagger_ratings = _ratings_full(
        spec, user, _rated_pairs(spark, spec, user, movies, parts, True), movies
    )
    return {
        C.T_RATINGS: _conform(ratings, schemas.RATINGS),
        C.T_MOVIES: _conform(movies, schemas.MOVIES),
        C.T_TAGS: _conform(_tags(spec, tagger_ratings), schemas.TAGS),
        C.T_USERS: _conform(_users(spark, spec, parts), schemas.USERS),
    }


def _conform(df: DataFrame, schema: StructType) -> DataFrame:
    """``df``'s columns in exactly ``schema``: columns the schema declares nullable are made
    nullable (``to`` keeps a non-null column non-null), and ``to`` checks the rest."""
    cols = []
    for field in schema:
        col = F.col(field.name).cast(field.dataType)
        if field.nullable and not df.schema[field.name].nullable:
            col = F.when(col.isNotNull(), col)
        cols.append(col.alias(field.name))
    return df.select(*cols).to(schema)


def spec_for(size: str, seed: int | None = None) -> SyntheticConfig:
    """The preset ``size`` (a key of :data:`SYNTHETIC_SIZES`), optionally with another seed."""
    try:
        spec = SYNTHETIC_SIZES[size]
    except KeyError:
        raise InputError(
            f"unknown synthetic size {size!r}; choose one of {', '.join(SYNTHETIC_SIZES)}"
        ) from None
    return spec if seed is None else replace(spec, seed=seed)
