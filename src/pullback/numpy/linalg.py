"""pullback.numpy.linalg: numpy.linalg, differentiable."""

from __future__ import annotations

import numpy as _np

__all__: list[str] = []


def __getattr__(name: str):
    """Fall back to NumPy's own function (it raises a clear error if it meets a traced value)."""
    try:
        return getattr(_np.linalg, name)
    except AttributeError:
        raise AttributeError(f"module 'pullback.numpy.linalg' has no attribute {name!r}") from None
