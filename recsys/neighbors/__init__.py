"""The neighbourhood models: item-kNN and user-kNN (:mod:`recsys.neighbors.knn`) and
neighbourhood EASE (:mod:`recsys.neighbors.ease`), computed in numpy blocks inside grouped
pandas UDFs from broadcast sparse arrays, never as a row per co-occurring pair."""

from recsys.neighbors.ease import (
    EASE_WEIGHTS,
    EaseConfig,
    EaseSource,
    FittedEase,
    ease_scores,
    ease_weights,
)
from recsys.neighbors.knn import (
    NEIGHBORS_SCHEMA,
    FittedItemKnn,
    FittedUserKnn,
    ItemKnnSource,
    KnnConfig,
    LinkIndex,
    UserKnnSource,
    block_neighbors,
    item_neighbors,
    itemknn_scores,
    link_index,
    neighbor_model,
    score_history,
    user_neighbors,
    userknn_scores,
)

__all__ = [
    "EASE_WEIGHTS",
    "NEIGHBORS_SCHEMA",
    "EaseConfig",
    "EaseSource",
    "FittedEase",
    "FittedItemKnn",
    "FittedUserKnn",
    "ItemKnnSource",
    "KnnConfig",
    "LinkIndex",
    "UserKnnSource",
    "block_neighbors",
    "ease_scores",
    "ease_weights",
    "item_neighbors",
    "itemknn_scores",
    "link_index",
    "neighbor_model",
    "score_history",
    "user_neighbors",
    "userknn_scores",
]
