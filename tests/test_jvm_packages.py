"""Delta's jars: fetched from a Maven repository once, checked, cached; a clear error offline."""

from __future__ import annotations

import functools
import hashlib
import http.server
import socket
import threading
from pathlib import Path

import pytest

from recsys.config import SparkSettings
from recsys.jvm_packages import Artifact, JarFetchError, delta_artifacts, fetch
from recsys.session import spark_conf

JAR = Artifact("io.example", "thing_2.13", "1.0")


@pytest.fixture
def maven(tmp_path):
    """A Maven repository on 127.0.0.1 serving one jar and its SHA-1."""
    root = tmp_path / "repo"
    folder = root / "io/example/thing_2.13/1.0"
    folder.mkdir(parents=True)
    data = b"PK\x03\x04 not really a jar"
    (folder / JAR.filename).write_bytes(data)
    (folder / f"{JAR.filename}.sha1").write_text(hashlib.sha1(data).hexdigest() + "\n")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", folder
    server.shutdown()


def test_the_coordinates_match_the_installed_wheels():
    spark_jar, storage = delta_artifacts()
    from importlib.metadata import version

    assert spark_jar.coordinate == f"io.delta:delta-spark_4.2_2.13:{version('delta-spark')}"
    assert storage.path == f"io/delta/delta-storage/{storage.version}/{storage.filename}"


def test_fetch_downloads_once_then_uses_the_cache(maven, tmp_path):
    url, folder = maven
    dest = tmp_path / "jars"
    (path,) = fetch((JAR,), dest, url)
    assert path == dest / JAR.filename and path.read_bytes().startswith(b"PK")
    (folder / JAR.filename).unlink()  # the repository no longer has it: the cache answers
    assert fetch((JAR,), dest, url) == [path]
    assert not list(dest.glob("*.part")), "no temporary file left behind"


def test_a_corrupt_download_is_refused_and_not_kept(maven, tmp_path):
    url, folder = maven
    (folder / f"{JAR.filename}.sha1").write_text("0" * 40)
    with pytest.raises(JarFetchError, match=r"SHA-1 .* does not match"):
        fetch((JAR,), tmp_path / "jars", url)
    assert not (tmp_path / "jars").exists() or not list((tmp_path / "jars").iterdir())


def test_an_unreachable_repository_gives_one_line_naming_the_fixes(tmp_path):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(JarFetchError) as info:
        fetch((JAR,), tmp_path / "jars", f"http://127.0.0.1:{port}/maven2")
    message = str(info.value)
    assert "\n" not in message
    assert "io.example:thing_2.13:1.0" in message
    assert "RECSYS_MAVEN_REPO" in message and "spark.delta_jars=false" in message


def test_jars_come_with_deltas_sql_settings_and_local_sizing(tmp_path):
    jar = str(tmp_path / "a.jar")
    conf = spark_conf(SparkSettings(master="local[2]", shuffle_partitions=3), [jar])
    assert conf["spark.jars"] == jar
    assert conf["spark.sql.extensions"] == "io.delta.sql.DeltaSparkSessionExtension"
    assert conf["spark.databricks.delta.snapshotPartitions"] == "3"
    without = spark_conf(SparkSettings(master="local[2]"))
    assert "spark.jars" not in without and "spark.sql.extensions" not in without
    cluster = spark_conf(SparkSettings(master=None), [jar])
    assert "spark.databricks.delta.snapshotPartitions" not in cluster


def test_the_test_session_has_deltas_classes(spark):
    from recsys.lakehouse import delta_spark_available

    assert delta_spark_available(spark)
    jars = spark.conf.get("spark.jars")
    assert all(Path(p).name in jars for p in (a.filename for a in delta_artifacts()))
