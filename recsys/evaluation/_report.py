"""Evaluate a recommendation DataFrame in one call; store and print the results.

The ``metrics`` table is long (one row per metric) so models with different metric sets share
it, and a report is a pivot of it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from typing import Any

from pyspark.sql import DataFrame, Row, SparkSession
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
from recsys.evaluation._metrics import (
    beyond_accuracy_by_model,
    collect_by_model,
    ranking_by_model,
    tag_models,
)

METRICS_SCHEMA = StructType(
    [
        StructField(C.RUN_ID, StringType(), False),
        StructField(C.DATASET, StringType(), False),
        StructField(C.SPLIT, StringType(), False),
        StructField(C.MODEL, StringType(), False),
        StructField(C.PARAMS, StringType(), True),
        StructField(C.METRIC, StringType(), False),
        StructField(C.K, IntegerType(), True),
        StructField(C.VALUE, DoubleType(), True),
        StructField(C.CREATED_AT, TimestampType(), False),
    ]
)

# Column order of format_metrics; metrics not listed follow alphabetically.
_ORDER = [
    "rmse", "mae", "n_scored", "precision", "recall", "ndcg", "map", "map_rel", "hit_rate",
    "coverage", "diversity", "novelty", "users", "fit_s", "topn_s",
]  # fmt: skip


def evaluate_recs(
    recs: DataFrame,
    train: DataFrame,
    test: DataFrame,
    movies: DataFrame | None = None,
    k: int = 10,
) -> dict[str, float]:
    """Ranking metrics against ``test`` plus coverage/novelty (and diversity with ``movies``)."""
    return evaluate_models({"_": recs}, train, test, movies=movies, k=k)["_"]


def evaluate_models(
    recs: Mapping[str, DataFrame],
    train: DataFrame,
    test: DataFrame,
    movies: DataFrame | None = None,
    k: int = 10,
) -> dict[str, dict[str, float]]:
    """:func:`evaluate_recs` for several models at once: ``model -> metric -> value``.

    Every metric is one query grouped by model over all models' top-``k`` rows (cached for
    the pass), so six models cost about what one did, not six times the Spark jobs.
    """
    top = tag_models(recs, k).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        models = list(recs)
        frames = [
            ranking_by_model(top, test, models, k),
            *beyond_accuracy_by_model(top, train, movies),
        ]
        return collect_by_model(frames, models)
    finally:
        top.unpersist()


def metrics_rows(
    run_id: str,
    dataset: str,
    split: str,
    model: str,
    params: Mapping[str, Any] | str | None,
    metrics: Mapping[str, float],
    k: int | None,
) -> DataFrame:
    """One ``metrics`` row per entry of ``metrics`` (``params`` stored as a JSON string)."""
    spark = SparkSession.active()
    if params is None or isinstance(params, str):
        params_json = params
    else:
        params_json = json.dumps(dict(params), sort_keys=True, default=str)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    data = [
        (
            run_id,
            dataset,
            split,
            model,
            params_json,
            name,
            k,
            None if v is None else float(v),
            now,
        )
        for name, v in metrics.items()
    ]
    return spark.createDataFrame(data, METRICS_SCHEMA)


def _as_dicts(rows: DataFrame | Iterable[Row | Mapping[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(rows, DataFrame):
        rows = rows.collect()  # a report: one row per (model, metric), not per user
    return [r.asDict() if isinstance(r, Row) else dict(r) for r in rows]


def _fmt(v: float | None) -> str:
    if v is None:
        return "-"
    if abs(v) >= 100 or float(v).is_integer():
        return f"{v:.0f}" if float(v).is_integer() else f"{v:.1f}"
    return f"{v:.4f}"


def format_metrics(rows: DataFrame | Iterable[Row | Mapping[str, Any]]) -> str:
    """A plain-text table, one line per (dataset, split, model, k) and one column per metric."""
    dicts = _as_dicts(rows)
    keys: list[tuple] = []
    table: dict[tuple, dict[str, float]] = {}
    names: set[str] = set()
    for r in dicts:
        key = (r.get(C.DATASET, ""), r.get(C.SPLIT, ""), r[C.MODEL], r.get(C.K))
        if key not in table:
            keys.append(key)
            table[key] = {}
        table[key][r[C.METRIC]] = r[C.VALUE]
        names.add(r[C.METRIC])
    cols = [m for m in _ORDER if m in names] + sorted(names - set(_ORDER))
    header = ["dataset", "split", "model", "k", *cols]
    body = [
        [str(d), str(s), str(m), "-" if kk is None else str(kk)]
        + [_fmt(table[(d, s, m, kk)].get(c)) for c in cols]
        for d, s, m, kk in keys
    ]
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in
              enumerate(header)]  # fmt: skip
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for b in body:
        lines.append("  ".join(x.ljust(w) for x, w in zip(b, widths, strict=True)))
    return "\n".join(lines)
