"""The content model as a candidate source (:mod:`recsys.candidates`): documents -> TF-IDF
model -> movie neighbours -> per-user content scores."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pyspark.sql import DataFrame

from recsys.candidates import TrainingData
from recsys.content._documents import build_documents
from recsys.content._features import ContentConfig, ContentEstimator, ContentModel
from recsys.content._neighbors import DEFAULT_K, exact_neighbors, movie_neighbors
from recsys.content._profiles import DEFAULT_N, content_scores

Method = Literal["auto", "lsh", "exact"]
METHODS: tuple[Method, ...] = ("auto", "lsh", "exact")


@dataclass
class FittedContent:
    model: ContentModel
    documents: DataFrame
    """Persisted for the fit and the neighbour join: ``unpersist()`` when the tables are
    written."""
    neighbors: DataFrame
    """The (lazily defined) top-``k`` neighbour table (``MOVIE_NEIGHBORS``)."""
    method: Method
    """How the neighbours were found: ``lsh`` or ``exact`` (``auto`` resolved)."""

    def candidates(self, ratings: DataFrame, n: int = DEFAULT_N) -> DataFrame:
        """Each user's top-``n`` unrated movies by content score (:func:`content_scores`)."""
        return content_scores(ratings, self.neighbors, n=n)


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


@dataclass(frozen=True)
class ContentSource:
    config: ContentConfig = field(default_factory=ContentConfig)
    k: int = DEFAULT_K
    """Neighbours kept per movie."""
    method: Method = "auto"

    def __post_init__(self) -> None:
        if self.method not in METHODS:  # before the fit, not after it
            raise ValueError(
                f"unknown neighbour method {self.method!r}: use one of {', '.join(METHODS)}"
            )

    def fit(self, data: TrainingData) -> FittedContent:
        """Fit the TF-IDF model on the catalogue (``data.movies`` and ``data.tags``) and define
        the neighbour table lazily."""
        if data.movies is None:
            raise ValueError("the content source fits on the catalogue: pass TrainingData.movies")
        documents = build_documents(data.movies, data.tags).persist()
        model = ContentEstimator(self.config).fit(documents)
        chosen, neighbors = neighbors_by(model, documents, self.config, self.method, self.k)
        return FittedContent(model, documents, neighbors, chosen)
