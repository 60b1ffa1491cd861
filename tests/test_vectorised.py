"""The shared numpy helpers of the blockwise models."""

from __future__ import annotations

import numpy as np

from recsys.vectorised import top_positions


def test_top_positions_decides_ties_at_the_cut_off_by_id():
    """Five values tie for the last two places: the smaller ids win, whatever order the
    partition leaves them in; the result is largest first."""
    values = np.array([0.5, 0.9, 0.5, 0.5, 0.1, 0.5, 0.5])
    ids = np.array([70, 10, 60, 20, 5, 40, 30])
    assert top_positions(values, ids, 3).tolist() == [1, 3, 6]  # 0.9, then ids 20 and 30
    assert top_positions(values, ids, 10).tolist() == [1, 3, 6, 5, 2, 0, 4]
    assert top_positions(values, ids, 0).tolist() == []
