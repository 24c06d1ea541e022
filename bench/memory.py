"""Memory: the extra memory one training step needs, and whether memory stays flat.

    python bench/memory.py

Measured with tracemalloc (NumPy reports its array buffers to it): the peak above the
memory held before the step, for the assignment's MLP step at N=10000 in tinygrad-lab
and hand-written NumPy (and MyGrad and HIPS autograd when installed: they allocate through
NumPy too), and the memory held after 100 and after 1,000 steps. PyTorch is left out: its
CPU allocator does not report to tracemalloc, and its profiler misses most allocations.
"""
from __future__ import annotations

import gc
import sys
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import write_record  # noqa: E402
from bench.mlp import (  # noqa: E402
    OTHERS, make_data, numpy_step_factory, tinygrad_step_factory)


def step_peak_bytes(step):
    step()  # warm up: the optimizer's state and any caches exist before we measure
    gc.collect()
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak - base


def held_after(step, checkpoints=(100, 1000)):
    tracemalloc.start()
    held = {}
    for i in range(1, max(checkpoints) + 1):
        step()
        if i in checkpoints:
            gc.collect()
            held[i] = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return held


def run(n=10000):
    X, T, Ws = make_data(n)
    numpy_peak = step_peak_bytes(numpy_step_factory(X, T, Ws))
    tiny_peak = step_peak_bytes(tinygrad_step_factory(X, T, Ws))
    Xs, Ts, Ws_small = make_data(64)
    held = held_after(tinygrad_step_factory(Xs, Ts, Ws_small))
    others = {}
    for name, factory in OTHERS.items():
        try:
            others[name] = step_peak_bytes(factory(X, T, Ws)) / 2**20
        except ImportError:
            pass  # not installed: compared only where present
    return {"n": n, "numpy_step_extra_mb": numpy_peak / 2**20,
            "tinygrad_step_extra_mb": tiny_peak / 2**20, "ratio": tiny_peak / numpy_peak,
            "held_after_100_steps_kb": held[100] / 1024,
            "held_after_1000_steps_kb": held[1000] / 1024, "others_step_extra_mb": others}


def main():
    r = run()
    print(f"extra memory for one step at N={r['n']}: tinygrad-lab {r['tinygrad_step_extra_mb']:.1f}"
          f" MB, hand-written NumPy {r['numpy_step_extra_mb']:.1f} MB ({r['ratio']:.2f}x)")
    for name, mb in r["others_step_extra_mb"].items():
        print(f"  {name:<14} {mb:.1f} MB ({mb / r['numpy_step_extra_mb']:.2f}x)")
    print(f"memory held after 100 steps {r['held_after_100_steps_kb']:.0f} kB, after 1,000 steps "
          f"{r['held_after_1000_steps_kb']:.0f} kB (N=64)")
    write_record("memory", r)


if __name__ == "__main__":
    main()
