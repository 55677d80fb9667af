"""Thin adapters that drive a framework's optimizer from an lrcore schedule.

Each lives in its own module (``lrcore.adapters.torch``, ``.optax``, ``.keras``,
``.sgd``) and imports its framework only when that module is imported.
"""
