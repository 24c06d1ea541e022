"""Shared helpers for the benchmarks: medians over repeats, printing ratios, JSON records."""
from __future__ import annotations

import json
import platform
import statistics
import time
from pathlib import Path


def median_time(fn, repeats=7, number=1, warmup=1):
    """Median seconds per call of ``fn`` over ``repeats`` timings of ``number`` calls each."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - start) / number)
    return statistics.median(samples)


def interleaved_medians(fns: dict, repeats=9, number=1):
    """Time several functions in turn, round after round, so machine noise hits all alike."""
    for fn in fns.values():
        fn()
    samples = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            for _ in range(number):
                fn()
            samples[name].append((time.perf_counter() - start) / number)
    return {name: statistics.median(s) for name, s in samples.items()}


def ratio_interval(samples, reference, level=0.95, resamples=2000, seed=0):
    """A bootstrap interval for median(samples) / median(reference): how far the ratio could
    move with other processes of the same kind (each sample is one process's median).

    Both lists are resampled with replacement ``resamples`` times and the ratio of medians
    taken each time; the interval holds the middle ``level`` of those ratios. Seeded, so the
    same samples give the same interval.
    """
    import numpy as np
    rng = np.random.default_rng(seed)
    ours, ref = np.asarray(samples, float), np.asarray(reference, float)
    ratios = (np.median(rng.choice(ours, (resamples, ours.size)), axis=1)
              / np.median(rng.choice(ref, (resamples, ref.size)), axis=1))
    tail = (1 - level) / 2
    low, high = np.quantile(ratios, [tail, 1 - tail])
    return float(low), float(high)


def machine() -> dict:
    import numpy as np
    return {"python": platform.python_version(), "numpy": np.__version__,
            "machine": platform.machine(), "processor": platform.processor() or "unknown",
            "date": time.strftime("%Y-%m-%d")}


def write_record(name: str, result: dict, folder="bench/results"):
    path = Path(folder) / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"machine": machine(), **result}, indent=2))
    return path


def installed(module: str) -> bool:
    """True when ``module`` can be imported (the other frameworks are optional)."""
    import importlib.util
    return importlib.util.find_spec(module) is not None


def in_child(module: str, function: str, *args, **kwargs):
    """``bench.<module>.<function>(*args, **kwargs)`` run in a fresh Python process.

    For PyTorch: its thread pool spinning beside OpenBLAS's in one process would measure
    the two pools fighting, not the frameworks. Arguments and the result go through JSON.

    The child's environment has ``KMP_DUPLICATE_LIB_OK`` set whoever launches it.
    threadpoolctl, which the children import, adds that variable when it is missing, so it
    was in the environment of every child of bench/run.py (whose own process had imported
    threadpoolctl) and in none of bench/mlp.py's. That alone changed NumPy's N=64 step:
    0.60 ms with the variable inherited, 0.66 ms without (ten processes each, in turn), ours
    the same either way, so the two scripts printed different ratios for the same code.
    Presumably it moved where the step's arrays land (heap offsets move the step as much);
    we did not pin down how. Since bench/mlp.py gives each round its own heap offset the
    variable no longer matters there (medians 1.105x with it, 1.106x without); it is set
    so that children start alike.
    """
    import os
    import subprocess
    import sys
    root = str(Path(__file__).resolve().parents[1])
    code = (f"import json, sys; sys.path.insert(0, {root!r}); "
            f"from bench.{module} import {function}; "
            f"args, kwargs = json.loads(sys.argv[1]); "
            f"print(json.dumps({function}(*args, **kwargs)))")
    env = {**os.environ, "KMP_DUPLICATE_LIB_OK": os.environ.get("KMP_DUPLICATE_LIB_OK", "True")}
    out = subprocess.run([sys.executable, "-c", code, json.dumps([args, kwargs])],
                         capture_output=True, text=True, check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])
