"""``recsys jars``: fetch Delta's JVM jars (once) and print them as ``spark-submit --jars``
takes them: ``spark-submit --jars "$(recsys jars)" ...``."""

from __future__ import annotations

import argparse

from recsys.jobs import JobContext
from recsys.jvm_packages import fetch


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options: the versions follow the installed delta-spark and pyspark wheels."""


def run(args: argparse.Namespace, ctx: JobContext) -> int:
    print(",".join(str(p) for p in fetch()))
    return 0
