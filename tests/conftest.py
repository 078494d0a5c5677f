"""Shared fixtures, and the IR type checker turned on for the whole suite."""

from __future__ import annotations

import numpy as np
import pytest

from pullback.core import check

# Every graph staged while the tests run, and every pass's result, is type-checked (core/check.py).
check.ENABLED = True


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator, so every random point a test uses is reproducible."""
    return np.random.default_rng(1234)
