"""`recsys recommend`: blend the models into per-user top-N with reasons (writes tables), or,
with ``--user``, print one user's recommendations with titles and reasons."""

from __future__ import annotations

import argparse
from typing import Any

from recsys.blend import METHODS, RecommendConfig
from recsys.config import Settings
from recsys.display import format_table
from recsys.jobs import JobContext, queries
from recsys.jobs import recommend as job
from recsys.jobs.configs import job_config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags override the profile's ``recommend`` section; absent ones leave it alone."""
    d = RecommendConfig()
    parser.add_argument("--n", type=int, help=f"recommendations per user ({d.n})")
    parser.add_argument("--user", type=int, help="print this user's recommendations and stop")
    parser.add_argument(
        "--genres", help="with --user, for a user without ratings: e.g. Drama,Comedy"
    )
    parser.add_argument(
        "--candidates", type=int, help=f"candidates per source and user ({d.candidates})"
    )
    parser.add_argument(
        "--diversity", type=float, help=f"MMR lambda in [0, 1]; 0 = off ({d.diversity})"
    )
    parser.add_argument(
        "--weights",
        help="YAML/JSON blend weights by history bucket (the defaults: `recsys config`, "
        "key recommend.weights)",
    )
    parser.add_argument("--normalization", choices=METHODS, help=f"default {d.normalization}")
    parser.add_argument(
        "--no-user-knn",
        action="store_const",
        const=None,
        default=argparse.SUPPRESS,
        dest="user_knn",
        help="leave the user-kNN source out of the blend",
    )
    parser.add_argument(
        "--no-similar",
        action="store_const",
        const=0,
        dest="similar_k",
        help="skip the similar_movies table (scoring runs: only recommendations is read)",
    )


_FLAGS = ("n", "candidates", "diversity", "weights", "normalization", "similar_k")


def flags(args: argparse.Namespace) -> dict[str, Any]:
    """The flags given, as ``recommend`` section keys."""
    given = {n: getattr(args, n) for n in _FLAGS if getattr(args, n, None) is not None}
    if hasattr(args, "user_knn"):  # --no-user-knn: the source off
        given["user_knn"] = None
    return given


def config(args: argparse.Namespace, settings: Settings) -> RecommendConfig:
    return job_config(settings, "recommend", flags(args))


def run(args: argparse.Namespace, ctx: JobContext) -> int:
    if args.user is not None:
        genres = args.genres.split(",") if args.genres else None
        n = config(args, ctx.settings).n  # --n, else the profile's recommend.n
        head, rows = queries.user_recommendations(ctx, args.user, n, genres)
        print(head)
        print(format_table(list(queries.USER_COLUMNS), rows, max_width=70))
        return 0
    result = job.run(ctx, config(args, ctx.settings))
    for note in result.notes:
        print(f"note: {note}")
    print(result.summary)
    return 0
