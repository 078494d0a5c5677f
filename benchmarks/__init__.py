"""pullback's benchmark suite: the workloads of DESIGN §5, pullback against its peers.

Run with ``python -m benchmarks.run`` (``--quick`` for a one-minute smoke run).
Importing this package pins BLAS and OpenMP to one thread when NumPy has not been
imported yet (the numbers are single-threaded by contract).
"""

import os as _os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
             "NUMEXPR_NUM_THREADS"):
    _os.environ.setdefault(_var, "1")
# JAX/XLA: one intra-op thread (read when jax is first imported).
_os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
_os.environ.setdefault("JAX_PLATFORMS", "cpu")
_os.environ.setdefault("JAX_ENABLE_X64", "1")
