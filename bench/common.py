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
