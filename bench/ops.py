"""Per-op cost of tinygrad-lab beside plain NumPy, in the same run.

    python bench/ops.py       # prints the table, writes bench/results/ops.json

1. Chains of 1,000 small (4×4, float32) elementwise ops, one chain per op kind and one
   mixed: µs per op for tinygrad-lab forward + backward, beside NumPy doing the forward
   alone and NumPy doing the forward plus a hand-written backward. The difference to the
   latter is the library's overhead per op (issue 2's target: under 10 µs).
2. One (64×784)·(784×256) matmul layer + sigmoid, forward + backward, beside the same
   in NumPy (forward alone, and forward + hand-written backward; target: under 1.2×).

Every figure is a median over interleaved repeats (time.perf_counter), so noise on this
2-core machine hits all contenders alike; compare figures from the same run only.
``run()`` returns the figures as a dict. No asserts: this measures, it does not judge.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import tinygrad_lab as tl  # noqa: E402
from bench.common import interleaved_medians, write_record  # noqa: E402

CHAIN_LENGTH = 1000
LAYER = (64, 784, 256)


def _np_sigmoid(z):
    return 1 / (1 + np.exp(-z))


# --- 1. chains of small elementwise ops ----------------------------------------------------------
# Each kind: (tinygrad-lab step, NumPy forward step, NumPy backward step given the step's input
# x, output y and the upstream gradient g). Factors keep the values in a tame range.
CHAINS = {
    "mul": (lambda t: t * 1.001, lambda a: a * 1.001, lambda x, y, g: g * 1.001),
    "add": (lambda t: t + 0.001, lambda a: a + 0.001, lambda x, y, g: g),
    "sigmoid": (lambda t: t.sigmoid(), _np_sigmoid, lambda x, y, g: g * y * (1 - y)),
    "tanh": (lambda t: t.tanh(), np.tanh, lambda x, y, g: g * (1 - y * y)),
}
MIXED = ("mul", "add", "sigmoid")  # the pattern y ← σ(y·c + b), repeated


def _chain_tl(steps, x0, length):
    def run():
        x = tl.Tensor(x0, requires_grad=True)
        y = x
        for i in range(length):
            y = steps[i % len(steps)](y)
        y.backward(np.ones_like(x0))
        return x.grad
    return run


def _chain_tl_forward(steps, x0, length):
    def run():
        y = tl.Tensor(x0, requires_grad=True)
        for i in range(length):
            y = steps[i % len(steps)](y)
        return y
    return run


def _chain_np_forward(fwds, x0, length):
    def run():
        y = x0
        for i in range(length):
            y = fwds[i % len(fwds)](y)
        return y
    return run


def _chain_np_forward_backward(fwds, bwds, x0, length):
    """What a learner writes: keep every intermediate, then walk back with the chain rule."""
    def run():
        saved, y = [], x0
        for i in range(length):
            out = fwds[i % len(fwds)](y)
            saved.append((y, out))
            y = out
        g = np.ones_like(x0)
        for i in range(length - 1, -1, -1):
            x, out = saved[i]
            g = bwds[i % len(bwds)](x, out, g)
        return g
    return run


def bench_chains(length=CHAIN_LENGTH, repeats=9):
    x0 = np.random.default_rng(0).uniform(-1, 1, (4, 4)).astype(np.float32)
    kinds = {name: [name] for name in ("mul", "add", "sigmoid", "tanh")}
    kinds["mixed mul/add/sigmoid"] = list(MIXED)
    results = {}
    for label, names in kinds.items():
        tl_steps = [CHAINS[n][0] for n in names]
        fwds = [CHAINS[n][1] for n in names]
        bwds = [CHAINS[n][2] for n in names]
        medians = interleaved_medians({
            "tl_fwd_bwd": _chain_tl(tl_steps, x0, length),
            "tl_fwd": _chain_tl_forward(tl_steps, x0, length),
            "np_fwd": _chain_np_forward(fwds, x0, length),
            "np_fwd_bwd": _chain_np_forward_backward(fwds, bwds, x0, length),
        }, repeats=repeats)
        us = {k: v / length * 1e6 for k, v in medians.items()}
        results[label] = {
            **{f"{k}_us_per_op": round(v, 3) for k, v in us.items()},
            "overhead_us_per_op": round(us["tl_fwd_bwd"] - us["np_fwd_bwd"], 3),
            "ratio_vs_np_fwd": round(us["tl_fwd_bwd"] / us["np_fwd"], 2),
            "ratio_vs_np_fwd_bwd": round(us["tl_fwd_bwd"] / us["np_fwd_bwd"], 2),
        }
    return results


# --- 2. one matmul layer + sigmoid ---------------------------------------------------------------
def bench_layer(shape=LAYER, repeats=15, number=5):
    n, d_in, d_out = shape
    rng = np.random.default_rng(0)
    X = rng.random((n, d_in), dtype=np.float32)
    W = (rng.standard_normal((d_in, d_out)) / np.sqrt(d_in)).astype(np.float32)
    G = np.ones((n, d_out), np.float32)
    w = tl.Tensor(W, requires_grad=True)
    x_const, x_var = tl.Tensor(X), tl.Tensor(X, requires_grad=True)

    def tl_layer(x):
        def run():
            w.grad = None
            if x.requires_grad:
                x.grad = None
            (x @ w).sigmoid().backward(G)
            return w.grad
        return run

    def np_forward():
        return _np_sigmoid(X @ W)

    def np_forward_backward(need_dx):
        def run():
            s = _np_sigmoid(X @ W)
            delta = G * s * (1 - s)
            dW = X.T @ delta
            dX = delta @ W.T if need_dx else None
            return dW, dX
        return run

    medians = interleaved_medians({
        "tl_fwd_bwd": tl_layer(x_const), "tl_fwd_bwd_with_dx": tl_layer(x_var),
        "np_fwd": np_forward, "np_fwd_bwd": np_forward_backward(False),
        "np_fwd_bwd_with_dx": np_forward_backward(True),
    }, repeats=repeats, number=number)
    us = {k: v * 1e6 for k, v in medians.items()}
    return {
        **{f"{k}_us": round(v, 1) for k, v in us.items()},
        "ratio_vs_np_fwd": round(us["tl_fwd_bwd"] / us["np_fwd"], 2),
        "ratio_vs_np_fwd_bwd": round(us["tl_fwd_bwd"] / us["np_fwd_bwd"], 2),
        "ratio_with_dx_vs_np_fwd_bwd_with_dx": round(
            us["tl_fwd_bwd_with_dx"] / us["np_fwd_bwd_with_dx"], 2),
    }


def _with_blas_threads(n, fn):
    """Run ``fn`` with BLAS limited to ``n`` threads (None: leave NumPy's default)."""
    if n is None:
        return fn()
    from threadpoolctl import threadpool_limits  # installed with scikit-learn
    with threadpool_limits(limits=n, user_api="blas"):
        return fn()


def run(length=CHAIN_LENGTH, repeats=15) -> dict:
    """All figures as a dict (µs; ratios are tinygrad-lab / NumPy).

    The layer is timed twice: with NumPy's default BLAS threads, and with one BLAS
    thread. When other work shares this 2-core machine, a multi-threaded matmul can
    stall for milliseconds (one BLAS thread waits for its descheduled partner), so
    the single-thread figures are the steady ones to compare.
    """
    return {
        "chain_length": length,
        "chains_4x4_float32": bench_chains(length, repeats),
        "matmul_layer_64x784x256_sigmoid": {
            f"blas_threads_{n or 'default'}": _with_blas_threads(n, lambda: bench_layer(
                repeats=max(repeats, 9))) for n in (None, 1)},
    }


def main():
    result = run()
    print(f"Chains of {result['chain_length']} ops on 4×4 float32, µs per op (median):")
    print(f"  {'chain':<24}{'tl fwd+bwd':>11}{'tl fwd':>8}{'np fwd':>8}{'np fwd+bwd':>11}"
          f"{'overhead':>10}{'÷np fwd':>9}{'÷np f+b':>9}")
    for label, r in result["chains_4x4_float32"].items():
        print(f"  {label:<24}{r['tl_fwd_bwd_us_per_op']:>11.2f}{r['tl_fwd_us_per_op']:>8.2f}"
              f"{r['np_fwd_us_per_op']:>8.2f}{r['np_fwd_bwd_us_per_op']:>11.2f}"
              f"{r['overhead_us_per_op']:>10.2f}{r['ratio_vs_np_fwd']:>8.1f}×"
              f"{r['ratio_vs_np_fwd_bwd']:>8.1f}×")
    print("Layer sigmoid((64×784)·(784×256)), float32, µs (median):")
    for threads, r in result["matmul_layer_64x784x256_sigmoid"].items():
        print(f"  {threads}:")
        print(f"    tinygrad-lab fwd+bwd (dW)      {r['tl_fwd_bwd_us']:>8.1f}   "
              f"÷ NumPy fwd {r['np_fwd_us']:.1f} = {r['ratio_vs_np_fwd']:.2f}×   "
              f"÷ NumPy fwd+bwd {r['np_fwd_bwd_us']:.1f} = {r['ratio_vs_np_fwd_bwd']:.2f}×")
        print(f"    tinygrad-lab fwd+bwd (dW, dX)  {r['tl_fwd_bwd_with_dx_us']:>8.1f}   "
              f"÷ NumPy fwd+bwd {r['np_fwd_bwd_with_dx_us']:.1f} = "
              f"{r['ratio_with_dx_vs_np_fwd_bwd_with_dx']:.2f}×")
    print(f"wrote {write_record('ops', result)}")


if __name__ == "__main__":
    main()
