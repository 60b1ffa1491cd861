"""The ingest job: load a source into ``ratings``, ``movies``, ``tags``, ``users`` and
``ingest_rejects`` (:func:`recsys.ingest.ingest`) and record the run in ``runs``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from pyspark.sql import Window
from pyspark.sql import functions as F

from recsys import columns as C
from recsys import schemas as S
from recsys.ingest import GenericSource
from recsys.ingest.synthetic import SYNTHETIC_SIZES, SyntheticConfig
from recsys.jobs._context import JobContext
from recsys.jobs._ingest_batch import IngestSummary, ingest
from recsys.jobs._result import JobResult
from recsys.lakehouse import Lake
from recsys.runs import RunRecorder

JOB = "ingest"

__all__ = [
    "IngestConfig",
    "IngestSummary",
    "dataset_label",
    "ingest",
    "run",
    "run_feedback",
    "upsert_feedback",
]


@dataclass(frozen=True)
class IngestConfig:
    source: Any = "synthetic"
    """``synthetic`` (the default data), a MovieLens name (``ml-100k``, ``ml-1m``,
    ``ml-latest-small``, ``ml-25m``, ``ml-32m``) or a path to a MovieLens zip / folder (from
    Python also a :class:`SyntheticConfig` or a :class:`GenericSource`; on the command line
    ``--size`` and ``--ratings --map``)."""
    mirror: str | None = None
    """Folder of MovieLens zips used instead of downloading (default: ``data.mirror``)."""
    dataset: str | None = None
    """The data's name in ``metrics`` (default: :func:`dataset_label` of the source)."""

    def label(self) -> str:
        return self.dataset or dataset_label(self.source)

    def to_dict(self) -> dict[str, Any]:
        source = self.source
        if isinstance(source, GenericSource):
            described: Any = {"ratings": source.ratings, "movies": source.movies}
        elif isinstance(source, SyntheticConfig):
            described = {"synthetic": vars(source)}
        else:
            described = str(source)
        return {"source": described, "mirror": self.mirror, "dataset": self.label()}


def dataset_label(source: Any) -> str:
    """``ml-100k``, ``synthetic-1m`` (a preset; ``synthetic-custom`` otherwise), or the ratings
    file's name."""
    if isinstance(source, GenericSource):
        return os.path.basename(str(source.ratings).rstrip("/"))
    if isinstance(source, SyntheticConfig):
        preset = next((k for k, v in SYNTHETIC_SIZES.items() if v == source), "custom")
        return f"synthetic-{preset}"
    if str(source) == "synthetic":
        return "synthetic-default"
    return os.path.basename(str(source).rstrip("/")).removesuffix(".zip")


def run(ctx: JobContext, config: IngestConfig = IngestConfig()) -> JobResult:
    settings = ctx.settings.data
    with RunRecorder(ctx.lake, JOB, params=config.to_dict()) as run:
        summary: IngestSummary = ingest(
            ctx.spark,
            ctx.lake,
            config.source,
            cache_dir=settings.cache_dir,
            mirror=config.mirror or settings.mirror,
            commit_info=run.commit_info,
        )
        for table, version in summary.versions.items():
            run.wrote(table, version, rows=summary.rows.get(table))
        run.params["loaded"] = summary.source
        folded = upsert_feedback(ctx.lake, run)
    text = str(summary) + (f"\n{folded}" if folded else "")
    return JobResult(JOB, run.run_id, run.output_versions, run.row_counts, text, summary)


def run_feedback(ctx: JobContext) -> JobResult:
    """``recsys ingest --feedback``: only the serving API's posted ratings, no source."""
    with RunRecorder(ctx.lake, JOB, params={"source": "feedback"}) as run:
        folded = upsert_feedback(ctx.lake, run)
    text = folded or f"{ctx.lake.uri(C.T_FEEDBACK)}: no feedback table yet; nothing to ingest"
    return JobResult(JOB, run.run_id, run.output_versions, run.row_counts, text)


def upsert_feedback(lake: Lake, run: RunRecorder) -> str | None:
    """Upsert the ``feedback`` table (ratings posted to ``recsys serve``) into ``ratings``: each
    (user, movie)'s latest posted rating, kept only for movies in ``movies`` and only where it
    is newer than the stored rating. Idempotent: the table is an append-only log and every run
    upserts all of it. ``None`` when there is no feedback table."""
    if not lake.exists(C.T_FEEDBACK):
        return None
    posted = run.read(C.T_FEEDBACK)
    latest = Window.partitionBy(C.USER_ID, C.MOVIE_ID).orderBy(F.col(C.RATED_AT).desc())
    rows = (
        posted.join(lake.read(C.T_MOVIES).select(C.MOVIE_ID), C.MOVIE_ID, "left_semi")
        .withColumn("_latest", F.row_number().over(latest))
        .where(F.col("_latest") == 1)
        .select(*[F.col(f.name).cast(f.dataType) for f in S.RATINGS.fields])
    )
    keys = [C.USER_ID, C.MOVIE_ID]
    version = lake.upsert(C.T_RATINGS, rows, keys, newer_col=C.RATED_AT, **run.commit_info)
    run.wrote(C.T_RATINGS, version)
    feedback = run.input_versions[C.T_FEEDBACK]
    return f"feedback v{feedback} (ratings posted to recsys serve) upserted into ratings v{version}"
