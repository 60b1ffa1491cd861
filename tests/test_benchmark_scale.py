"""benchmarks/scale.py: its table arithmetic, and the README's command run to its end on the
smallest synthetic preset (the real sizes are measured by hand: benchmarks/RESULTS.md)."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys

from tests._paths import REPO, TEST_PROFILE

SCRIPT = REPO / "benchmarks" / "scale.py"


def _module():
    spec = importlib.util.spec_from_file_location("scale_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _result(size: str, ratings: int, **seconds: float) -> dict:
    return {"size": size, "ratings": ratings, "seconds": seconds, "jvm_peak_mib": 100.0,
            "python_peak_mib": 50.0}  # fmt: skip


def test_ratio_and_growth_exponents():
    scale = _module()
    small = _result("a", 1000, ingest=1, als=2, content=1, blend=4, evaluate=3, reference=4)
    big = _result("b", 10000, ingest=10, als=40, content=10, blend=40, evaluate=30, reference=40)
    table = scale.report([small, big]).splitlines()
    head = [c.strip() for c in table[0].strip("|").split("|")]
    first = dict(zip(head, [c.strip() for c in table[2].strip("|").split("|")], strict=True))
    assert first["build / reference"] == "2.00x"  # (1 + 2 + 1 + 4) / 4
    growth = dict(zip(head, [c.strip() for c in table[4].strip("|").split("|")], strict=True))
    assert growth["ingest"] == "1.00"
    assert growth["als"] == f"{math.log(20) / math.log(10):.2f}"
    assert scale._exponent(1.0, 1.0, 5, 5) is None


def test_readme_command_runs_to_the_end_on_the_tiny_preset(tmp_path):
    out = tmp_path / "results.json"
    profile = TEST_PROFILE
    cmd = [sys.executable, str(SCRIPT), "--sizes", "tiny", "--profile", profile,
           "--keep", str(tmp_path / "work"), "--json", str(out)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    (result,) = json.loads(out.read_text())
    assert result["ratings"] > 1000
    for stage in ("ingest", "als", "content", "blend", "evaluate", "reference"):
        assert result["seconds"][stage] > 0, stage
    assert any(k.startswith("blend.source.") for k in result["seconds"])
    assert result["jvm_peak_mib"] > 0 and result["python_peak_mib"] > 0
    assert "| tiny |" in done.stdout and "build / reference" in done.stdout
    # the neighbourhood benchmark runs to its end on the lake the run left behind
    lake = tmp_path / "work" / "tiny" / "lake"
    cmd = [sys.executable, str(REPO / "benchmarks" / "neighbours.py"), "--lake", str(lake),
           "--profile", profile]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    for step in ("item-kNN neighbours", "user-kNN scores (top 50)", "EASE weights"):
        assert step in done.stdout, step
