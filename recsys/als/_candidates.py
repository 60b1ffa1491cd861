"""Per-user top-N from a fitted ALS model, never recommending a movie the user already rated.

The item factors are model-sized (movies x rank floats: 5 MB for 10k movies at rank 128), so
they are broadcast and every block of users is scored in numpy: one ``users x movies`` matrix
product per chunk of users, the user's rated movies set to -inf, the top ``n`` kept. Exact for
every user, however many movies they rated. Spark's ``recommendForUserSubset`` cannot exclude
the rated movies, so user ``u`` had to fetch ``n + n_u`` (two tiers of users to bound the
fetch), explode them into rows, anti-join the ratings and rank with a window: at 10M ratings
that was most of the 140 s the ALS job spent beyond its fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.ml.recommendation import ALSModel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from recsys import columns as C
from recsys.schemas import RECS
from recsys.vectorised import lookup, top_positions, typed_frame, udf_groups

_RATED, _GROUP = "_rated", "_group"
_CHUNK = 256
"""Users scored per matrix product: a ``_CHUNK x movies`` float32 block (61 MB at 60k movies)."""


@dataclass(frozen=True)
class _ItemFactors:
    movie_ids: np.ndarray
    """Sorted movie ids; row ``i`` of ``matrix`` is movie ``movie_ids[i]``'s factor."""
    matrix: np.ndarray


def top_n(
    model: ALSModel, rated: DataFrame, n: int = 10, users: DataFrame | None = None
) -> DataFrame:
    """Recommendations (``user_id, movie_id, score, rank``) for ``users`` (default: everyone in
    ``rated``), excluding every (user, movie) pair in ``rated``. Users the model does not know
    get no rows. Ties in score break by movie id. ``score`` is the factors' dot product (in
    explicit mode with biases the factors carry them: the full prediction, unclipped)."""
    spark = rated.sparkSession
    items = model.itemFactors.toPandas()  # movies x rank: the model, never the data
    ids = items["id"].to_numpy(np.int64)
    order = np.argsort(ids)
    matrix = np.stack(items["features"].to_numpy()[order]).astype(np.float32)
    factors = spark.sparkContext.broadcast(_ItemFactors(ids[order], matrix))
    lists = rated.groupBy(C.USER_ID).agg(F.collect_list(C.MOVIE_ID).alias(_RATED))
    who = lists.select(C.USER_ID) if users is None else users.select(C.USER_ID).distinct()
    known = model.userFactors.select(
        F.col("id").cast("int").alias(C.USER_ID), F.col("features").alias(C.FEATURES)
    )
    blocks = udf_groups(spark, 0)
    rows = (
        who.join(known, C.USER_ID)
        .join(lists, C.USER_ID, "left")
        .withColumn(_GROUP, F.pmod(F.hash(C.USER_ID), F.lit(blocks)))
    )

    def score(block: pd.DataFrame) -> pd.DataFrame:
        return _score_users(block, factors.value, n)

    return rows.groupBy(_GROUP).applyInPandas(score, schema=RECS)


def _score_users(block: pd.DataFrame, items: _ItemFactors, n: int) -> pd.DataFrame:
    """Top-``n`` unrated movies of every user in ``block`` (``user_id, features, _rated``)."""
    out: list[tuple[np.ndarray, ...]] = []
    for lo in range(0, len(block), _CHUNK):
        part = block.iloc[lo : lo + _CHUNK]
        users = part[C.USER_ID].to_numpy(np.int64)
        scores = np.stack(part[C.FEATURES].to_numpy()).astype(np.float32) @ items.matrix.T
        for i, rated in enumerate(part[_RATED].to_numpy()):
            if rated is not None and len(rated):
                pos, ok = lookup(items.movie_ids, np.asarray(rated, np.int64))
                scores[i, pos[ok]] = -np.inf
        for i, user in enumerate(users.tolist()):
            row = scores[i]
            finite = np.flatnonzero(np.isfinite(row))  # rated movies are -inf
            top = finite[top_positions(row[finite], finite, n)]  # positions follow ids
            if len(top):
                out.append(
                    (
                        np.full(len(top), user),
                        items.movie_ids[top],
                        row[top].astype(np.float64),
                        np.arange(1, len(top) + 1),
                    )
                )
    return typed_frame(out, RECS)
