"""Content-based model: TF-IDF over movie metadata, LSH neighbours, user content scores.

fitted = ContentSource(ContentConfig(), k=20).fit(TrainingData(ratings, movies, tags))
recs = fitted.candidates(ratings, n=100)                 # content_scores over its neighbours
# the steps: build_documents -> ContentEstimator(...).fit -> movie_neighbors / exact_neighbors
match, similar = similar_movies(movies, neighbors, "Inception", k=10)
"""

from recsys.content._documents import (
    DEFAULT_FIELDS,
    build_documents,
    title_tokens,
    value_tokens,
    word_tokens,
)
from recsys.content._features import ContentConfig, ContentEstimator, ContentModel
from recsys.content._neighbors import (
    DEFAULT_K,
    MOVIE_NEIGHBORS,
    exact_neighbors,
    exact_pairs,
    lsh_pairs,
    movie_neighbors,
    top_k,
)
from recsys.content._profiles import (
    CONTENT_SCORES,
    DEFAULT_N,
    content_scores,
    neighbor_edges,
    user_weights,
)
from recsys.content._similar import (
    AmbiguousTitleError,
    Match,
    TitleNotFoundError,
    find_title,
    similar_movies,
)
from recsys.content._train import (
    METHODS,
    ContentSource,
    FittedContent,
    choose_method,
    neighbors_by,
)

__all__ = [
    "CONTENT_SCORES",
    "DEFAULT_FIELDS",
    "DEFAULT_K",
    "DEFAULT_N",
    "METHODS",
    "MOVIE_NEIGHBORS",
    "AmbiguousTitleError",
    "ContentConfig",
    "ContentEstimator",
    "ContentModel",
    "ContentSource",
    "FittedContent",
    "Match",
    "TitleNotFoundError",
    "build_documents",
    "choose_method",
    "content_scores",
    "exact_neighbors",
    "exact_pairs",
    "find_title",
    "lsh_pairs",
    "movie_neighbors",
    "neighbor_edges",
    "neighbors_by",
    "similar_movies",
    "title_tokens",
    "top_k",
    "user_weights",
    "value_tokens",
    "word_tokens",
]
