"""Settings: YAML profiles in ``conf/`` with command-line overrides, loaded explicitly by jobs.

A profile is chosen by ``--profile`` (a name such as ``local`` or a path to a YAML file), else
the ``RECSYS_PROFILE`` environment variable, else ``local``. Any key can be overridden with
``--set section.key=value`` (the value is parsed as YAML, so ``--set spark.shuffle_partitions=4``
gives an int). ``RECSYS_LAKE_ROOT`` overrides ``lake.root``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from recsys.errors import RecsysError

DEFAULT_PROFILE = "local"
PROFILE_ENV = "RECSYS_PROFILE"
CONF_DIR_ENV = "RECSYS_CONF_DIR"
LAKE_ROOT_ENV = "RECSYS_LAKE_ROOT"


class ConfigError(RecsysError):
    """A profile cannot be found or holds an unknown or ill-typed key."""


@dataclass(frozen=True)
class SparkSettings:
    master: str | None = "local[*]"
    """Spark master URL; ``None`` on clusters, where spark-submit supplies it."""
    app_name: str = "recsys"
    shuffle_partitions: int = 8
    """``spark.sql.shuffle.partitions``; adaptive execution coalesces small ones."""
    driver_memory: str | None = None
    """Only honoured when the JVM is started by this process (not under spark-submit)."""
    executor_memory: str | None = None
    conf: dict[str, str] = field(default_factory=dict)
    """Any further ``spark.*`` settings, passed through unchanged."""
    log_level: str = "WARN"
    """Spark's log level. At ``WARN`` and above, Spark's start-up notices are kept out of the
    job's output (``recsys/resources/log4j2.properties``); ``INFO`` (``recsys --verbose``)
    shows everything."""
    blas_threads: int | None = 1
    """``OPENBLAS_NUM_THREADS`` (and MKL's) for the driver and executors: ALS calls BLAS from
    every task at once, so threads inside each call only fight the other tasks for cores
    (measured: OpenBLAS with its default threads made ALS 2.4x slower, one thread 1.33x
    faster). ``None`` leaves the environment alone."""


@dataclass(frozen=True)
class LakeSettings:
    root: str = "./lake"
    """Local path or URI (``s3a://``, ``abfss://``, ``hdfs://``) under which tables live."""
    engine: str = "auto"
    """``auto`` picks delta-spark when Delta's JVM classes are loaded, else delta-rs."""
    vacuum_retention_hours: int = 168
    commit_attempts: int = 10
    """How often a write is planned and committed again when another writer commits first
    (delta-rs engine), before the job fails."""


@dataclass(frozen=True)
class DataSettings:
    cache_dir: str = "~/.cache/recsys"
    """Where downloaded MovieLens archives are cached."""
    mirror: str | None = None
    """A folder holding ``<dataset>.zip`` copies, used instead of GroupLens."""


@dataclass(frozen=True)
class Settings:
    profile: str
    spark: SparkSettings
    lake: LakeSettings
    data: DataSettings


_SECTIONS = {"spark": SparkSettings, "lake": LakeSettings, "data": DataSettings}


def conf_dirs() -> list[Path]:
    """Where named profiles are looked up, first match wins."""
    dirs = []
    if os.environ.get(CONF_DIR_ENV):
        dirs.append(Path(os.environ[CONF_DIR_ENV]))
    dirs.append(Path.cwd() / "conf")
    dirs.append(Path(__file__).resolve().parents[1] / "conf")
    return dirs


def profile_path(profile: str) -> Path:
    candidate = Path(profile).expanduser()
    if candidate.suffix in {".yaml", ".yml"}:
        if candidate.is_file():
            return candidate
        raise ConfigError(f"profile file {candidate} does not exist")
    for d in conf_dirs():
        p = d / f"{profile}.yaml"
        if p.is_file():
            return p
    searched = ", ".join(str(d) for d in conf_dirs())
    raise ConfigError(
        f"no profile named {profile!r} (looked for {profile}.yaml in {searched}); "
        f"pass --profile path/to/profile.yaml or set {CONF_DIR_ENV}"
    )


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"spark.shuffle_partitions=4"`` -> (["spark", "shuffle_partitions"], 4)."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ConfigError(f"override {text!r} must look like section.key=value")
    return key.strip().split("."), yaml.safe_load(value)


def _apply(raw: dict[str, Any], path: list[str], value: Any) -> None:
    node = raw
    for part in path[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"cannot set {'.'.join(path)}: {part} is not a section")
    node[path[-1]] = value


def _section(name: str, values: dict[str, Any] | None) -> Any:
    cls = _SECTIONS[name]
    values = dict(values or {})
    known = {f.name for f in fields(cls)}
    unknown = set(values) - known
    if unknown:
        raise ConfigError(
            f"unknown key(s) in section {name!r}: {sorted(unknown)}; known: {sorted(known)}"
        )
    if "conf" in values:
        values["conf"] = {str(k): str(v) for k, v in (values["conf"] or {}).items()}
    return cls(**values)


def load_settings(profile: str | None = None, overrides: list[str] | None = None) -> Settings:
    """Read a profile, apply ``section.key=value`` overrides and environment variables."""
    name = profile or os.environ.get(PROFILE_ENV) or DEFAULT_PROFILE
    path = profile_path(name)
    raw = yaml.safe_load(path.read_text()) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of sections, got {type(raw).__name__}")
    unknown = set(raw) - set(_SECTIONS)
    if unknown:
        raise ConfigError(
            f"{path}: unknown section(s) {sorted(unknown)}; known: {sorted(_SECTIONS)}"
        )
    if os.environ.get(LAKE_ROOT_ENV):
        _apply(raw, ["lake", "root"], os.environ[LAKE_ROOT_ENV])
    for text in overrides or []:
        keys, value = parse_override(text)
        if keys[0] not in _SECTIONS:
            raise ConfigError(f"override {text!r}: unknown section {keys[0]!r}")
        _apply(raw, keys, value)
    return Settings(profile=name, **{s: _section(s, raw.get(s)) for s in _SECTIONS})
