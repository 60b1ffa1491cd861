"""Per-user top-N from a fitted ALS model, never recommending a movie the user already rated.

Scoring uses Spark's blocked ``recommendForUserSubset`` (factors stay on the executors). To
still have N unrated movies after removing the rated ones, user ``u`` must fetch ``N + n_u``
(``n_u`` = their rating count). Fetching the largest ``n_u`` for everyone would be wasteful, so
users are served in two tiers: most users fetch ``N + q`` where ``q`` is the 90th percentile of
``n_u``; the heavy raters above it fetch ``N + max n_u``. Both tiers are exact.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from recsys import columns as C
from recsys.als._model import FittedALS

_N_RATED = "_n_rated"


def _recommend(fitted: FittedALS, users: DataFrame, fetch: int) -> DataFrame:
    recs = fitted.model.recommendForUserSubset(users.select(C.USER_ID), fetch)
    return recs.select(C.USER_ID, F.explode("recommendations").alias("_r")).select(
        C.USER_ID,
        F.col(f"_r.{C.MOVIE_ID}").alias(C.MOVIE_ID),
        F.col("_r.rating").cast("double").alias(C.SCORE),
    )


def top_n(
    fitted: FittedALS,
    rated: DataFrame,
    n: int = 10,
    users: DataFrame | None = None,
    heavy_quantile: float = 0.9,
) -> DataFrame:
    """Recommendations (``user_id, movie_id, score, rank``) for ``users`` (default: everyone in
    ``rated``), excluding every (user, movie) pair in ``rated``. Users the model does not know
    get no rows. Ties in score break by movie id."""
    pairs = rated.select(C.USER_ID, C.MOVIE_ID)
    counts = pairs.groupBy(C.USER_ID).agg(F.count(F.lit(1)).alias(_N_RATED))
    who = (users if users is not None else counts).select(C.USER_ID).distinct()
    who = who.join(counts, C.USER_ID, "left").fillna(0, subset=[_N_RATED]).cache()
    # two scalars for the driver: the tier boundary and the heaviest user's count
    q = who.approxQuantile(_N_RATED, [heavy_quantile], 0.01)
    light_max = int(q[0]) if q else 0
    heavy_max = who.agg(F.max(_N_RATED)).first()[0] or 0
    parts = [_recommend(fitted, who.filter(F.col(_N_RATED) <= light_max), n + light_max)]
    if heavy_max > light_max:
        heavy = who.filter(F.col(_N_RATED) > light_max)
        parts.append(_recommend(fitted, heavy, n + int(heavy_max)))
    scored = parts[0] if len(parts) == 1 else parts[0].unionByName(parts[1])
    order = Window.partitionBy(C.USER_ID).orderBy(F.col(C.SCORE).desc(), F.col(C.MOVIE_ID))
    result = (
        scored.join(pairs, [C.USER_ID, C.MOVIE_ID], "left_anti")
        .withColumn(C.RANK, F.row_number().over(order))
        .filter(F.col(C.RANK) <= n)
        .select(C.USER_ID, C.MOVIE_ID, C.SCORE, F.col(C.RANK).cast("int").alias(C.RANK))
    )
    return result
