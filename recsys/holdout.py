"""Offline evaluation of the product as it is built: the same jobs, trained on a split.

Recommendations made from ALL ratings cannot be scored against a split of those ratings: the
held-out movies were seen in training, and every model refuses to recommend a rated movie. So
:func:`evaluate_holdout` splits the lake's ``ratings`` (per-user stratified 75/25, seed 42 by
default, as ``ANCHORS.md``), writes the train part with the catalogue into a scratch lake under
``<root>/_eval/<run id>``, runs the model jobs there exactly as the pipeline does (ALS, content,
blend, with the same arguments), and scores each job's output table against the held-out part,
next to the most-popular and random baselines. Rows go to the main lake's ``metrics`` table.
"""

from __future__ import annotations

import argparse
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.storagelevel import StorageLevel

from recsys import columns as C
from recsys.evaluation import (
    evaluate_models,
    metrics_rows,
    most_popular,
    random_recs,
    stratified_split,
    temporal_split,
    write_metrics,
)
from recsys.lakehouse import Lake
from recsys.pipeline import run_pipeline, stage_namespace

# model name in `metrics` -> (pipeline stage that makes it, table it writes)
MODEL_TABLES: dict[str, tuple[str, str]] = {
    "als": ("als", C.T_ALS_CANDIDATES),
    "content": ("content", C.T_CONTENT_SCORES),
    "blend": ("blend", C.T_RECOMMENDATIONS),
}
BASELINES: tuple[str, ...] = ("most-popular", "most-popular-rated", "random")
SPLITS: tuple[str, ...] = ("stratified", "temporal")
SCRATCH = "_eval"
# Switches that make a model job write only the table its metrics read (no model files, factor
# tables or similar_movies): the scratch run is scored, never served.
SCORING_FLAGS: dict[str, str] = {"als": "candidates_only", "blend": "no_similar"}


@dataclass(frozen=True)
class HoldoutSpec:
    split: str = "stratified"
    """``stratified`` (each user's ratings shuffled, ``ratio`` to train) or ``temporal`` (each
    user's latest ``1 - ratio`` held out)."""
    ratio: float = 0.75
    seed: int = 42
    k: int = 10
    models: tuple[str, ...] = (*MODEL_TABLES, *BASELINES)
    keep_scratch: bool = False
    """Keep the scratch lake (its tables show what each model recommended on the split)."""


@dataclass
class HoldoutResult:
    run_id: str
    dataset: str
    spec: HoldoutSpec
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    """model -> metric -> value."""
    metrics_version: int | None = None
    seconds: float = 0.0


class _Scratch:
    """A job context (settings, Spark session, lake) whose lake is the scratch lake."""

    def __init__(self, ctx: Any, root: str):
        self.settings, self.spark = ctx.settings, ctx.spark
        self.lake_root = root
        self.lake = Lake(
            ctx.spark, root, engine=ctx.lake.engine.name, commit_attempts=ctx.lake.commit_attempts
        )


def split_ratings(ratings: DataFrame, spec: HoldoutSpec) -> tuple[DataFrame, DataFrame]:
    if spec.split == "stratified":
        return stratified_split(ratings, ratio=spec.ratio, seed=spec.seed)
    if spec.split == "temporal":
        return temporal_split(ratings, holdout=round(1.0 - spec.ratio, 6))
    raise ValueError(f"unknown split {spec.split!r}; choose one of {SPLITS}")


def _write_scratch(lake: Lake, scratch: Lake, train: DataFrame, test: DataFrame) -> None:
    """The train ratings and the catalogue; tags a user put on a held-out movie are dropped."""
    scratch.overwrite(C.T_RATINGS, train, job="evaluate")
    for name in (C.T_MOVIES, C.T_USERS):
        if lake.exists(name):
            scratch.overwrite(name, lake.read(name), job="evaluate")
    if lake.exists(C.T_TAGS):
        tags = lake.read(C.T_TAGS).join(
            test.select(C.USER_ID, C.MOVIE_ID), [C.USER_ID, C.MOVIE_ID], "left_anti"
        )
        scratch.overwrite(C.T_TAGS, tags, job="evaluate")


def scoring_args(
    stages: Sequence[str], given: Mapping[str, argparse.Namespace | Sequence[str]] | None
) -> dict[str, argparse.Namespace]:
    """The model jobs' arguments as the pipeline would parse them, plus :data:`SCORING_FLAGS`."""
    out = {}
    for stage in stages:
        args = stage_namespace(stage, (given or {}).get(stage))
        flag = SCORING_FLAGS.get(stage)
        out[stage] = argparse.Namespace(**{**vars(args), **({flag: True} if flag else {})})
    return out


def _recs(table: DataFrame) -> DataFrame:
    """The recommendation contract from a model's table (ranks from the table when present)."""
    if C.RANK in table.columns:
        return table.select(C.USER_ID, C.MOVIE_ID, C.SCORE, C.RANK)
    from pyspark.sql import Window

    w = Window.partitionBy(C.USER_ID).orderBy(F.col(C.SCORE).desc(), C.MOVIE_ID)
    return table.select(C.USER_ID, C.MOVIE_ID, C.SCORE, F.row_number().over(w).alias(C.RANK))


def evaluate_holdout(
    ctx: Any,
    run_id: str,
    dataset: str,
    spec: HoldoutSpec | None = None,
    stage_args: Mapping[str, argparse.Namespace | Sequence[str]] | None = None,
) -> HoldoutResult:
    """Split, retrain the model jobs on the train part in a scratch lake, score every model and
    baseline in ``spec.models`` on the held-out part; append the rows to ``metrics``.

    ``ctx`` is a job context (``settings``, ``spark``, ``lake``); ``stage_args`` the model jobs'
    arguments, as for :func:`recsys.pipeline.run_pipeline`.
    """
    spec = spec or HoldoutSpec()
    t0 = time.perf_counter()
    lake: Lake = ctx.lake
    ratings = lake.read(C.T_RATINGS).select(C.USER_ID, C.MOVIE_ID, C.RATING, C.RATED_AT)
    train, test = split_ratings(ratings, spec)
    movies = lake.read(C.T_MOVIES) if lake.exists(C.T_MOVIES) else None
    result = HoldoutResult(run_id=run_id, dataset=dataset, spec=spec)

    stages = [MODEL_TABLES[m][0] for m in MODEL_TABLES if m in spec.models]
    scratch_root = f"{lake.root.rstrip('/')}/{SCRATCH}/{run_id}"
    scratch = _Scratch(ctx, scratch_root)
    cached: list[DataFrame] = []
    try:
        if stages:
            _write_scratch(lake, scratch.lake, train, test)
            train = scratch.lake.read(C.T_RATINGS)  # the split, computed once
            run_pipeline(scratch, scoring_args(stages, stage_args), stages=stages)
        test = test.persist(StorageLevel.MEMORY_AND_DISK)  # read by every model's metrics
        cached.append(test)
        test_users = test.select(C.USER_ID).distinct()
        outputs: dict[str, DataFrame] = {}
        for model, (_, table) in MODEL_TABLES.items():
            if model in spec.models:
                outputs[model] = _recs(scratch.lake.read(table))
        if "most-popular" in spec.models:
            outputs["most-popular"] = most_popular(train, test_users, k=spec.k)
        if "most-popular-rated" in spec.models:
            outputs["most-popular-rated"] = most_popular(
                train, test_users, k=spec.k, by="damped_mean"
            )
        if "random" in spec.models:
            outputs["random"] = random_recs(train, test_users, k=spec.k, seed=spec.seed)
        params = {"split": spec.split, "ratio": spec.ratio, "seed": spec.seed}
        if outputs:
            result.metrics = evaluate_models(outputs, train, test, movies=movies, k=spec.k)
        rows = [
            metrics_rows(run_id, dataset, spec.split, model, params, values, spec.k)
            for model, values in result.metrics.items()
        ]
        if rows:
            table = rows[0]
            for more in rows[1:]:
                table = table.unionByName(more)
            result.metrics_version = write_metrics(lake, table)
    finally:
        for df in cached:
            df.unpersist()
        if not spec.keep_scratch and "://" not in scratch_root:
            shutil.rmtree(scratch_root, ignore_errors=True)
    result.seconds = time.perf_counter() - t0
    return result
