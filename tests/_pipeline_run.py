"""One small pipeline run shared by test_pipeline.py and test_notebook.py (it is the slow part of
both): the first caller runs it, later callers get the same lake."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parents[1]
N = 10
# The tiny synthetic preset: 150 users, 300 movies, ~3k ratings.
SIZE = "tiny"

_runs: dict[str, SimpleNamespace] = {}


def job_context(spark, root: str):
    """A JobContext over ``root`` on the test session (it reuses the running session and never
    stops it)."""
    from recsys.jobs import JobContext

    ctx = JobContext(str(REPO / "conf" / "test.yaml"), [f"lake.root={root}"])
    assert ctx.spark is spark
    return ctx


def shared_pipeline_run(spark, tmp_path_factory) -> SimpleNamespace:
    """ctx (settings, spark, lake) plus ``result`` (the PipelineResult) of one run."""
    if "run" not in _runs:
        from recsys.blend import RecommendConfig
        from recsys.ingest.synthetic import spec_for
        from recsys.jobs.ingest import IngestConfig
        from recsys.pipeline import PipelineConfig, run_pipeline

        root = str(tmp_path_factory.mktemp("pipeline") / "lake")
        ctx = job_context(spark, root)
        config = PipelineConfig(
            ingest=IngestConfig(source=spec_for(SIZE)), blend=RecommendConfig(n=N)
        )
        ctx.result = run_pipeline(ctx, config)
        _runs["run"] = ctx
    return _runs["run"]
