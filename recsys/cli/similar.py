"""`recsys similar "Inception"`: the movies most similar in content to a title."""

from __future__ import annotations

import argparse

from recsys import columns as C
from recsys.jobs import JobContext, queries


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("title", nargs="?", help="movie title; fuzzy and case-insensitive")
    parser.add_argument("--id", dest="movie_id", type=int, help="movie id instead of a title")
    parser.add_argument("--k", type=int, default=10, help="neighbours to print")


def run(args: argparse.Namespace, ctx: JobContext) -> int:
    match, found = queries.similar(ctx, args.title, args.k, args.movie_id)
    print(f"Movies similar to {match}:")
    if not found:
        print("  none: this movie has no content metadata shared with other movies")
    for row in found:
        print(
            f"  {row[C.RANK]:>3}. {row[C.NEIGHBOR_TITLE]}  "
            f"(id {row[C.NEIGHBOR_ID]}, similarity {row[C.SIMILARITY]:.3f})"
        )
    return 0
