"""The assignment's MLP step (784-256-128-10, sigmoid, MSE, no bias, float32, forward +
backward + SGD update) in tinygrad-lab vs the same step hand-written in NumPy, in one run.

    python bench/mlp.py            # prints medians and ratios (tinygrad-lab / NumPy)

At N=64 a second NumPy step is timed beside it, one that does the same work as tinygrad-lab's
(the loss value each step, the sigmoid's precise form): see ``main``.

MyGrad, HIPS autograd and PyTorch are timed too when installed. Every framework's step runs
in a fresh process of its own, as a learner's script would, and the processes take turns
(see ``run`` for why one shared process gives wrong ratios).
"""
from __future__ import annotations

import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import (in_child, installed, median_time, ratio_interval,  # noqa: E402
                          write_record)

SIZES = (784, 256, 128, 10)
LR = 0.1


def make_data(n, seed=0, sizes=SIZES):
    rng = np.random.default_rng(seed)
    X = rng.random((n, sizes[0]), dtype=np.float32)
    T = np.eye(sizes[-1], dtype=np.float32)[rng.integers(0, sizes[-1], n)]
    Ws = [rng.uniform(-1, 1, (o, i)).astype(np.float32) * np.float32(1 / np.sqrt(i))
          for i, o in zip(sizes[:-1], sizes[1:])]
    return X, T, Ws


def _tanh_sigmoid(z):
    return 0.5 * np.tanh(0.5 * z) + 0.5


def _exp_sigmoid(z):
    """1/(1 + e^(−z)), in place after the first ufunc, as tinygrad-lab computes it."""
    out = np.negative(z)
    np.exp(out, out=out)
    out += 1
    return np.divide(1, out, out=out)


def numpy_step_factory(X, T, Ws, sigmoid=_tanh_sigmoid, losses=None):
    """Hand-written NumPy, batch-first: what a careful learner writes.

    ``losses``: a list to append every step's loss value to (None: the step computes none).
    """
    W1, W2, W3 = [w.copy() for w in Ws]

    def step():
        nonlocal W1, W2, W3
        L1 = sigmoid(X @ W1.T)
        L2 = sigmoid(L1 @ W2.T)
        L3 = sigmoid(L2 @ W3.T)
        d3 = L3 - T
        if losses is not None:
            losses.append(np.add.reduce(d3 * d3, axis=None) / d3.size)
        d3 = d3 * (2.0 / L3.size) * L3 * (1 - L3)
        d2 = (d3 @ W3) * L2 * (1 - L2)
        d1 = (d2 @ W2) * L1 * (1 - L1)
        W3 -= LR * (d3.T @ L2)
        W2 -= LR * (d2.T @ L1)
        W1 -= LR * (d1.T @ X)
    return step


def numpy_same_work_step_factory(X, T, Ws):
    """Hand-written NumPy doing the work tinygrad-lab's step does beyond ``numpy_step_factory``.

    Two things, both what the assignment's own loop does: the lecture's sigmoid
    1/(1 + e^(−x)), which keeps its precision where σ is tiny (σ(−20) = 2e-9 in float32,
    where the tanh form gives 0), written in place as tinygrad-lab computes it; and the loss
    value of every step (the assignment records it for its loss curves), from the same
    L3 − T the gradient uses, as a careful learner would.
    """
    return numpy_step_factory(X, T, Ws, sigmoid=_exp_sigmoid, losses=[])


def tinygrad_step_factory(X, T, Ws):
    import tinygrad_lab as tl
    from models import AssignmentMLP
    sizes = (Ws[0].shape[1],) + tuple(w.shape[0] for w in Ws)
    model = AssignmentMLP(sizes, activation="sigmoid", init="uniform", bias=False)
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


# name: (the module it needs, its step factory); the ones not installed are left out.
FRAMEWORKS = {
    "numpy": ("numpy", numpy_step_factory),
    "numpy-same-work": ("numpy", numpy_same_work_step_factory),
    "tinygrad-lab": ("numpy", tinygrad_step_factory),
    "mygrad": ("mygrad", mygrad_step_factory),
    "hips-autograd": ("autograd", hips_autograd_step_factory),
    "pytorch": ("torch", torch_step_factory),
}
# The NumPy-based frameworks bench/memory.py measures beside NumPy.
OTHERS = {name: FRAMEWORKS[name][1] for name in ("mygrad", "hips-autograd")}


def _number(n):
    return 20 if n <= 64 else (3 if n <= 1000 else 1)


def _page_faults():
    """Minor page faults of this process so far (None where ``resource`` is missing: Windows)."""
    try:
        import resource
    except ImportError:
        return None
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def step_seconds(name, n, repeats, blas_threads=None, heap_offset=0):
    """(median seconds per step, page faults per step) of ``name``'s step at batch ``n``;
    ``run`` calls it in a fresh process. Faults are counted over the timed steps.
    ``blas_threads``: limit NumPy's BLAS to this many threads (None: its default).
    ``heap_offset``: bytes to hold on the heap before anything is set up, which moves where
    the step's arrays land (see ``run``)."""
    from threadpoolctl import threadpool_limits   # installed with scikit-learn
    heap_pad = bytearray(1024 + heap_offset)  # noqa: F841 (held, not read: a plain malloc)
    X, T, Ws = make_data(n)
    step, number = FRAMEWORKS[name][1](X, T, Ws), _number(n)
    with threadpool_limits(limits=blas_threads, user_api="blas"):
        for _ in range(2):  # warm-up
            step()
        before = _page_faults()
        seconds = median_time(step, repeats=repeats, number=number, warmup=0)
        after = _page_faults()
    faults = None if before is None else (after - before) / (repeats * number)
    return seconds, faults


def run(sizes=(64, 1000, 10000), repeats=9, rounds=5, blas_threads=None, only=None,
        close_rounds=None):
    """{n: {framework: {"ms", "ratio" (to NumPy), "rounds_ms", "faults"}}}, medians over
    ``rounds`` (``faults``: page faults per step). ``blas_threads`` limits NumPy's BLAS in
    every process (None: its default); ``only`` names the frameworks to time (None: all
    installed); ``close_rounds``: how many rounds the steps in ``CLOSE`` take (None: ``rounds``).

    Five rounds, not three: from N=1000 up a step's time also depends on how many pages
    glibc hands back to the system and takes again (below), which changes from one process
    to the next (ours: 3,412 and 4,434 page faults a step at N=10000 in two processes), so
    a median over three processes moved by several percent between runs.

    A step's time also depends on where in the heap its arrays land, by up to a tenth at
    N=64, and one process layout is not a fair sample of that: holding 16-56 more bytes on
    the heap before set-up made NumPy's step there 0.62-0.65 ms instead of 0.58-0.61 and
    ours 0.65-0.70 instead of 0.70-0.76 (so the ratio read about 1.06 or 1.22), and whether
    ``KMP_DUPLICATE_LIB_OK`` was in the children's environment moved NumPy's step as much
    (see ``in_child``). So each round moves the heap by its own offset, ``HEAP_OFFSETS[r]``
    bytes, the same for every framework in the round, and the medians are over layouts,
    not over one layout. The steps whose N=64 ratio is judged against a bar (``CLOSE``)
    take ``close_rounds`` rounds; the others, far from any bar, keep ``rounds``.

    Each framework's step runs in a process of its own (``repeats`` timings there), and the
    processes take turns, round after round, in alternating order. One shared process
    gives wrong ratios from N=1000 up: glibc hands freed heap memory back to the system and
    takes it again every step (page faults: about 1,100-1,400 a step at N=1000, for NumPy's
    step as for ours), unless the heap is already big enough; in one process, the step that
    needs less memory reuses the heap the other grew and skips the faults the other pays.
    Measured at N=1000: NumPy's step made 1,360 page faults a step alone and none beside
    ours, and the ratio read 1.29-1.45x in one process, 0.98-1.02x in separate ones. PyTorch
    also needs its own process: its thread pool and OpenBLAS's would spin against each other.
    """
    names = [name for name, (module, _) in FRAMEWORKS.items()
             if installed(module) and (only is None or name in only)]

    def rounds_of(name):
        return close_rounds if close_rounds is not None and name in CLOSE else rounds

    results = {}
    for n in sizes:
        samples = {name: [] for name in names}
        faults = {name: [] for name in names}
        for r in range(max(map(rounds_of, names))):
            turn = [name for name in names if r < rounds_of(name)]
            offset = int(HEAP_OFFSETS[r % HEAP_OFFSETS.size])
            for name in (turn if r % 2 == 0 else turn[::-1]):
                seconds, step_faults = in_child("mlp", "step_seconds", name, n, repeats,
                                                blas_threads, offset)
                samples[name].append(seconds)
                faults[name].append(step_faults)
        medians = {name: statistics.median(s) for name, s in samples.items()}
        results[n] = {name: {"ms": medians[name] * 1e3,
                             "ratio": medians[name] / medians["numpy"],
                             "rounds_ms": [t * 1e3 for t in s],
                             "faults": (None if None in faults[name]
                                        else statistics.median(faults[name]))}
                      for name, s in samples.items()}
    return results


# The reference doing the same work as tinygrad-lab's step is timed at N=64 only: from N=1000
# up tinygrad-lab is already level with the faster reference.
SAME_WORK = "numpy-same-work"
# The steps whose N=64 ratio is judged against issue 7's bar of 1.15x: they take
# N64_CLOSE_ROUNDS rounds of processes there (see run), the others five. Fifteen of them
# cost bench/run.py about 15 s more (261-275 s instead of 249-258).
CLOSE = ("numpy", SAME_WORK, "tinygrad-lab")
N64_CLOSE_ROUNDS = 15
# Round r's heap offset (see run): multiples of 16 bytes (malloc's alignment) below 4 KiB, one
# page, drawn once with a fixed seed so every run samples the same layouts (in turn, from the
# first, should a run take more than 256 rounds).
HEAP_OFFSETS = 16 * np.random.default_rng(0).permutation(256)
# Timed again at N=64 with one BLAS thread (see main): NumPy, the same-work NumPy and the
# NumPy-based framework closest to us there. (HIPS autograd too would add some 5 s to
# bench/run.py's 4-5 minutes.)
ONE_THREAD = ("numpy", SAME_WORK, "tinygrad-lab", "mygrad")


def _print_row(label, row):
    cells = "   ".join(f"{name} {r['ms']:.3f} ms ({r['ratio']:.2f}x)" for name, r in row.items())
    print(f"  {label}: {cells}")
    if all(r["faults"] is not None for r in row.values()):
        counts = ", ".join(f"{name} {r['faults']:,.0f}" for name, r in row.items())
        print(f"           page faults a step: {counts}")
    for reference in ("numpy", SAME_WORK):
        if reference in row and "tinygrad-lab" in row:
            ours, ref = row["tinygrad-lab"]["rounds_ms"], row[reference]["rounds_ms"]
            low, high = ratio_interval(ours, ref)
            ratio = row["tinygrad-lab"]["ms"] / row[reference]["ms"]  # run's medians
            print(f"           tinygrad-lab against {reference}: {ratio:.3f}x (95% bootstrap "
                  f"interval {low:.3f}-{high:.3f}; {len(ours)} and {len(ref)} processes)")


def main():
    """Every size with NumPy's default BLAS threads, then N=64 again with one BLAS thread.

    At N=64 the ratios are also given against ``numpy_same_work_step_factory``: the NumPy
    step that computes the loss value and the precise sigmoid, as tinygrad-lab's step does.
    The difference between the same-work step and tinygrad-lab's is tinygrad-lab's
    bookkeeping. Over fifteen heap layouts the two NumPy steps took nearly the same time
    (0.99-1.06x in twelve runs, median 1.02): the work the faster one leaves out costs little.

    The one-thread row is there because the N=64 ratio depends on it: what tinygrad-lab adds
    to the step is Python bookkeeping, and it runs slower when the matrix products have
    just filled the core's cache. With two BLAS threads each core gets half of that
    traffic; with one, the core running Python gets all of it.
    """
    everywhere = [name for name in FRAMEWORKS if name != SAME_WORK]
    results = {**run(sizes=(64,), close_rounds=N64_CLOSE_ROUNDS),
               **run(sizes=(1000, 10000), only=everywhere)}
    print("assignment MLP step, 784-256-128-10 sigmoid MSE float32 (median ms, ratio to NumPy)")
    for n, row in results.items():
        _print_row(f"N={n:>5}", row)
    one_thread = run(sizes=(64,), blas_threads=1, only=ONE_THREAD, close_rounds=N64_CLOSE_ROUNDS)
    _print_row("N=   64, one BLAS thread", one_thread[64])
    write_record("mlp", {"results": {str(k): v for k, v in results.items()},
                         "one_blas_thread": {str(k): v for k, v in one_thread.items()}})


if __name__ == "__main__":
    main()
