"""The whole content step as one function the job calls: documents -> model -> tables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pyspark.sql import DataFrame

from recsys.content._documents import build_documents
from recsys.content._features import ContentConfig, ContentEstimator, ContentModel
from recsys.content._neighbors import DEFAULT_K, exact_neighbors, movie_neighbors

Method = Literal["auto", "lsh", "exact"]
METHODS: tuple[Method, ...] = ("auto", "lsh", "exact")


@dataclass
class ContentResult:
    model: ContentModel
    documents: DataFrame
    neighbors: DataFrame
    method: Method
    """How the neighbours were found: ``lsh`` or ``exact`` (``auto`` resolved)."""


def choose_method(model: ContentModel, params: ContentConfig, method: Method) -> Method:
    """``auto``: exact while the inverted-index join has at most
    ``params.exact_max_rows_per_pair`` rows per movie pair, LSH beyond."""
    if method != "auto":
        return method
    budget = params.exact_max_rows_per_pair * model.movie_pairs()
    return "exact" if model.exact_join_rows() <= budget else "lsh"


def neighbors_by(
    model: ContentModel,
    documents: DataFrame,
    params: ContentConfig,
    method: Method = "auto",
    k: int = DEFAULT_K,
) -> tuple[Method, DataFrame]:
    """(the method used, the lazily defined top-``k`` neighbour table) for a fitted model."""
    if method not in METHODS:
        raise ValueError(f"unknown neighbour method {method!r}: use one of {', '.join(METHODS)}")
    chosen = choose_method(model, params, method)
    build = exact_neighbors if chosen == "exact" else movie_neighbors
    return chosen, build(model, documents, k=k)


def train_content(
    movies: DataFrame,
    tags: DataFrame | None,
    params: ContentConfig | None = None,
    k: int = DEFAULT_K,
    method: Method = "auto",
) -> ContentResult:
    """Fit the content model and define (lazily) the neighbour table; user scores are then
    :func:`~recsys.content.content_scores` over the written neighbours.

    ``documents`` is persisted because the fit and the neighbour join both read it;
    call ``result.documents.unpersist()`` when the tables are written.
    """
    params = params or ContentConfig()
    if method not in METHODS:  # before the fit, not after it
        raise ValueError(f"unknown neighbour method {method!r}: use one of {', '.join(METHODS)}")
    documents = build_documents(movies, tags).persist()
    model = ContentEstimator(params).fit(documents)
    chosen, neighbors = neighbors_by(model, documents, params, method, k)
    return ContentResult(model, documents, neighbors, chosen)
