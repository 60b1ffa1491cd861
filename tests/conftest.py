"""One local SparkSession for the whole test run, built from conf/test.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    from recsys.config import load_settings
    from recsys.session import build_spark

    settings = load_settings(str(REPO / "conf" / "test.yaml"))
    session = build_spark(settings.spark)
    session.sparkContext.setCheckpointDir(str(tmp_path_factory.mktemp("checkpoints")))
    yield session
    session.stop()


@pytest.fixture
def lake(spark, tmp_path):
    """An empty lake of its own for each test."""
    from recsys.lakehouse import Lake

    return Lake(spark, str(tmp_path / "lake"), engine="delta-rs")


def movielens_zip(name: str) -> Path:
    """Path of a MovieLens archive in ../shared/data, or skip the test with the reason."""
    path = SHARED_DATA / f"{name}.zip"
    if not path.is_file():
        pytest.skip(
            f"{path} not found: integration tests need the MovieLens mirror in ../shared/data"
        )
    return path
