"""Indexing updates of pullback.numpy: x.at[idx].set/add/..., in-place assignment on traced arrays."""

from __future__ import annotations

__all__: list[str] = []
METHODS: dict = {}
