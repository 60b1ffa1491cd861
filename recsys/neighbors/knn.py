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
ratings and ranked them with a window. Scores are scipy sparse products per block of users
(their ratings times the broadcast top-``k`` neighbour matrix, movies x k entries, the only
thing that passes through the driver). The user-based twin (:func:`user_neighbors`,
:func:`userknn_scores`) is the same definition with the roles of users and movies swapped
(popular movies capped instead of active users); its scores are each user's neighbour weights
times the rating matrix, broadcast like the index (benchmarks/RESULTS.md has the timings).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, IntegerType, LongType, StructField, StructType

from recsys import columns as C
from recsys.candidates import TrainingData
from recsys.schemas import RECS
from recsys.vectorised import (
    csr_ranges,
    lookup,
    top_positions,
    typed_columns,
    typed_frame,
    udf_groups,
)

__all__ = [
    "NEIGHBORS_SCHEMA",
    "FittedItemKnn",
    "FittedUserKnn",
    "ItemKnnSource",
    "KnnConfig",
    "LinkIndex",
    "UserKnnSource",
    "block_neighbors",
    "item_neighbors",
    "itemknn_scores",
    "link_index",
    "neighbor_model",
    "score_history",
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

_W, _N, _SRC = "_w", "_n", "_src"


@dataclass(frozen=True)
class KnnConfig:
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
    """Seed of the cap's sample (``max_per_via``)."""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class ItemKnnSource:
    """Item-kNN as a candidate source (:mod:`recsys.candidates`): the fit is the neighbour
    table, the candidates :func:`itemknn_scores` over it."""

    config: KnnConfig = KnnConfig()

    def fit(self, data: TrainingData) -> FittedItemKnn:
        return FittedItemKnn(item_neighbors(data.ratings, self.config), self.config)


@dataclass(frozen=True)
class FittedItemKnn:
    neighbors: DataFrame
    """:func:`item_neighbors`' table (lazy; the recommend job writes it and passes it back)."""
    config: KnnConfig = KnnConfig()

    def candidates(self, ratings: DataFrame, n: int) -> DataFrame:
        return itemknn_scores(ratings, self.neighbors, n=n, candidate_pop=self.config.candidate_pop)


@dataclass(frozen=True)
class UserKnnSource:
    """User-kNN as a candidate source: the fit is the user neighbour table, the candidates
    :func:`userknn_scores` over it."""

    config: KnnConfig = KnnConfig()

    def fit(self, data: TrainingData) -> FittedUserKnn:
        return FittedUserKnn(user_neighbors(data.ratings, self.config), self.config)


@dataclass(frozen=True)
class FittedUserKnn:
    neighbors: DataFrame
    config: KnnConfig = KnnConfig()

    def candidates(self, ratings: DataFrame, n: int) -> DataFrame:
        return userknn_scores(ratings, self.neighbors, n=n, candidate_pop=self.config.candidate_pop)


def item_neighbors(ratings: DataFrame, params: KnnConfig = KnnConfig()) -> DataFrame:
    """``movie_id, neighbor_id, similarity, support, rank``: item-item CF neighbours
    (:func:`block_neighbors` of movies through users)."""
    return block_neighbors(ratings, C.MOVIE_ID, C.USER_ID, params)


def user_neighbors(ratings: DataFrame, params: KnnConfig = KnnConfig()) -> DataFrame:
    """``user_id, neighbor_id, similarity, support, rank``: user-user CF neighbours
    (:func:`block_neighbors` of users through movies)."""
    return block_neighbors(ratings, C.USER_ID, C.MOVIE_ID, params)


def block_neighbors(ratings: DataFrame, key: str, via: str, params: KnnConfig) -> DataFrame:
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


def link_index(ratings: DataFrame, key: str, via: str, params: KnnConfig) -> LinkIndex:
    """The ``(key, via)`` pairs of ``ratings``, at most ``params.max_per_via`` keys per via
    entity, as a :class:`LinkIndex` on the driver.

    The cap is a seeded hash sample: a via entity keeps its keys of smallest ``xxhash64(key,
    seed)`` (ties to the smaller key), so the same input always keeps the same pairs. Spark
    only adds the hash column; the ranking is a sort in :meth:`LinkIndex.build`, where a
    ``row_number`` window in Spark cost a shuffle and a sort of every rating (15 of the 24 s
    the index took at 10M ratings)."""
    frame = ratings.select(
        F.col(key).alias(_KEY),
        F.col(via).alias(_VIA),
        F.xxhash64(F.col(key), F.lit(params.seed)).alias(_HASH),
    ).toPandas()
    return LinkIndex.build(frame, params.via_weight, params.max_per_via)


_KEY, _VIA, _HASH = "_key", "_via", "_hash"


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
    """Via positions of key ``key_ids[i]``, ascending: ``key_vias[key_indptr[i]:key_indptr[i +
    1]]``."""
    key_vias: np.ndarray

    @classmethod
    def build(cls, pairs: pd.DataFrame, via_weight: float, cap: int) -> LinkIndex:
        """From ``_key, _via, _hash`` rows (:func:`link_index`); repeated pairs count once."""
        keys = pairs[_KEY].to_numpy(np.int64)
        vias = pairs[_VIA].to_numpy(np.int64)
        order = np.lexsort((keys, pairs[_HASH].to_numpy(np.int64), vias))
        keys, vias = keys[order], vias[order]
        del order
        # a repeated pair is adjacent to itself (same via, same key, so the same hash)
        head = np.r_[True, (vias[1:] != vias[:-1]) | (keys[1:] != keys[:-1])]
        keys, vias = keys[head], vias[head]
        starts = np.flatnonzero(np.r_[True, vias[1:] != vias[:-1]])
        sizes = np.diff(np.r_[starts, len(vias)])
        rank = np.arange(len(vias)) - np.repeat(starts, sizes)
        keys, vias = keys[rank < cap], vias[rank < cap]
        via_ids, members = np.unique(vias, return_counts=True)
        via_pos = np.repeat(np.arange(len(via_ids)), members)
        key_ids, key_pos = np.unique(keys, return_inverse=True)
        by_key = np.argsort(key_pos, kind="stable")  # vias stay ascending within a key
        linked = np.bincount(key_pos, minlength=len(key_ids))
        return cls(
            key_ids=key_ids,
            n=linked.astype(np.float64),
            via_ids=via_ids,
            indptr=np.r_[0, np.cumsum(members)],
            members=key_pos.astype(np.int32),
            weight=members.astype(np.float64) ** -via_weight,
            key_indptr=np.r_[0, np.cumsum(linked)],
            key_vias=via_pos[by_key].astype(np.int32),
        )

    def cooccurrences(self, me: int, slot: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Key position ``me``'s co-occurring keys (positions, in no set order, itself
        excluded), their weighted co-occurrences ``sum d_via^-via_weight`` and plain counts.

        When the members (the keys of ``me``'s via entities, repeats included) outnumber the
        keys, they are counted with ``bincount`` over the dense key index (a popular movie's
        raters' movies: millions, 5x faster than sorting them). Otherwise a pass over all keys
        per key would make the work quadratic in them (a user's co-raters among 186k users),
        so each distinct member gets a slot in ``slot`` (caller-owned scratch, one int64 per
        key, all -1, and left so) and the counts run over slots. Either way the terms are
        added in the members' order: the sums are the same."""
        vias = self.key_vias[self.key_indptr[me] : self.key_indptr[me + 1]]
        entry, lens = csr_ranges(self.indptr, vias)
        members = self.members[entry]
        weights = np.repeat(self.weight[vias], lens)
        if len(members) >= len(self.key_ids):
            support = np.bincount(members, minlength=len(self.key_ids))
            support[me] = 0
            other = np.flatnonzero(support)
            weighted = np.bincount(members, weights=weights, minlength=len(self.key_ids))
            return other, weighted[other], support[other]
        at = np.arange(len(members))
        slot[members] = at  # one occurrence of each key is left holding its slot
        other = members[slot[members] == at]
        slot[other] = np.arange(len(other))
        inverse = slot[members]
        slot[other] = -1
        weighted = np.bincount(inverse, weights=weights, minlength=len(other))
        support = np.bincount(inverse, minlength=len(other))
        keep = other != me
        return other[keep], weighted[keep], support[keep]


def _neighbor_block(
    keys: np.ndarray, idx: LinkIndex, params: KnnConfig, schema: StructType
) -> pd.DataFrame:
    """Top-``k`` neighbours of every key in ``keys`` (the module docstring's definition)."""
    keys = np.sort(keys)
    pos, known = lookup(idx.key_ids, keys)
    out: list[tuple[np.ndarray, ...]] = []
    slot = np.full(len(idx.key_ids), -1, np.int64)
    damping = np.power(idx.n, params.neighbor_pop)  # once, not per co-occurring key
    for key, me in zip(keys[known].tolist(), pos[known].tolist(), strict=True):
        # (a key whose every via entity was over the cap, none sampled, has no pairs at all)
        other, cw, support = idx.cooccurrences(me, slot)
        if not len(other):
            continue
        sim = cw / (np.sqrt(idx.n[me]) * damping[other])
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
    """The neighbour table as a sparse matrix over a dense index of every movie in it:
    ``by_source[i, j]`` is the weight of the edge from rated movie ``i`` to candidate ``j``;
    ``by_target`` is its transpose (each candidate's sources, for the reasons)."""

    movie_ids: np.ndarray
    """Sorted ids of every movie in the table, sources and targets (the matrices' index)."""
    by_source: sp.csr_array
    by_target: sp.csr_array
    divisor: np.ndarray
    """Per movie: ``(n_ratings + 1)^candidate_pop`` (1 without debiasing)."""

    @classmethod
    def build(cls, edges: pd.DataFrame, divisor: _Divisor | None) -> _NeighborArrays:
        src = edges[_SRC].to_numpy(np.int64)
        dst = edges[C.MOVIE_ID].to_numpy(np.int64)
        movie_ids = np.union1d(src, dst)
        size = len(movie_ids)
        by_source = sp.csr_array(
            (
                edges[_W].to_numpy(np.float64),
                (np.searchsorted(movie_ids, src), np.searchsorted(movie_ids, dst)),
            ),
            shape=(size, size),
        )
        by_source.sum_duplicates()  # canonical: sorted indices
        return cls(
            movie_ids=movie_ids,
            by_source=by_source,
            by_target=by_source.T.tocsr(),
            divisor=_divisor_of(divisor, movie_ids),
        )


_Divisor = tuple[np.ndarray, np.ndarray]
"""Sorted movie ids and each one's ``(n_ratings + 1)^candidate_pop``."""


def neighbor_model(
    movie_ids: np.ndarray,
    neighbor_ids: np.ndarray,
    weights: np.ndarray,
    counts: tuple[np.ndarray, np.ndarray] | None = None,
    candidate_pop: float = 0.0,
) -> _NeighborArrays:
    """The model :func:`itemknn_scores` broadcasts, built outside Spark (the serving process)
    from a neighbour table's columns; ``counts`` (sorted movie ids, their rating counts) for
    the ``candidate_pop`` debiasing."""
    edges = pd.DataFrame({_SRC: movie_ids, C.MOVIE_ID: neighbor_ids, _W: weights})
    divisor = None
    if counts is not None and candidate_pop > 0:
        divisor = (counts[0], (counts[1].astype(np.float64) + 1.0) ** candidate_pop)
    return _NeighborArrays.build(edges, divisor)


def score_history(
    model: _NeighborArrays,
    movies: np.ndarray,
    weights: np.ndarray,
    n: int,
    normalize: bool = False,
    positive: bool = False,
) -> dict[str, np.ndarray]:
    """One user's candidates, as :func:`itemknn_scores` scores each user of a block: ``movies``
    rated with term weights ``weights``; ``user_id`` 0, ``movie_id, score, rank,
    because_movie_id`` as arrays (the serving process's fold-in: no frame for one user)."""
    users = np.zeros(len(movies), np.int64)
    found = _score_arrays(users, movies, weights.astype(np.float64), model, n, normalize, positive)
    return typed_columns(found, _SCORES)


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


_SUB_BLOCK = 256
"""Users per sparse product in :func:`_score_users`: bounds the block's score matrix (at most
256 x movies entries)."""


def _score_users(
    block: pd.DataFrame, nb: _NeighborArrays, n: int, normalize: bool, positive: bool
) -> pd.DataFrame:
    """Every user of ``block`` (``user_id, movie_id, _rw`` rows): the summed terms ``_rw *
    weight`` of their rated movies' neighbours (over ``sum |_rw|`` when ``normalize``), rated
    movies removed (and scores <= 0 when ``positive``), top ``n`` with the best-contributing
    rated movie.

    The sums are one sparse product per 256 users (users x movies ``_rw`` times the neighbour
    matrix), in scipy's C loops; per user, Python only ranks the row and finds the reasons.
    """
    users = block[C.USER_ID].to_numpy(np.int64)
    movies = block[C.MOVIE_ID].to_numpy(np.int64)
    rws = block[_RW].to_numpy(np.float64)
    return typed_frame(_score_arrays(users, movies, rws, nb, n, normalize, positive), _SCORES)


def _score_arrays(
    users: np.ndarray,
    movies: np.ndarray,
    rws: np.ndarray,
    nb: _NeighborArrays,
    n: int,
    normalize: bool,
    positive: bool,
) -> list[tuple[np.ndarray, ...]]:
    """:func:`_score_users` on the block's columns: per user, a tuple of :data:`_SCORES`'
    columns."""
    user_ids, user_pos = np.unique(users, return_inverse=True)
    norm = np.bincount(user_pos, weights=np.abs(rws), minlength=len(user_ids))
    pos, known = lookup(nb.movie_ids, movies)
    size = len(nb.movie_ids)
    rated = sp.csr_array((rws[known], (user_pos[known], pos[known])), shape=(len(user_ids), size))
    rated.sum_duplicates()
    scratch = _Scratch(size)
    out: list[tuple[np.ndarray, ...]] = []
    for lo in range(0, len(user_ids), _SUB_BLOCK):
        part = rated[lo : lo + _SUB_BLOCK]
        scores = part @ nb.by_source
        for r in range(part.shape[0]):
            mine = part.indices[part.indptr[r] : part.indptr[r + 1]]
            if not len(mine):
                continue
            cand = scores.indices[scores.indptr[r] : scores.indptr[r + 1]]
            value = scores.data[scores.indptr[r] : scores.indptr[r + 1]]
            scratch.rated_at[mine] = np.arange(len(mine))
            keep = scratch.rated_at[cand] < 0
            cand, value = cand[keep], value[keep]
            if not positive and np.count_nonzero(value > 0) < n:
                cand, value = _with_zero_sums(nb, mine, cand, value, scratch)
            value = value / nb.divisor[cand]
            if normalize:
                value = value / norm[lo + r]
            if positive:
                cand, value = cand[value > 0], value[value > 0]
            top = top_positions(value, nb.movie_ids[cand], n)
            cand, value = cand[top], value[top]
            weights = part.data[part.indptr[r] : part.indptr[r + 1]]
            because = _because(nb, mine, weights, cand, scratch)
            scratch.rated_at[mine] = -1
            if not len(cand):
                continue
            out.append(
                (
                    np.full(len(cand), user_ids[lo + r]),
                    nb.movie_ids[cand],
                    value,
                    np.arange(1, len(cand) + 1),
                    nb.movie_ids[because],
                )
            )
    return out


class _Scratch:
    """Per-movie indexes reused user after user (set for one user's movies, reset to -1
    after), so a membership test or a position lookup is one gather, not a sort or search."""

    def __init__(self, size: int) -> None:
        self.rated_at = np.full(size, -1, np.int64)
        """Position of the movie among the current user's rated movies (``mine``), or -1."""
        self.other_at = np.full(size, -1, np.int64)
        """A second index, set and reset within one call (candidates, the reached set)."""


def _with_zero_sums(
    nb: _NeighborArrays, mine: np.ndarray, cand: np.ndarray, value: np.ndarray, s: _Scratch
) -> tuple[np.ndarray, np.ndarray]:
    """Add the unrated movies the user's neighbours reach whose terms cancel to exactly 0 (the
    sparse product drops them); they rank above negative scores, so they matter only when the
    user has fewer than ``n`` positive ones."""
    entry, _ = csr_ranges(nb.by_source.indptr, mine)
    reached = s.other_at
    reached[nb.by_source.indices[entry]] = 1
    reached[cand] = -1
    reached[mine] = -1
    zeros = np.flatnonzero(reached >= 0)
    reached[zeros] = -1
    if not len(zeros):
        return cand, value
    return np.r_[cand, zeros], np.r_[value, np.zeros(len(zeros))]


def _because(
    nb: _NeighborArrays, mine: np.ndarray, weights: np.ndarray, cand: np.ndarray, s: _Scratch
) -> np.ndarray:
    """Per candidate, the rated movie (of ``mine``, sorted, indexed in ``s.rated_at``, with
    term weights ``weights``) with the largest term ``weight * edge`` into it, the smaller id
    on ties. The edges between the rated movies and the candidates are read from whichever
    side has fewer (EASE's popular movies are regressors of thousands of movies, while each
    candidate has k)."""
    if not len(cand):
        return cand
    by_source, by_target = nb.by_source, nb.by_target
    out_degree = by_source.indptr[mine + 1] - by_source.indptr[mine]
    in_degree = by_target.indptr[cand + 1] - by_target.indptr[cand]
    if in_degree.sum() <= out_degree.sum():
        entry, lens = csr_ranges(by_target.indptr, cand)
        src = s.rated_at[by_target.indices[entry]]
        hit = src >= 0
        src, dst = src[hit], np.repeat(np.arange(len(cand)), lens)[hit]
        edge = by_target.data[entry[hit]]
    else:
        entry, lens = csr_ranges(by_source.indptr, mine)
        s.other_at[cand] = np.arange(len(cand))
        dst = s.other_at[by_source.indices[entry]]
        s.other_at[cand] = -1
        hit = dst >= 0
        src, dst = np.repeat(np.arange(len(mine)), lens)[hit], dst[hit]
        edge = by_source.data[entry[hit]]
    term = edge * weights[src]
    best = np.lexsort((src, -term, dst))  # src indexes the sorted ``mine``: ties to the smaller id
    src, dst = src[best], dst[best]
    head = np.r_[True, dst[1:] != dst[:-1]]
    because = np.empty(len(cand), np.int64)
    because[dst[head]] = mine[src[head]]
    return because


def userknn_scores(
    ratings: DataFrame, neighbors: DataFrame, n: int = 100, candidate_pop: float = 0.0
) -> DataFrame:
    """Top-``n`` unrated movies per user from similar users:
    ``score(u, j) = sum over u's neighbours v who rated j of sim(u, v)``, divided by
    ``(n_j + 1)^candidate_pop``; ties go to the smaller movie id.

    ``neighbors`` is :func:`user_neighbors`' output (``user_id, neighbor_id, similarity``,
    similarities > 0). User-kNN's model is the rating matrix itself: it is broadcast as CSR
    arrays (:class:`_UserMovies`, the ratings' (user, movie) pairs, as the neighbours'
    :class:`LinkIndex`), and each block of users is one sparse product of their neighbour
    weights with it (:func:`_score_block`). Joining every neighbour row with the neighbour's
    movie list shuffled users x k x ratings-per-user movie ids (2.3G at 10M ratings).
    """
    spark = ratings.sparkSession
    pairs = ratings.select(C.USER_ID, C.MOVIE_ID).toPandas()
    model = spark.sparkContext.broadcast(
        _UserMovies.build(pairs, _popularity_divisor(ratings, candidate_pop))
    )
    del pairs
    blocks = udf_groups(spark, len(model.value.user_ids))

    def score(block: pd.DataFrame) -> pd.DataFrame:
        return _score_block(block, model.value, n)

    return (
        neighbors.select(C.USER_ID, C.NEIGHBOR_ID, C.SIMILARITY)
        .groupBy(F.pmod(F.hash(C.USER_ID), F.lit(blocks)))
        .applyInPandas(score, schema=RECS)
    )


@dataclass(frozen=True)
class _UserMovies:
    """Every user's rated movies as a sparse binary matrix (users x movies, dense indexes)."""

    user_ids: np.ndarray
    movie_ids: np.ndarray
    matrix: sp.csr_array
    divisor: np.ndarray
    """Per movie: ``(n_ratings + 1)^candidate_pop`` (1 without debiasing)."""

    @classmethod
    def build(cls, pairs: pd.DataFrame, divisor: _Divisor | None) -> _UserMovies:
        user_ids, users = np.unique(pairs[C.USER_ID].to_numpy(np.int64), return_inverse=True)
        movie_ids, movies = np.unique(pairs[C.MOVIE_ID].to_numpy(np.int64), return_inverse=True)
        matrix = sp.csr_array(
            (np.ones(len(users)), (users, movies)), shape=(len(user_ids), len(movie_ids))
        )
        matrix.sum_duplicates()
        matrix.data[:] = 1.0  # a (user, movie) pair counts once, as the definition's rows
        return cls(user_ids, movie_ids, matrix, _divisor_of(divisor, movie_ids))


def _score_block(block: pd.DataFrame, um: _UserMovies, n: int) -> pd.DataFrame:
    """Rows ``user_id, neighbor_id, similarity``: each user's summed neighbour similarities
    per unrated movie (one sparse product per 256 users), top ``n``."""
    users = block[C.USER_ID].to_numpy(np.int64)
    user_ids, rows = np.unique(users, return_inverse=True)
    cols, known = lookup(um.user_ids, block[C.NEIGHBOR_ID].to_numpy(np.int64))
    sims = block[C.SIMILARITY].to_numpy(np.float64)
    weights = sp.csr_array(
        (sims[known], (rows[known], cols[known])), shape=(len(user_ids), len(um.user_ids))
    )
    own, own_known = lookup(um.user_ids, user_ids)
    rated = np.zeros(len(um.movie_ids), bool)
    out: list[tuple[np.ndarray, ...]] = []
    for lo in range(0, len(user_ids), _SUB_BLOCK):
        scores = weights[lo : lo + _SUB_BLOCK] @ um.matrix
        for r in range(scores.shape[0]):
            cand = scores.indices[scores.indptr[r] : scores.indptr[r + 1]]
            if not len(cand):
                continue
            value = scores.data[scores.indptr[r] : scores.indptr[r + 1]]
            me = own[lo + r]
            mine = um.matrix.indices[um.matrix.indptr[me] : um.matrix.indptr[me + 1]]
            mine = mine if own_known[lo + r] else mine[:0]
            rated[mine] = True
            keep = ~rated[cand]
            rated[mine] = False
            cand, value = cand[keep], value[keep] / um.divisor[cand[keep]]
            top = top_positions(value, um.movie_ids[cand], n)
            ranks = np.arange(1, len(top) + 1)
            out.append(
                (np.full(len(top), user_ids[lo + r]), um.movie_ids[cand[top]], value[top], ranks)
            )
    return typed_frame(out, RECS)
