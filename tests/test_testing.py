"""tinygrad_lab.testing: the strategies draw what they promise, and the documented
example of testing a custom op works as written."""
import re

import numpy as np
import pytest
from hypothesis import find, given, settings
from hypothesis.errors import NoSuchExample
from hypothesis import strategies as st

import tinygrad_lab as tl
from tinygrad_lab import testing
from tinygrad_lab.testing import (arrays, axes, broadcastable_shapes, check_gradients,
                                  positive_arrays, shapes, tensors)


@given(shapes(min_dims=1, max_dims=3, min_side=2, max_side=4))
def test_shapes_respect_their_bounds(shape):
    assert 1 <= len(shape) <= 3 and all(2 <= n <= 4 for n in shape)


def test_shapes_include_the_scalar_shape_by_default():
    assert find(shapes(), lambda s: s == ()) == ()


@given(arrays())
def test_arrays_are_finite_floats_in_the_default_range(a):
    assert isinstance(a, np.ndarray) and a.dtype in (np.float32, np.float64)
    assert np.all(np.isfinite(a)) and np.all((-3 <= a) & (a <= 3))
    assert a.ndim <= 4 and all(1 <= n <= 5 for n in a.shape)


def test_arrays_draw_both_float_dtypes():
    for dtype in testing.FLOAT_DTYPES:
        find(arrays(), lambda a, dtype=dtype: a.dtype == dtype)


@given(arrays(shape=(2, 3), dtype=np.float32, min_value=-0.5, max_value=2.0))
def test_arrays_fixed_shape_dtype_and_range(a):
    assert a.shape == (2, 3) and a.dtype == np.float32
    assert np.all((-0.5 <= a) & (a <= 2.0))


@given(arrays(shape=shapes(max_dims=2), dtype=st.just(np.float64)))
def test_arrays_accept_strategies_for_shape_and_dtype(a):
    assert a.ndim <= 2 and a.dtype == np.float64


@given(arrays(dtype=st.sampled_from([np.float32, np.float64]), min_value=-1, max_value=8,
              avoid=(0, 6), margin=0.05))
def test_arrays_keep_away_from_kinks(a):
    assert np.all(np.abs(a.astype(np.float64)) >= 0.05)
    assert np.all(np.abs(a.astype(np.float64) - 6) >= 0.05)


def test_arrays_still_reach_both_sides_of_a_kink():
    find(arrays(shape=(), avoid=(0,)), lambda a: a < 0)
    find(arrays(shape=(), avoid=(0,)), lambda a: a > 0)


@given(arrays(distinct=True, avoid=(0,)))
def test_distinct_arrays_have_no_ties_and_honour_avoid(a):
    values = np.sort(a.reshape(-1).astype(np.float64))
    assert np.all(np.diff(values) > 1e-3)
    assert np.all(np.abs(values) >= 0.01) and np.all(np.abs(values) <= 3)


@given(positive_arrays())
def test_positive_arrays_are_safe_for_log_and_sqrt(a):
    assert np.all(a >= 0.1) and np.all(np.isfinite(np.log(a)))


def test_impossible_ranges_are_reported_early():
    with pytest.raises(ValueError, match="min_value must be > 0"):
        positive_arrays(min_value=0)
    with pytest.raises(ValueError, match="exceeds"):
        arrays(min_value=2, max_value=1)
    with pytest.raises(ValueError, match="no value lies in"):
        arrays(min_value=-0.1, max_value=0.1, avoid=(0,), margin=0.5)


@given(tensors(shape=(3,)), tensors(requires_grad=False))
def test_tensors_are_leaves_with_the_requested_requires_grad(x, c):
    assert isinstance(x, tl.Tensor) and x.is_leaf and x.requires_grad and x.shape == (3,)
    assert not c.requires_grad and c.dtype in testing.FLOAT_DTYPES


@given(broadcastable_shapes(num_shapes=3, max_dims=3))
def test_broadcastable_shapes_broadcast_together(shape_tuple):
    assert len(shape_tuple) == 3
    np.broadcast_shapes(*shape_tuple)  # raises if they do not


@pytest.mark.parametrize("stretched", [0, 1])
def test_broadcastable_shapes_stretch_either_operand(stretched):
    def other_is_stretched(pair):
        result = np.broadcast_shapes(*pair)
        return pair[stretched] != result and pair[1 - stretched] == result and \
            len(pair[stretched]) == len(result)
    find(broadcastable_shapes(), other_is_stretched)
    # ... and an operand with fewer axes, on either side
    find(broadcastable_shapes(), lambda p: 0 < len(p[stretched]) < len(p[1 - stretched]))


@given(st.data())
def test_axes_are_valid_for_numpy_reductions(data):
    shape = data.draw(shapes(max_dims=4))
    axis = data.draw(axes(shape))
    np.sum(np.zeros(shape), axis=axis)  # raises AxisError if invalid
    if isinstance(axis, tuple):
        assert len({a % len(shape) for a in axis}) == len(axis)


@pytest.mark.parametrize("predicate", [
    lambda a: a is None,
    lambda a: isinstance(a, int) and a < 0,
    lambda a: isinstance(a, tuple) and len(a) >= 2 and any(x < 0 for x in a),
    lambda a: a == (),
])
def test_axes_cover_none_ints_negative_and_tuples(predicate):
    find(axes((2, 3, 4)), predicate)


def test_axes_can_be_restricted_and_handle_scalars():
    find(axes(0), lambda a: a is None)
    with pytest.raises(NoSuchExample):
        find(axes(0), lambda a: isinstance(a, int))
    find(axes(3, allow_none=False, allow_tuple=False), lambda a: a == -3)
    with pytest.raises(ValueError, match="nothing to draw"):
        axes(2, allow_none=False, allow_int=False, allow_tuple=False)


# --- check_gradients and custom ops --------------------------------------------------------
class Cos(tl.Function):
    formula = "cos x"
    derivative = "∂/∂x = −sin x"

    @staticmethod
    def forward(ctx, x):
        return np.cos(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.inputs
        return -grad * np.sin(x)


class WrongCos(Cos):
    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.inputs
        return grad * np.sin(x)  # sign error


@given(tensors(max_value=3))
def test_check_gradients_passes_a_correct_custom_op(x):
    assert check_gradients(Cos.apply, x)


def test_check_gradients_catches_a_wrong_custom_op():
    x = tl.Tensor(np.array([0.5, 1.0, 2.0]), requires_grad=True)
    with pytest.raises(tl.GradcheckError, match="input 0"):
        check_gradients(WrongCos.apply, x)


def test_check_gradients_second_order():
    x = tl.Tensor(np.array([0.5, -1.0]), requires_grad=True)
    assert check_gradients(lambda t: t.sigmoid(k=2), x, second_order=True)


def test_the_module_docstring_example_runs_as_written():
    """The example in ``tinygrad_lab.testing``'s docstring is what users copy: run it."""
    code = re.search(r"Testing a custom op.*?::\n\n(.*?)\n\n``tensors\(\)`` draws",
                     testing.__doc__, re.S).group(1)
    namespace = {}
    exec(compile("\n".join(line[4:] for line in code.splitlines()), "<docstring>", "exec"),
         namespace)
    tests = [f for name, f in namespace.items() if name.startswith("test_")]
    assert len(tests) == 2
    for test in tests:
        settings(max_examples=10)(test)()
