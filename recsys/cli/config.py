"""``recsys config``: print every setting with its effective value (defaults < profile <
``--set``) as YAML, ready to copy into a profile."""

from __future__ import annotations

import argparse

import yaml

from recsys.config import JOB_SECTIONS
from recsys.jobs import JobContext
from recsys.jobs.configs import effective


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sections = ("spark", "lake", "data", *JOB_SECTIONS)
    parser.add_argument(
        "sections", nargs="*", choices=[[], *sections], metavar="SECTION",
        help=f"only these sections (of {', '.join(sections)})",
    )  # fmt: skip


def run(args: argparse.Namespace, ctx: JobContext) -> int:
    values = effective(ctx.settings)  # no Spark session: settings only
    chosen = {k: v for k, v in values.items() if not args.sections or k in args.sections}
    print(f"# profile: {ctx.settings.profile}")
    print(yaml.safe_dump(chosen, sort_keys=False, width=100).rstrip())
    return 0
