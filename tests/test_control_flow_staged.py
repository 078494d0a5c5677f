"""Control flow kept rolled in staged graphs: scan, fori_loop, while_loop and cond as higher-order
primitives whose bodies are sub-graphs (pullback/primitives/control_flow.py, pullback/control.py).

Every function here is checked staged against its eager self (the Python loop, which is what runs
with no staging underneath) to 1e-12, under jit, jit(grad), grad(jit), jvp / vjp / linearize /
hessian / vmap of jitted loops, and against central differences to order 2 (order 3 for a sample).
"""

from __future__ import annotations

import numpy as np
import pytest

import pullback as pb
import pullback.numpy as pnp
from pullback.primitives.control_flow import ControlFlowError

RNG = np.random.default_rng(14)
W3 = RNG.standard_normal((3, 3)) * 0.4


def close(a, b, rtol=1e-12, atol=1e-13):
    la, lb = pb.tree_util.tree_leaves(a), pb.tree_util.tree_leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol)


def prim_names(graph) -> list[str]:
    return [e.prim.name for e in graph.eqns]


# ----------------------------------------------------------------------------- the functions


def fori_closure(x, th):
    """A fori_loop whose body closes over th (an outer traced value) and reads the counter."""
    def body(i, c):
        return pnp.sin(c * th) + 0.1 * c * c * th + 0.01 * i
    return pnp.sum(pb.fori_loop(0, 7, body, x))


def scan_rnn(x, th):
    """A scan with xs and ys: c = tanh(W c + x_t * th), y = c * x_t."""
    xs = pnp.stack([x * 0.5, pnp.cos(x), x * x])

    def body(c, xt):
        c = pnp.tanh(W3 @ c + xt * th)
        return c, c * xt

    c, ys = pb.scan(body, x, xs)
    return pnp.sum(ys * ys) + pnp.sum(c)


def scan_reverse(x, th):
    def body(c, xt):
        return c * pnp.cos(xt) + th, pnp.sin(c) * xt
    c, ys = pb.scan(body, th * 1.0, x, reverse=True)
    return pnp.sum(ys) + c * c


def pytree_carry(x, th):
    """A carry that is a dict holding a tuple and an integer counter."""
    def body(i, c):
        a, (b, n) = c["a"], c["bn"]
        return {"a": pnp.sin(a) * b + th, "bn": (b * pnp.cos(a) - 0.1 * th, n + 1)}
    out = pb.fori_loop(0, 4, body, {"a": x, "bn": (x * 0.5 + 1.0, 0)})
    return pnp.sum(out["a"] * out["bn"][0]) + out["bn"][1]


def nested_loops(x, th):
    """fori_loop inside a scan body, over carries of both levels."""
    def outer(c, xt):
        inner = pb.fori_loop(0, 3, lambda i, d: pnp.tanh(d * th + c * xt), c)
        return inner * 0.9 + xt, pnp.sum(inner)
    c, ys = pb.scan(outer, x, pnp.stack([x, x * 0.3]))
    return pnp.sum(c) + pnp.sum(ys)


def cond_inside_scan(x, th):
    def body(c, xt):
        c = pb.cond(pnp.sum(c) > 0.2, lambda a: pnp.sin(a) * th, lambda a: a * a - th, c + xt)
        return c, c[0]
    c, ys = pb.scan(body, x, pnp.stack([x, -x, x * 0.5]))
    return pnp.sum(c) + pnp.sum(ys)


def loop_inside_cond(x, th):
    def yes(a):
        return pb.fori_loop(0, 3, lambda i, c: pnp.sin(c) * th, a)

    def no(a):
        return pb.scan(lambda c, xt: (c * pnp.cos(xt), None), a, pnp.stack([a, a]))[0]

    return pnp.sum(pb.cond(pnp.sum(x) > 0, yes, no, x))


def cond_closure(x, th):
    """Both branches close over th; the predicate depends on x."""
    return pnp.sum(pb.cond(pnp.sum(x) > 0, lambda a: pnp.sin(a) * th, lambda a: pnp.exp(a * th), x))


def while_staged(x, th):
    def body(c):
        return c[0] * 1.3 + pnp.sin(c[0]) * th, c[1] + 1
    c, n = pb.while_loop(lambda c: pnp.sum(c[0] * c[0]) < 30.0, body, (x, 0))
    return pnp.sum(c) + n


FUNCS = {
    "fori closure": fori_closure,
    "scan rnn": scan_rnn,
    "scan reverse": scan_reverse,
    "pytree carry": pytree_carry,
    "nested loops": nested_loops,
    "cond inside scan": cond_inside_scan,
    "loop inside cond": loop_inside_cond,
    "cond closure": cond_closure,
}
POINTS = [np.array([0.3, -0.2, 0.5]), np.array([-0.4, -0.1, -0.6])]
TH = 0.7


def params():
    return [pytest.param(name, x, id=f"{name}-{k}") for name in FUNCS for k, x in enumerate(POINTS)]


# ----------------------------------------------------------------------------- staged equals eager


@pytest.mark.parametrize("name, x", params())
def test_staged_loops_and_branches_equal_their_eager_values(name, x):
    f = FUNCS[name]
    close(pb.jit(f)(x, TH), f(x, TH))
    g = pb.make_graph(f, x, TH)
    assert {"scan", "cond", "while_loop"} & set(prim_names(g))


@pytest.mark.parametrize("name, x", params())
def test_derivatives_of_staged_loops_equal_eager_derivatives(name, x):
    f = FUNCS[name]
    grad = pb.grad(f, argnums=(0, 1))
    expect = grad(x, TH)
    close(pb.jit(grad)(x, TH), expect)
    close(pb.grad(pb.jit(f), argnums=(0, 1))(x, TH), expect)
    v = np.linspace(-1.0, 1.0, x.size)
    close(pb.jit(lambda x, v: pb.jvp(lambda y: f(y, TH), (x,), (v,)))(x, v), pb.jvp(lambda y: f(y, TH), (x,), (v,)))
    out, back = pb.vjp(pb.jit(f), x, TH)
    close(out, f(x, TH))
    close(back(1.0), expect)
    y, lin = pb.linearize(pb.jit(lambda y: f(y, TH)), x)
    close(lin(v), pb.jvp(lambda y: f(y, TH), (x,), (v,))[1])


@pytest.mark.parametrize("name, x", params())
def test_second_derivatives_of_staged_loops_equal_eager_ones(name, x):
    f = lambda y: FUNCS[name](y, TH)  # noqa: E731
    h = pb.hessian(f)(x)
    close(pb.jit(pb.hessian(f))(x), h, rtol=1e-11)
    close(pb.hessian(pb.jit(f))(x), h, rtol=1e-11)
    close(pb.jit(pb.jacfwd(pb.grad(f)))(x), h, rtol=1e-11)


@pytest.mark.parametrize("name, x", params()[::2])
def test_staged_loops_match_central_differences_to_order_2(name, x):
    f = FUNCS[name]
    pb.testing.check_grads(pb.jit(f), (x, TH), order=2, modes=("fwd", "rev"))
    pb.testing.check_grads(pb.jit(pb.grad(f, argnums=(0, 1))), (x, TH), order=1, modes=("fwd", "rev"))


@pytest.mark.parametrize("name", ["scan rnn", "nested loops", "cond inside scan"])
def test_staged_loops_match_central_differences_to_order_3(name):
    f = FUNCS[name]
    pb.testing.check_grads(pb.jit(lambda y: f(y, TH)), (POINTS[0],), order=3, modes=("fwd", "rev"))


@pytest.mark.parametrize("name", list(FUNCS))
def test_vmap_of_staged_loops_equals_the_loop_over_examples(name):
    f = FUNCS[name]
    xs = np.stack(POINTS + [np.array([0.1, 0.2, -0.3])])
    expect = np.array([f(x, TH) for x in xs])
    close(pb.vmap(pb.jit(lambda y: f(y, TH)))(xs), expect)
    close(pb.jit(pb.vmap(lambda y: f(y, TH)))(xs), expect)
    close(pb.jit(pb.vmap(pb.grad(lambda y: f(y, TH))))(xs), np.stack([pb.grad(f)(x, TH) for x in xs]))


def test_vmap_with_a_batched_predicate_selects_each_examples_branch():
    xs = np.stack(POINTS)  # one positive and one negative sum
    expect = np.array([cond_closure(x, TH) for x in xs])
    close(pb.jit(pb.vmap(lambda y: cond_closure(y, TH)))(xs), expect)
    close(pb.jit(pb.vmap(pb.grad(lambda y: cond_closure(y, TH))))(xs), np.stack([pb.grad(cond_closure)(x, TH)
                                                                                  for x in xs]))


# ----------------------------------------------------------------------------- while_loop


@pytest.mark.parametrize("x", POINTS, ids=["pos", "neg"])
def test_while_loop_with_a_staged_condition_is_staged_with_forward_derivatives(x):
    close(pb.jit(while_staged)(x, TH), while_staged(x, TH))
    assert "while_loop" in prim_names(pb.make_graph(while_staged, x, TH))
    f = lambda y: while_staged(y, TH)  # noqa: E731
    close(pb.jit(pb.jacfwd(f))(x), pb.jacfwd(f)(x))
    close(pb.jit(pb.jacfwd(pb.jacfwd(f)))(x), pb.jacfwd(pb.jacfwd(f))(x), rtol=1e-11)
    # reverse mode on the evaluated graph: the trip count is known then
    close(pb.grad(pb.jit(while_staged), argnums=(0, 1))(x, TH), pb.grad(while_staged, argnums=(0, 1))(x, TH))
    close(pb.hessian(pb.jit(f))(x), pb.hessian(f)(x), rtol=1e-11)


def test_reverse_mode_of_a_staged_while_loop_raises_a_clear_error():
    with pytest.raises(ControlFlowError, match="while_loop.*fori_loop or scan"):
        pb.jit(pb.grad(while_staged))(POINTS[0], TH)
    with pytest.raises(pb.PullbackError):
        pb.make_graph(pb.grad(while_staged), POINTS[0], TH)


# ----------------------------------------------------------------------------- graph size and trace time


def _fori(n):
    def f(x, th):
        return pb.fori_loop(0, n, lambda i, c: pnp.sin(c) * 0.999 + 0.01 * c * c * th, x)
    return f


def test_a_10000_step_fori_loop_stages_to_a_graph_of_the_bodys_size():
    x = np.ones(3)
    small, large = pb.make_graph(_fori(10), x, TH), pb.make_graph(_fori(10_000), x, TH)
    assert small.op_count() == large.op_count() < 15
    (loop,) = [e for e in large.eqns if e.prim.name == "scan"]
    assert loop.params["length"] == 10_000 and len(loop.params["body"].graph.eqns) <= 8
    # and so does its gradient (a forward scan storing the carries, a reverse scan)
    gs = pb.make_graph(pb.grad(lambda x: pnp.sum(_fori(10)(x, TH))), x).simplify()
    gl = pb.make_graph(pb.grad(lambda x: pnp.sum(_fori(10_000)(x, TH))), x).simplify()
    assert gs.op_count() == gl.op_count() < 60
    close(pb.jit(_fori(10_000))(x, TH), _fori(10_000)(x, TH))


def test_each_mode_runs_the_loop_once_per_pass():
    f = lambda x: pnp.sum(_fori(100)(x, TH))  # noqa: E731
    x, v = np.ones(3), np.linspace(0.0, 1.0, 3)

    def scans(fun, *args):
        return prim_names(pb.make_graph(fun, *args).simplify()).count("scan")

    assert scans(lambda x, v: pb.jvp(f, (x,), (v,)), x, v) == 1  # primal and tangent carries together
    assert scans(pb.value_and_grad(f), x) == 2  # forward (storing the carries), then reverse
    assert scans(lambda x, v: pb.hvp(f, (x,), (v,)), x, v) == 2  # the same two, over tangents


def test_staging_traces_a_body_a_fixed_number_of_times_whatever_the_trip_count():
    calls = []

    def f(n):
        def body(i, c):
            calls.append(i)
            return pnp.sin(c)
        return lambda x: pb.fori_loop(0, n, body, x)

    counts = []
    for n in (3, 30, 3000):
        calls.clear()
        pb.make_graph(f(n), np.ones(2))
        counts.append(len(calls))
    assert counts[0] == counts[1] == counts[2] == 1
    calls.clear()
    f(5)(np.ones(2))  # eager: the Python loop, as before
    assert calls == [0, 1, 2, 3, 4]


def test_printed_graphs_show_bodies_nested():
    text = str(pb.make_graph(nested_loops, POINTS[0], TH))
    lines = text.splitlines()
    assert lines[0].startswith("{ lambda x:float64[3], th:")
    body = next(k for k, line in enumerate(lines) if line.strip() == "body =")
    assert lines[body + 1].startswith("        { lambda ")  # the scan's body, indented
    inner = [k for k, line in enumerate(lines) if line.strip() == "body =" and k > body]
    assert inner and lines[inner[0] + 1].startswith("                { lambda ")  # the fori inside it
    assert "tanh" in text and "length=3" in text and "length=2" in text


def test_generated_source_runs_python_loops_and_branches():
    src = pb.jit(fori_closure).source(POINTS[0], TH)
    assert "for i in range(7):" in src and "np.empty" not in src
    src = pb.jit(scan_reverse).source(POINTS[0], TH)
    assert "for i in range(2, -1, -1):" in src and "np.empty((3,), np.float64)" in src
    src = pb.jit(while_staged).source(POINTS[0], TH)
    assert "while True:" in src and "break" in src
    src = pb.jit(cond_closure).source(POINTS[0], TH)
    assert "if gt" in src and "else:" in src


def test_only_the_taken_branch_runs_in_the_generated_code():
    def f(x):
        return pb.cond(pnp.sum(x) > 0, lambda a: pnp.sqrt(a), lambda a: pnp.log(-a), x)

    with np.errstate(all="raise"):  # the branch not taken would raise on these inputs
        close(pb.jit(f)(np.array([1.0, 4.0])), np.array([1.0, 2.0]))
        close(pb.jit(f)(np.array([-1.0, -np.e])), np.array([0.0, 1.0]))
        close(pb.jit(pb.grad(lambda x: pnp.sum(f(x))))(np.array([1.0, 4.0])), np.array([0.5, 0.25]))


# ----------------------------------------------------------------------------- edge cases


def test_a_zero_length_scan_returns_the_initial_carry_and_empty_ys():
    def f(x, xs):
        return pb.scan(lambda c, xt: (c * xt + 1.0, {"y": c * 2.0, "z": xt[None]}), x, xs)

    x, xs = np.ones(2), np.zeros((0, 2))
    c, ys = pb.jit(f)(x, xs)
    ce, yse = f(x, xs)
    close(c, ce)
    assert ys["y"].shape == yse["y"].shape == (0, 2) and ys["z"].shape == yse["z"].shape == (0, 1, 2)
    g = pb.jit(pb.grad(lambda x, xs: pnp.sum(f(x, xs)[0]), argnums=(0, 1)))(x, xs)
    close(g[0], np.ones(2))
    assert g[1].shape == (0, 2)
    c[...] = 7.0  # the result is not the caller's buffer
    assert (x == 1.0).all()


def test_empty_carries_and_no_per_step_outputs():
    def f(xs, th):
        _, ys = pb.scan(lambda c, xt: ((), pnp.sin(xt) * th), (), xs)
        c, none = pb.scan(lambda c, xt: (c + xt * th, None), 0.0, xs)
        return pnp.sum(ys) + c, none

    xs = np.array([0.1, 0.2, 0.3])
    out, none = pb.jit(f)(xs, TH)
    assert none is None
    close(out, f(xs, TH)[0])
    close(pb.jit(pb.grad(lambda xs: f(xs, TH)[0]))(xs), pb.grad(lambda xs: f(xs, TH)[0])(xs))


def test_a_python_scalar_carry_takes_the_type_the_body_gives_it():
    f = lambda x: pb.fori_loop(0, 3, lambda i, c: c * x, 1)  # noqa: E731  (a Python int carry)
    close(pb.jit(f)(np.float64(2.0)), 8.0)
    assert "scan" in prim_names(pb.make_graph(f, np.float64(2.0)))
    close(pb.jit(pb.grad(f))(2.0), pb.grad(f)(2.0))
    # an array carry whose dtype the body changes has no one type: unrolled, with the Python loop's values
    g = lambda x: pb.fori_loop(0, 3, lambda i, c: pnp.sin(c) * x, np.float32(1.0))  # noqa: E731
    assert pb.jit(g)(np.float64(2.0)).dtype == g(np.float64(2.0)).dtype == np.float64
    close(pb.jit(g)(np.float64(2.0)), g(np.float64(2.0)))
    assert "scan" not in prim_names(pb.make_graph(g, np.float64(2.0)))


def test_a_body_that_needs_a_concrete_value_is_unrolled_as_before():
    table = np.array([1.0, 2.0, 3.0])
    f = lambda x: pb.fori_loop(0, 3, lambda i, c: c * x + table[i], x)  # noqa: E731  (indexes with i)
    close(pb.jit(f)(0.5), f(0.5))
    assert "scan" not in prim_names(pb.make_graph(f, 0.5))
    close(pb.jit(pb.grad(f))(0.5), pb.grad(f)(0.5))


def test_closures_over_values_of_outer_transformations_become_operands():
    def f(th):  # grad of a jitted function of th, inside a jvp: three levels close over th
        inner = lambda x: pnp.sum(pb.fori_loop(0, 4, lambda i, c: pnp.sin(c + th) * th, x))  # noqa: E731
        return pb.grad(inner)(np.array([0.2, 0.4])) * th

    for th in (0.3, -0.8):
        close(pb.jit(f)(th), f(th))
        close(pb.jit(pb.jacfwd(f))(th), pb.jacfwd(f)(th))
        close(pb.jacrev(pb.jit(f))(th), pb.jacrev(f)(th))
        close(pb.jit(pb.jacrev(f))(th), pb.jacrev(f)(th))
    g = pb.make_graph(f, 0.3)
    (loop,) = [e for e in g.eqns if e.prim.name == "scan"][:1]
    assert loop.params["n_consts"] >= 1  # th is an operand, never a constant baked into the body


def test_no_perturbation_confusion_between_a_body_and_an_outer_derivative():
    # d/dx [x * d/dy (x * y)] = d/dx x² = 2x: the inner derivative inside a staged loop body
    def f(x):
        return pb.fori_loop(0, 1, lambda i, c: c * pb.grad(lambda y: pnp.sum(x * y))(1.0), x)

    for x in (0.5, 2.0):
        close(pb.jit(pb.grad(f))(x), 2 * x)
        close(pb.grad(pb.jit(f))(x), 2 * x)


def test_cse_merges_equal_loops_and_simplify_reaches_into_bodies():
    def f(x):
        a = pb.fori_loop(0, 5, lambda i, c: pnp.sin(c) * 1.0 + 0.0, x)
        b = pb.fori_loop(0, 5, lambda i, c: pnp.sin(c) * 1.0 + 0.0, x)
        return a + b

    g = pb.make_graph(f, np.ones(2))
    s = g.simplify()
    loops = [e for e in s.eqns if e.prim.name == "scan"]
    assert len(loops) == 1
    assert [e.prim.name for e in loops[0].params["body"].graph.eqns] == ["sin"]  # the unused counter pruned
    assert pb.make_graph(f, np.ones(2)).simplify().equivalent(s)  # bodies compared by structure
    close(s.compile()(np.ones(2))[0], f(np.ones(2)))


def test_graph_check_recurses_into_bodies():
    from pullback.core.atoms import ShapeDtype, Var
    from pullback.core.ir import Graph
    from pullback.core.subgraph import SubGraph
    from pullback.errors import GraphCheckError

    g = pb.make_graph(fori_closure, POINTS[0], TH)
    g.check()
    (loop,) = [e for e in g.eqns if e.prim.name == "scan"]
    body = loop.params["body"].graph
    stray = Var(ShapeDtype((3,), np.float64))
    broken = Graph(body.in_vars, body.eqns, [body.outs[0], stray] + list(body.outs[2:]))
    loop.params["body"] = SubGraph(broken)
    with pytest.raises(GraphCheckError, match="sub-graph"):
        g.check()


def test_jacobian_sparsity_follows_loop_bodies():
    def f(x):  # a tridiagonal step applied twice: a pentadiagonal Jacobian
        def step(i, c):
            return c + 0.1 * (pnp.roll(c, 1) + pnp.roll(c, -1))
        return pb.fori_loop(0, 2, step, x)

    s = pb.jacobian_sparsity(f, np.ones(8))
    band = np.abs(np.subtract.outer(np.arange(8), np.arange(8)))
    band = np.minimum(band, 8 - band)
    np.testing.assert_array_equal(s.pattern.toarray(), band <= 2)
    assert s.exact


def test_checkpoint_scan_composes_with_staged_scans():
    def loss(th, xs):
        return pb.checkpoint_scan(lambda c, x: (pnp.tanh(c * th + x), c * x), 0.3, xs, segment_length=3)

    def total(th, xs):
        c, ys = loss(th, xs)
        return c + pnp.sum(ys)

    xs = np.linspace(-1.0, 1.0, 10)  # 3 segments of 3 steps, then 1 step
    expect = pb.grad(total)(0.8, xs)
    close(pb.jit(pb.grad(total))(0.8, xs), expect)
    close(pb.grad(pb.jit(total))(0.8, xs), expect)
    close(pb.jit(total)(0.8, xs), total(0.8, xs))

    def rolled(n):  # default segments of about √n steps: a scan of scans, whatever n
        g = pb.make_graph(pb.grad(lambda th, xs: pnp.sum(pb.checkpoint_scan(
            lambda c, x: (pnp.tanh(c * th + x), None), 0.3, xs)[0])), 0.8, np.ones(n)).simplify()
        outer = [e for e in g.eqns if e.prim.name == "scan"]
        assert outer and all(any(i.prim.name == "scan" for i in e.params["body"].graph.eqns) for e in outer)
        return g.op_count()

    assert rolled(16) == rolled(400)


def test_jet_runs_through_rolled_loops():
    f = lambda x: pnp.sum(pb.fori_loop(0, 3, lambda i, c: pnp.sin(c) * 1.1, x))  # noqa: E731
    x, v = np.array([0.3, 0.6]), np.array([1.0, -0.5])
    out, derivs = pb.jet(f, (x,), ([v, np.zeros(2), np.zeros(2)],))
    close(out, f(x))
    d1 = pb.jvp(f, (x,), (v,))[1]
    d2 = pb.jvp(lambda y: pb.jvp(f, (y,), (v,))[1], (x,), (v,))[1]
    close(derivs[0], d1, rtol=1e-10)
    close(derivs[1], d2, rtol=1e-10)


@pytest.mark.parametrize("name", ["fori closure", "scan rnn", "cond closure", "nested loops"])
def test_vmap_over_a_value_the_body_closes_over(name):
    f = FUNCS[name]
    ths = np.array([0.3, -0.5, 0.9])
    x = POINTS[0]
    expect = np.array([f(x, th) for th in ths])
    close(pb.jit(pb.vmap(lambda th: f(x, th)))(ths), expect)
    close(pb.vmap(pb.jit(lambda th: f(x, th)))(ths), expect)
    close(pb.jit(pb.vmap(pb.grad(lambda th: f(x, th))))(ths), np.array([pb.grad(f, argnums=1)(x, th) for th in ths]))


def test_vmap_of_a_staged_while_loop_runs_each_example_to_its_own_end():
    xs = np.stack(POINTS + [np.array([2.0, 0.1, 0.1])])  # examples needing different trip counts
    expect = np.array([while_staged(x, TH) for x in xs])
    f = lambda y: while_staged(y, TH)  # noqa: E731
    close(pb.jit(pb.vmap(f))(xs), expect)
    close(pb.vmap(pb.jit(f))(xs), expect)
    close(pb.jit(pb.vmap(pb.jacfwd(f)))(xs), np.stack([pb.jacfwd(f)(x) for x in xs]))
    g = pb.make_graph(pb.vmap(f), xs)
    assert prim_names(g).count("while_loop") == 1  # one loop for the batch, not one per example


@pytest.mark.parametrize("inside", ["checkpoint", "custom_vjp"])
def test_checkpoint_and_custom_vjp_inside_staged_loop_bodies(inside):
    cv = pb.custom_vjp(lambda x: pnp.sin(x))
    cv.defvjp(lambda x: (pnp.sin(x), x), lambda r, g: (g * pnp.cos(r),))

    def f(x, th):
        if inside == "checkpoint":
            blk = pb.checkpoint(lambda x: pb.fori_loop(0, 5, lambda i, c: pnp.sin(c * th) * 1.1, x))
        else:
            blk = lambda x: pb.fori_loop(0, 5, lambda i, c: cv(c * th) * 1.1, x)  # noqa: E731
        return pnp.sum(blk(x) ** 2)

    x = POINTS[0]
    expect = pb.grad(f, argnums=(0, 1))(x, TH)
    close(pb.jit(pb.grad(f, argnums=(0, 1)))(x, TH), expect)
    close(pb.grad(pb.jit(f), argnums=(0, 1))(x, TH), expect)
    assert "scan" in prim_names(pb.make_graph(f, x, TH))
