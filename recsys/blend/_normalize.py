"""Per-user score normalisation: ALS dot products, kNN vote sums, content cosines and rating
counts live on different scales, so each source is mapped to [0, 1] within each user's own
candidate list before the weighted sum."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from recsys import columns as C

METHODS = ("minmax", "rank", "zscore")


def _normalized(score: Column, method: str) -> Column:
    by_user = Window.partitionBy(C.USER_ID)
    if method == "minmax":
        lo, hi = F.min(score).over(by_user), F.max(score).over(by_user)
        return F.when(hi > lo, (score - lo) / (hi - lo)).otherwise(F.lit(1.0))
    if method == "rank":
        # Borda-style: best = 1, worst = 1/count; ties share the better position.
        order = by_user.orderBy(score.desc())
        count = F.count(F.lit(1)).over(by_user)
        return (count - F.rank().over(order) + 1) / count
    if method == "zscore":
        # logistic of the z-score, so an absent candidate (0) is below every present one
        mean, std = F.avg(score).over(by_user), F.stddev_pop(score).over(by_user)
        z = F.when(std > 0, (score - mean) / std).otherwise(F.lit(0.0))
        return 1.0 / (1.0 + F.exp(-z))
    raise ValueError(f"unknown normalisation {method!r}; choose one of {METHODS}")


def normalize_per_user(
    df: DataFrame, score_col: str = C.SCORE, out_col: str | None = None, method: str = "minmax"
) -> DataFrame:
    """``df`` with ``out_col`` (default: ``score_col`` replaced) mapped to [0, 1] per user.

    - ``minmax``: (s - min) / (max - min); a user whose scores are all equal gets 1.
    - ``rank``: (count - rank + 1) / count, i.e. 1 for the best, 1/count for the last.
    - ``zscore``: logistic of (s - mean) / std; all-equal scores give 0.5.
    """
    value = _normalized(F.col(score_col).cast("double"), method).cast("double")
    return df.withColumn(out_col or score_col, value)
