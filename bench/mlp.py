"""The assignment's MLP step (784-256-128-10, sigmoid, MSE, no bias, float32, forward +
backward + SGD update) in tinygrad-lab vs the same step hand-written in NumPy, in one run.

    python bench/mlp.py            # prints medians and ratios (tinygrad-lab / NumPy)

MyGrad and HIPS autograd are timed too when installed, in the same process; PyTorch, when
installed, in a child process against its own NumPy baseline (see OTHERS).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import (  # noqa: E402
    in_child, installed, interleaved_medians, median_time, write_record)

SIZES = (784, 256, 128, 10)
LR = 0.1


def make_data(n, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, SIZES[0]), dtype=np.float32)
    T = np.eye(SIZES[-1], dtype=np.float32)[rng.integers(0, SIZES[-1], n)]
    Ws = [rng.uniform(-1, 1, (o, i)).astype(np.float32) * np.float32(1 / np.sqrt(i))
          for i, o in zip(SIZES[:-1], SIZES[1:])]
    return X, T, Ws


def numpy_step_factory(X, T, Ws):
    """Hand-written NumPy, batch-first: what a careful learner writes."""
    W1, W2, W3 = [w.copy() for w in Ws]

    def sigmoid(z):
        return 0.5 * np.tanh(0.5 * z) + 0.5

    def step():
        nonlocal W1, W2, W3
        L1 = sigmoid(X @ W1.T)
        L2 = sigmoid(L1 @ W2.T)
        L3 = sigmoid(L2 @ W3.T)
        d3 = (L3 - T) * (2.0 / L3.size) * L3 * (1 - L3)
        d2 = (d3 @ W3) * L2 * (1 - L2)
        d1 = (d2 @ W2) * L1 * (1 - L1)
        W3 -= LR * (d3.T @ L2)
        W2 -= LR * (d2.T @ L1)
        W1 -= LR * (d1.T @ X)
    return step


def tinygrad_step_factory(X, T, Ws):
    import tinygrad_lab as tl
    from models import AssignmentMLP
    model = AssignmentMLP(SIZES, activation="sigmoid", init="uniform", bias=False)
    for (fc, _), w in zip(model.layers(), Ws):
        fc.weight.data[...] = w
    opt = tl.optim.SGD(model.parameters(), lr=LR)
    x, t = tl.Tensor(X), T

    def step():
        opt.zero_grad()
        loss = tl.mse_loss(model(x), t)
        loss.backward()
        opt.step()
    return step


def torch_step_factory(X, T, Ws):
    import torch
    ws = [torch.tensor(w, requires_grad=True) for w in Ws]
    x, t = torch.tensor(X), torch.tensor(T)
    opt = torch.optim.SGD(ws, lr=LR)

    def step():
        opt.zero_grad()
        h = x
        for w in ws:
            h = torch.sigmoid(h @ w.T)
        torch.nn.functional.mse_loss(h, t).backward()
        opt.step()
    return step


def mygrad_step_factory(X, T, Ws):
    import mygrad as mg
    from mygrad.nnet.activations import sigmoid
    ws = [mg.Tensor(w) for w in Ws]
    x, t = mg.Tensor(X, constant=True), T

    def step():
        h = x
        for w in ws:
            h = sigmoid(mg.matmul(h, w.T))
        loss = mg.mean((h - t) ** 2)
        loss.backward()
        for w in ws:
            w.data -= LR * w.grad
    return step


def hips_autograd_step_factory(X, T, Ws):
    import autograd.numpy as anp
    from autograd import grad
    ws = [w.copy() for w in Ws]

    def loss(weights):
        h = X
        for w in weights:
            h = 1 / (1 + anp.exp(-(h @ w.T)))
        return anp.mean((h - T) ** 2)

    gradient = grad(loss)

    def step():
        for w, g in zip(ws, gradient(ws)):
            w -= LR * g
    return step


# NumPy-based frameworks share the process with the NumPy baseline. PyTorch runs in a
# child process with its own NumPy baseline: its thread pool spinning beside OpenBLAS's
# would slow both, which measures the two pools fighting, not the frameworks.
OTHERS = {"mygrad": mygrad_step_factory, "hips-autograd": hips_autograd_step_factory}


def _number(n):
    return 20 if n <= 64 else (3 if n <= 1000 else 1)


def _torch_in_child(sizes, repeats):
    """PyTorch vs NumPy, timed together in a fresh process; None when torch is missing."""
    if not installed("torch"):
        return None
    return {int(k): v for k, v in in_child("mlp", "_torch_child", list(sizes), repeats).items()}


def _torch_child(sizes, repeats):
    ratios = {}
    for n in sizes:
        X, T, Ws = make_data(n)
        # One after the other, not interleaved: PyTorch's threads and OpenBLAS's would spin
        # against each other at every switch.
        medians = {name: median_time(factory(X, T, Ws), repeats=repeats, number=_number(n))
                   for name, factory in (("numpy", numpy_step_factory),
                                         ("pytorch", torch_step_factory))}
        ratios[n] = {"ms": medians["pytorch"] * 1e3,
                     "ratio": medians["pytorch"] / medians["numpy"]}
    return ratios


def run(sizes=(64, 1000, 10000), repeats=9):
    results = {}
    torch_results = _torch_in_child(sizes, repeats)
    for n in sizes:
        X, T, Ws = make_data(n)
        fns = {"numpy": numpy_step_factory(X, T, Ws),
               "tinygrad-lab": tinygrad_step_factory(X, T, Ws)}
        for name, factory in OTHERS.items():
            try:
                fns[name] = factory(X, T, Ws)
            except ImportError:
                pass  # not installed: compared only where present
        medians = interleaved_medians(fns, repeats=repeats, number=_number(n))
        base = medians["numpy"]
        results[n] = {name: {"ms": t * 1e3, "ratio": t / base} for name, t in medians.items()}
        if torch_results is not None:
            results[n]["pytorch (own process)"] = torch_results[n]
    return results


def main():
    results = run()
    print("assignment MLP step, 784-256-128-10 sigmoid MSE float32 (median ms, ratio to NumPy)")
    for n, row in results.items():
        cells = "   ".join(f"{name} {r['ms']:.3f} ms ({r['ratio']:.2f}x)" for name, r in row.items())
        print(f"  N={n:>5}: {cells}")
    write_record("mlp", {"results": {str(k): v for k, v in results.items()}})


if __name__ == "__main__":
    main()
