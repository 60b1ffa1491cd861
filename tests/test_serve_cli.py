"""``recsys serve`` as a user runs it: a process on a copy of the quick-start lake, every curl
example of docs/serving.md against it, a clean exit on Ctrl-C; then ``recsys ingest
--feedback`` moves the posted ratings into ``ratings``."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys

import pytest

from recsys import columns as C
from recsys.cli import main
from recsys.lakehouse import Lake
from tests._paths import REPO, TEST_PROFILE

DOC = REPO / "docs" / "serving.md"


def curl_examples() -> list[str]:
    block = DOC.read_text().split("## Endpoints", 1)[1].split("```bash\n", 1)[1]
    return [line for line in block.split("```", 1)[0].splitlines() if line.startswith("curl ")]


@pytest.fixture
def lake_copy(pipeline_lake, tmp_path) -> str:
    root = tmp_path / "lake"
    shutil.copytree(pipeline_lake.root, root, ignore=shutil.ignore_patterns("_eval", "_models"))
    return str(root)


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl (Debian's curl package)")
def test_recsys_serve_answers_the_documented_requests_and_stops_on_ctrl_c(
    lake_copy, spark, tmp_path
):
    server = subprocess.Popen(
        [sys.executable, "-m", "recsys.cli", "serve", "--profile", TEST_PROFILE,
         "--lake-root", lake_copy, "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        assert server.stdout is not None
        first = server.stdout.readline()  # printed once the socket is bound
        found = re.search(r"at http://127\.0\.0\.1:(\d+)/ ", first)
        assert found, first + server.stdout.read()
        port = found.group(1)
        examples = curl_examples()
        assert len(examples) >= 9
        for line in examples:
            argv = shlex.split(line.replace("127.0.0.1:8000", f"127.0.0.1:{port}"))
            done = subprocess.run([*argv, "--fail-with-body"], capture_output=True, text=True,
                                  timeout=60)  # fmt: skip
            assert done.returncode == 0, (line, done.stdout, done.stderr)
            if "/metrics" in line:
                assert "recsys_http_requests_total" in done.stdout
            else:
                json.loads(done.stdout)
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=60) == 0
        rest = server.stdout.read()
        assert "Traceback" not in rest and "recsys serve: stopped" in rest
    finally:
        if server.poll() is None:
            server.kill()

    # the posted ratings (docs: user 424242 rated movies 1 and 2) reach ratings at the next ingest
    assert main(["ingest", "--feedback", "--profile", TEST_PROFILE, "--lake-root", lake_copy]) == 0
    ratings = Lake(spark, lake_copy).read(C.T_RATINGS).where(f"{C.USER_ID} = 424242")
    assert sorted((r[C.MOVIE_ID], r[C.RATING]) for r in ratings.collect()) == [(1, 5.0), (2, 4.0)]


@pytest.mark.skipif(shutil.which("wrk") is None, reason="needs wrk (apt-get install wrk)")
def test_the_serving_benchmark_runs_to_its_end_on_the_quick_start_lake(lake_copy):
    """The README's ``benchmarks/serve.py`` command, shortened: its table has every column and
    no request failed (the real numbers are measured by hand: benchmarks/RESULTS.md)."""
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "serve.py"), "--lake", lake_copy,
         "--seconds", "2", "--posts", "20", "--connections", "4"],
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    head, _, row = done.stdout.strip().splitlines()[-3:]
    values = dict(zip(head.strip("|").split("|"), row.strip("|").split("|"), strict=True))
    values = {k.strip(): v.strip() for k, v in values.items()}
    assert float(values["get_rps"]) > 0 and float(values["post_seq_p99_ms"]) > 0
    assert values["get_errors"] == "0" and values["post_errors"] == "0"
    assert float(values["rss_mib"]) > 50
