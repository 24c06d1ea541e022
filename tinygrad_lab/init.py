"""Weight initialisation: functions that return float32 NumPy arrays.

Every function has the signature ``fn(shape, ..., rng=None)`` and returns a
fresh ``np.float32`` array of ``shape``.  ``rng`` is a
``numpy.random.Generator`` or an int seed; the same seed always gives the same
bits, so experiments can be repeated exactly.

Weights follow PyTorch's layout ``(out_features, in_features)``, so the
*fan-in* (how many inputs feed one neuron) is ``shape[1]`` and the *fan-out*
is ``shape[0]``.  The assignment's ``W1`` (256 x 784) is exactly this layout.

Which scale to pick, and why (the assignment's question 3):

* ``uniform`` in [-1, 1] (the assignment's default) ignores the layer size.
  With 784 inputs the pre-activations have std ~ sqrt(784/3) ~ 16, so a
  sigmoid saturates and its gradient all but vanishes.
* ``lecun_normal`` (std 1/sqrt(fan_in), the assignment's "normal 1/sqrt(n)")
  keeps the pre-activation variance near 1 for unit-variance inputs.
* ``he_normal`` (std sqrt(2/fan_in)) doubles that variance to make up for
  ReLU zeroing half of its inputs.
* ``xavier_*`` (Glorot) averages fan-in and fan-out so that both the forward
  activations and the backward gradients keep their scale; a good match for
  tanh and sigmoid.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

__all__ = [
    "as_generator",
    "fans",
    "zeros",
    "ones",
    "uniform",
    "normal",
    "lecun_normal",
    "lecun_uniform",
    "he_normal",
    "kaiming_normal",
    "he_uniform",
    "kaiming_uniform",
    "xavier_normal",
    "glorot_normal",
    "xavier_uniform",
    "glorot_uniform",
    "get",
    "available",
]

InitFn = Callable[..., np.ndarray]


def as_generator(rng=None) -> np.random.Generator:
    """Turn ``rng`` (a Generator, an int seed or None) into a Generator.

    A Generator is returned as is, so that several layers can share one stream
    of random numbers; an int seed makes a new, reproducible stream; None
    makes a new stream seeded from the operating system.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(rng)
    raise TypeError(
        f"rng must be a numpy.random.Generator, an int seed or None, got {type(rng).__name__}"
    )


def _shape(shape) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        shape = (int(shape),)
    shape = tuple(int(s) for s in shape)
    if any(s < 0 for s in shape):
        raise ValueError(f"init: shape must not have negative sizes, got {shape}")
    return shape


def fans(shape: Sequence[int]) -> tuple[int, int]:
    """Return ``(fan_in, fan_out)`` for a weight of ``shape``.

    ``(out, in)`` weights give ``(in, out)``; a 1-D shape ``(n,)`` gives
    ``(n, n)``; for more dimensions (e.g. conv kernels ``(out, in, kh, kw)``)
    the trailing sizes multiply both fans, as in PyTorch.
    """
    shape = _shape(shape)
    if len(shape) == 0:
        raise ValueError("init: cannot compute fan-in of a scalar shape ()")
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _check_fan(name: str, fan: int, shape) -> None:
    if fan <= 0:
        raise ValueError(f"init.{name}: fan is 0 for shape {tuple(shape)}; cannot scale by 1/fan")


def zeros(shape, rng=None) -> np.ndarray:
    """All zeros (the usual bias initialisation). ``rng`` is accepted and ignored."""
    return np.zeros(_shape(shape), dtype=np.float32)


def ones(shape, rng=None) -> np.ndarray:
    """All ones. ``rng`` is accepted and ignored."""
    return np.ones(_shape(shape), dtype=np.float32)


def uniform(shape, low: float = -1.0, high: float = 1.0, rng=None) -> np.ndarray:
    """Uniform in ``[low, high)``; the default [-1, 1) is the assignment's initialisation."""
    if not low <= high:
        raise ValueError(f"init.uniform: need low <= high, got low={low}, high={high}")
    u = as_generator(rng).random(_shape(shape), dtype=np.float32)
    out = np.float32(low) + np.float32(high - low) * u
    # float32 rounding can land exactly on `high`; keep the documented bound.
    return np.minimum(out, np.float32(high)).astype(np.float32, copy=False)


def normal(shape, mean: float = 0.0, std: float = 1.0, rng=None) -> np.ndarray:
    """Normal with the given ``mean`` and ``std``."""
    if std < 0:
        raise ValueError(f"init.normal: std must be >= 0, got {std}")
    z = as_generator(rng).standard_normal(_shape(shape), dtype=np.float32)
    return (np.float32(mean) + np.float32(std) * z).astype(np.float32, copy=False)


def lecun_normal(shape, rng=None) -> np.ndarray:
    """Normal with std ``1/sqrt(fan_in)`` (the assignment's "normal 1/sqrt(n)")."""
    fan_in, _ = fans(shape)
    _check_fan("lecun_normal", fan_in, shape)
    return normal(shape, std=1.0 / math.sqrt(fan_in), rng=rng)


def lecun_uniform(shape, rng=None) -> np.ndarray:
    """Uniform in ``±sqrt(3/fan_in)``: the same variance as :func:`lecun_normal`."""
    fan_in, _ = fans(shape)
    _check_fan("lecun_uniform", fan_in, shape)
    bound = math.sqrt(3.0 / fan_in)
    return uniform(shape, -bound, bound, rng=rng)


def he_normal(shape, rng=None) -> np.ndarray:
    """He/Kaiming normal: std ``sqrt(2/fan_in)``, suited to ReLU layers."""
    fan_in, _ = fans(shape)
    _check_fan("he_normal", fan_in, shape)
    return normal(shape, std=math.sqrt(2.0 / fan_in), rng=rng)


def he_uniform(shape, rng=None) -> np.ndarray:
    """He/Kaiming uniform in ``±sqrt(6/fan_in)`` (variance ``2/fan_in``)."""
    fan_in, _ = fans(shape)
    _check_fan("he_uniform", fan_in, shape)
    bound = math.sqrt(6.0 / fan_in)
    return uniform(shape, -bound, bound, rng=rng)


def xavier_normal(shape, gain: float = 1.0, rng=None) -> np.ndarray:
    """Xavier/Glorot normal: std ``gain * sqrt(2/(fan_in + fan_out))``."""
    fan_in, fan_out = fans(shape)
    _check_fan("xavier_normal", fan_in + fan_out, shape)
    return normal(shape, std=gain * math.sqrt(2.0 / (fan_in + fan_out)), rng=rng)


def xavier_uniform(shape, gain: float = 1.0, rng=None) -> np.ndarray:
    """Xavier/Glorot uniform in ``±gain * sqrt(6/(fan_in + fan_out))``."""
    fan_in, fan_out = fans(shape)
    _check_fan("xavier_uniform", fan_in + fan_out, shape)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform(shape, -bound, bound, rng=rng)


# PyTorch and Keras use both names; learners meet both.
kaiming_normal = he_normal
kaiming_uniform = he_uniform
glorot_normal = xavier_normal
glorot_uniform = xavier_uniform


# Short names for configs ("init": "he").  A bare family name means its normal
# variant, except "uniform", which is the assignment's U[-1, 1].
_REGISTRY: dict[str, InitFn] = {
    "zeros": zeros,
    "ones": ones,
    "uniform": uniform,
    "normal": lecun_normal,
    "lecun": lecun_normal,
    "lecun_normal": lecun_normal,
    "lecun_uniform": lecun_uniform,
    "he": he_normal,
    "he_normal": he_normal,
    "he_uniform": he_uniform,
    "kaiming": he_normal,
    "kaiming_normal": he_normal,
    "kaiming_uniform": he_uniform,
    "xavier": xavier_normal,
    "xavier_normal": xavier_normal,
    "xavier_uniform": xavier_uniform,
    "glorot": xavier_normal,
    "glorot_normal": xavier_normal,
    "glorot_uniform": xavier_uniform,
}


def available() -> list[str]:
    """The names :func:`get` accepts, sorted."""
    return sorted(_REGISTRY)


def get(name) -> InitFn:
    """Look up an initialiser by name (case-insensitive, ``-`` same as ``_``).

    A callable is returned unchanged, so ``get`` can normalise a config value
    that is either a name or a function ``fn(shape, rng=...)``.
    """
    if callable(name):
        return name
    if not isinstance(name, str):
        raise TypeError(f"init.get: expected a name or a callable, got {type(name).__name__}")
    key = name.strip().lower().replace("-", "_")
    if key not in _REGISTRY:
        raise ValueError(f"unknown init {name!r}; valid names: {', '.join(available())}")
    return _REGISTRY[key]
