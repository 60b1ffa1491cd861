"""Fold-in: one user's ALS vector from the stored movie factors, without retraining.

It is the half-step ALS itself runs for every user, with the model's own settings (Spark's
``ALS.computeFactors``): regularisation scaled by the user's number of ratings (ALS-WR), and in
implicit mode Hu, Koren & Volinsky's confidences ``c = alpha * value``, solved through the Gram
matrix ``Y^T Y`` of all movies so the cost is ``rank^3 + history x rank^2``, not catalogue-sized.
Explicit runs with biases fold the user's damped bias in first, as :func:`fit_explicit` does.
The vector has the stored user factors' layout, so ``items @ vector`` scores every movie.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import nnls

from recsys.als._params import ALSConfig


def implicit_values(ratings: np.ndarray, config: ALSConfig) -> tuple[np.ndarray, np.ndarray]:
    """Which ratings implicit ALS trains on and the value ``alpha`` scales (as
    :func:`recsys.als.interactions`): a mask over ``ratings`` and the kept values."""
    keep = (
        ratings >= config.threshold
        if config.confidence == "threshold"
        else np.ones_like(ratings, dtype=bool)
    )
    kept = ratings[keep].astype(np.float64)
    if config.confidence == "log":
        return keep, np.log1p(kept)
    if config.confidence in ("binary", "threshold"):
        return keep, np.ones_like(kept)
    return keep, kept


def gram(items: np.ndarray) -> np.ndarray:
    """``Y^T Y`` over every movie's factors (computed once per model, then shared)."""
    y = items.astype(np.float64)
    return y.T @ y


def _solve(a: np.ndarray, b: np.ndarray, nonnegative: bool) -> np.ndarray:
    """``a x = b`` (``a`` symmetric positive definite); with ``nonnegative`` the minimiser of
    ``x^T a x / 2 - b^T x`` over ``x >= 0`` (Spark's NNLS), as least squares in ``L^T``
    (``a = L L^T``): ``|L^T x - L^-1 b|^2`` differs from it by a constant."""
    if nonnegative:
        lower = np.linalg.cholesky(a)
        return nnls(lower.T, np.linalg.solve(lower, b))[0]
    return np.linalg.solve(a, b)


def fold_in(
    items: np.ndarray,
    rated: np.ndarray,
    ratings: np.ndarray,
    config: ALSConfig,
    items_gram: np.ndarray | None = None,
    mu: float | None = None,
) -> np.ndarray | None:
    """The user vector for ratings ``ratings`` of the movies at rows ``rated`` of ``items``
    (the stored movie factors); ``None`` when no rating counts (nothing to solve from).

    ``items_gram`` (:func:`gram`) is required in implicit mode; ``mu`` (the training mean
    rating) in explicit mode with biases, whose stored factors are ``[q, b_m, 1]``.
    """
    y = items[rated].astype(np.float64)
    r = ratings.astype(np.float64)
    if config.mode == "implicit":
        if items_gram is None:
            raise ValueError("implicit fold-in needs the Gram matrix of the movie factors")
        keep, value = implicit_values(r, config)
        y = y[keep]
        if not len(y):
            return None
        c = config.alpha * np.abs(value)
        positive = value > 0  # as Spark: preference 1 (and a count in n) only for value > 0
        a = items_gram + (y.T * c) @ y + config.reg_param * positive.sum() * np.eye(y.shape[1])
        return _solve(a, y.T @ np.where(positive, 1.0 + c, 0.0), config.nonnegative)
    if not len(y):
        return None
    if not config.biases:
        a = y.T @ y + config.reg_param * len(y) * np.eye(y.shape[1])
        return _solve(a, y.T @ r, config.nonnegative)
    if mu is None:
        raise ValueError("explicit fold-in with biases needs the training mean rating (mu)")
    q, movie_bias = y[:, :-2], y[:, -2]
    user_bias = np.sum(r - mu - movie_bias) / (len(r) + config.user_damping)
    residual = r - mu - movie_bias - user_bias
    a = q.T @ q + config.reg_param * len(q) * np.eye(q.shape[1])
    p = _solve(a, q.T @ residual, config.nonnegative)
    return np.r_[p, 1.0, mu + user_bias]
