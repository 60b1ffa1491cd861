"""Hybrid per-user top-N: candidate sources (ALS, item-kNN, user-kNN, content, popularity)
normalised per user and blended with history-bucket weights; cold start; MMR diversity
re-rank; reasons naming a rated movie (the job writing the tables: :mod:`recsys.jobs.recommend`).

    sources = candidate_sources(ratings, params, als=als_candidates, content=content_scores)
    recs = recommend_frame(sources.frames, ratings, movies, params)   # pure DataFrame -> DataFrame
"""

from recsys.blend._blend import (
    BLENDED,
    assign_buckets,
    blend,
    blend_scores,
    blend_user,
    combine_candidates,
    history_sizes,
)
from recsys.blend._coldstart import FittedPopularity, PopularitySource, cold_start, movie_popularity
from recsys.blend._normalize import METHODS, normalize_per_user
from recsys.blend._reasons import (
    GenreBits,
    attach_reasons,
    because_sentence,
    because_text,
    explain_user,
    popular_sentence,
    rating_text,
    rating_words,
)
from recsys.blend._recommend import (
    EASE,
    ITEM_KNN,
    RECOMMENDATIONS,
    USER_KNN,
    RecommendConfig,
    Sources,
    candidate_sources,
    fitted_sources,
    recommend_frame,
)
from recsys.blend._rerank import mmr_rerank
from recsys.blend._similar import SIMILAR_MOVIES, blend_similar_movies
from recsys.blend._weights import (
    DEFAULT_WEIGHTS,
    SCORE_COLUMNS,
    SOURCES,
    BlendWeights,
    Bucket,
    WeightsError,
)

__all__ = [
    "BLENDED",
    "DEFAULT_WEIGHTS",
    "EASE",
    "ITEM_KNN",
    "METHODS",
    "RECOMMENDATIONS",
    "SCORE_COLUMNS",
    "SIMILAR_MOVIES",
    "SOURCES",
    "USER_KNN",
    "BlendWeights",
    "Bucket",
    "FittedPopularity",
    "GenreBits",
    "PopularitySource",
    "RecommendConfig",
    "Sources",
    "WeightsError",
    "assign_buckets",
    "attach_reasons",
    "because_sentence",
    "because_text",
    "blend",
    "blend_scores",
    "blend_similar_movies",
    "blend_user",
    "candidate_sources",
    "cold_start",
    "combine_candidates",
    "explain_user",
    "fitted_sources",
    "history_sizes",
    "mmr_rerank",
    "movie_popularity",
    "normalize_per_user",
    "popular_sentence",
    "rating_text",
    "rating_words",
    "recommend_frame",
]
