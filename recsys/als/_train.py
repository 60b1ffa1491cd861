"""One ALS run end to end: split, search on validation, evaluate on test, refit on everything.

The evaluation model is fitted on the train split only; the model whose factors and candidates
the product uses is refitted on all ratings with the chosen parameters.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import DataFrame
from pyspark.storagelevel import StorageLevel

from recsys import columns as C
from recsys.als._model import FittedALS
from recsys.als._params import ALSConfig, grid_configs
from recsys.als._tuning import SearchResult, fit, search
from recsys.evaluation import SPLITS as EVALUATION_SPLITS
from recsys.evaluation import evaluate_recs, most_popular, rating_metrics, split_by_name

SPLITS = (*EVALUATION_SPLITS, "none")
"""``none``: train on everything, no held-out metrics."""


@dataclass
class ALSRunResult:
    config: ALSConfig
    """The parameters used for the evaluation and the final model (chosen ones if searched)."""
    search: SearchResult | None
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    """Test metrics per model label (``als-<mode>`` and, with baselines, ``most-popular``)."""
    final: FittedALS | None = None
    candidates: DataFrame | None = None
    timings: dict[str, float] = field(default_factory=dict)


def evaluate_fitted(
    fitted: FittedALS,
    train: DataFrame,
    test: DataFrame,
    movies: DataFrame | None = None,
    k: int = 10,
) -> dict[str, float]:
    """Test metrics of a model fitted on ``train``: RMSE/MAE in explicit mode, and for both
    modes the ranking and beyond-accuracy metrics of its top-k (rated movies excluded)."""
    metrics: dict[str, float] = {}
    if fitted.config.mode == "explicit":
        metrics.update(rating_metrics(fitted.predict(test)))
    t0 = time.perf_counter()
    recs = fitted.candidates(train, n=k, users=test.select(C.USER_ID)).persist()
    metrics.update(evaluate_recs(recs, train, test, movies=movies, k=k))
    metrics["topn_s"] = time.perf_counter() - t0
    metrics["fit_s"] = fitted.fit_s
    recs.unpersist()
    return metrics


def train_als(
    ratings: DataFrame,
    base: ALSConfig,
    grid: Mapping[str, list[Any]] | None = None,
    *,
    movies: DataFrame | None = None,
    split: str = "stratified",
    k: int = 10,
    top: int = 100,
    seed: int = 42,
    baselines: bool = True,
    log: Callable[[str], None] | None = None,
) -> ALSRunResult:
    """Search ``grid`` (on a validation split of train), evaluate on the test split, then refit
    on all ratings and build per-user top-``top`` candidates. ``split="none"`` skips testing."""
    say = log or (lambda _msg: None)
    level = StorageLevel.MEMORY_AND_DISK
    ratings = ratings.select(C.USER_ID, C.MOVIE_ID, C.RATING, C.RATED_AT).persist(level)
    result = ALSRunResult(config=base, search=None)
    train = test = None
    if split != "none":
        train, test = split_by_name(ratings, split, seed=seed)
        train, test = train.persist(level), test.persist(level)
    if grid:
        t0 = time.perf_counter()
        result.search = search(train if train is not None else ratings,
                               list(grid_configs(base, grid)), k=k, seed=seed, log=say)  # fmt: skip
        result.config = result.search.best
        result.timings["search_s"] = time.perf_counter() - t0
        say(f"chosen by validation {result.search.objective}: {result.config.tuned()}")
    if train is not None and test is not None:
        fitted = fit(train, result.config)
        label = f"als-{result.config.mode}"
        result.metrics[label] = evaluate_fitted(fitted, train, test, movies, k)
        result.timings["eval_fit_s"] = fitted.fit_s
        result.timings["eval_topn_s"] = result.metrics[label]["topn_s"]
        if baselines:
            popular = most_popular(train, test.select(C.USER_ID), k=k)
            result.metrics["most-popular"] = evaluate_recs(popular, train, test, movies, k)
        train.unpersist()
        test.unpersist()
    result.final = fit(ratings, result.config)
    result.timings["final_fit_s"] = result.final.fit_s
    result.candidates = result.final.candidates(ratings, n=top)
    return result
