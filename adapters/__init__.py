"""Thin adapters that drive a framework's optimizer from an lrcore schedule.

Each lives in its own module and imports its framework only when that module is
imported; a missing framework raises ImportError naming the extra to install:

- ``lrcore.adapters.torch``: ``Scheduler``, a ``torch.optim.lr_scheduler.LRScheduler``
  (``pip install 'lrcore[torch]'``).
- ``lrcore.adapters.optax``: ``schedule(s, steps=None)``, an ``optax.Schedule`` for
  ``jax.jit`` (``'lrcore[jax]'``).
- ``lrcore.adapters.keras``: ``Schedule``, ``Callback`` and ``PlateauCallback``
  (``'lrcore[keras]'``).
- ``lrcore.adapters.sgd``: ``iterate``, SGD loops in numpy and numba, and ``table``
  (no extra).

The optax and Keras adapters run inside compiled graphs, where the numba kernel
cannot, so they index a table of the schedule's values (``sgd.table``): exact at
every step when ``s.horizon`` is finite, otherwise for steps below `steps`.
"""
