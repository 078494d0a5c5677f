"""W1 — MLP gradient: tanh MLP 784-512-512-10, batch 128, mean softmax cross-entropy.

f is the loss; the derivative is value_and_grad with respect to all parameters
(a list [W1, b1, W2, b2, W3, b3]). The floor is the hand-written NumPy backprop below,
checked against pullback's gradient to 1e-10 before anything is timed.
"""

from __future__ import annotations

import time

import numpy as np

from .common import (
    Config,
    Peers,
    Recorder,
    WorkloadResult,
    attempt,
    first_call_seconds,
    fmt_ratio,
    jax_block,
    ratio,
    rng,
    target,
)
from .tables import framework_table, skipped_note

KEY, TITLE = "W1", "MLP gradient (value_and_grad)"

FULL = dict(sizes=(784, 512, 512, 10), batch=128)
QUICK = FULL  # the workload is cheap enough (≈10 ms per f) to keep its real size in --quick
TINY = dict(sizes=(7, 5, 4, 3), batch=6)


def make_problem(gen: np.random.Generator, sizes=FULL["sizes"], batch=FULL["batch"]):
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        params.append(gen.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in))
        params.append(0.1 * gen.standard_normal(fan_out))
    X = gen.standard_normal((batch, sizes[0]))
    labels = gen.integers(0, sizes[-1], size=batch)
    Y = np.zeros((batch, sizes[-1]))
    Y[np.arange(batch), labels] = 1.0
    return params, X, Y


def loss(xp, params, X, Y):
    """Mean softmax cross-entropy of a tanh MLP, written against a NumPy-like namespace xp."""
    h = X
    for i in range(0, len(params) - 2, 2):
        h = xp.tanh(h @ params[i] + params[i + 1])
    logits = h @ params[-2] + params[-1]
    m = xp.max(logits, axis=1, keepdims=True)
    lse = xp.log(xp.sum(xp.exp(logits - m), axis=1, keepdims=True)) + m
    return -xp.sum(Y * (logits - lse)) / X.shape[0]


def torch_loss(torch, params, X, Y):
    h = X
    for i in range(0, len(params) - 2, 2):
        h = torch.tanh(h @ params[i] + params[i + 1])
    logits = h @ params[-2] + params[-1]
    m = torch.amax(logits, dim=1, keepdim=True)
    lse = torch.log(torch.sum(torch.exp(logits - m), dim=1, keepdim=True)) + m
    return -torch.sum(Y * (logits - lse)) / X.shape[0]


def hand_value_and_grad(params, X, Y):
    """The same loss and its gradient by hand-written backprop (the floor)."""
    hs = [X]
    h = X
    for i in range(0, len(params) - 2, 2):
        h = np.tanh(h @ params[i] + params[i + 1])
        hs.append(h)
    logits = h @ params[-2] + params[-1]
    m = np.max(logits, axis=1, keepdims=True)
    e = np.exp(logits - m)
    s = np.sum(e, axis=1, keepdims=True)
    lse = np.log(s) + m
    batch = X.shape[0]
    value = -np.sum(Y * (logits - lse)) / batch
    dz = (e / s - Y) / batch  # ∂loss/∂logits (each row of Y sums to 1)
    grads = [None] * len(params)
    for i in range(len(params) - 2, -1, -2):
        a = hs[i // 2]
        grads[i] = a.T @ dz
        grads[i + 1] = dz.sum(axis=0)
        if i > 0:
            dz = (dz @ params[i].T) * (1.0 - a * a)
    return value, grads


def max_grad_error(g_ref, g) -> float:
    """max over parameters of max|g - g_ref| / max(1, max|g_ref|)."""
    return max(float(np.max(np.abs(np.asarray(b) - a)) / max(1.0, float(np.max(np.abs(a)))))
               for a, b in zip(g_ref, g, strict=True))


def pullback_value_and_grad(params, X, Y):
    import pullback as pb
    import pullback.numpy as pnp

    return pb.value_and_grad(lambda p: loss(pnp, p, X, Y))(params)


def run(cfg: Config, peers: Peers) -> WorkloadResult:
    import pullback as pb
    import pullback.numpy as pnp

    t_start = time.perf_counter()
    size = cfg.pick(FULL, QUICK, TINY)
    params, X, Y = make_problem(rng(cfg, 1), **size)
    res = WorkloadResult(KEY, TITLE, {"layers": "-".join(map(str, size["sizes"])), "batch": size["batch"],
                                      "dtype": "float64", "loss": "mean softmax cross-entropy"})
    rec = Recorder(cfg, KEY)

    # correctness first, outside timing: pullback's gradient equals the hand backprop's
    v_hand, g_hand = hand_value_and_grad(params, X, Y)
    vg = pb.value_and_grad(lambda p: loss(pnp, p, X, Y))
    v_pb, g_pb = vg(params)
    err = max_grad_error(g_hand, g_pb)
    assert abs(v_pb - v_hand) <= 1e-10 * max(1.0, abs(v_hand)), (v_pb, v_hand)
    assert err <= 1e-10, f"W1: pullback's gradient differs from the hand backprop by {err:.3g}"
    res.notes.append(f"pullback's gradient matches the hand backprop: max relative difference {err:.2e}.")

    rec.group("pullback", {
        "f": lambda: loss(pnp, params, X, Y),
        "vg": lambda: vg(params),
    })
    rec.group("numpy", {
        "f": lambda: loss(np, params, X, Y),
        "vg": lambda: hand_value_and_grad(params, X, Y),
    })
    if hasattr(pb, "jit"):  # staged: the data are arguments, as for jax.jit
        loss_data = lambda p, X_, Y_: loss(pnp, p, X_, Y_)
        pj_f, pj_vg = pb.jit(loss_data), pb.jit(pb.value_and_grad(loss_data))
        first = first_call_seconds(lambda: pj_vg(params, X, Y))
        res.notes.append(f"pullback.jit value_and_grad: first call (trace + simplify + compile + run) {first:.3f} s")
        if attempt(res, "pullback.jit", lambda: _check(res, "pullback.jit", g_hand, pj_vg(params, X, Y)[1])):
            rec.group("pullback.jit", {
                "f": lambda: pj_f(params, X, Y),
                "vg": lambda: pj_vg(params, X, Y),
            })

    if peers.has("autograd"):
        ag_vg = peers.autograd.value_and_grad(lambda p: loss(peers.anp, p, X, Y))
        _check(res, "autograd", g_hand, ag_vg(params)[1])
        rec.group("autograd", {
            "f": lambda: loss(peers.anp, params, X, Y),
            "vg": lambda: ag_vg(params),
        })
    if peers.has("torch"):
        torch = peers.torch
        tp = [torch.tensor(p) for p in params]
        tpg = [torch.tensor(p, requires_grad=True) for p in params]
        tX, tY = torch.tensor(X), torch.tensor(Y)

        def t_vg():
            out = torch_loss(torch, tpg, tX, tY)
            return out.detach(), torch.autograd.grad(out, tpg)

        _check(res, "torch", g_hand, [g.numpy() for g in t_vg()[1]])
        rec.group("torch", {
            "f": lambda: torch_loss(torch, tp, tX, tY),
            "vg": t_vg,
        })
    if peers.has("jax"):
        jax, jnp = peers.jax, peers.jnp
        jp = [jnp.asarray(p) for p in params]
        jX, jY = jnp.asarray(X), jnp.asarray(Y)
        jf = lambda p: loss(jnp, p, jX, jY)
        j_vg = jax.value_and_grad(jf)
        _check(res, "jax", g_hand, j_vg(jp)[1])
        rec.group("jax", {
            "f": jax_block(jax, lambda: jf(jp)),
            "vg": jax_block(jax, lambda: j_vg(jp)),
        })
        # under jit the data are arguments too, so that XLA cannot fold them in as constants
        jf_data = lambda p, X_, Y_: loss(jnp, p, X_, Y_)
        jit_f, jit_vg = jax.jit(jf_data), jax.jit(jax.value_and_grad(jf_data))
        rec.group("jax.jit", {
            "f": jax_block(jax, lambda: jit_f(jp, jX, jY)),
            "vg": jax_block(jax, lambda: jit_vg(jp, jX, jY)),
        })

    pb_f, pb_vg = rec.get("pullback", "f"), rec.get("pullback", "vg")
    hand_vg = rec.get("numpy", "vg")
    r_pb, r_hand = ratio(pb_vg, pb_f), ratio(hand_vg, rec.get("numpy", "f"))
    r_pb_hand = ratio(pb_vg, hand_vg)
    res.data = {"times": rec.raw(), "grad_error_vs_hand": err,
                "ratios": {"pullback_vg_over_f": r_pb, "hand_vg_over_f": r_hand, "pullback_over_hand": r_pb_hand}}
    res.markdown = "\n\n".join(filter(None, [
        framework_table(rec, "f", [("vg", "value_and_grad")]),
        f"pullback value_and_grad ÷ f = **{fmt_ratio(r_pb)}**; hand backprop value_and_grad ÷ f = "
        f"**{fmt_ratio(r_hand)}**; pullback ÷ hand backprop = **{fmt_ratio(r_pb_hand)}**.",
        skipped_note(peers),
    ]))
    res.targets = [
        target(KEY, "value_and_grad ÷ f (pullback)", "≤ 3", r_pb, lambda r: r <= 3),
        target(KEY, "value_and_grad ÷ hand backprop", "≤ 1.15", r_pb_hand, lambda r: r <= 1.15),
        target(KEY, "value_and_grad ÷ NumPy f (DESIGN eager target)", "≤ 2.6",
               ratio(pb_vg, rec.get("numpy", "f")), lambda r: r <= 2.6),
        target(KEY, "pullback.jit value_and_grad ÷ NumPy f (DESIGN jit target)", "≤ 2.3",
               ratio(rec.get("pullback.jit", "vg"), rec.get("numpy", "f")), lambda r: r <= 2.3),
    ]
    res.data["plot_series"] = _plot_series(rec)
    res.seconds = time.perf_counter() - t_start
    return res


def _check(res: WorkloadResult, name: str, g_ref, g) -> None:
    err = max_grad_error(g_ref, [np.asarray(x) for x in g])
    if err > 1e-8:
        res.notes.append(f"WARNING: {name}'s gradient differs from the hand backprop by {err:.3g}.")


def _plot_series(rec: Recorder) -> dict:
    """{framework: (f seconds, derivative seconds)} for the bar plot."""
    out = {}
    for fw in ("pullback", "pullback.jit", "numpy", "autograd", "torch", "jax", "jax.jit"):
        f, d = rec.get(fw, "f"), rec.get(fw, "vg")
        if f is not None and d is not None:
            out[fw] = (f, d)
    return out
