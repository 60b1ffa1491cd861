"""`recsys vacuum`: delete unreferenced files older than the retention (orphans of killed jobs
included), table by table."""

from __future__ import annotations

import argparse

from recsys.jobs import JobContext
from recsys.jobs import vacuum as job


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "tables", nargs="*", metavar="TABLE", help="tables to vacuum (default: every table)"
    )
    parser.add_argument(
        "--retention-hours",
        type=float,
        help="delete only files at least this old (default lake.vacuum_retention_hours, 168)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="allow a retention below 168 h; only when no job writes to the lake",
    )


def config(args: argparse.Namespace) -> job.VacuumConfig:
    return job.VacuumConfig(tuple(args.tables), args.retention_hours, args.force)


def run(args: argparse.Namespace, ctx: JobContext) -> int:
    print(job.run(ctx, config(args)).summary)
    return 0
