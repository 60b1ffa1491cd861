"""Where the tests find the repository, the shipped test profile and the MovieLens zips."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
TEST_PROFILE = str(REPO / "recsys" / "conf" / "test.yaml")


def movielens_zip(name: str) -> Path:
    """Path of a MovieLens archive in ../shared/data, or skip the test with the reason."""
    path = SHARED_DATA / f"{name}.zip"
    if not path.is_file():
        pytest.skip(
            f"{path} not found: integration tests need the MovieLens mirror in ../shared/data"
        )
    return path
