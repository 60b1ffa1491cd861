"""Typed ALS configuration and the hyperparameter grids the search walks.

Configuration is data: a frozen dataclass that round-trips through ``asdict`` / ``from_dict``
(JSON in the ``runs`` and ``metrics`` tables), with one docstring per field.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from recsys.config import update_fields
from recsys.errors import RecsysError

MODES = ("explicit", "implicit")
CONFIDENCES = ("linear", "log", "binary", "threshold")


class ALSConfigError(RecsysError):
    """An ALS setting is unknown or out of range."""


@dataclass(frozen=True)
class ALSConfig:
    mode: str = "implicit"
    """``explicit``: predict ratings (RMSE); ``implicit``: rank movies (nDCG), ratings become
    confidences."""
    rank: int = 128
    """Number of latent factors."""
    reg_param: float = 1.0
    """Spark's ``regParam``; ALS-WR scales it by each user's/movie's number of ratings."""
    max_iter: int = 15
    """Alternating sweeps; more sweeps need the checkpoint interval to cut the lineage."""
    alpha: float = 3.0
    """Implicit only: confidence is ``1 + alpha * value``, value from ``confidence``."""
    confidence: str = "linear"
    """Implicit only: the value ALS sees per rating: ``linear`` = the rating, ``log`` =
    ``log1p(rating)``, ``binary`` = 1 for every rating, ``threshold`` = 1 for ratings
    >= ``threshold`` (others dropped)."""
    threshold: float = 3.5
    """Implicit ``threshold`` confidence: the lowest rating counted as a positive."""
    biases: bool = True
    """Explicit only: fit global mean + damped user and movie biases first and factorise the
    residuals (plain ALS has no bias terms and stays ~0.925 RMSE on ml-100k)."""
    user_damping: float = 10.0
    """Shrinkage of a user's bias towards 0: ``sum(residual) / (n + user_damping)``."""
    item_damping: float = 10.0
    """Shrinkage of a movie's bias towards 0: ``sum(residual) / (n + item_damping)``."""
    nonnegative: bool = False
    """Spark's ``nonnegative`` constraint on the factors."""
    num_blocks: int = 0
    """User and item blocks; 0 lets Spark choose (``spark.default.parallelism``)."""
    checkpoint_interval: int = 5
    """Checkpoint every N sweeps (needs the session's checkpoint dir; JobContext sets it)."""
    seed: int = 42
    """Initial factors; with deterministic, persisted input the fit is reproducible."""

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ALSConfigError(f"ALS mode must be one of {MODES}, got {self.mode!r}")
        if self.confidence not in CONFIDENCES:
            raise ALSConfigError(
                f"ALS confidence must be one of {CONFIDENCES}, got {self.confidence!r}"
            )
        if self.rank < 1 or self.max_iter < 1 or self.reg_param < 0 or self.alpha < 0:
            raise ALSConfigError(
                "ALS needs rank >= 1, max_iter >= 1, reg_param >= 0 and alpha >= 0; got "
                f"rank={self.rank} max_iter={self.max_iter} reg_param={self.reg_param} "
                f"alpha={self.alpha}"
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> ALSConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ALSConfigError(f"unknown ALS setting(s) {unknown}; known: {sorted(known)}")
        return cls(**values)

    def updated(self, values: Mapping[str, Any], where: str = "als") -> ALSConfig:
        """This config with ``values`` (a profile section or ``--set``) applied; a new
        ``mode`` first resets that mode's keys to its defaults (:data:`MODE_DEFAULTS`: rank,
        regularisation...), keeping every other setting (seed, blocks...)."""
        mode = values.get("mode", self.mode) if isinstance(values, Mapping) else self.mode
        base = self if mode == self.mode else replace(self, mode=mode, **MODE_DEFAULTS[mode])
        return update_fields(base, values, where)

    def tuned(self) -> dict[str, Any]:
        """The searched parameters only, for search tables and metric rows."""
        keys = ["rank", "reg_param", "max_iter"]
        if self.mode == "implicit":
            keys += ["alpha", "confidence"]
        elif self.biases:
            keys += ["user_damping", "item_damping"]
        return {k: getattr(self, k) for k in keys}


# Starting values per mode when the caller gives none (from the validation searches of the
# docs/als.md benchmark): explicit residual factors need far less regularisation than implicit.
MODE_DEFAULTS: dict[str, dict[str, Any]] = {
    "explicit": {"rank": 20, "reg_param": 0.15, "max_iter": 15, "user_damping": 10.0},
    "implicit": {"rank": 128, "reg_param": 1.0, "alpha": 3.0, "max_iter": 15},
}


def config_for(mode: str, **overrides: Any) -> ALSConfig:
    """``ALSConfig`` with ``mode``'s defaults (:data:`MODE_DEFAULTS`) and then ``overrides``."""
    if mode not in MODE_DEFAULTS:
        raise ALSConfigError(f"ALS mode must be one of {MODES}, got {mode!r}")
    return ALSConfig(mode=mode, **{**MODE_DEFAULTS[mode], **overrides})


# Searched values per mode. "small" is CI-sized (one or two fits); "full" is the benchmark.
GRIDS: dict[str, dict[str, dict[str, list[Any]]]] = {
    "explicit": {
        "small": {"rank": [8], "reg_param": [0.1], "max_iter": [8]},
        "full": {
            "rank": [20],
            "reg_param": [0.15, 0.2],
            "max_iter": [15],
            "user_damping": [5.0, 10.0],
            "item_damping": [10.0, 25.0],
        },
    },
    "implicit": {
        "small": {"rank": [16], "reg_param": [0.1], "alpha": [1.0], "max_iter": [8]},
        "full": {
            "rank": [64, 128],
            "reg_param": [1.0],
            "max_iter": [15],
            "confidence": ["linear"],
            "alpha": [2.0, 3.0, 5.0, 10.0],
        },
    },
}


def grid_configs(base: ALSConfig, grid: Mapping[str, list[Any]]) -> Iterator[ALSConfig]:
    """Every combination of ``grid``'s values applied on top of ``base``, in a stable order.

    A key ``"a,b"`` holds tuples of values searched together rather than crossed."""
    names = sorted(grid)
    for values in itertools.product(*(grid[n] for n in names)):
        settings: dict[str, Any] = {}
        for name, value in zip(names, values, strict=True):
            if "," in name:  # a tuple of parameters searched together
                settings.update(zip(name.split(","), value, strict=True))
            else:
                settings[name] = value
        yield replace(base, **settings)
