"""`recsys train-content`: fit the content model, write movie_neighbors and content_scores."""

from __future__ import annotations

import argparse

from recsys import columns as C
from recsys.cli._context import JobContext
from recsys.content import (
    DEFAULT_K,
    DEFAULT_N,
    METHODS,
    ContentParams,
    content_scores,
    train_content,
)
from recsys.runs import RunRecorder

JOB = "train_content"
_DEFAULTS = ContentParams()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--k", type=int, default=DEFAULT_K, help="neighbours kept per movie")
    parser.add_argument("--n", type=int, default=DEFAULT_N, help="content scores kept per user")
    parser.add_argument("--bucket-length", type=float, default=_DEFAULTS.bucket_length)
    parser.add_argument("--num-hash-tables", type=int, default=_DEFAULTS.num_hash_tables)
    parser.add_argument("--min-df", type=float, default=_DEFAULTS.min_df)
    parser.add_argument(
        "--method",
        choices=METHODS,
        default="auto",
        help="neighbours by LSH, exactly (inverted-index join), or auto: exact while that "
        "join has at most --exact-max-rows-per-pair rows per movie pair",
    )
    parser.add_argument(
        "--exact-max-rows-per-pair",
        type=float,
        default=_DEFAULTS.exact_max_rows_per_pair,
        help="auto's budget: exact join rows allowed per movie pair before switching to LSH",
    )


def model_path(lake_root: str, run_id: str) -> str:
    return f"{lake_root.rstrip('/')}/_models/content/{run_id}"


def run(args: argparse.Namespace, ctx: JobContext) -> int:
    params = ContentParams(
        min_df=args.min_df,
        bucket_length=args.bucket_length,
        num_hash_tables=args.num_hash_tables,
        exact_max_rows_per_pair=args.exact_max_rows_per_pair,
    )
    lake = ctx.lake
    recorded = {**params.to_dict(), "k": args.k, "n": args.n, "method": args.method}
    with RunRecorder(lake, JOB, params=recorded) as run:
        movies = run.read(C.T_MOVIES)
        tags = run.read(C.T_TAGS) if lake.exists(C.T_TAGS) else None
        ratings = run.read(C.T_RATINGS)
        with run.timed("fit"):
            result = train_content(movies, tags, params, k=args.k, method=args.method)
            run.params["method_used"] = result.method
            path = model_path(lake.root, run.run_id)
            result.model.save(path)
        with run.timed("neighbors"):
            version = lake.overwrite(C.T_MOVIE_NEIGHBORS, result.neighbors, run_id=run.run_id)
            neighbors = lake.read(C.T_MOVIE_NEIGHBORS, version=version)
            run.wrote(C.T_MOVIE_NEIGHBORS, version, rows=lake.count(C.T_MOVIE_NEIGHBORS, version))
        with run.timed("scores"):
            # score from the written table: the neighbour join is not recomputed
            scores = content_scores(ratings, neighbors, n=args.n)
            version = lake.overwrite(C.T_CONTENT_SCORES, scores, run_id=run.run_id)
            n_scores = lake.count(C.T_CONTENT_SCORES, version)
            run.wrote(C.T_CONTENT_SCORES, version, rows=n_scores)
        result.documents.unpersist()
    print(
        f"train-content {run.run_id}: model {path}; {C.T_MOVIE_NEIGHBORS} ({result.method}) "
        f"{run.row_counts[C.T_MOVIE_NEIGHBORS]} rows, {C.T_CONTENT_SCORES} {n_scores} rows"
    )
    return 0
