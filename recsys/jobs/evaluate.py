"""The evaluate job: the product's jobs retrained on a split, scored on the held-out part.

Recommendations made from ALL ratings cannot be scored against a split of those ratings: the
held-out movies were seen in training, and every model refuses to recommend a rated movie. So
:func:`evaluate_holdout` splits the lake's ``ratings`` (per-user stratified 75/25, seed 42 by
default, as ``ANCHORS.md``), writes the train part with the catalogue into a scratch lake under
``<root>/_eval/<run id>``, runs the model jobs there exactly as the pipeline does (ALS, content,
blend, with the same arguments), and scores each job's output table against the held-out part,
next to the most-popular and random baselines. Rows go to the main lake's ``metrics`` table.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field, replace
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.storagelevel import StorageLevel

from recsys import columns as C
from recsys.blend import RecommendConfig
from recsys.config import check_choice
from recsys.errors import RecsysError
from recsys.evaluation import (
    SPLITS,
    evaluate_models,
    format_metrics,
    metrics_rows,
    most_popular,
    random_recs,
    split_by_name,
)
from recsys.jobs import recommend as recommend_job
from recsys.jobs import train_als, train_content
from recsys.jobs._context import JobContext
from recsys.jobs._result import JobResult, write_metrics
from recsys.lakehouse import Lake
from recsys.runs import T_RUNS, RunRecorder
from recsys.schemas import RECS

JOB = "evaluate"

# model name in `metrics` -> the table its job writes
MODEL_TABLES: dict[str, str] = {
    "als": C.T_ALS_CANDIDATES,
    "content": C.T_CONTENT_SCORES,
    "blend": C.T_RECOMMENDATIONS,
}
BASELINES: tuple[str, ...] = ("most-popular", "most-popular-rated", "random")
SCRATCH = "_eval"


@dataclass(frozen=True)
class EvaluateConfig:
    split: str = "stratified"
    """``stratified`` (each user's ratings shuffled, ``ratio`` to train), ``random`` (each rating
    to train with probability ``ratio``) or ``temporal`` (each user's latest ``1 - ratio`` held
    out)."""
    ratio: float = 0.75
    """Train share: of each user's ratings (``stratified``, ``temporal``), of all ratings
    (``random``)."""
    seed: int = 42
    """Seed of the split's hash."""
    k: int = 10
    """Cut-off of every metric."""
    models: tuple[str, ...] = (*MODEL_TABLES, *BASELINES)
    """Models scored: the retrained jobs (``als``, ``content``, ``blend``) and the baselines."""
    keep_scratch: bool = False
    """Keep the scratch lake (its tables show what each model recommended on the split)."""
    dataset: str | None = None
    """The metrics' dataset label (default: what the latest ingest loaded)."""
    als: train_als.TrainAlsConfig = field(
        default_factory=lambda: train_als.TrainAlsConfig(split="none")
    )
    content: train_content.TrainContentConfig = field(
        default_factory=train_content.TrainContentConfig
    )
    recommend: RecommendConfig = field(default_factory=RecommendConfig)
    """The model jobs' configs, retrained on the split as the pipeline runs them."""

    def __post_init__(self) -> None:
        check_choice("evaluate.split", self.split, SPLITS)
        known = (*MODEL_TABLES, *BASELINES)
        unknown = [m for m in self.models if m not in known]
        if unknown:
            raise RecsysError(f"unknown model(s) {unknown}; choose from {','.join(known)}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "split": self.split,
            "ratio": self.ratio,
            "seed": self.seed,
            "k": self.k,
            "models": list(self.models),
            "keep_scratch": self.keep_scratch,
            "als": self.als.to_dict(),
            "content": self.content.to_dict(),
            "recommend": self.recommend.as_dict(),
        }


@dataclass
class HoldoutResult:
    run_id: str
    dataset: str
    spec: EvaluateConfig
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    """model -> metric -> value."""
    metrics_version: int | None = None
    seconds: float = 0.0


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


def _retrain(ctx: JobContext, spec: EvaluateConfig) -> None:
    """The model jobs on the scratch lake, writing only the tables their metrics read (no model
    files, factor tables or similar_movies): the scratch run is scored, never served."""
    if "als" in spec.models:
        train_als.run(ctx, replace(spec.als, candidates_only=True))
    if "content" in spec.models:
        train_content.run(ctx, spec.content)
    if "blend" in spec.models:
        recommend_job.run(ctx, replace(spec.recommend, similar_k=0))


def evaluate_holdout(
    ctx: JobContext, run_id: str, dataset: str, spec: EvaluateConfig
) -> HoldoutResult:
    """Split, retrain the model jobs on the train part in a scratch lake, score every model and
    baseline in ``spec.models`` on the held-out part; append the rows to ``metrics``."""
    t0 = time.perf_counter()
    lake: Lake = ctx.lake
    ratings = lake.read(C.T_RATINGS).select(C.USER_ID, C.MOVIE_ID, C.RATING, C.RATED_AT)
    train, test = split_by_name(ratings, spec.split, spec.ratio, spec.seed)
    movies = lake.read(C.T_MOVIES) if lake.exists(C.T_MOVIES) else None
    result = HoldoutResult(run_id=run_id, dataset=dataset, spec=spec)

    retrained = [m for m in MODEL_TABLES if m in spec.models]
    scratch_root = f"{lake.root.rstrip('/')}/{SCRATCH}/{run_id}"
    scratch = ctx.on_lake(scratch_root)
    cached: list[DataFrame] = []
    try:
        if retrained:
            _write_scratch(lake, scratch.lake, train, test)
            train = scratch.lake.read(C.T_RATINGS)  # the split, computed once
            _retrain(scratch, spec)
        test = test.persist(StorageLevel.MEMORY_AND_DISK)  # read by every model's metrics
        cached.append(test)
        test_users = test.select(C.USER_ID).distinct()
        outputs: dict[str, DataFrame] = {}
        for model, table in MODEL_TABLES.items():
            if model in spec.models:
                outputs[model] = scratch.lake.read(table).select(*RECS.fieldNames())
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
            result.metrics_version = write_metrics(lake, table, run_id=run_id, job=JOB)
    finally:
        for df in cached:
            df.unpersist()
        if not spec.keep_scratch and "://" not in scratch_root:
            shutil.rmtree(scratch_root, ignore_errors=True)
    result.seconds = time.perf_counter() - t0
    return result


def dataset_label(ctx: JobContext) -> str:
    """What the latest successful ingest loaded (``ml-100k``, ``synthetic-1m``, a ratings
    file's name), else the lake root."""
    if ctx.lake.exists(T_RUNS):
        row = (
            ctx.lake.read(T_RUNS)
            .where((F.col("job") == "ingest") & (F.col("status") == "succeeded"))
            .orderBy(F.col("started_at").desc())
            .select("params")
            .first()  # one row
        )
        if row and row["params"]:
            return label_from_ingest(json.loads(row["params"]))
    return ctx.lake.root


def label_from_ingest(params: dict[str, Any]) -> str:
    """The dataset label an ingest run recorded (older lakes: derived from its arguments)."""
    if params.get("dataset"):
        return str(params["dataset"])
    if params.get("ratings"):
        return os.path.basename(str(params["ratings"]).rstrip("/"))
    source = str(params.get("source") or "lake")
    if source == "synthetic":
        return f"synthetic-{params.get('size') or 'default'}"
    return os.path.basename(source.rstrip("/")).removesuffix(".zip")


def run(ctx: JobContext, config: EvaluateConfig | None = None) -> JobResult:
    config = config or EvaluateConfig()
    label = config.dataset or dataset_label(ctx)
    with RunRecorder(ctx.lake, JOB, params={**config.to_dict(), "dataset": label}) as run:
        version = ctx.lake.version(C.T_RATINGS)
        if version is not None:
            run.input_versions[C.T_RATINGS] = version
        result = evaluate_holdout(ctx, run.run_id, label, config)
        if result.metrics_version is not None:
            run.wrote(C.T_METRICS, result.metrics_version, rows=None)
    rows = [
        {C.DATASET: label, C.SPLIT: config.split, C.MODEL: m, C.K: config.k, C.METRIC: k,
         C.VALUE: v}
        for m, values in result.metrics.items()
        for k, v in values.items()
    ]  # fmt: skip
    summary = (
        f"evaluate {run.run_id}: {config.split} split {config.ratio:g}, seed {config.seed}, "
        f"k={config.k}\n{format_metrics(rows)}"
    )
    return JobResult(JOB, run.run_id, run.output_versions, run.row_counts, summary, result)
