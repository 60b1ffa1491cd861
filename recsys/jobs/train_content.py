"""The content job: fit TF-IDF (+ LSH) on the catalogue, write ``movie_neighbors`` and each
user's ``content_scores``, save the model under ``<lake>/_models/content/<run id>``."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from recsys import columns as C
from recsys.candidates import TrainingData
from recsys.config import check_choice
from recsys.content import DEFAULT_K, DEFAULT_N, METHODS, ContentConfig, ContentSource
from recsys.jobs._context import JobContext
from recsys.jobs._result import JobResult
from recsys.runs import RunRecorder

JOB = "train_content"


@dataclass(frozen=True)
class TrainContentConfig:
    model: ContentConfig = field(default_factory=ContentConfig)
    """TF-IDF and LSH settings."""
    k: int = DEFAULT_K
    """Neighbours kept per movie."""
    n: int = DEFAULT_N
    """Content scores kept per user."""
    method: str = "auto"
    """``lsh``, ``exact`` (inverted-index join) or ``auto`` (exact while the join stays within
    ``model.exact_max_rows_per_pair`` rows per movie pair)."""

    def __post_init__(self) -> None:
        check_choice("train_content.method", self.method, METHODS)

    def to_dict(self) -> dict[str, object]:
        return {**self.model.to_dict(), "k": self.k, "n": self.n, "method": self.method}


def model_path(lake_root: str, run_id: str) -> str:
    return f"{lake_root.rstrip('/')}/_models/content/{run_id}"


def run(ctx: JobContext, config: TrainContentConfig = TrainContentConfig()) -> JobResult:
    lake = ctx.lake
    with RunRecorder(lake, JOB, params=config.to_dict()) as run:
        movies = run.read(C.T_MOVIES)
        tags = run.read(C.T_TAGS) if lake.exists(C.T_TAGS) else None
        ratings = run.read(C.T_RATINGS)
        with run.timed("fit"):
            source = ContentSource(config.model, k=config.k, method=config.method)
            result = source.fit(TrainingData(ratings, movies, tags))
            run.params["method_used"] = result.method
            path = model_path(lake.root, run.run_id)
            result.model.save(path)
        with run.timed("neighbors"):
            version = lake.overwrite(C.T_MOVIE_NEIGHBORS, result.neighbors, **run.commit_info)
            neighbors = lake.read(C.T_MOVIE_NEIGHBORS, version=version)
            run.wrote(C.T_MOVIE_NEIGHBORS, version, rows=lake.count(C.T_MOVIE_NEIGHBORS, version))
        with run.timed("scores"):
            # score from the written table: the neighbour join is not recomputed
            scores = replace(result, neighbors=neighbors).candidates(ratings, n=config.n)
            version = lake.overwrite(C.T_CONTENT_SCORES, scores, **run.commit_info)
            run.wrote(C.T_CONTENT_SCORES, version, rows=lake.count(C.T_CONTENT_SCORES, version))
        result.documents.unpersist()
    summary = (
        f"train-content {run.run_id}: model {path}; {C.T_MOVIE_NEIGHBORS} ({result.method}) "
        f"{run.row_counts[C.T_MOVIE_NEIGHBORS]} rows, {C.T_CONTENT_SCORES} "
        f"{run.row_counts[C.T_CONTENT_SCORES]} rows"
    )
    return JobResult(JOB, run.run_id, run.output_versions, run.row_counts, summary)
