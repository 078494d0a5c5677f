"""Generate docs/numpy-coverage.md: what pullback.numpy does with each of NumPy's public functions.

    PYTHONPATH=src python3 scripts/gen_numpy_coverage.py                  # writes docs/numpy-coverage.md
    PYTHONPATH=src python3 scripts/gen_numpy_coverage.py --output FILE    # writes FILE instead

The names come from NumPy itself (the callables of the numpy namespace, numpy.linalg and
numpy.fft, ndarray's public methods and attributes, and the Python operators of arrays), so
functions added to pullback.numpy appear without editing this file. The status of a name comes
from calling pullback's version on a traced value (SAMPLES gives the arguments where one float
array is not enough):

- differentiable: pb.jvp and pb.vjp both ran and gave a non-zero derivative;
- forward only: pb.jvp gave a derivative, pb.vjp raised a PullbackError;
- no derivative: it ran and returned values that carry no derivative (comparisons, argmax,
  rounding, shapes ...), or, for integer-only functions, it stages (pb.make_graph) on integers;
- provided: pullback.numpy defines it, but no probe could run (no sample arguments, or the probe
  failed for another reason, shown in the note): the status is by inspection, not measured;
- unsupported: calling it on a traced value raises a PullbackError (or, for an ndarray method, the
  traced value has no such attribute);
- n/a: not an array operation (printing, files, configuration, dtype helpers, dates, arrays made
  from shapes alone): there is nothing to differentiate.
"""

from __future__ import annotations

import argparse
import contextlib
import operator
import os
import re
import sys
import warnings
from collections import Counter
from collections.abc import Callable
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if os.path.join(ROOT, "src") not in sys.path:
    sys.path.insert(0, os.path.join(ROOT, "src"))

import numpy as np  # noqa: E402

import pullback as pb  # noqa: E402
import pullback.numpy as pnp  # noqa: E402
from pullback.core.trace import Tracer  # noqa: E402
from pullback.core.tree import tree_flatten, tree_unflatten  # noqa: E402
from pullback.errors import PullbackError  # noqa: E402

DEFAULT_OUTPUT = os.path.join(ROOT, "docs", "numpy-coverage.md")
STATUSES = ("differentiable", "forward only", "no derivative", "provided", "unsupported", "n/a")

# ----------------------------------------------------------------------------- sample arguments

_rng = np.random.default_rng(0)
A = _rng.uniform(0.3, 0.8, (2, 3))  # the default argument: positive, inside (−1, 1), no ties
B = _rng.uniform(0.3, 0.8, (2, 3))
V = _rng.uniform(0.3, 0.8, 3)
W = _rng.uniform(0.3, 0.8, 3)
M = _rng.uniform(-0.5, 0.5, (3, 3)) + 2.0 * np.eye(3)  # well-conditioned square
SPD = M @ M.T + np.eye(3)
M6 = _rng.uniform(-0.5, 0.5, (6, 6)) + 3.0 * np.eye(6)
X0, X1 = np.float64(0.3), np.float64(0.7)
IDX = np.array([[0, 2, 1], [1, 1, 0]])
I = np.array([[3, 1, 4], [1, 5, 9]])  # noqa: E741  integer samples
J = np.array([[2, 7, 1], [8, 2, 8]])


def s(call: Callable, *args) -> tuple:
    """A sample: call(f, *traced) with the float arrays args differentiated."""
    assert args, "a sample needs at least one traced argument"
    return call, args


def ints(call: Callable, *args) -> tuple:
    """A sample for an integer-only function: staged (pb.make_graph) on integer arrays."""
    assert args, "a sample needs at least one traced argument"
    return call, args, "int"


def updated(update: Callable) -> Callable:
    """A call that applies an in-place `update(f, c, *rest)` to c = a copy of the first argument, and returns c."""

    def call(f, a, *rest):
        c = a * 1.0
        update(f, c, *rest)
        return c

    return call


def method_updated(update: Callable) -> Callable:
    """The same for an in-place method: update(c) on a copy c of the traced value."""
    return lambda x: updated(lambda _, c: update(c))(None, x)


one = lambda f, a: f(a)  # noqa: E731
two = lambda f, a, b: f(a, b)  # noqa: E731

SAMPLES: dict[str, tuple] = {
    # elementwise with particular domains or arguments
    "arccosh": s(one, A + 1.0), "acosh": s(one, A + 1.0), "ldexp": s(lambda f, a: f(a, 2), A),
    "float_power": s(two, A, B), "isnat": None,
    "clip": s(lambda f, a: f(a, 0.4, 0.6), A), "round": s(lambda f, a: f(a, 1), A),
    "around": s(lambda f, a: f(a, 1), A), "isclose": s(two, A, B), "allclose": s(two, A, B),
    "array_equal": s(two, A, B), "array_equiv": s(two, A, B), "where": s(lambda f, a, b: f(a > 0.5, a, b), A, B),
    "select": s(lambda f, a, b: f([a > 0.5, a <= 0.5], [a, b]), A, B),
    "piecewise": s(lambda f, v: f(v, [v < 0.5, v >= 0.5], [lambda x: x, lambda x: 2 * x]), V),
    "heaviside": s(lambda f, a: f(a - 0.5, 0.5), A), "interp": s(lambda f, x, fp: f(x, [0.0, 0.5, 1.0], fp), V, W),
    "nan_to_num": s(one, A), "real_if_close": s(one, A), "unwrap": s(one, V * 5),
    "angle": s(lambda f, a, b: f(a + 1j * b), A, B), "imag": s(lambda f, a: f(a * (1 + 1j)), A),
    "iscomplex": s(lambda f, a: f(a * (1 + 1j)), A), "astype": s(lambda f, a: f(a, np.float32), A),
    "convolve": s(two, V, W), "correlate": s(two, V, W), "polyval": s(two, V, A),
    "polyfit": s(lambda f, y: f([0.0, 1.0, 2.0], y, 1), V), "polyadd": s(two, V, W), "polysub": s(two, V, W),
    "polymul": s(two, V, W), "polydiv": s(two, V, W), "polyder": s(one, V), "polyint": s(one, V),
    "roots": s(lambda f, v: f(np.array([1.0, -3.0]) * 0 + v), V), "poly": s(one, V),
    # shapes, joining, splitting
    "reshape": s(lambda f, a: f(a, (3, 2)), A), "moveaxis": s(lambda f, a: f(a, 0, -1), A),
    "swapaxes": s(lambda f, a: f(a, 0, 1), A), "rollaxis": s(lambda f, a: f(a, 1), A),
    "expand_dims": s(lambda f, a: f(a, 0), A), "squeeze": s(lambda f, a: f(a[None]), A),
    "broadcast_to": s(lambda f, a: f(a, (4, 2, 3)), A), "broadcast_arrays": s(two, A, V),
    "concatenate": s(lambda f, a, b: f([a, b]), A, B), "concat": s(lambda f, a, b: f([a, b]), A, B),
    "stack": s(lambda f, a, b: f([a, b]), A, B), "hstack": s(lambda f, a, b: f([a, b]), A, B),
    "vstack": s(lambda f, a, b: f([a, b]), A, B), "dstack": s(lambda f, a, b: f([a, b]), A, B),
    "column_stack": s(lambda f, a, b: f([a, b]), V, W), "row_stack": s(lambda f, a, b: f([a, b]), A, B),
    "block": s(lambda f, a, b: f([a, b]), A, B), "split": s(lambda f, a: f(a, 3, axis=1), A),
    "array_split": s(lambda f, a: f(a, 2, axis=1), A), "hsplit": s(lambda f, a: f(a, 3), A),
    "vsplit": s(lambda f, a: f(a, 2), A), "dsplit": s(lambda f, a: f(a.reshape(1, 2, 3), 3), A),
    "tile": s(lambda f, a: f(a, 2), A), "repeat": s(lambda f, a: f(a, 2, axis=0), A),
    "roll": s(lambda f, a: f(a, 1, axis=1), A), "rot90": s(one, A), "pad": s(lambda f, a: f(a, 1), A),
    "insert": s(lambda f, a: f(a, 1, 5.0, axis=1), A), "delete": s(lambda f, a: f(a, 1, axis=1), A),
    "append": s(lambda f, a, b: f(a, b, axis=0), A, B), "resize": s(lambda f, a: f(a, (3, 3)), A),
    "trim_zeros": s(one, V), "diag": s(one, A), "diagflat": s(one, V), "vander": s(one, V),
    "take": s(lambda f, a: f(a, [0, 2], axis=1), A), "take_along_axis": s(lambda f, a: f(a, IDX, axis=1), A),
    "choose": s(lambda f, a, b: f(IDX % 2, [a, b]), A, B), "compress": s(lambda f, a: f([1, 0, 1], a, 1), A),
    "extract": s(lambda f, a: f(a > 0.5, a), A), "searchsorted": s(lambda f, v: f(np.sort(V), v), V),
    "digitize": s(lambda f, v: f(v, [0.0, 0.5, 1.0]), V),
    "meshgrid": s(two, V, W), "ix_": s(two, V, W), "diag_indices_from": s(one, M),
    "tril_indices_from": s(one, M), "triu_indices_from": s(one, M),
    # reductions and cumulative functions
    "average": s(lambda f, a: f(a, axis=0, weights=[0.2, 0.8]), A), "percentile": s(lambda f, a: f(a, 40), A),
    "quantile": s(lambda f, a: f(a, 0.4), A), "nanpercentile": s(lambda f, a: f(a, 40), A),
    "nanquantile": s(lambda f, a: f(a, 0.4), A), "cumsum": s(lambda f, a: f(a, axis=1), A),
    "cumprod": s(lambda f, a: f(a, axis=1), A), "cumulative_sum": s(lambda f, a: f(a, axis=1), A),
    "cumulative_prod": s(lambda f, a: f(a, axis=1), A), "nancumsum": s(lambda f, a: f(a, axis=1), A),
    "nancumprod": s(lambda f, a: f(a, axis=1), A), "diff": s(lambda f, a: f(a, axis=1), A),
    "gradient": s(one, V), "trapezoid": s(one, V), "cross": s(two, V, W), "histogram": s(one, V),
    "histogram2d": s(two, V, W), "histogramdd": s(one, A.T), "histogram_bin_edges": s(one, V),
    "bincount": s(lambda f, w: f(np.array([0, 2, 2]), weights=w), V), "corrcoef": s(one, A), "cov": s(one, A),
    # products
    "dot": s(lambda f, a, b: f(a, b.T), A, B), "vdot": s(two, A, B), "inner": s(two, A, B), "outer": s(two, V, W),
    "matmul": s(lambda f, a, b: f(a, b.T), A, B), "tensordot": s(lambda f, a, b: f(a, b, axes=([1], [1])), A, B),
    "einsum": s(lambda f, a, b: f("ij,kj->ik", a, b), A, B), "kron": s(two, A, B),
    "matvec": s(two, M, V), "vecmat": s(two, V, M), "vecdot": s(two, A, B),
    "einsum_path": s(lambda f, a, b: f("ij,kj->ik", a, b), A, B),
    # sorting, sets
    "sort": s(lambda f, a: f(a, axis=-1), A), "partition": s(lambda f, v: f(v, 1), V),
    "argpartition": s(lambda f, v: f(v, 1), V), "lexsort": s(lambda f, a: f(a), A),
    "union1d": s(two, V, W), "intersect1d": s(two, V, V), "setdiff1d": s(two, V, W), "setxor1d": s(two, V, W),
    "isin": s(two, A, V), "unique_all": s(one, V), "unique_counts": s(one, V), "unique_inverse": s(one, V),
    "unique_values": s(one, V),
    # creation with array arguments
    "linspace": s(lambda f, a, b: f(a, b, 4), X0, X1), "logspace": s(lambda f, a, b: f(a, b, 4), X0, X1),
    "geomspace": s(lambda f, a, b: f(a, b, 4), X0, X1), "full": s(lambda f, x: f((2, 2), x), X0),
    "full_like": s(lambda f, a, x: f(a, x), A, X0),
    # in-place updates (of a traced array computed inside the function, not of an argument)
    "put_along_axis": s(updated(lambda f, c, b: f(c, IDX, b, axis=1)), A, B),
    "fill_diagonal": s(updated(lambda f, c, x: f(c, x)), A, X0),
    "put": s(updated(lambda f, c, v: f(c, [0, 4], v[:2])), A, V),
    "putmask": s(updated(lambda f, c, b: f(c, c > 0.5, b)), A, B),
    "place": s(updated(lambda f, c, v: f(c, c > 0.5, v)), A, V),
    "copyto": s(updated(lambda f, c, b: f(c, b)), A, B),
    # functions of functions
    "apply_along_axis": s(lambda f, a: f(pnp.sum, 0, a), A), "apply_over_axes": s(lambda f, a: f(pnp.sum, a, [0]), A),
    # integers only
    "bitwise_and": ints(two, I, J), "bitwise_or": ints(two, I, J), "bitwise_xor": ints(two, I, J),
    "bitwise_not": ints(one, I), "bitwise_invert": ints(one, I), "invert": ints(one, I),
    "bitwise_count": ints(one, I), "left_shift": ints(two, I, J), "right_shift": ints(two, I, J),
    "bitwise_left_shift": ints(two, I, J), "bitwise_right_shift": ints(two, I, J), "gcd": ints(two, I, J),
    "lcm": ints(two, I, J), "packbits": ints(lambda f, i: f(i.astype(np.uint8)), I),
    "unravel_index": ints(lambda f, i: f(i.ravel(), (20,)), I),
    "unpackbits": ints(lambda f, i: f(i.astype(np.uint8)), I),
    "ravel_multi_index": ints(lambda f, i: f((i[0] % 2, i[1] % 2), (2, 2)), I),
}
LINALG_SAMPLES: dict[str, tuple] = {
    "det": s(one, M), "slogdet": s(one, M), "inv": s(one, M), "pinv": s(one, A), "solve": s(two, M, V),
    "lstsq": s(lambda f, a, b: f(a, b, rcond=None), A.T, V), "norm": s(one, A), "cond": s(one, M),
    "matrix_rank": s(one, A), "matrix_power": s(lambda f, m: f(m, 3), M), "eig": s(one, M), "eigh": s(one, SPD),
    "eigvals": s(one, M), "eigvalsh": s(one, SPD), "svd": s(lambda f, a: f(a, full_matrices=False), A),
    "svdvals": s(one, A), "qr": s(one, M),
    "cholesky": s(one, SPD), "multi_dot": s(lambda f, a, b, m: f([a, b.T, m[:2, :2]]), A, B, M),
    "tensorinv": s(lambda f, m: f(m.reshape(2, 3, 6), ind=2), M6),
    "tensorsolve": s(lambda f, m, b: f(m.reshape(6, 2, 3), b), M6, M6[0]), "trace": s(one, M),
    "diagonal": s(one, M), "cross": s(two, V, W), "outer": s(two, V, W),
    "tensordot": s(lambda f, a, b: f(a, b, axes=([1], [1])), A, B), "matmul": s(lambda f, a, b: f(a, b.T), A, B),
    "matrix_transpose": s(one, A), "matrix_norm": s(one, M), "vector_norm": s(one, V), "vecdot": s(two, A, B),
}
FFT_SAMPLES: dict[str, tuple] = {
    "irfft": s(one, V), "hfft": s(one, V), "irfft2": s(one, A), "irfftn": s(one, A),
    "fftfreq": None, "rfftfreq": None,
}
METHOD_SAMPLES: dict[str, tuple] = {
    "argpartition": s(lambda x: x.argpartition(1), V), "astype": s(lambda x: x.astype(np.float32), A),
    "choose": None, "clip": s(lambda x: x.clip(0.4, 0.6), A), "compress": s(lambda x: x.compress([1, 0], 0), A),
    "cumprod": s(lambda x: x.cumprod(axis=1), A), "cumsum": s(lambda x: x.cumsum(axis=1), A),
    "dot": s(lambda x: x.dot(x.T), A), "fill": s(method_updated(lambda c: c.fill(1.0)), A),
    "partition": s(method_updated(lambda c: c.partition(1)), V), "put": s(method_updated(lambda c: c.put([0], 1.0)), A),
    "repeat": s(lambda x: x.repeat(2), A), "reshape": s(lambda x: x.reshape(3, 2), A),
    "searchsorted": s(lambda x: x.searchsorted(0.5), np.sort(V)), "sort": s(method_updated(lambda c: c.sort()), A),
    "swapaxes": s(lambda x: x.swapaxes(0, 1), A), "take": s(lambda x: x.take([0, 1]), A),
    "to_device": s(lambda x: x.to_device("cpu"), A), "round": s(lambda x: x.round(1), A),
    "imag": s(lambda x: (x * (1 + 1j)).imag, A),
}
NOT_ARRAY_OPERATIONS = {
    "files": ("load", "loadtxt", "save", "savetxt", "savez", "savez_compressed", "genfromtxt", "fromfile",
              "fromregex", "frombuffer", "fromstring", "fromiter", "from_dlpack", "dump", "dumps", "tofile",
              "tobytes", "memmap"),
    "printing and configuration": (
        "set_printoptions", "get_printoptions", "printoptions", "setbufsize", "getbufsize", "seterr", "geterr",
        "seterrcall", "geterrcall", "show_config", "show_runtime", "info", "test", "get_include",
        "format_float_positional", "format_float_scientific", "base_repr", "binary_repr", "setflags",
        "byteswap", "getfield", "setfield", "ctypes", "data", "flags", "strides", "itemsize", "nbytes", "base"),
    "dtype, shape and memory helpers": (
        "can_cast", "result_type", "promote_types", "min_scalar_type", "common_type", "mintypecode", "issubdtype",
        "isdtype", "typename", "iterable", "isscalar", "isfortran", "broadcast_shapes", "may_share_memory",
        "shares_memory"),
    "dates": ("busday_count", "busday_offset", "is_busday", "datetime_as_string", "datetime_data", "isnat"),
    "arrays from shapes or Python functions": (
        "empty", "zeros", "ones", "eye", "identity", "arange", "tri", "indices", "diag_indices", "tril_indices",
        "triu_indices", "mask_indices", "bartlett", "blackman", "hamming", "hanning", "kaiser", "fromfunction",
        "frompyfunc", "nested_iters", "fftfreq", "rfftfreq", "require", "asmatrix", "bmat"),
}
_NA = {name: why for why, names in NOT_ARRAY_OPERATIONS.items() for name in names}

# ----------------------------------------------------------------------------- probing


@contextlib.contextmanager
def _quiet():
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


def _short(e: BaseException) -> str:
    text = str(e).split(". ")[0].split("\n")[0]
    text = re.sub(r" at 0x[0-9a-f]+", "", text).replace("|", "/")
    return f"{type(e).__name__}: {text[:110]}"


def _nonzero(leaves) -> bool:
    for t in leaves:
        a = np.asarray(t)
        if a.dtype.kind in "fc" and a.size and np.any(a != 0):
            return True
    return False


def _probe_float(call: Callable, args: tuple) -> tuple[str, str]:
    """Run call(*traced args) in forward and reverse mode; classify what comes back."""
    rng = np.random.default_rng(1)
    args = tuple(np.array(a, np.float64) for a in args)  # copies: a probe never touches the samples
    tangents = tuple(rng.standard_normal(np.shape(a)) for a in args)
    try:
        with _quiet():
            out, t_out = pb.jvp(call, args, tangents)
    except PullbackError as e:
        return "unsupported", _short(e)
    out_leaves, out_tree = tree_flatten(out)
    if not _nonzero(tree_flatten(t_out)[0]):
        return "no derivative", ""
    try:
        with _quiet():
            _, vjp_fn = pb.vjp(call, *args)
            cts = []
            for o in out_leaves:
                o = np.asarray(o)
                c = rng.standard_normal(o.shape)
                cts.append(c + 1j * rng.standard_normal(o.shape) if o.dtype.kind == "c" else c)
            grads = vjp_fn(tree_unflatten(out_tree, cts))
    except PullbackError as e:
        return "forward only", _short(e)
    if not _nonzero(tree_flatten(grads)[0]):
        return "forward only", "vjp gave a zero cotangent"
    return "differentiable", ""


def _probe_int(call: Callable, args: tuple) -> tuple[str, str]:
    try:
        with _quiet():
            pb.make_graph(call, *args)
    except PullbackError as e:
        return "unsupported", _short(e)
    return "no derivative", "integers: stages on integer arrays"


def _dispatches(fn: Any) -> bool:
    """Whether NumPy routes this function's array arguments through __array_ufunc__/__array_function__."""
    return isinstance(fn, np.ufunc) or type(fn).__name__ == "_ArrayFunctionDispatcher"


def classify_function(name: str, np_fn: Any, ours: Any, samples: dict) -> tuple[str, str]:
    provided = ours is not None and ours is not np_fn
    if name in _NA:
        return "n/a", _NA[name]
    sample = samples.get(name, ...)
    if sample is ...:
        nin = getattr(np_fn, "nin", 1) if isinstance(np_fn, np.ufunc) else 1
        sample = (one, (A,)) if nin == 1 else (two, (A, B))
    fn = ours if ours is not None else np_fn
    status, note = None, ""
    if sample is not None:
        call, args = sample[0], sample[1]
        probe = _probe_int if len(sample) == 3 else _probe_float
        try:
            status, note = probe(lambda *xs: call(fn, *xs), args)
        except Exception as e:  # the sample does not fit the signature, or the function failed otherwise
            note = "probe failed: " + _short(e)
    if status is None:
        if provided:
            return "provided", note or "no sample arguments: by inspection"
        if _dispatches(np_fn):
            return "unsupported", "NumPy's own function: refuses traced values"
        return "n/a", note or "not an array operation"
    return status, note


def classify_attribute(name: str) -> tuple[str, str]:
    if name in _NA:
        return "n/a", _NA[name]
    sample = METHOD_SAMPLES.get(name, ...)
    if sample is None:
        return "n/a", "no traced equivalent"
    is_method = callable(getattr(np.ones((2, 2)), name))
    if sample is ...:
        sample = s((lambda x: getattr(x, name)()) if is_method else (lambda x: getattr(x, name)), A)
    call, args = sample
    try:
        return _probe_float(call, args)
    except AttributeError as e:
        return "unsupported", _short(e)
    except Exception as e:
        return ("provided" if hasattr(Tracer, name) else "unsupported"), "probe failed: " + _short(e)


# the Python operators of arrays: symbol -> (function of traced arrays, its float (or integer) samples)
OPERATORS: dict[str, tuple] = {
    "x + y": (operator.add, (A, B)), "x - y": (operator.sub, (A, B)), "x * y": (operator.mul, (A, B)),
    "x / y": (operator.truediv, (A, B)), "x // y": (operator.floordiv, (A, B)), "x % y": (operator.mod, (A, B)),
    "x ** y": (operator.pow, (A, B)), "x @ y": (lambda a, b: a @ b.T, (A, B)), "divmod(x, y)": (divmod, (A, B)),
    "x < y": (operator.lt, (A, B)), "x <= y": (operator.le, (A, B)), "x > y": (operator.gt, (A, B)),
    "x >= y": (operator.ge, (A, B)), "x == y": (operator.eq, (A, B)), "x != y": (operator.ne, (A, B)),
    "-x": (operator.neg, (A,)), "+x": (operator.pos, (A,)), "abs(x)": (abs, (A,)), "round(x)": (round, (A,)),
    "x[i]": (lambda a: a[0, ::-1], (A,)),
    "x[i] = v": (lambda a, b: updated(lambda _, c, v: c.__setitem__((0, 1), v[1, 1]))(None, a, b), (A, B)),
    "len(x)": (len, (A,)), "iter(x)": (lambda a: list(iter(a)), (A,)), "bool(x)": (lambda a: bool(a[0, 0] > 0), (A,)),
    "float(x)": (lambda a: float(a[0, 0]), (A,)), "int(x)": (lambda a: int(a[0, 0]), (A,)),
    "complex(x)": (lambda a: complex(a[0, 0]), (A,)),
    "i & j": (operator.and_, (I, J)), "i | j": (operator.or_, (I, J)), "i ^ j": (operator.xor, (I, J)),
    "~i": (operator.invert, (I,)), "i << j": (operator.lshift, (I, J)), "i >> j": (operator.rshift, (I, J)),
}


def classify_operator(sym: str) -> tuple[str, str]:
    op, args = OPERATORS[sym]
    probe = _probe_int if np.asarray(args[0]).dtype.kind == "i" else _probe_float
    try:
        return probe(op, args)
    except Exception as e:
        return "unsupported", "probe failed: " + _short(e)


# ----------------------------------------------------------------------------- the table


def _public_callables(module) -> list[str]:
    names = getattr(module, "__all__", None) or [n for n in dir(module) if not n.startswith("_")]
    out = []
    for n in names:
        obj = getattr(module, n, None)
        if callable(obj) and not isinstance(obj, type):
            out.append(n)
    return sorted(set(out))


def collect() -> dict[str, list[tuple[str, str, str]]]:
    """{section: [(name, status, note)]} for every public NumPy name this table covers."""
    sections: dict[str, list] = {}
    names = sorted(n for n in dir(np) if not n.startswith("_"))
    rows = []
    for n in names:
        obj = getattr(np, n)
        if callable(obj) and not isinstance(obj, type):
            ours = getattr(pnp, n, None)
            rows.append((n, *classify_function(n, obj, ours, SAMPLES)))
    sections["numpy"] = rows
    for sub, samples in (("linalg", LINALG_SAMPLES), ("fft", FFT_SAMPLES)):
        np_mod, our_mod = getattr(np, sub), getattr(pnp, sub)
        sections[f"numpy.{sub}"] = [
            (n, *classify_function(n, getattr(np_mod, n), getattr(our_mod, n, None), samples))
            for n in _public_callables(np_mod)
        ]
    attrs = sorted(n for n in dir(np.ndarray) if not n.startswith("_"))
    sections["ndarray methods and attributes"] = [(n, *classify_attribute(n)) for n in attrs]
    sections["array operators"] = [(sym, *classify_operator(sym)) for sym in OPERATORS]
    return sections


def counts(sections: dict) -> dict[str, Counter]:
    return {sec: Counter(status for _, status, _ in rows) for sec, rows in sections.items()}


def render(sections: dict) -> str:
    c = counts(sections)
    total = sum(c.values(), Counter())
    excluded = sorted(n for n in dir(np) if not n.startswith("_") and isinstance(getattr(np, n), type))
    lines = [
        "# NumPy coverage of pullback.numpy",
        "",
        "Generated by `scripts/gen_numpy_coverage.py` from the code (do not edit by hand):",
        "`PYTHONPATH=src python3 scripts/gen_numpy_coverage.py`.",
        f"NumPy {np.__version__}. Each status below is measured by calling pullback's version on a traced",
        "value (`pb.jvp` and `pb.vjp` on small float arrays), except `provided` and `n/a`.",
        "",
        "| status | meaning |",
        "|---|---|",
        "| differentiable | `pb.jvp` and `pb.vjp` both ran on a traced value and gave a non-zero derivative |",
        "| forward only | `pb.jvp` gave a derivative, `pb.vjp` raised a PullbackError |",
        "| no derivative | runs on traced values and returns values without derivative (comparisons, "
        "argmax, rounding, shapes; integer-only functions stage on integers) |",
        "| provided | pullback.numpy defines it, but no probe ran (see the note): status by inspection |",
        "| unsupported | raises a clear PullbackError on a traced value (for ndarray methods: no such "
        "attribute on traced values); on plain arrays NumPy's own function still works |",
        "| n/a | not an array operation (files, printing, configuration, dtype helpers, dates, arrays from "
        "shapes): nothing to differentiate |",
        "",
        "## Counts",
        "",
        "| section | " + " | ".join(STATUSES) + " | total |",
        "|---|" + "---:|" * (len(STATUSES) + 1),
    ]
    for sec, cnt in c.items():
        lines.append(f"| {sec} | " + " | ".join(str(cnt[k]) for k in STATUSES) + f" | {sum(cnt.values())} |")
    lines.append("| **all** | " + " | ".join(f"**{total[k]}**" for k in STATUSES) + f" | **{sum(total.values())}** |")
    lines += [
        "",
        f"Not listed: {len(excluded)} classes of the numpy namespace (dtypes and scalar types, `ndarray`, "
        "`errstate`, `vectorize` ...), which are types rather than functions.",
    ]
    for sec, rows in sections.items():
        lines += ["", f"## {sec}", "", "| name | status | note |", "|---|---|---|"]
        for name, status, note in rows:
            lines.append(f"| `{name.replace('|', chr(92) + '|')}` | {status} | {note} |")
    return "\n".join(lines) + "\n"


def generate(output: str = DEFAULT_OUTPUT) -> dict:
    """Write the table to `output`; return the sections it was made from."""
    sections = collect()
    with open(output, "w", encoding="utf-8") as fh:
        fh.write(render(sections))
    return sections


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    sections = generate(args.output)
    total = sum(counts(sections).values(), Counter())
    print(f"wrote {args.output}: " + ", ".join(f"{total[k]} {k}" for k in STATUSES))


if __name__ == "__main__":
    main()
