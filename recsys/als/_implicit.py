"""Implicit ALS: every rating is an observed interaction whose strength sets the confidence.

Spark's implicit ALS (Hu, Koren & Volinsky) fits preference 1 for observed pairs with confidence
``1 + alpha * value``. What ``value`` is matters for top-N: under the evaluation protocol every
held-out rating is relevant, so a 2-star rating is as much a "watched" signal as a 5-star one.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from recsys import columns as C
from recsys.als._model import FittedALS, fit_als
from recsys.als._params import ALSConfig

_STRENGTH = "_strength"


def confidence_value(config: ALSConfig) -> Column:
    """The per-rating value ALS scales by ``alpha`` (see :attr:`ALSConfig.confidence`)."""
    rating = F.col(C.RATING).cast("double")
    if config.confidence == "log":
        return F.log1p(rating)
    if config.confidence in ("binary", "threshold"):
        return F.lit(1.0)
    return rating


def interactions(train: DataFrame, config: ALSConfig) -> DataFrame:
    """``user_id, movie_id, _strength``: the rows implicit ALS trains on."""
    rows = train
    if config.confidence == "threshold":
        rows = rows.filter(F.col(C.RATING) >= config.threshold)
    return rows.select(C.USER_ID, C.MOVIE_ID, confidence_value(config).alias(_STRENGTH))


def fit_implicit(train: DataFrame, config: ALSConfig) -> FittedALS:
    """Fit a ranking model; its ``prediction`` is a preference score, not a rating."""
    model, seconds = fit_als(interactions(train, config), config, rating_col=_STRENGTH)
    return FittedALS(config, model, seconds)
