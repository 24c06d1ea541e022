"""End to end: 10 epochs of the Fashion-MNIST recipe in tinygrad-lab and in PyTorch.

    python bench/endtoend.py

The recipe (issue 7): 784-256-128-10 with ReLU, He init, Adam lr 1e-3 with a cosine
schedule, batch 128, softmax cross-entropy, 10 epochs, on the same training split of
Debian's Fashion-MNIST files. PyTorch (when installed) trains in a child process, one after
the other, so neither framework's threads compete with the other's.

Each framework runs the recipe two ways, so that each figure has a like-for-like partner:

* "bare": the shortest loop (forward, backward, step, schedule), nothing else, written
  with each framework's own API (tinygrad-lab's is the same model, optimizer and schedule
  objects that ``fit`` uses);
* tinygrad-lab's "fit" is ``tinygrad-lab train`` itself; PyTorch's "same work" is its loop
  plus what ``fit`` does besides the math, written the usual PyTorch way: the loss and
  accuracy of every step kept, every weight checked for NaN/inf after every step, the
  validation split evaluated and a checkpoint written at the end of every epoch.
"""
from __future__ import annotations

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


def tinygrad_lab_bare_run(config, data):
    """The recipe as the shortest tinygrad-lab loop, step for step PyTorch's bare loop."""
    import tinygrad_lab as tl
    train, _, test = data
    model = build_model(config, train.X.shape[1], 10)
    opt = build_optimizer(config, model)
    steps_per_epoch = -(-len(train.y) // BATCH)
    sched = tl.schedules.Scheduler(opt, build_schedule(config, EPOCHS * steps_per_epoch))
    rng = np.random.default_rng(config.seed)
    start = time.perf_counter()
    for _ in range(EPOCHS):
        order = rng.permutation(len(train.y))
        for i in range(steps_per_epoch):
            idx = order[i * BATCH:(i + 1) * BATCH]
            opt.zero_grad()
            loss = tl.cross_entropy(model(train.X[idx]), train.y[idx])
            loss.backward()
            opt.step()
            sched.step()
    seconds = time.perf_counter() - start
    with tl.no_grad():
        predicted = model(test.X).data.argmax(1)
    return {"test_accuracy": float(np.mean(predicted == test.y)), "train_seconds": seconds}


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
    steps_per_epoch = -(-len(y) // BATCH)
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
PAIRS = (("tinygrad-lab bare", "pytorch bare"), ("tinygrad-lab fit", "pytorch same work"))


def run(seed=0):
    config = RunConfig(**{**FASHION, "seed": seed})
    data = load_data(config)  # read once for both tinygrad-lab runs
    result = {"tinygrad-lab bare": tinygrad_lab_bare_run(config, data),
              "tinygrad-lab fit": tinygrad_lab_run(config, data)}
    if installed("torch"):
        for name, same_work in (("pytorch bare", False), ("pytorch same work", True)):
            result[name] = in_child("endtoend", "pytorch_run", seed, same_work=same_work)
    return result


def main():
    result = run()
    print(f"Fashion-MNIST, {EPOCHS} epochs of the recipe (784-256-128-10 relu, He, Adam 1e-3, "
          f"cosine, batch 128):")
    for name, r in result.items():
        print(f"  {name:<18} test accuracy {r['test_accuracy']:.2%}   training "
              f"{r['train_seconds']:.1f} s")
    for ours, theirs in PAIRS:
        if theirs in result:
            print(f"  time ratio {ours} / {theirs}: "
                  f"{result[ours]['train_seconds'] / result[theirs]['train_seconds']:.2f}x")
    write_record("endtoend", result)


if __name__ == "__main__":
    main()
