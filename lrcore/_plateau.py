"""Reduce-on-plateau as a pure controller: ``state = p.update(state, metric)``."""

from __future__ import annotations

import logging
import math
import numbers
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from . import _validate as check


@dataclass(frozen=True)
class PlateauState:
    """Where the controller stands; `scale` multiplies the learning rate."""

    best: float
    num_bad: int = 0
    cooldown: int = 0
    scale: float = 1.0
    count: int = 0

    def __post_init__(self) -> None:
        for name, value in _state_fields("PlateauState", _state_dict(self)).items():
            object.__setattr__(self, name, value)

    def to_dict(self) -> dict[str, Any]:
        return _state_dict(self)

    @classmethod
    def from_dict(cls, data: Any) -> PlateauState:
        """The state ``to_dict`` saved; every field is checked (a bad checkpoint raises, naming it)."""
        return cls(**_state_fields("PlateauState.from_dict", _fields_of("PlateauState.from_dict", cls, data)))


_STATE_NAMES = ("best", "num_bad", "cooldown", "scale", "count")


def _state_dict(state: PlateauState) -> dict[str, Any]:
    """The fields as a dict (asdict without its deep copies)."""
    return {name: getattr(state, name) for name in _STATE_NAMES}


def _next_state(best: float, num_bad: int, cooldown: int, scale: float, count: int) -> PlateauState:
    """A state the controller computed from a checked one: valid by construction, so not checked
    again (``Plateau.update`` runs once per evaluation, inside training loops)."""
    state = object.__new__(PlateauState)
    for name, value in zip(_STATE_NAMES, (best, num_bad, cooldown, scale, count), strict=True):
        object.__setattr__(state, name, value)
    return state


def _fields_of(where: str, cls: type, data: Any) -> dict[str, Any]:
    """`data` as a dict holding exactly the dataclass' fields."""
    if not isinstance(data, dict):
        raise TypeError(f"{where}: expected a dict (from to_dict()); got {type(data).__name__}: {check.show(data)}")
    names = [f.name for f in fields(cls)]
    for key in data:
        if key not in names:
            raise ValueError(f"{where}: unknown field {check.show(key)}; the fields are {', '.join(names)}")
    missing = [n for n in names if n not in data]
    if missing:
        raise ValueError(f"{where}: missing field(s) {', '.join(missing)}")
    return dict(data)


def _state_fields(where: str, data: dict[str, Any]) -> dict[str, Any]:
    best = data["best"]
    if isinstance(best, (bool, np.bool_)) or not isinstance(best, numbers.Real):
        raise check.fail(where, "best", "must be a real number", best, TypeError)
    value = check.as_float(best)
    if value is None:
        raise check.fail(where, "best", "must be a float (it is too large)", best)
    if math.isnan(value):
        raise check.fail(where, "best", "must not be NaN (a NaN metric never becomes the best)", best)
    return {
        "best": value,
        "num_bad": check.count(where, "num_bad", data["num_bad"]),
        "cooldown": check.count(where, "cooldown", data["cooldown"]),
        # The scale starts at 1 and only ever shrinks.
        "scale": check.number(where, "scale", data["scale"], ge=0, le=1),
        "count": check.count(where, "count", data["count"]),
    }


# "rel" measures the relative threshold from abs(best); "signed_rel" is PyTorch's, from the signed best.
THRESHOLD_MODES = ("rel", "abs", "signed_rel")


def _settings(where: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "mode": check.choice(where, "mode", data["mode"], ("min", "max")),
        "factor": check.number(where, "factor", data["factor"], gt=0, lt=1),
        "patience": check.count(where, "patience", data["patience"]),
        "threshold": check.number(where, "threshold", data["threshold"], ge=0),
        "threshold_mode": check.choice(where, "threshold_mode", data["threshold_mode"], THRESHOLD_MODES),
        "cooldown": check.count(where, "cooldown", data["cooldown"]),
        "min_scale": check.number(where, "min_scale", data["min_scale"], ge=0, le=1),
        "eps": check.number(where, "eps", data["eps"], ge=0),
    }


@dataclass(frozen=True)
class Plateau:
    """Scale the learning rate by `factor` when the metric stops improving.

    Semantics are PyTorch's ReduceLROnPlateau: a metric is an improvement when it
    beats the best so far by `threshold` (relative or absolute); after more than
    `patience` epochs without one, the scale is multiplied by `factor` (never
    below `min_scale`) and `cooldown` epochs follow in which bad epochs are not
    counted.  A NaN metric counts as bad.  A reduction that would lower the
    scale by `eps` or less is skipped: PyTorch's ``eps=1e-8`` on a learning
    rate `lr` is ``eps=1e-8 / lr`` here.

    `threshold_mode` "rel" (the default) measures the threshold from ``abs(best)``:
    mode "min" needs ``metric < best - abs(best) * threshold``, mode "max"
    ``metric > best + abs(best) * threshold``, so a metric that stalls at -1.0 is
    reduced as one that stalls at +1.0.  "signed_rel" is PyTorch's "rel",
    ``best * (1 - threshold)`` (``best * (1 + threshold)`` in mode "max"), which
    below zero counts a stall as an improvement and never reduces there;
    ``from_torch`` keeps it.  "abs" needs a change of `threshold` itself.  For a
    best >= 0, "rel" and "signed_rel" are the same test.
    """

    mode: str = "min"
    factor: float = 0.1
    patience: int = 10
    threshold: float = 1e-4
    threshold_mode: str = "rel"
    cooldown: int = 0
    min_scale: float = 0.0
    eps: float = 0.0

    def __post_init__(self) -> None:
        for name, value in _settings("Plateau", asdict(self)).items():
            object.__setattr__(self, name, value)

    @classmethod
    def from_torch(cls, lr: float, **kwargs: Any) -> Plateau:
        """The Plateau that follows ``torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, **kwargs)``
        on an optimizer whose learning rate is `lr`.

        ``lr * state.scale`` is torch's lr after every ``step(metric)`` (to within rounding:
        torch multiplies the lr by `factor` each time, lrcore the scale).  Takes torch's
        arguments and defaults (mode, factor, patience, threshold, threshold_mode, cooldown,
        ``min_lr=0``, ``eps=1e-8``); the absolute `min_lr` and `eps` become scale units
        (``min_lr / lr``, ``eps / lr``).  One Plateau follows one learning rate: for param
        groups with different lrs or a per-group `min_lr` list, build one per group.

        torch's behaviour is kept on negative metrics too: its ``threshold_mode="rel"``
        becomes ``"signed_rel"``, whose threshold ``best * (1 - threshold)`` moves the wrong
        way once the best is below zero, so a metric that stalls there never reduces the
        lr (pytorch#38622).  ``Plateau(threshold_mode="rel")`` measures it from
        ``abs(best)`` instead.

        >>> p = Plateau.from_torch(0.1, patience=0, min_lr=1e-3)
        >>> p.min_scale, p.eps, p.threshold_mode
        (0.01, 1e-07, 'signed_rel')
        """
        w = "Plateau.from_torch"
        lr = check.number(w, "lr", lr, gt=0)
        torch_defaults = {
            "mode": "min", "factor": 0.1, "patience": 10, "threshold": 1e-4, "threshold_mode": "rel",
            "cooldown": 0, "min_lr": 0.0, "eps": 1e-8,
        }
        for key in kwargs:
            if key not in torch_defaults:
                raise TypeError(
                    f"{w}: ReduceLROnPlateau has no argument {key!r} (the optimizer is replaced by `lr`); "
                    f"it takes {', '.join(torch_defaults)}"
                )
        args = {**torch_defaults, **kwargs}
        mode = args["threshold_mode"]
        if mode not in ("rel", "abs"):  # torch's own two; lrcore's "signed_rel" is how its "rel" is kept
            raise check.fail(w, "threshold_mode", 'must be "rel" or "abs", as torch requires', mode,
                             TypeError if not isinstance(mode, str) else ValueError)
        args["threshold_mode"] = "signed_rel" if mode == "rel" else "abs"
        min_lr = args.pop("min_lr")
        if isinstance(min_lr, (list, tuple)):
            raise check.fail(w, "min_lr", "must be one number: one Plateau follows one lr (build one per group)",
                             min_lr, TypeError)
        min_lr = check.number(w, "min_lr", min_lr, ge=0)
        eps = check.number(w, "eps", args.pop("eps"), ge=0)
        # torch never raises an lr (a min_lr above it stops all reductions), and no reduction of a
        # scale <= 1 exceeds 1: clamping both ratios at 1 keeps torch's behaviour and the ratios finite.
        args["min_scale"] = min(min_lr / lr, 1.0)
        args["eps"] = min(eps / lr, 1.0)
        return cls(**_settings(w, args))

    def init(self) -> PlateauState:
        return PlateauState(best=math.inf if self.mode == "min" else -math.inf)

    def _better(self, a: float, best: float) -> bool:
        if self.threshold_mode == "abs":
            return a < best - self.threshold if self.mode == "min" else a > best + self.threshold
        # Relative: torch's expressions, operation for operation; "rel" takes the other one below zero,
        # where best * (1 - threshold) = best - abs(best) * threshold (and likewise in mode "max").
        if self.threshold_mode == "rel":
            if math.isinf(best):  # nothing seen yet (or an infinite metric): no threshold to measure
                return a < best if self.mode == "min" else a > best
            below = best < 0.0
        else:
            below = False
        if self.mode == "min":
            return a < best * ((1.0 + self.threshold) if below else (1.0 - self.threshold))
        return a > best * ((1.0 - self.threshold) if below else (self.threshold + 1.0))

    def update(self, state: PlateauState, metric: Any) -> PlateauState:
        """The state after one more epoch whose metric is `metric`."""
        if not isinstance(state, PlateauState):
            raise check.fail("Plateau.update", "state", "must be a PlateauState (from init())", state, TypeError)
        if isinstance(metric, (bool, np.bool_)):
            raise check.fail("Plateau.update", "metric", "must be a real number, not a bool", metric, TypeError)
        if not isinstance(metric, numbers.Real):
            try:
                metric = float(metric)  # 0-d arrays and tensors
            except (TypeError, ValueError):
                raise check.fail("Plateau.update", "metric", "must be a real number", metric, TypeError) from None
        current = float(metric)
        best, num_bad, cooldown, scale = state.best, state.num_bad, state.cooldown, state.scale
        if self._better(current, best):
            best, num_bad = current, 0
        else:
            num_bad += 1
        if cooldown > 0:
            cooldown -= 1
            num_bad = 0
        if num_bad > self.patience:
            reduced = max(scale * self.factor, self.min_scale)
            if scale - reduced > self.eps:
                scale = reduced
            cooldown = self.cooldown
            num_bad = 0
        return _next_state(best, num_bad, cooldown, scale, state.count + 1)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> Plateau:
        """The settings ``to_dict`` saved; every field is checked (a bad checkpoint raises, naming it)."""
        return cls(**_settings("Plateau.from_dict", _fields_of("Plateau.from_dict", cls, data)))


logger = logging.getLogger("lrcore")


def log_reduction(where: str, step: Any, metric: Any, before: PlateauState, after: PlateauState,
                  unit: str = "step") -> None:
    """Log at INFO, on the ``"lrcore"`` logger, a reduction that ``update`` made, as Keras'
    ``ReduceLROnPlateau(verbose=1)`` prints one.

    ``update`` stays pure and knows no step: the code that feeds the plateau calls this with
    the state before and after, its own clock (`step` in `unit`, e.g. an optimizer step or an
    epoch) and the metric fed.  Nothing is logged when the scale did not drop.
    """
    if after.scale < before.scale and logger.isEnabledFor(logging.INFO):
        logger.info("%s: %s %s: plateau reducing the lr scale to %.6g (metric %.6g, best %.6g)",
                    where, unit, step, after.scale, float(metric), after.best)
