"""Optimizers against hand-written NumPy updates, checkpoints, and learning-rate schedules."""
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_lab import nn, optim
from tinygrad_lab.schedules import (ConstantLR, CosineLR, ExponentialLR, Scheduler, StepLR,
                                    get_schedule)
from tinygrad_lab.tensor import Parameter, Tensor

RNG = np.random.default_rng(0)
P0 = RNG.normal(size=(3, 4)).astype(np.float32)
GRADS = [RNG.normal(size=(3, 4)).astype(np.float32) for _ in range(3)]


def run(make_optimizer, grads=GRADS, p0=P0):
    """Apply ``make_optimizer([p])`` to a parameter fed the fixed gradients; return its values."""
    p = Parameter(p0.copy())
    opt = make_optimizer([p])
    history = []
    for g in grads:
        p.grad = Tensor(g)
        opt.step()
        history.append(p.data.copy())
    return history


def assert_trajectory(history, expected):
    for step, (got, want) in enumerate(zip(history, expected), start=1):
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7, err_msg=f"step {step}")


# -- SGD ------------------------------------------------------------------------------
def test_plain_sgd_is_the_assignments_update():
    expected, p = [], P0.astype(np.float64)
    for g in GRADS:
        p = p - 0.1 * g
        expected.append(p)
    assert_trajectory(run(lambda ps: optim.SGD(ps, lr=0.1)), expected)


def test_sgd_momentum_three_steps():
    lr, mu = 0.1, 0.9
    p = P0.astype(np.float64)
    buf1 = GRADS[0]                       # first step: the buffer is the gradient
    p1 = p - lr * buf1
    buf2 = mu * buf1 + GRADS[1]
    p2 = p1 - lr * buf2
    buf3 = mu * buf2 + GRADS[2]
    p3 = p2 - lr * buf3
    assert_trajectory(run(lambda ps: optim.SGD(ps, lr=lr, momentum=mu)), [p1, p2, p3])


def test_sgd_nesterov_three_steps():
    lr, mu = 0.05, 0.8
    p, buf, expected = P0.astype(np.float64), None, []
    for g in GRADS:
        buf = g if buf is None else mu * buf + g
        p = p - lr * (g + mu * buf)       # look ahead along the momentum
        expected.append(p)
    assert_trajectory(run(lambda ps: optim.SGD(ps, lr=lr, momentum=mu, nesterov=True)), expected)


def test_sgd_weight_decay_adds_wd_times_p_to_the_gradient():
    lr, wd, mu = 0.1, 0.01, 0.5
    p, buf, expected = P0.astype(np.float64), None, []
    for g in GRADS:
        d = g + wd * p
        buf = d if buf is None else mu * buf + d
        p = p - lr * buf
        expected.append(p)
    history = run(lambda ps: optim.SGD(ps, lr=lr, momentum=mu, weight_decay=wd))
    assert_trajectory(history, expected)


def test_weight_decay_alone_shrinks_weights_toward_zero():
    zeros = [np.zeros_like(P0)] * 3
    history = run(lambda ps: optim.SGD(ps, lr=0.5, weight_decay=0.1), grads=zeros)
    np.testing.assert_allclose(history[-1], P0 * 0.95 ** 3, rtol=1e-6)


# -- Adam / AdamW ------------------------------------------------------------------------
def adam_reference(lr, b1, b2, eps, wd=0.0, decoupled=False):
    p = P0.astype(np.float64)
    m, v, out = np.zeros_like(p), np.zeros_like(p), []
    for t, g in enumerate(GRADS, start=1):
        if decoupled:
            p = p * (1 - lr * wd)
        else:
            g = g + wd * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1 ** t)         # bias correction: m and v start at zero
        v_hat = v / (1 - b2 ** t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(p)
    return out


def test_adam_three_steps_with_bias_correction():
    history = run(lambda ps: optim.Adam(ps, lr=1e-2, betas=(0.9, 0.999), eps=1e-8))
    assert_trajectory(history, adam_reference(1e-2, 0.9, 0.999, 1e-8))


def test_adams_first_step_has_size_lr_thanks_to_bias_correction():
    history = run(lambda ps: optim.Adam(ps, lr=1e-3), grads=GRADS[:1])
    # m_hat = g and v_hat = g², so the first step is lr * sign(g) (up to eps).
    np.testing.assert_allclose(P0 - history[0], 1e-3 * np.sign(GRADS[0]), rtol=1e-3)


def test_adam_weight_decay_is_l2_in_the_gradient():
    history = run(lambda ps: optim.Adam(ps, lr=1e-2, weight_decay=0.1))
    assert_trajectory(history, adam_reference(1e-2, 0.9, 0.999, 1e-8, wd=0.1))


def test_adamw_decays_weights_outside_the_adaptive_step():
    history = run(lambda ps: optim.AdamW(ps, lr=1e-2, betas=(0.8, 0.99), weight_decay=0.1))
    expected = adam_reference(1e-2, 0.8, 0.99, 1e-8, wd=0.1, decoupled=True)
    assert_trajectory(history, expected)
    assert not np.allclose(expected[-1], adam_reference(1e-2, 0.8, 0.99, 1e-8, wd=0.1)[-1])
    assert optim.AdamW([Parameter(P0.copy())]).param_groups[0]["weight_decay"] == 0.01


# -- RMSprop -------------------------------------------------------------------------------
@pytest.mark.parametrize("momentum, centered, wd", [(0.0, False, 0.0), (0.9, False, 0.0),
                                                    (0.0, True, 0.0), (0.5, True, 0.05)])
def test_rmsprop_three_steps(momentum, centered, wd):
    lr, alpha, eps = 1e-2, 0.9, 1e-8
    p = P0.astype(np.float64)
    sq, ga, buf, expected = np.zeros_like(p), np.zeros_like(p), np.zeros_like(p), []
    for g in GRADS:
        g = g + wd * p
        sq = alpha * sq + (1 - alpha) * g * g
        if centered:
            ga = alpha * ga + (1 - alpha) * g
            avg = np.sqrt(sq - ga * ga) + eps
        else:
            avg = np.sqrt(sq) + eps
        if momentum:
            buf = momentum * buf + g / avg
            p = p - lr * buf
        else:
            p = p - lr * g / avg
        expected.append(p)
    history = run(lambda ps: optim.RMSprop(ps, lr=lr, alpha=alpha, eps=eps, weight_decay=wd,
                                           momentum=momentum, centered=centered))
    # The centered variant divides by sqrt(v - mean²): a difference of float32
    # numbers, so it loses a few more digits than the others.
    for got, want in zip(history, expected):
        np.testing.assert_allclose(got, want, rtol=1e-4 if centered else 1e-5, atol=1e-6)


# -- rules every optimizer keeps -------------------------------------------------------------
ALL = [
    lambda ps: optim.SGD(ps, lr=0.1),
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    lambda ps: optim.Adam(ps, lr=0.01, weight_decay=0.01),
    lambda ps: optim.AdamW(ps, lr=0.01),
    lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.9, centered=True),
]


@pytest.mark.parametrize("make", ALL)
def test_params_without_grad_are_skipped(make):
    used, unused = Parameter(P0.copy()), Parameter(P0.copy())
    opt = make([used, unused])
    used.grad = Tensor(GRADS[0])
    opt.step()
    assert not np.array_equal(used.data, P0)
    assert np.array_equal(unused.data, P0)
    assert id(unused) not in opt.state


@pytest.mark.parametrize("make", ALL)
def test_gradients_are_never_modified_even_when_shared(make):
    a, b = Parameter(P0.copy()), Parameter(P0.copy() * 2)
    shared = GRADS[0].copy()
    opt = make([a, b])
    for _ in range(3):
        a.grad = b.grad = Tensor(shared)  # one array, two parameters
        opt.step()
    np.testing.assert_array_equal(shared, GRADS[0])


@pytest.mark.parametrize("make", ALL)
def test_updates_happen_in_place(make):
    p = Parameter(P0.copy())
    array = p.data
    opt = make([p])
    p.grad = Tensor(GRADS[0])
    opt.step()
    assert p.data is array


@pytest.mark.parametrize("make", ALL + [lambda ps: optim.RMSprop(ps, lr=0.01)])
def test_a_scalar_parameter_steps_like_a_one_element_vector(make):
    # 0-d arrays are where NumPy hands back scalars instead of arrays: updates must not care.
    scalar, vector = Parameter(np.float32(1.5)), Parameter(np.array([1.5], np.float32))
    opt_s, opt_v = make([scalar]), make([vector])
    for g in (0.5, -2.0, 0.25):
        scalar.grad, vector.grad = Tensor(np.float32(g)), Tensor(np.array([g], np.float32))
        opt_s.step()
        opt_v.step()
    assert scalar.data.shape == () and scalar.data.dtype == np.float32
    np.testing.assert_array_equal(scalar.data.reshape(1), vector.data)


def test_rmsprop_step_allocates_only_its_work_array():
    # One param-sized work array per update; the momentum buffer is made once, not
    # rebuilt (and thrown away) on every step.
    import tracemalloc

    p = Parameter(np.zeros((250, 400), np.float32))  # 400 kB
    p.grad = Tensor(np.full((250, 400), 0.5, np.float32))
    opt = optim.RMSprop([p], lr=0.01, momentum=0.9, centered=True)
    opt.step()  # the first step makes the state
    tracemalloc.start()
    try:
        opt.step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1.5 * p.data.nbytes, f"one step allocated {peak} bytes at its peak"


def test_rmsprop_momentum_switched_on_after_the_first_step_starts_from_zero():
    p = Parameter(P0.copy())
    opt = optim.RMSprop([p], lr=0.01)
    p.grad = Tensor(GRADS[0])
    opt.step()
    opt.param_groups[0]["momentum"] = 0.9
    before, v = p.data.copy(), opt.state[id(p)]["square_avg"].copy()
    p.grad = Tensor(GRADS[1])
    opt.step()
    g = GRADS[1].astype(np.float64)
    v = 0.99 * v + 0.01 * g * g
    buf = 0.9 * 0 + g / (np.sqrt(v) + 1e-8)  # a fresh buffer of zeros, then one step
    np.testing.assert_allclose(p.data, before - 0.01 * buf, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(opt.state[id(p)]["momentum_buffer"], buf, rtol=1e-5)


# -- subnormal floats in the running averages -------------------------------------------
def _subnormal(a):
    return (a != 0) & (np.abs(a) < np.finfo(a.dtype).tiny)


@settings(max_examples=200, deadline=None)
@given(dtype=st.sampled_from([np.float32, np.float64]),
       exponents=st.lists(st.integers(-1100, 10), min_size=1, max_size=40),
       mantissas=st.lists(st.floats(0.5, 1, exclude_max=True), min_size=40, max_size=40),
       signs=st.lists(st.sampled_from([-1.0, 1.0]), min_size=40, max_size=40))
def test_flush_subnormals_leaves_none_and_moves_only_tiny_values(dtype, exponents, mantissas,
                                                                 signs):
    info = np.finfo(dtype)
    exps = np.clip(exponents, info.minexp - info.nmant - 1, 10)  # down to below the smallest
    x = np.array([s * np.ldexp(m, e) for s, m, e in zip(signs, mantissas, exps)], dtype)
    y = x.copy()
    optim.flush_subnormals(y)
    assert not _subnormal(y).any(), x[_subnormal(y)]
    unchanged_from = np.ldexp(dtype(1), -77 if dtype is np.float32 else -915)
    big = np.abs(x) >= unchanged_from
    np.testing.assert_array_equal(y[big], x[big])
    # the others move by at most one rounding step, or by tiny (a subnormal becomes 0 or -tiny)
    assert np.all(np.abs(y - x) <= np.maximum(info.tiny, np.spacing(np.abs(x))))


def test_flush_subnormals_keeps_dtype_and_leaves_float16_alone():
    h = np.array([1e-7, 1.0], np.float16)  # 1e-7 is subnormal in float16
    optim.flush_subnormals(h)
    assert h[0] != 0 and h.dtype == np.float16
    a = np.array(1e-40, np.float32)  # 0-d
    optim.flush_subnormals(a)
    assert a.shape == () and a.dtype == np.float32 and a == 0


@pytest.mark.parametrize("make, buffer", [
    (lambda ps: optim.Adam(ps, lr=1e-3), "exp_avg"),
    (lambda ps: optim.AdamW(ps, lr=1e-3, weight_decay=0.0), "exp_avg"),
    (lambda ps: optim.SGD(ps, lr=1e-3, momentum=0.9), "momentum_buffer"),
    (lambda ps: optim.RMSprop(ps, lr=1e-3, momentum=0.9), "momentum_buffer"),
])
def test_an_average_of_a_gradient_that_stopped_never_goes_subnormal(make, buffer):
    # Dead units: one step of gradient, then exactly 0 for good. Their running average
    # decays by 0.9 a step, past tiny (1.2e-38) after some 800 steps. Plain float32 arithmetic
    # would then keep it subnormal for good (0.9 · 4·2⁻¹⁴⁹ rounds back to 4·2⁻¹⁴⁹).
    tiny = np.finfo(np.float32).tiny
    p = Parameter(np.ones(16, np.float32))
    opt = make([p])
    p.grad = Tensor(np.linspace(-2, 2, 16, dtype=np.float32))
    opt.step()
    p.grad = Tensor(np.zeros(16, np.float32))
    for step in range(1500):
        opt.step()
        avg = opt.state[id(p)][buffer]
        assert not _subnormal(avg).any(), f"subnormal {buffer} after {step + 2} steps"
    assert np.all(np.abs(avg) <= 8 * tiny), avg  # where the flush's rounding stops the decay
    assert np.all(np.isfinite(p.data))


def test_zero_grad_sets_grads_to_none():
    params = [Parameter(P0.copy()), Parameter(P0.copy())]
    opt = optim.SGD(params, lr=0.1)
    for p in params:
        p.grad = Tensor(GRADS[0])
    opt.zero_grad()
    assert all(p.grad is None for p in params)


@settings(max_examples=60, deadline=None)
@given(
    which=st.sampled_from(["sgd", "adam", "adamw", "rmsprop"]),
    lr=st.floats(0, 1),
    wd=st.floats(0, 0.1),
    numpy_scalar=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_steps_keep_float32(which, lr, wd, numpy_scalar, seed):
    rng = np.random.default_rng(seed)
    p = Parameter(rng.normal(size=(2, 3)).astype(np.float32))
    # A float64 NumPy scalar lr must not turn the arithmetic into float64.
    lr = np.float64(lr) if numpy_scalar else lr
    opt = optim.get_optimizer(which, [p], lr=lr, weight_decay=wd)
    for _ in range(3):
        p.grad = Tensor(rng.normal(size=(2, 3)).astype(np.float32))
        opt.step()
    assert p.data.dtype == np.float32 and np.isfinite(p.data).all()
    for buffer in opt.state[id(p)].values():
        if isinstance(buffer, np.ndarray):
            assert buffer.dtype == np.float32


def test_optimizers_reduce_a_real_loss_through_backward():
    rng = np.random.default_rng(1)
    x = Tensor(rng.normal(size=(64, 5)).astype(np.float32))
    true_w = rng.normal(size=(5, 1)).astype(np.float32)
    y = Tensor(x.data @ true_w)
    for make in [lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
                 lambda ps: optim.Adam(ps, lr=0.05), lambda ps: optim.RMSprop(ps, lr=0.01)]:
        model = nn.Linear(5, 1, rng=0)
        opt = make(model.parameters())
        losses = []
        for _ in range(100):
            opt.zero_grad()
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        assert losses[-1] < 0.01 * losses[0]


# -- groups, lr, validation ------------------------------------------------------------------
def test_param_groups_have_their_own_hyperparameters():
    a, b = Parameter(P0.copy()), Parameter(P0.copy())
    opt = optim.SGD([{"params": [a], "lr": 1.0}, {"params": [b]}], lr=0.1)
    a.grad = b.grad = Tensor(GRADS[0])
    opt.step()
    np.testing.assert_allclose(a.data, P0 - 1.0 * GRADS[0], rtol=1e-6)
    np.testing.assert_allclose(b.data, P0 - 0.1 * GRADS[0], rtol=1e-6)
    opt.lr = 0.01  # schedules set every group
    assert [g["lr"] for g in opt.param_groups] == [0.01, 0.01] and opt.lr == 0.01


@pytest.mark.parametrize("make, message", [
    (lambda ps: optim.SGD(ps, lr=-0.1), "SGD: lr must be >= 0, got -0.1"),
    (lambda ps: optim.SGD(ps, lr=0.1, momentum=-1), "momentum must be >= 0"),
    (lambda ps: optim.SGD(ps, lr=0.1, nesterov=True), "nesterov=True needs momentum > 0"),
    (lambda ps: optim.Adam(ps, betas=(0.9, 1.0)), r"betas\[1\] must be >= 0 and < 1, got 1.0"),
    (lambda ps: optim.Adam(ps, eps=-1), "eps must be >= 0"),
    (lambda ps: optim.RMSprop(ps, alpha=1.5), "alpha must be >= 0 and <= 1, got 1.5"),
    (lambda ps: optim.SGD(ps, lr=float("nan")), "lr must be"),
    (lambda ps: optim.SGD([{"params": ps, "momentun": 0.9}], lr=0.1),
     r"unknown hyperparameters \['momentun'\]"),
    (lambda ps: optim.SGD(ps + ps, lr=0.1), "appears twice"),
    (lambda ps: optim.SGD([], lr=0.1), "empty parameter list"),
])
def test_bad_hyperparameters_are_clear_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make([Parameter(P0.copy())])


def test_bad_params_are_clear_errors():
    model = nn.Linear(2, 2)
    with pytest.raises(TypeError, match=r"pass model.parameters\(\)"):
        optim.SGD(model, lr=0.1)
    with pytest.raises(TypeError, match="not a Tensor"):
        optim.SGD([np.zeros(3)], lr=0.1)
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="lr must be >= 0"):
        opt.lr = -1
    with pytest.raises(ValueError, match="unknown optimizer 'sgdd'; valid names: adam"):
        optim.get_optimizer("sgdd", model.parameters())


def test_grad_of_the_wrong_shape_names_the_parameter():
    model = nn.Linear(2, 2, rng=0)
    opt = optim.SGD(model.parameters(), lr=0.1)
    model.weight.grad = Tensor(np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="'weight' has shape"):
        opt.step()


# -- checkpoints ---------------------------------------------------------------------------------
def make_problem():
    rng = np.random.default_rng(3)
    x = Tensor(rng.normal(size=(16, 4)).astype(np.float32))
    y = Tensor(rng.normal(size=(16, 2)).astype(np.float32))
    return x, y


def train_steps(model, opt, n, x, y):
    for _ in range(n):
        opt.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        opt.step()


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
    lambda ps: optim.Adam(ps, lr=0.01),
    lambda ps: optim.AdamW(ps, lr=0.01, weight_decay=0.1),
    lambda ps: optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True),
])
def test_state_dict_round_trip_continues_bit_for_bit(make):
    x, y = make_problem()
    model = nn.Linear(4, 2, rng=0)
    opt = make(model.parameters())
    train_steps(model, opt, 3, x, y)
    model_ckpt, opt_ckpt = model.state_dict(), opt.state_dict()
    train_steps(model, opt, 3, x, y)  # the uninterrupted run

    resumed = nn.Linear(4, 2, rng=99)
    resumed_opt = make(resumed.parameters())
    resumed.load_state_dict(model_ckpt)
    resumed_opt.load_state_dict(opt_ckpt)
    train_steps(resumed, resumed_opt, 3, x, y)
    for a, b in zip(model.parameters(), resumed.parameters()):
        assert a.data.tobytes() == b.data.tobytes()


def test_optimizer_state_dict_is_a_deep_copy_by_position():
    model = nn.Linear(2, 2, rng=0)
    opt = optim.Adam(model.parameters(), lr=0.1)
    model.weight.grad = Tensor(np.ones((2, 2), np.float32))
    opt.step()
    sd = opt.state_dict()
    assert set(sd["state"]) == {0} and sd["state"][0]["step"] == 1
    assert sd["param_groups"][0]["params"] == [0, 1] and sd["param_groups"][0]["lr"] == 0.1
    opt.step()
    assert sd["state"][0]["step"] == 1  # later steps do not leak into the snapshot
    assert not np.array_equal(sd["state"][0]["exp_avg"], opt.state[id(model.weight)]["exp_avg"])


def test_optimizer_state_survives_a_json_round_trip_of_its_hyperparameters():
    model = nn.Linear(2, 2, rng=0)
    opt = optim.Adam(model.parameters(), lr=0.1, betas=(0.8, 0.9))
    sd = opt.state_dict()
    sd["param_groups"] = json.loads(json.dumps(sd["param_groups"]))  # tuples become lists
    sd["state"] = {str(k): v for k, v in sd["state"].items()}        # keys become strings
    other = optim.Adam(nn.Linear(2, 2, rng=1).parameters(), lr=0.5)
    other.load_state_dict(sd)
    assert other.param_groups[0]["betas"] == (0.8, 0.9) and other.lr == 0.1


def test_optimizer_load_state_dict_rejects_a_different_layout():
    sd = optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1).state_dict()
    other = optim.SGD(nn.Linear(2, 2, bias=False).parameters(), lr=0.1)
    with pytest.raises(ValueError, match="group 0 has 2 parameters in the checkpoint but 1 here"):
        other.load_state_dict(sd)
    two_groups = optim.SGD([{"params": [Parameter(P0)]}, {"params": [Parameter(P0)]}], lr=0.1)
    with pytest.raises(ValueError, match="checkpoint has 1 parameter groups"):
        two_groups.load_state_dict(sd)


# -- schedules ----------------------------------------------------------------------------------
def test_cosine_without_warmup_at_known_points():
    s = CosineLR(total_steps=100, lr_min=0.0, base_lr=0.1)
    assert s.lr_at(0) == pytest.approx(0.1)
    assert s.lr_at(50) == pytest.approx(0.05)
    assert s.lr_at(25) == pytest.approx(0.05 * (1 + math.cos(math.pi / 4)))
    assert s.lr_at(100) == pytest.approx(0.0)
    assert s.lr_at(500) == 0.0  # stays at lr_min after the end


def test_cosine_with_warmup_at_known_points():
    s = CosineLR(total_steps=110, lr_min=0.01, warmup_steps=10, base_lr=0.1)
    assert s.lr_at(0) == pytest.approx(0.01)                     # warmup starts at lr_min
    assert s.lr_at(5) == pytest.approx(0.055)                    # halfway up, linearly
    assert s.lr_at(10) == pytest.approx(0.1)                     # warmup end: the peak
    assert s.lr_at(60) == pytest.approx((0.1 + 0.01) / 2)        # midpoint of the decay
    assert s.lr_at(110) == pytest.approx(0.01)                   # end: lr_min
    values = s.values(111)
    assert values.shape == (111,) and values.dtype == np.float64
    assert (np.diff(values[:11]) > 0).all() and (np.diff(values[10:]) < 0).all()


def test_step_exponential_and_constant():
    step = StepLR(step_size=30, gamma=0.1, base_lr=1.0)
    assert [step.lr_at(s) for s in (0, 29, 30, 59, 60)] == pytest.approx(
        [1.0, 1.0, 0.1, 0.1, 0.01])
    exp = ExponentialLR(gamma=0.5, base_lr=0.8)
    np.testing.assert_allclose(exp.values(4), [0.8, 0.4, 0.2, 0.1])
    np.testing.assert_array_equal(ConstantLR(base_lr=2e-5).values(3), [2e-5] * 3)


def test_schedule_errors_are_clear():
    with pytest.raises(ValueError, match="has no base_lr"):
        CosineLR(total_steps=10).lr_at(0)
    with pytest.raises(ValueError, match="warmup_steps must be an int in"):
        CosineLR(total_steps=10, warmup_steps=11)
    with pytest.raises(ValueError, match="lr_min=0.5 is larger than base_lr=0.1"):
        CosineLR(total_steps=10, lr_min=0.5, base_lr=0.1)
    with pytest.raises(ValueError, match="step_size must be a positive int"):
        StepLR(step_size=0)
    with pytest.raises(ValueError, match="gamma must be > 0"):
        ExponentialLR(gamma=0)
    with pytest.raises(ValueError, match="step must be >= 0"):
        ConstantLR(base_lr=1.0).lr_at(-1)
    with pytest.raises(ValueError, match="unknown schedule 'cosin'; valid names: constant"):
        get_schedule("cosin")
    with pytest.raises(TypeError, match="get_schedule\\('step'\\)"):
        get_schedule("step", gama=0.5, step_size=3)


def test_get_schedule_builds_from_config():
    s = get_schedule("cosine", total_steps=20, warmup_steps=5, base_lr=1.0)
    assert isinstance(s, CosineLR) and s.lr_at(5) == 1.0
    assert isinstance(get_schedule("Exp", gamma=0.9), ExponentialLR)
    assert "total_steps=20" in repr(s)


def test_scheduler_drives_the_optimizer_from_its_lr():
    p = Parameter(P0.copy())
    opt = optim.SGD([p], lr=0.1)
    schedule = CosineLR(total_steps=10, warmup_steps=2)
    scheduler = Scheduler(opt, schedule)
    assert schedule.base_lr is None  # the schedule object itself is left untouched
    seen = [opt.lr]
    for _ in range(10):
        p.grad = Tensor(GRADS[0])
        opt.step()
        seen.append(scheduler.step())
        assert opt.lr == seen[-1] == scheduler.lr
    np.testing.assert_allclose(seen, schedule.with_base_lr(0.1).values(11))
    assert seen[0] == 0.0 and seen[2] == pytest.approx(0.1) and seen[-1] == pytest.approx(0.0)


def test_scheduler_state_dict_resumes_at_the_same_step():
    opt = optim.Adam([Parameter(P0.copy())], lr=0.01)
    scheduler = Scheduler(opt, StepLR(step_size=2, gamma=0.5))
    for _ in range(5):
        scheduler.step()
    saved = scheduler.state_dict()
    fresh_opt = optim.Adam([Parameter(P0.copy())], lr=0.01)
    fresh = Scheduler(fresh_opt, StepLR(step_size=2, gamma=0.5))
    fresh.load_state_dict(saved)
    assert fresh.last_step == 5 and fresh_opt.lr == opt.lr == pytest.approx(0.0025)
    assert fresh.step() == scheduler.step()


@settings(max_examples=100, deadline=None)
@given(
    total=st.integers(1, 500),
    warmup_frac=st.floats(0, 1),
    base_lr=st.floats(1e-6, 10),
    min_frac=st.floats(0, 1),
    step=st.integers(0, 1000),
)
def test_cosine_stays_within_lr_min_and_base_lr(total, warmup_frac, base_lr, min_frac, step):
    lr_min = base_lr * min_frac
    s = CosineLR(total_steps=total, lr_min=lr_min, warmup_steps=int(warmup_frac * total),
                 base_lr=base_lr)
    assert lr_min <= s.lr_at(step) <= base_lr


@settings(max_examples=50, deadline=None)
@given(gamma=st.floats(0.01, 1.0), step_size=st.integers(1, 20), n=st.integers(1, 200))
def test_decaying_schedules_never_increase_and_stay_positive(gamma, step_size, n):
    for s in (StepLR(step_size, gamma, base_lr=1.0), ExponentialLR(gamma, base_lr=1.0)):
        values = s.values(n)
        assert values[0] == 1.0 and (np.diff(values) <= 0).all() and (values >= 0).all()
