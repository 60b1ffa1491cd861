"""The whole content step as one function the job calls: documents -> model -> tables."""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame

from recsys.content._documents import build_documents
from recsys.content._features import ContentEstimator, ContentModel, ContentParams
from recsys.content._neighbors import DEFAULT_K, exact_neighbors, movie_neighbors


@dataclass
class ContentResult:
    model: ContentModel
    documents: DataFrame
    neighbors: DataFrame


def train_content(
    movies: DataFrame,
    tags: DataFrame | None,
    params: ContentParams | None = None,
    k: int = DEFAULT_K,
    exact: bool = False,
) -> ContentResult:
    """Fit the content model and define (lazily) the neighbour table; user scores are then
    :func:`~recsys.content.content_scores` over the written neighbours.

    ``documents`` is persisted because the fit and the neighbour join both read it;
    call ``result.documents.unpersist()`` when the tables are written.
    """
    documents = build_documents(movies, tags).persist()
    model = ContentEstimator(params).fit(documents)
    build = exact_neighbors if exact else movie_neighbors
    return ContentResult(model, documents, build(model, documents, k=k))
