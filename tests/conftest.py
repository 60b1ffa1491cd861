"""One local SparkSession for the whole test run, built from the shipped test profile."""

from __future__ import annotations

import contextlib
import io
import json
from types import SimpleNamespace

import pytest

from tests._paths import TEST_PROFILE

QUICK_START = ["pipeline"]
"""The README's first command (`recsys pipeline`: the built-in default data); the session's
pipeline lake is built with it."""


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    from recsys.config import load_settings
    from recsys.session import build_spark

    settings = load_settings(TEST_PROFILE)
    session = build_spark(settings.spark)
    session.sparkContext.setCheckpointDir(str(tmp_path_factory.mktemp("checkpoints")))
    yield session
    session.stop()


@pytest.fixture
def lake(spark, tmp_path):
    """An empty lake of its own for each test."""
    from recsys.lakehouse import Lake

    return Lake(spark, str(tmp_path / "lake"), engine="delta-rs")


@pytest.fixture(scope="session")
def make_ctx(spark):
    """``make_ctx(root)``: a JobContext over ``root`` with the test profile, on the session's
    Spark (a JobContext never stops a session it did not start)."""
    from recsys.jobs import JobContext

    def make(root: str) -> JobContext:
        context = JobContext(TEST_PROFILE, [f"lake.root={root}", "lake.engine=delta-rs"])
        assert context.spark is spark
        return context

    return make


@pytest.fixture
def ctx(make_ctx, lake):
    """A JobContext over the test's own lake."""
    return make_ctx(lake.root)


@pytest.fixture(scope="session")
def pipeline_lake(spark, tmp_path_factory):
    """One run of the README's quick-start command for the whole session (test_pipeline,
    test_notebook and test_readme read it): the lake, what the command printed, and the run ids
    the ``pipeline`` row of ``runs`` records for it and for each stage."""
    from recsys.cli import main
    from recsys.lakehouse import Lake
    from recsys.runs import T_RUNS

    root = str(tmp_path_factory.mktemp("pipeline") / "lake")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main([*QUICK_START, "--profile", TEST_PROFILE, "--lake-root", root])
    assert code == 0, printed.getvalue()[-3000:]
    lake = Lake(spark, root)
    row = lake.read(T_RUNS).where("job = 'pipeline'").first()
    return SimpleNamespace(
        lake=lake,
        root=root,
        output=printed.getvalue(),
        run_id=row["run_id"],
        stage_run_ids=json.loads(row["params"])["stage_run_ids"],
    )
