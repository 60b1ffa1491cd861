"""`recsys train-content`: fit the content model, write movie_neighbors and content_scores."""

from __future__ import annotations

import argparse

from recsys.content import DEFAULT_K, DEFAULT_N, METHODS, ContentConfig
from recsys.jobs import JobContext
from recsys.jobs import train_content as job

_DEFAULTS = ContentConfig()


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


def config(args: argparse.Namespace) -> job.TrainContentConfig:
    params = ContentConfig(
        min_df=args.min_df,
        bucket_length=args.bucket_length,
        num_hash_tables=args.num_hash_tables,
        exact_max_rows_per_pair=args.exact_max_rows_per_pair,
    )
    return job.TrainContentConfig(params=params, k=args.k, n=args.n, method=args.method)


def run(args: argparse.Namespace, ctx: JobContext) -> int:
    print(job.run(ctx, config(args)).summary)
    return 0
