"""The recommend job: every candidate source, the blend and the reasons over the lake's
tables; writes ``item_neighbors``, ``recommendations`` and ``similar_movies``."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.storagelevel import StorageLevel

from recsys import columns as C
from recsys.blend import (
    RECOMMENDATIONS,
    RecommendConfig,
    blend_similar_movies,
    candidate_sources,
    recommend_frame,
)
from recsys.errors import MissingInputError
from recsys.jobs._context import JobContext
from recsys.jobs._result import JobResult
from recsys.lakehouse import Lake
from recsys.neighbors.ease import FittedEase
from recsys.neighbors.knn import item_neighbors
from recsys.runs import RunRecorder

JOB = "recommend"


def _read_optional(run: RunRecorder, lake: Lake, name: str) -> DataFrame | None:
    return run.read(name) if lake.exists(name) else None


def _require(run: RunRecorder, lake: Lake, name: str, job: str) -> DataFrame:
    if not lake.exists(name):
        raise MissingInputError(
            f"table {name!r} not found under {lake.root}; run `recsys {job}` first"
        )
    return run.read(name)


def run(
    ctx: JobContext, params: RecommendConfig | None = None, run_id: str | None = None
) -> JobResult:
    """Read inputs from the lake, write ``item_neighbors``, ``recommendations`` and
    ``similar_movies`` (never collecting rows to the driver)."""
    lake = ctx.lake
    params = params or RecommendConfig()
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
            version = lake.overwrite(C.T_ITEM_NEIGHBORS, nbrs, **run.commit_info)
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
            version = lake.overwrite(C.T_RECOMMENDATIONS, out, **run.commit_info)
            written = lake.read(C.T_RECOMMENDATIONS, version=version)
            stats = written.agg(
                F.count(F.lit(1)).alias("rows"), F.countDistinct(C.USER_ID).alias("users")
            ).first()
            run.wrote(C.T_RECOMMENDATIONS, version, rows=stats["rows"])
        n_similar = 0
        if params.similar_k > 0:
            with run.timed("similar_movies"):
                similar = blend_similar_movies(nbrs, content_nbrs, k=params.similar_k)
                version = lake.overwrite(C.T_SIMILAR_MOVIES, similar, **run.commit_info)
                n_similar = lake.count(C.T_SIMILAR_MOVIES, version)
                run.wrote(C.T_SIMILAR_MOVIES, version, rows=n_similar)
        for frame in (*frames.values(), ratings):
            frame.unpersist()
        for model in sources.fitted.values():
            if isinstance(model, FittedEase):
                model.unpersist()
    names = sorted(sources.frames)
    summary = (
        f"recommend {run.run_id}: {C.T_RECOMMENDATIONS} {stats['rows']} rows for "
        f"{stats['users']} users from {', '.join(names)}"
        + (f"; {C.T_SIMILAR_MOVIES} {n_similar} rows" if params.similar_k > 0 else "")
    )
    details = {"users": stats["users"], "sources": names, "timings": dict(run.timings)}
    return JobResult(
        JOB, run.run_id, run.output_versions, run.row_counts, summary, details, sources.notes
    )
