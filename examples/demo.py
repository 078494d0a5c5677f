"""pullback in one page: gradients, forward mode, Hessians, nesting, custom rules.

`make demo` runs this tour, then examples/seed_adjoint.py (the seed adjoint problem).
"""

from __future__ import annotations

import numpy as onp

import pullback as pb
import pullback.numpy as np


def section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 66 - len(title)))


def main() -> None:
    section("grad, jvp and the Hessian of a small function")
    f = lambda x: np.sum(np.tanh(x) ** 2) + x[0] * x[1]
    x = onp.array([0.5, -1.0, 2.0])
    print("f(x)        =", f(x))
    print("grad f(x)   =", pb.grad(f)(x))
    print("J·v (jvp)   =", pb.jvp(f, (x,), (onp.ones(3),))[1])
    print("J·v (2 vjps)=", pb.jvp_by_vjp(f, (x,), (onp.ones(3),))[1])
    print("Hessian     =\n", pb.hessian(f)(x))

    section("third derivative of sin(x)·exp(x), all by nesting")
    g = lambda x: np.sin(x) * np.exp(x)
    d3 = pb.grad(pb.grad(pb.grad(g)))(0.7)
    exact = 2 * onp.exp(0.7) * (onp.cos(0.7) - onp.sin(0.7))
    print(f"d³/dx³ at 0.7: {d3:.15f}  (exact {exact:.15f})")

    section("custom rules, checked")
    exp_rule = pb.custom_vjp(lambda x: np.exp(x))
    exp_rule.defvjp(lambda x: (np.exp(x), np.exp(x)), lambda y, g: (g * y,))
    x = onp.array([0.1, 0.2])
    print("grad of Σ exp(x)² with a custom_vjp exp:", pb.grad(lambda x: np.sum(exp_rule(x) ** 2))(x),
          " exact:", 2 * onp.exp(2 * x))
    print("\nNext: the seed question, ∇φ of a function built from vjps (examples/seed_adjoint.py).")


if __name__ == "__main__":
    main()
