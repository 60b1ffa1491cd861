"""Delta Lake's JVM jars, fetched once from a Maven repository into a local cache.

A local session needs them on its classpath before the JVM starts, so they are resolved here
(not by Spark's Ivy, which pulls Delta's transitive Hadoop, Parquet and logging jars, versions
that clash with the ones pyspark ships) and passed as ``spark.jars``. The list is explicit: the
Delta jars that match the installed ``delta-spark`` wheel, whose Maven POM needs nothing beyond
Spark's own jars at runtime but ``delta-storage``. Every file is checked against the SHA-1 the
repository publishes next to it (which catches a corrupt or truncated download, not a hostile
mirror) and written atomically, so an interrupted download is never used.

On a cluster, ``spark-submit`` starts the JVM: pass ``--jars $(recsys jars)`` (or
``--packages``, see docs/cluster.md).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from recsys.errors import RecsysError

MAVEN_REPO_ENV = "RECSYS_MAVEN_REPO"
JARS_DIR_ENV = "RECSYS_JARS_DIR"
DEFAULT_REPO = "https://repo1.maven.org/maven2"
DEFAULT_DIR = "~/.cache/recsys/jars"
SCALA = "2.13"
TIMEOUT_S = 60

DELTA_SQL_CONF: dict[str, str] = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}
"""What Delta's docs require next to its jars (SQL commands, the catalog of path tables)."""


def has_delta_classes(jvm: object) -> bool:
    """True when Delta's classes are on a JVM's classpath (py4j gateway view)."""
    try:
        jvm.java.lang.Class.forName(  # type: ignore[attr-defined]
            "io.delta.tables.DeltaTable",
            False,
            jvm.java.lang.Thread.currentThread().getContextClassLoader(),  # type: ignore[attr-defined]
        )
    except Exception:  # py4j wraps ClassNotFoundException in a generic error
        return False
    return True


class JarFetchError(RecsysError):
    """A jar could not be downloaded or did not match its checksum."""


@dataclass(frozen=True)
class Artifact:
    group: str
    name: str
    version: str

    @classmethod
    def parse(cls, coordinate: str) -> Artifact:
        parts = coordinate.strip().split(":")
        if len(parts) != 3 or not all(parts):
            raise JarFetchError(
                f"spark.packages: {coordinate!r} is not a Maven coordinate group:artifact:version"
            )
        return cls(*parts)

    @property
    def coordinate(self) -> str:
        return f"{self.group}:{self.name}:{self.version}"

    @property
    def path(self) -> str:
        """The artifact's jar, relative to a Maven repository's root."""
        return f"{self.group.replace('.', '/')}/{self.name}/{self.version}/{self.filename}"

    @property
    def filename(self) -> str:
        return f"{self.name}-{self.version}.jar"


def delta_artifacts() -> tuple[Artifact, ...]:
    """Delta's jars for the installed wheels, as ``configure_spark_with_delta_pip`` names them
    (``delta-spark_<spark major.minor>_<scala>``), plus the one runtime dependency Spark lacks."""
    delta = version("delta-spark")
    spark = ".".join(version("pyspark").split(".")[:2])
    return (
        Artifact("io.delta", f"delta-spark_{spark}_{SCALA}", delta),
        Artifact("io.delta", "delta-storage", delta),
    )


def jars_dir() -> Path:
    return Path(os.environ.get(JARS_DIR_ENV) or DEFAULT_DIR).expanduser()


def repository() -> str:
    return (os.environ.get(MAVEN_REPO_ENV) or DEFAULT_REPO).rstrip("/")


def _download(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
        return response.read()


def fetch(
    artifacts: tuple[Artifact, ...] | None = None,
    dest: Path | None = None,
    repo: str | None = None,
) -> list[Path]:
    """Local paths of ``artifacts`` (Delta's by default), downloading the missing ones."""
    artifacts = delta_artifacts() if artifacts is None else artifacts
    dest = dest or jars_dir()
    repo = (repo or repository()).rstrip("/")
    paths = []
    for artifact in artifacts:
        target = dest / artifact.filename
        if not target.is_file():
            _fetch_one(artifact, target, repo)
        paths.append(target)
    return paths


def _fetch_one(artifact: Artifact, target: Path, repo: str) -> None:
    url = f"{repo}/{artifact.path}"
    try:
        data = _download(url)
        expected = _download(url + ".sha1").decode().split()[0].strip().lower()
    except (urllib.error.URLError, OSError, ValueError, IndexError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise JarFetchError(
            f"cannot download {artifact.coordinate} from {url} ({reason}); check the network, "
            f"set {MAVEN_REPO_ENV} to a reachable Maven mirror, or run without Delta's jars on "
            "the pip-only engine: --set spark.delta_jars=false"
        ) from None
    got = hashlib.sha1(data).hexdigest()
    if got != expected:
        raise JarFetchError(
            f"{url}: SHA-1 {got} does not match the repository's {expected}; the download is "
            "corrupt or the mirror serves another file; nothing was saved, run again"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, suffix=".part", delete=False) as tmp:
        tmp.write(data)
    os.chmod(tmp.name, 0o644)  # a shared cache: readable by the other users of the machine
    os.replace(tmp.name, target)  # atomic: a reader never sees half a jar
