"""Shape ops: reshape, transpose/.T, flatten, indexing (repeats accumulate), concatenate,
stack, broadcast_to, scatter_add. Values move; gradients move back."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_lab as tl
from tinygrad_lab import Tensor
from tinygrad_lab.testing import check_gradients, shapes, tensors

x_shapes = shapes(min_dims=1, max_dims=4, max_side=4)


@given(data=st.data())
def test_reshape(data):
    x = data.draw(tensors(x_shapes))
    sizes = [d for d in range(1, x.size + 1) if x.size % d == 0]
    first = data.draw(st.sampled_from(sizes))
    for new in [(first, -1), (x.size,), (1, x.size, 1)]:
        y = x.reshape(new)
        np.testing.assert_array_equal(y.numpy(), x.numpy().reshape(new))
        check_gradients(lambda t: t.reshape(*new), x)


@given(data=st.data())
def test_transpose_with_drawn_permutation_and_T(data):
    x = data.draw(tensors(x_shapes))
    perm = tuple(data.draw(st.permutations(range(x.ndim))))
    np.testing.assert_array_equal(x.transpose(perm).numpy(), x.numpy().transpose(perm))
    np.testing.assert_array_equal(x.T.numpy(), x.numpy().T)
    check_gradients(lambda t: t.transpose(*perm), x)
    check_gradients(lambda t: t.T * np.arange(t.size).reshape(t.T.shape), x)


@given(data=st.data())
def test_flatten_like_pytorch(data):
    x = data.draw(tensors(x_shapes))
    start = data.draw(st.integers(-x.ndim, x.ndim - 1))
    end = data.draw(st.integers(start % x.ndim, x.ndim - 1))
    shape = x.shape
    s = start % x.ndim
    expected = shape[:s] + (int(np.prod(shape[s:end + 1])),) + shape[end + 1:]
    assert x.flatten(start, end).shape == expected
    assert x.flatten().shape == (x.size,)
    check_gradients(lambda t: t.flatten(start, end), x)


def test_flatten_scalar():
    assert Tensor(3.0).flatten().shape == (1,)


INDICES = [
    (slice(1, None),), (slice(None, None, -1),), (0,), (-1, slice(None, 2)),
    (Ellipsis, 0), (None, slice(None)), (np.array([0, 2, 0, 0]),), ([1, 1],),
    (np.array([0, 0, 1]), np.array([2, 2, 0])), (slice(None), np.array([1, 1, 1])),
]


@pytest.mark.parametrize("index", INDICES, ids=repr)
def test_getitem_values_and_gradients(index):
    x = Tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    np.testing.assert_array_equal(x[index].numpy(),
                                  x.numpy()[tuple(np.asarray(i) if isinstance(i, list) else i
                                                  for i in index)])
    check_gradients(lambda t: t[index], x)
    check_gradients(lambda t: t[index] ** 2, x, second_order=True)


@given(data=st.data())
def test_getitem_with_drawn_basic_indices(data):
    x = data.draw(tensors(shapes(min_dims=1, max_dims=3, max_side=4), dtype=np.float64))
    index = data.draw(hnp.basic_indices(x.shape, allow_newaxis=True))
    np.testing.assert_array_equal(x[index].numpy(), x.numpy()[index])
    check_gradients(lambda t: t[index], x)


@given(data=st.data())
def test_getitem_with_drawn_integer_arrays_accumulates_repeats(data):
    x = data.draw(tensors(shapes(min_dims=1, max_dims=3, max_side=4), dtype=np.float64))
    index = data.draw(hnp.integer_array_indices(x.shape, result_shape=shapes(max_dims=2)))
    y = x[index]
    np.testing.assert_array_equal(y.numpy(), x.numpy()[index])
    g = np.random.default_rng(0).standard_normal(y.shape)
    y.backward(g)
    expected = np.zeros(x.shape)
    np.add.at(expected, index, g)  # every pick adds its gradient, repeats included
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12)
    check_gradients(lambda t: t[index], x)


def test_getitem_repeated_integer_indices_accumulate():
    x = Tensor(np.arange(5.0), requires_grad=True)
    x[np.array([0, 0, 2, 0, 4, 4])].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3, 0, 1, 0, 2])


def test_getitem_repeated_rows_accumulate_weighted():
    x = Tensor(np.zeros((3, 2)), requires_grad=True)
    x[[2, 0, 2]].backward(np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]))
    np.testing.assert_array_equal(x.grad.numpy(), [[3, 4], [0, 0], [6, 8]])


def test_getitem_with_boolean_mask_and_tensor_index():
    x = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    x[x > 2].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 0, 0], [1, 1, 1]])
    x.zero_grad()
    x[Tensor(np.array([1, 1]))].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 0, 0], [2, 2, 2]])


@given(data=st.data(), n=st.integers(1, 3))
def test_concatenate_and_stack(data, n):
    base = data.draw(shapes(min_dims=1, max_dims=3, max_side=3))
    axis = data.draw(st.integers(-len(base), len(base) - 1))
    cat_shapes = [base[:axis % len(base)] + (data.draw(st.integers(1, 3)),) +
                  base[axis % len(base) + 1:] for _ in range(n)]
    xs = [data.draw(tensors(shape=s, dtype=np.float64)) for s in cat_shapes]
    np.testing.assert_array_equal(tl.concatenate(xs, axis=axis).numpy(),
                                  np.concatenate([x.numpy() for x in xs], axis=axis))
    check_gradients(lambda *ts: tl.concatenate(ts, axis=axis), *xs)
    ys = [data.draw(tensors(shape=base, dtype=np.float64)) for _ in range(n)]
    stack_axis = data.draw(st.integers(-len(base) - 1, len(base)))
    np.testing.assert_array_equal(tl.stack(ys, axis=stack_axis).numpy(),
                                  np.stack([y.numpy() for y in ys], axis=stack_axis))
    check_gradients(lambda *ts: tl.stack(ts, axis=stack_axis), *ys)


def test_concatenate_with_constants_and_second_order():
    x = Tensor(np.random.default_rng(0).standard_normal((2, 3)), requires_grad=True)
    check_gradients(lambda t: tl.concatenate([t * t, np.ones((2, 1)), t], axis=1), x,
                    second_order=True)
    check_gradients(lambda t: tl.stack([t * t, t], axis=-1), x, second_order=True)


def test_concatenate_mismatch_names_the_op():
    with pytest.raises(ValueError, match=r"Concatenate: .*\(2, 3\) and \(3, 3\)"):
        tl.concatenate([Tensor(np.ones((2, 3))), Tensor(np.ones((3, 3)))], axis=1)


@given(data=st.data())
def test_broadcast_to_sums_the_copies(data):
    x = data.draw(tensors(shapes(max_dims=2, max_side=3)))
    target = data.draw(st.sampled_from([(2,) + x.shape, (3, 1) + x.shape]))
    y = tl.broadcast_to(x, target)
    np.testing.assert_array_equal(y.numpy(), np.broadcast_to(x.numpy(), target))
    check_gradients(lambda t: tl.broadcast_to(t, target), x)
    y.sum().backward()
    copies = np.prod(target) // max(x.size, 1)
    np.testing.assert_array_equal(x.grad.numpy(), np.full(x.shape, copies))


def test_scatter_add_is_the_gradient_of_indexing():
    g = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    out = tl.scatter_add(g, np.array([0, 0, 3]), (4,))
    np.testing.assert_array_equal(out.numpy(), [3, 0, 0, 3])
    check_gradients(lambda t: tl.scatter_add(t, np.array([0, 0, 3]), (4,)), g)
    check_gradients(lambda t: tl.scatter_add(t, slice(1, 4), (5,)), g)


def test_reshape_mismatch_names_the_op_and_shape():
    with pytest.raises(ValueError, match=r"Reshape: .*\(input shapes: \(2, 3\)\)"):
        Tensor(np.ones((2, 3))).reshape(4, 2)
