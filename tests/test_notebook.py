"""notebooks/analyst_tour.ipynb runs top to bottom (nbclient) on a freshly built lake."""

from __future__ import annotations

import json
import sys

import nbformat
import pytest
from nbclient import NotebookClient

from tests._paths import REPO, TEST_PROFILE

NOTEBOOK = REPO / "notebooks" / "analyst_tour.ipynb"


def test_notebook_is_saved_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code
    assert [(c.outputs, c.execution_count) for c in code] == [([], None)] * len(code)


@pytest.fixture
def kernel_name(tmp_path, monkeypatch):
    """A kernelspec that starts THIS interpreter (the venv's), whatever else is installed."""
    spec_dir = tmp_path / "jupyter" / "kernels" / "recsys-test"
    spec_dir.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec = {"argv": argv, "display_name": "recsys test", "language": "python"}
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    return "recsys-test"


def test_notebook_runs_top_to_bottom(pipeline_lake, kernel_name, monkeypatch):
    run = pipeline_lake
    monkeypatch.setenv("RECSYS_LAKE_ROOT", run.lake.root)
    monkeypatch.setenv("RECSYS_PROFILE", TEST_PROFILE)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        nb, kernel_name=kernel_name, timeout=600, resources={"metadata": {"path": str(REPO)}}
    )
    client.execute()  # raises CellExecutionError naming the failing cell
    text = "\n".join(
        o.get("text", "") + json.dumps(o.get("data", {}).get("text/plain", ""))
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
    )
    assert f"lake root: {run.lake.root}" in text
    assert "because you rated" in text
    assert "ndcg" in text
