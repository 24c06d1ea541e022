"""Weight initialisers: shapes, dtypes, distributions, reproducibility, the registry."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_lab import init

SHAPE = (400, 500)  # 200,000 samples: mean/std within ~1% of the truth
FAN_IN, FAN_OUT = 500, 400

NORMALS = [
    ("lecun_normal", 1 / math.sqrt(FAN_IN)),
    ("he_normal", math.sqrt(2 / FAN_IN)),
    ("kaiming_normal", math.sqrt(2 / FAN_IN)),
    ("xavier_normal", math.sqrt(2 / (FAN_IN + FAN_OUT))),
    ("glorot_normal", math.sqrt(2 / (FAN_IN + FAN_OUT))),
]
UNIFORMS = [
    ("uniform", 1.0),
    ("lecun_uniform", math.sqrt(3 / FAN_IN)),
    ("he_uniform", math.sqrt(6 / FAN_IN)),
    ("kaiming_uniform", math.sqrt(6 / FAN_IN)),
    ("xavier_uniform", math.sqrt(6 / (FAN_IN + FAN_OUT))),
    ("glorot_uniform", math.sqrt(6 / (FAN_IN + FAN_OUT))),
]
ALL_RANDOM = [name for name, _ in NORMALS + UNIFORMS]


def test_fans_follow_out_in_layout():
    assert init.fans((256, 784)) == (784, 256)  # the assignment's W1
    assert init.fans((7,)) == (7, 7)
    assert init.fans((8, 3, 5, 5)) == (75, 200)  # conv kernel: receptive field multiplies
    with pytest.raises(ValueError, match="scalar"):
        init.fans(())


@pytest.mark.parametrize("name, std", NORMALS)
def test_normal_initialisers_have_the_documented_std(name, std):
    w = getattr(init, name)(SHAPE, rng=0)
    assert w.shape == SHAPE and w.dtype == np.float32
    assert abs(w.mean()) < 4 * std / math.sqrt(w.size)
    assert w.std() == pytest.approx(std, rel=0.01)


@pytest.mark.parametrize("name, bound", UNIFORMS)
def test_uniform_initialisers_respect_bounds_and_variance(name, bound):
    w = getattr(init, name)(SHAPE, rng=0)
    assert w.shape == SHAPE and w.dtype == np.float32
    assert w.min() >= -bound and w.max() <= bound
    # The samples fill the interval: close to both ends.
    assert w.min() < -0.99 * bound and w.max() > 0.99 * bound
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.01)  # std of U[-b, b]


def test_uniform_custom_interval_and_errors():
    w = init.uniform((1000,), low=2.0, high=3.0, rng=1)
    assert 2.0 <= w.min() and w.max() <= 3.0
    assert w.mean() == pytest.approx(2.5, abs=0.03)
    with pytest.raises(ValueError, match="low <= high"):
        init.uniform((3,), low=1.0, high=0.0)


def test_normal_with_mean_and_std():
    w = init.normal((100_000,), mean=3.0, std=0.5, rng=2)
    assert w.mean() == pytest.approx(3.0, abs=0.01)
    assert w.std() == pytest.approx(0.5, rel=0.02)


@pytest.mark.parametrize("name", ALL_RANDOM)
def test_same_seed_same_bits_different_seed_different_bits(name):
    fn = getattr(init, name)
    a, b, c = fn((30, 20), rng=7), fn((30, 20), rng=7), fn((30, 20), rng=8)
    assert a.tobytes() == b.tobytes()
    assert a.tobytes() != c.tobytes()
    # A Generator seeded the same way gives the same bits as the int seed.
    assert fn((30, 20), rng=np.random.default_rng(7)).tobytes() == a.tobytes()


def test_a_shared_generator_advances_between_calls():
    rng = np.random.default_rng(0)
    first, second = init.he_normal((5, 5), rng=rng), init.he_normal((5, 5), rng=rng)
    assert not np.array_equal(first, second)


def test_zeros_and_ones():
    assert init.zeros((2, 3)).dtype == np.float32 and not init.zeros((2, 3)).any()
    assert (init.ones(4) == 1).all() and init.ones(4).shape == (4,)


def test_bad_rng_and_zero_fan_are_clear_errors():
    with pytest.raises(TypeError, match="rng must be"):
        init.he_normal((2, 2), rng="seed")
    with pytest.raises(ValueError, match="fan is 0"):
        init.he_normal((3, 0))


@pytest.mark.parametrize("config, fn", [
    ("uniform", init.uniform), ("normal", init.lecun_normal), ("lecun", init.lecun_normal),
    ("he", init.he_normal), ("kaiming", init.he_normal), ("He-Uniform", init.he_uniform),
    ("xavier", init.xavier_normal), ("glorot_uniform", init.xavier_uniform),
])
def test_registry_names(config, fn):
    assert init.get(config) is fn


def test_registry_passes_callables_through_and_lists_valid_names():
    custom = lambda shape, rng=None: np.full(shape, 0.5, np.float32)  # noqa: E731
    assert init.get(custom) is custom
    with pytest.raises(ValueError) as err:
        init.get("glorious")
    assert "glorious" in str(err.value)
    for name in ("uniform", "normal", "he", "xavier"):
        assert name in str(err.value)


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(ALL_RANDOM),
    shape=st.tuples(st.integers(1, 12), st.integers(1, 12)),
    seed=st.integers(0, 2**32 - 1),
)
def test_every_initialiser_returns_float32_of_the_shape(name, shape, seed):
    w = init.get(name)(shape, rng=seed)
    assert w.shape == shape and w.dtype == np.float32 and np.isfinite(w).all()
