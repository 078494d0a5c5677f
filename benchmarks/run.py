"""Entry point: ``python -m benchmarks.run [--quick] [--only W1,W3] [--peers numpy,autograd]``.

The full run writes BENCHMARKS.md (repository root), docs/img/bench_w*.png and
benchmarks/results.json. A --quick run writes under benchmarks/_quick/ instead, so that
it never overwrites the reference numbers.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKLOADS = ["W1", "W2", "W3", "W4", "W5", "W6", "W7", "M1", "W8", "W9", "W10", "W11", "J1", "J2"]
ALL_PEERS = ("numpy", "autograd", "torch", "jax")


def _import_pullback():
    try:
        import pullback  # noqa: F401
    except ImportError:
        sys.path.insert(0, str(ROOT / "src"))
        import pullback  # noqa: F401


def _modules():
    from . import (
        j2_rolled,
        jit_call,
        m1_memory,
        w1_mlp,
        w2_adjoint,
        w3_eager,
        w4_hvp,
        w5_jvp,
        w6_jacobian,
        w7_gp,
        w8_ode,
        w9_distributed,
        w10_sparse,
        w11_taylor,
    )

    return {"W1": w1_mlp, "W2": w2_adjoint, "W3": w3_eager, "W4": w4_hvp, "W5": w5_jvp, "W6": w6_jacobian,
            "W7": w7_gp, "M1": m1_memory, "W8": w8_ode, "W9": w9_distributed,
            "W10": w10_sparse, "W11": w11_taylor, "J1": jit_call, "J2": j2_rolled}


def _pin_threads() -> tuple[object, dict]:
    """Limit every BLAS/OpenMP pool to one thread for the whole run (threadpoolctl, if importable)."""
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:
        return None, {}
    limiter = threadpool_limits(limits=1)
    pools = [f"{p.get('internal_api')} {p.get('version', '')} ({p.get('num_threads')} thread"
             f"{'s' if p.get('num_threads') != 1 else ''})" for p in threadpool_info()]
    return limiter, {"blas": "; ".join(pools) or "none found"}


def _tune_malloc() -> str:
    """Keep freed memory in the process (glibc): no page faults for re-allocated temporaries.

    On this VM class a page fault is expensive and its cost swings with the load on the host;
    NumPy code that allocates many arrays above glibc's mmap threshold (128 KiB) then measures
    the kernel more than the arithmetic. Every framework in the process benefits alike.
    """
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return "not tuned (no glibc mallopt)"
    m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3
    ok = (mallopt(m_mmap_threshold, 32 * 1024 * 1024) == 1 and mallopt(m_trim_threshold, 1 << 30) == 1
          and mallopt(m_top_pad, 64 * 1024 * 1024) == 1)
    return ("glibc mallopt: M_MMAP_THRESHOLD=32 MiB, M_TRIM_THRESHOLD=1 GiB, M_TOP_PAD=64 MiB (freed memory is "
            "reused, not returned to the OS)") if ok else "mallopt refused: default glibc settings"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="reduced sizes and budgets (about a minute)")
    ap.add_argument("--tiny", action="store_true",
                    help="smallest sizes and budgets: checks the runner end to end in seconds (implies --no-write)")
    ap.add_argument("--only", default="", help="comma-separated workloads, e.g. W1,W3 (default: all)")
    ap.add_argument("--peers", default=",".join(ALL_PEERS),
                    help=f"comma-separated peers to include among {','.join(ALL_PEERS)}; 'none' for pullback only")
    ap.add_argument("--budget-scale", type=float, default=1.0, help="scale the seconds spent per measurement")
    ap.add_argument("--out", default=None, help="markdown report path (default: BENCHMARKS.md, or "
                                                "benchmarks/_quick/BENCHMARKS-quick.md with --quick)")
    ap.add_argument("--no-malloc-tuning", action="store_true",
                    help="leave glibc's allocator at its defaults (see BENCHMARKS.md, 'allocator')")
    ap.add_argument("--no-plots", action="store_true", help="do not write PNG plots")
    ap.add_argument("--no-write", action="store_true", help="print the report instead of writing files")
    args = ap.parse_args(argv)

    from .common import Config, load_peers
    from .report import make_plots, render

    _import_pullback()
    peers_req = () if args.peers.strip() == "none" else tuple(p.strip() for p in args.peers.split(",") if p.strip())
    unknown = set(peers_req) - set(ALL_PEERS)
    if unknown:
        ap.error(f"unknown peers {sorted(unknown)}; choose among {ALL_PEERS}")
    if args.tiny:
        args.no_write = True
    size = "tiny" if args.tiny else ("quick" if args.quick else "full")
    cfg = Config.make(size, peers=peers_req + ("numpy",), budget_scale=args.budget_scale)
    only = [w.strip().upper() for w in args.only.split(",") if w.strip()] or WORKLOADS
    bad = [w for w in only if w not in WORKLOADS]
    if bad:
        ap.error(f"unknown workloads {bad}; choose among {WORKLOADS}")

    if args.quick:
        out_md = Path(args.out) if args.out else ROOT / "benchmarks" / "_quick" / "BENCHMARKS-quick.md"
        img_dir, img_prefix = out_md.parent / "img", "img/"
    else:
        out_md = Path(args.out) if args.out else ROOT / "BENCHMARKS.md"
        img_dir = ROOT / "docs" / "img"
        img_prefix = "docs/img/" if out_md.resolve().parent == ROOT else str(img_dir) + "/"
    json_path = out_md.parent / "results-quick.json" if args.quick else ROOT / "benchmarks" / "results.json"

    t0 = time.perf_counter()
    malloc = "default (--no-malloc-tuning)" if args.no_malloc_tuning or args.tiny else _tune_malloc()
    limiter, thread_info = _pin_threads()
    thread_info["malloc"] = malloc
    thread_info["load_start"] = _loadavg()
    peers = load_peers(cfg)
    for name, note in peers.notes.items():
        print(f"peer {name}: skipped, {note}", flush=True)
    for name, v in peers.versions.items():
        print(f"peer {name} {v}", flush=True)

    mods = _modules()
    results, failures = [], {}
    for key in only:
        print(f"== {key}: {mods[key].TITLE}", flush=True)
        try:
            r = mods[key].run(cfg, peers)
        except Exception:  # noqa: BLE001 - one broken workload must not hide the others
            tb = traceback.format_exc()
            print(tb, file=sys.stderr, flush=True)
            failures[key] = tb
            continue
        results.append(r)
        print(f"   {key} done in {r.seconds:.1f} s", flush=True)
    total = time.perf_counter() - t0
    thread_info["load_end"] = _loadavg()

    if not args.no_plots and not args.no_write:
        make_plots(results, img_dir)
    md = render(cfg, peers, thread_info, results, failures, total, img_prefix)
    print()
    from .report import targets_table

    print(targets_table(results, failures))
    if args.no_write:
        if not args.tiny:
            print(md)
    else:
        out_md.parent.mkdir(parents=True, exist_ok=True)
        out_md.write_text(md, encoding="utf-8")
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps({
            "size": cfg.size, "total_seconds": total,
            "workloads": {r.key: {"params": r.params, "data": r.data, "notes": r.notes, "seconds": r.seconds,
                                  "targets": [t.__dict__ for t in r.targets]} for r in results},
            "failures": failures}, indent=1, default=_json_default, ensure_ascii=False), encoding="utf-8")
        print(f"\nwrote {out_md} and {json_path} ({total:.0f} s)")
    if limiter is not None:
        limiter.restore_original_limits()
    gc.unfreeze()
    return 1 if failures else 0


def _loadavg() -> str:
    try:
        return ", ".join(f"{v:.2f}" for v in os.getloadavg())
    except (AttributeError, OSError):
        return "?"


def _json_default(o):
    import numpy as np

    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, tuple):
        return list(o)
    return str(o)


if __name__ == "__main__":
    sys.exit(main())
