"""The cost model choosing between the NumPy source backend and numba, and the tiering between them.

Per call, the NumPy backend pays about a microsecond of dispatch per equation plus its memory traffic
(one pass over every output); a numba kernel pays one dispatch per kernel and one pass per fused loop.
Compiling costs about 0.5 s plus some 40 ms per equation (once: later processes read numba's disk cache).

Kept on NumPy: graphs dominated by large matrix products (BLAS does the work either way), large arrays
of transcendental functions (NumPy's SIMD ufuncs beat scalar loops built with fastmath=False), and
very large graphs (compile time). Tiering: the NumPy source runs first; the compiled kernel takes over
when it is on disk already, or once calls so far × predicted saving per call exceeds the compile time.
"""

from __future__ import annotations

import numpy as np

from ..core.atoms import Var
from ..core.subgraph import subgraphs_of

MAX_EQNS = 4000  # larger graphs stay on NumPy (compile time grows with the source)
BLAS_FLOPS = 2e5  # a product above this many multiply-adds is BLAS-bound
BIG_TRANSCENDENTAL = 1e5  # elements of transcendental ufuncs past which NumPy's SIMD loops win
NUMPY_OP_S = 1.0e-6  # NumPy backend: dispatch per equation
NUMPY_ELEM_S = 1.0e-9  # NumPy backend: per output element, per equation
NUMBA_CALL_S = 1.5e-6  # numba: per kernel or NumPy segment called by the driver
NUMBA_ELEM_S = 0.4e-9  # numba: per element of fused work
COMPILE_S, COMPILE_EQN_S = 0.5, 0.04


def _size(v) -> int:
    return int(np.prod(v.aval.shape)) if v.aval.shape else 1


def estimate(graph) -> dict:
    """Predicted seconds per call on NumPy and on numba, the compile time, and a reason to stay on NumPy."""
    from .numba import lowerable

    eqns = graph.eqns
    n = graph.op_count()
    elems = sum(_size(o) for e in eqns for o in e.outs)
    flops = 0.0
    trans = 0
    segments, low_prev = 0, None
    for e in eqns:
        p = e.prim
        if getattr(p.lower, "blas", False) and len(e.ins) == 2 and all(isinstance(a, Var) for a in e.ins):
            flops += float(np.prod(e.ins[0].aval.shape or (1,))) * (e.ins[1].aval.shape[-1] if
                                                                   len(e.ins[1].aval.shape) > 1 else 1)
        if p.scalar_expr is None and isinstance(p.impl, np.ufunc) and p.elementwise:
            trans += _size(e.outs[0])
        low = lowerable(e)
        if low != low_prev or not low or subgraphs_of(e.params):
            segments += 1
        low_prev = low
    numpy_s = n * NUMPY_OP_S + elems * NUMPY_ELEM_S
    numba_s = segments * NUMBA_CALL_S + elems * NUMBA_ELEM_S + flops * 0.5e-9
    reason = None
    if n > MAX_EQNS:
        reason = f"a very large graph ({n} equations)"
    elif flops > BLAS_FLOPS and flops * 0.5e-9 > 0.5 * numpy_s:
        reason = "BLAS-bound (large matrix products)"
    elif trans > BIG_TRANSCENDENTAL and trans > 0.5 * elems:
        reason = "large arrays of transcendental functions (NumPy's SIMD ufuncs are faster)"
    return {"numpy_s": numpy_s, "numba_s": numba_s, "compile_s": COMPILE_S + COMPILE_EQN_S * n, "reason": reason,
            "segments": segments}


def worth_compiling(est: dict, calls: int) -> bool:
    """Tiering: compile once calls so far (taken as the calls still to come) × saving beat the compile time."""
    saving = est["numpy_s"] - est["numba_s"]
    return est["reason"] is None and saving > 0 and calls * saving > est["compile_s"]


def _log(msg: str) -> None:
    from ..config import config

    if config.verbose:
        import sys

        print(f"pullback.jit: {msg}", file=sys.stderr)


def _numba_failure(err: Exception) -> bool:
    """An error numba raised while typing or lowering a kernel (not one of the computation's own)."""
    return type(err).__module__.startswith("numba")


class Tiered:
    """A jitted graph's function: the NumPy source first, then (when chosen) the numba program.

    mode "numba" compiles at the first call; mode "auto" counts calls and switches when the numba
    program is on disk already or `worth_compiling` says so. A kernel numba cannot type (an operation it
    does not support on these dtypes) sends the graph back to NumPy for good, logged (PULLBACK_VERBOSE=1).
    """

    __slots__ = ("numpy", "graph", "name", "mode", "program", "est", "calls", "fn", "failed")

    def __init__(self, numpy_fn, graph, name: str, mode: str):
        self.numpy, self.graph, self.name, self.mode = numpy_fn, graph, name, mode
        self.program = None
        self.est = None
        self.calls = 0
        self.failed = False
        self.fn = self._first if mode == "numba" else self._counting
        if mode == "auto":
            self.est = estimate(graph)
            if self.est["reason"] is not None:
                _log(f"{name} stays on NumPy: {self.est['reason']}")
                self.fn = numpy_fn
            elif self._get_program().is_cached():
                self.fn = self._first  # compiled by an earlier process: loading it is cheap

    @property
    def __pullback_source__(self) -> str:
        return self.source()

    def source(self, backend: str | None = None) -> str:
        """The generated code: of the backend running now, or of `backend` ("numpy" / "numba")."""
        running = "numpy" if self.failed or self.fn is self.numpy or self.fn == self._counting else "numba"
        if (backend or running) == "numba":
            return self._get_program().source()
        return self.numpy.__pullback_source__

    @property
    def backend(self) -> str:
        return "numba" if self.program is not None and self.fn is self.program.run else "numpy"

    def _get_program(self):
        if self.program is None:
            from .numba import NumbaProgram

            self.program = NumbaProgram(self.graph, self.name)
        return self.program

    def __call__(self, *args):
        return self.fn(*args)

    def _counting(self, *args):
        self.calls += 1
        if worth_compiling(self.est, self.calls):
            self.fn = self._first
            return self._first(*args)
        return self.numpy(*args)

    def _first(self, *args):
        import time

        t0 = time.perf_counter()
        program = self._get_program()
        if self.mode == "auto" or self.est is not None:
            _log(f"compiling {self.name} with numba ({len(program.kernels)} kernels and NumPy segments, "
                 f"{self.graph.op_count()} equations)...")
        else:
            _log(f"compiling {self.name} with numba ({len(program.kernels)} kernels and NumPy segments)...")
        try:
            out = program.run(*args)
        except Exception as err:
            if not _numba_failure(err):
                raise
            _log(f"{self.name}: numba could not compile a kernel ({type(err).__name__}); running on NumPy")
            self.failed = True
            self.fn = self.numpy
            return self.numpy(*args)
        _log(f"{self.name} runs on numba (ready in {time.perf_counter() - t0:.2f} s)")
        self.fn = program.run
        return out
