"""The bookkeeping in the assignment MLP step: what it costs, and what it costs with cold caches.

    python bench/overhead.py       # prints medians in µs, tinygrad-lab and hand-written NumPy

The step of bench/mlp.py (forward, backward, SGD update) runs on widths 8-8-8-8 with one
sample. Its arrays are so small that nearly all of its time is bookkeeping: Python, and
NumPy's own work per call. Each step is timed twice:

* cold: right after 3.2 MB are copied through memory. The N=64 step moves as much every
  step (its first weight matrix and that matrix's gradient are 0.8 MB each, the update
  makes a third), more than this machine's 2 MB of L2 cache per core, so the interpreter's
  code and data have been pushed out of the caches when the next Python line runs;
* warm: at once after that, with everything cached.

Why it matters: at N=64 the matrix products take the same time inside both steps, so what
tinygrad-lab's step loses to NumPy's there is this bookkeeping, and it is paid cold. How
much it costs in the N=64 step also depends on what else the machine is doing and on how
many threads BLAS uses: on 2026-11-27 this printed 73-97 us over 22 runs, and in the eight
runs of bench/mlp.py (six of them inside bench/run.py) that timed each step over fifteen heap
layouts, the N=64 difference there was 66-102 us with two BLAS threads and 97-115 us with one
(the README's performance section has the runs).
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import write_record  # noqa: E402
from bench.mlp import make_data, numpy_step_factory, tinygrad_step_factory  # noqa: E402

WIDTHS = (8, 8, 8, 8)
STREAM_BYTES = 3_200_000


def run(rounds=3000):
    """({framework: {"cold", "warm"}}, {"cold", "warm"}): µs per step, and tinygrad-lab's
    excess over NumPy; medians over ``rounds``."""
    X, T, Ws = make_data(1, sizes=WIDTHS)
    steps = {"numpy": numpy_step_factory(X, T, Ws), "tinygrad-lab": tinygrad_step_factory(X, T, Ws)}
    source = np.ones(STREAM_BYTES // 8)
    target = np.empty_like(source)
    samples = {name: {"cold": [], "warm": []} for name in steps}
    clock = time.perf_counter
    for r in range(rounds):
        for name in (steps if r % 2 == 0 else list(steps)[::-1]):
            step = steps[name]
            np.copyto(target, source)  # push the caches' contents out
            start = clock()
            step()
            middle = clock()
            step()
            end = clock()
            samples[name]["cold"].append(middle - start)
            samples[name]["warm"].append(end - middle)
    result = {name: {kind: statistics.median(s) * 1e6 for kind, s in kinds.items()}
              for name, kinds in samples.items()}
    ours, numpy = result["tinygrad-lab"], result["numpy"]
    excess = {kind: ours[kind] - numpy[kind] for kind in ("cold", "warm")}
    return result, excess


def main():
    result, excess = run()
    print(f"the assignment step's bookkeeping: widths {'-'.join(map(str, WIDTHS))}, one sample, "
          f"µs per step (median), cold = after {STREAM_BYTES / 1e6:.1f} MB went through memory")
    for name, r in result.items():
        print(f"  {name:<13} cold {r['cold']:6.1f}   warm {r['warm']:6.1f}")
    print(f"  tinygrad-lab - numpy: cold {excess['cold']:.1f}, warm {excess['warm']:.1f}")
    write_record("overhead", {"widths": WIDTHS, "stream_bytes": STREAM_BYTES,
                              "us": result, "excess_us": excess})


if __name__ == "__main__":
    main()
