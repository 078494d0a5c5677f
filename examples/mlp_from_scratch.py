"""An MLP from scratch (seed 004): pb.grad against hand-written backprop, and a custom Exp rule.

The network is 64 → 32 (tanh) → 10 (softmax), trained with mini-batch gradient descent on
scikit-learn's bundled 8×8 digits (sklearn.datasets.load_digits: no download). The softmax
is written with an `Exp` whose derivative rule we supply ourselves, twice:

- as `pb.custom_vjp` (JAX style: fwd returns (output, residuals), bwd maps residuals and
  the output cotangent to input cotangents), and
- as a `pb.Function` subclass (PyTorch style: forward/backward staticmethods, ctx). This is
  the seed's `Exp`, with the `ctx.save_for_backward(result)` the seed's version forgets.

Before training, pb.grad of the loss is compared with backprop written out in NumPy
(the chain of vjps of seed 004, by hand): they agree to 1e-10.

Run:  python examples/mlp_from_scratch.py [--epochs 10]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import pullback as pb
import pullback.numpy as pnp

# ----------------------------------------------------------------------------- Exp, two ways


@pb.custom_vjp
def exp_custom_vjp(x):
    return pnp.exp(x)


def _exp_fwd(x):
    y = pnp.exp(x)
    return y, y  # output, and the residual the backward pass needs: exp(x) itself


def _exp_bwd(y, g):
    return (g * y,)  # one cotangent per input: gᵀ ∂exp(x)/∂x = g ⊙ exp(x)


exp_custom_vjp.defvjp(_exp_fwd, _exp_bwd)


class Exp(pb.Function):
    """torch.autograd.Function style: d exp(x) = exp(x) dx, with exp(x) saved by forward."""

    @staticmethod
    def forward(ctx, i):
        result = pnp.exp(i)
        ctx.save_for_backward(result)
        return result

    @staticmethod
    def backward(ctx, grad_output):
        (result,) = ctx.saved_tensors
        return grad_output * result


EXPS = {"pnp.exp": pnp.exp, "custom_vjp": exp_custom_vjp, "Function": Exp.apply}


# ----------------------------------------------------------------------------- the model


def init_params(sizes=(64, 32, 10), seed: int = 0):
    rng = np.random.default_rng(seed)
    return [
        {"W": rng.standard_normal((m, n)) / np.sqrt(m), "b": np.zeros(n)}
        for m, n in zip(sizes[:-1], sizes[1:], strict=True)
    ]


def softmax(z, exp=pnp.exp):
    z = z - pb.stop_gradient(pnp.max(z, axis=1, keepdims=True))  # for stability; softmax ignores shifts
    e = exp(z)
    return e / pnp.sum(e, axis=1, keepdims=True)


def predict(params, X, exp=pnp.exp):
    h = X
    for layer in params[:-1]:
        h = pnp.tanh(h @ layer["W"] + layer["b"])
    return softmax(h @ params[-1]["W"] + params[-1]["b"], exp)


def loss(params, X, Y, exp=pnp.exp):
    """Mean cross-entropy; Y is one-hot."""
    P = predict(params, X, exp)
    return -pnp.sum(Y * pnp.log(P)) / X.shape[0]


def backprop(params, X, Y):
    """The same gradient by hand: a forward pass that keeps activations, then vjps in reverse."""
    hs = [X]
    for layer in params[:-1]:
        hs.append(np.tanh(hs[-1] @ layer["W"] + layer["b"]))
    z = hs[-1] @ params[-1]["W"] + params[-1]["b"]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    P = e / e.sum(axis=1, keepdims=True)
    dz = (P - Y) / X.shape[0]  # ∂loss/∂z for softmax + cross-entropy
    grads = [None] * len(params)
    for i in range(len(params) - 1, -1, -1):
        grads[i] = {"W": hs[i].T @ dz, "b": dz.sum(axis=0)}
        if i > 0:
            dz = (dz @ params[i]["W"].T) * (1.0 - hs[i] ** 2)  # through tanh: 1 − tanh²
    return grads


def tree_max_rel_diff(a, b) -> float:
    fa, _ = pb.tree_util.tree_flatten(a)
    fb, _ = pb.tree_util.tree_flatten(b)
    scale = max(np.max(np.abs(y)) for y in fb)
    return float(max(np.max(np.abs(x - y)) for x, y in zip(fa, fb, strict=True)) / scale)


def accuracy(params, X, labels) -> float:
    return float(np.mean(np.argmax(predict(params, X), axis=1) == labels))


# ----------------------------------------------------------------------------- data and training


def load_data(test_fraction: float = 0.25, seed: int = 0):
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = digits.data / 16.0  # pixel intensities 0 … 16 → [0, 1]
    labels = digits.target
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(X))
    n_test = int(test_fraction * len(X))
    test, train = order[:n_test], order[n_test:]
    return X[train], labels[train], X[test], labels[test]


def one_hot(labels, n: int = 10):
    return np.eye(n)[labels]


def train(params, X, labels, epochs: int = 10, batch: int = 32, lr: float = 0.1, exp=Exp.apply, seed: int = 0,
          log=print, X_test=None, labels_test=None):
    value_and_grad = pb.value_and_grad(loss)
    rng = np.random.default_rng(seed)
    Y = one_hot(labels)
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(X))
        total = 0.0
        for start in range(0, len(X), batch):
            idx = order[start:start + batch]
            value, g = value_and_grad(params, X[idx], Y[idx], exp)
            params = pb.tree_util.tree_map(lambda p, d: p - lr * d, params, g)
            total += value * len(idx)
        if log:
            msg = (f"  epoch {epoch:2d}: mean training loss {total / len(X):.4f}, "
                   f"train accuracy {accuracy(params, X, labels):.3f}")
            if X_test is not None:
                msg += f", test accuracy {accuracy(params, X_test, labels_test):.3f}"
            log(msg)
    return params


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=10)
    args = ap.parse_args(argv)

    X, labels, X_test, labels_test = load_data()
    print(f"digits: {len(X)} training and {len(X_test)} test images of 8×8 pixels, 10 classes")
    params = init_params()
    Y = one_hot(labels)

    # 1. pb.grad equals hand-written backprop, whichever Exp the softmax uses.
    g_hand = backprop(params, X, Y)
    ok = True
    for name, exp in EXPS.items():
        g = pb.grad(loss)(params, X, Y, exp)
        d = tree_max_rel_diff(g, g_hand)
        ok &= d <= 1e-10
        print(f"pb.grad (softmax with {name:10s}) vs NumPy backprop: max relative difference {d:.1e}")

    # 2. The two custom rules are exp itself, in reverse and in forward mode.
    x = np.linspace(-2.0, 2.0, 7)
    v = np.cos(x)
    for name in ("custom_vjp", "Function"):
        exp = EXPS[name]
        d_val = np.max(np.abs(exp(x) - np.exp(x)))
        d_grad = np.max(np.abs(pb.grad(lambda t, e=exp: pnp.sum(pnp.sin(e(t))))(x) - np.cos(np.exp(x)) * np.exp(x)))
        d_jvp = np.max(np.abs(pb.jvp(exp, (x,), (v,))[1] - np.exp(x) * v))
        ok &= max(d_val, d_grad, d_jvp) <= 1e-12
        print(f"{name:10s} Exp vs exp: value {d_val:.1e}, grad {d_grad:.1e}, jvp (transposed rule) {d_jvp:.1e}")

    # 3. Train.
    print(f"training 64-32-10 tanh MLP, softmax via Exp.apply (pb.Function), {args.epochs} epochs:")
    t0 = time.perf_counter()
    params = train(params, X, labels, epochs=args.epochs, X_test=X_test, labels_test=labels_test)
    print(f"test accuracy after {args.epochs} epochs: {accuracy(params, X_test, labels_test):.3f} "
          f"({time.perf_counter() - t0:.1f} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
