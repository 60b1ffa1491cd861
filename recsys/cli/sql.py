"""``recsys sql "SELECT ..."``: one read-only statement over the lake's tables, each registered
as a view named like the table (``ratings``, ``recommendations``, ``runs``...)."""

from __future__ import annotations

import argparse

from recsys.catalog import check_read_only, read_only_sql
from recsys.display import show


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "query",
        help="one SELECT / WITH / SHOW / DESCRIBE / EXPLAIN statement, e.g. "
        '"SELECT * FROM recommendations WHERE user_id = 1 ORDER BY rank"',
    )
    parser.add_argument(
        "--limit", type=int, default=50, help="print at most this many rows (default 50)"
    )
    parser.add_argument(
        "--max-width", type=int, default=60, help="cut cells longer than this (default 60)"
    )


def run(args: argparse.Namespace, ctx) -> int:
    statement = check_read_only(args.query)  # refuse before starting Spark
    df = read_only_sql(ctx.lake, statement)
    if df.columns == ["plan"]:  # EXPLAIN: one multi-line string, printed as is
        print(df.first()["plan"])
        return 0
    print(show(df, limit=max(args.limit, 0), max_width=args.max_width))
    return 0
