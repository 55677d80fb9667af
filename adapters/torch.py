"""PyTorch: an ``LRScheduler`` that sets each param group's lr, and any other float setting, from lrcore schedules.

At t group i has ``lr = s_i(t) * base_i * scale``, where base_i is the group's initial
lr when ``relative=True`` (LambdaLR style) and 1 otherwise, and scale is the plateau
controller's multiplier (1 without one).  t counts ``step()`` calls, or with
``count="optimizer"`` the updates the optimizer really applied.
"""

from __future__ import annotations

import warnings
import weakref
from collections.abc import Mapping
from typing import Any

from lrcore import Plateau, PlateauState, Schedule
from lrcore._internal import check, log_reduction

try:
    import torch
except ModuleNotFoundError as err:
    if err.name != "torch":
        raise
    raise ModuleNotFoundError("lrcore.adapters.torch needs PyTorch: pip install 'lrcore[torch]'", name="torch") from err

from torch.utils.hooks import RemovableHandle

from . import _torch_state as ckpt
from ._find_torch import find_lr

__all__ = ["Scheduler", "find_lr"]

W = "Scheduler"


class Scheduler(torch.optim.lr_scheduler.LRScheduler):
    """Drive `optimizer` from `schedule` (one Schedule, or a list with one per param group).

    ``step()`` after ``optimizer.step()`` advances t by one; ``step(metric)`` also feeds
    `plateau` (an ``lr.Plateau``) first, and ``observe(metric)`` feeds it without advancing
    t (a per-update schedule with a per-epoch metric).  Each reduction is logged at INFO
    on the ``"lrcore"`` logger.

    ``count="optimizer"`` makes t the number of updates the optimizer really applied: t
    advances after each completed ``optimizer.step()`` (a step post-hook), so a step that
    an AMP ``GradScaler`` skips on inf gradients, or a ``step()`` called on every
    micro-batch under gradient accumulation, leaves the lr where the weights are.
    ``step()`` then advances nothing and only feeds `metric` to the plateau.

    A schedule may hold lengths in the units of the run ("5%", "3ep", see ``lr.resolve``):
    `steps` (the run's updates), `steps_per_epoch`, `tokens_per_step` and
    `samples_per_step` resolve them here; a length whose quantity is missing raises.

    `momentum` (one schedule or one per group) sets SGD's ``momentum`` or Adam's beta1;
    `hyper` maps any other float param-group key (``"weight_decay"``, ``"eps"``,
    ``"beta1"``/``"beta2"`` for the entries of ``"betas"``) to a schedule or one per
    group.  The plateau's scale multiplies the lr only.  Tensor lrs and betas are filled
    in place, so a ``torch.compile``'d optimizer step is not recompiled; ``step``,
    ``observe``, ``load_state_dict`` and the ``count="optimizer"`` hook are opaque to
    ``torch.compile``, as torch's own schedulers are.  Under ``torch.distributed`` (a
    process group of more than one rank) a metric is averaged across ranks before the
    plateau sees it, so every rank keeps the same lr; every rank must pass its metric
    (``sync=False`` opts out).  A plateau that has had no metric after 10,000 steps (or
    the end of a shorter decaying schedule) warns once.  ``get_last_lr()`` returns floats;
    ``state_dict()`` is plain Python values (``torch.load(weights_only=True)``,
    ``torch.distributed.checkpoint``) and ``load_state_dict`` resumes in O(1).

    Attributes:
        schedules: the lr schedule of each param group, its lengths resolved.
        plateau_state: the plateau's ``lr.PlateauState`` (its ``scale`` multiplies the lr), or
            None without a plateau.
        last_epoch: t, the number of steps counted so far (torch's name).
    """

    # hf.Scheduler waits for the Trainer to know the run before resolving "5%"; this one cannot wait.
    _defer_units = False

    @classmethod
    def from_torch(cls, optimizer: torch.optim.Optimizer, name: str, **kwargs: Any) -> Scheduler:
        """The drop-in for ``torch.optim.lr_scheduler.<name>(optimizer, **kwargs)``.

        Every group's ``lr`` and, where torch cycles it (OneCycleLR, CyclicLR with
        ``cycle_momentum=True``), ``momentum`` or ``betas[0]`` equal torch's after construction
        and every ``step()``: one ``lr.from_torch`` schedule per group, from the group's initial
        lr and its entry of each per-group list (``max_lr=[...]``, ``base_momentum=[...]``, ...),
        SequentialLR / ChainedScheduler children as ``schedulers=[(name, kwargs), ...]``.
        OneCycleLR holds its last lr and momentum from ``total_steps - 1`` on (torch
        extrapolates one more step, then raises).
        """
        from ._torch_migrate import schedules

        lrs, momenta = schedules(optimizer, name, kwargs)
        return cls(optimizer, lrs, momentum=momenta)

    def __init__(self, optimizer: torch.optim.Optimizer, schedule: Schedule | list[Schedule], *, relative: bool = False,
                 plateau: Plateau | None = None, momentum: Schedule | list[Schedule] | None = None,
                 hyper: Mapping[str, Schedule | list[Schedule]] | None = None, count: str = "step",
                 steps: float | None = None, steps_per_epoch: float | None = None,
                 tokens_per_step: float | None = None, samples_per_step: float | None = None,
                 sync: bool = True) -> None:
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise check.fail(W, "optimizer", "must be a torch.optim.Optimizer", optimizer, TypeError)
        groups = optimizer.param_groups
        self.schedules = ckpt.per_group(W, "schedule", schedule, len(groups))
        self.relative = check.flag(W, "relative", relative)
        if plateau is not None and not isinstance(plateau, Plateau):
            raise check.fail(W, "plateau", "must be an lrcore Plateau or None", plateau, TypeError)
        self.plateau = plateau
        self.plateau_state: PlateauState | None = None if plateau is None else plateau.init()
        self.momentum = None if momentum is None else ckpt.per_group(W, "momentum", momentum, len(groups))
        ckpt.check_momentum(W, optimizer, momentum)
        self.hyper = ckpt.hyper(W, hyper, groups, momentum is not None)
        count = check.choice(W, "count", count, ckpt.COUNTS)
        run = ckpt.run_size(W, steps=steps, steps_per_epoch=steps_per_epoch, tokens_per_step=tokens_per_step,
                            samples_per_step=samples_per_step)
        self.pending = ckpt.unresolved(self, run, defer=self._defer_units)
        self._run_size = run
        self.factors = [float(g.get("initial_lr", g["lr"])) if self.relative else 1.0 for g in groups]
        self.sync = check.flag(W, "sync", sync)
        self._arm_unfed_warning()
        self.count = count
        self._count_hook: RemovableHandle | None = None
        self._pending_guard: RemovableHandle | None = None
        # Records initial_lr, wraps optimizer.step and calls step() once: t = 0.
        super().__init__(optimizer)
        self.__setstate__({})  # registers the optimizer hooks

    # step, observe, load_state_dict and the optimizer-step hook are opaque to dynamo, as torch's own
    # schedulers are (it skips lr_scheduler.py): traced, they would break the graph at the kernel and
    # recompile for every new lr.  Under compilation each calls its ``torch._disable_dynamo`` twin, where
    # dynamo breaks the graph and runs it eagerly; outside, the check costs ~0.3 us, the twin's wrapper ~14 us.
    def step(self, metric: Any = None) -> None:  # type: ignore[override]
        """Advance t by one (call after ``optimizer.step()``) and feed `metric` to the plateau first;
        with ``count="optimizer"`` only feed `metric` (the optimizer's steps advance t)."""
        if torch.compiler.is_compiling():
            return self._eager_step(metric)
        if metric is not None:
            self._feed(f"{W}.step", metric)
        if self.count == "step" or self.last_epoch < 0:  # LRScheduler.__init__'s first call sets t = 0
            self._advance()
        elif metric is not None:
            self._apply()

    _eager_step = torch._disable_dynamo(step)

    def _advance(self) -> None:
        if self.pending and self.last_epoch >= 0:
            raise self._pending_error()
        self._step_count += 1
        self.last_epoch += 1
        if self.last_epoch >= self._unfed_at:
            self._warn_unfed()
        self._apply()

    def _after_optimizer_step(self) -> None:
        """The ``count="optimizer"`` hook's work: one more update was applied."""
        if torch.compiler.is_compiling():
            return self._eager_after_optimizer_step()
        self._advance()

    _eager_after_optimizer_step = torch._disable_dynamo(_after_optimizer_step)

    def _set_count(self, count: str) -> None:
        self.count = count
        if self._count_hook is not None:
            self._count_hook.remove()
            self._count_hook = None
        if count == "optimizer":  # a weak reference: the optimizer must not keep a dropped scheduler alive
            self._count_hook = self.optimizer.register_step_post_hook(ckpt.count_hook(weakref.ref(self)))

    def observe(self, metric: Any) -> None:
        """Feed `metric` to the plateau controller without advancing t; the new scale applies at once."""
        if torch.compiler.is_compiling():
            return self._eager_observe(metric)
        self._feed(f"{W}.observe", metric)
        self._apply()

    _eager_observe = torch._disable_dynamo(observe)

    def _feed(self, where: str, metric: Any) -> None:
        if self.plateau is None or self.plateau_state is None:
            raise check.fail(where, "metric", "needs a scheduler built with plateau=lr.Plateau(...)", metric)
        if self.sync:
            metric = ckpt.mean_across_ranks(where, metric)
        before = self.plateau_state
        self.plateau_state = self.plateau.update(before, metric)
        log_reduction(W, self.last_epoch, metric, before, self.plateau_state)
        self._unfed_at = ckpt.NEVER

    def _arm_unfed_warning(self) -> None:
        """Set the t at which a plateau that was never fed warns (once per scheduler object)."""
        quiet = (self.plateau_state is None or self.plateau_state.count > 0 or self.pending
                 or getattr(self, "_unfed_warned", False))
        self._unfed_at = ckpt.NEVER if quiet else ckpt.unfed_limit(self.schedules)

    def _warn_unfed(self) -> None:
        self._unfed_warned, self._unfed_at = True, ckpt.NEVER
        warnings.warn(ckpt.unfed_message(self.last_epoch), UserWarning, stacklevel=4)  # the caller of step()

    def _resolve(self, run: dict[str, float | None], *, defer: bool = False) -> None:
        """Resolve the lengths still in units ("5%") with the run's size (the quantities given at construction
        first); sets the groups for the current t.  With `defer`, lengths the run cannot resolve yet wait."""
        self._run_size = {**run, **{k: v for k, v in self._run_size.items() if v is not None}}
        self.pending = ckpt.unresolved(self, self._run_size, defer=defer)
        if not self.pending and self._pending_guard is not None:
            self._pending_guard.remove()
            self._pending_guard = None
        self._arm_unfed_warning()
        self._apply()

    def get_lr(self) -> list[float | torch.Tensor]:
        """The learning rates at the current t (floats)."""
        t, first = self.last_epoch, self.schedules[0]
        scale = 1.0 if self.plateau_state is None else self.plateau_state.scale
        shared = first(t) * scale  # groups usually share one schedule: evaluate it once
        if len(self.schedules) == 1 and not self.relative:
            return [shared]
        pairs = zip(self.schedules, self.factors, strict=True)
        return [(shared if s is first else s(t) * scale) * base for s, base in pairs]

    def _apply(self) -> None:
        groups = self.optimizer.param_groups
        if self.pending:  # the groups keep their values until the run's size is known
            self._last_lr = [float(g["lr"]) for g in groups]
            return
        self._last_lr = lrs = self.get_lr()
        for group, value in zip(groups, lrs, strict=True):
            ckpt.set_value(group, "lr", value)
        t = self.last_epoch
        for group, s in zip(groups, self.momentum or (), strict=self.momentum is not None):
            ckpt.set_value(group, "beta1" if "betas" in group else "momentum", s(t))
        for key, items in self.hyper.items():
            for group, s in zip(groups, items, strict=True):
                ckpt.set_value(group, key, s(t))

    def state_dict(self) -> dict[str, Any]:
        """t, the schedules as dicts and the plateau state: plain Python values only."""
        return {
            "t": self.last_epoch,
            "schedules": [ckpt.saved(s) for s in self.schedules],
            "factors": list(self.factors),
            "relative": self.relative,
            "plateau": None if self.plateau is None else self.plateau.to_dict(),
            "plateau_state": None if self.plateau_state is None else self.plateau_state.to_dict(),
            "momentum": None if self.momentum is None else [ckpt.saved(s) for s in self.momentum],
            "hyper": {key: [ckpt.saved(s) for s in items] for key, items in self.hyper.items()} or None,
            "count": self.count,
            "sync": self.sync,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Resume at the saved t with the saved schedules, in O(1); sets the groups' values.

        Every field is checked first: a bad checkpoint raises and leaves the scheduler unchanged.
        """
        if torch.compiler.is_compiling():
            return self._eager_load_state_dict(state_dict)
        new = ckpt.parse(f"{W}.load_state_dict", state_dict, self)
        self.schedules, self.momentum, self.hyper, self.factors = new.schedules, new.momentum, new.hyper, new.factors
        self.relative, self.sync = new.relative, new.sync
        self.plateau, self.plateau_state = new.plateau, new.plateau_state
        self.last_epoch = new.t
        self._step_count = self.last_epoch + 1
        self._set_count(new.counting)
        self._resolve({}, defer=self._defer_units)  # saved schedules are in updates; a built one may still wait

    _eager_load_state_dict = torch._disable_dynamo(load_state_dict)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (and deep-copied) without its optimizer hooks, which the copy registers on its own optimizer."""
        return {k: v for k, v in self.__dict__.items() if k not in ("_count_hook", "_pending_guard", "_plateau_feeder")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._count_hook = self._pending_guard = None
        self._set_count(self.count)
        if self.pending:
            self._pending_guard = self.optimizer.register_step_pre_hook(ckpt.pending_guard(weakref.ref(self)))

    def _pending_error(self) -> ValueError:
        """The error of a step taken before the lengths in units were resolved (only ``hf.Scheduler`` waits)."""
        return ValueError(f"{W}: the schedules' lengths in units of the run are not resolved yet")
