"""``recsys ingest``: load a source into the lake's ratings, movies, tags, users and
ingest_rejects tables, then print the tables' versions and sizes and the rejects per reason.

Examples::

    recsys ingest                                     # synthetic, default size
    recsys ingest --size 10m                          # synthetic, ~10M ratings
    recsys ingest --source ml-latest-small            # GroupLens download (cached)
    recsys ingest --source ml-100k --mirror /data/movielens
    recsys ingest --source ~/Downloads/ml-25m.zip     # a zip or an extracted folder
    recsys ingest --ratings r.csv --map user=uid,item=iid,rating=stars,timestamp=ts
    recsys ingest --ratings r.csv --map ... --movies m.csv --tags t.csv --tags-map user=u,...
    recsys ingest --feedback                          # ratings posted to recsys serve
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any

from recsys.config import Settings
from recsys.errors import InputError
from recsys.ingest import GenericSource, RatingScale, parse_mapping
from recsys.ingest.generic import MOVIES_ROLES, TAGS_ROLES
from recsys.jobs import JobContext
from recsys.jobs import ingest as job
from recsys.jobs.configs import job_config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source",
        help="synthetic (default), ml-100k, ml-1m, ml-latest-small, ml-25m, ml-32m, "
        "or a path to a MovieLens zip / extracted folder",
    )
    parser.add_argument(
        "--mirror",
        help="folder holding <dataset>.zip copies used instead of downloading "
        "(default: data.mirror setting or $RECSYS_MOVIELENS_MIRROR)",
    )
    g = parser.add_argument_group("any ratings file (CSV or Parquet)")
    g.add_argument("--ratings", metavar="FILE", help="ratings file; needs --map")
    g.add_argument(
        "--map",
        metavar="ROLE=COL,...",
        help="columns of --ratings: user=COL,item=COL,rating=COL[,timestamp=COL]; COL is a "
        "header name, or a 1-based position for files without header",
    )
    g.add_argument(
        "--movies",
        metavar="FILE|N",
        help="with --ratings: a movies file (default columns movieId,title,genres); "
        "with --source synthetic: the number of movies",
    )
    g.add_argument(
        "--movies-map",
        metavar="ROLE=COL,...",
        help="columns of --movies: item=COL,title=COL[,genres=COL][,year=COL]",
    )
    g.add_argument(
        "--tags",
        metavar="FILE",
        help="with --ratings: a tags file (default columns userId,movieId,tag,timestamp)",
    )
    g.add_argument(
        "--tags-map",
        metavar="ROLE=COL,...",
        help="columns of --tags: user=COL,item=COL,tag=COL[,timestamp=COL]",
    )
    g.add_argument("--sep", default=",", help="CSV field separator (default ',')")
    g.add_argument("--no-header", action="store_true", help="the CSV files have no header")
    g.add_argument(
        "--rating-scale",
        default="0.5:5:0.5",
        metavar="LOW:HIGH[:STEP]",
        help="valid ratings of --ratings (default 0.5:5:0.5)",
    )
    parser.add_argument(
        "--feedback",
        action="store_true",
        help="only upsert the ratings posted to `recsys serve` (the feedback table) into "
        "ratings; every source ingest does it too",
    )
    s = parser.add_argument_group("synthetic data")
    s.add_argument("--size", help="preset: tiny, small, default, 1m, 10m, 25m")
    s.add_argument("--users", type=int, help="number of users")
    s.add_argument("--ratings-per-user", type=int, help="mean ratings per user")
    s.add_argument("--seed", type=int, help="random seed (default 42)")


def build_source(args: argparse.Namespace) -> object:
    """The ``source`` argument of :func:`recsys.ingest.ingest` the flags describe."""
    if args.ratings:
        if not args.map:
            raise InputError("--ratings needs --map user=COL,item=COL,rating=COL[,timestamp=COL]")
        try:
            scale = RatingScale.parse(args.rating_scale)
        except ValueError as exc:
            raise InputError(str(exc)) from None
        extra = {}
        if args.movies_map:
            extra["movies_mapping"] = parse_mapping(args.movies_map, MOVIES_ROLES, "--movies-map")
        if args.tags_map:
            extra["tags_mapping"] = parse_mapping(args.tags_map, TAGS_ROLES, "--tags-map")
        return GenericSource(
            ratings=args.ratings,
            mapping=parse_mapping(args.map),
            movies=args.movies,
            tags=args.tags,
            sep=args.sep.encode().decode("unicode_escape"),  # lets users type --sep '\t'
            header=not args.no_header,
            scale=scale,
            **extra,
        )
    if args.tags or args.tags_map or args.movies_map:
        raise InputError("--tags, --tags-map and --movies-map need --ratings FILE --map ...")
    sized = any(v is not None for v in (args.size, args.users, args.ratings_per_user, args.seed))
    if args.source not in (None, "synthetic"):
        if sized or args.movies is not None:
            raise InputError(
                "--size/--users/--movies/--ratings-per-user/--seed need "
                "--source synthetic (or --movies FILE with --ratings)"
            )
        return args.source
    from recsys.ingest.synthetic import SyntheticConfig, spec_for

    spec = spec_for(args.size) if args.size else SyntheticConfig()
    counts = {"users": args.users, "ratings_per_user": args.ratings_per_user, "seed": args.seed}
    if args.movies is not None:
        if not args.movies.isdigit():
            raise InputError(f"--movies {args.movies!r}: with synthetic data it is a count")
        counts["movies"] = int(args.movies)
    return replace(spec, **{k: v for k, v in counts.items() if v is not None})


_SOURCE_FLAGS = ("source", "ratings", "movies", "size", "users", "ratings_per_user", "seed")


def flags(args: argparse.Namespace) -> dict[str, Any]:
    """The flags given, as ``ingest`` section keys (a source described by flags replaces the
    profile's ``ingest.source``)."""
    given: dict[str, Any] = {}
    if any(getattr(args, n, None) is not None for n in _SOURCE_FLAGS):
        given["source"] = build_source(args)
    else:
        build_source(args)  # flags that need a source are refused here
    if args.mirror is not None:
        given["mirror"] = args.mirror
    return given


def config(args: argparse.Namespace, settings: Settings) -> job.IngestConfig:
    """The job's config; argument errors surface here, before Spark starts."""
    profiled = settings.jobs.get("ingest", {}).get("source", "synthetic")
    synthetic_only = ("size", "users", "ratings_per_user", "seed", "movies")
    if args.source is None and not args.ratings and profiled != "synthetic":
        given = [n for n in synthetic_only if getattr(args, n, None) is not None]
        if given:
            raise InputError(
                f"--{given[0].replace('_', '-')} describes synthetic data but the profile's "
                f"ingest.source is {profiled!r}: add --source synthetic"
            )
    return job_config(settings, "ingest", flags(args))


def run(args: argparse.Namespace, ctx: JobContext) -> int:
    if args.feedback:
        if any(getattr(args, n, None) is not None for n in _SOURCE_FLAGS):
            raise InputError("--feedback ingests the feedback table only: drop the source flags")
        print(job.run_feedback(ctx).summary)
        return 0
    print(job.run(ctx, config(args, ctx.settings)).summary)
    return 0
