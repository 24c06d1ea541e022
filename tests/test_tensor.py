"""Tensor: construction and dtypes, attributes, repr, conversion, and the autograd
behaviour a user touches directly (accumulation, retain_graph, no_grad, hooks)."""
import numpy as np
import pytest

import tinygrad_lab as tl
from tinygrad_lab import Tensor


# --- construction and dtypes ------------------------------------------------------------
@pytest.mark.parametrize("data", [[1.0, 2.0], [[1, 2], [3, 4]], 3, 2.5, [True, 1.5]])
def test_python_numbers_and_lists_become_float32(data):
    t = Tensor(data)
    assert t.dtype == np.float32
    np.testing.assert_array_equal(t.numpy(), np.asarray(data, dtype=np.float32))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_numpy_arrays_keep_their_float_dtype(dtype):
    a = np.arange(6, dtype=dtype).reshape(2, 3)
    t = Tensor(a)
    assert t.dtype == dtype
    assert t.numpy() is a  # no copy: the tensor wraps the array


def test_explicit_dtype_converts():
    assert Tensor([1, 2], dtype=np.float64).dtype == np.float64
    assert Tensor(np.ones(2, np.float32), dtype=np.float64).dtype == np.float64


def test_tensor_from_tensor_shares_data():
    a = Tensor(np.ones(3))
    assert Tensor(a).numpy() is a.numpy()


def test_integer_array_stays_integer_and_cannot_require_grad():
    t = Tensor(np.arange(3))
    assert t.dtype.kind == "i" and not t.requires_grad
    with pytest.raises(TypeError, match="floating-point.*int64"):
        Tensor(np.arange(3), requires_grad=True)
    with pytest.raises(TypeError, match="floating-point"):
        t.requires_grad = True


def test_unsupported_data_is_a_clear_error():
    with pytest.raises(TypeError, match="cannot make a tensor"):
        Tensor("abc")


# --- attributes, repr, conversion ---------------------------------------------------------
def test_attributes():
    x = Tensor(np.zeros((2, 3, 4)), requires_grad=True)
    assert x.shape == (2, 3, 4) and x.ndim == 3 and x.size == 24 and len(x) == 2
    assert x.dtype == np.float64 and x.requires_grad and x.is_leaf and x.grad is None
    assert x.op is None
    y = x * 2
    assert not y.is_leaf and y.op is tl.ops.Mul and y.requires_grad


def test_parameter_is_a_float32_leaf_that_requires_grad():
    p = tl.Parameter([[1.0, 2.0]])
    assert isinstance(p, Tensor) and p.requires_grad and p.is_leaf and p.dtype == np.float32


def test_requires_grad_cannot_be_switched_off_on_a_non_leaf():
    y = Tensor([1.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="detach"):
        y.requires_grad = False


def test_repr_shows_values_shape_dtype_and_op():
    x = Tensor([1.5, -2.0], requires_grad=True)
    assert repr(x) == "Tensor([ 1.5, -2. ], shape=(2,), dtype=float32, requires_grad=True)"
    r = repr(x * 2)
    assert "3." in r and "-4." in r and "shape=(2,)" in r and "op=Mul" in r
    assert "name='w'" in repr(Tensor([1.0], name="w"))
    big = repr(Tensor(np.arange(1000.0)))  # summarised, not 1000 numbers
    assert "..." in big and len(big) < 200


def test_item_detach_numpy():
    assert Tensor([[3.5]]).item() == 3.5 and isinstance(Tensor([[3.5]]).item(), float)
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        Tensor([1.0, 2.0]).item()
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    d = y.detach()
    assert d.is_leaf and not d.requires_grad and d.numpy() is y.numpy()
    (d * x).sum().backward()  # no gradient flows into d's history
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 6.0])
    assert isinstance(x.numpy(), np.ndarray) and np.asarray(x).dtype == np.float32
    assert float(Tensor(2.0)) == 2.0


def test_bool_of_multi_element_tensor_is_ambiguous():
    with pytest.raises(ValueError, match="ambiguous"):
        bool(Tensor([1.0, 2.0]))
    assert bool(Tensor([1.0]))


def test_comparisons_give_constant_boolean_tensors():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    m = x > 1.5
    assert m.dtype == np.bool_ and not m.requires_grad
    np.testing.assert_array_equal(m.numpy(), [False, True, True])


def test_astype_casts_the_gradient_back():
    x = Tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    y = x.astype(np.float64)
    assert y.dtype == np.float64
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])


# --- backward: what the user sees ---------------------------------------------------------
def test_gradients_accumulate_over_backward_calls_until_zeroed():
    x = Tensor([1.0, 2.0], requires_grad=True)
    for _ in range(3):
        (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * 2 * np.array([1.0, 2.0]))
    x.zero_grad()
    assert x.grad is None
    (x * 5).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 5.0])


def test_grad_is_a_tensor_of_the_leafs_dtype_and_shape():
    x = Tensor(np.ones((2, 3), np.float32), requires_grad=True)
    (x * np.ones((2, 3), np.float64)).sum().backward()  # computed in float64
    assert isinstance(x.grad, Tensor) and x.grad.dtype == np.float32 and x.grad.shape == (2, 3)


def test_leaves_do_not_share_gradient_arrays():
    a, b = Tensor([1.0], requires_grad=True), Tensor([2.0], requires_grad=True)
    (a + b).sum().backward()
    assert a.grad.numpy() is not b.grad.numpy()
    a.grad.numpy()[0] = 99.0
    assert b.grad.item() == 1.0


def test_leaves_fed_views_of_one_gradient_do_not_share_memory():
    a, b = Tensor(np.ones(4), requires_grad=True), Tensor(np.ones(4), requires_grad=True)
    ((a.reshape(2, 2) + b.reshape(2, 2)) * 3).sum().backward()  # both grads: views of one array
    assert not np.shares_memory(a.grad.numpy(), b.grad.numpy())
    a.grad.numpy()[:] = 0  # e.g. clipping a gradient in place
    np.testing.assert_array_equal(b.grad.numpy(), [3, 3, 3, 3])


def test_non_scalar_backward_needs_an_explicit_gradient():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    with pytest.raises(RuntimeError, match=r"shape \(2,\) needs an explicit gradient"):
        y.backward()
    with pytest.raises(ValueError, match=r"gradient has shape \(3,\).*\(2,\)"):
        y.backward(np.ones(3))
    y.backward(np.array([1.0, 10.0]))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 40.0])


def test_one_element_non_scalar_backward_is_allowed():
    x = Tensor([[3.0]], requires_grad=True)
    (x * x).backward()
    assert x.grad.item() == 6.0


def test_backward_without_graph_is_a_clear_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor([1.0]).sum().backward()


def test_graph_is_freed_after_backward_and_a_second_pass_is_a_clear_error():
    x = Tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        loss.backward()


def test_a_freed_node_keeps_its_arity_but_no_parents():
    # Freeing drops the references to the inputs (memory stays flat) and keeps one None per
    # input, so the node still says how many inputs it had; five inputs take the general path.
    x = Tensor([1.0, 2.0], requires_grad=True)
    product = x * x
    stacked = tl.stack([product] * 5)
    total = stacked.sum()
    total.backward()
    for node, arity in ((product._ctx, 2), (stacked._ctx, 5), (total._ctx, 1)):
        assert node.freed and node.parents == (None,) * arity
    np.testing.assert_allclose(x.grad.numpy(), [10.0, 20.0])  # five copies of 2x


def test_parents_are_the_inputs_in_order_for_every_arity():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = Tensor([3.0, 4.0], requires_grad=True)
    assert x.exp()._ctx.parents == (x,)
    assert (x * y)._ctx.parents == (x, y)
    assert (2.0 * y)._ctx.parents == (None, y)  # a constant input is None
    assert tl.where(np.array([True, False]), x, y)._ctx.parents == (None, x, y)
    assert tl.stack([y, x, y])._ctx.parents == (y, x, y)


def test_freed_shared_subgraph_is_detected_from_another_output():
    x = Tensor([1.0, 2.0], requires_grad=True)
    h = x.exp()
    h.sum().backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        (h * 2).sum().backward()


def test_retain_graph_allows_a_second_backward():
    x = Tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])


def test_backward_on_a_leaf_seeds_ones():
    x = Tensor(2.0, requires_grad=True)
    x.backward()
    assert x.grad.item() == 1.0


def test_no_grad_records_nothing():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with tl.no_grad():
        assert not tl.is_grad_enabled()
        y = (x * 2).sigmoid().sum()
        with tl.enable_grad():
            z = x * 2
    assert tl.is_grad_enabled()
    assert not y.requires_grad and y.is_leaf and y.op is None
    assert z.requires_grad and z.op is tl.ops.Mul
    np.testing.assert_allclose(y.item(), (1 / (1 + np.exp(-np.array([2.0, 4.0])))).sum(),
                               rtol=1e-6)


def test_no_grad_is_restored_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with tl.no_grad():
            1 / 0
    assert tl.is_grad_enabled()


def test_backward_records_only_with_create_graph_and_restores_the_grad_mode():
    # backward() switches recording off for its pass (on with create_graph) and back to what
    # it was afterwards, also when the pass fails.
    seen = []
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.register_hook(lambda g: seen.append(tl.is_grad_enabled()))
    y.sum().backward(retain_graph=True)
    y.sum().backward(create_graph=True)
    assert seen == [False, True] and tl.is_grad_enabled()

    def fail(g):
        raise KeyError("from a hook")

    z = x * 2
    z.register_hook(fail)
    with pytest.raises(KeyError):
        z.sum().backward()
    assert tl.is_grad_enabled()
    with tl.no_grad():
        w = Tensor([1.0], requires_grad=True)
        w.backward(create_graph=True)
        assert not tl.is_grad_enabled()


def test_constants_get_no_gradient():
    x = Tensor([1.0, 2.0], requires_grad=True)
    c = Tensor([3.0, 4.0])
    (x * c).sum().backward()
    assert c.grad is None


def test_non_leaf_grad_is_kept_only_with_retain_grad():
    x = Tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    kept = (x * 3).retain_grad()
    (h * h + kept * kept).sum().backward()
    assert h.grad is None
    np.testing.assert_allclose(kept.grad.numpy(), 2 * 3 * np.array([1.0, 2.0]))
    np.testing.assert_allclose(x.grad.numpy(), 2 * (2 * 9 * np.array([1.0, 2.0])))
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor([1.0]).retain_grad()


def test_register_hook_sees_the_gradient():
    x = Tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    seen = []
    h.register_hook(lambda g: seen.append(g.numpy().copy()))
    (h * h).sum().backward()
    assert len(seen) == 1 and isinstance(seen[0], np.ndarray)
    np.testing.assert_allclose(seen[0], 2 * h.numpy())


def test_register_hook_can_replace_the_gradient_and_be_removed():
    x = Tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    handle = h.register_hook(lambda g: g * 0 + 1.0)  # pretend d loss / d h = 1
    loss = (h * h).sum()
    loss.backward(retain_graph=True)
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 3.0])
    handle.remove()
    handle.remove()  # removing twice is harmless
    x.zero_grad()
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * 9 * np.array([1.0, 2.0]))


def test_hook_on_a_leaf_runs_before_accumulation_and_may_return_an_array():
    x = Tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: np.clip(g.numpy(), None, 2.5))
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.5, 2.5])


def test_register_hook_needs_requires_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor([1.0]).register_hook(print)


def test_shared_subexpression_gets_the_sum_of_its_gradients():
    x = Tensor(np.array([0.5, -1.0]), requires_grad=True)
    h = x * x
    (h * 2 + h.exp()).sum().backward()  # d/dx = (2 + e^{x²}) · 2x
    xs = np.array([0.5, -1.0])
    np.testing.assert_allclose(x.grad.numpy(), (2 + np.exp(xs ** 2)) * 2 * xs)
