"""pullback.scipy: differentiable versions of SciPy's functions, as pullback.numpy is for NumPy.

    import pullback.scipy.special as sp      # sp.gammaln, sp.logsumexp, ...
    import pullback.scipy.stats as st        # st.norm.logpdf(x, loc, scale), ...

Submodules (special, stats, linalg, signal, integrate, optimize) load on first use, so that
``import pullback`` never imports SciPy. SciPy is an optional dependency (``pullback[scipy]``).
"""

from __future__ import annotations

import importlib
from typing import Any

from ..errors import MissingDependencyError

try:
    import scipy as _scipy
except ImportError as e:  # pragma: no cover - exercised by a subprocess test without SciPy
    raise MissingDependencyError(
        "pullback.scipy needs SciPy, which is not installed. Install it with "
        "`pip install 'pullback[scipy]'` (or `pip install scipy`)."
    ) from e

SUBMODULES = ("special", "stats", "linalg", "signal", "integrate", "optimize")
scipy_version: str = _scipy.__version__

__all__ = list(SUBMODULES)


def __getattr__(name: str) -> Any:
    if name in SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(SUBMODULES))
