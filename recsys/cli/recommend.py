"""`recsys recommend`: blend the models into per-user top-N with reasons (writes tables), or,
with ``--user``, print one user's recommendations with titles and reasons."""

from __future__ import annotations

import argparse

from recsys.blend import DEFAULT_WEIGHTS, METHODS, USER_KNN, BlendWeights, RecommendConfig
from recsys.display import format_table
from recsys.jobs import JobContext, queries
from recsys.jobs import recommend as job


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, default=10, help="recommendations per user (10)")
    parser.add_argument("--user", type=int, help="print this user's recommendations and stop")
    parser.add_argument(
        "--genres", help="with --user, for a user without ratings: e.g. Drama,Comedy"
    )
    parser.add_argument(
        "--candidates", type=int, default=50, help="candidates per source and user (50)"
    )
    parser.add_argument(
        "--diversity", type=float, default=0.0, help="MMR lambda in [0, 1]; 0 = off (default)"
    )
    parser.add_argument(
        "--weights", help="YAML/JSON blend weights by history bucket (see docs/recommend.md)"
    )
    parser.add_argument("--normalization", choices=METHODS, default="minmax")
    parser.add_argument(
        "--no-user-knn", action="store_true", help="leave the user-kNN source out of the blend"
    )
    parser.add_argument(
        "--no-similar",
        action="store_true",
        help="skip the similar_movies table (scoring runs: only recommendations is read)",
    )


def config(args: argparse.Namespace) -> RecommendConfig:
    weights = BlendWeights.load(args.weights) if args.weights else DEFAULT_WEIGHTS
    return RecommendConfig(
        n=args.n,
        candidates=args.candidates,
        diversity=args.diversity,
        normalization=args.normalization,
        user_knn=None if args.no_user_knn else USER_KNN,
        weights=weights,
        similar_k=0 if args.no_similar else RecommendConfig.similar_k,
    )


def run(args: argparse.Namespace, ctx: JobContext) -> int:
    if args.user is not None:
        genres = args.genres.split(",") if args.genres else None
        head, rows = queries.user_recommendations(ctx, args.user, args.n, genres)
        print(head)
        print(format_table(list(queries.USER_COLUMNS), rows, max_width=70))
        return 0
    result = job.run(ctx, config(args))
    for note in result.notes:
        print(f"note: {note}")
    print(result.summary)
    return 0
