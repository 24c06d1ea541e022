"""A training step leaves nothing behind: the graph is freed by backward, memory stays flat."""
import gc
import tracemalloc
import weakref

import numpy as np

import tinygrad_lab as tl
from models import AssignmentMLP


def _model_and_data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    model = AssignmentMLP((20, 16, 12, 10), activation="sigmoid", init="he", seed=seed)
    x = tl.Tensor(rng.random((n, 20), dtype=np.float32))
    y = rng.integers(0, 10, n)
    return model, tl.optim.SGD(model.parameters(), lr=0.1), x, y


def test_step_leaves_no_intermediate_tensor_alive():
    model, opt, x, y = _model_and_data()
    intermediates = []
    for _, module in model.named_modules():
        module.register_forward_hook(lambda m, i, out: intermediates.append(weakref.ref(out)))
    opt.zero_grad()
    loss = tl.cross_entropy(model(x), y)
    loss_ref = weakref.ref(loss)
    loss.backward()
    opt.step()
    del loss
    # No gc.collect(): reference counting alone must free them, so there is no cycle.
    assert loss_ref() is None
    assert len(intermediates) == 7  # 3 Linear + 3 activations + the model itself
    assert all(ref() is None for ref in intermediates)


def test_graph_is_kept_only_while_someone_holds_the_output():
    model, _, x, y = _model_and_data()
    out = model(x)
    hidden = out._ctx.parents[0]  # the last Linear's output
    hidden_ref = weakref.ref(hidden)
    del hidden
    assert hidden_ref() is not None  # the graph still needs it for backward
    tl.cross_entropy(out, y).backward()
    assert hidden_ref() is None      # freed by backward


def test_memory_flat_over_1000_steps():
    model, opt, x, y = _model_and_data()

    def step():
        opt.zero_grad()
        tl.cross_entropy(model(x), y).backward()
        opt.step()

    tracemalloc.start()
    try:
        # Warm up under tracing: Python's own caches (free lists, method caches) settle
        # in the first few hundred steps and are not a leak.
        for _ in range(300):
            step()
        gc.collect()
        start = tracemalloc.get_traced_memory()[0]
        for _ in range(1000):
            step()
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()
    # A leak of even one small array per step would be > 1000 × 100 bytes (header + data).
    assert grown < 20_000, f"memory grew by {grown} bytes over 1000 steps"


def test_evaluation_under_no_grad_records_no_graph():
    model, _, x, _ = _model_and_data()
    with tl.no_grad():
        out = model(x)
    assert out._ctx is None and not out.requires_grad
