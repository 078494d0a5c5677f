"""Markdown tables shared by the workloads: one row per framework, derivative ratios per case."""

from __future__ import annotations

from .common import Recorder, fmt_ratio, fmt_time, md_table, ratio

# Row labels, in display order: (framework key in the Recorder, label in the table).
FRAMEWORKS = [
    ("pullback", "pullback"),
    ("pullback.jit", "pullback.jit"),
    ("numpy", "NumPy (by hand)"),
    ("autograd", "autograd"),
    ("torch", "PyTorch eager"),
    ("jax", "JAX eager"),
    ("jax.jit", "jax.jit"),
]


def framework_table(rec: Recorder, f_case: str, d_cases: list, numpy_f=None, labels=None) -> str:
    """Per framework: f time, then per derivative case its time, ÷ own f, ÷ NumPy f, and pullback ÷ it.

    d_cases: list of (case key, column label).
    """
    numpy_f = rec.get("numpy", f_case) if numpy_f is None else numpy_f
    header = ["framework", "f"]
    for _, lab in d_cases:
        header += [lab, f"{lab} ÷ f", f"{lab} ÷ NumPy f", f"pullback ÷ this ({lab})"]
    rows = []
    for fw, label in labels or FRAMEWORKS:
        present = [k for (f, k) in rec.t if f == fw]
        if not present:
            continue
        f_t = rec.get(fw, f_case)
        row = [label, fmt_time(f_t) if f_t is not None else _fail(rec, fw, f_case)]
        for case, _ in d_cases:
            d_t = rec.get(fw, case)
            pb_t = rec.get("pullback", case)
            row += [
                fmt_time(d_t) if d_t is not None else _fail(rec, fw, case),
                fmt_ratio(ratio(d_t, f_t)),
                fmt_ratio(ratio(d_t, numpy_f)),
                "1" if fw == "pullback" and d_t is not None else fmt_ratio(ratio(pb_t, d_t)),
            ]
        rows.append(row)
    return md_table(header, rows)


def _fail(rec: Recorder, fw: str, case: str) -> str:
    msg = rec.failure(fw, case)
    return f"failed: {msg[:60]}" if msg else "—"


def skipped_note(peers, names=("autograd", "torch", "jax")) -> str:
    lines = [f"- {n}: skipped, {peers.notes[n]}" for n in names if n in peers.notes]
    return "\n".join(lines)


def derivative_report(res, rec: Recorder, peers, case: str, how: str, eager_goal: float, jit_goal: float) -> None:
    """Markdown and targets of a workload that times one derivative `case` against f (W4, W5):
    derivative ÷ f (pullback), ÷ NumPy f (DESIGN eager target), pullback.jit ÷ NumPy f (DESIGN jit target)."""
    from .common import target

    r_pb = ratio(rec.get("pullback", case), rec.get("pullback", "f"))
    r_np = ratio(rec.get("pullback", case), rec.get("numpy", "f"))
    res.markdown = "\n\n".join(filter(None, [
        framework_table(rec, "f", [(case, case)]),
        f"pullback {case} ÷ f = **{fmt_ratio(r_pb)}** (÷ NumPy f: {fmt_ratio(r_np)}). {how}",
        skipped_note(peers)]))
    res.targets = [
        target(res.key, f"{case} ÷ f (pullback)", f"≤ {eager_goal}", r_pb, lambda r: r <= eager_goal),
        target(res.key, f"{case} ÷ NumPy f (DESIGN eager target)", f"≤ {eager_goal}", r_np,
               lambda r: r <= eager_goal),
        target(res.key, f"pullback.jit {case} ÷ NumPy f (DESIGN jit target)", f"≤ {jit_goal}",
               ratio(rec.get("pullback.jit", case), rec.get("numpy", "f")), lambda r: r <= jit_goal),
    ]
