"""Fusion: group chains of elementwise and broadcasting equations into one loop each.

A fused group is a run of equations whose outputs all have one shape S (their inputs broadcast to it:
arrays defined before the group, scalar constants, or earlier members of the group). The group is
one loop nest over S; a member used only inside the group is a scalar of the loop body, never an
array. A full reduction (sum over every axis) of a member is folded into the loop as an accumulator,
so the summed array is never stored either.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..core.atoms import Var


class Group:
    """One loop nest over `shape`: the members (equations, in order) and the folded reductions."""

    __slots__ = ("shape", "eqns", "reductions", "members", "after")

    def __init__(self, shape: tuple):
        self.shape = shape
        self.eqns: list = []
        self.reductions: list = []  # equations summing a member over every axis
        self.members: set = set()
        self.after: set = set()  # values defined after the loop's place (a member may not read them)

    def __repr__(self) -> str:
        return f"Group({self.shape}, {len(self.eqns)} eqns, {len(self.reductions)} reductions)"


def plan(eqns: list, fusable: Callable, full_reduction: Callable) -> list:
    """The equations with the fusable runs gathered: a list of Group and single equations, in an order
    that respects every dependency. fusable(e): e may be a member of a loop; full_reduction(e): e sums
    its one input over every axis (it may fold into the group defining that input)."""
    items: list = []
    group: Group | None = None
    for e in eqns:
        if fusable(e) and e.outs[0].aval.shape != ():
            shape = tuple(e.outs[0].aval.shape)
            if group is not None and group.shape == shape and not _reads_later(e, group):
                group.eqns.append(e)
                group.members.add(e.outs[0])
                continue
            group = Group(shape)
            group.eqns.append(e)
            group.members.add(e.outs[0])
            items.append(group)
            continue
        if group is not None and full_reduction(e) and isinstance(e.ins[0], Var) and e.ins[0] in group.members:
            group.reductions.append(e)
            continue
        items.append(e)
        if group is not None:
            group.after.update(e.outs)
    return items


def _reads_later(e, group: Group) -> bool:
    """e reads a value known only after the group's loop (a folded reduction, or an equation placed
    after the loop): it cannot join the loop."""
    outs = {r.outs[0] for r in group.reductions} | group.after
    return any(isinstance(a, Var) and a in outs for a in e.ins)


def size(shape: tuple) -> int:
    return int(np.prod(shape)) if shape else 1
