"""pullback: automatic differentiation of NumPy code, forward and reverse, to any order."""

from . import extend, lax, numpy, testing, tree_util
from .api import (
    elementwise_grad,
    float0,
    grad,
    jvp,
    linear_transpose,
    linearize,
    stop_gradient,
    value_and_grad,
    vjp,
)
from .callback import ShapeDtypeStruct, pure_callback
from .checkpoint import checkpoint, checkpoint_scan
from .config import config
from .control import cond, fori_loop, scan, while_loop
from .core.trace import is_traced
from .custom import Function, FunctionCtx, custom_jvp, custom_vjp
from .errors import PullbackError
from .implicit import custom_root, linear_solve
from .jacobians import ggnvp, hessian, hvp, jacfwd, jacobian, jacrev, jvp_by_vjp
from .jit import jit, make_graph
from .vmap import vmap

__version__ = "0.1.0"

__all__ = [
    "Function", "FunctionCtx", "PullbackError", "ShapeDtypeStruct", "checkpoint", "checkpoint_scan", "cond",
    "config", "custom_jvp", "custom_root", "custom_vjp", "elementwise_grad", "extend", "float0", "fori_loop",
    "ggnvp", "grad", "hessian", "hvp", "is_traced", "jacfwd", "jacobian", "jacrev", "jit", "jvp", "jvp_by_vjp",
    "lax", "linear_solve", "linear_transpose", "linearize", "make_graph", "numpy", "pure_callback", "scan",
    "stop_gradient", "testing", "tree_util", "value_and_grad", "vjp", "vmap", "while_loop",
]
