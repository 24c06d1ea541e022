"""End to end: 10 epochs of the Fashion-MNIST recipe in tinygrad-lab and in PyTorch.

    python bench/endtoend.py

The recipe (issue 7): 784-256-128-10 with ReLU, He init, Adam lr 1e-3 with a cosine
schedule, batch 128, softmax cross-entropy, 10 epochs, on the same training split of
Debian's Fashion-MNIST files. PyTorch (when installed) trains in a child process, one after
the other, so neither framework's threads compete with the other's.
"""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.common import write_record  # noqa: E402
from bench.train import FASHION  # noqa: E402
from tinygrad_lab.cli.experiment import RunConfig, load_data  # noqa: E402

EPOCHS = FASHION["epochs"]


def tinygrad_lab_run(seed=0):
    from bench.train import timed_run
    config = RunConfig(**{**FASHION, "seed": seed})
    result = timed_run(config, data=load_data(config))
    return {"test_accuracy": result["test_accuracy"], "train_seconds": result["train_seconds"]}


def pytorch_run(seed=0):
    """The same recipe in PyTorch (runs inside the child process)."""
    import torch
    torch.manual_seed(seed)
    train, _, test = load_data(RunConfig(**{**FASHION, "seed": seed}))
    X, y = torch.tensor(train.X), torch.tensor(train.y)
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 128), torch.nn.ReLU(),
                                torch.nn.Linear(128, 10))
    for layer in model:
        if isinstance(layer, torch.nn.Linear):
            torch.nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            torch.nn.init.zeros_(layer.bias)
    steps_per_epoch = -(-len(y) // FASHION["batch_size"])
    opt = torch.optim.Adam(model.parameters(), lr=FASHION["lr"])
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=EPOCHS * steps_per_epoch)
    generator = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    for _ in range(EPOCHS):
        order = torch.randperm(len(y), generator=generator)
        for i in range(steps_per_epoch):
            idx = order[i * FASHION["batch_size"]:(i + 1) * FASHION["batch_size"]]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(X[idx]), y[idx]).backward()
            opt.step()
            sched.step()
    seconds = time.perf_counter() - start
    with torch.no_grad():
        predicted = model(torch.tensor(test.X)).argmax(1).numpy()
    return {"test_accuracy": float(np.mean(predicted == test.y)), "train_seconds": seconds}


def run(seed=0):
    result = {"tinygrad-lab": tinygrad_lab_run(seed)}
    if importlib.util.find_spec("torch") is not None:
        code = (f"import json, sys; sys.path.insert(0, {str(ROOT)!r}); "
                f"from bench.endtoend import pytorch_run; print(json.dumps(pytorch_run({seed})))")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True)
        result["pytorch"] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main():
    result = run()
    print(f"Fashion-MNIST, {EPOCHS} epochs of the recipe (784-256-128-10 relu, He, Adam 1e-3, "
          f"cosine, batch 128):")
    for name, r in result.items():
        print(f"  {name:<13} test accuracy {r['test_accuracy']:.2%}   training "
              f"{r['train_seconds']:.1f} s")
    if "pytorch" in result:
        ratio = result["tinygrad-lab"]["train_seconds"] / result["pytorch"]["train_seconds"]
        print(f"  time ratio tinygrad-lab / PyTorch: {ratio:.2f}x")
    write_record("endtoend", result)


if __name__ == "__main__":
    main()
