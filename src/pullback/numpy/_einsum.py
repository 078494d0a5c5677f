"""einsum and the other contraction-style functions of pullback.numpy."""

from __future__ import annotations

__all__: list[str] = []
METHODS: dict = {}
