"""The benchmark compares like with like: bench/mlp.py's hand-written NumPy steps and
tinygrad-lab's step do the same arithmetic. Not timed; a wrong reference would make every
ratio the README quotes meaningless without failing anything else."""
import numpy as np

from bench.mlp import (make_data, numpy_same_work_step_factory, numpy_step_factory,
                       tinygrad_step_factory)

SIZES = (20, 12, 8, 4)


def _closure(step):
    """The variables a step function closes over, by name (its weights, its loss list)."""
    return dict(zip(step.__code__.co_freevars, (c.cell_contents for c in step.__closure__)))


def _run(factory, steps=5):
    X, T, Ws = make_data(16, seed=3, sizes=SIZES)
    step = factory(X, T, Ws)
    for _ in range(steps):
        step()
    return _closure(step)


def _numpy_weights(state):
    return [state["W1"], state["W2"], state["W3"]]


def test_the_numpy_steps_and_ours_move_the_weights_alike():
    fast = _numpy_weights(_run(numpy_step_factory))
    same_work = _numpy_weights(_run(numpy_same_work_step_factory))
    model = _run(tinygrad_step_factory)["model"]
    ours = [fc.weight.data for fc, _ in model.layers()]
    _, _, start = make_data(16, seed=3, sizes=SIZES)
    for w0, a, b, c in zip(start, fast, same_work, ours):
        assert np.abs(a - w0).max() > 1e-4  # the steps did move the weights
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-6)
        np.testing.assert_allclose(c, b, rtol=0, atol=1e-6)


def test_the_same_work_step_records_each_steps_mse():
    X, T, Ws = make_data(16, seed=3, sizes=SIZES)
    step = numpy_same_work_step_factory(X, T, Ws)
    step()
    (loss,) = _closure(step)["losses"]
    h = X.astype(np.float64)
    for w in Ws:
        h = 1 / (1 + np.exp(-(h @ w.T.astype(np.float64))))
    np.testing.assert_allclose(loss, np.mean((h - T) ** 2), rtol=1e-5)


def test_the_fast_step_computes_no_loss():
    assert _run(numpy_step_factory, steps=1)["losses"] is None


def test_the_same_work_sigmoid_is_ours_bit_for_bit_tails_included():
    import tinygrad_lab as tl
    from bench.mlp import _exp_sigmoid

    z = np.concatenate([np.linspace(-100, 100, 2001, dtype=np.float32), np.float32([-20])])
    with np.errstate(over="ignore"):  # e^100 overflows to inf, as it does in ours: 1/inf = 0
        same = _exp_sigmoid(z)
    np.testing.assert_array_equal(same, tl.sigmoid(tl.Tensor(z)).data)
    assert same[-1] > 2e-9  # σ(−20) = 2.06e-9, where the fast step's tanh form gives 0
    step = numpy_same_work_step_factory(*make_data(4, sizes=SIZES))
    assert _closure(step)["sigmoid"] is _exp_sigmoid


def test_the_ratio_interval_brackets_the_ratio_and_narrows_with_more_processes():
    from bench.common import ratio_interval

    rng = np.random.default_rng(7)
    reference = list(0.66 + 0.02 * rng.standard_normal(40))
    ours = list(0.73 + 0.02 * rng.standard_normal(40))
    ratio = np.median(ours) / np.median(reference)
    low, high = ratio_interval(ours, reference)
    assert low < ratio < high
    assert ratio_interval(ours, reference) == (low, high)  # seeded: the same interval again
    few_low, few_high = ratio_interval(ours[:5], reference[:5])
    assert few_high - few_low > high - low
    assert ratio_interval([0.7] * 5, [0.7] * 5) == (1.0, 1.0)


def test_run_gives_the_close_steps_their_rounds_each_on_its_own_heap_offset(monkeypatch):
    import bench.mlp as mlp

    offsets = []
    real_in_child = mlp.in_child

    def spy(module, function, name, n, repeats, blas_threads, heap_offset):
        offsets.append((name, heap_offset))
        return real_in_child(module, function, name, n, repeats, blas_threads, heap_offset)

    monkeypatch.setattr(mlp, "in_child", spy)
    monkeypatch.setattr(mlp, "CLOSE", ("numpy",))
    row = mlp.run(sizes=(2,), repeats=1, rounds=1, close_rounds=2,
                  only=("numpy", "tinygrad-lab"))[2]
    assert [len(row[name]["rounds_ms"]) for name in ("numpy", "tinygrad-lab")] == [2, 1]
    # each round has its own offset, the same for every framework in it
    assert offsets == [("numpy", mlp.HEAP_OFFSETS[0]), ("tinygrad-lab", mlp.HEAP_OFFSETS[0]),
                       ("numpy", mlp.HEAP_OFFSETS[1])]
    assert len(set(mlp.HEAP_OFFSETS)) == 256 and all(o % 16 == 0 for o in mlp.HEAP_OFFSETS)
    assert row["tinygrad-lab"]["ratio"] > 0
