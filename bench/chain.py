"""Per-op overhead and long graphs.

    python bench/chain.py

1. A chain of small (4×4) elementwise ops, forward + backward, in µs per op, beside
   NumPy doing the same forward and a hand-written backward.
2. A chain of 100,000 scalar ops: seconds to build and to backpropagate, the part of the
   build spent in Python's garbage collector (which walks every node the graph holds, again
   and again as it grows), and the memory the graph holds per node (tracemalloc), at 10,000
   and 100,000 nodes: linear if equal.

Both chains are also timed in PyTorch (in a child process, see ``common.in_child``),
MyGrad and HIPS autograd when they are installed; missing ones are skipped.
"""
from __future__ import annotations

import gc
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import tinygrad_lab as tl  # noqa: E402
from bench.common import in_child, installed, write_record  # noqa: E402

OPS_PER_LINK = 3  # mul, add, sigmoid


class CollectorClock:
    """Inside the block, the seconds Python's garbage collector ran and its full collections.

    Uses ``gc.callbacks``, which the collector calls at the start and end of each
    collection; it does not change when collections happen.
    """

    def __enter__(self):
        self.seconds, self.full_collections, self._started = 0.0, 0, None
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc):
        gc.callbacks.remove(self._callback)
        return False

    def _callback(self, phase, info):
        if phase == "start":
            self._started = time.perf_counter()
        elif self._started is not None:
            self.seconds += time.perf_counter() - self._started
            self.full_collections += info["generation"] == 2
            self._started = None


def _time_long_chain(build, backward):
    """One long chain: (build s, backward s, collector s during the build, full collections).

    ``build()`` records the chain and returns what ``backward(...)`` needs to run it back.
    """
    gc.collect()
    with CollectorClock() as collector:
        start = time.perf_counter()
        graph = build()
        built = time.perf_counter()
    backward(graph)
    return (built - start, time.perf_counter() - built, collector.seconds,
            collector.full_collections)


def _medians(small, long, repeats):
    """(median µs per op of ``small()``'s chain, medians of ``long()``'s four figures)."""
    small_us = statistics.median(small() for _ in range(repeats)) * 1e6
    runs = [long() for _ in range(repeats)]
    keys = ("build_s", "backward_s", "gc_s", "full_collections")
    return small_us, {key: statistics.median(column) for key, column in zip(keys, zip(*runs))}


def _chains(leaf, sigmoid, ones, n_links=1000, n_long=100_000, repeats=3):
    """Both chains in a framework that records as it goes (tinygrad-lab, PyTorch, MyGrad).

    ``leaf(array)`` makes a leaf that requires grad, ``sigmoid(t)`` is the framework's
    sigmoid, ``ones(shape)`` a gradient to start the backward pass. Returns (µs per op of
    the 4×4 chain, the 100,000-op chain's figures), as ``_medians`` gives them.
    """
    def small():
        x = leaf(np.random.default_rng(0).random((4, 4), dtype=np.float32))
        start = time.perf_counter()
        y = x
        for _ in range(n_links):
            y = sigmoid(y * 0.5 + x)
        y.backward(ones((4, 4)))
        return (time.perf_counter() - start) / (n_links * OPS_PER_LINK)

    def long():
        x = leaf(np.array(1.0, np.float32))

        def build():
            y = x
            for _ in range(n_long):
                y = y * 1.0000001
            return y

        return _time_long_chain(build, lambda y: y.backward(ones(())))

    return _medians(small, long, repeats)


def small_chain_numpy(n_links=1000):
    """The same chain in NumPy with a hand-written backward, as a learner would write it."""
    x = np.random.default_rng(0).random((4, 4), dtype=np.float32)
    start = time.perf_counter()
    outs = []
    y = x
    for _ in range(n_links):
        y = 0.5 * np.tanh(0.5 * ((y * 0.5) + x)) + 0.5
        outs.append(y)
    g = np.ones((4, 4), np.float32)
    gx = np.zeros_like(x)
    for s in reversed(outs):
        g = g * s * (1 - s)   # through the sigmoid
        gx += g               # the + x
        g = g * 0.5           # through the * 0.5
    return (time.perf_counter() - start) / (n_links * OPS_PER_LINK)


def graph_bytes_per_node(n):
    x = tl.Tensor(1.0, requires_grad=True)
    gc.collect()
    tracemalloc.start()
    y = x
    for _ in range(n):
        y = y * 1.0000001
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del y
    return current / n


def _torch_chains():
    """Runs in a child process (see ``others``)."""
    import torch
    return _chains(lambda a: torch.tensor(a, requires_grad=True), torch.sigmoid, torch.ones)


def _mygrad_chains():
    import mygrad as mg
    from mygrad.nnet.activations import sigmoid
    return _chains(mg.Tensor, sigmoid, lambda shape: np.ones(shape, np.float32))


def _hips_autograd_chains(n_links=1000, n_long=100_000, repeats=3):
    """HIPS autograd records while the function runs: make_vjp is the build, vjp the backward."""
    import autograd.numpy as anp
    from autograd import make_vjp

    def links(x):
        y = x
        for _ in range(n_links):
            y = 1 / (1 + anp.exp(-(y * 0.5 + x)))
        return y

    def scalars(x):
        y = x
        for _ in range(n_long):
            y = y * 1.0000001
        return y

    def small():
        x = np.random.default_rng(0).random((4, 4), dtype=np.float32)
        start = time.perf_counter()
        vjp, _ = make_vjp(links)(x)
        vjp(np.ones((4, 4), np.float32))
        # sigmoid is four ops here (neg, exp, add, divide) but counts as one, as elsewhere
        return (time.perf_counter() - start) / (n_links * OPS_PER_LINK)

    def long():
        return _time_long_chain(lambda: make_vjp(scalars)(1.0)[0], lambda vjp: vjp(1.0))

    return _medians(small, long, repeats)


def _record(small_us, long_chain):
    return {"small_op_us": small_us,
            **{f"chain_100k_{key}": value for key, value in long_chain.items()}}


def others():
    """{framework: {"small_op_us", "chain_100k_build_s", "chain_100k_backward_s",
    "chain_100k_gc_s", "chain_100k_full_collections"}} for the installed ones."""
    found = {}
    runs = (("pytorch", "torch", lambda: in_child("chain", "_torch_chains")),
            ("mygrad", "mygrad", _mygrad_chains),
            ("hips-autograd", "autograd", _hips_autograd_chains))
    for name, module, fn in runs:
        if installed(module):
            found[name] = _record(*fn())
    return found


def run(repeats=5):
    small_us, long_chain = _chains(lambda a: tl.Tensor(a, requires_grad=True),
                                   lambda t: t.sigmoid(),
                                   lambda shape: np.ones(shape, np.float32), repeats=repeats)
    numpy_ = statistics.median(small_chain_numpy() for _ in range(repeats))
    return {
        **_record(small_us, long_chain), "numpy_small_op_us": numpy_ * 1e6,
        "bytes_per_node_10k": graph_bytes_per_node(10_000),
        "bytes_per_node_100k": graph_bytes_per_node(100_000),
        "others": others(),
    }


def main():
    r = run()
    print(f"4×4 elementwise op, forward+backward: tinygrad-lab {r['small_op_us']:.2f} µs/op, "
          f"hand-written NumPy {r['numpy_small_op_us']:.2f} µs/op "
          f"(overhead {r['small_op_us'] - r['numpy_small_op_us']:.2f} µs/op)")
    print(f"100,000-op chain: {_long_chain_text(r)}")
    print(f"graph memory per node: {r['bytes_per_node_10k']:.0f} B at 10k nodes, "
          f"{r['bytes_per_node_100k']:.0f} B at 100k nodes (equal = linear)")
    for name, o in r["others"].items():
        print(f"  {name:<14} 4×4 op {o['small_op_us']:.2f} µs/op "
              f"({o['small_op_us'] / r['numpy_small_op_us']:.1f}x NumPy); 100k chain "
              f"{_long_chain_text(o)}")
    write_record("chain", r)


def _long_chain_text(r):
    build, back = r["chain_100k_build_s"], r["chain_100k_backward_s"]
    return (f"build {build:.3f} s (in the garbage collector {r['chain_100k_gc_s']:.3f} s, "
            f"{r['chain_100k_full_collections']:.0f} full collections) + backward "
            f"{back:.3f} s = {build + back:.3f} s")


if __name__ == "__main__":
    main()
