"""Top-K cosine neighbours of every movie: approximate (LSH similarity join) or exact.

The exact path (:func:`exact_neighbors`) broadcasts the unit TF-IDF entries (catalogue-sized:
one entry per movie and token) as CSR arrays both ways and scores blocks of query movies
against the whole catalogue in numpy (:func:`_block_neighbors`): the same sums as the
inverted-index join (:func:`exact_pairs`, kept as the definition), without a row per product.
Every movie's neighbours are still quadratic work in the catalogue, but at memory speed: 60,000
movies took an hour as a join (docs/content.md) and minutes in blocks (benchmarks/RESULTS.md).

All paths produce the ``movie_neighbors`` table (movie_id, neighbor_id, similarity, rank):

* similarities are computed once per unordered pair (a < b) and mirrored, so the table is
  symmetric in values: when both (a, b) and (b, a) are present they hold the same number;
* only pairs with similarity > ``min_similarity`` (default 0) qualify, so a movie that shares no
  weighted token with any other movie has no neighbours rather than arbitrary ones;
* rank is 1..K by similarity descending, ties broken by the smaller neighbor_id.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import (
    DoubleType,
    IntegerType,
    StructField,
    StructType,
)

from recsys import columns as C
from recsys.content._features import (
    ContentModel,
    distance_for_similarity,
    similarity_from_distance,
)
from recsys.vectorised import csr_ranges, top_positions, typed_frame

DEFAULT_K = 20

MOVIE_NEIGHBORS = StructType(
    [
        StructField(C.MOVIE_ID, IntegerType(), False),
        StructField(C.NEIGHBOR_ID, IntegerType(), False),
        StructField(C.SIMILARITY, DoubleType(), False),
        StructField(C.RANK, IntegerType(), False),
    ]
)

_A, _B, _DIST = "_a", "_b", "_distance"


def top_k(pairs: DataFrame, k: int = DEFAULT_K) -> DataFrame:
    """Mirror (a < b, similarity) pairs and keep each movie's ``k`` most similar neighbours."""
    both = pairs.select(
        F.col(_A).alias(C.MOVIE_ID), F.col(_B).alias(C.NEIGHBOR_ID), C.SIMILARITY
    ).unionByName(
        pairs.select(F.col(_B).alias(C.MOVIE_ID), F.col(_A).alias(C.NEIGHBOR_ID), C.SIMILARITY)
    )
    order = Window.partitionBy(C.MOVIE_ID).orderBy(
        F.col(C.SIMILARITY).desc(), F.col(C.NEIGHBOR_ID).asc()
    )
    ranked = both.withColumn(C.RANK, F.row_number().over(order)).where(F.col(C.RANK) <= k)
    return ranked.select(
        F.col(C.MOVIE_ID).cast("int").alias(C.MOVIE_ID),
        F.col(C.NEIGHBOR_ID).cast("int").alias(C.NEIGHBOR_ID),
        F.col(C.SIMILARITY).cast("double").alias(C.SIMILARITY),
        F.col(C.RANK).cast("int").alias(C.RANK),
    )


def lsh_pairs(model: ContentModel, vectors: DataFrame, min_similarity: float = 0.0) -> DataFrame:
    """Candidate pairs (a < b) from ``approxSimilarityJoin`` with their exact cosine."""
    threshold = distance_for_similarity(min_similarity)
    joined = model.lsh.approxSimilarityJoin(vectors, vectors, threshold, distCol=_DIST)
    return (
        joined.select(
            F.col(f"datasetA.{C.MOVIE_ID}").alias(_A),
            F.col(f"datasetB.{C.MOVIE_ID}").alias(_B),
            similarity_from_distance(_DIST).alias(C.SIMILARITY),
        )
        .where((F.col(_A) < F.col(_B)) & (F.col(C.SIMILARITY) > min_similarity))
        .dropDuplicates([_A, _B])
    )


def exact_pairs(term_weights: DataFrame, min_similarity: float = 0.0) -> DataFrame:
    """Every pair (a < b) sharing a term, with its exact cosine: a sparse dot product through
    an inverted index over :meth:`ContentModel.term_weights`. The cost is the sum over terms of
    (movies having it)^2: fine for small catalogues and tests, quadratic for a token present in
    most movies."""
    left = term_weights.select(F.col(C.MOVIE_ID).alias(_A), C.TERM, F.col(C.WEIGHT).alias("_wa"))
    right = term_weights.select(F.col(C.MOVIE_ID).alias(_B), C.TERM, F.col(C.WEIGHT).alias("_wb"))
    return (
        left.join(right, C.TERM)
        .where(F.col(_A) < F.col(_B))
        .groupBy(_A, _B)
        .agg(F.sum(F.col("_wa") * F.col("_wb")).alias(C.SIMILARITY))
        .where(F.col(C.SIMILARITY) > min_similarity)
    )


def movie_neighbors(
    model: ContentModel,
    documents: DataFrame,
    k: int = DEFAULT_K,
    min_similarity: float = 0.0,
) -> DataFrame:
    """The ``movie_neighbors`` table via LSH (``approxSimilarityJoin``)."""
    vectors = model.transform(documents)
    return top_k(lsh_pairs(model, vectors, min_similarity), k)


def exact_neighbors(
    model: ContentModel,
    documents: DataFrame,
    k: int = DEFAULT_K,
    min_similarity: float = 0.0,
) -> DataFrame:
    """The ``movie_neighbors`` table by exact cosine: blocks of movies scored in numpy against
    a broadcast of every movie's unit TF-IDF entries (:func:`_block_neighbors`)."""
    spark = documents.sparkSession
    entries = model.term_weights(documents)
    index = _TermIndex.build(entries.toPandas())  # movies x tokens-per-movie entries
    if not len(index.movie_ids):
        return spark.createDataFrame([], MOVIE_NEIGHBORS)
    shared = spark.sparkContext.broadcast(index)
    per_block = max(1, _BLOCK_CELLS // len(index.movie_ids))
    blocks = -(-len(index.movie_ids) // per_block)
    queries = spark.createDataFrame(
        pd.DataFrame({_BLOCK: np.arange(blocks, dtype=np.int32)})
    ).repartition(min(blocks, 4 * spark.sparkContext.defaultParallelism), _BLOCK)

    def score(block: pd.DataFrame) -> pd.DataFrame:
        b = int(block[_BLOCK].iloc[0])
        return _block_neighbors(shared.value, b * per_block, per_block, k, min_similarity)

    return queries.groupBy(_BLOCK).applyInPandas(score, schema=MOVIE_NEIGHBORS)


_BLOCK = "_block"
_BLOCK_CELLS = 8_000_000
"""Query movies x catalogue similarities held at once by one Python worker (64 MB)."""


@dataclass(frozen=True)
class _TermIndex:
    """Unit TF-IDF entries as CSR by movie (terms ascending) and by term (movies ascending)."""

    movie_ids: np.ndarray
    movie_ptr: np.ndarray
    movie_terms: np.ndarray
    movie_weights: np.ndarray
    term_ptr: np.ndarray
    term_movies: np.ndarray
    term_weights: np.ndarray

    @classmethod
    def build(cls, entries: pd.DataFrame) -> _TermIndex:
        movie_ids, movie = np.unique(entries[C.MOVIE_ID].to_numpy(np.int64), return_inverse=True)
        _, term = np.unique(entries[C.TERM].to_numpy(np.int64), return_inverse=True)
        weight = entries[C.WEIGHT].to_numpy(np.float64)
        by_movie, by_term = np.lexsort((term, movie)), np.lexsort((movie, term))
        return cls(
            movie_ids=movie_ids,
            movie_ptr=np.r_[0, np.cumsum(np.bincount(movie, minlength=len(movie_ids)))],
            movie_terms=term[by_movie],
            movie_weights=weight[by_movie],
            term_ptr=np.r_[0, np.cumsum(np.bincount(term))],
            term_movies=movie[by_term],
            term_weights=weight[by_term],
        )


def _block_neighbors(
    idx: _TermIndex, first: int, size: int, k: int, min_similarity: float
) -> pd.DataFrame:
    """Top-``k`` neighbours of movies ``first .. first + size - 1`` (dense positions).

    Each query's similarities to every movie are one ``bincount`` over the postings of its
    terms, taken in ascending term order, so sim(a, b) and sim(b, a) add the same products in
    the same order: the table is exactly symmetric in values, as the join's mirrored pairs.
    """
    n = len(idx.movie_ids)
    queries = np.arange(first, min(first + size, n))
    entry, lens = csr_ranges(idx.movie_ptr, queries)
    posting, plen = csr_ranges(idx.term_ptr, idx.movie_terms[entry])
    row = np.repeat(np.repeat(np.arange(len(queries)), lens), plen)
    value = np.repeat(idx.movie_weights[entry], plen) * idx.term_weights[posting]
    sims = np.bincount(
        row * n + idx.term_movies[posting], weights=value, minlength=len(queries) * n
    ).reshape(len(queries), n)
    sims[np.arange(len(queries)), queries] = 0.0  # not its own neighbour
    out = []
    for r, q in enumerate(queries.tolist()):
        sim = sims[r]
        cand = np.flatnonzero(sim > min_similarity)
        top = cand[top_positions(sim[cand], cand, k)]  # dense order = id order
        ranks = np.arange(1, len(top) + 1)
        out.append((np.full(len(top), idx.movie_ids[q]), idx.movie_ids[top], sim[top], ranks))
    return typed_frame(out, MOVIE_NEIGHBORS)
