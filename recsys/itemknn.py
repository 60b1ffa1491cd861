"""Neighbourhood collaborative filtering in Spark: item-based kNN (and its user-based twin).

Similarity between two movies i, j comes from the users who rated both (implicit: a rating is a
co-occurrence whatever its value, which is what top-N ranking rewards)::

    sim(i, j) = sum_{u rated i and j} d_u^-via_weight / (n_i^0.5 * n_j^neighbor_pop)
                * support / (support + shrink)

``d_u`` is the user's number of ratings and ``n_i`` the movie's. ``via_weight=0,
neighbor_pop=0.5, shrink=0`` is plain cosine over co-ratings; ``via_weight=1`` down-weights very
active users (a random-walk / "inverse user frequency" weighting, as RP3beta); ``neighbor_pop >
0.5`` penalises popular neighbours. Each movie keeps its top ``k`` neighbours, optionally
normalised to sum 1 so every rated movie casts one vote. A user's candidate score is the
classic item-kNN top-N sum ``score(u, j) = sum_{i rated by u} sim(i, j)`` over unrated ``j``;
the rated movie with the largest term becomes ``because_movie_id`` (the reason).

Scale: pairs come from a self-join on users, so a user with d ratings yields d^2/2 pairs. Each
user's ratings are capped at ``max_per_via`` (a seeded hash sample), which bounds the join at
``users * max_per_via^2 / 2`` rows. Scoring passes through the driver only the top-``k``
neighbour table (movies x k rows, the model) on its way to a broadcast; no movies x movies
matrix and nothing ratings-sized is collected. The user-based twin (:func:`user_neighbors`,
:func:`userknn_scores`) is the same definition with the roles of users and movies swapped
(popular movies capped instead of active users), computed in numpy per block of users: a
broadcast of the capped (movie, rater) pairs (at most movies x ``max_per_via``) for the
similarities, and each neighbour's movies as one array for the scores. At 1M ratings that
took user-kNN from 242 s to 31 s (benchmarks/RESULTS.md).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, IntegerType, LongType, StructField, StructType

from recsys import columns as C
from recsys.schemas import RECS
from recsys.sparse import csr_ranges

__all__ = [
    "NEIGHBORS_SCHEMA",
    "KnnParams",
    "cooccurrence_counts",
    "cooccurrence_neighbors",
    "item_cooccurrences",
    "item_neighbors",
    "itemknn_scores",
    "user_neighbors",
    "userknn_scores",
]

NEIGHBORS_SCHEMA = StructType(
    [
        StructField(C.MOVIE_ID, IntegerType(), False),
        StructField(C.NEIGHBOR_ID, IntegerType(), False),
        StructField(C.SIMILARITY, DoubleType(), False),
        StructField(C.SUPPORT, LongType(), False),
        StructField(C.RANK, IntegerType(), False),
    ]
)

_W, _N, _SRC, _CW, _BEST, _POS = "_w", "_n", "_src", "_cw", "_best", "_pos"


@dataclass(frozen=True)
class KnnParams:
    """Neighbourhood settings; defaults were chosen on a validation split carved from ml-100k's
    training part (see ``benchmarks/blend.py``)."""

    k: int = 200
    """Neighbours kept per movie (per user for user-kNN)."""
    via_weight: float = 1.0
    """A co-rating through someone with d ratings weighs d^-via_weight (0 = plain counts)."""
    neighbor_pop: float = 0.5
    """Divide sim(i, j) by n_j^neighbor_pop; 0.5 (with via_weight 0) is cosine."""
    shrink: float = 0.0
    """Multiply by support / (support + shrink): distrust similarities from few co-ratings."""
    normalize: bool = True
    """Scale each movie's kept neighbours to sum 1, so every rated movie casts one vote."""
    max_per_via: int = 500
    """Cap on one user's ratings entering the self-join (seeded sample); bounds the join."""
    candidate_pop: float = 0.0
    """Divide a candidate's final score by (n_j + 1)^candidate_pop (popularity debiasing)."""
    seed: int = 42

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _capped(ratings: DataFrame, key: str, via: str, cap: int, seed: int) -> DataFrame:
    """(key, via) pairs with at most ``cap`` keys per ``via``: a seeded hash sample, so the
    same input always keeps the same pairs."""
    pairs = ratings.select(key, via).distinct()
    order = Window.partitionBy(via).orderBy(F.xxhash64(F.col(key), F.lit(seed)), F.col(key))
    return pairs.withColumn(_POS, F.row_number().over(order)).where(F.col(_POS) <= cap).drop(_POS)


def cooccurrence_counts(
    ratings: DataFrame, key: str, via: str, params: KnnParams = KnnParams()
) -> DataFrame:
    """Every pair of ``key`` entities sharing a ``via`` entity, in both directions:
    ``_i, _j, _cw`` (co-occurrences weighted by ``d_via^-via_weight``), ``support`` (plain
    count of shared ``via`` entities), ``_ni, _nj`` (entities' counts). All after capping
    each ``via`` entity at ``max_per_via`` keys; sparse: only pairs that co-occur exist."""
    pairs = _capped(ratings, key, via, params.max_per_via, params.seed)
    by_via, by_key = Window.partitionBy(via), Window.partitionBy(key)
    x = pairs.select(
        key,
        via,
        F.pow(F.count(F.lit(1)).over(by_via).cast("double"), -params.via_weight).alias(_W),
        F.count(F.lit(1)).over(by_key).cast("double").alias(_N),
    )
    a = x.select(F.col(key).alias("_i"), via, _W)
    b = x.select(F.col(key).alias("_j"), via)
    half = (
        a.join(b, via)
        .where(F.col("_i") < F.col("_j"))
        .groupBy("_i", "_j")
        .agg(F.sum(_W).alias(_CW), F.count(F.lit(1)).alias(C.SUPPORT))
    )
    both = half.unionByName(
        half.select(F.col("_j").alias("_i"), F.col("_i").alias("_j"), _CW, C.SUPPORT)
    )
    counts = x.groupBy(key).agg(F.first(_N).alias(_N))
    return both.join(F.broadcast(counts.toDF("_i", "_ni")), "_i").join(
        F.broadcast(counts.toDF("_j", "_nj")), "_j"
    )


def cooccurrence_neighbors(
    ratings: DataFrame,
    key: str,
    via: str,
    params: KnnParams = KnnParams(),
    counts: DataFrame | None = None,
) -> DataFrame:
    """Top-``k`` neighbours of every ``key`` by co-occurrence through ``via``.

    Returns ``key, neighbor_id, similarity, support, rank`` (rank 1 = most similar; ties broken
    by the smaller neighbour id). ``support`` counts the shared ``via`` entities (after capping).
    ``counts``: :func:`cooccurrence_counts` with these ``params``, when the caller already has
    them (neighbourhood EASE reads the same self-join).
    """
    both = counts if counts is not None else cooccurrence_counts(ratings, key, via, params)
    sim = F.col(_CW) / (F.sqrt(F.col("_ni")) * F.pow(F.col("_nj"), params.neighbor_pop))
    if params.shrink > 0:
        sim = sim * F.col(C.SUPPORT) / (F.col(C.SUPPORT) + F.lit(float(params.shrink)))
    scored = both.select("_i", "_j", sim.alias(C.SIMILARITY), C.SUPPORT)
    order = Window.partitionBy("_i").orderBy(F.col(C.SIMILARITY).desc(), F.col("_j"))
    top = scored.withColumn(C.RANK, F.row_number().over(order)).where(F.col(C.RANK) <= params.k)
    similarity = F.col(C.SIMILARITY)
    if params.normalize:
        similarity = similarity / F.sum(C.SIMILARITY).over(Window.partitionBy("_i"))
    return top.select(
        F.col("_i").cast("int").alias(key),
        F.col("_j").cast("int").alias(C.NEIGHBOR_ID),
        similarity.cast("double").alias(C.SIMILARITY),
        F.col(C.SUPPORT).cast("long").alias(C.SUPPORT),
        F.col(C.RANK).cast("int").alias(C.RANK),
    )


def item_neighbors(
    ratings: DataFrame, params: KnnParams = KnnParams(), counts: DataFrame | None = None
) -> DataFrame:
    """``movie_id, neighbor_id, similarity, support, rank``: item-item CF neighbours
    (``counts``: see :func:`cooccurrence_neighbors`)."""
    return cooccurrence_neighbors(ratings, C.MOVIE_ID, C.USER_ID, params, counts)


def item_cooccurrences(ratings: DataFrame, params: KnnParams = KnnParams()) -> DataFrame:
    """:func:`cooccurrence_counts` of movies through users: item-kNN's and EASE's input."""
    return cooccurrence_counts(ratings, C.MOVIE_ID, C.USER_ID, params)


def user_neighbors(ratings: DataFrame, params: KnnParams = KnnParams()) -> DataFrame:
    """``user_id, neighbor_id, similarity, support, rank``: user-user CF neighbours, the
    :func:`cooccurrence_neighbors` definition with users as keys and movies as the link.

    Computed per block of users in numpy instead of by the self-join: a movie's capped raters
    (at most ``movies x max_per_via`` pairs, the catalogue times the cap, not the ratings) are
    broadcast, and each user's similarities are one ``bincount`` over the raters of their
    movies. The self-join shuffled a row per co-rating pair (~250M at 1M ratings) and ranked
    every user pair with a window; the work per user is the same, the rows are gone.
    """
    spark = ratings.sparkSession
    pairs = _capped(ratings, C.USER_ID, C.MOVIE_ID, params.max_per_via, params.seed)
    index = _LinkIndex.build(pairs.toPandas(), params.via_weight)  # <= movies x cap rows
    model = spark.sparkContext.broadcast(index)

    def neighbors(block: pd.DataFrame) -> pd.DataFrame:
        return _user_neighbor_block(block, model.value, params)

    users = ratings.select(C.USER_ID).distinct()
    return users.groupBy(
        F.pmod(F.hash(C.USER_ID), F.lit(_blocks(spark, len(index.key_ids))))
    ).applyInPandas(neighbors, schema=_USER_NEIGHBORS)


_USER_NEIGHBORS = StructType([StructField(C.USER_ID, IntegerType(), False), *NEIGHBORS_SCHEMA[1:]])
_GROUP_SIZE = 2000
"""Users (or movies) per pandas group: bounds a Python worker's memory whatever the size."""


def _blocks(spark, entities: int) -> int:
    """Groups for a grouped pandas UDF over ``entities`` keys: at least one per shuffle
    partition (every core busy), more when needed to keep groups near ``_GROUP_SIZE``."""
    parts = max(spark.sparkContext.defaultParallelism, int(spark.conf.get(_PARTITIONS)))
    return max(parts, -(-entities // _GROUP_SIZE))


@dataclass(frozen=True)
class _LinkIndex:
    """Capped ``(user, movie)`` pairs as CSR arrays both ways: by movie (over a dense user
    index) and by user (movie positions)."""

    key_ids: np.ndarray
    """Sorted user ids; ``n[i]`` is user ``key_ids[i]``'s number of capped pairs."""
    n: np.ndarray
    via_ids: np.ndarray
    """Sorted movie ids; raters of ``via_ids[v]`` are ``members[indptr[v]:indptr[v + 1]]``."""
    indptr: np.ndarray
    members: np.ndarray
    weight: np.ndarray
    """Per movie: ``raters^-via_weight``."""
    key_indptr: np.ndarray
    """Movies of user ``key_ids[i]``: ``key_movies[key_indptr[i]:key_indptr[i + 1]]``."""
    key_movies: np.ndarray

    @classmethod
    def build(cls, pairs: pd.DataFrame, via_weight: float) -> _LinkIndex:
        keys = pairs[C.USER_ID].to_numpy(np.int64)
        vias = pairs[C.MOVIE_ID].to_numpy(np.int64)
        key_ids, key_pos = np.unique(keys, return_inverse=True)
        via_ids, via_pos = np.unique(vias, return_inverse=True)
        order = np.lexsort((key_pos, via_pos))
        by_key = np.lexsort((via_pos, key_pos))
        raters = np.bincount(via_pos, minlength=len(via_ids))
        rated = np.bincount(key_pos, minlength=len(key_ids))
        return cls(
            key_ids=key_ids,
            n=rated.astype(np.float64),
            via_ids=via_ids,
            indptr=np.r_[0, np.cumsum(raters)],
            members=key_pos[order].astype(np.int32),
            weight=raters.astype(np.float64) ** -via_weight,
            key_indptr=np.r_[0, np.cumsum(rated)],
            key_movies=via_pos[by_key].astype(np.int32),
        )


_DTYPES = {IntegerType(): np.int32, LongType(): np.int64, DoubleType(): np.float64}


def _frame(parts: list[tuple[np.ndarray, ...]], schema: StructType) -> pd.DataFrame:
    """A pandas UDF's output from per-entity tuples of column arrays, typed by ``schema``."""
    cols = [np.concatenate(c) for c in zip(*parts, strict=True)] if parts else None
    return pd.DataFrame(
        {
            f.name: (cols[i] if cols else np.empty(0)).astype(_DTYPES[f.dataType])
            for i, f in enumerate(schema.fields)
        }
    )


def _user_neighbor_block(block: pd.DataFrame, idx: _LinkIndex, params: KnnParams) -> pd.DataFrame:
    """Top-``k`` neighbours of every user in ``block`` (one ``user_id`` row each), as
    :func:`cooccurrence_neighbors` defines them."""
    users = np.sort(block[C.USER_ID].to_numpy(np.int64))
    pos, known = _lookup(idx.key_ids, users)
    out: list[tuple[np.ndarray, ...]] = []
    for user, me in zip(users[known].tolist(), pos[known].tolist(), strict=True):
        # a user whose every movie had more raters than the cap, none sampled, has no pairs
        vpos = idx.key_movies[idx.key_indptr[me] : idx.key_indptr[me + 1]]
        entry, lens = csr_ranges(idx.indptr, vpos)
        other, inverse = np.unique(idx.members[entry], return_inverse=True)
        cw = np.bincount(inverse, weights=np.repeat(idx.weight[vpos], lens))
        support = np.bincount(inverse)
        keep = other != me
        other, cw, support = other[keep], cw[keep], support[keep]
        if not len(other):
            continue
        sim = cw / (np.sqrt(idx.n[me]) * np.power(idx.n[other], params.neighbor_pop))
        if params.shrink > 0:
            sim = sim * support / (support + float(params.shrink))
        ids = idx.key_ids[other]
        top = np.lexsort((ids, -sim))[: params.k]
        sim = sim[top]
        if params.normalize:
            sim = sim / sim.sum()
        ranks = np.arange(1, len(top) + 1)
        out.append((np.full(len(top), user), ids[top], sim, support[top], ranks))
    return _frame(out, _USER_NEIGHBORS)


def itemknn_scores(
    ratings: DataFrame,
    neighbors: DataFrame,
    n: int = 100,
    candidate_pop: float = 0.0,
    weight: str = C.SIMILARITY,
) -> DataFrame:
    """Top-``n`` unrated movies per user: ``user_id, movie_id, score, rank, because_movie_id``.

    ``score = sum over the user's rated movies i of weight(i, movie)`` (``weight`` names the
    column of ``neighbors`` holding it), divided by ``(n_movie + 1)^candidate_pop``;
    ``because_movie_id`` is the rated movie with the largest term (the smaller id on ties), so
    it is always one the user rated. Ties in score go to the smaller movie id.

    The neighbour table is model-sized (movies x k rows, never ratings-sized), so it is
    broadcast as arrays and each block of users is scored in one vectorised pass
    (:func:`_score_users`): a join of every rating with its k neighbours would shuffle
    ratings x k rows (18M for the 90k-rating default dataset) to build the same sums.
    """
    spark = ratings.sparkSession
    edges = neighbors.select(
        F.col(C.MOVIE_ID).cast("int").alias(_SRC),
        F.col(C.NEIGHBOR_ID).cast("int").alias(C.MOVIE_ID),
        F.col(weight).cast("double").alias(_W),
    ).toPandas()  # movies x k rows: the model, as ALS's item factors
    counts = None
    if candidate_pop > 0:
        counts = ratings.groupBy(C.MOVIE_ID).agg(F.count(F.lit(1)).alias(_N)).toPandas()
    model = spark.sparkContext.broadcast(_NeighborArrays.build(edges, counts, candidate_pop))
    blocks = max(spark.sparkContext.defaultParallelism, int(spark.conf.get(_PARTITIONS)))
    rated = ratings.select(
        C.USER_ID, C.MOVIE_ID, F.pmod(F.hash(C.USER_ID), F.lit(blocks)).alias(_BLOCK)
    )

    def score(block: pd.DataFrame) -> pd.DataFrame:
        return _score_users(block, model.value, n)

    return rated.groupBy(_BLOCK).applyInPandas(score, schema=_SCORES)


_BLOCK, _PARTITIONS = "_block", "spark.sql.shuffle.partitions"
_SCORES = StructType([*RECS.fields, StructField(C.BECAUSE_MOVIE_ID, IntegerType(), True)])


@dataclass(frozen=True)
class _NeighborArrays:
    """The neighbour table as CSR arrays by source movie, over a dense index of target movies."""

    sources: np.ndarray
    """Sorted source movie ids; edges of ``sources[i]`` are ``indptr[i]:indptr[i + 1]``."""
    indptr: np.ndarray
    targets: np.ndarray
    """Dense index (into ``movie_ids``) of each edge's target movie."""
    weights: np.ndarray
    source_of_edge: np.ndarray
    movie_ids: np.ndarray
    """Sorted ids of every target movie."""
    divisor: np.ndarray
    """Per target movie: ``(n_ratings + 1)^candidate_pop`` (1 without debiasing)."""

    @classmethod
    def build(
        cls, edges: pd.DataFrame, counts: pd.DataFrame | None, power: float
    ) -> _NeighborArrays:
        edges = edges.sort_values([_SRC, C.MOVIE_ID], kind="stable")
        src = edges[_SRC].to_numpy(np.int64)
        movie_ids, targets = np.unique(edges[C.MOVIE_ID].to_numpy(np.int64), return_inverse=True)
        sources, starts = np.unique(src, return_index=True)
        divisor = np.ones(len(movie_ids))
        if counts is not None and power > 0:
            n = np.zeros(len(movie_ids))
            ids = counts[C.MOVIE_ID].to_numpy(np.int64)
            pos = np.searchsorted(movie_ids, ids).clip(max=max(len(movie_ids) - 1, 0))
            hit = (movie_ids[pos] == ids) if len(movie_ids) else np.zeros(len(ids), bool)
            n[pos[hit]] = counts[_N].to_numpy(np.float64)[hit]
            divisor = (n + 1.0) ** power
        return cls(
            sources=sources,
            indptr=np.append(starts, len(src)),
            targets=targets.astype(np.int64),
            weights=edges[_W].to_numpy(np.float64),
            source_of_edge=src,
            movie_ids=movie_ids,
            divisor=divisor,
        )


def _lookup(sorted_ids: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of ``ids`` in ``sorted_ids`` and which of them are present."""
    if not len(sorted_ids):
        return np.zeros(len(ids), np.int64), np.zeros(len(ids), bool)
    pos = np.searchsorted(sorted_ids, ids).clip(max=len(sorted_ids) - 1)
    return pos, sorted_ids[pos] == ids


def _score_users(block: pd.DataFrame, nb: _NeighborArrays, n: int) -> pd.DataFrame:
    """Every user of ``block`` (``user_id, movie_id`` rows): the summed weights of their rated
    movies' neighbours, rated movies removed, top ``n`` with the best-contributing rated movie."""
    users = block[C.USER_ID].to_numpy(np.int64)
    movies = block[C.MOVIE_ID].to_numpy(np.int64)
    order = np.argsort(users, kind="stable")
    users, movies = users[order], movies[order]
    cuts = np.flatnonzero(np.diff(users)) + 1
    out: list[tuple[np.ndarray, ...]] = []
    size = len(nb.movie_ids)
    for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(users)], strict=True):
        rated = movies[lo:hi]
        pos, ok = _lookup(nb.sources, rated)
        pos = pos[ok]
        if not len(pos):
            continue
        edge, _ = csr_ranges(nb.indptr, pos)
        target = nb.targets[edge]
        score = np.bincount(target, weights=nb.weights[edge], minlength=size)
        reached = np.bincount(target, minlength=size) > 0
        own, mine = _lookup(nb.movie_ids, rated)
        reached[own[mine]] = False
        cand = np.flatnonzero(reached)
        if not len(cand):
            continue
        value = score[cand] / nb.divisor[cand]
        if len(cand) > n:
            keep = np.argpartition(-value, n - 1)[:n]
            # ties at the cut-off: keep every candidate scoring at least the n-th value
            cut = value[keep].min()
            keep = np.flatnonzero(value >= cut)
            cand, value = cand[keep], value[keep]
        top = np.lexsort((nb.movie_ids[cand], -value))[:n]
        cand, value = cand[top], value[top]
        # because: the rated movie with the largest term into each kept candidate
        sel = np.isin(target, cand)
        t, w, s = target[sel], nb.weights[edge][sel], nb.source_of_edge[edge][sel]
        best = np.lexsort((s, -w, t))
        t, s = t[best], s[best]
        head = np.r_[True, t[1:] != t[:-1]]
        because = dict(zip(t[head].tolist(), s[head].tolist(), strict=True))
        out.append(
            (
                np.full(len(cand), users[lo]),
                nb.movie_ids[cand],
                value,
                np.arange(1, len(cand) + 1),
                np.array([because[c] for c in cand.tolist()], dtype=np.int64),
            )
        )
    return _frame(out, _SCORES)


def userknn_scores(
    ratings: DataFrame, neighbors: DataFrame, n: int = 100, candidate_pop: float = 0.0
) -> DataFrame:
    """Top-``n`` unrated movies per user from similar users:
    ``score(u, j) = sum over u's neighbours v who rated j of sim(u, v)``, divided by
    ``(n_j + 1)^candidate_pop``; ties go to the smaller movie id.

    ``neighbors`` is :func:`user_neighbors`' output (``user_id, neighbor_id, similarity``).
    Each (user, neighbour) row carries the neighbour's movies as one array and every block of
    users is summed in numpy (:func:`_score_block`): the same ``users x k x ratings-per-user``
    movie ids travel, but as arrays rather than as rows joined, aggregated and ranked.
    """
    spark = ratings.sparkSession
    lists = ratings.groupBy(C.USER_ID).agg(F.collect_list(C.MOVIE_ID).alias(_MOVIES))
    theirs = neighbors.select(C.USER_ID, C.NEIGHBOR_ID, C.SIMILARITY).join(
        lists.withColumnRenamed(C.USER_ID, C.NEIGHBOR_ID), C.NEIGHBOR_ID
    )
    # the user's own movies ride along as a row with a null similarity: they are excluded
    own = lists.select(
        C.USER_ID,
        F.lit(None).cast("int").alias(C.NEIGHBOR_ID),
        F.lit(None).cast("double").alias(C.SIMILARITY),
        _MOVIES,
    )
    divisor = None
    if candidate_pop > 0:
        counts = ratings.groupBy(C.MOVIE_ID).agg(F.count(F.lit(1)).alias(_N)).toPandas()
        counts = counts.sort_values(C.MOVIE_ID)  # catalogue-sized
        divisor = (
            counts[C.MOVIE_ID].to_numpy(np.int64),
            (counts[_N].to_numpy(np.float64) + 1.0) ** candidate_pop,
        )
    model = spark.sparkContext.broadcast(divisor)
    blocks = _blocks(spark, neighbors.select(C.USER_ID).distinct().count())

    def score(block: pd.DataFrame) -> pd.DataFrame:
        return _score_block(block, model.value, n)

    return (
        theirs.unionByName(own)
        .groupBy(F.pmod(F.hash(C.USER_ID), F.lit(blocks)))
        .applyInPandas(score, schema=RECS)
    )


_MOVIES = "_movies"


def _score_block(
    block: pd.DataFrame, divisor: tuple[np.ndarray, np.ndarray] | None, n: int
) -> pd.DataFrame:
    """Rows ``user_id, neighbor_id, similarity, _movies`` (``similarity`` null on the user's
    own row): each user's summed neighbour similarities per unrated movie, top ``n``."""
    users = block[C.USER_ID].to_numpy(np.int64)
    order = np.argsort(users, kind="stable")
    users = users[order]
    sims = block[C.SIMILARITY].to_numpy(np.float64)[order]
    lists = block[_MOVIES].to_numpy()[order]
    cuts = np.flatnonzero(np.diff(users)) + 1
    out: list[tuple[np.ndarray, ...]] = []
    for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(users)], strict=True):
        mine = np.isnan(sims[lo:hi])
        theirs = lists[lo:hi][~mine]
        if not len(theirs):
            continue
        movies = np.concatenate(theirs).astype(np.int64)
        weights = np.repeat(sims[lo:hi][~mine], [len(x) for x in theirs])
        cand, inverse = np.unique(movies, return_inverse=True)
        value = np.bincount(inverse, weights=weights)
        rated = np.concatenate(lists[lo:hi][mine]) if mine.any() else np.empty(0, np.int64)
        keep = ~np.isin(cand, rated)
        cand, value = cand[keep], value[keep]
        if divisor is not None:
            value = value / divisor[1][np.searchsorted(divisor[0], cand)]
        top = np.lexsort((cand, -value))[:n]
        ranks = np.arange(1, len(top) + 1)
        out.append((np.full(len(top), users[lo]), cand[top], value[top], ranks))
    return _frame(out, RECS)
