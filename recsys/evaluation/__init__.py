"""Evaluation shared by every model: splits, metrics, baselines and the ``metrics`` table.

Contracts:

- recommendations ("recs"): ``user_id, movie_id, score (double), rank (int, 1 = best)``;
- test / truth: ``user_id, movie_id`` (+ ``rating``); every test row counts as relevant.

Definitions follow Microsoft Recommenders' MovieLens benchmark (``python_stratified_split``,
``python_evaluation`` with ``relevancy_method="top_k"``), so numbers compare with
``ANCHORS.md``. Typical use::

    train, test = stratified_split(ratings, ratio=0.75, seed=42)
    recs = most_popular(train, test.select("user_id"), k=10)
    m = evaluate_recs(recs, train, test, movies=movies, k=10)
    rows = metrics_rows(run_id, "ml-100k", "stratified", "most-popular", {}, m, 10)
    # (the jobs append such rows to the lake's ``metrics`` table: recsys.jobs.write_metrics)
"""

from recsys.evaluation._baselines import most_popular, random_recs
from recsys.evaluation._metrics import (
    beyond_accuracy_metrics,
    intra_list_diversity,
    popularity_ranks,
    ranking_metrics,
    rating_metrics,
)
from recsys.evaluation._report import (
    METRICS_SCHEMA,
    evaluate_models,
    evaluate_recs,
    format_metrics,
    metrics_rows,
)
from recsys.evaluation._splits import (
    SPLITS,
    SplitError,
    random_split,
    split_by_name,
    stratified_split,
    temporal_split,
)

__all__ = [
    "METRICS_SCHEMA",
    "SPLITS",
    "SplitError",
    "beyond_accuracy_metrics",
    "evaluate_models",
    "evaluate_recs",
    "format_metrics",
    "intra_list_diversity",
    "metrics_rows",
    "most_popular",
    "popularity_ranks",
    "random_recs",
    "random_split",
    "ranking_metrics",
    "rating_metrics",
    "split_by_name",
    "stratified_split",
    "temporal_split",
]
