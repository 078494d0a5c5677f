"""The engine: primitives, traces, forward and reverse mode, pytrees. Knows nothing of NumPy's function list."""
