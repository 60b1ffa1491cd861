"""Collaborative filtering with Spark MLlib ALS: explicit (ratings) and implicit (ranking) modes,
validation search, per-user top-N candidates.

    from recsys.als import ALSConfig, ALSSource
    fitted = ALSSource(ALSConfig(mode="implicit", rank=64, reg_param=1.0, alpha=10.0)).fit(data)
    recs = fitted.candidates(train, n=10)    # user_id, movie_id, score, rank; rated excluded

``train_als`` runs the whole protocol (split, search, evaluate, refit, candidates); the command
``recsys train-als`` / ``spark-submit jobs/train_als.py`` writes its tables.
"""

from recsys.als._explicit import damped_biases, fit_explicit
from recsys.als._foldin import fold_in, gram, implicit_values
from recsys.als._implicit import fit_implicit, interactions
from recsys.als._model import FittedALS, model_from_factors
from recsys.als._params import (
    GRIDS,
    MODE_DEFAULTS,
    ALSConfig,
    ALSConfigError,
    config_for,
    grid_configs,
)
from recsys.als._schemas import CANDIDATES, FACTORS, SEARCH
from recsys.als._source import ALSSource
from recsys.als._train import SPLITS, ALSRunResult, evaluate_fitted, train_als
from recsys.als._tuning import SearchResult, fit, search, validation_scores

__all__ = [
    "CANDIDATES",
    "FACTORS",
    "GRIDS",
    "MODE_DEFAULTS",
    "SEARCH",
    "SPLITS",
    "ALSConfig",
    "ALSConfigError",
    "ALSRunResult",
    "ALSSource",
    "FittedALS",
    "SearchResult",
    "config_for",
    "damped_biases",
    "evaluate_fitted",
    "fit",
    "fit_explicit",
    "fit_implicit",
    "fold_in",
    "gram",
    "grid_configs",
    "implicit_values",
    "interactions",
    "model_from_factors",
    "search",
    "train_als",
    "validation_scores",
]
