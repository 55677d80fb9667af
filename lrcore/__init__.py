"""lrcore: learning-rate schedules as values, one numba kernel, every framework.

>>> import lrcore as lr
>>> s = lr.warmup(lr.cosine(init=3e-4, steps=9_000, final=3e-5), steps=1_000)
>>> round(s(500), 8), s(10_000)
(0.00015, 3e-05)
"""

from ._find import find_lr
from ._kinds import (
    add,
    clip,
    constant,
    cosine,
    cosine_restarts,
    custom,
    cyclic,
    exponential,
    growth,
    interpolate,
    inverse_sqrt,
    inverse_time,
    join,
    linear,
    multistep,
    one_cycle,
    piecewise_constant,
    polynomial,
    product,
    range_test,
    scale,
    shift,
    step,
    stretch,
    tanh_decay,
    untuned_warmup,
    warmup,
    wsd,
)
from ._parse import NAMES as _PARSE_NAMES
from ._parse import parse
from ._plateau import Plateau, PlateauState
from ._plot import plot
from ._schedule import Schedule
from ._serialize import from_dict, from_json
from ._steps import iterate, summary
from ._suggest import Suggestion, suggest
from ._units import resolve
from .convert import from_deepspeed, from_hf, from_keras, from_optax, from_timm, from_torch

_PARSE_NAMES.update(
    from_torch=from_torch, from_optax=from_optax, from_keras=from_keras, from_hf=from_hf, from_timm=from_timm,
    from_deepspeed=from_deepspeed,
)

__version__ = "0.1.0"

__all__ = [
    "Plateau",
    "PlateauState",
    "Schedule",
    "Suggestion",
    "add",
    "clip",
    "constant",
    "cosine",
    "cosine_restarts",
    "custom",
    "cyclic",
    "exponential",
    "find_lr",
    "from_deepspeed",
    "from_dict",
    "from_hf",
    "from_keras",
    "from_optax",
    "from_timm",
    "from_torch",
    "from_json",
    "growth",
    "interpolate",
    "inverse_sqrt",
    "inverse_time",
    "iterate",
    "join",
    "linear",
    "multistep",
    "one_cycle",
    "parse",
    "piecewise_constant",
    "plot",
    "polynomial",
    "product",
    "range_test",
    "resolve",
    "scale",
    "shift",
    "step",
    "stretch",
    "suggest",
    "summary",
    "tanh_decay",
    "untuned_warmup",
    "warmup",
    "wsd",
]
