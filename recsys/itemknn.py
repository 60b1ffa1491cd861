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

Scale: each movie's neighbours come from the users who rated it, and a user with d ratings
takes part in d^2/2 pairs, so each user's ratings are capped at ``max_per_via`` (a seeded hash
sample): the work is at most ``users * max_per_via^2 / 2`` pair updates, linear in users.
Pairs are never rows: the capped (movie, user) pairs are broadcast as CSR arrays
(:class:`LinkIndex`, at most the ratings) and each block of movies sums its co-occurrences with
``bincount`` in numpy (:func:`block_neighbors`); a self-join shuffled ~135M pair rows at 1M
ratings and ranked them with a window. Scoring passes through the driver only the top-``k``
neighbour table (movies x k rows) on its way to a broadcast. The user-based twin
(:func:`user_neighbors`, :func:`userknn_scores`) is the same definition with the roles of users
and movies swapped (popular movies capped instead of active users); its scores come from each
neighbour's movies as one array. At 1M ratings user-kNN went from 242 s to 31 s
(benchmarks/RESULTS.md).
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
from recsys.vectorised import csr_ranges, lookup, top_positions, typed_frame, udf_groups

__all__ = [
    "NEIGHBORS_SCHEMA",
    "KnnParams",
    "LinkIndex",
    "block_neighbors",
    "item_neighbors",
    "itemknn_scores",
    "link_index",
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

_W, _N, _SRC, _POS = "_w", "_n", "_src", "_pos"


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
    """Cap on one entity's links (a user's ratings for item-kNN, a movie's raters for user-kNN;
    a seeded sample): bounds the pair work at entities x cap^2 / 2."""
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


def item_neighbors(ratings: DataFrame, params: KnnParams = KnnParams()) -> DataFrame:
    """``movie_id, neighbor_id, similarity, support, rank``: item-item CF neighbours
    (:func:`block_neighbors` of movies through users)."""
    return block_neighbors(ratings, C.MOVIE_ID, C.USER_ID, params)


def user_neighbors(ratings: DataFrame, params: KnnParams = KnnParams()) -> DataFrame:
    """``user_id, neighbor_id, similarity, support, rank``: user-user CF neighbours
    (:func:`block_neighbors` of users through movies)."""
    return block_neighbors(ratings, C.USER_ID, C.MOVIE_ID, params)


def block_neighbors(ratings: DataFrame, key: str, via: str, params: KnnParams) -> DataFrame:
    """Top-``k`` neighbours of every ``key`` entity by co-occurrence through ``via``:
    ``key, neighbor_id, similarity, support, rank`` (rank 1 = most similar, ties to the smaller
    neighbour id; ``support`` = shared ``via`` entities after capping), per block in numpy.

    The capped ``(key, via)`` pairs are broadcast as CSR arrays (:class:`LinkIndex`); each
    entity's co-occurrences are one ``bincount`` over the members of its ``via`` entities. The
    self-join shuffled a row per co-occurring pair (~135M for items, ~250M for users at 1M
    ratings) and ranked every pair with a window; the work per entity is the same, the rows
    are gone. The index holds at most the ratings' pairs (fewer where the caps bite) and
    passes through the driver only on its way to the broadcast.
    """
    spark = ratings.sparkSession
    index = spark.sparkContext.broadcast(link_index(ratings, key, via, params))
    schema = StructType([StructField(key, IntegerType(), False), *NEIGHBORS_SCHEMA[1:]])

    def neighbors(block: pd.DataFrame) -> pd.DataFrame:
        return _neighbor_block(block[key].to_numpy(np.int64), index.value, params, schema)

    keys = ratings.select(key).distinct()
    blocks = udf_groups(spark, len(index.value.key_ids))
    return keys.groupBy(F.pmod(F.hash(key), F.lit(blocks))).applyInPandas(neighbors, schema)


def link_index(ratings: DataFrame, key: str, via: str, params: KnnParams) -> LinkIndex:
    """The capped ``(key, via)`` pairs of ``ratings`` as a :class:`LinkIndex` on the driver."""
    pairs = _capped(ratings, key, via, params.max_per_via, params.seed)
    frame = pairs.select(F.col(key).alias(_KEY), F.col(via).alias(_VIA)).toPandas()
    return LinkIndex.build(frame, params.via_weight)


_KEY, _VIA = "_key", "_via"


@dataclass(frozen=True)
class LinkIndex:
    """Capped ``(key, via)`` pairs (e.g. movie, user) as CSR arrays both ways: by via entity
    (over a dense key index) and by key (dense via positions)."""

    key_ids: np.ndarray
    """Sorted key ids; ``n[i]`` is key ``key_ids[i]``'s number of capped pairs."""
    n: np.ndarray
    via_ids: np.ndarray
    """Sorted via ids; keys of ``via_ids[v]`` are ``members[indptr[v]:indptr[v + 1]]``."""
    indptr: np.ndarray
    members: np.ndarray
    weight: np.ndarray
    """Per via entity: ``(its keys)^-via_weight``."""
    key_indptr: np.ndarray
    """Via positions of key ``key_ids[i]``: ``key_vias[key_indptr[i]:key_indptr[i + 1]]``."""
    key_vias: np.ndarray

    @classmethod
    def build(cls, pairs: pd.DataFrame, via_weight: float) -> LinkIndex:
        keys = pairs[_KEY].to_numpy(np.int64)
        vias = pairs[_VIA].to_numpy(np.int64)
        key_ids, key_pos = np.unique(keys, return_inverse=True)
        via_ids, via_pos = np.unique(vias, return_inverse=True)
        order = np.lexsort((key_pos, via_pos))
        by_key = np.lexsort((via_pos, key_pos))
        members = np.bincount(via_pos, minlength=len(via_ids))
        linked = np.bincount(key_pos, minlength=len(key_ids))
        return cls(
            key_ids=key_ids,
            n=linked.astype(np.float64),
            via_ids=via_ids,
            indptr=np.r_[0, np.cumsum(members)],
            members=key_pos[order].astype(np.int32),
            weight=members.astype(np.float64) ** -via_weight,
            key_indptr=np.r_[0, np.cumsum(linked)],
            key_vias=via_pos[by_key].astype(np.int32),
        )

    def cooccurrences(self, me: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Key position ``me``'s co-occurring keys (positions, ascending, itself excluded),
        their weighted co-occurrences ``sum d_via^-via_weight`` and plain counts."""
        vias = self.key_vias[self.key_indptr[me] : self.key_indptr[me + 1]]
        entry, lens = csr_ranges(self.indptr, vias)
        other, inverse = np.unique(self.members[entry], return_inverse=True)
        weighted = np.bincount(inverse, weights=np.repeat(self.weight[vias], lens))
        support = np.bincount(inverse)
        keep = other != me
        return other[keep], weighted[keep], support[keep]


def _neighbor_block(
    keys: np.ndarray, idx: LinkIndex, params: KnnParams, schema: StructType
) -> pd.DataFrame:
    """Top-``k`` neighbours of every key in ``keys`` (the module docstring's definition)."""
    keys = np.sort(keys)
    pos, known = lookup(idx.key_ids, keys)
    out: list[tuple[np.ndarray, ...]] = []
    for key, me in zip(keys[known].tolist(), pos[known].tolist(), strict=True):
        # (a key whose every via entity was over the cap, none sampled, has no pairs at all)
        other, cw, support = idx.cooccurrences(me)
        if not len(other):
            continue
        sim = cw / (np.sqrt(idx.n[me]) * np.power(idx.n[other], params.neighbor_pop))
        if params.shrink > 0:
            sim = sim * support / (support + float(params.shrink))
        ids = idx.key_ids[other]
        top = top_positions(sim, ids, params.k)
        sim = sim[top]
        if params.normalize:
            sim = sim / sim.sum()
        ranks = np.arange(1, len(top) + 1)
        out.append((np.full(len(top), key), ids[top], sim, support[top], ranks))
    return typed_frame(out, schema)


def itemknn_scores(
    ratings: DataFrame,
    neighbors: DataFrame,
    n: int = 100,
    candidate_pop: float = 0.0,
    weight: str = C.SIMILARITY,
    rating_weight: str | None = None,
    positive_only: bool = False,
) -> DataFrame:
    """Top-``n`` unrated movies per user: ``user_id, movie_id, score, rank, because_movie_id``.

    ``score = sum over the user's rated movies i of weight(i, movie)`` (``weight`` names the
    column of ``neighbors`` holding it), divided by ``(n_movie + 1)^candidate_pop``;
    ``because_movie_id`` is the rated movie with the largest term (the smaller id on ties), so
    it is always one the user rated. Ties in score go to the smaller movie id.

    ``rating_weight`` names a column of ``ratings`` that multiplies each rated movie's terms
    (``w_ui * weight(i, movie)``); the sum is then divided by the user's ``sum |w_ui|``, as the
    content profile of :func:`recsys.content.content_scores` defines. ``positive_only`` drops
    candidates whose score is not above 0 (terms can be negative).

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
    divisor = _popularity_divisor(ratings, candidate_pop)
    model = spark.sparkContext.broadcast(_NeighborArrays.build(edges, divisor))
    blocks = udf_groups(spark, 0)
    rw = F.lit(1.0) if rating_weight is None else F.col(rating_weight)
    rated = ratings.select(
        C.USER_ID,
        C.MOVIE_ID,
        rw.cast("double").alias(_RW),
        F.pmod(F.hash(C.USER_ID), F.lit(blocks)).alias(_BLOCK),
    )
    normalize = rating_weight is not None

    def score(block: pd.DataFrame) -> pd.DataFrame:
        return _score_users(block, model.value, n, normalize, positive_only)

    return rated.groupBy(_BLOCK).applyInPandas(score, schema=_SCORES)


_BLOCK, _RW = "_block", "_rw"
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
    def build(cls, edges: pd.DataFrame, divisor: _Divisor | None) -> _NeighborArrays:
        edges = edges.sort_values([_SRC, C.MOVIE_ID], kind="stable")
        src = edges[_SRC].to_numpy(np.int64)
        movie_ids, targets = np.unique(edges[C.MOVIE_ID].to_numpy(np.int64), return_inverse=True)
        sources, starts = np.unique(src, return_index=True)
        return cls(
            sources=sources,
            indptr=np.append(starts, len(src)),
            targets=targets.astype(np.int64),
            weights=edges[_W].to_numpy(np.float64),
            source_of_edge=src,
            movie_ids=movie_ids,
            divisor=_divisor_of(divisor, movie_ids),
        )


_Divisor = tuple[np.ndarray, np.ndarray]
"""Sorted movie ids and each one's ``(n_ratings + 1)^candidate_pop``."""


def _popularity_divisor(ratings: DataFrame, power: float) -> _Divisor | None:
    """Per rated movie, the popularity debiasing divisor of a candidate's score (``None``
    when ``power <= 0``); catalogue-sized, collected to be broadcast with a scorer."""
    if power <= 0:
        return None
    counts = ratings.groupBy(C.MOVIE_ID).agg(F.count(F.lit(1)).alias(_N)).toPandas()
    counts = counts.sort_values(C.MOVIE_ID)
    return (
        counts[C.MOVIE_ID].to_numpy(np.int64),
        (counts[_N].to_numpy(np.float64) + 1.0) ** power,
    )


def _divisor_of(divisor: _Divisor | None, movie_ids: np.ndarray) -> np.ndarray:
    """The divisor of each of ``movie_ids`` (1, as for n = 0, without debiasing)."""
    if divisor is None:
        return np.ones(len(movie_ids))
    pos, known = lookup(divisor[0], movie_ids)
    return np.where(known, divisor[1][pos], 1.0)


def _score_users(
    block: pd.DataFrame, nb: _NeighborArrays, n: int, normalize: bool, positive: bool
) -> pd.DataFrame:
    """Every user of ``block`` (``user_id, movie_id, _rw`` rows): the summed terms ``_rw *
    weight`` of their rated movies' neighbours (over ``sum |_rw|`` when ``normalize``), rated
    movies removed (and scores <= 0 when ``positive``), top ``n`` with the best-contributing
    rated movie."""
    users = block[C.USER_ID].to_numpy(np.int64)
    order = np.argsort(users, kind="stable")
    users = users[order]
    movies = block[C.MOVIE_ID].to_numpy(np.int64)[order]
    rws = block[_RW].to_numpy(np.float64)[order]
    cuts = np.flatnonzero(np.diff(users)) + 1
    out: list[tuple[np.ndarray, ...]] = []
    size = len(nb.movie_ids)
    for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(users)], strict=True):
        rated, rw = movies[lo:hi], rws[lo:hi]
        pos, ok = lookup(nb.sources, rated)
        pos = pos[ok]
        if not len(pos):
            continue
        edge, lens = csr_ranges(nb.indptr, pos)
        target = nb.targets[edge]
        term = nb.weights[edge] * np.repeat(rw[ok], lens)
        score = np.bincount(target, weights=term, minlength=size)
        reached = np.bincount(target, minlength=size) > 0
        own, mine = lookup(nb.movie_ids, rated)
        reached[own[mine]] = False
        cand = np.flatnonzero(reached)
        value = score[cand] / nb.divisor[cand]
        if normalize:
            value = value / np.abs(rw).sum()
        if positive:
            cand, value = cand[value > 0], value[value > 0]
        if not len(cand):
            continue
        top = top_positions(value, nb.movie_ids[cand], n)
        cand, value = cand[top], value[top]
        # because: the rated movie with the largest term into each kept candidate
        sel = np.isin(target, cand)
        t, w, s = target[sel], term[sel], nb.source_of_edge[edge][sel]
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
    return typed_frame(out, _SCORES)


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
    # A shuffle join, whatever the statistics say: adaptive execution sizes a pandas UDF's
    # output from its input (here one row per user), so it broadcast the users x k neighbour
    # rows (16M at 10M ratings), which overflowed a 6 GB driver.
    theirs = (
        neighbors.select(C.USER_ID, C.NEIGHBOR_ID, C.SIMILARITY)
        .hint("shuffle_merge")
        .join(lists.withColumnRenamed(C.USER_ID, C.NEIGHBOR_ID), C.NEIGHBOR_ID)
    )
    # the user's own movies ride along as a row with a null similarity: they are excluded
    own = lists.select(
        C.USER_ID,
        F.lit(None).cast("int").alias(C.NEIGHBOR_ID),
        F.lit(None).cast("double").alias(C.SIMILARITY),
        _MOVIES,
    )
    model = spark.sparkContext.broadcast(_popularity_divisor(ratings, candidate_pop))
    blocks = udf_groups(spark, ratings.select(C.USER_ID).distinct().count())  # not neighbors: lazy

    def score(block: pd.DataFrame) -> pd.DataFrame:
        return _score_block(block, model.value, n)

    return (
        theirs.unionByName(own)
        .groupBy(F.pmod(F.hash(C.USER_ID), F.lit(blocks)))
        .applyInPandas(score, schema=RECS)
    )


_MOVIES = "_movies"


def _score_block(block: pd.DataFrame, divisor: _Divisor | None, n: int) -> pd.DataFrame:
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
        value = value / _divisor_of(divisor, cand)
        top = top_positions(value, cand, n)
        ranks = np.arange(1, len(top) + 1)
        out.append((np.full(len(top), users[lo]), cand[top], value[top], ranks))
    return typed_frame(out, RECS)
