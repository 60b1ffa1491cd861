"""The ``recommend`` stage's models: candidate sources -> blend -> (re-rank) -> reasons.

:func:`candidate_sources` and :func:`recommend_frame` are pure (DataFrames in, DataFrame out);
the job that reads the lake and writes the tables is :mod:`recsys.jobs.recommend`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql.types import (
    DoubleType,
    IntegerType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from recsys import columns as C
from recsys.blend._blend import blend
from recsys.blend._coldstart import PopularitySource
from recsys.blend._normalize import METHODS
from recsys.blend._reasons import attach_reasons
from recsys.blend._rerank import mmr_rerank
from recsys.blend._weights import DEFAULT_WEIGHTS, BlendWeights
from recsys.candidates import CandidateModel, CandidateSource, TrainingData
from recsys.config import ConfigError, check_choice
from recsys.neighbors.ease import EaseConfig, EaseSource
from recsys.neighbors.knn import FittedItemKnn, ItemKnnSource, KnnConfig, UserKnnSource

RECOMMENDATIONS = StructType(
    [
        StructField(C.RUN_ID, StringType(), False),
        StructField(C.USER_ID, IntegerType(), False),
        StructField(C.RANK, IntegerType(), False),
        StructField(C.MOVIE_ID, IntegerType(), False),
        StructField(C.SCORE, DoubleType(), False),
        StructField(C.ALS_SCORE, DoubleType(), True),
        StructField(C.CONTENT_SCORE, DoubleType(), True),
        StructField(C.EASE_SCORE, DoubleType(), True),
        StructField(C.ITEMKNN_SCORE, DoubleType(), True),
        StructField(C.USERKNN_SCORE, DoubleType(), True),
        StructField(C.POPULARITY_SCORE, DoubleType(), True),
        StructField(C.BECAUSE_MOVIE_ID, IntegerType(), True),
        StructField(C.REASON, StringType(), False),
        StructField(C.HISTORY_BUCKET, StringType(), True),
        StructField(C.GENERATED_AT, TimestampType(), False),
    ]
)

ITEM_KNN = KnnConfig()
"""Item-kNN defaults (validation-chosen, see benchmarks/blend.py)."""
USER_KNN = KnnConfig(k=200, via_weight=1.0, neighbor_pop=0.5, candidate_pop=0.2)
"""User-kNN defaults: the same weighting with roles swapped, mild popularity debiasing."""

EASE = EaseConfig()
"""Neighbourhood-EASE defaults (validation-chosen, see benchmarks/blend.py)."""


@dataclass(frozen=True)
class RecommendConfig:
    n: int = 10
    """Recommendations per user."""
    candidates: int = 50
    """Candidates taken from each source per user before blending."""
    diversity: float = 0.0
    """MMR lambda in [0, 1]; 0 = no re-rank."""
    pool: int = 50
    """Blend top-``pool`` re-ranked when ``diversity > 0``."""
    normalization: str = "minmax"
    """Per-user score normalisation before blending: ``minmax``, ``rank`` or ``zscore``."""
    item_knn: KnnConfig = ITEM_KNN
    """Item-kNN (always on: its neighbours also feed ``similar_movies``)."""
    user_knn: KnnConfig | None = USER_KNN
    """User-kNN; null (``--set recommend.user_knn=null``) switches the source off."""
    ease: EaseConfig | None = EASE
    """Neighbourhood EASE (:mod:`recsys.neighbors.ease`); null switches the source off."""
    weights: BlendWeights = DEFAULT_WEIGHTS
    """Blend weights by history bucket (``buckets``: label, max_history, weights per source), or
    a YAML/JSON file's path; `recsys config recommend` prints the defaults whole."""
    similar_k: int = 20
    """Movies kept per movie in ``similar_movies``; 0 skips that table (a scoring run, such as
    the evaluate stage's, reads only ``recommendations``)."""

    def __post_init__(self) -> None:
        check_choice("recommend.normalization", self.normalization, METHODS)
        if not 0.0 <= self.diversity <= 1.0 or self.n < 1 or self.candidates < 1:
            raise ConfigError(
                "recommend needs n >= 1, candidates >= 1 and diversity in [0, 1]; got "
                f"n={self.n} candidates={self.candidates} diversity={self.diversity}"
            )

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "candidates": self.candidates,
            "diversity": self.diversity,
            "pool": self.pool,
            "normalization": self.normalization,
            "item_knn": self.item_knn.as_dict(),
            "user_knn": None if self.user_knn is None else self.user_knn.as_dict(),
            "ease": None if self.ease is None else self.ease.as_dict(),
            "weights": self.weights.to_dict(),
            "similar_k": self.similar_k,
        }


@dataclass
class Sources:
    frames: dict[str, DataFrame]
    item_neighbors: DataFrame
    notes: list[str] = field(default_factory=list)
    fitted: dict[str, CandidateModel] = field(default_factory=dict)
    """The models fitted here (``unpersist()`` EASE's weights when the frames are computed)."""


def fitted_sources(params: RecommendConfig) -> dict[str, CandidateSource]:
    """The sources the recommend stage fits itself, by blend name (ALS and content are fitted
    by their own stages and read as tables)."""
    sources: dict[str, CandidateSource] = {"itemknn": ItemKnnSource(params.item_knn)}
    if params.ease is not None:
        sources["ease"] = EaseSource(params.ease)
    if params.user_knn is not None:
        sources["userknn"] = UserKnnSource(params.user_knn)
    sources["popularity"] = PopularitySource()
    return sources


def candidate_sources(
    ratings: DataFrame,
    params: RecommendConfig = RecommendConfig(),
    als: DataFrame | None = None,
    content: DataFrame | None = None,
    item_nbrs: DataFrame | None = None,
) -> Sources:
    """Every candidate source as a recs frame (``user_id, movie_id, score, rank[, because]``).

    ``als`` / ``content`` are taken as given (their own stages' top-N tables); the sources of
    :func:`fitted_sources` are fitted here on ``ratings``. ``item_nbrs`` lets a caller pass item
    neighbours it already wrote (so they are not recomputed).
    """
    frames: dict[str, DataFrame] = {}
    notes: list[str] = []
    if als is not None:
        keep = [c for c in (C.USER_ID, C.MOVIE_ID, C.SCORE, C.RANK) if c in als.columns]
        frames["als"] = als.select(*keep)  # rank kept so a source can be evaluated alone
    else:
        notes.append("no ALS candidates (run `recsys train-als`); blending without ALS")
    data = TrainingData(ratings)
    fitted: dict[str, CandidateModel] = {}
    for name, source in fitted_sources(params).items():
        reuse = name == "itemknn" and item_nbrs is not None
        fitted[name] = FittedItemKnn(item_nbrs, params.item_knn) if reuse else source.fit(data)
        frames[name] = fitted[name].candidates(ratings, params.candidates)
    if content is not None:
        cols = [C.USER_ID, C.MOVIE_ID, C.SCORE, C.RANK, C.BECAUSE_MOVIE_ID]
        frames["content"] = content.select(*[c for c in cols if c in content.columns])
    else:
        notes.append("no content scores (run `recsys train-content`); blending without content")
    item = fitted["itemknn"]
    assert isinstance(item, FittedItemKnn)
    return Sources(frames, item.neighbors, notes, fitted)


def recommend_frame(
    sources: dict[str, DataFrame],
    ratings: DataFrame,
    movies: DataFrame,
    params: RecommendConfig = RecommendConfig(),
) -> DataFrame:
    """Blend, optionally re-rank for diversity, and explain: per user ``n`` rows with
    ``user_id, movie_id, score, rank, <source>_score..., because_movie_id, reason,
    history_bucket``."""
    keep = params.pool if params.diversity > 0 else params.n
    recs = blend(sources, ratings, params.weights, n=keep, method=params.normalization)
    if params.diversity > 0:
        recs = mmr_rerank(recs, movies, params.diversity, n=params.n, pool=params.pool)
    return attach_reasons(recs, ratings, movies)
