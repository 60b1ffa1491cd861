"""The fitted ALS model shared by both modes, and the Spark estimator both modes configure.

Spark's ``ALS`` requires deterministic input: a retried task that re-reads a differently ordered
or re-sampled input corrupts the factor blocks (see the ``ALS`` docs). Callers' DataFrames may
come from hash-based splits (deterministic) or files; either way :func:`fit_als` persists the
exact rows it trains on for the duration of the fit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from pyspark.ml.recommendation import ALS, ALSModel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.storagelevel import StorageLevel

from recsys import columns as C
from recsys.als._candidates import top_n
from recsys.als._params import ALSConfig

_BIAS = "_bias"


@dataclass
class FittedALS:
    """A fitted ALS model plus what prediction needs beyond the factors.

    ``model`` is self-contained: in explicit mode with biases its factors are augmented
    (user ``[p, 1, mu + b_u]``, movie ``[q, b_m, 1]``) so ``p.q + b_m + mu + b_u`` is a plain dot
    product, and Spark's blocked ``recommendFor*`` and ``transform`` rank by the full prediction.
    """

    config: ALSConfig
    model: ALSModel
    fit_s: float
    global_mean: float = 0.0
    user_bias: DataFrame | None = None
    item_bias: DataFrame | None = None
    extra: dict[str, float] = field(default_factory=dict)
    rating_range: tuple[float, float] | None = None
    """Explicit mode: the lowest and highest training rating; predictions are clipped to it
    (a 5.6 can only be worse than a 5 on a 5-star scale; Surprise clips the same way)."""

    def predict(self, pairs: DataFrame) -> DataFrame:
        """``pairs`` + ``prediction``. Explicit mode falls back to mean + biases for users or
        movies the factors do not know, so every row is scored, and clips to
        ``rating_range``; implicit leaves unknown pairs NaN."""
        scored = self.model.transform(pairs)
        if self.user_bias is None or self.item_bias is None:
            return self._clip(scored)
        fallback = (
            F.lit(self.global_mean)
            + F.coalesce(F.col("_bu"), F.lit(0.0))
            + F.coalesce(F.col("_bi"), F.lit(0.0))
        )
        pred = F.col(C.PREDICTION)
        scored = (
            scored.join(self.user_bias.withColumnRenamed(_BIAS, "_bu"), C.USER_ID, "left")
            .join(self.item_bias.withColumnRenamed(_BIAS, "_bi"), C.MOVIE_ID, "left")
            .withColumn(
                C.PREDICTION,
                F.when(pred.isNull() | F.isnan(pred), fallback).otherwise(pred).cast("double"),
            )
            .drop("_bu", "_bi")
        )
        return self._clip(scored)

    def _clip(self, scored: DataFrame) -> DataFrame:
        if self.rating_range is None:
            return scored
        lo, hi = self.rating_range
        pred = F.col(C.PREDICTION)
        clipped = F.when(F.isnan(pred), pred).otherwise(
            F.least(F.greatest(pred, F.lit(lo)), F.lit(hi))
        )
        return scored.withColumn(C.PREDICTION, clipped.cast("double"))

    def candidates(
        self, ratings: DataFrame, n: int = 10, users: DataFrame | None = None
    ) -> DataFrame:
        """Recommendations (``user_id, movie_id, score, rank``) for ``users`` (default: everyone
        in ``ratings``), never a (user, movie) pair of ``ratings``; users the model does not
        know get no rows. ``score`` is the factors' dot product (in explicit mode with biases
        the full prediction, unclipped); ties go to the smaller movie id."""
        return top_n(self.model, ratings, n=n, users=users)

    @property
    def user_factors(self) -> DataFrame:
        """``id, features`` (augmented in explicit mode with biases)."""
        return self.model.userFactors

    @property
    def item_factors(self) -> DataFrame:
        return self.model.itemFactors


def estimator(config: ALSConfig, spark: SparkSession, rating_col: str = C.RATING) -> ALS:
    blocks = config.num_blocks or spark.sparkContext.defaultParallelism
    als = ALS(
        rank=config.rank,
        maxIter=config.max_iter,
        regParam=config.reg_param,
        alpha=config.alpha,
        implicitPrefs=config.mode == "implicit",
        nonnegative=config.nonnegative,
        numUserBlocks=blocks,
        numItemBlocks=blocks,
        checkpointInterval=config.checkpoint_interval,
        seed=config.seed,
        userCol=C.USER_ID,
        itemCol=C.MOVIE_ID,
        ratingCol=rating_col,
        coldStartStrategy="nan",
    )
    return als.setPredictionCol(C.PREDICTION)


def fit_als(
    data: DataFrame, config: ALSConfig, rating_col: str = C.RATING
) -> tuple[ALSModel, float]:
    """Fit on persisted input; returns the model and the wall seconds of the fit."""
    rows = data.select(C.USER_ID, C.MOVIE_ID, F.col(rating_col).cast("float").alias(rating_col))
    rows = rows.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        t0 = time.perf_counter()
        # Spark's ALS.train materialises the factor RDDs before returning, so this times the fit
        model = estimator(config, data.sparkSession, rating_col).fit(rows)
        return model, time.perf_counter() - t0
    finally:
        rows.unpersist()


def model_from_factors(
    spark: SparkSession, rank: int, user_factors: DataFrame, item_factors: DataFrame
) -> ALSModel:
    """An ``ALSModel`` over given ``id, features`` tables (used for the bias-augmented factors).

    PySpark has no public constructor, so this calls the JVM one (classic Spark sessions only;
    Spark Connect would need the residual model plus biases instead). The params are set on the
    Java object as well as on the Python wrapper: ``recommendFor*`` and ``save`` use the Java
    object's own values, which a wrapper-only setter reaches only at the next ``transform``.
    """
    jvm = spark.sparkContext._jvm
    java_model = jvm.org.apache.spark.ml.recommendation.ALSModel(
        f"als_aug_{rank}", rank, user_factors._jdf, item_factors._jdf
    )
    model = ALSModel(java_model)
    for target in (java_model, model):
        target.setUserCol(C.USER_ID).setItemCol(C.MOVIE_ID).setPredictionCol(C.PREDICTION)
        target.setColdStartStrategy("nan").setBlockSize(4096)
    return model
