"""Primitive families: one module each; every rule of a primitive lives next to its implementation."""
