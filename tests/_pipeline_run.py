"""One small pipeline run shared by test_pipeline.py and test_notebook.py (it is the slow part of
both): the first caller runs it, later callers get the same lake."""

from __future__ import annotations

import argparse
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parents[1]
N = 10
# The tiny synthetic preset: 100 users, 200 movies, ~3k ratings.
INGEST_ARGV = ["--size", "tiny"]

_runs: dict[str, SimpleNamespace] = {}


def job_context(spark, root: str) -> SimpleNamespace:
    """What the jobs need from a JobContext, on the test session (never closed here)."""
    from recsys.config import load_settings
    from recsys.lakehouse import Lake

    settings = load_settings(str(REPO / "conf" / "test.yaml"), [f"lake.root={root}"])
    return SimpleNamespace(settings=settings, spark=spark, lake=Lake(spark, root), lake_root=root)


def shared_pipeline_run(spark, tmp_path_factory) -> SimpleNamespace:
    """ctx (settings, spark, lake) plus ``result`` (the PipelineResult) of one run."""
    if "run" not in _runs:
        from recsys.pipeline import run_pipeline, stage_args

        root = str(tmp_path_factory.mktemp("pipeline") / "lake")
        ctx = job_context(spark, root)
        args: dict[str, argparse.Namespace | list[str]] = {
            "ingest": stage_args("ingest", INGEST_ARGV),
            "blend": ["--n", str(N)],
        }
        ctx.result = run_pipeline(ctx, args)
        _runs["run"] = ctx
    return _runs["run"]
