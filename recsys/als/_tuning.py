"""Hyperparameter search on a validation split carved from TRAIN (the test split is never seen).

Explicit configs are chosen by validation RMSE, implicit ones by validation nDCG@k; every grid
point's numbers are kept so the run can store its search table (``als_search``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pyspark.sql import DataFrame
from pyspark.storagelevel import StorageLevel

from recsys import columns as C
from recsys.als._explicit import fit_explicit
from recsys.als._implicit import fit_implicit
from recsys.als._model import FittedALS
from recsys.als._params import ALSConfig
from recsys.evaluation import ranking_metrics, rating_metrics, stratified_split


def fit(train: DataFrame, config: ALSConfig) -> FittedALS:
    """Fit in the config's mode."""
    return fit_explicit(train, config) if config.mode == "explicit" else fit_implicit(train, config)


def validation_scores(
    fitted: FittedALS, fit_part: DataFrame, validation: DataFrame, k: int
) -> dict[str, float]:
    """RMSE/MAE (explicit) or ranking metrics at k (implicit) on the validation rows."""
    if fitted.config.mode == "explicit":
        return rating_metrics(fitted.predict(validation))
    t0 = time.perf_counter()
    recs = fitted.candidates(fit_part, n=k, users=validation.select(C.USER_ID))
    scores = ranking_metrics(recs, validation, k=k)
    scores["topn_s"] = time.perf_counter() - t0
    return scores


@dataclass
class SearchResult:
    best: ALSConfig
    objective: str
    rows: list[dict[str, Any]]
    """One dict per grid point: the searched params, validation metrics, fit seconds, chosen."""


def search(
    train: DataFrame,
    configs: Iterable[ALSConfig],
    k: int = 10,
    ratio: float = 0.75,
    seed: int = 42,
    log: Any = None,
) -> SearchResult:
    """Fit every config on part of ``train`` and score it on the rest (per-user stratified,
    same protocol as the test split); returns the best config and the whole table."""
    configs = list(configs)
    if not configs:
        raise ValueError("search needs at least one config")
    fit_part, validation = stratified_split(train, ratio=ratio, seed=seed + 1)
    fit_part = fit_part.persist(StorageLevel.MEMORY_AND_DISK)
    validation = validation.persist(StorageLevel.MEMORY_AND_DISK)
    rows: list[dict[str, Any]] = []
    try:
        for config in configs:
            fitted = fit(fit_part, config)
            scores = validation_scores(fitted, fit_part, validation, k)
            row = {**config.tuned(), "mode": config.mode, **scores, "fit_s": fitted.fit_s}
            rows.append(row)
            if log is not None:
                log(_describe(row))
    finally:
        fit_part.unpersist()
        validation.unpersist()
    explicit = rows[0]["mode"] == "explicit"
    objective = "rmse" if explicit else "ndcg"
    pick = min if explicit else max
    best_row = pick(rows, key=lambda r: r[objective])
    for r in rows:
        r["chosen"] = r is best_row
    best = configs[rows.index(best_row)]
    return SearchResult(best=best, objective=objective, rows=rows)


def _describe(row: Mapping[str, Any]) -> str:
    return "  ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items())
