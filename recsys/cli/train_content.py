"""`recsys train-content`: fit the content model, write movie_neighbors and content_scores."""

from __future__ import annotations

import argparse
from typing import Any

from recsys.config import Settings
from recsys.content import METHODS, ContentConfig
from recsys.jobs import JobContext
from recsys.jobs import train_content as job
from recsys.jobs.configs import job_config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags override the profile's ``train_content`` section; absent ones leave it alone."""
    d, m = job.TrainContentConfig(), ContentConfig()
    parser.add_argument("--k", type=int, help=f"neighbours kept per movie ({d.k})")
    parser.add_argument("--n", type=int, help=f"content scores kept per user ({d.n})")
    parser.add_argument(
        "--bucket-length", type=float, help=f"LSH bucket length ({m.bucket_length})"
    )
    parser.add_argument("--num-hash-tables", type=int, help=f"LSH tables ({m.num_hash_tables})")
    parser.add_argument(
        "--min-df", type=float, help=f"TF-IDF minimum document frequency ({m.min_df})"
    )
    parser.add_argument(
        "--method",
        choices=METHODS,
        help="neighbours by LSH, exactly (inverted-index join), or auto (default): exact "
        "while that join has at most --exact-max-rows-per-pair rows per movie pair",
    )
    parser.add_argument(
        "--exact-max-rows-per-pair",
        type=float,
        help="auto's budget: exact join rows allowed per movie pair before switching to LSH "
        f"({m.exact_max_rows_per_pair})",
    )


_MODEL_FLAGS = ("bucket_length", "num_hash_tables", "min_df", "exact_max_rows_per_pair")


def flags(args: argparse.Namespace) -> dict[str, Any]:
    """The flags given, as ``train_content`` section keys."""
    given = {n: getattr(args, n) for n in ("k", "n", "method") if getattr(args, n) is not None}
    model = {n: getattr(args, n) for n in _MODEL_FLAGS if getattr(args, n) is not None}
    return {**given, **({"model": model} if model else {})}


def config(args: argparse.Namespace, settings: Settings) -> job.TrainContentConfig:
    return job_config(settings, "train_content", flags(args))


def run(args: argparse.Namespace, ctx: JobContext) -> int:
    print(job.run(ctx, config(args, ctx.settings)).summary)
    return 0
