"""Collaborative filtering with Spark MLlib ALS: explicit (ratings) and implicit (ranking) modes,
validation search, per-user top-N candidates.

    from recsys.als import ALSConfig, fit, top_n
    fitted = fit(train, ALSConfig(mode="implicit", rank=64, reg_param=1.0, alpha=10.0))
    recs = top_n(fitted, train, n=10)        # user_id, movie_id, score, rank; rated excluded

``train_als`` runs the whole protocol (split, search, evaluate, refit, candidates); the command
``recsys train-als`` / ``spark-submit jobs/train_als.py`` writes its tables.
"""

from recsys.als._candidates import top_n
from recsys.als._explicit import damped_biases, fit_explicit
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
from recsys.als._train import SPLITS, ALSRunResult, evaluate_fitted, split_ratings, train_als
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
    "FittedALS",
    "SearchResult",
    "config_for",
    "damped_biases",
    "evaluate_fitted",
    "fit",
    "fit_explicit",
    "fit_implicit",
    "grid_configs",
    "interactions",
    "model_from_factors",
    "search",
    "split_ratings",
    "top_n",
    "train_als",
    "validation_scores",
]
