"""The whole product in one call: ingest -> ALS -> content -> blend -> evaluate.

Each stage IS its job (:mod:`recsys.jobs`), run in this one Spark session with its typed
config. Every job reads its inputs from the lake, writes its outputs there and records its run
in ``runs``, so a cluster scheduler that runs the same jobs as separate steps
(``spark-submit jobs/<job>.py``) gets the same tables; this module only sequences them, times
them, and records one ``pipeline`` row in ``runs`` naming each stage's run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from recsys.blend import RecommendConfig
from recsys.config import Settings
from recsys.errors import RecsysError
from recsys.jobs import JobContext, JobResult
from recsys.jobs import evaluate as evaluate_job
from recsys.jobs import ingest as ingest_job
from recsys.jobs import recommend as recommend_job
from recsys.jobs import train_als as als_job
from recsys.jobs import train_content as content_job
from recsys.jobs.configs import job_config
from recsys.runs import RunRecorder, new_run_id

# stage -> (its job module, the `recsys` command that runs the job alone), in pipeline order
STAGES: dict[str, tuple[Any, str]] = {
    "ingest": (ingest_job, "ingest"),
    "als": (als_job, "train-als"),
    "content": (content_job, "train-content"),
    "blend": (recommend_job, "recommend"),
    "evaluate": (evaluate_job, "evaluate"),
}


@dataclass(frozen=True)
class PipelineConfig:
    """Every stage's config. ALS skips its own held-out evaluation by default: the evaluate
    stage scores ALS (retrained on the split) next to every other model with one protocol, and
    retrains the model stages with these very configs (``evaluate``'s own are replaced)."""

    stages: tuple[str, ...] = tuple(STAGES)
    ingest: ingest_job.IngestConfig = field(default_factory=ingest_job.IngestConfig)
    als: als_job.TrainAlsConfig = field(
        default_factory=lambda: als_job.TrainAlsConfig(split="none")
    )
    content: content_job.TrainContentConfig = field(default_factory=content_job.TrainContentConfig)
    blend: RecommendConfig = field(default_factory=RecommendConfig)
    evaluate: evaluate_job.EvaluateConfig = field(default_factory=evaluate_job.EvaluateConfig)

    def __post_init__(self) -> None:
        unknown = [s for s in self.stages if s not in STAGES]
        if unknown:
            raise RecsysError(f"unknown pipeline stage(s) {unknown}; choose from {list(STAGES)}")
        object.__setattr__(self, "stages", tuple(s for s in STAGES if s in self.stages))

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        stages: Sequence[str] = tuple(STAGES),
        **configs: Any,
    ) -> PipelineConfig:
        """Every stage's config from the profile's job sections (``configs`` by stage name
        replace them, e.g. ones the command line built)."""
        sections = {
            "ingest": job_config(settings, "ingest"),
            "content": job_config(settings, "train_content"),
            "blend": job_config(settings, "recommend"),
            "evaluate": job_config(settings, "evaluate"),
            "als": job_config(settings, "train_als", base=als_job.TrainAlsConfig(split="none")),
        }
        return cls(stages=tuple(stages), **{**sections, **configs})

    def config_of(self, stage: str) -> Any:
        if stage == "evaluate":
            return replace(self.evaluate, als=self.als, content=self.content, recommend=self.blend)
        return getattr(self, stage)


@dataclass
class StageResult:
    name: str
    command: str
    seconds: float
    result: JobResult

    @property
    def run_id(self) -> str:
        return self.result.run_id


@dataclass
class PipelineResult:
    run_id: str
    lake_root: str
    stages: dict[str, StageResult] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.stages.values())

    def stage_run_id(self, name: str) -> str | None:
        stage = self.stages.get(name)
        return stage.run_id if stage else None


def run_pipeline(
    ctx: JobContext,
    config: PipelineConfig | None = None,
    on_stage: Callable[[StageResult], None] | None = None,
) -> PipelineResult:
    """Run ``config.stages`` in pipeline order (default: every stage, configured by the
    context's profile) and return each stage's job result.

    ``on_stage`` is called after each stage, e.g. to print progress. A failing stage stops the
    pipeline (its exception propagates); the ``pipeline`` row in ``runs`` records which.
    """
    config = config or PipelineConfig.from_settings(ctx.settings)
    result = PipelineResult(run_id=new_run_id("pipeline"), lake_root=ctx.lake.root)
    params: dict[str, Any] = {"stages": list(config.stages), "stage_run_ids": {}}
    with RunRecorder(ctx.lake, "pipeline", params=params, run_id=result.run_id) as run:
        for name in config.stages:
            module, command = STAGES[name]
            t0 = time.perf_counter()
            with run.timed(name):
                done = module.run(ctx, config.config_of(name))
            stage = StageResult(name, command, time.perf_counter() - t0, done)
            result.stages[name] = stage
            params["stage_run_ids"][name] = stage.run_id
            if on_stage is not None:
                on_stage(stage)
    return result


def stage_names(text: str | Sequence[str]) -> tuple[str, ...]:
    """``"ingest,als"`` (or a list) as stage names, checked against :data:`STAGES`."""
    names = text.split(",") if isinstance(text, str) else list(text)
    return PipelineConfig(stages=tuple(n.strip() for n in names if n.strip())).stages
