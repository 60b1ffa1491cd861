"""Train/test splits of a ratings DataFrame, all in Spark and reproducible.

Randomness comes from a hash of ``(seed, user, movie)`` rather than ``rand()``, so a split does
not depend on how the input happens to be partitioned or ordered (``randomSplit`` does).
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from recsys import columns as C
from recsys.errors import RecsysError

_U53 = float(2**53)  # uniform draws use the hash's low 53 bits, exact in a double


class SplitError(RecsysError):
    """A split was asked for with impossible parameters."""


def _uniform(seed: int, user_col: str, item_col: str) -> Column:
    """A deterministic draw in [0, 1) per (seed, user, movie)."""
    h = F.xxhash64(F.lit(int(seed)), F.col(user_col), F.col(item_col))
    return F.pmod(h, F.lit(2**53)).cast("double") / F.lit(_U53)


def _check_ratio(ratio: float) -> None:
    if not 0.0 < ratio < 1.0:
        raise SplitError(f"split ratio must be strictly between 0 and 1, got {ratio}")


def random_split(
    ratings: DataFrame,
    ratio: float = 0.75,
    seed: int = 42,
    user_col: str = C.USER_ID,
    item_col: str = C.MOVIE_ID,
) -> tuple[DataFrame, DataFrame]:
    """Each rating independently to train with probability ``ratio`` (no per-user guarantee)."""
    _check_ratio(ratio)
    flagged = ratings.withColumn("_u", _uniform(seed, user_col, item_col))
    train = flagged.filter(F.col("_u") < ratio).drop("_u")
    test = flagged.filter(F.col("_u") >= ratio).drop("_u")
    return train, test


def stratified_split(
    ratings: DataFrame,
    ratio: float = 0.75,
    seed: int = 42,
    min_ratings: int = 2,
    user_col: str = C.USER_ID,
    item_col: str = C.MOVIE_ID,
) -> tuple[DataFrame, DataFrame]:
    """Per user: shuffle the user's ratings by ``seed``, first ``round(ratio * n)`` to train.

    Mirrors Microsoft Recommenders' ``python_stratified_split(filter_by="user")``: the cut is
    ``round`` with ties to even (numpy/pandas rounding, Spark ``bround``), so a user with 22
    ratings keeps 16 in train. Unlike MS (which drops them), users with fewer than
    ``min_ratings`` ratings are kept whole in train so the model still sees them. The shuffle is
    a hash, so rows differ from MS's numpy shuffle while the per-user counts are identical.
    """
    _check_ratio(ratio)
    by_user = Window.partitionBy(user_col)
    ordered = by_user.orderBy(F.col("_u"), F.col(item_col))
    flagged = (
        ratings.withColumn("_u", _uniform(seed, user_col, item_col))
        .withColumn("_n", F.count(F.lit(1)).over(by_user))
        .withColumn("_pos", F.row_number().over(ordered))
        .withColumn(
            "_train",
            (F.col("_n") < min_ratings) | (F.col("_pos") <= F.bround(F.col("_n") * ratio, 0)),
        )
    )
    helper = ["_u", "_n", "_pos", "_train"]
    train = flagged.filter(F.col("_train")).drop(*helper)
    test = flagged.filter(~F.col("_train")).drop(*helper)
    return train, test


def temporal_split(
    ratings: DataFrame,
    holdout: float | int = 0.2,
    user_col: str = C.USER_ID,
    item_col: str = C.MOVIE_ID,
    time_col: str = C.RATED_AT,
) -> tuple[DataFrame, DataFrame]:
    """Hold out each user's latest ratings: a float is the latest fraction (the train part is
    ``round((1 - holdout) * n)``, as MS's ``python_chrono_split``), an int the latest N.

    Every user keeps at least one rating in train, so an int holdout takes
    ``min(N, n - 1)`` ratings. Ties in time are broken by movie id, deterministically.
    """
    by_user = Window.partitionBy(user_col)
    newest_first = by_user.orderBy(F.col(time_col).desc(), F.col(item_col).desc())
    n, recency = F.col("_n"), F.col("_recency")
    if isinstance(holdout, bool) or not isinstance(holdout, int | float):
        raise SplitError(f"holdout must be a fraction or a count, got {holdout!r}")
    if isinstance(holdout, float):
        _check_ratio(holdout)
        n_test = n - F.bround(n * (1.0 - holdout), 0)
    else:
        if holdout < 1:
            raise SplitError(f"an integer holdout must be >= 1, got {holdout}")
        n_test = F.least(F.lit(holdout), n - 1)
    flagged = (
        ratings.withColumn("_n", F.count(F.lit(1)).over(by_user))
        .withColumn("_recency", F.row_number().over(newest_first))
        .withColumn("_test", recency <= n_test)
    )
    helper = ["_n", "_recency", "_test"]
    train = flagged.filter(~F.col("_test")).drop(*helper)
    test = flagged.filter(F.col("_test")).drop(*helper)
    return train, test


SPLITS: tuple[str, ...] = ("stratified", "random", "temporal")
"""The evaluation protocol's splits by name (:func:`split_by_name`)."""


def split_by_name(
    ratings: DataFrame, name: str, ratio: float = 0.75, seed: int = 42
) -> tuple[DataFrame, DataFrame]:
    """(train, test) by the split's name, with ``ratio`` of each user's ratings (``random``: of
    all ratings) in train; ``temporal`` holds out each user's latest ``1 - ratio``. The one
    place train-als and evaluate get their splits from."""
    if name == "stratified":
        return stratified_split(ratings, ratio=ratio, seed=seed)
    if name == "random":
        return random_split(ratings, ratio=ratio, seed=seed)
    if name == "temporal":
        return temporal_split(ratings, holdout=round(1.0 - ratio, 6))
    raise SplitError(f"unknown split {name!r}; choose one of {', '.join(SPLITS)}")
