"""Training quality and speed: the issue's three bars, measured in one run.

    python bench/train.py                  # all three (about a minute and a half)
    python bench/train.py digits speed     # just some of them

1. digits, the `tinygrad-lab train` defaults, seeds 0..4: test accuracy and wall time
   (median; the bar: >= 97% in < 10 s).
2. Fashion-MNIST from Debian's IDX files, the 784-256-128-10 net with the recipe
   `tinygrad-lab train --dataset fashion-mnist --epochs 10 --batch-size 128` (relu, He
   init, Adam 1e-3, cosine, cross-entropy): test accuracy and wall time (bar: >= 88% in
   < 2 minutes).
3. Speed: the same net and batch size, one `fit` step of AssignmentMLP (loader, forward,
   backward, SGD, history) against the assignment's hand-written NumPy step
   (models.handwritten, column-major) on the same batches, interleaved in the same process:
   the median ratio (bar: within 1.25x), with NumPy's default BLAS threads and with one.

Prints the figures (no asserts) and writes bench/results/train.json; ``run()`` returns them.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import write_record  # noqa: E402
from models import AssignmentMLP, handwritten  # noqa: E402
from tinygrad_lab import data as tl_data  # noqa: E402
from tinygrad_lab import optim  # noqa: E402
from tinygrad_lab.cli.experiment import RunConfig, load_data  # noqa: E402
from tinygrad_lab.cli.experiment import run as run_experiment  # noqa: E402
from tinygrad_lab.train import fit  # noqa: E402

SIZES = (784, 256, 128, 10)
BATCH = 128
FASHION = dict(dataset="fashion-mnist", hidden=(256, 128), activation="relu", init="he",
               optimizer="adam", lr=1e-3, loss="ce", schedule="cosine", epochs=10,
               batch_size=BATCH)


def timed_run(config: RunConfig, data=None) -> dict:
    """One `tinygrad-lab train` run (data loading, training, test evaluation), timed."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        _, _, summary = run_experiment(config, out, progress=False, data=data)
    return {"seed": config.seed, "test_accuracy": summary["test_accuracy"],
            "train_seconds": summary["train_seconds"],
            "wall_seconds": round(time.perf_counter() - start, 3),
            "iterations": summary["iterations"]}


def digits(seeds=range(5)) -> dict:
    runs = [timed_run(RunConfig(seed=s)) for s in seeds]
    acc = statistics.median(r["test_accuracy"] for r in runs)
    wall = statistics.median(r["wall_seconds"] for r in runs)
    return {"config": RunConfig().to_dict(), "runs": runs, "median_test_accuracy": acc,
            "median_wall_seconds": wall, "min_test_accuracy": min(r["test_accuracy"] for r in runs),
            "meets_bar": acc >= 0.97 and wall < 10}


def fashion(seeds=(0,), **changes) -> dict:
    config = RunConfig(**{**FASHION, **changes})
    runs = []
    for s in seeds:
        c = config.replace(seed=s)
        start = time.perf_counter()
        loaded = load_data(c)             # reading the IDX files counts in the wall time
        load_seconds = time.perf_counter() - start
        r = timed_run(c, data=loaded)
        r["wall_seconds"] = round(r["wall_seconds"] + load_seconds, 3)
        runs.append(r)
    acc = statistics.median(r["test_accuracy"] for r in runs)
    wall = statistics.median(r["wall_seconds"] for r in runs)
    return {"config": config.to_dict(), "runs": runs, "median_test_accuracy": acc,
            "median_wall_seconds": wall, "meets_bar": acc >= 0.88 and wall < 120}


def speed(n_steps=20, repeats=15, seed=0, blas_threads=None) -> dict:
    """Seconds per training step: tinygrad-lab's fit vs the hand-written NumPy, same batches.

    ``blas_threads``: limit NumPy's BLAS to this many threads (None: its default). On a
    busy machine one thread gives far steadier figures than two threads fighting others.
    """
    from threadpoolctl import threadpool_limits   # installed with scikit-learn
    with threadpool_limits(limits=blas_threads, user_api="blas"):
        result = _speed(n_steps, repeats, seed)
    return {"blas_threads": blas_threads or "default", **result}


def _speed(n_steps, repeats, seed):
    train = tl_data.load_fashion_mnist().train
    X, y = train.X[:n_steps * BATCH * 2], train.y[:n_steps * BATCH * 2]
    eye = np.eye(SIZES[-1], dtype=np.float32)

    model = AssignmentMLP(SIZES, activation="relu", init="he", output_activation="none",
                          seed=seed)
    # CE is a mean in the library and a sum in the hand-written code: lr·N keeps steps equal.
    lr = 1e-4
    opt = optim.SGD(model.parameters(), lr=lr * BATCH)
    loader = tl_data.DataLoader((X, y), batch_size=BATCH, shuffle=True, seed=seed,
                                drop_last=True)
    Ws = [fc.weight.data.copy() for fc, _ in model.layers()]
    hw_order = tl_data.DataLoader((X, y), batch_size=BATCH, shuffle=True, seed=seed,
                                  drop_last=True)

    def library():
        fit(model, opt, loader, loss="ce", iterations=n_steps, progress=False)

    def by_hand():
        nonlocal Ws
        done = 0
        while done < n_steps:
            order = hw_order.epoch_order(done // len(hw_order))
            for b in range(len(hw_order)):
                idx = order[b * BATCH:(b + 1) * BATCH]
                xb, tb = X[idx].T, eye[y[idx]].T      # the assignment's 784×N and 10×N
                *Ws, _ = handwritten.train_step(xb, tb, *Ws, lr=lr, activation="relu",
                                                output="softmax")
                done += 1
                if done == n_steps:
                    break

    library(), by_hand()                       # warm up (BLAS threads, caches)
    samples = {"tinygrad_lab": [], "handwritten": []}
    for _ in range(repeats):                   # interleaved, so machine noise hits both
        for name, fn in (("tinygrad_lab", library), ("handwritten", by_hand)):
            start = time.perf_counter()
            fn()
            samples[name].append((time.perf_counter() - start) / n_steps)
    ratios = [a / b for a, b in zip(samples["tinygrad_lab"], samples["handwritten"])]
    ratio = statistics.median(ratios)
    return {"sizes": SIZES, "batch_size": BATCH, "steps_per_sample": n_steps,
            "repeats": repeats,
            "tinygrad_lab_ms_per_step": 1e3 * statistics.median(samples["tinygrad_lab"]),
            "handwritten_ms_per_step": 1e3 * statistics.median(samples["handwritten"]),
            "median_ratio": ratio, "ratios": ratios, "meets_bar": ratio <= 1.25}


PARTS = {"digits": digits, "fashion": fashion, "speed": speed,
         "speed1": lambda: speed(blas_threads=1)}


def run(parts=tuple(PARTS)) -> dict:
    return {name: PARTS[name]() for name in parts}


def report(result: dict):
    if "digits" in result:
        d = result["digits"]
        print("digits, `tinygrad-lab train` defaults (relu 256-128, he, adam 1e-3, cosine, "
              f"{d['config']['epochs']} epochs, batch {d['config']['batch_size']}):")
        for r in d["runs"]:
            print(f"  seed {r['seed']}: test accuracy {r['test_accuracy']:.2%}   wall "
                  f"{r['wall_seconds']:.2f} s (training {r['train_seconds']:.2f} s)")
        print(f"  median: {d['median_test_accuracy']:.2%} in {d['median_wall_seconds']:.2f} s  "
              f"(bar >= 97% in < 10 s: {'met' if d['meets_bar'] else 'NOT met'})")
    if "fashion" in result:
        f = result["fashion"]
        c = f["config"]
        print(f"Fashion-MNIST (Debian IDX files), {SIZES}, {c['activation']}, {c['init']} init, "
              f"{c['optimizer']} {c['lr']:g}, {c['schedule']}, batch {c['batch_size']}, "
              f"{c['epochs']} epochs:")
        for r in f["runs"]:
            print(f"  seed {r['seed']}: test accuracy {r['test_accuracy']:.2%}   wall "
                  f"{r['wall_seconds']:.1f} s (training {r['train_seconds']:.1f} s, "
                  f"{r['iterations']} steps)")
        print(f"  median: {f['median_test_accuracy']:.2%} in {f['median_wall_seconds']:.1f} s  "
              f"(bar >= 88% in < 120 s: {'met' if f['meets_bar'] else 'NOT met'})")
    for part in ("speed", "speed1"):
        if part not in result:
            continue
        s = result[part]
        print(f"training step, {SIZES} relu + softmax CE, SGD, batch {s['batch_size']}, "
              f"BLAS threads: {s['blas_threads']} "
              f"(median of {s['repeats']} rounds of {s['steps_per_sample']} steps):")
        print(f"  tinygrad-lab fit  {s['tinygrad_lab_ms_per_step']:.2f} ms/step")
        print(f"  hand-written      {s['handwritten_ms_per_step']:.2f} ms/step")
        # Three decimals: at two, 1.2508 prints as "1.25x" beside "NOT met".
        print(f"  ratio {s['median_ratio']:.3f}x  (rounds {min(s['ratios']):.2f}.."
              f"{max(s['ratios']):.2f}; bar <= 1.25x: "
              f"{'met' if s['meets_bar'] else 'NOT met'})")


def main(parts=None):
    parts = tuple(parts or PARTS)
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        raise SystemExit(f"bench/train.py: unknown part(s) {unknown}; choose from {list(PARTS)}")
    result = run(parts)
    report(result)
    if set(parts) == set(PARTS):
        print(f"wrote {write_record('train', result)}")
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
