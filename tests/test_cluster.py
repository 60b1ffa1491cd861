"""The whole pipeline through ``spark-submit`` on a real Spark standalone cluster on 127.0.0.1,
shipped as docs/cluster.md tells cluster users, and a worker lost while ``train-als`` runs.

A master and two one-core workers are started with pyspark's own ``spark-class``; the tests wait
for them by reading the master's log (no sleeps). The code reaches the driver and the executors
only as ``--py-files recsys.zip``, with Delta's jars from ``--jars``: their Python is an
interpreter that has the libraries but not recsys (checked). The cluster's recommendations must
equal a ``--master local[2]`` run of the same command, and after one worker is killed (SIGKILL,
its executor with it) during ``train-als`` the job must finish with the same top-10 lists.
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
from dataclasses import dataclass
from pathlib import Path

import pytest
from deltalake import DeltaTable

from tests._paths import REPO

pytestmark = [pytest.mark.cluster, pytest.mark.fault]
# The whole-pipeline test below takes 8 min here (480 s): it is marked `soak` and left out of
# the default run (CI's 30 minutes); `python -m pytest -m soak` runs it.


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spark_bin(name: str) -> str:
    import pyspark

    return str(Path(pyspark.__file__).parent / "bin" / name)


def _env(tmp: Path, python: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "SPARK_LOCAL_IP": "127.0.0.1",
            "SPARK_LOG_DIR": str(tmp / "logs"),
            "SPARK_WORKER_DIR": str(tmp / "work"),
            "PYSPARK_PYTHON": python,
            "PYSPARK_DRIVER_PYTHON": python,
            "OPENBLAS_NUM_THREADS": "1",
        }
    )
    env.pop("PYTHONPATH", None)  # the code travels only as --py-files
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


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory) -> str:
    """An interpreter with this environment's libraries but not recsys, like a cluster node's."""
    env_dir = tmp_path_factory.mktemp("bare") / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    (site,) = (env_dir / "lib").glob("python3*/site-packages")
    # plain path lines: the libraries' folder is on sys.path, but its .pth files (recsys's
    # editable install among them) are not processed
    libs = [p for p in sys.path if p.endswith("site-packages") and "bare" not in p]
    (site / "libraries.pth").write_text("\n".join(libs) + "\n")
    python = str(env_dir / "bin" / "python")
    probe = subprocess.run(
        [python, "-c", "import numpy, pandas, deltalake, pyspark, yaml; import recsys"],
        capture_output=True,
        text=True,
        cwd=env_dir,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    assert "No module named 'recsys'" in probe.stderr, probe.stderr
    return python


@pytest.fixture(scope="module")
def shipped(tmp_path_factory) -> dict[str, str]:
    """The package zipped as docs/cluster.md says, and Delta's jars as `recsys jars` prints."""
    from recsys.jvm_packages import fetch

    folder = tmp_path_factory.mktemp("ship")
    zipped = shutil.make_archive(str(folder / "recsys"), "zip", REPO, "recsys")
    return {"py_files": zipped, "jars": ",".join(str(p) for p in fetch())}


@pytest.fixture(scope="module")
def standalone_cluster(tmp_path_factory) -> Iterator[Cluster]:
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Java 17 is needed to start a Spark standalone cluster")
    tmp = tmp_path_factory.mktemp("cluster")
    env = _env(tmp, sys.executable)
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
            start_new_session=True,  # its own process group: a kill takes its executors too
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
        workers = [
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
            for _ in range(2)
        ]
        master.wait_for("Registering worker", 2, timeout=120)
        yield Cluster(url, tmp, workers, master)
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


@dataclass
class Cluster:
    url: str
    tmp: Path
    workers: list[subprocess.Popen[str]]
    master: _LogWatcher


SETTINGS = ["--profile", "cluster", "--set", "spark.shuffle_partitions=4"]
"""The cluster profile, with a shuffle sized to two one-core workers (200 partitions made a
2.5k-rating ingest take 221 s instead of 86 s, see the issue 13 note)."""


def submit(
    master: str, script: str, args: list[str], python: str, shipped: dict[str, str], cwd: Path
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            _spark_bin("spark-submit"),
            "--master",
            master,
            "--conf",
            "spark.executor.memory=1g",
            "--conf",
            "spark.cores.max=2",
            "--jars",
            shipped["jars"],
            "--py-files",
            shipped["py_files"],
            str(REPO / "jobs" / script),
            *SETTINGS,
            *args,
        ],
        env={**_env(cwd, python), "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=cwd,
    )


def finish(proc: subprocess.Popen[str], watcher: _LogWatcher | None = None) -> str:
    out, _ = proc.communicate(timeout=900)
    text = "".join(watcher.seen if watcher else []) + (out or "")
    assert proc.returncode == 0, text[-6000:]
    return text


def top10(lake_root: Path) -> dict[int, set[int]]:
    table = DeltaTable(str(lake_root / "recommendations")).to_pyarrow_table()
    lists: dict[int, set[int]] = {}
    for user, movie, rank in zip(
        *(table.column(c).to_pylist() for c in ("user_id", "movie_id", "rank")), strict=True
    ):
        if rank <= 10:
            lists.setdefault(user, set()).add(movie)
    return lists


def test_spark_submit_ingest_with_the_code_only_in_py_files(
    standalone_cluster, bare_python, shipped, tmp_path
):
    """The shipping path in CI's budget: ingest through spark-submit on the cluster, recsys
    only in --py-files, Delta's jars from --jars, written by delta-spark."""
    lake = tmp_path / "lake"
    finish(
        submit(
            standalone_cluster.url, "ingest.py", ["--size", "tiny", "--lake-root", str(lake)],
            bare_python, shipped, tmp_path,
        )
    )  # fmt: skip
    assert list((standalone_cluster.tmp / "work").glob("app-*")), "executors ran on workers"
    ratings = DeltaTable(str(lake / "ratings"))
    assert ratings.to_pyarrow_table().num_rows > 1000
    assert ratings.history(1)[0]["engineInfo"].startswith("Apache-Spark")


@pytest.mark.soak
def test_the_pipeline_on_a_cluster_equals_a_local_run_and_survives_a_lost_worker(
    standalone_cluster, bare_python, shipped, tmp_path
):
    cluster = standalone_cluster
    data = ["--size", "tiny", "--stages", "ingest,als,blend"]
    on_cluster, local = tmp_path / "cluster-lake", tmp_path / "local-lake"
    out = finish(
        submit(
            cluster.url, "pipeline.py", [*data, "--lake-root", str(on_cluster)],
            bare_python, shipped, tmp_path,
        )
    )  # fmt: skip
    assert list((cluster.tmp / "work").glob("app-*")), "executors ran on the workers"
    finish(
        submit(
            "local[2]", "pipeline.py", [*data, "--lake-root", str(local)],
            bare_python, shipped, tmp_path,
        )
    )  # fmt: skip
    cluster_lists, local_lists = top10(on_cluster), top10(local)
    assert len(cluster_lists) > 50 and all(len(v) == 10 for v in cluster_lists.values())
    assert cluster_lists == local_lists, "the cluster's recommendations equal the local run's"
    # written by delta-spark: the --jars reached the driver and recsys set Delta's SQL settings
    assert (
        DeltaTable(str(on_cluster / "recommendations"))
        .history(1)[0]["engineInfo"]
        .startswith("Apache-Spark")
    ), out[-3000:]

    # a worker (and its executor) killed while train-als runs; the job finishes on the other
    disturbed = tmp_path / "disturbed-lake"
    shutil.copytree(on_cluster, disturbed)
    before = DeltaTable(str(disturbed / "als_candidates")).version()
    proc = submit(
        cluster.url, "train_als.py", ["--lake-root", str(disturbed)],
        bare_python, shipped, tmp_path,
    )  # fmt: skip
    watcher = _LogWatcher(proc)
    watcher.wait_for("train-als: BLAS", 1, timeout=600)
    os.killpg(cluster.workers[0].pid, signal.SIGKILL)
    cluster.workers[0].wait(timeout=60)
    # the master notices the worker (and the executor on it) gone, while train-als runs
    cluster.master.wait_for("Removing worker", 1, timeout=300)
    assert proc.poll() is None, "train-als was still running when its worker was lost"
    finish(proc, watcher)
    assert DeltaTable(str(disturbed / "als_candidates")).version() == before + 1
    finish(
        submit(
            cluster.url, "recommend.py", ["--lake-root", str(disturbed)],
            bare_python, shipped, tmp_path,
        )
    )  # fmt: skip
    assert top10(disturbed) == cluster_lists, "same top-10 lists as the undisturbed run"
