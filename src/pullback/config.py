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

import os
import sys
import warnings
from typing import Any

from .core import ad as _ad
from .core import primitive as _primitive
from .core import staging as _staging
from .errors import ConfigError


def _env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() not in ("", "0", "false", "no", "off")


_original_showwarning = warnings.showwarning


def _showwarning_at_user_line(message, category, filename, lineno, file=None, line=None):
    """Show a warning raised inside pullback at the innermost user frame on the stack instead."""
    if config.warnings_at_user_line and str(filename).startswith(_primitive._LIBRARY_DIRS):
        frame = _primitive.user_frame(sys._getframe(1))
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
        if name == "debug_nans":
            _primitive.DEBUG_NANS = _ad.DEBUG_NANS = value
        elif name == "verbose":
            _staging.VERBOSE = value

    def __repr__(self) -> str:
        return "Config(" + ", ".join(f"{n}={getattr(self, n)}" for n in self._NAMES) + ")"


config = Config()
config.update("debug_nans", _env_flag("PULLBACK_DEBUG_NANS"))
config.update("verbose", _env_flag("PULLBACK_VERBOSE"))
config.update("warnings_at_user_line", _env_flag("PULLBACK_WARNINGS_AT_USER_LINE", True))
if warnings.showwarning is _original_showwarning:
    warnings.showwarning = _showwarning_at_user_line

__all__ = ["Config", "config"]
