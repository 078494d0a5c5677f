"""pullback.config: switches for debugging, set in code or by environment variables.

    import pullback as pb
    pb.config.update("debug_nans", True)     # or PULLBACK_DEBUG_NANS=1 in the environment
    pb.config.debug_nans                     # -> True

- ``debug_nans``: the first primitive that turns finite inputs into a NaN or inf, in the forward
  pass, a JVP or a backward pass, raises pullback.errors.NonFiniteError naming the primitive, the
  pass and the user's source line. Off (the default) it costs one flag read per primitive. Under
  jit the graph is then evaluated primitive by primitive, so the check applies there too.
- ``verbose`` (PULLBACK_VERBOSE=1): staging (jit, make_graph, linearize) that runs longer than a few
  seconds prints its progress to stderr: equations traced so far and the time elapsed.
- ``warnings_at_user_line`` (default True; PULLBACK_WARNINGS_AT_USER_LINE=0 turns it off): NumPy's
  floating-point warnings (divide by zero, invalid value ...) raised inside pullback's primitives are
  shown at the user's line that led to them, not at pullback's internals.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from .errors import ConfigError

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
#: Frames in these directories are library code; the first frame outside them is the user's line.
LIBRARY_DIRS = (_PACKAGE_DIR + os.sep, os.path.dirname(np.__file__) + os.sep,
                os.path.dirname(contextlib.__file__) + os.sep)


def user_frame(frame: Any = None) -> Any:
    """The innermost stack frame outside pullback, NumPy and the standard library: the user's line."""
    f = frame if frame is not None else sys._getframe(1)
    while f is not None and f.f_code.co_filename.startswith(LIBRARY_DIRS):
        f = f.f_back
    return f


_HOOKS: dict = {}


def on_change(name: str, hook: Callable[[bool], None]) -> None:
    """Call hook(value) now and whenever setting `name` changes (core modules keep fast module flags)."""
    _HOOKS.setdefault(name, []).append(hook)
    hook(getattr(config, name))


def _env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() not in ("", "0", "false", "no", "off")


_original_showwarning = warnings.showwarning


def _showwarning_at_user_line(message, category, filename, lineno, file=None, line=None):
    """Show a warning raised inside pullback at the innermost user frame on the stack instead."""
    if config.warnings_at_user_line and str(filename).startswith(LIBRARY_DIRS):
        frame = user_frame(sys._getframe(1))
        if frame is not None:
            filename, lineno, line = frame.f_code.co_filename, frame.f_lineno, None
    return _original_showwarning(message, category, filename, lineno, file, line)


class Config:
    """The settings; read them as attributes, change them with update(name, value)."""

    _NAMES = ("debug_nans", "verbose", "warnings_at_user_line")

    def __init__(self) -> None:
        self.debug_nans = False
        self.verbose = False
        self.warnings_at_user_line = True

    def update(self, name: str, value: Any) -> None:
        """Set one setting: update("debug_nans", True).

        Parameters: name, one of "debug_nans", "verbose", "warnings_at_user_line"; value, a bool.
        Raises: ConfigError for an unknown name.

        Example:
            >>> import pullback as pb
            >>> pb.config.update("debug_nans", True); pb.config.debug_nans
            True
            >>> pb.config.update("debug_nans", False)
        """
        if name not in self._NAMES:
            raise ConfigError(f"pullback.config has no setting {name!r}; the settings are {', '.join(self._NAMES)}.")
        value = bool(value)
        setattr(self, name, value)
        for hook in _HOOKS.get(name, ()):
            hook(value)

    def __repr__(self) -> str:
        return "Config(" + ", ".join(f"{n}={getattr(self, n)}" for n in self._NAMES) + ")"


config = Config()
config.update("debug_nans", _env_flag("PULLBACK_DEBUG_NANS"))
config.update("verbose", _env_flag("PULLBACK_VERBOSE"))
config.update("warnings_at_user_line", _env_flag("PULLBACK_WARNINGS_AT_USER_LINE", True))
if warnings.showwarning is _original_showwarning:
    warnings.showwarning = _showwarning_at_user_line

__all__ = ["Config", "config", "on_change", "user_frame"]
