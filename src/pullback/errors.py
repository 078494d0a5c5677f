"""One hierarchy for every error pullback raises; each message says what to do."""

from __future__ import annotations


class PullbackError(Exception):
    """Base class of all pullback errors.

    Each subclass also derives from the built-in exception a caller would expect (TypeError,
    ValueError, NotImplementedError, ...), so ``except TypeError`` keeps working; the message
    says what to do.

    Examples
    --------
    >>> import pullback as pb, pullback.numpy as np
    >>> try:
    ...     pb.grad(lambda x: x * 2.0)(np.ones(3))
    ... except pb.PullbackError as e:
    ...     print(type(e).__name__)
    NonScalarOutputError
    """


class NonScalarOutputError(PullbackError, TypeError):
    """`grad` was asked to differentiate a function whose output is not a scalar."""


class NonDifferentiableInputError(PullbackError, TypeError):
    """An integer, boolean or otherwise non-float input was marked for differentiation."""


class CotangentError(PullbackError, ValueError):
    """A cotangent (or tangent) does not match the shape, dtype or structure expected."""


class TracerConversionError(PullbackError, TypeError):
    """A traced value was handed to code that cannot see through it (plain NumPy, float(), ...)."""


class UnsupportedFunctionError(PullbackError, NotImplementedError):
    """A NumPy function or feature that pullback does not differentiate."""


class HasAuxError(PullbackError, TypeError):
    """A function declared with has_aux=True did not return an (output, aux) pair."""


class ArgnumsError(PullbackError, ValueError):
    """argnums names an argument the function was not called with."""


class EscapedTracerError(PullbackError, RuntimeError):
    """A traced value outlived the transformation that created it."""


class ViewWriteError(PullbackError, ValueError):
    """An in-place write into a traced view whose base was written after the view was taken."""


class DynamicIndexError(PullbackError, IndexError):
    """An index or window given by a traced integer (a loop counter under jit) does not fit the array."""


class PytreeError(PullbackError, TypeError):
    """Two pytrees that must have the same structure do not."""


class CustomRuleError(PullbackError, TypeError):
    """A custom_vjp / custom_jvp / Function rule returned something malformed."""


class NonDifferentiableArgumentError(PullbackError, TypeError):
    """A function was differentiated in an argument it has no derivative in (an integer order, a shape)."""


class MissingDependencyError(PullbackError, ImportError):
    """An optional dependency (SciPy for pullback.scipy) is not installed."""


class BackendError(PullbackError, TypeError):
    """An operation on arrays of another library (Dask, torch, CuPy, an array-API namespace) that pullback
    cannot do there: a primitive without an implementation for it, two libraries mixed, a data-dependent
    shape on a lazy array."""


class GraphCheckError(PullbackError, TypeError):
    """A staged graph is ill-typed: an equation's recorded shape/dtype is not what its primitive's
    shape rule gives, or a variable is used before it is defined (an internal error of a pass)."""


class NonLinearRuleError(PullbackError, TypeError):
    """A forward (JVP) rule that a reverse rule is derived from is not linear in its tangent."""


class ArgumentError(PullbackError, TypeError):
    """A transformation got arguments, or a function it runs returned values, of the wrong kind
    (bare arrays where a tuple of arguments is expected, a scan body that returns no pair ...)."""


class NonFiniteError(PullbackError, FloatingPointError):
    """debug_nans is on and a primitive produced a NaN or inf from finite inputs."""


class ConfigError(PullbackError, KeyError):
    """pullback.config.update was given a name pullback has no setting for."""
