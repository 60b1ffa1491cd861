"""What every job needs: settings, the Spark session and the lake, built once and lazily."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

from pyspark.sql import SparkSession

from recsys.config import Settings, load_settings
from recsys.lakehouse import Lake
from recsys.session import build_spark


class JobContext:
    """``settings`` from a profile plus overrides; ``spark`` and ``lake`` built on first use;
    ``log`` receives a job's progress lines (the CLI passes ``print``)."""

    def __init__(
        self,
        profile: str | None = None,
        overrides: list[str] | None = None,
        log: Callable[[str], None] = print,
    ):
        self.profile = profile
        self.overrides = list(overrides or [])
        self.log = log

    @cached_property
    def settings(self) -> Settings:
        return load_settings(self.profile, self.overrides)

    @cached_property
    def spark(self) -> SparkSession:
        # A session that already runs (pytest's, a notebook's) belongs to its creator: reuse it
        # and leave it running on close().
        self._owns_spark = SparkSession.getActiveSession() is None
        spark = build_spark(self.settings.spark)
        checkpoint = f"{self.lake_root.rstrip('/')}/_checkpoints"
        spark.sparkContext.setCheckpointDir(checkpoint)
        return spark

    @property
    def lake_root(self) -> str:
        return self.settings.lake.root

    @cached_property
    def lake(self) -> Lake:
        lake = self.settings.lake
        return Lake(
            self.spark,
            lake.root,
            engine=lake.engine,
            storage_options=lake.storage_options or None,
            commit_attempts=lake.commit_attempts,
        )

    def on_lake(self, root: str) -> JobContext:
        """The same settings, session and log over another lake (evaluate's scratch lake)."""
        other = JobContext(self.profile, self.overrides, self.log)
        other.settings = self.settings
        other.spark = self.spark
        other._owns_spark = False
        lake = self.lake
        other.lake = Lake(
            self.spark,
            root,
            engine=lake.engine.name,
            storage_options=self.settings.lake.storage_options or None,
            commit_attempts=lake.commit_attempts,
        )
        return other

    def close(self) -> None:
        if "spark" in self.__dict__ and self._owns_spark:
            self.spark.stop()
