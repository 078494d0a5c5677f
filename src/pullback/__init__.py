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
from .sparse import (
    SparseCOO,
    SparseHessian,
    SparseJacobian,
    Sparsity,
    color_columns,
    color_rows,
    hessian_sparsity,
    jacobian_sparsity,
    sparse_hessian,
    sparse_jacfwd,
    sparse_jacobian,
    sparse_jacrev,
    star_coloring,
)
from .taylor import jet, taylor_derivatives
from .vmap import vmap

__version__ = "0.1.0"

__all__ = [
    "Function", "FunctionCtx", "PullbackError", "SparseCOO", "SparseHessian", "SparseJacobian", "Sparsity",
    "checkpoint",
    "checkpoint_scan", "color_columns", "color_rows", "cond", "config", "custom_jvp", "custom_root",
    "custom_vjp", "elementwise_grad", "extend", "float0", "fori_loop", "ggnvp", "grad", "hessian",
    "hessian_sparsity", "hvp", "is_traced", "jacfwd", "jacobian", "jacobian_sparsity", "jacrev", "jet", "jit",
    "jvp", "jvp_by_vjp", "lax", "linear_solve", "linear_transpose", "linearize", "make_graph", "numpy",
    "pure_callback", "scan", "ShapeDtypeStruct", "sparse_hessian", "sparse_jacfwd", "sparse_jacobian",
    "sparse_jacrev",
    "star_coloring", "stop_gradient", "taylor_derivatives", "testing", "tree_util", "value_and_grad", "vjp",
    "vmap", "while_loop",
]
