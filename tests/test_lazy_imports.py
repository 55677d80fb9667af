"""Importing lrcore never imports a framework; each adapter imports only its own, or says what to install."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

HEAVY = ("torch", "jax", "optax", "keras", "matplotlib", "transformers", "timm", "tensorflow")


def _run(code: str, **env: str) -> subprocess.CompletedProcess:
    full_env = dict(os.environ, KERAS_BACKEND="jax", **env)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], env=full_env, capture_output=True, text=True, timeout=180
    )


def _loaded(names: tuple[str, ...]) -> str:
    return f"sorted(m for m in sys.modules if m.split('.')[0] in {names!r})"


def test_importing_lrcore_and_its_adapters_package_loads_no_framework():
    run = _run(
        f"""
        import sys
        import lrcore, lrcore.adapters, lrcore.adapters.sgd
        assert lrcore.adapters.sgd.iterate is lrcore.iterate
        print({_loaded(HEAVY)})
        """
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("adapter", "own"),
    # Keras on the JAX backend loads jax, and matplotlib for its own utilities.
    [("torch", ("torch",)), ("optax", ("jax",)), ("keras", ("keras", "jax", "matplotlib"))],
)
def test_each_adapter_imports_only_its_framework(adapter, own):
    others = tuple(name for name in HEAVY if name not in own and name != "optax")
    run = _run(
        f"""
        import sys
        import lrcore.adapters.{adapter} as adapter
        print({_loaded(others)})
        """
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_the_torch_adapter_module_sees_the_real_torch():
    run = _run(
        """
        import sys, lrcore.adapters.torch as adapter
        assert adapter.torch is sys.modules["torch"] and hasattr(adapter.torch, "optim")
        assert issubclass(adapter.Scheduler, sys.modules["torch"].optim.lr_scheduler.LRScheduler)
        """
    )
    assert run.returncode == 0, run.stderr


@pytest.mark.parametrize(
    ("adapter", "missing", "message"),
    [
        ("torch", "torch", "lrcore.adapters.torch needs PyTorch: pip install 'lrcore[torch]'"),
        ("optax", "jax", "lrcore.adapters.optax needs JAX and optax: pip install 'lrcore[jax]'"),
        ("keras", "keras", "lrcore.adapters.keras needs Keras 3: pip install 'lrcore[keras]'"),
        ("hf", "transformers", "lrcore.adapters.hf needs transformers: pip install 'lrcore[hf]'"),
        ("lightning", "lightning", "lrcore.adapters.lightning needs Lightning: pip install 'lrcore[lightning]'"),
    ],
)
def test_a_missing_framework_names_the_extra_to_install(adapter, missing, message):
    run = _run(
        f"""
        import sys
        sys.modules[{missing!r}] = None  # as if it were not installed
        try:
            import lrcore.adapters.{adapter}
        except ImportError as err:
            print(err)
        else:
            raise SystemExit("imported without {missing}")
        """
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == message
