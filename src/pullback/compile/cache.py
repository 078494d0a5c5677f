"""Disk cache of compiled kernels.

Each kernel's generated source is written as a module ``pb_<key>.py`` into the cache directory,
``key = sha256(source + pullback version + numba version)``, and imported from there; the kernel is
decorated ``@njit(cache=True)``, so numba stores its machine code beside the module (``__pycache__``)
and a second process importing the same module pays no compile. The directory is
``$PULLBACK_CACHE_DIR`` when set, else ``~/.cache/pullback``; a kernel lives in its ``numba/`` folder.
"""

from __future__ import annotations

import glob
import hashlib
import importlib.util
import os
import sys
import tempfile
from typing import Any

_LOADED: dict = {}  # key -> imported module (one import per process)


def cache_dir() -> str:
    """The folder the kernels are written to (created on first use)."""
    base = os.environ.get("PULLBACK_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "pullback")
    return os.path.join(base, "numba")


_VERSIONS: list = []


def _versions() -> str:
    """The installed pullback and numba versions (read from their metadata: numba is not imported)."""
    if not _VERSIONS:
        from importlib import metadata

        found = []
        for dist in ("pullback", "numba"):
            try:
                found.append(f"{dist} {metadata.version(dist)}")
            except metadata.PackageNotFoundError:
                found.append(f"{dist} unknown")
        _VERSIONS.append("; ".join(found))
    return _VERSIONS[0]


def key_of(source: str) -> str:
    """The cache key of a kernel module: a hash of its source and the pullback and numba versions."""
    return hashlib.sha256((source + "\n#" + _versions()).encode()).hexdigest()[:24]


def is_cached(source: str) -> bool:
    """True when numba's compiled code for this source is on disk already (so loading it is cheap)."""
    key = key_of(source)
    if key in _LOADED:
        return True
    return bool(glob.glob(os.path.join(cache_dir(), "__pycache__", f"pb_{key}.*.nbi")))


def load(source: str, name: str) -> Any:
    """The function `name` of the module with this source, written to the cache folder and imported."""
    key = key_of(source)
    mod = _LOADED.get(key)
    if mod is None:
        folder = cache_dir()
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, f"pb_{key}.py")
        if not os.path.exists(path):  # written whole under a temporary name, then renamed (atomic)
            fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
            with os.fdopen(fd, "w") as fh:
                fh.write(source)
            os.replace(tmp, path)
        spec = importlib.util.spec_from_file_location(f"pullback_kernel_{key}", path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod
        spec.loader.exec_module(mod)
        _LOADED[key] = mod
    return getattr(mod, name)
