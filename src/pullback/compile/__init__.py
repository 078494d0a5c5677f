"""Compiled backends for pb.jit: fusion (fusion.py), a numba lowering (numba.py), a disk cache of the
generated kernels (cache.py) and the cost model choosing between NumPy and numba (cost.py).

numba is imported lazily, only when a kernel is built (`import pullback` never imports it).
"""
