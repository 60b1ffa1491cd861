"""The ``recommend`` stage: candidate sources -> blend -> (re-rank) -> reasons -> tables.

:func:`candidate_sources` and :func:`recommend_frame` are pure (DataFrames in, DataFrame out);
:func:`recommend` reads the lake, writes ``recommendations``, ``similar_movies`` and
``item_neighbors``, and records the run in ``runs``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    DoubleType,
    IntegerType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)
from pyspark.storagelevel import StorageLevel

from recsys import columns as C
from recsys.blend._blend import blend
from recsys.blend._coldstart import popular_candidates
from recsys.blend._reasons import attach_reasons
from recsys.blend._rerank import mmr_rerank
from recsys.blend._similar import blend_similar_movies
from recsys.blend._weights import DEFAULT_WEIGHTS, BlendWeights
from recsys.ease import EaseParams, ease_scores, ease_weights
from recsys.errors import RecsysError
from recsys.itemknn import (
    KnnParams,
    item_neighbors,
    itemknn_scores,
    user_neighbors,
    userknn_scores,
)
from recsys.lakehouse import Lake
from recsys.runs import RunRecorder

JOB = "recommend"

RECOMMENDATIONS = StructType(
    [
        StructField(C.RUN_ID, StringType(), False),
        StructField(C.USER_ID, IntegerType(), False),
        StructField(C.RANK, IntegerType(), False),
        StructField(C.MOVIE_ID, IntegerType(), False),
        StructField(C.SCORE, DoubleType(), False),
        StructField(C.ALS_SCORE, DoubleType(), True),
        StructField(C.CONTENT_SCORE, DoubleType(), True),
        StructField(C.EASE_SCORE, DoubleType(), True),
        StructField(C.ITEMKNN_SCORE, DoubleType(), True),
        StructField(C.USERKNN_SCORE, DoubleType(), True),
        StructField(C.POPULARITY_SCORE, DoubleType(), True),
        StructField(C.BECAUSE_MOVIE_ID, IntegerType(), True),
        StructField(C.REASON, StringType(), False),
        StructField(C.HISTORY_BUCKET, StringType(), True),
        StructField(C.GENERATED_AT, TimestampType(), False),
    ]
)

ITEM_KNN = KnnParams()
"""Item-kNN defaults (validation-chosen, see benchmarks/blend.py)."""
USER_KNN = KnnParams(k=200, via_weight=1.0, neighbor_pop=0.5, candidate_pop=0.2)
"""User-kNN defaults: the same weighting with roles swapped, mild popularity debiasing."""

EASE = EaseParams()
"""Neighbourhood-EASE defaults (validation-chosen, see benchmarks/blend.py)."""


class MissingInputError(RecsysError):
    """A table the recommend stage cannot do without has not been written yet."""


@dataclass(frozen=True)
class RecommendParams:
    n: int = 10
    """Recommendations per user."""
    candidates: int = 50
    """Candidates taken from each source per user before blending."""
    diversity: float = 0.0
    """MMR lambda in [0, 1]; 0 = no re-rank."""
    pool: int = 50
    """Blend top-``pool`` re-ranked when ``diversity > 0``."""
    normalization: str = "minmax"
    item_knn: KnnParams = ITEM_KNN
    user_knn: KnnParams | None = USER_KNN
    """None switches the user-kNN source off."""
    ease: EaseParams | None = EASE
    """Neighbourhood EASE (:mod:`recsys.ease`); None switches the source off."""
    weights: BlendWeights = DEFAULT_WEIGHTS
    similar_k: int = 20
    """Movies kept per movie in ``similar_movies``; 0 skips that table (a scoring run, such as
    the evaluate stage's, reads only ``recommendations``)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "candidates": self.candidates,
            "diversity": self.diversity,
            "pool": self.pool,
            "normalization": self.normalization,
            "item_knn": self.item_knn.as_dict(),
            "user_knn": None if self.user_knn is None else self.user_knn.as_dict(),
            "ease": None if self.ease is None else self.ease.as_dict(),
            "weights": self.weights.to_dict(),
            "similar_k": self.similar_k,
        }


@dataclass
class Sources:
    frames: dict[str, DataFrame]
    item_neighbors: DataFrame
    notes: list[str] = field(default_factory=list)


def candidate_sources(
    ratings: DataFrame,
    params: RecommendParams = RecommendParams(),
    als: DataFrame | None = None,
    content: DataFrame | None = None,
    item_nbrs: DataFrame | None = None,
) -> Sources:
    """Every candidate source as a recs frame (``user_id, movie_id, score[, because]``).

    ``als`` / ``content`` are taken as given (their own stages' top-N tables); item-kNN,
    user-kNN and popularity are computed here from ``ratings``. ``item_nbrs`` lets a caller
    pass item neighbours it already wrote (so they are not recomputed).
    """
    n = params.candidates
    nbrs = item_nbrs if item_nbrs is not None else item_neighbors(ratings, params.item_knn)
    frames: dict[str, DataFrame] = {}
    notes: list[str] = []
    if als is not None:
        keep = [c for c in (C.USER_ID, C.MOVIE_ID, C.SCORE, C.RANK) if c in als.columns]
        frames["als"] = als.select(*keep)  # rank kept so a source can be evaluated alone
    else:
        notes.append("no ALS candidates (run `recsys train-als`); blending without ALS")
    frames["itemknn"] = itemknn_scores(
        ratings, nbrs, n=n, candidate_pop=params.item_knn.candidate_pop
    )
    if params.ease is not None:
        frames["ease"] = ease_scores(ratings, ease_weights(ratings, params.ease), n=n)
    if params.user_knn is not None:
        frames["userknn"] = userknn_scores(
            ratings,
            user_neighbors(ratings, params.user_knn),
            n=n,
            candidate_pop=params.user_knn.candidate_pop,
        )
    if content is not None:
        cols = [C.USER_ID, C.MOVIE_ID, C.SCORE, C.RANK, C.BECAUSE_MOVIE_ID]
        frames["content"] = content.select(*[c for c in cols if c in content.columns])
    else:
        notes.append("no content scores (run `recsys train-content`); blending without content")
    frames["popularity"] = popular_candidates(ratings, n=n)
    return Sources(frames, nbrs, notes)


def recommend_frame(
    sources: dict[str, DataFrame],
    ratings: DataFrame,
    movies: DataFrame,
    params: RecommendParams = RecommendParams(),
) -> DataFrame:
    """Blend, optionally re-rank for diversity, and explain: per user ``n`` rows with
    ``user_id, movie_id, score, rank, <source>_score..., because_movie_id, reason,
    history_bucket``."""
    keep = params.pool if params.diversity > 0 else params.n
    recs = blend(sources, ratings, params.weights, n=keep, method=params.normalization)
    if params.diversity > 0:
        recs = mmr_rerank(recs, movies, params.diversity, n=params.n, pool=params.pool)
    return attach_reasons(recs, ratings, movies)


def _read_optional(run: RunRecorder, lake: Lake, name: str) -> DataFrame | None:
    return run.read(name) if lake.exists(name) else None


def _require(run: RunRecorder, lake: Lake, name: str, job: str) -> DataFrame:
    if not lake.exists(name):
        raise MissingInputError(
            f"table {name!r} not found under {lake.root}; run `recsys {job}` first"
        )
    return run.read(name)


def recommend(
    spark: SparkSession,
    lake: Lake,
    run_id: str | None = None,
    params: RecommendParams = RecommendParams(),
) -> dict[str, Any]:
    """Read inputs from the lake, write ``item_neighbors``, ``recommendations`` and
    ``similar_movies`` (never collecting rows to the driver) and return a small summary."""
    with RunRecorder(lake, JOB, params=params.as_dict(), run_id=run_id) as run:
        ratings = _require(run, lake, C.T_RATINGS, "ingest")
        movies = _require(run, lake, C.T_MOVIES, "ingest")
        als = _read_optional(run, lake, C.T_ALS_CANDIDATES)
        content = _read_optional(run, lake, C.T_CONTENT_SCORES)
        content_nbrs = _read_optional(run, lake, C.T_MOVIE_NEIGHBORS)
        if content is None and content_nbrs is not None:
            from recsys.content import content_scores

            content = content_scores(ratings, content_nbrs, n=params.candidates)
        ratings = ratings.persist(StorageLevel.MEMORY_AND_DISK)  # every source reads it
        with run.timed("item_neighbors"):
            nbrs = item_neighbors(ratings, params.item_knn)
            version = lake.overwrite(C.T_ITEM_NEIGHBORS, nbrs, run_id=run.run_id)
            nbrs = lake.read(C.T_ITEM_NEIGHBORS, version=version)
            run.wrote(C.T_ITEM_NEIGHBORS, version, rows=lake.count(C.T_ITEM_NEIGHBORS, version))
        with run.timed("source_models"):  # the eager parts: EASE's weights, user-kNN's index
            sources = candidate_sources(ratings, params, als=als, content=content, item_nbrs=nbrs)
        frames = {}
        for name, frame in sources.frames.items():
            # Each source alone is a small table (users x candidates rows); computed one at a
            # time, each gets its own plan and timing, and the blend below reads cached rows
            # instead of one plan that recomputes the sources' shared inputs in every branch.
            with run.timed(f"source.{name}"):
                frames[name] = frame.persist(StorageLevel.MEMORY_AND_DISK)
                frames[name].count()  # materialise: the timing is the source's own
        with run.timed("blend"):
            recs = recommend_frame(frames, ratings, movies, params)
            now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
            out = recs.select(
                F.lit(run.run_id).alias(C.RUN_ID),
                *[
                    F.col(f.name).cast(f.dataType).alias(f.name)
                    for f in RECOMMENDATIONS.fields
                    if f.name not in (C.RUN_ID, C.GENERATED_AT)
                ],
                F.lit(now).cast("timestamp").alias(C.GENERATED_AT),
            )
            version = lake.overwrite(C.T_RECOMMENDATIONS, out, run_id=run.run_id)
            written = lake.read(C.T_RECOMMENDATIONS, version=version)
            stats = written.agg(
                F.count(F.lit(1)).alias("rows"), F.countDistinct(C.USER_ID).alias("users")
            ).first()
            run.wrote(C.T_RECOMMENDATIONS, version, rows=stats["rows"])
        n_similar = 0
        if params.similar_k > 0:
            with run.timed("similar_movies"):
                similar = blend_similar_movies(nbrs, content_nbrs, k=params.similar_k)
                version = lake.overwrite(C.T_SIMILAR_MOVIES, similar, run_id=run.run_id)
                n_similar = lake.count(C.T_SIMILAR_MOVIES, version)
                run.wrote(C.T_SIMILAR_MOVIES, version, rows=n_similar)
        for frame in (*frames.values(), ratings):
            frame.unpersist()
    return {
        "run_id": run.run_id,
        "recommendations": stats["rows"],
        "users": stats["users"],
        "similar_movies": n_similar,
        "sources": sorted(sources.frames),
        "notes": sources.notes,
        "timings": dict(run.timings),
    }
