"""Make traced values behave like ndarray: operators, attributes and methods, and NumPy dispatch.

Installs onto the core Tracer class (which knows nothing of NumPy's function list):
- Python operators (+, @, [], comparisons ...) and ndarray methods (x.sum, x.T ...);
- the tables that route numpy.sin(tracer) (__array_ufunc__) and numpy.sum(tracer)
  (__array_function__) to pullback.numpy's versions.
"""

from __future__ import annotations

import numpy as _np

from ..core import trace as _trace
from ..core.trace import Tracer
from ..errors import UnsupportedFunctionError
from ..primitives import elementwise as ew
from . import _reductions as R
from . import _shapes as S
from . import _ufuncs as U
from ._helpers import method


def _swap(f):
    return lambda self, other: f(other, self)


def _operator(prim):
    """A binary operator calling the primitive directly (the hot path of eager code)."""
    bind = prim.bind
    return lambda self, other: bind(self, other), lambda self, other: bind(other, self)


def _reshape_method(self, *shape, order="C"):
    if len(shape) == 1 and not isinstance(shape[0], int):
        shape = shape[0]
    return S.reshape(self, shape, order=order)


def _transpose_method(self, *axes):
    if len(axes) == 1 and not isinstance(axes[0], int):
        axes = axes[0]
    return S.transpose(self, axes or None)


def _setitem(self, idx, value):
    raise UnsupportedFunctionError(
        "in-place assignment x[idx] = v on a traced array is not supported yet; "
        "build a new array instead (pullback.numpy.where, concatenate, or add a scattered update)."
    )


def _astype(self, dtype, order="K", casting="unsafe", subok=True, copy=True):
    return U.astype(self, dtype)


def install(families=()) -> None:
    """Attach operators and ndarray methods to Tracer (plus each family module's METHODS)."""
    b, u = U.BINARY, U.UNARY
    ops = {}
    for name, prim in (("add", ew.add), ("sub", ew.subtract), ("mul", ew.multiply), ("truediv", ew.divide),
                       ("pow", ew.power)):
        ops[f"__{name}__"], ops[f"__r{name}__"] = _operator(prim)
    ops.update({
        "__matmul__": S.matmul, "__rmatmul__": _swap(S.matmul),
        "__lt__": b["less"], "__le__": b["less_equal"], "__gt__": b["greater"], "__ge__": b["greater_equal"],
        "__eq__": b["equal"], "__ne__": b["not_equal"],
        "__neg__": u["negative"], "__pos__": U.positive, "__abs__": u["absolute"],
        "__getitem__": S.getitem, "__setitem__": _setitem,
        "sum": method(R.sum), "mean": method(R.mean), "max": method(R.max),
        "min": method(R.min), "var": method(R.var), "std": method(R.std),
        "reshape": _reshape_method, "transpose": _transpose_method, "ravel": S.ravel, "flatten": S.ravel,
        "squeeze": S.squeeze, "swapaxes": S.swapaxes, "dot": S.dot, "astype": _astype,
        "conj": u["conjugate"], "conjugate": u["conjugate"],
    })
    for module in families:
        ops.update(getattr(module, "METHODS", {}))
    for name, fn in ops.items():
        setattr(Tracer, name, fn)
    Tracer.T = property(lambda self: S.transpose(self))
    Tracer.mT = property(lambda self: S.swapaxes(self, -1, -2))
    Tracer.real = property(U.real)
    Tracer.imag = property(U.imag)


def _ufunc_handler(fn, reduce_fn=None):
    def handle(method, *inputs, **kwargs):
        if method == "__call__":
            return fn(*inputs, **kwargs)
        if method == "reduce" and reduce_fn is not None:
            return reduce_fn(*inputs, **kwargs)
        raise UnsupportedFunctionError(
            f"numpy.{fn.__name__}.{method} on a traced value is not supported; "
            "use the pullback.numpy reduction (sum, max, ...) instead."
        )

    return handle


def register_numpy_dispatch(namespace: dict, submodules: dict) -> None:
    """Route NumPy's own functions, called on traced values, to the namesakes in `namespace`
    (ufuncs through __array_ufunc__, the rest through __array_function__), and likewise for
    numpy.linalg / numpy.fft and pullback.numpy.linalg / .fft."""
    reducers = {"add": R.sum, "maximum": R.max, "minimum": R.min}
    for name, fn in namespace.items():
        np_fn = getattr(_np, name, None)
        if not callable(fn) or np_fn is None or name.startswith("_"):
            continue
        if isinstance(np_fn, _np.ufunc):
            _trace.UFUNC_HANDLERS[np_fn] = _ufunc_handler(fn, reducers.get(name))
        elif callable(np_fn) and not isinstance(np_fn, type):
            _trace.ARRAY_FUNCTION_HANDLERS[np_fn] = fn
    for sub_name, module in submodules.items():
        np_sub = getattr(_np, sub_name)
        for name in module.__all__:
            np_fn = getattr(np_sub, name, None)
            if callable(np_fn):
                _trace.ARRAY_FUNCTION_HANDLERS[np_fn] = getattr(module, name)
