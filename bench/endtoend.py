"""End to end: 10 epochs of the Fashion-MNIST recipe in tinygrad-lab and in PyTorch.

    python bench/endtoend.py               # three turns (what bench/run.py does)
    python bench/endtoend.py --repeats 7   # more turns, for tighter figures

The recipe (issue 7): 784-256-128-10 with ReLU, He init, Adam lr 1e-3 with a cosine
schedule, batch 128, softmax cross-entropy, 10 epochs, on the same training split of
Debian's Fashion-MNIST files. PyTorch (when installed) trains in a child process, one after
the other, so neither framework's threads compete with the other's.

Each framework runs the recipe two ways, so that each figure has a like-for-like partner
(three times each unless ``--repeats`` says otherwise, taking turns; the figures are
medians):

* "bare": the shortest loop (forward, backward, step, schedule), nothing else, written
  with each framework's own API (tinygrad-lab's is the same model, optimizer and schedule
  objects that ``fit`` uses);
* tinygrad-lab's "fit" is ``tinygrad-lab train`` itself; PyTorch's "same work" is its loop
  plus what ``fit`` does besides the math, written the usual PyTorch way: the loss and
  accuracy of every step kept, every weight checked for NaN/inf after every step, the
  validation split evaluated and a checkpoint written at the end of every epoch.

Beside them, the recipe hand-written in NumPy (the "bare" loop's arithmetic, no library):
the floor any NumPy-based library is measured against, so the figures also say how much of
a gap to PyTorch is NumPy's own.
"""
from __future__ import annotations

import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.common import in_child, installed, write_record  # noqa: E402
from bench.train import FASHION  # noqa: E402
from tinygrad_lab.cli.experiment import (  # noqa: E402
    RunConfig, build_model, build_optimizer, build_schedule, load_data)

EPOCHS = FASHION["epochs"]
BATCH = FASHION["batch_size"]


def tinygrad_lab_run(config, data):
    """``tinygrad-lab train`` on the recipe: ``fit`` with all its bookkeeping."""
    from bench.train import timed_run
    result = timed_run(config, data=data)
    return {"test_accuracy": result["test_accuracy"], "train_seconds": result["train_seconds"]}


def _batches(n, seed):
    """The recipe's mini-batches of range(n): EPOCHS reshuffles by ``seed``, BATCH at a time."""
    rng = np.random.default_rng(seed)
    for _ in range(EPOCHS):
        order = rng.permutation(n)
        for i in range(_steps_per_epoch(n)):
            yield order[i * BATCH:(i + 1) * BATCH]


def _steps_per_epoch(n):
    return -(-n // BATCH)


def tinygrad_lab_bare_run(config, data):
    """The recipe as the shortest tinygrad-lab loop, step for step PyTorch's bare loop."""
    import tinygrad_lab as tl
    train, _, test = data
    model = build_model(config, train.X.shape[1], 10)
    opt = build_optimizer(config, model)
    total = EPOCHS * _steps_per_epoch(len(train.y))
    sched = tl.schedules.Scheduler(opt, build_schedule(config, total))
    start = time.perf_counter()
    for idx in _batches(len(train.y), config.seed):
        opt.zero_grad()
        loss = tl.cross_entropy(model(train.X[idx]), train.y[idx])
        loss.backward()
        opt.step()
        sched.step()
    seconds = time.perf_counter() - start
    with tl.no_grad():
        predicted = model(test.X).data.argmax(1)
    return {"test_accuracy": float(np.mean(predicted == test.y)), "train_seconds": seconds}


def numpy_bare_run(config, data):
    """The recipe written by hand in NumPy, as a careful learner would: the floor for a
    library built on NumPy. The same start (the tinygrad-lab model's initial weights), the
    same batches, Adam's and the cosine schedule's textbook formulas."""
    train, _, test = data
    model = build_model(config, train.X.shape[1], 10)
    params = [p.data.copy() for fc, _ in model.layers() for p in (fc.weight, fc.bias)]
    ms = [np.zeros_like(p) for p in params]
    vs = [np.zeros_like(p) for p in params]
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    total = EPOCHS * _steps_per_epoch(len(train.y))
    t = 0
    start = time.perf_counter()
    for idx in _batches(len(train.y), config.seed):
        x, y = train.X[idx], train.y[idx]
        W1, b1, W2, b2, W3, b3 = params
        h1 = x @ W1.T + b1
        a1 = np.maximum(h1, 0)
        h2 = a1 @ W2.T + b2
        a2 = np.maximum(h2, 0)
        z = a2 @ W3.T + b3
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        p[np.arange(len(y)), y] -= 1       # softmax − one-hot: d(mean CE)/dz, times N
        p /= len(y)
        d2 = (p @ W3) * (h2 > 0)
        d1 = (d2 @ W2) * (h1 > 0)
        grads = [d1.T @ x, d1.sum(0), d2.T @ a1, d2.sum(0), p.T @ a2, p.sum(0)]
        lr = config.lr * (1 + math.cos(math.pi * t / total)) / 2
        t += 1
        for w, g, m, v in zip(params, grads, ms, vs):
            m *= beta1
            m += (1 - beta1) * g
            v *= beta2
            v += (1 - beta2) * g * g
            w -= lr / (1 - beta1 ** t) * m / (np.sqrt(v / (1 - beta2 ** t)) + eps)
    seconds = time.perf_counter() - start
    W1, b1, W2, b2, W3, b3 = params
    scores = np.maximum(np.maximum(test.X @ W1.T + b1, 0) @ W2.T + b2, 0) @ W3.T + b3
    return {"test_accuracy": float(np.mean(scores.argmax(1) == test.y)),
            "train_seconds": seconds}


def pytorch_run(seed=0, same_work=False):
    """The same recipe in PyTorch (runs inside the child process); see the module docstring."""
    import tempfile

    import torch
    torch.manual_seed(seed)
    train, val, test = load_data(RunConfig(**{**FASHION, "seed": seed}))
    X, y = torch.tensor(train.X), torch.tensor(train.y)
    Xv, yv = torch.tensor(val.X), torch.tensor(val.y)
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 128), torch.nn.ReLU(),
                                torch.nn.Linear(128, 10))
    for layer in model:
        if isinstance(layer, torch.nn.Linear):
            torch.nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            torch.nn.init.zeros_(layer.bias)
    steps_per_epoch = _steps_per_epoch(len(y))
    opt = torch.optim.Adam(model.parameters(), lr=FASHION["lr"])
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=EPOCHS * steps_per_epoch)
    generator = torch.Generator().manual_seed(seed)
    losses, accuracies, val_accuracies = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        for _ in range(EPOCHS):
            order = torch.randperm(len(y), generator=generator)
            for i in range(steps_per_epoch):
                idx = order[i * BATCH:(i + 1) * BATCH]
                opt.zero_grad()
                out = model(X[idx])
                loss = torch.nn.functional.cross_entropy(out, y[idx])
                loss.backward()
                opt.step()
                sched.step()
                if same_work:
                    losses.append(loss.item())
                    accuracies.append((out.argmax(1) == y[idx]).float().mean().item())
                    if not all(torch.isfinite(p).all() for p in model.parameters()):
                        raise FloatingPointError("a weight went NaN/inf")
            if same_work:
                with torch.no_grad():
                    val_accuracies.append((model(Xv).argmax(1) == yv).float().mean().item())
                torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                            "losses": losses}, f"{tmp}/checkpoint.pt")
        seconds = time.perf_counter() - start
    with torch.no_grad():
        predicted = model(torch.tensor(test.X)).argmax(1).numpy()
    return {"test_accuracy": float(np.mean(predicted == test.y)), "train_seconds": seconds}


# Like-for-like pairs: (tinygrad-lab's run, PyTorch's run) that do the same work.
PAIRS = (("tinygrad-lab bare", "pytorch bare"), ("tinygrad-lab fit", "pytorch same work"),
         ("tinygrad-lab bare", "hand-written numpy"), ("hand-written numpy", "pytorch bare"))


def run(seed=0, repeats=3):
    """Every run ``repeats`` times, taking turns; the median time of each.

    A single 10-epoch run of either framework moves by about 10% from one run to the
    next on this shared machine, which is as much as the difference being measured.
    """
    config = RunConfig(**{**FASHION, "seed": seed})
    data = load_data(config)  # read once for the NumPy and tinygrad-lab runs
    runs = {"hand-written numpy": lambda: numpy_bare_run(config, data),
            "tinygrad-lab bare": lambda: tinygrad_lab_bare_run(config, data),
            "tinygrad-lab fit": lambda: tinygrad_lab_run(config, data)}
    if installed("torch"):
        for name, same_work in (("pytorch bare", False), ("pytorch same work", True)):
            runs[name] = (lambda same_work=same_work:
                          in_child("endtoend", "pytorch_run", seed, same_work=same_work))
    done = {name: [] for name in runs}
    for _ in range(repeats):
        for name, fn in runs.items():
            done[name].append(fn())
    return {name: {"test_accuracy": statistics.median(r["test_accuracy"] for r in rs),
                   "train_seconds": statistics.median(r["train_seconds"] for r in rs),
                   "runs": rs}
            for name, rs in done.items()}


def paired_ratios(result, ours, theirs):
    """``ours``' time over ``theirs``' within each turn: runs made minutes apart share the
    machine's mood, so these ratios move less than the two medians do."""
    return [a["train_seconds"] / b["train_seconds"]
            for a, b in zip(result[ours]["runs"], result[theirs]["runs"])]


def main(argv=()):
    """Run the turns and print the figures; ``argv`` as on the command line."""
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3,
                        help="turns of every run (default 3: about 2.5 minutes with PyTorch)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    result = run(repeats=args.repeats)
    print(f"Fashion-MNIST, {EPOCHS} epochs of the recipe (784-256-128-10 relu, He, Adam 1e-3, "
          f"cosine, batch 128), median of {len(next(iter(result.values()))['runs'])} runs each:")
    for name, r in result.items():
        accuracies = sorted({f"{x['test_accuracy']:.2%}" for x in r["runs"]})
        times = ", ".join(f"{x['train_seconds']:.1f}" for x in r["runs"])
        print(f"  {name:<19} test accuracy {' / '.join(accuracies)}   training "
              f"{r['train_seconds']:.1f} s  (runs: {times})")
    paired = {(ours, theirs): paired_ratios(result, ours, theirs)
              for ours, theirs in PAIRS if theirs in result}
    for (ours, theirs), ratios in paired.items():
        print(f"  time ratio {ours} / {theirs}: "
              f"{result[ours]['train_seconds'] / result[theirs]['train_seconds']:.2f}x"
              f"  (turn by turn: median {statistics.median(ratios):.2f}x, "
              f"{min(ratios):.2f}-{max(ratios):.2f}x)")
    write_record("endtoend", {**result, "paired_ratios": {
        f"{ours} / {theirs}": ratios for (ours, theirs), ratios in paired.items()}})


if __name__ == "__main__":
    main(sys.argv[1:])
