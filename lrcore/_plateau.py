"""Reduce-on-plateau as a pure controller: ``state = p.update(state, metric)``."""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass
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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PlateauState:
        return cls(
            best=float(data["best"]),
            num_bad=int(data["num_bad"]),
            cooldown=int(data["cooldown"]),
            scale=float(data["scale"]),
            count=int(data["count"]),
        )


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
        w = "Plateau"
        check.choice(w, "mode", self.mode, ("min", "max"))
        object.__setattr__(self, "factor", check.number(w, "factor", self.factor, gt=0, lt=1))
        object.__setattr__(self, "patience", check.count(w, "patience", self.patience))
        object.__setattr__(self, "threshold", check.number(w, "threshold", self.threshold, ge=0))
        check.choice(w, "threshold_mode", self.threshold_mode, ("rel", "abs"))
        object.__setattr__(self, "cooldown", check.count(w, "cooldown", self.cooldown))
        object.__setattr__(self, "min_scale", check.number(w, "min_scale", self.min_scale, ge=0, le=1))
        object.__setattr__(self, "eps", check.number(w, "eps", self.eps, ge=0))

    def init(self) -> PlateauState:
        return PlateauState(best=math.inf if self.mode == "min" else -math.inf)

    def _better(self, a: float, best: float) -> bool:
        if self.mode == "min":
            if self.threshold_mode == "rel":
                return a < best * (1.0 - self.threshold)
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

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
        return PlateauState(best=best, num_bad=num_bad, cooldown=cooldown, scale=scale, count=state.count + 1)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plateau:
        return cls(**data)
