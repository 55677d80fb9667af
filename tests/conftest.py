"""Shared test set-up: framework configuration and the timm loader."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import types
from collections.abc import Iterator

import pytest
from hypothesis import settings

# CI explores the same examples on every run (a failure there is reproducible);
# elsewhere hypothesis draws new ones each run and keeps what it finds.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

# Keras 3 runs on JAX in the main test process (the torch backend is tested in subprocesses).
os.environ.setdefault("KERAS_BACKEND", "jax")


def load_timm_scheduler() -> types.ModuleType:
    """Import ``timm.scheduler`` without timm's top-level ``__init__``.

    timm's package ``__init__`` imports torchvision, which cannot be installed
    beside the CPU torch wheel; the scheduler sub-package needs only torch and
    numpy, so an empty ``timm`` package module stands in for the real one.
    """
    if "timm.scheduler" in sys.modules:
        return sys.modules["timm.scheduler"]
    spec = importlib.util.find_spec("timm")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("timm is not installed: pip install --no-deps -r requirements-nodeps.txt")
    if "timm" not in sys.modules:
        package = types.ModuleType("timm")
        package.__path__ = list(spec.submodule_search_locations)
        package.__spec__ = spec
        sys.modules["timm"] = package
    return importlib.import_module("timm.scheduler")


@pytest.fixture(scope="session")
def timm_scheduler() -> types.ModuleType:
    return load_timm_scheduler()


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    """Tiny models: one intra-op thread is fastest, and fair to the other processes on a small machine."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
