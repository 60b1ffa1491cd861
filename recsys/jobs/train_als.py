"""The ALS job: tune (optionally), fit and evaluate Spark ALS on the lake's ``ratings``; write
both factor tables, ``als_candidates``, the saved model, the search table and metrics."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from recsys import columns as C
from recsys.als import GRIDS, SPLITS, ALSConfig, config_for, train_als
from recsys.als._schemas import CANDIDATES, SEARCH
from recsys.als._train import ALSRunResult
from recsys.config import check_choice
from recsys.evaluation import format_metrics, metrics_rows
from recsys.jobs._context import JobContext
from recsys.jobs._result import JobResult, write_metrics
from recsys.lakehouse import Lake
from recsys.runs import RunRecorder
from recsys.session import blas_description

JOB = "train_als"
MODELS_DIR = "_models/als"


@dataclass(frozen=True)
class TrainAlsConfig:
    model: ALSConfig = field(default_factory=lambda: config_for("implicit"))
    """The ALS settings (with ``grid``: the values not searched). Setting ``mode`` resets that
    mode's own defaults (rank, reg_param, alpha or user_damping, max_iter) first."""
    grid: dict[str, list[Any]] | None = None
    """Values to search on a validation split of train, e.g. ``{rank: [32, 64]}`` (``None``: fit
    ``model`` as given)."""
    split: str = "stratified"
    """Held-out evaluation split (``none``: train on everything, no metrics)."""
    k: int = 10
    """Cut-off of the ranking metrics."""
    top_n: int = 100
    """Candidates per user in ``als_candidates``."""
    dataset: str = "lake"
    """Label of the data in ``metrics``."""
    run_id: str | None = None
    """The run's id (default: ``train_als-<UTC time>-<random>``)."""
    baselines: bool = True
    """Score most-popular next to ALS on the held-out split."""
    candidates_only: bool = False
    """Write only ``als_candidates`` (scoring runs: no model, no factor tables)."""

    def __post_init__(self) -> None:
        check_choice("train_als.split", self.split, SPLITS)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.model.to_dict(),
            "grid": self.grid,
            "split": self.split,
            "k": self.k,
            "top_n": self.top_n,
        }


def with_grid(
    config: TrainAlsConfig, preset: str | None, values: Mapping[str, list[Any] | None]
) -> TrainAlsConfig:
    """``config`` with its search grid: ``preset`` (``none``, ``small``, ``full``: a grid of
    :data:`recsys.als.GRIDS` for the config's mode; ``None`` keeps ``config.grid``), then
    ``values`` by parameter (several values are searched; one value replaces a preset's)."""
    grid = dict(config.grid or {})
    if preset is not None:
        grid = dict(GRIDS[config.model.mode][preset]) if preset != "none" else {}
    for name, given in values.items():
        if given and (len(given) > 1 or name in grid):
            grid[name] = list(given)
    return replace(config, grid=grid or None)


def run(ctx: JobContext, config: TrainAlsConfig = TrainAlsConfig()) -> JobResult:
    ctx.log(f"train-als: {blas_description(ctx.spark)}")
    with RunRecorder(ctx.lake, JOB, params=config.to_dict(), run_id=config.run_id) as run:
        ratings = run.read(C.T_RATINGS)
        movies = ctx.lake.read(C.T_MOVIES) if ctx.lake.exists(C.T_MOVIES) else None
        with run.timed("train_als"):
            result = train_als(
                ratings,
                config.model,
                config.grid,
                movies=movies,
                split=config.split,
                k=config.k,
                top=config.top_n,
                seed=config.model.seed,
                baselines=config.baselines,
                log=ctx.log,
            )
        with run.timed("write"):
            rows = write_outputs(
                ctx.lake,
                run,
                result,
                config.dataset,
                config.split,
                config.k,
                config.candidates_only,
            )
        run.timings.update(result.timings)
        run.params["chosen"] = result.config.tuned()
    lines = [f"run {run.run_id}: {result.config.mode} ALS {result.config.tuned()}"]
    if rows is not None:
        lines.append(format_metrics(rows))
    lines.append("wrote " + ", ".join(f"{t} v{v}" for t, v in sorted(run.output_versions.items())))
    return JobResult(JOB, run.run_id, run.output_versions, run.row_counts, "\n".join(lines))


def model_path(lake: Lake, run_id: str) -> str:
    """Where a run's fitted model is saved: ``<lake root>/_models/als/<run_id>``."""
    return f"{lake.root.rstrip('/')}/{MODELS_DIR}/{run_id}"


def _factors(df: DataFrame, run_id: str) -> DataFrame:
    """The ``FACTORS`` columns (see ``recsys.als._schemas``)."""
    return df.select(
        F.col(C.ID).cast("int").alias(C.ID),
        F.col(C.FEATURES).cast("array<float>").alias(C.FEATURES),
        F.lit(run_id).alias(C.RUN_ID),
    )


def search_rows(lake: Lake, run_id: str, dataset: str, result: ALSRunResult) -> DataFrame:
    """The run's search table as ``als_search`` rows (params as JSON, one row per grid point)."""
    assert result.search is not None
    data = []
    for r in result.search.rows:
        params = {k: r[k] for k in result.config.tuned() if k in r}
        data.append(
            (run_id, dataset, r["mode"], json.dumps(params, sort_keys=True),
             result.search.objective, r.get("rmse"), r.get("ndcg"), r.get("precision"),
             r.get("fit_s"), bool(r["chosen"]))
        )  # fmt: skip
    return lake.spark.createDataFrame(data, SEARCH)


def write_outputs(
    lake: Lake,
    run: RunRecorder,
    result: ALSRunResult,
    dataset: str,
    split: str,
    k: int,
    candidates_only: bool = False,
) -> DataFrame | None:
    """Write every table of the run (recording versions in ``run``); returns the metric rows
    written (``None`` when the run had no held-out evaluation). ``candidates_only`` skips the
    model and the factor tables, which a scoring run (the evaluate stage's) never reads."""
    assert result.final is not None and result.candidates is not None
    run_id = run.run_id
    final = result.final
    meta = run.commit_info
    if not candidates_only:
        final.model.write().overwrite().save(model_path(lake, run_id))
        for table, df in (
            (C.T_ALS_USER_FACTORS, final.user_factors),
            (C.T_ALS_ITEM_FACTORS, final.item_factors),
        ):
            run.wrote(table, lake.overwrite(table, _factors(df, run_id), **meta))
    candidates = result.candidates.select(
        *(F.col(f.name).cast(f.dataType) for f in CANDIDATES.fields if f.name != C.RUN_ID),
        F.lit(run_id).alias(C.RUN_ID),
    )
    run.wrote(C.T_ALS_CANDIDATES, lake.overwrite(C.T_ALS_CANDIDATES, candidates, **meta))
    if result.search is not None:
        rows = search_rows(lake, run_id, dataset, result)
        run.wrote(C.T_ALS_SEARCH, lake.append(C.T_ALS_SEARCH, rows, **meta))
    if not result.metrics:
        return None
    params = json.dumps(result.config.to_dict(), sort_keys=True)
    frames = [
        metrics_rows(run_id, dataset, split, model, params if model.startswith("als") else "{}",
                     values, k)
        for model, values in result.metrics.items()
    ]  # fmt: skip
    metric_df = frames[0]
    for f in frames[1:]:
        metric_df = metric_df.unionByName(f)
    run.wrote(C.T_METRICS, write_metrics(lake, metric_df, **meta))
    return metric_df
