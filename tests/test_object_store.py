"""The lake in an S3 bucket: ingest -> ALS -> content -> recommend with ``--lake-root s3a://...``
on each engine, against a local S3-compatible server (moto's server mode on 127.0.0.1), then the
tables read back with ``deltalake`` through the same endpoint.

Each run is a separate process: Spark's S3 connector (``hadoop-aws`` and the AWS SDK bundle, from
``spark.packages``) must be on the JVM's classpath when it starts.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from deltalake import DeltaTable

from tests._paths import TEST_PROFILE

pytestmark = [
    pytest.mark.fault,
    pytest.mark.skip(
        reason="not working yet: the delta-spark run stalls in S3A listObjects retries against "
        "moto (issue 14 note); needs moto[server] and boto3, not in the test extras yet"
    ),
]

KEY, SECRET, REGION = "test-key", "test-secret", "us-east-1"
S3A_PACKAGES = (
    "[org.apache.hadoop:hadoop-aws:3.5.0, software.amazon.awssdk:bundle:2.35.4,"
    " software.amazon.s3.analyticsaccelerator:analyticsaccelerator-s3:1.3.1]"
)
"""hadoop-aws at pyspark's Hadoop version (3.5.0) and the two jars its POM needs at runtime."""


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert server.stdout is not None
        for line in server.stdout:  # waits for the server's own "Running on" line, no sleeps
            if "Running on" in line:
                break
        else:
            raise AssertionError("moto_server exited before serving")
        endpoint = f"http://127.0.0.1:{port}"
        import boto3

        boto3.client(
            "s3", endpoint_url=endpoint, aws_access_key_id=KEY,
            aws_secret_access_key=SECRET, region_name=REGION,
        ).create_bucket(Bucket="lake")  # fmt: skip
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=30)


def storage_options(endpoint: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_REGION": REGION,
        "AWS_ALLOW_HTTP": "true",
    }


def s3_settings(endpoint: str) -> list[str]:
    """What docs/lake.md tells a user to set for an S3-compatible store."""
    hadoop = {
        "fs.s3a.endpoint": endpoint,
        "fs.s3a.path.style.access": "true",
        "fs.s3a.connection.ssl.enabled": "false",
        "fs.s3a.access.key": KEY,
        "fs.s3a.secret.key": SECRET,
        "fs.s3a.endpoint.region": REGION,
    }
    sets = [f"spark.packages={S3A_PACKAGES}"]
    sets += [f"spark.conf.spark.hadoop.{k}='{v}'" for k, v in hadoop.items()]
    sets += [f"lake.storage_options.{k}='{v}'" for k, v in storage_options(endpoint).items()]
    return [arg for s in sets for arg in ("--set", s)]


@pytest.mark.parametrize("engine", ["delta-spark", "delta-rs"])
def test_the_pipeline_writes_its_lake_into_a_bucket(s3_endpoint, engine, tmp_path):
    root = f"s3a://lake/{engine}"
    command = [
        sys.executable, "-m", "recsys.cli", "pipeline", "--size", "tiny",
        "--stages", "ingest,als,content,blend", "--profile", TEST_PROFILE,
        "--lake-root", root, "--set", f"lake.engine={engine}", *s3_settings(s3_endpoint),
    ]  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=900, cwd=tmp_path,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    options = storage_options(s3_endpoint)
    recs = DeltaTable(f"{root}/recommendations", storage_options=options)
    table = recs.to_pyarrow_table()
    assert table.num_rows > 100 and set(table.column("rank").to_pylist()) >= {1, 10}
    ratings = DeltaTable(f"{root}/ratings", storage_options=options)
    assert ratings.to_pyarrow_table().num_rows > 1000
    commit = recs.history(1)[0]
    assert json.loads(commit["userMetadata"])["job"] == "recommend"
    wrote = "Apache-Spark" if engine == "delta-spark" else "delta-rs"
    assert commit.get("engineInfo", "").startswith(wrote), commit
