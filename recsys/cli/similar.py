"""`recsys similar "Inception"`: the movies most similar in content to a title."""

from __future__ import annotations

import argparse

from recsys import columns as C
from recsys.cli._context import JobContext
from recsys.content import similar_movies


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("title", nargs="?", help="movie title; fuzzy and case-insensitive")
    parser.add_argument("--id", dest="movie_id", type=int, help="movie id instead of a title")
    parser.add_argument("--k", type=int, default=10, help="neighbours to print")


def run(args: argparse.Namespace, ctx: JobContext) -> int:
    lake = ctx.lake
    match, rows = similar_movies(
        lake.read(C.T_MOVIES),
        lake.read(C.T_MOVIE_NEIGHBORS),
        title=args.title,
        k=args.k,
        movie_id=args.movie_id,
    )
    found = rows.collect()  # at most k rows
    print(f"Movies similar to {match.title} (id {match.movie_id}):")
    if not found:
        print("  none: this movie has no content metadata shared with other movies")
    for row in found:
        print(
            f"  {row[C.RANK]:>3}. {row[C.NEIGHBOR_TITLE]}  "
            f"(id {row[C.NEIGHBOR_ID]}, similarity {row[C.SIMILARITY]:.3f})"
        )
    return 0
