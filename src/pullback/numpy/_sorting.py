"""Sorting, order statistics and cumulative functions of pullback.numpy."""

from __future__ import annotations

__all__: list[str] = []
METHODS: dict = {}
