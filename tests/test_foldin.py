"""Fold-in against a reference: the user vector that minimises the ALS objective, solved as one
stacked least-squares problem over every movie (no Gram-matrix shortcut, no normal
equations), for each mode and confidence; then against Spark's own ALS."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import lsq_linear

from recsys.als import ALSConfig, fold_in, gram

RNG = np.random.default_rng(7)
ITEMS = RNG.normal(size=(40, 5))
RATED = np.array([3, 7, 8, 20, 31, 39])
RATINGS = np.array([5.0, 1.0, 3.5, 4.0, 2.0, 4.5])


def reference_implicit(config: ALSConfig, values: np.ndarray, rated: np.ndarray) -> np.ndarray:
    """argmin_x sum_i c_i (p_i - x.y_i)^2 + reg * n * |x|^2 over all movies, with c = 1 +
    alpha * value and p = 1 for the rated, c = 1 and p = 0 for the rest."""
    c = np.ones(len(ITEMS))
    p = np.zeros(len(ITEMS))
    c[rated] += config.alpha * values
    p[rated] = 1.0
    a = np.vstack([ITEMS * np.sqrt(c)[:, None], np.sqrt(config.reg_param * len(rated)) * np.eye(5)])
    b = np.r_[p * np.sqrt(c), np.zeros(5)]
    return np.linalg.lstsq(a, b, rcond=None)[0]


@pytest.mark.parametrize(
    ("confidence", "values", "rated"),
    [
        ("linear", RATINGS, RATED),
        ("log", np.log1p(RATINGS), RATED),
        ("binary", np.ones(6), RATED),
        ("threshold", np.ones(4), RATED[RATINGS >= 3.5]),
    ],
)
def test_implicit_fold_in_minimises_the_weighted_objective(confidence, values, rated):
    config = ALSConfig(mode="implicit", alpha=3.0, reg_param=0.3, confidence=confidence)
    got = fold_in(ITEMS, RATED, RATINGS, config, gram(ITEMS))
    np.testing.assert_allclose(got, reference_implicit(config, values, rated), rtol=1e-9)


def test_explicit_fold_in_is_the_regularised_least_squares_fit():
    config = ALSConfig(mode="explicit", reg_param=0.2, biases=False)
    y = ITEMS[RATED]
    a = np.vstack([y, np.sqrt(0.2 * len(RATED)) * np.eye(5)])
    want = np.linalg.lstsq(a, np.r_[RATINGS, np.zeros(5)], rcond=None)[0]
    np.testing.assert_allclose(fold_in(ITEMS, RATED, RATINGS, config), want, rtol=1e-9)


def test_explicit_fold_in_with_biases_gives_the_stored_layout():
    """Stored movie factors are ``[q, b_m, 1]``; the vector is ``[p, 1, mu + b_u]`` with the
    damped user bias, so its dot product with a movie's row is the full prediction."""
    config = ALSConfig(mode="explicit", reg_param=0.2, biases=True, user_damping=10.0)
    bias = RNG.normal(scale=0.3, size=len(ITEMS))
    items = np.c_[ITEMS, bias, np.ones(len(ITEMS))]
    mu = 3.6
    got = fold_in(items, RATED, RATINGS, config, mu=mu)
    b_u = np.sum(RATINGS - mu - bias[RATED]) / (len(RATED) + 10.0)
    residual = RATINGS - mu - bias[RATED] - b_u
    a = np.vstack([ITEMS[RATED], np.sqrt(0.2 * len(RATED)) * np.eye(5)])
    p = np.linalg.lstsq(a, np.r_[residual, np.zeros(5)], rcond=None)[0]
    np.testing.assert_allclose(got, np.r_[p, 1.0, mu + b_u], rtol=1e-9)
    assert items[RATED[0]] @ got == pytest.approx(ITEMS[RATED[0]] @ p + bias[RATED[0]] + mu + b_u)


def test_nonnegative_fold_in_solves_the_bounded_problem():
    config = ALSConfig(mode="implicit", alpha=3.0, reg_param=0.3, nonnegative=True)
    got = fold_in(ITEMS, RATED, RATINGS, config, gram(ITEMS))
    c = np.ones(len(ITEMS))
    c[RATED] += 3.0 * RATINGS
    p = np.zeros(len(ITEMS))
    p[RATED] = 1.0
    a = np.vstack([ITEMS * np.sqrt(c)[:, None], np.sqrt(0.3 * len(RATED)) * np.eye(5)])
    want = lsq_linear(a, np.r_[p * np.sqrt(c), np.zeros(5)], bounds=(0, np.inf)).x
    assert (got >= 0).all() and (got == 0).any()
    np.testing.assert_allclose(got, want, atol=1e-7)


def test_nothing_to_solve_from_gives_none():
    config = ALSConfig(mode="implicit", confidence="threshold", threshold=4.8)
    assert fold_in(ITEMS, RATED[:2], np.array([1.0, 2.0]), config, gram(ITEMS)) is None
    assert fold_in(ITEMS, RATED[:0], RATINGS[:0], ALSConfig(mode="explicit", biases=False)) is None
