"""Generate the example and the op-count table of docs/staging.md.

    PYTHONPATH=src python3 docs/gen_staging_table.py            # print both
    PYTHONPATH=src python3 docs/gen_staging_table.py --update   # rewrite them in docs/staging.md

The functions are the seed-002 cases of tests/test_staging.py (SEED002_CASES), so the
table describes exactly what the tests check. For each function f and a random tangent v:
- f: equations in the graph of f itself;
- jvp: the graph of `pb.jvp(f, (x,), (v,))[1]` (forward mode), raw → simplified;
- jvp_by_vjp: the graph of `pb.jvp_by_vjp(f, (x,), (v,))[1]` (two reverse passes), raw → simplified;
- equivalent: whether the two simplified graphs are the same expression (`Graph.equivalent`);
- hvp fwd / rev: simplified graphs of the Hessian-vector product of s(x) = Σ sin(f(x)) by
  forward-over-reverse and reverse-over-reverse (`pb.hvp(mode=...)`).
"""

from __future__ import annotations

import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [os.path.join(ROOT, "src"), os.path.join(ROOT, "tests")]

import numpy as np  # noqa: E402

import pullback as pb  # noqa: E402
import pullback.numpy as pnp  # noqa: E402
from test_staging import SEED002_CASES, _scalarize, seed002_graphs, tangent_like  # noqa: E402


def table() -> str:
    rows = [
        "| function | f | jvp: raw → simplified | jvp_by_vjp: raw → simplified | equivalent | hvp fwd | hvp rev |",
        "|---|---:|---:|---:|:---:|---:|---:|",
    ]
    for name, (f, x, _) in SEED002_CASES.items():
        fwd, rev, v = seed002_graphs(f, x)
        fs, rs = fwd.simplify(), rev.simplify()
        n_f = pb.make_graph(f, x).simplify().op_count()
        s = _scalarize(f)
        w = tangent_like(x, 3)
        h_fwd = pb.make_graph(lambda x, v, s=s: pb.hvp(s, (x,), (v,), mode="fwd")[1], x, w).simplify()
        h_rev = pb.make_graph(lambda x, v, s=s: pb.hvp(s, (x,), (v,), mode="rev")[1], x, w).simplify()
        eq = "yes" if fs.equivalent(rs) else "no (sum order)"
        rows.append(
            f"| {name} | {n_f} | {fwd.op_count()} → {fs.op_count()} | {rev.op_count()} → {rs.op_count()} "
            f"| {eq} | {h_fwd.op_count()} | {h_rev.op_count()} |"
        )
    return "\n".join(rows)


def example() -> str:
    f = lambda x: pnp.sin(pnp.sin(pnp.sin(x)))  # noqa: E731
    x, v = np.array([0.1, 0.5, -1.2]), np.array([1.0, 2.0, 3.0])
    g1 = pb.make_graph(lambda x, v: pb.jvp(f, (x,), (v,))[1], x, v)
    g2 = pb.make_graph(lambda x, v: pb.jvp_by_vjp(f, (x,), (v,))[1], x, v)
    g1s, g2s = g1.simplify(), g2.simplify()
    parts = [
        "Forward mode, `pb.jvp`, as traced:", "```", str(g1), "```",
        "Two reverse passes, `pb.jvp_by_vjp`, as traced:", "```", str(g2), "```",
        "`pb.jvp`, simplified:", "```", str(g1s), "```",
        "`pb.jvp_by_vjp`, simplified:", "```", str(g2s), "```",
        f"`g1.simplify().equivalent(g2.simplify())` → `{g1s.equivalent(g2s)}`. "
        "The generated NumPy source of the simplified `jvp_by_vjp` graph (`Graph.source()`):",
        "```python", g2s.source().rstrip(), "```",
    ]
    return "\n".join(parts)


def update(path: str) -> None:
    text = open(path, encoding="utf-8").read()
    for tag, body in (("example", example()), ("table", table())):
        pattern = re.compile(rf"(<!-- {tag}:start -->\n).*?(<!-- {tag}:end -->)", re.S)
        if not pattern.search(text):
            raise SystemExit(f"{path}: no <!-- {tag}:start --> ... <!-- {tag}:end --> block")
        text = pattern.sub(lambda m, body=body: m.group(1) + body + "\n" + m.group(2), text)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


if __name__ == "__main__":
    if "--update" in sys.argv:
        update(os.path.join(HERE, "staging.md"))
    else:
        print(example())
        print()
        print(table())
