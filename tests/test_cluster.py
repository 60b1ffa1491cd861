"""`spark-submit jobs/ingest.py` against a real Spark standalone cluster on 127.0.0.1.

A master and two workers are started with pyspark's own ``spark-class``; the test waits for
the workers by reading the master's log (no sleeps), submits the ingest job with the
``cluster`` profile (whose master comes from spark-submit), checks the table with delta-rs,
and stops the three processes by their ids.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from deltalake import DeltaTable

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.cluster


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spark_bin(name: str) -> str:
    import pyspark

    return str(Path(pyspark.__file__).parent / "bin" / name)


def _env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "SPARK_LOCAL_IP": "127.0.0.1",
            "SPARK_LOG_DIR": str(tmp / "logs"),
            "SPARK_WORKER_DIR": str(tmp / "work"),
            "PYSPARK_PYTHON": sys.executable,
            "PYSPARK_DRIVER_PYTHON": sys.executable,
        }
    )
    env.pop("SPARK_HOME", None)
    return env


class _LogWatcher:
    """Reads a process's output on a thread so the test can wait for a line with a timeout."""

    def __init__(self, proc: subprocess.Popen[str]):
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, args=(proc,), daemon=True).start()

    def _pump(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.lines.put(line)

    def wait_for(self, needle: str, times: int, timeout: float) -> None:
        found = 0
        while found < times:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(
                    f"cluster did not log {needle!r} x{times} within {timeout}s; last lines:\n"
                    + "".join(self.seen[-20:])
                ) from None
            self.seen.append(line)
            found += needle in line


@pytest.fixture
def standalone_cluster(tmp_path) -> Iterator[str]:
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Java 17 is needed to start a Spark standalone cluster")
    env = _env(tmp_path)
    port, ui = _free_port(), _free_port()
    url = f"spark://127.0.0.1:{port}"
    procs: list[subprocess.Popen[str]] = []

    def start(*args: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [_spark_bin("spark-class"), *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        procs.append(proc)
        return proc

    try:
        master = _LogWatcher(
            start(
                "org.apache.spark.deploy.master.Master",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--webui-port",
                str(ui),
            )
        )
        master.wait_for("I have been elected leader", 1, timeout=120)
        for _ in range(2):
            start(
                "org.apache.spark.deploy.worker.Worker",
                url,
                "--host",
                "127.0.0.1",
                "--cores",
                "1",
                "--memory",
                "1500m",
                "--webui-port",
                "0",
            )
        master.wait_for("Registering worker", 2, timeout=120)
        yield url
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)


def test_spark_submit_ingest_on_standalone_cluster(standalone_cluster, tmp_path):
    lake_root = tmp_path / "lake"
    result = subprocess.run(
        [
            _spark_bin("spark-submit"),
            "--master",
            standalone_cluster,
            "--conf",
            "spark.executor.memory=1g",
            "--conf",
            "spark.cores.max=2",
            str(REPO / "jobs" / "ingest.py"),
            "--profile",
            "cluster",
            "--lake-root",
            str(lake_root),
            "--source",
            "synthetic",
            "--size",
            "tiny",
            # two one-core workers: the cluster profile's 200 shuffle partitions made this
            # 2.5k-rating ingest take 221 s instead of 86 s (see the issue 13 note)
            "--set",
            "spark.shuffle_partitions=4",
        ],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    apps = list((tmp_path / "work").glob("app-*"))
    assert apps, "the job must have run as an application of the cluster (executors on workers)"
    ratings = DeltaTable(str(lake_root / "ratings")).to_pyarrow_table()
    movies = DeltaTable(str(lake_root / "movies")).to_pyarrow_table()
    assert ratings.num_rows > 1000
    assert set(ratings.column("movie_id").to_pylist()) <= set(movies.column("movie_id").to_pylist())
