"""Converter from Keras 3: ``lr.from_keras(name, **kwargs)`` for every class in ``keras.optimizers.schedules``.

Each builder takes the class's own constructor arguments (so a schedule's
``get_config()`` converts as ``from_keras(type(s).__name__, **s.get_config())``)
and returns the lrcore schedule with Keras' values at every step t >= 0.
Nothing here imports Keras.
"""

from __future__ import annotations

from typing import Any

from .._internal import Schedule, check
from .._kinds import cosine, cosine_restarts, exponential, inverse_time, piecewise_constant, polynomial, warmup
from ._common import Builder, call_builder, lr_value, positive


def _name(w: str, name: Any) -> None:
    """Keras' `name` only labels its ops (a name scope: a string without '/'); it has no effect on the values."""
    if not isinstance(name, str):
        raise check.fail(w, "name", "must be a string", name, TypeError)
    if "/" in name:
        raise check.fail(w, "name", "must not contain '/'", name)


def _fraction(w: str, alpha: Any) -> float:
    # alpha is the floor as a fraction of the peak; above 1 the "decay" would rise.
    return check.number(w, "alpha", alpha, ge=0, le=1)


# ---------------------------------------------------------------------------
# One builder per Keras class, with its argument names and defaults.


def _exponential_decay(
    w: str,
    *,
    initial_learning_rate: Any,
    decay_steps: Any,
    decay_rate: Any,
    staircase: Any = False,
    name: Any = "ExponentialDecay",
) -> Schedule:
    _name(w, name)
    return exponential(
        init=lr_value(w, "initial_learning_rate", initial_learning_rate),
        gamma=positive(w, "decay_rate", decay_rate),
        every=positive(w, "decay_steps", decay_steps),
        staircase=check.flag(w, "staircase", staircase),
    )


def _piecewise_constant_decay(w: str, *, boundaries: Any, values: Any, name: Any = "PiecewiseConstant") -> Schedule:
    _name(w, name)
    # Keras indexes boundaries[0] when called, so an empty list fails there.
    bounds = check.numbers_(w, "boundaries", boundaries, ge=0, increasing="strictly", min_len=1)
    if any(b != int(b) for b in bounds):
        raise check.fail(w, "boundaries", "must hold whole numbers (Keras casts them to the integer step)", boundaries)
    vals = check.numbers_(w, "values", values, ge=0)
    if len(vals) != len(bounds) + 1:
        raise check.fail(w, "values", f"must have len(boundaries) + 1 = {len(bounds) + 1} elements", values)
    # Keras switches once step > b, i.e. at step b + 1.
    return piecewise_constant(boundaries=[b + 1 for b in bounds], values=vals)


def _polynomial_decay(
    w: str,
    *,
    initial_learning_rate: Any,
    decay_steps: Any,
    end_learning_rate: Any = 0.0001,
    power: Any = 1.0,
    cycle: Any = False,
    name: Any = "PolynomialDecay",
) -> Schedule:
    _name(w, name)
    init = lr_value(w, "initial_learning_rate", initial_learning_rate)
    end = lr_value(w, "end_learning_rate", end_learning_rate)
    if end > init:
        # keras#18747: it is "the minimal end learning rate"; above the start the decay rises.
        rule = f"must be <= initial_learning_rate={init:g} (use lr.polynomial for a rising ramp)"
        raise check.fail(w, "end_learning_rate", rule, end_learning_rate)
    return polynomial(
        init=init,
        end=end,
        steps=positive(w, "decay_steps", decay_steps),
        power=positive(w, "power", power),
        cycle=check.flag(w, "cycle", cycle),
    )


def _inverse_time_decay(
    w: str,
    *,
    initial_learning_rate: Any,
    decay_steps: Any,
    decay_rate: Any,
    staircase: Any = False,
    name: Any = "InverseTimeDecay",
) -> Schedule:
    _name(w, name)
    return inverse_time(
        init=lr_value(w, "initial_learning_rate", initial_learning_rate),
        rate=check.number(w, "decay_rate", decay_rate, ge=0),
        every=positive(w, "decay_steps", decay_steps),
        staircase=check.flag(w, "staircase", staircase),
    )


def _cosine_decay(
    w: str,
    *,
    initial_learning_rate: Any,
    decay_steps: Any,
    alpha: Any = 0.0,
    name: Any = "CosineDecay",
    warmup_target: Any = None,
    warmup_steps: Any = 0,
) -> Schedule:
    _name(w, name)
    init = lr_value(w, "initial_learning_rate", initial_learning_rate)
    steps, alpha = positive(w, "decay_steps", decay_steps), _fraction(w, alpha)
    warm = check.number(w, "warmup_steps", warmup_steps, ge=0)
    if warmup_target is None:
        return cosine(init=init, steps=steps, final=alpha * init)  # Keras ignores warmup_steps then
    peak = lr_value(w, "warmup_target", warmup_target)
    decay = cosine(init=peak, steps=steps, final=alpha * peak)
    if warm == 0:
        return decay  # Keras starts the decay from warmup_target at once
    if peak < init:
        # keras#18747: a warmup that falls is almost surely swapped arguments.
        rule = f"must be >= initial_learning_rate={init:g} (a warmup rises to its target)"
        raise check.fail(w, "warmup_target", rule, warmup_target)
    return warmup(decay, steps=warm, start=init)


def _cosine_decay_restarts(
    w: str,
    *,
    initial_learning_rate: Any,
    first_decay_steps: Any,
    t_mul: Any = 2.0,
    m_mul: Any = 1.0,
    alpha: Any = 0.0,
    name: Any = "SGDRDecay",
) -> Schedule:
    _name(w, name)
    init, alpha = lr_value(w, "initial_learning_rate", initial_learning_rate), _fraction(w, alpha)
    # Below 1 the periods shrink to a finite sum, after which Keras takes the log of a negative number.
    t_mul = check.number(w, "t_mul", t_mul, ge=1)
    # Keras: init * ((1 - alpha) * m_mul**i * c + alpha): m_mul scales the cosine part only,
    # so the floor alpha * init is added outside the restarts.
    restarts = cosine_restarts(
        init=(1 - alpha) * init,
        period=positive(w, "first_decay_steps", first_decay_steps),
        period_mult=t_mul,
        decay=check.number(w, "m_mul", m_mul, ge=0),
    )
    return restarts + alpha * init if alpha else restarts


BUILDERS: dict[str, Builder] = {
    "ExponentialDecay": _exponential_decay,
    "PiecewiseConstantDecay": _piecewise_constant_decay,
    "PolynomialDecay": _polynomial_decay,
    "InverseTimeDecay": _inverse_time_decay,
    "CosineDecay": _cosine_decay,
    "CosineDecayRestarts": _cosine_decay_restarts,
}

INSTEAD = {
    "LearningRateSchedule": "it is the abstract base class: build the formula from lrcore kinds, or use lr.custom(fn)",
    "LearningRateScheduler": "its schedule is an arbitrary Python function of the epoch: use lr.custom(fn)",
    "ReduceLROnPlateau": "it follows a metric, not the step count: use lr.Plateau",
    "serialize": "convert a schedule's config: from_keras(config['class_name'], **config['config'])",
    "deserialize": "convert a schedule's config: from_keras(config['class_name'], **config['config'])",
}


def from_keras(name: str, /, **kwargs: Any) -> Schedule:
    """The lrcore schedule equal to ``getattr(keras.optimizers.schedules, name)(**kwargs)`` at every step t >= 0.

    `name` is one of ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay,
    InverseTimeDecay, CosineDecay, CosineDecayRestarts; kwargs are the class's
    own (Keras' `name`, a string without '/', is checked and ignored).  The formulas are Keras':

    - ExponentialDecay: ``init * decay_rate ** (t / decay_steps)`` (floored if staircase).
    - PiecewiseConstantDecay: ``values[i]`` while ``boundaries[i-1] < t <= boundaries[i]``:
      the value changes one step after each boundary, at ``b + 1`` (Keras steps are whole numbers).
    - PolynomialDecay: ``(init - end) * (1 - min(t, T) / T) ** power + end``; with
      `cycle`, T grows to the first multiple of decay_steps >= t.
    - InverseTimeDecay: ``init / (1 + decay_rate * t / decay_steps)`` (floored if staircase).
    - CosineDecay: an optional linear warmup from init to `warmup_target` over
      `warmup_steps`, then ``peak * ((1 - alpha) * 0.5 * (1 + cos(pi * min(s, T) / T)) + alpha)``
      with s the steps since the warmup (`decay_steps` excludes the warmup).
      Without `warmup_target`, Keras decays from init and ignores `warmup_steps`.
    - CosineDecayRestarts: SGDR, cycle i lasting ``first_decay_steps * t_mul ** i``:
      ``init * ((1 - alpha) * m_mul ** i * 0.5 * (1 + cos(pi * p)) + alpha)`` -- the
      floor ``alpha * init`` is not scaled by m_mul.

    Keras computes in float32; these schedules compute the same formulas in float64.

    Rejected with a ValueError (TypeError for a wrong type): what Keras rejects
    (``decay_steps <= 0``, ``first_decay_steps <= 0``, values not one longer than
    boundaries, and, when Keras evaluates them, empty boundaries or a `name` that
    is not a string without '/'), and what Keras lets
    through but makes no sense: negative learning rates, ``decay_rate <= 0``
    for ExponentialDecay (0 or NaN from the first step) and < 0 for
    InverseTimeDecay (a pole), boundaries that are negative, not increasing or
    not whole, ``power <= 0``, ``alpha`` outside [0, 1], ``t_mul < 1`` (NaN once
    the shrinking periods run out), ``m_mul < 0``, ``warmup_steps < 0``, and,
    following keras#18747, an end_learning_rate above initial_learning_rate in
    PolynomialDecay and a warmup_target below initial_learning_rate when
    ``warmup_steps > 0`` in CosineDecay (a "decay" that rises, a "warmup" that falls).

    Args:
        name: the class name in ``keras.optimizers.schedules``, e.g. "CosineDecay" (positional only).
        **kwargs: the class's own constructor arguments (or a schedule's ``get_config()``), with Keras'
            defaults; step counts (``decay_steps``, ``warmup_steps``, ...) are in optimizer iterations.

    Returns:
        A ``Schedule``: ``s(t)`` is the Keras schedule's value at ``optimizer.iterations == t``.

    Example:
        >>> import lrcore as lr
        >>> s = lr.from_keras("CosineDecay", initial_learning_rate=1.0, decay_steps=100, alpha=0.1)
        >>> s(0), round(s(50), 6), s(100)  # halfway: the mean of 1.0 and the floor alpha * 1.0
        (1.0, 0.55, 0.1)
    """
    return call_builder("from_keras", BUILDERS, INSTEAD, name, kwargs)
