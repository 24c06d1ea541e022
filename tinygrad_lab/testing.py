"""Hypothesis strategies for property tests of ops, built-in or your own.

A property test draws many inputs and checks something that must hold for all
of them, for instance that an op's analytic gradient matches finite
differences. These strategies draw shapes, arrays and tensors whose values are
safe for such checks: finite, in a modest range, and (with ``avoid``) away from
the kinks where a derivative jumps. They wrap :mod:`hypothesis.extra.numpy`.

Testing a custom op (a :class:`~tinygrad_lab.Function` subclass)::

    import numpy as np
    from hypothesis import given
    import tinygrad_lab as tl
    from tinygrad_lab.testing import tensors, check_gradients

    class HardTanh(tl.Function):             # clip(x, −1, 1)
        formula = "clip(x, −1, 1)"
        derivative = "∂/∂x = 1[−1 < x < 1]"

        @staticmethod
        def forward(ctx, x):
            ctx.inside = np.abs(x) < 1        # a mask saved for backward
            return np.clip(x, -1, 1)

        @staticmethod
        def backward(ctx, grad):
            return grad * ctx.inside

    @given(tensors(avoid=(-1, 1)))           # the derivative jumps at ±1
    def test_hardtanh_gradient(x):
        check_gradients(HardTanh.apply, x)   # tl.gradcheck, in float64

    @given(tensors(requires_grad=False))
    def test_hardtanh_is_bounded(x):
        assert np.all(np.abs(HardTanh.apply(x).numpy()) <= 1)

``tensors()`` draws float32 and float64 tensors of 0 to 4 axes with values in [−3, 3].
Every strategy takes either fixed values or strategies, so they compose:
``tensors(shape=shapes(max_dims=2))``, ``arrays(dtype=np.float64)``.
"""
from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from .gradcheck import gradcheck, gradgradcheck
from .tensor import Tensor

__all__ = ["FLOAT_DTYPES", "shapes", "float_dtypes", "arrays", "positive_arrays", "tensors",
           "broadcastable_shapes", "axes", "check_gradients"]

FLOAT_DTYPES = (np.float32, np.float64)
"""The dtypes drawn when none is given: the library's default and the gradcheck dtype."""


def shapes(min_dims=0, max_dims=4, min_side=1, max_side=5):
    """Array shapes: tuples of ``min_dims``..``max_dims`` sides, each ``min_side``..``max_side``.

    ``min_dims=0`` includes ``()``, the shape of a scalar tensor.
    """
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def float_dtypes():
    """float32 or float64 (shrinks towards float32)."""
    return st.sampled_from(FLOAT_DTYPES)


def _strategy(value):
    return value if isinstance(value, st.SearchStrategy) else st.just(value)


def _inward(bound, dtype, up):
    """``bound`` rounded to ``dtype``, moved inward if rounding took it outside the range."""
    b = np.asarray(bound, dtype=dtype)
    if (up and b < bound) or (not up and b > bound):
        b = np.nextafter(b, np.asarray(np.inf if up else -np.inf, dtype=dtype))
    return float(b)


def _allowed_intervals(min_value, max_value, avoid, margin):
    """[min_value, max_value] without the points closer than ``margin`` to a kink."""
    intervals, lo = [], min_value
    for k in sorted(float(k) for k in avoid):
        # A hair wider than margin, so |v − k| >= margin survives float rounding.
        left, right = k - margin * (1 + 1e-6), k + margin * (1 + 1e-6)
        if right <= lo:
            continue
        if left >= max_value:
            break
        if left >= lo:
            intervals.append((lo, left))
        lo = max(lo, right)
    if lo <= max_value:
        intervals.append((lo, max_value))
    return intervals


def _elements(dtype, min_value, max_value, avoid, margin):
    """Finite floats of ``dtype`` in [min_value, max_value], at least ``margin`` from ``avoid``."""
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise ValueError(f"testing: only float dtypes are supported, got {dtype}")
    width = dtype.itemsize * 8
    pieces = []
    for lo, hi in _allowed_intervals(min_value, max_value, avoid, margin):
        lo, hi = _inward(lo, dtype, up=True), _inward(hi, dtype, up=False)
        if lo <= hi:
            pieces.append(st.floats(lo, hi, width=width, allow_nan=False,
                                    allow_infinity=False, allow_subnormal=False))
    if not pieces:
        raise ValueError(f"testing: no {dtype} value lies in [{min_value}, {max_value}] at least "
                         f"{margin} away from {tuple(avoid)}")
    return st.one_of(pieces)


def _distinct_grid(n, dtype, min_value, max_value, avoid, margin):
    """Up to ``n`` values of ``dtype`` in range, a grid step apart, none near a kink."""
    step = margin
    while True:
        count = int(math.floor((max_value - min_value) / step)) + 1
        grid = (min_value + step * np.arange(count)).astype(dtype)
        grid = grid[(grid >= min_value) & (grid <= max_value)]
        for k in avoid:
            grid = grid[np.abs(grid.astype(np.float64) - k) >= margin]
        if len(grid) >= n or step < 1e-4:
            return grid
        step /= 2


def arrays(shape=None, dtype=None, min_value=-3.0, max_value=3.0, avoid=(), margin=1e-2,
           distinct=False):
    """NumPy float arrays with values that are safe for gradient checks.

    - ``shape``: a tuple, or a strategy for one (default :func:`shapes`).
    - ``dtype``: ``np.float32``, ``np.float64`` or a strategy (default: either).
    - ``min_value``/``max_value``: the range of the values (finite, no NaN, no subnormals).
    - ``avoid``: points where the op's derivative jumps, e.g. ``(0,)`` for ``relu`` and
      ``abs``, ``(0, 6)`` for ``relu6``; every value stays at least ``margin`` away, so
      finite differences (eps = 1e-6) never straddle a kink.
    - ``distinct``: values pairwise at least ``margin`` apart (no ties), for ops whose
      gradient picks one element: ``max``, ``min``, sorting, pooling.

    Example: ``arrays(shape=(3, 4), dtype=np.float64, avoid=(0,))``.
    """
    if not min_value <= max_value:
        raise ValueError(f"arrays: min_value {min_value} exceeds max_value {max_value}")
    if not _allowed_intervals(min_value, max_value, avoid, margin):
        raise ValueError(f"arrays: no value lies in [{min_value}, {max_value}] at least "
                         f"{margin} away from {tuple(avoid)}")
    shape_st = shapes() if shape is None else _strategy(shape)
    dtype_st = float_dtypes() if dtype is None else _strategy(dtype)

    if distinct:
        @st.composite
        def _distinct(draw):
            shp, dt = draw(shape_st), draw(dtype_st)
            n = int(np.prod(shp, dtype=np.int64))
            grid = _distinct_grid(n, dt, min_value, max_value, avoid, margin)
            if len(grid) < n:
                raise ValueError(f"arrays(distinct=True): {n} distinct values do not fit in "
                                 f"[{min_value}, {max_value}]; draw smaller shapes")
            order = draw(st.permutations(range(len(grid))))
            return grid[np.asarray(order[:n], dtype=np.int64)].reshape(shp)
        return _distinct()

    @st.composite
    def _arrays(draw):
        dt = draw(dtype_st)
        elements = _elements(dt, min_value, max_value, avoid, margin)
        return draw(hnp.arrays(dt, shape_st, elements=elements))
    return _arrays()


def positive_arrays(shape=None, dtype=None, min_value=0.1, max_value=3.0, **kwargs):
    """Arrays of values in [min_value, max_value], all > 0: for ``log``, ``sqrt``, ``x ** y``."""
    if min_value <= 0:
        raise ValueError(f"positive_arrays: min_value must be > 0, got {min_value}")
    return arrays(shape=shape, dtype=dtype, min_value=min_value, max_value=max_value, **kwargs)


def tensors(shape=None, dtype=None, min_value=-3.0, max_value=3.0, avoid=(), margin=1e-2,
            requires_grad=True, distinct=False):
    """:class:`~tinygrad_lab.Tensor` leaves wrapping :func:`arrays` (same arguments).

    ``requires_grad=True`` by default, since these usually feed gradient checks.
    """
    return arrays(shape=shape, dtype=dtype, min_value=min_value, max_value=max_value,
                  avoid=avoid, margin=margin, distinct=distinct).map(
        lambda a: Tensor(a, requires_grad=requires_grad))


def broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, min_side=1, max_side=5):
    """Tuples of ``num_shapes`` shapes that broadcast together, in either direction.

    Any operand may be the one that is stretched (a side of 1, or fewer axes), so
    ``a_shape, b_shape = draw(broadcastable_shapes())`` covers ``(3, 1) ⊕ (4,)``
    as well as ``(4,) ⊕ (3, 4)``. ``np.broadcast_shapes(*shapes)`` gives the result's shape.
    """
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims, min_side=min_side,
        max_side=max_side).map(lambda b: tuple(b.input_shapes))


def axes(shape, allow_none=True, allow_int=True, allow_tuple=True):
    """A valid ``axis`` argument for an array of ``shape`` (or of that many dimensions).

    ``None`` (every axis), an int in [−ndim, ndim), or a tuple of distinct axes
    (negative ones included, ``()`` included), as NumPy's reductions accept.
    """
    ndim = shape if isinstance(shape, int) else len(shape)
    options = []
    if allow_none:
        options.append(st.none())
    if allow_int and ndim > 0:
        options.append(st.integers(-ndim, ndim - 1))
    if allow_tuple:
        options.append(hnp.valid_tuple_axes(ndim))
    if not options:
        raise ValueError(f"axes: nothing to draw for {ndim} dimensions with these options")
    return st.one_of(options)


def check_gradients(fn, *inputs, second_order=False, **gradcheck_kwargs):
    """``tl.gradcheck(fn, inputs)`` (and ``tl.gradgradcheck`` with ``second_order=True``).

    ``check_gradients(lambda x, y: x * y, x, y)`` raises
    :class:`~tinygrad_lab.GradcheckError` naming the input and element that disagree.
    """
    gradcheck(fn, inputs, **gradcheck_kwargs)
    if second_order:
        gradgradcheck(fn, inputs, **gradcheck_kwargs)
    return True
