"""docs/gen_sparse_taylor_plots.py (the plots of docs/sparse.md and docs/taylor.md) runs and writes
its three PNGs (a quick run, into a temporary folder)."""

from __future__ import annotations

import importlib.util
import pathlib

import pytest

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs"


def test_plot_script_writes_the_pngs(tmp_path):
    pytest.importorskip("matplotlib")
    pytest.importorskip("scipy")
    spec = importlib.util.spec_from_file_location("gen_sparse_taylor_plots", DOCS / "gen_sparse_taylor_plots.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--quick", "--out", str(tmp_path)]) == 0
    for name in ("sparse_coloring.png", "taylor_ode.png", "taylor_cost.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
