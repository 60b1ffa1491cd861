"""numpy helpers for the models that score from broadcast CSR arrays (kNN, EASE, content)."""

from __future__ import annotations

import numpy as np

__all__ = ["csr_ranges"]


def csr_ranges(indptr: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Concatenated CSR slices ``indptr[p]:indptr[p + 1]`` of every ``p`` in ``pos``, and
    their lengths."""
    lens = indptr[pos + 1] - indptr[pos]
    first = np.repeat(indptr[pos] - np.cumsum(lens) + lens, lens)
    return first + np.arange(lens.sum()), lens
