"""Diversity re-rank: maximal marginal relevance (MMR) over content similarity.

Greedy per user over their candidate pool: pick the candidate maximising
``(1 - lambda) * relevance - lambda * max_{s already picked} sim(candidate, s)``, where relevance
is the blend score min-max scaled within the pool and ``sim`` is the Jaccard similarity of the
two movies' content features (genres by default; two movies without features count as
identical). ``lambda = 0`` keeps the blend's order; larger values trade relevance for
intra-list diversity.

The greedy loop runs inside Spark SQL higher-order functions (``aggregate`` over the steps,
``transform`` over each user's pool array of a few dozen entries): no Python UDF, so workers
need neither pandas nor this package installed.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from recsys import columns as C


def _jaccard(a: Column, b: Column) -> Column:
    union = F.size(F.array_union(a, b))
    return F.when(union == 0, F.lit(1.0)).otherwise(
        F.size(F.array_intersect(a, b)).cast("double") / union
    )


def _mmr_picks(cands: Column, rel: Column, lam: float, n: int) -> Column:
    """1-based pool positions picked, in MMR order (pool sorted best first)."""
    m = F.size(cands)
    idx = F.sequence(F.lit(1), m)
    init = F.struct(
        F.array().cast("array<int>").alias("picked"),
        F.array_repeat(F.lit(0.0), m).alias("maxsim"),
    )

    def step(acc: Column, _: Column) -> Column:
        def value(i: Column) -> Column:
            gain = (1 - lam) * F.element_at(rel, i) - lam * F.element_at(acc["maxsim"], i)
            v = F.when(F.array_contains(acc["picked"], i), F.lit(-1e300)).otherwise(gain)
            return F.struct(v.alias("v"), (-i).alias("t"))  # ties: earlier position wins

        def pick(best: Column) -> Column:
            best_g = F.element_at(cands, best)[C.GENRES]
            maxsim = F.transform(
                idx,
                lambda i: F.greatest(
                    F.element_at(acc["maxsim"], i),
                    _jaccard(F.element_at(cands, i)[C.GENRES], best_g),
                ),
            )
            return F.struct(
                F.concat(acc["picked"], F.array(best)).alias("picked"), maxsim.alias("maxsim")
            )

        # "let best = ...": a one-element transform binds the pick once; written inline, Spark
        # would re-evaluate the argmax for every element of the maxsim update
        best = -F.array_max(F.transform(idx, value))["t"]
        return F.element_at(F.transform(F.array(best), pick), 1)

    steps = F.sequence(F.lit(1), F.least(F.lit(n), m))
    return F.aggregate(steps, init, step)["picked"]


def mmr_rerank(
    recs: DataFrame,
    features: DataFrame,
    lam: float,
    n: int = 10,
    pool: int = 50,
) -> DataFrame:
    """Re-rank each user's top-``pool`` ``recs`` (by ``rank``) and keep ``n``.

    ``features``: ``movie_id`` plus an ``array<string>`` column ``genres`` (or any content
    tokens under that name). All other columns of ``recs`` are carried; only ``rank`` changes
    (``score`` stays the blend score). ``lam = 0`` returns the top-``n`` unchanged.
    """
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"diversity lambda must be in [0, 1], got {lam}")
    top = recs.where(F.col(C.RANK) <= pool)
    if lam == 0.0:
        return top.where(F.col(C.RANK) <= n)
    entries = top.select(C.USER_ID, C.MOVIE_ID, C.SCORE, C.RANK).join(
        features.select(C.MOVIE_ID, F.coalesce(C.GENRES, F.array()).alias(C.GENRES)),
        C.MOVIE_ID,
        "left",
    )
    entry = F.struct(
        F.col(C.RANK).alias("_pos"),
        F.col(C.MOVIE_ID),
        F.col(C.SCORE),
        F.coalesce(F.col(C.GENRES), F.array().cast("array<string>")).alias(C.GENRES),
    )
    lists = entries.groupBy(C.USER_ID).agg(F.array_sort(F.collect_list(entry)).alias("_c"))
    scores = F.transform("_c", lambda x: x[C.SCORE])
    lo, hi = F.array_min(scores), F.array_max(scores)
    rel = F.transform(
        "_c", lambda x: F.when(hi > lo, (x[C.SCORE] - lo) / (hi - lo)).otherwise(F.lit(1.0))
    )
    # relevance as a column of its own: inlined into the MMR loop it would be recomputed for
    # every element access (n x pool^2 times per user)
    lists = lists.select(C.USER_ID, "_c", rel.alias("_rel"))
    picked = lists.select(
        C.USER_ID,
        "_c",
        F.posexplode(_mmr_picks(F.col("_c"), F.col("_rel"), lam, n)).alias("_p", "_i"),
    )
    order = picked.select(
        C.USER_ID,
        F.element_at("_c", F.col("_i"))[C.MOVIE_ID].alias(C.MOVIE_ID),
        (F.col("_p") + 1).cast("int").alias(C.RANK),
    )
    return top.drop(C.RANK).join(order, [C.USER_ID, C.MOVIE_ID])
