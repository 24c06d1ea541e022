"""The backward pass: iterative on very deep graphs, tl.grad and higher-order gradients
against closed forms, detect_anomaly, the custom-op mechanism, and the assignment's
networks with their hand-derived backward passes."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_lab as tl
from tinygrad_lab import Function, Tensor
from tinygrad_lab.testing import check_gradients, shapes, tensors


# --- deep graphs ---------------------------------------------------------------------------------
def test_100k_op_chain_backpropagates_without_recursion():
    assert sys.getrecursionlimit() < 100_000  # a recursive backward could not get through
    c, b, pairs = 1.00001, 0.001, 50_000
    x = Tensor(np.array(0.5), requires_grad=True)
    y = x
    for _ in range(pairs):  # 100,000 ops: y ← c·y + b
        y = y * c + b
    # Closed form: y = cᴹx + b(cᴹ − 1)/(c − 1), dy/dx = cᴹ.
    np.testing.assert_allclose(y.item(), c ** pairs * 0.5 + b * (c ** pairs - 1) / (c - 1),
                               rtol=1e-9)
    y.backward()
    np.testing.assert_allclose(x.grad.item(), c ** pairs, rtol=1e-9)


def test_deep_chain_through_tl_grad_and_freeing_without_backward():
    x = Tensor(np.array([0.1, -0.2]), requires_grad=True)
    y = x
    for _ in range(30_000):
        y = (y * 0.5).tanh()   # a different op mix, through tl.grad
    g, = tl.grad(y.sum(), x)
    assert np.all(np.isfinite(g.numpy()))
    z = x
    for _ in range(100_000):
        z = z + 1.0
    del z  # dropping an un-backpropagated 100k-node graph must not overflow the C stack


def test_wide_graph_with_shared_nodes_counts_every_path():
    # y = Σ_i x·i over 1,000 branches from one node: dy/dx = Σ i.
    x = Tensor(np.array(2.0), requires_grad=True)
    h = x * 1.0
    y = sum((h * float(i) for i in range(1000)), Tensor(np.array(0.0)))
    y.backward()
    assert x.grad.item() == sum(range(1000))


def test_summing_many_gradients_in_place_leaves_every_other_gradient_untouched():
    # h + h gets one array and hands that same array to both of its inputs; the backward
    # pass sums h's three contributions into an array of its own, never into that one.
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    h = x * 1.0
    pair = h + h
    pair.retain_grad()
    seen = []
    pair.register_hook(lambda g: seen.append(g.numpy()))
    y = pair + h * 3.0 + x
    y.backward(np.array([1.0, 10.0]))
    np.testing.assert_array_equal(pair.grad.numpy(), [1, 10])
    np.testing.assert_array_equal(seen[0], [1, 10])    # what the hook saw is unchanged too
    np.testing.assert_array_equal(x.grad.numpy(), [6, 60])   # (2 + 3)·g from h, 1·g direct


# --- the order of the backward pass --------------------------------------------------------------
def test_backward_visits_ops_newest_first_then_the_leaves():
    # v is made after u, so v's op is visited first, though the Add lists u second.
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True, name="x")
    u = x * 2.0
    v = x * 3.0
    L = (v + u).sum()
    order = []
    for t, name in ((x, "x"), (u, "u"), (v, "v"), (L, "L")):
        t.register_hook(lambda g, name=name: order.append(name))
    L.backward()
    assert order == ["L", "v", "u", "x"]
    np.testing.assert_array_equal(x.grad.numpy(), [5.0, 5.0])


UNARY = {"tanh": lambda a: a.tanh(), "exp": lambda a: (a * 0.3).exp(), "square": lambda a: a * a}
BINARY = {"add": lambda a, b: a + b, "mul": lambda a, b: a * b, "sub": lambda a, b: a - b}


@st.composite
def random_graphs(draw):
    """A DAG on three leaves: steps (op name, indices of earlier tensors) and the indices of
    the tensors the loss sums (always the last one; those it does not use get no gradient)."""
    steps = []
    for n in range(3, 3 + draw(st.integers(1, 12))):
        if draw(st.booleans()):
            steps.append((draw(st.sampled_from(sorted(UNARY))), (draw(st.integers(0, n - 1)),)))
        else:
            steps.append((draw(st.sampled_from(sorted(BINARY))),
                          (draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1)))))
    last = 2 + len(steps)
    return steps, sorted(draw(st.sets(st.integers(0, last))) | {last})


def build(steps, leaves):
    tensors = list(leaves)
    for name, args in steps:
        op = UNARY.get(name) or BINARY[name]
        tensors.append(op(*(tensors[i] for i in args)))
    return tensors


def summed(tensors, chosen):
    return sum((tensors[i].sum() for i in chosen), Tensor(np.array(0.0)))


@given(graph=random_graphs(), seed=st.integers(0, 2**32 - 1))
def test_every_gradient_is_complete_before_it_is_passed_on(graph, seed):
    # On any DAG: the hook of each tensor the loss depends on fires once, after the hooks of
    # all the tensors made from it; ops newest first, leaves last; gradients right (gradcheck).
    steps, chosen = graph
    leaves = [Tensor(np.random.default_rng(seed + i).uniform(-1, 1, 3), requires_grad=True)
              for i in range(3)]
    tensors = build(steps, leaves)
    used = set(chosen)
    for k in range(len(tensors) - 1, 2, -1):   # what the loss depends on, newest first
        if k in used:
            used.update(steps[k - 3][1])
    fired = []
    for i, t in enumerate(tensors):
        t.register_hook(lambda g, i=i: fired.append(i))
    summed(tensors, chosen).backward()
    assert sorted(fired) == sorted(used)                        # each used tensor, once
    made = [i for i in fired if i >= 3]
    assert made == sorted(made, reverse=True)                   # ops: newest first
    assert fired[len(made):] == [i for i in fired if i < 3]     # then the leaves
    for k, (_, args) in enumerate(steps, start=3):
        for i in args:  # tensor k was made from tensor i: k's gradient was complete first
            if k in used:
                assert fired.index(k) < fired.index(i)
    check_gradients(lambda *xs: summed(build(steps, xs), chosen), *leaves)


def test_a_deep_copied_graph_backpropagates_beside_the_original():
    # The copy's nodes are new nodes with numbers of their own, above their inputs'.
    import copy
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x * 2.0
    twin = copy.deepcopy(y)
    (y + twin).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])  # the twin's leaf is a copy
    assert twin._ctx.sequence > y._ctx.sequence


MAKE_GRAPH = """
import pickle, sys
import numpy as np
import tinygrad_lab as tl
for _ in range(1000):                      # this process numbers its nodes past 1000
    tl.Tensor(1.0, requires_grad=True) * 2.0
x = tl.Tensor(np.array([0.1, -0.4]), requires_grad=True)
y = (x * 2.0).tanh()
with open(sys.argv[1], "wb") as f:
    pickle.dump(y, f)
"""

USE_GRAPH = """
import pickle, sys
import tinygrad_lab as tl
with open(sys.argv[1], "rb") as f:
    y = pickle.load(f)                     # a fresh process: its own numbers start at 0
x = y._ctx.parents[0]._ctx.parents[0]
z = y * 3.0                                # made after y here, though numbered low
(z + y).sum().backward()
print(*x.grad.numpy())
"""


def test_a_graph_unpickled_in_another_process_backpropagates_through_new_ops(tmp_path):
    # Unpickled nodes take new numbers, smaller than those of the ops then built on them.
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    path = str(tmp_path / "graph.pkl")
    subprocess.run([sys.executable, "-c", MAKE_GRAPH, path], check=True, env=env)
    out = subprocess.run([sys.executable, "-c", USE_GRAPH, path], check=True, env=env,
                         capture_output=True, text=True).stdout
    x = np.array([0.1, -0.4])
    np.testing.assert_allclose([float(v) for v in out.split()],
                               4 * 2 * (1 - np.tanh(2 * x) ** 2), rtol=1e-12)  # d/dx 4·tanh(2x)


# --- tl.grad and higher-order gradients ----------------------------------------------------------
def sigma(z):
    return 1 / (1 + np.exp(-z))


SECOND_DERIVATIVES = {
    # name: (f on a Tensor, f'' on an array, closed form)
    "sigmoid(k)": (lambda x, k: x.sigmoid(k=k),
                   lambda x, k: k ** 2 * sigma(k * x) * (1 - sigma(k * x))
                   * (1 - 2 * sigma(k * x))),
    "tanh(k)": (lambda x, k: x.tanh(k=k),
                lambda x, k: -2 * k ** 2 * np.tanh(k * x) * (1 - np.tanh(k * x) ** 2)),
    "softplus": (lambda x, k: x.softplus(), lambda x, k: sigma(x) * (1 - sigma(x))),
    "x**3": (lambda x, k: x ** 3, lambda x, k: 6 * x),
}


@pytest.mark.parametrize("name", SECOND_DERIVATIVES)
@given(x=tensors(shapes(min_dims=1, max_dims=2, max_side=4), dtype=np.float64),
       k=st.sampled_from([0.5, 1.0, 2.0, 5.0]))
def test_second_derivatives_equal_closed_forms(name, x, k):
    f, f2 = SECOND_DERIVATIVES[name]
    g, = tl.grad(f(x, k).sum(), [x], create_graph=True)
    assert g.requires_grad and not g.is_leaf   # differentiable again
    h, = tl.grad(g.sum(), [x])                 # elementwise f: the Hessian's diagonal
    np.testing.assert_allclose(h.numpy(), f2(x.numpy(), k), rtol=1e-9, atol=1e-12)
    assert x.grad is None                      # tl.grad never touches .grad


def test_third_derivative_of_a_cube():
    x = Tensor(np.array([0.5, -2.0]), requires_grad=True)
    g1, = tl.grad((x ** 3).sum(), x, create_graph=True)
    g2, = tl.grad(g1.sum(), x, create_graph=True)
    g3, = tl.grad(g2.sum(), x)
    np.testing.assert_allclose(g1.numpy(), 3 * x.numpy() ** 2)
    np.testing.assert_allclose(g2.numpy(), 6 * x.numpy())
    np.testing.assert_allclose(g3.numpy(), [6.0, 6.0])


def test_backward_with_create_graph_makes_grad_differentiable():
    x = Tensor(np.array([1.5]), requires_grad=True)
    (x ** 4).sum().backward(create_graph=True)
    gx = x.grad                                # 4x³, part of a graph
    x.grad = None
    gx.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 12 * 1.5 ** 2)


def test_tl_grad_options_and_errors():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    unused = Tensor(np.array([3.0]), requires_grad=True)
    y = x * x
    g, = tl.grad(y, [x], grad_outputs=np.array([1.0, 10.0]), retain_graph=True)
    np.testing.assert_allclose(g.numpy(), [2.0, 40.0])
    gx, gu = tl.grad([y.sum(), (x * 3).sum()], [x, unused], allow_unused=True, retain_graph=True)
    np.testing.assert_allclose(gx.numpy(), 2 * x.numpy() + 3)  # outputs' gradients add up
    assert gu is None
    with pytest.raises(RuntimeError, match=r"input 1 \(shape \(1,\)\) is not used"):
        tl.grad(y.sum(), [x, unused], retain_graph=True)
    with pytest.raises(ValueError, match="input 0 does not require grad"):
        tl.grad(y.sum(), [Tensor([1.0])])
    with pytest.raises(RuntimeError, match="output 0 does not require grad"):
        tl.grad(Tensor([1.0]).sum(), [x])


@given(x=tensors(shapes(min_dims=1, max_dims=2, max_side=3), dtype=np.float64),
       w=tensors(shape=(3, 2), dtype=np.float64))
def test_gradgradcheck_on_a_composite_function(x, w):
    def f(x, w):
        h = (x.reshape(-1, 1) * w.sum(axis=1)).tanh(k=1.5)
        return (h @ w).softplus().mean(axis=0)
    assert tl.gradgradcheck(f, (x, w))


# --- detect_anomaly ------------------------------------------------------------------------------
def test_detect_anomaly_names_the_op_whose_backward_made_nan():
    x = Tensor(np.array([4.0, 0.0]), requires_grad=True)
    with tl.detect_anomaly():
        y = x.sqrt()                           # the line the message must point to
        with pytest.raises(tl.AnomalyError) as info:
            (y * 2).sum().backward()
    message = str(info.value)
    assert "Sqrt.backward produced NaN/inf in the gradient of input 0 (shape (2,))" in message
    assert "test_autograd.py" in message and "y = x.sqrt()" in message


@pytest.mark.filterwarnings("error")  # anomaly mode reports, it does not warn
def test_detect_anomaly_names_the_op_whose_forward_made_nan():
    x = Tensor(np.array([1.0, 0.5]), requires_grad=True)
    with tl.detect_anomaly():
        with pytest.raises(tl.AnomalyError, match=r"Log produced NaN/inf in forward from finite "
                                                  r"inputs \(output shape \(2,\)\)"):
            (x - 1).log()
        assert (x + np.inf).numpy()[0] == np.inf  # inf in → inf out is not the op's fault


def test_without_detect_anomaly_nan_propagates_silently_and_mode_is_restored():
    x = Tensor(np.array([0.0]), requires_grad=True)
    with pytest.raises(tl.AnomalyError):
        with tl.detect_anomaly():
            x.sqrt().sum().backward()
    x.grad = None
    with np.errstate(divide="ignore"):
        x.sqrt().sum().backward()
    assert np.isinf(x.grad.item())


# --- custom ops: the mechanism the built-in ops use ----------------------------------------------
class Cube(Function):
    """The example in tinygrad_lab.autograd's docstring, as written there."""
    formula = "x³"
    derivative = "∂/∂x = 3x²"

    @staticmethod
    def forward(ctx, x):
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.inputs
        return grad * 3 * x ** 2


def test_every_built_in_op_documents_its_formula_and_derivative():
    for op in tl.ops.ALL_OPS:
        assert issubclass(op, Function) and op.formula and op.derivative, op.__name__
        assert "∂" in op.derivative, op.__name__


def test_documented_custom_op_example_is_the_one_tested():
    doc = tl.autograd.__doc__
    assert "class Cube(Function):" in doc and "return grad * 3 * x ** 2" in doc


@given(x=tensors(shapes(max_dims=3, max_side=4)))
def test_custom_op_works_and_gradchecks(x):
    y = Cube.apply(x)
    assert y.op is Cube and y.dtype == x.dtype
    np.testing.assert_allclose(y.numpy(), x.numpy() ** 3, rtol=1e-6)
    check_gradients(Cube.apply, x, second_order=True)  # ** works on Tensors: 2nd order too


class ScaledGap(Function):
    """A two-input op with a parameter; it leaves broadcasting to the base class."""
    formula = "k·(a − b)²"
    derivative = "∂/∂a = 2k(a − b), ∂/∂b = −2k(a − b)"

    @staticmethod
    def forward(ctx, a, b, k=1.0):
        ctx.k = k
        return k * (a - b) ** 2

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.inputs
        d = grad * 2 * ctx.k * (a - b)  # full broadcast shape: the base class reduces it
        return d, -d


def test_custom_op_with_broadcasting_constants_and_params():
    a = Tensor(np.random.default_rng(0).standard_normal((3, 1)), requires_grad=True)
    b = Tensor(np.random.default_rng(1).standard_normal(4), requires_grad=True)
    check_gradients(lambda a, b: ScaledGap.apply(a, b, k=2.5), a, b, second_order=True)
    check_gradients(lambda a: ScaledGap.apply(a, np.ones(4), k=0.5), a)  # constant input
    y = ScaledGap.apply(a, b, k=2.0)
    assert y._ctx.params == {"k": 2.0} and y._ctx.needs_input_grad == (True, True)


def test_nodes_share_what_they_can_so_big_graphs_hold_fewer_objects():
    x = Tensor(np.ones(3, np.float32), requires_grad=True)
    a, b = x * 2, x + 1
    assert a._ctx.params == {} and a._ctx.params is b._ctx.params
    assert a._ctx.needs_input_grad == (True, False)
    assert a._ctx.needs_input_grad is b._ctx.needs_input_grad
    y = ScaledGap.apply(x, a, k=2.0)  # keyword arguments: a dict of the node's own
    assert y._ctx.params == {"k": 2.0} and a._ctx.params == {}
    many = [Tensor(np.ones(2), requires_grad=bool(i % 2)) for i in range(5)]
    z = tl.stack(many)  # five inputs: a tuple of its own, with the right flags
    assert z._ctx.needs_input_grad == (False, True, False, True, False)


def test_a_chain_of_ops_gives_the_garbage_collector_two_objects_per_node():
    # A node keeps the parents of a one- or two-input op in its own slots, not in a tuple:
    # the collector, which walks every object a graph holds, sees its Tensor and its Context.
    # (Arrays are not tracked; the inputs tuple holds none of its objects and is untracked.)
    import gc
    x = Tensor(np.float32(1.0), requires_grad=True)
    gc.collect()
    before = len(gc.get_objects())
    y = x
    for _ in range(2000):
        y = y * 1.0
    gc.collect()
    assert (len(gc.get_objects()) - before) / 2000 == pytest.approx(2.0, abs=0.05)
    y.backward()
    assert x.grad.item() == 1.0


def test_constants_reach_forward_as_python_numbers_and_arrays():
    seen = []

    class Record(Function):
        @staticmethod
        def forward(ctx, x, c, optional=None):
            seen.append((c, optional))
            return x * c if optional is None else x * c + optional

        @staticmethod
        def backward(ctx, grad):
            return grad * ctx.inputs[1], None, None

    x = Tensor(np.ones(2, np.float32), requires_grad=True)
    out = Record.apply(x, np.float64(2.0))  # a NumPy scalar would make float32 data float64
    assert type(seen[-1][0]) is float and out.dtype == np.float32
    Record.apply(x, 2.0, (1.0, 2.0))  # a tuple is passed as it is (a shape, say)
    assert type(seen[-1][1]) is tuple
    out = Record.apply(x, [1.0, 3.0], None)  # a list becomes an array, None stays None
    assert isinstance(seen[-1][0], np.ndarray) and seen[-1][1] is None
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 3.0])
    assert (x * np.float64(3.0)).dtype == np.float32 == (np.float64(3.0) * x).dtype


def test_custom_op_contract_violations_name_the_op():
    class WrongShape(Function):
        @staticmethod
        def forward(ctx, x):
            return x.sum()

        @staticmethod
        def backward(ctx, grad):
            return np.ones(7)

    class WrongCount(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return grad, grad

    x = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"WrongShape.backward gave input 0 a gradient of "
                                           r"shape \(7,\), but the input has shape \(2, 3\)"):
        WrongShape.apply(x).backward()
    with pytest.raises(RuntimeError, match="WrongCount.backward returned 2 gradients for 1 inputs"):
        WrongCount.apply(x).sum().backward()


def test_custom_op_using_numpy_in_backward_explains_create_graph():
    class NumpySin(Function):
        @staticmethod
        def forward(ctx, x):
            return np.sin(x)

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.inputs
            return grad * np.cos(x)  # fine for first order; cannot be recorded

    x = Tensor(np.array([0.5, 1.0]), requires_grad=True)
    assert tl.gradcheck(NumpySin.apply, [x])
    with pytest.raises(TypeError, match=r"NumpySin.backward called a NumPy function on a "
                                        r"Tensor .*create_graph=True.*ctx\.xp"):
        tl.grad(NumpySin.apply(x).sum(), x, create_graph=True)


def test_custom_op_gradient_is_cast_to_the_input_dtype():
    class Double(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return grad.astype(np.float64) * 2

    x = Tensor(np.ones(3, np.float32), requires_grad=True)
    Double.apply(x).sum().backward()
    assert x.grad.dtype == np.float32


# --- the assignment's networks, with hand-derived backward passes --------------------------------
# The assignment (shared/seed/000_83b6a3a211de9d09.txt) writes column-major layers:
# L1 = f(W1·X), L2 = f(W2·L1), L3 = f(W3·L2), X of shape (784, N), loss against one-hot T.
# Here 20-16-12-10 and float64; autograd runs batch-first (x = Xᵀ, y = L3ᵀ), as the library does.
SIZES, N, K = (20, 16, 12, 10), 7, 1.7


@pytest.fixture
def assignment_data():
    rng = np.random.default_rng(42)
    X = rng.standard_normal((SIZES[0], N))
    labels = rng.integers(0, SIZES[3], N)
    T = np.eye(SIZES[3])[labels].T                      # (10, N) one-hot columns
    Ws = [rng.standard_normal((o, i)) / np.sqrt(i) for i, o in zip(SIZES[:-1], SIZES[1:])]
    return X, T, labels, Ws


def autograd_gradients(X, Ws, loss_of_output, activation):
    """Batch-first autograd: rows of x are samples, so W·X becomes x·Wᵀ."""
    W1, W2, W3 = (Tensor(W.copy(), requires_grad=True) for W in Ws)
    x = Tensor(X.T)
    l1 = activation(x @ W1.T)
    l2 = activation(l1 @ W2.T)
    loss = loss_of_output(l2 @ W3.T)
    loss.backward()
    return loss.item(), [W.grad.numpy() for W in (W1, W2, W3)]


def hand_backward(X, Ws, d_out_d_z3, f, df_from_output):
    """The column-major backward pass: δ3 given, then δℓ = (Wℓ₊₁ᵀ δℓ₊₁) ⊙ f'(Lℓ), dWℓ = δℓ Lℓ₋₁ᵀ."""
    W1, W2, W3 = Ws
    L1 = f(W1 @ X)
    L2 = f(W2 @ L1)
    Z3 = W3 @ L2
    d3 = d_out_d_z3(Z3)
    d2 = (W3.T @ d3) * df_from_output(L2)
    d1 = (W2.T @ d2) * df_from_output(L1)
    return [d1 @ X.T, d2 @ L1.T, d3 @ L2.T]


def test_assignment_sigmoid_mlp_mse_matches_hand_derived_backward(assignment_data):
    X, T, _, Ws = assignment_data
    sig = lambda z: 1 / (1 + np.exp(-K * z))            # noqa: E731  σ(kz)
    dsig = lambda L: K * L * (1 - L)                     # noqa: E731  k·σ(1−σ), from the output

    def d_mse_d_z3(Z3):  # MSE = mean over all 10·N entries: dL/dL3 = 2(L3 − T)/(10N)
        L3 = sig(Z3)
        return 2 * (L3 - T) / T.size * dsig(L3)
    expected = hand_backward(X, Ws, d_mse_d_z3, sig, dsig)
    loss, grads = autograd_gradients(
        X, Ws, lambda z3: tl.mse_loss(z3.sigmoid(k=K), T.T), lambda z: z.sigmoid(k=K))
    W1, W2, W3 = Ws
    L3 = sig(W3 @ sig(W2 @ sig(W1 @ X)))
    np.testing.assert_allclose(loss, np.mean((L3 - T) ** 2), rtol=1e-12)
    for name, g, e in zip(("W1", "W2", "W3"), grads, expected):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-14, err_msg=name)


def test_assignment_tanh_mlp_matches_the_correct_derivative_not_the_buggy_one(assignment_data):
    X, T, _, Ws = assignment_data
    th = lambda z: np.tanh(K * z)                        # noqa: E731
    dth = lambda L: K * (1 - L ** 2)                     # noqa: E731  k(1 − tanh²)

    def d_mse_d_z3(Z3):
        L3 = th(Z3)
        return 2 * (L3 - T) / T.size * dth(L3)
    expected = hand_backward(X, Ws, d_mse_d_z3, th, dth)
    _, grads = autograd_gradients(
        X, Ws, lambda z3: tl.mse_loss(z3.tanh(k=K), T.T), lambda z: z.tanh(k=K))
    for name, g, e in zip(("W1", "W2", "W3"), grads, expected):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-14, err_msg=name)

    # The write-up's output layer used L3·(1 − L3²)·k, a sigmoid/tanh mix: it is not dW3.
    def buggy(Z3):
        L3 = th(Z3)
        return 2 * (L3 - T) / T.size * L3 * (1 - L3 ** 2) * K
    assert not np.allclose(hand_backward(X, Ws, buggy, th, dth)[2], grads[2], rtol=1e-3)


def test_assignment_softmax_cross_entropy_mlp_matches_hand_derived_backward(assignment_data):
    X, T, labels, Ws = assignment_data
    sig = lambda z: 1 / (1 + np.exp(-K * z))            # noqa: E731
    dsig = lambda L: K * L * (1 - L)                     # noqa: E731

    def d_ce_d_z3(Z3):  # softmax over classes (axis 0 in column-major): δ3 = (P − T)/N
        P = np.exp(Z3 - Z3.max(axis=0)) / np.exp(Z3 - Z3.max(axis=0)).sum(axis=0)
        return (P - T) / N
    expected = hand_backward(X, Ws, d_ce_d_z3, sig, dsig)
    for targets in (labels, T.T):  # class indices and one-hot rows
        _, grads = autograd_gradients(
            X, Ws, lambda z3: tl.cross_entropy(z3, targets), lambda z: z.sigmoid(k=K))
        for name, g, e in zip(("W1", "W2", "W3"), grads, expected):
            np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-14, err_msg=name)


def test_assignment_network_in_float32_is_close_to_float64(assignment_data):
    X, T, _, Ws = assignment_data
    act = lambda z: z.sigmoid(k=K)                       # noqa: E731
    loss = lambda z3: tl.mse_loss(z3.sigmoid(k=K), T.T)  # noqa: E731
    _, g64 = autograd_gradients(X, Ws, loss, act)
    _, g32 = autograd_gradients(X.astype(np.float32), [W.astype(np.float32) for W in Ws], loss, act)
    for a, b in zip(g32, g64):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-6)


def test_gradients_of_0d_tensors_are_arrays_after_sums_and_accumulation():
    # NumPy adds 0-d arrays into scalars; .grad must stay an ndarray all the same.
    x = Tensor(np.float32(2.0), requires_grad=True)
    (x * x + x * 3.0 + x).backward()
    assert type(x.grad.data) is np.ndarray and x.grad.item() == 8
    (x * 2.0).backward()  # accumulates into the existing .grad
    assert type(x.grad.data) is np.ndarray and x.grad.item() == 10
