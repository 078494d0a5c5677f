"""pullback: automatic differentiation of NumPy code, forward and reverse, to any order."""

from . import extend, numpy, testing, tree_util
from .api import grad, jvp, linear_transpose, linearize, stop_gradient, value_and_grad, vjp
from .checkpoint import checkpoint, checkpoint_scan
from .control import cond, fori_loop, scan, while_loop
from .custom import Function, FunctionCtx, custom_jvp, custom_vjp
from .errors import PullbackError
from .implicit import custom_root, linear_solve
from .jacobians import ggnvp, hessian, hvp, jacfwd, jacobian, jacrev, jvp_by_vjp
from .jit import jit, make_graph
from .sparse import (
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
    "Function", "FunctionCtx", "PullbackError", "checkpoint", "checkpoint_scan", "cond", "custom_jvp", "extend",
    "custom_root", "custom_vjp", "fori_loop", "ggnvp", "grad", "hessian", "hvp", "jacfwd", "jacobian", "jacrev",
    "jit", "jvp", "jvp_by_vjp", "linear_solve", "linear_transpose", "linearize", "make_graph", "numpy", "scan",
    "stop_gradient", "testing", "tree_util", "value_and_grad", "vjp", "vmap", "while_loop",
    "SparseHessian", "SparseJacobian", "Sparsity", "color_columns", "color_rows", "hessian_sparsity",
    "jacobian_sparsity", "sparse_hessian", "sparse_jacfwd", "sparse_jacobian", "sparse_jacrev", "star_coloring",
    "jet", "taylor_derivatives",
]
