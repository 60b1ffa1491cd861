"""`recsys recommend`: blend the models into per-user top-N with reasons (writes tables), or,
with ``--user``, print one user's recommendations with titles and reasons."""

from __future__ import annotations

import argparse

from pyspark.sql import functions as F

from recsys import columns as C
from recsys.blend import (
    DEFAULT_WEIGHTS,
    METHODS,
    USER_KNN,
    BlendWeights,
    RecommendParams,
    cold_start,
    movie_popularity,
    recommend,
)
from recsys.blend._recommend import MissingInputError
from recsys.cli._context import JobContext
from recsys.display import format_table


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


def _print_user(args: argparse.Namespace, ctx: JobContext) -> int:
    lake = ctx.lake
    for name, job in ((C.T_RATINGS, "ingest"), (C.T_MOVIES, "ingest")):
        if not lake.exists(name):
            raise MissingInputError(f"table {name!r} not found; run `recsys {job}` first")
    movies = lake.read(C.T_MOVIES)
    ratings = lake.read(C.T_RATINGS)
    history = ratings.where(F.col(C.USER_ID) == args.user)
    n_rated = history.count()  # one user's ratings
    rows = []
    if n_rated and lake.exists(C.T_RECOMMENDATIONS):
        recs = lake.read(C.T_RECOMMENDATIONS).where(F.col(C.USER_ID) == args.user)
        rows = (
            recs.join(movies.select(C.MOVIE_ID, C.TITLE), C.MOVIE_ID, "left")
            .orderBy(C.RANK)
            .select(C.RANK, C.MOVIE_ID, C.TITLE, F.round(C.SCORE, 3).alias(C.SCORE), C.REASON)
            .limit(args.n)
            .collect()  # bounded by --n
        )
    if rows:
        print(f"user {args.user}: {n_rated} ratings; top {len(rows)} from the last recommend run")
        if args.genres:
            print("(--genres only applies to users without ratings)")
    else:
        why = "no ratings" if not n_rated else "no stored recommendations"
        print(f"user {args.user}: {why}; popular, well-rated movies")
        rows = (
            cold_start(
                movie_popularity(ratings),
                movies,
                n=args.n,
                genres=args.genres.split(",") if args.genres else None,
                exclude=history,
            )
            .select(C.RANK, C.MOVIE_ID, C.TITLE, F.round(C.SCORE, 3).alias(C.SCORE), C.REASON)
            .collect()  # bounded by --n
        )
    cols = [C.RANK, C.MOVIE_ID, C.TITLE, C.SCORE, C.REASON]
    print(format_table(cols, [tuple(r) for r in rows], max_width=70))
    return 0


def run(args: argparse.Namespace, ctx: JobContext) -> int:
    if args.user is not None:
        return _print_user(args, ctx)
    weights = BlendWeights.load(args.weights) if args.weights else DEFAULT_WEIGHTS
    params = RecommendParams(
        n=args.n,
        candidates=args.candidates,
        diversity=args.diversity,
        normalization=args.normalization,
        user_knn=None if args.no_user_knn else USER_KNN,
        weights=weights,
        similar_k=0 if args.no_similar else RecommendParams.similar_k,
    )
    summary = recommend(ctx.spark, ctx.lake, params=params)
    for note in summary["notes"]:
        print(f"note: {note}")
    print(
        f"recommend {summary['run_id']}: {C.T_RECOMMENDATIONS} {summary['recommendations']} rows "
        f"for {summary['users']} users from {', '.join(summary['sources'])}"
        + ("" if args.no_similar else f"; {C.T_SIMILAR_MOVIES} {summary['similar_movies']} rows")
    )
    return 0
