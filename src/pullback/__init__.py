"""pullback: automatic differentiation of NumPy code, forward and reverse, to any order."""

from . import numpy, testing, tree_util
from .api import (
    ggnvp,
    grad,
    hessian,
    hvp,
    jacfwd,
    jacobian,
    jacrev,
    jvp,
    jvp_by_vjp,
    linear_transpose,
    linearize,
    stop_gradient,
    value_and_grad,
    vjp,
)
from .custom import Function, FunctionCtx, custom_jvp, custom_vjp
from .errors import PullbackError
from .checkpoint import checkpoint, checkpoint_scan
from .control import cond, fori_loop, scan, while_loop
from .jit import jit, make_graph
from .vmap import vmap

__version__ = "0.1.0"

__all__ = [
    "Function", "checkpoint", "checkpoint_scan", "cond", "fori_loop", "scan", "while_loop", "FunctionCtx", "PullbackError", "custom_jvp", "custom_vjp", "ggnvp", "grad", "hessian", "jit", "make_graph",
    "hvp", "jacfwd", "jacobian", "jacrev", "jvp", "jvp_by_vjp", "linear_transpose", "linearize",
    "numpy", "stop_gradient", "testing", "tree_util", "value_and_grad", "vjp", "vmap",
]
