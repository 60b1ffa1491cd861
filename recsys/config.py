"""Settings: YAML profiles with command-line overrides, loaded explicitly by jobs.

A profile is chosen by ``--profile`` (a name such as ``local`` or a path to a YAML file), else
the ``RECSYS_PROFILE`` environment variable, else ``local``; named profiles are looked up in
``$RECSYS_CONF_DIR``, ``./conf`` and the profiles shipped inside the package (``recsys/conf``).
Any key can be overridden with ``--set section.key=value`` (the value is parsed as YAML, so
``--set spark.shuffle_partitions=4`` gives an int; ``--set spark.conf.spark.x.y=1`` sets the
Spark key ``spark.x.y``). ``RECSYS_LAKE_ROOT`` overrides ``lake.root``.

Sections ``spark``, ``lake`` and ``data`` are typed here. The job sections (``ingest``,
``train_als``, ``train_content``, ``recommend``, ``evaluate``) hold the jobs' own configs; their
defaults are the config dataclasses' defaults (defined once, in code) and a profile or ``--set``
only overrides keys (:func:`updated`). ``recsys config`` prints every setting with its value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, Field, dataclass, field, fields, is_dataclass, replace
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from types import UnionType
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

import yaml

from recsys.errors import RecsysError

DEFAULT_PROFILE = "local"
PROFILE_ENV = "RECSYS_PROFILE"
CONF_DIR_ENV = "RECSYS_CONF_DIR"
LAKE_ROOT_ENV = "RECSYS_LAKE_ROOT"


class ConfigError(RecsysError, ValueError):
    """A profile cannot be found or holds an unknown, ill-typed or out-of-range value."""


@dataclass(frozen=True)
class SparkSettings:
    master: str | None = "local[*]"
    """Spark master URL; ``None`` on clusters, where spark-submit supplies it."""
    app_name: str = "recsys"
    """The Spark application's name (UI, cluster manager)."""
    shuffle_partitions: int = 8
    """``spark.sql.shuffle.partitions``; adaptive execution coalesces small ones."""
    driver_memory: str | None = None
    """Only honoured when the JVM is started by this process (not under spark-submit)."""
    executor_memory: str | None = None
    """``spark.executor.memory`` (clusters usually set it with spark-submit instead)."""
    conf: dict[str, str] = field(default_factory=dict)
    """Any further ``spark.*`` settings, passed through unchanged."""
    log_level: str = "WARN"
    """Spark's log level. At ``WARN`` and above, Spark's start-up notices are kept out of the
    job's output (``recsys/resources/log4j2.properties``); ``INFO`` (``recsys --verbose``)
    shows everything."""
    delta_jars: bool = True
    """Put Delta Lake's JVM jars on a session this process starts (downloaded once from Maven
    Central, or ``$RECSYS_MAVEN_REPO``, into ``$RECSYS_JARS_DIR``, default
    ``~/.cache/recsys/jars``), so ``lake.engine: auto`` writes with delta-spark. ``false``: the
    pip-only path, where Spark writes Parquet and delta-rs commits. Under spark-submit the
    submitter's ``--jars``/``--packages`` decide."""
    packages: list[str] = field(default_factory=list)
    """More JVM jars for a session this process starts, as Maven coordinates
    (``group:artifact:version``), fetched and cached like Delta's. Dependencies are not
    resolved: list each jar, e.g. for Spark's S3 connector ``org.apache.hadoop:hadoop-aws:3.5.0``,
    ``software.amazon.awssdk:bundle:2.35.4`` and
    ``software.amazon.s3.analyticsaccelerator:analyticsaccelerator-s3:1.3.1`` (docs/lake.md)."""
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
    """How old unreferenced files must be before a vacuum may delete them."""
    storage_options: dict[str, str] = field(default_factory=dict)
    """Options for the ``deltalake`` library on an object store (``AWS_ENDPOINT_URL``,
    ``AWS_REGION``, ...); unset ones come from the environment. Spark's own S3 settings go in
    ``spark.conf`` (``spark.hadoop.fs.s3a.*``)."""
    commit_attempts: int = 10
    """How often a write is planned and committed again when another writer commits first
    (both engines), before the job fails."""


@dataclass(frozen=True)
class DataSettings:
    cache_dir: str = "~/.cache/recsys"
    """Where downloaded MovieLens archives are cached."""
    mirror: str | None = None
    """A folder holding ``<dataset>.zip`` copies, used instead of GroupLens."""


JOB_SECTIONS = ("ingest", "train_als", "train_content", "recommend", "evaluate", "serve")
"""Sections holding a job's config (checked against the job's dataclass when the job starts)."""


@dataclass(frozen=True)
class Settings:
    profile: str
    spark: SparkSettings
    lake: LakeSettings
    data: DataSettings
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The job sections as given (profile + ``--set``), by section name."""


_SECTIONS = {"spark": SparkSettings, "lake": LakeSettings, "data": DataSettings}
_FREE_FORM = {("spark", "conf"), ("lake", "storage_options")}
"""Mappings whose keys are not settings of ours (Spark's names contain dots themselves)."""


def check_choice(where: str, value: object, choices: Sequence[object]) -> None:
    """Refuse a setting outside its choices when the config is built, not when a job uses it
    (a bad ``evaluate.split`` must not surface after four pipeline stages)."""
    if value not in choices:
        raise ConfigError(f"{where} must be one of {', '.join(map(str, choices))}; got {value!r}")


def conf_dirs() -> list[Path | Traversable]:
    """Where named profiles are looked up, first match wins. The shipped ones are package data,
    read through importlib.resources so they are found in a wheel and in a zip shipped with
    ``--py-files`` alike."""
    dirs: list[Path | Traversable] = []
    if os.environ.get(CONF_DIR_ENV):
        dirs.append(Path(os.environ[CONF_DIR_ENV]))
    dirs.append(Path.cwd() / "conf")
    dirs.append(resources.files("recsys").joinpath("conf"))
    return dirs


def profile_path(profile: str) -> Path | Traversable:
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
    """``"spark.shuffle_partitions=4"`` -> (["spark", "shuffle_partitions"], 4);
    ``"spark.conf.spark.sql.ansi.enabled=true"`` -> (["spark", "conf", "spark.sql.ansi.enabled"],
    True): below a free-form mapping the rest of the key is one key."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ConfigError(f"override {text!r} must look like section.key=value")
    parts = key.strip().split(".")
    for i in range(1, len(parts)):
        if tuple(parts[:i]) in _FREE_FORM and i < len(parts):
            parts = [*parts[:i], ".".join(parts[i:])]
            break
    return parts, yaml.safe_load(value)


def _apply(raw: dict[str, Any], path: list[str], value: Any) -> None:
    node = raw
    for part in path[:-1]:
        if node.get(part) is None:  # absent, or a source switched off: set a key in it anew
            node[part] = {}
        node = node[part]
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
    for mapping in ("conf", "storage_options"):  # strings, as Spark and deltalake want them
        if mapping in values:
            values[mapping] = {str(k): _spark_value(v) for k, v in (values[mapping] or {}).items()}
    if isinstance(values.get("packages"), str):  # --set spark.packages=a:b:1,c:d:2
        values["packages"] = [p for p in values["packages"].split(",") if p.strip()]
    return cls(**values)


def _spark_value(value: Any) -> str:
    """Spark's spelling of a YAML scalar (``true``, not Python's ``True``)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def load_settings(profile: str | None = None, overrides: list[str] | None = None) -> Settings:
    """Read a profile, apply ``section.key=value`` overrides and environment variables."""
    name = profile or os.environ.get(PROFILE_ENV) or DEFAULT_PROFILE
    path = profile_path(name)
    raw = yaml.safe_load(path.read_text()) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of sections, got {type(raw).__name__}")
    known = (*_SECTIONS, *JOB_SECTIONS)
    unknown = set(raw) - set(known)
    if unknown:
        raise ConfigError(f"{path}: unknown section(s) {sorted(unknown)}; known: {sorted(known)}")
    if os.environ.get(LAKE_ROOT_ENV):
        _apply(raw, ["lake", "root"], os.environ[LAKE_ROOT_ENV])
    for text in overrides or []:
        keys, value = parse_override(text)
        if keys[0] not in known or len(keys) < 2:
            raise ConfigError(
                f"override {text!r}: expected section.key=value with a section of {sorted(known)}"
            )
        _apply(raw, keys, value)
    jobs = {name: _mapping(raw.get(name), name) for name in JOB_SECTIONS}
    return Settings(profile=name, **{s: _section(s, raw.get(s)) for s in _SECTIONS}, jobs=jobs)


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping of keys, got {value!r}")
    return value


T = TypeVar("T")


def updated(instance: T, values: Any, where: str) -> T:
    """``instance`` (a config dataclass) with ``values`` applied key by key: a nested config
    is updated in turn (so ``recommend.user_knn.k`` keeps user-kNN's other defaults), ``None``
    switches an optional one off, a class with its own ``updated(values)`` applies it (ALS's
    mode defaults, blend weights). Unknown keys and ill-typed values are refused, naming
    ``where.key``."""
    hook = getattr(instance, "updated", None)
    if callable(hook):
        return hook(values, where)
    return update_fields(instance, values, where)


def update_fields(instance: T, values: Mapping[str, Any], where: str) -> T:
    """:func:`updated` without the class's own hook (for the hooks themselves)."""
    if not isinstance(values, Mapping) or not is_dataclass(instance):
        raise ConfigError(f"{where}: not a section of keys")
    hints = get_type_hints(type(instance))
    known = {f.name: f for f in fields(instance)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(f"unknown key(s) {[f'{where}.{k}' for k in unknown]}; known: "
                          f"{sorted(known)}")  # fmt: skip
    changes: dict[str, Any] = {}
    for key, value in values.items():
        current = getattr(instance, key)
        if current is None:  # an optional config switched off: set keys on its default
            current = _default(known[key])
        changes[key] = _value(current, hints[key], value, f"{where}.{key}")
    return replace(instance, **changes)


def _default(f: Field) -> Any:
    if f.default is not MISSING:
        return f.default
    return f.default_factory() if f.default_factory is not MISSING else None


def _value(current: Any, hint: Any, value: Any, where: str) -> Any:
    """``value`` for a field of type ``hint`` whose value is ``current``."""
    options = [a for a in get_args(hint) if a is not type(None)] if _is_union(hint) else [hint]
    if value is None:
        if type(None) in get_args(hint) or hint is Any:
            return None
        raise ConfigError(f"{where} cannot be null")
    nested = [o for o in options if isinstance(o, type) and is_dataclass(o)]
    if nested and isinstance(value, Mapping):
        base = current if current is not None else nested[0]()
        return updated(base, value, where)
    if nested and isinstance(value, str) and callable(getattr(nested[0], "updated", None)):
        return updated(current if current is not None else nested[0](), value, where)  # a file
    for option in options:
        if _accepts(option, value):
            if option is float:
                return float(value)  # YAML's 300 for a float field
            return tuple(value) if get_origin(option) is tuple else value
    raise ConfigError(f"{where}: {value!r} is not of type {_name(hint)}")


def _is_union(hint: Any) -> bool:
    return get_origin(hint) in (Union, UnionType)


def _accepts(option: Any, value: Any) -> bool:
    origin = get_origin(option) or option
    if option is Any:
        return True
    if option is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if option is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin in (tuple, list):
        return isinstance(value, list | tuple)
    if origin is dict:
        return isinstance(value, Mapping)
    return isinstance(origin, type) and isinstance(value, origin)


def _name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


def as_mapping(instance: Any) -> Any:
    """A config dataclass as plain YAML-ready data (tuples as lists; a class with
    ``to_dict`` uses it)."""
    if is_dataclass(instance) and not isinstance(instance, type):
        if hasattr(instance, "updated") and hasattr(instance, "to_dict"):
            return instance.to_dict()
        return {f.name: as_mapping(getattr(instance, f.name)) for f in fields(instance)}
    if isinstance(instance, tuple | list):
        return [as_mapping(v) for v in instance]
    if isinstance(instance, dict):
        return {k: as_mapping(v) for k, v in instance.items()}
    return instance
