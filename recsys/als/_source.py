"""ALS as a candidate source (:mod:`recsys.candidates`)."""

from __future__ import annotations

from dataclasses import dataclass

from recsys.als._model import FittedALS
from recsys.als._params import ALSConfig
from recsys.als._tuning import fit
from recsys.candidates import TrainingData


@dataclass(frozen=True)
class ALSSource:
    config: ALSConfig

    def fit(self, data: TrainingData) -> FittedALS:
        """Fit in the config's mode; the model's ``candidates`` are its per-user top-n."""
        return fit(data.ratings, self.config)
