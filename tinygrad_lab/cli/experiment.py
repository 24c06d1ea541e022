"""One training run from a config: data → model → fit → a run folder.

The ``train``, ``evaluate``, ``sweep`` and ``assignment`` commands all go through
here, so a config means the same thing everywhere. A run folder holds:

    config.json      the RunConfig
    history.json     the History (per step, per epoch, per evaluation)
    checkpoint.npz   model + optimizer + schedule + data order + history
    summary.json     test/validation accuracy and wall time
    records.npz      (with --record) what the recorder saw, for the pictures
"""
from __future__ import annotations

import dataclasses
import json
import math
import time
import typing
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from .. import data as tl_data
from .. import init as tl_init
from .. import optim
from ..files import write_json
from ..train import evaluate, fit, load_checkpoint

DATASETS = ("digits", "mnist", "fashion-mnist")


@dataclass
class RunConfig:
    """Everything that defines a run. Same config and seed → same history, bit for bit."""

    dataset: str = "digits"
    data_dir: str | None = None      # where the IDX files are (else the cache / Debian's)
    train_limit: int | None = None   # use only the first N training examples (quick runs)
    hidden: tuple = (256, 128)       # hidden widths; input and output sizes come from the data
    activation: str = "relu"         # sigmoid | tanh | relu | relu6 | leaky_relu
    k: float = 1.0                   # steepness of sigmoid(kx) / tanh(kx)
    init: str = "he"                 # uniform | normal | he | xavier ...
    bias: bool = True
    loss: str = "ce"                 # ce | mse | sse (the assignment's ½Σ(y−t)²)
    optimizer: str = "adam"          # sgd | adam | adamw | rmsprop
    lr: float = 1e-3
    momentum: float = 0.0
    weight_decay: float = 0.0
    schedule: str = "cosine"         # constant | cosine | step | exponential
    warmup: int = 0                  # linear warmup steps (cosine)
    epochs: int | None = 40
    iterations: int | None = None    # overrides epochs when given
    batch_size: int | str = 64       # or "full" (the assignment trains full-batch)
    val_fraction: float = 0.1
    eval_every: int | None = None
    seed: int = 0

    def __post_init__(self):
        self.hidden = tuple(int(h) for h in self.hidden)
        if self.dataset not in DATASETS:
            raise ValueError(f"unknown dataset {self.dataset!r}; choose from {', '.join(DATASETS)}")
        if self.batch_size != "full":
            self.batch_size = int(self.batch_size)
            if self.batch_size <= 0:
                raise ValueError(f"batch_size must be positive or 'full', got {self.batch_size}")
        if self.iterations is None and self.epochs is None:
            raise ValueError("give epochs or iterations")
        for name in ("epochs", "iterations", "train_limit", "eval_every"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value}")
        if self.warmup < 0:
            raise ValueError(f"warmup must be >= 0 steps, got {self.warmup}")
        if not 0 < self.k < math.inf:
            raise ValueError(f"k (the steepness of sigmoid(kx)/tanh(kx)) must be a positive "
                             f"number, got {self.k}")
        if not 0 < self.lr < math.inf:
            raise ValueError(f"lr must be a positive number, got {self.lr}")
        tl_init.get(self.init)  # an unknown name fails here, before a run folder is made
        if not 0 < self.val_fraction < 0.5:
            raise ValueError(f"val_fraction must be in (0, 0.5), got {self.val_fraction}")

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["hidden"] = list(self.hidden)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "RunConfig":
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown config fields {sorted(unknown)}; valid fields: "
                             f"{', '.join(sorted(names))}")
        return cls(**d)

    def replace(self, **changes) -> "RunConfig":
        return RunConfig.from_dict({**self.to_dict(), **changes})

    @classmethod
    def parse_value(cls, name: str, text: str):
        """Turn the text of ``--set name=text`` into the field's type."""
        hints = typing.get_type_hints(cls)
        if name not in hints:
            raise ValueError(f"unknown config field {name!r}; valid fields: "
                             f"{', '.join(sorted(hints))}")
        text = text.strip()
        if text.lower() in ("none", "null"):
            return None
        if name == "hidden":
            return tuple(int(h) for h in text.replace("x", "-").split("-") if h)
        if name == "batch_size":
            return "full" if text == "full" else int(text)
        kind = hints[name]
        try:
            if kind in (float, float | None):
                return float(text)
            if kind in (int, int | None):
                return int(float(text)) if float(text).is_integer() else int(text)
            if kind is bool:
                if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError(text)
                return text.lower() in ("true", "1", "yes")
        except ValueError:
            raise ValueError(f"config field {name!r} expects {getattr(kind, '__name__', kind)}, "
                             f"got {text!r}") from None
        return text


def load_data(config: RunConfig):
    """(train, val, test) Datasets for the config; splits are fixed by the config's seed."""
    if config.dataset == "digits":
        full = tl_data.load_digits()
        train, val, test = tl_data.train_val_test_split(full, config.val_fraction, 0.2,
                                                        seed=config.seed)
    else:
        loader = tl_data.load_mnist if config.dataset == "mnist" else tl_data.load_fashion_mnist
        train_test = loader(root=config.data_dir)
        train, val = tl_data.train_val_split(train_test.train, config.val_fraction,
                                             seed=config.seed)
        test = train_test.test
    if config.train_limit:
        train = train.subset(np.arange(min(config.train_limit, len(train))))
    return train, val, test


def build_model(config: RunConfig, n_inputs: int, n_classes: int):
    from models import AssignmentMLP
    return AssignmentMLP(sizes=(n_inputs, *config.hidden, n_classes),
                         activation=config.activation, k=config.k, init=config.init,
                         bias=config.bias,
                         output_activation="none" if config.loss in ("ce", "cross_entropy")
                         else None, seed=config.seed)


def build_optimizer(config: RunConfig, model):
    kwargs = {"lr": config.lr, "weight_decay": config.weight_decay}
    if config.optimizer == "sgd":
        kwargs["momentum"] = config.momentum
    return optim.get_optimizer(config.optimizer, model.parameters(), **kwargs)


def build_schedule(config: RunConfig, total_steps: int):
    from .. import schedules
    if config.schedule == "cosine":
        return schedules.CosineLR(total_steps=total_steps, warmup_steps=config.warmup)
    if config.schedule == "step":
        return schedules.StepLR(step_size=max(total_steps // 3, 1), gamma=0.1)
    if config.schedule == "exponential":
        return schedules.ExponentialLR(gamma=0.01 ** (1 / max(total_steps, 1)))
    return schedules.get_schedule(config.schedule)


def run(config: RunConfig, out_dir, callbacks=(), progress=None, data=None):
    """Train as the config says, write the run folder, return (model, history, summary)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "config.json", config.to_dict())
    train, val, test = data or load_data(config)
    model = build_model(config, int(np.prod(train.X.shape[1:])), train.num_classes)
    optimizer = build_optimizer(config, model)
    loader = tl_data.DataLoader(train, batch_size=config.batch_size, shuffle=True,
                                seed=config.seed)
    total = config.iterations or config.epochs * len(loader)
    start = time.perf_counter()
    history = fit(model, optimizer, loader, val_data=val, loss=config.loss,
                  iterations=total, schedule=build_schedule(config, total), callbacks=callbacks,
                  eval_every=config.eval_every, progress=progress,
                  checkpoint=out / "checkpoint.npz", config=config.to_dict(),
                  # about ten checkpoints a run: full-batch training has an epoch per step
                  checkpoint_every=max(1, -(-total // len(loader)) // 10))
    seconds = time.perf_counter() - start
    history.save(out / "history.json")
    test_loss, test_acc, predicted = evaluate(model, test, config.loss)
    summary = {**history.summary(), "test_loss": test_loss, "test_accuracy": test_acc,
               "train_seconds": round(seconds, 3), "dataset": config.dataset,
               "n_train": len(train), "n_val": len(val), "n_test": len(test)}
    # summary.json last and atomically: its presence means "this run finished" to sweeps.
    write_json(out / "summary.json", summary)
    return model, history, summary


def load_run(run_dir):
    """(config, model with the trained weights, history) of a finished run folder."""
    run_dir = Path(run_dir)
    for name in ("config.json", "checkpoint.npz"):
        if not (run_dir / name).exists():
            raise FileNotFoundError(f"{run_dir} is not a finished run folder: {name} is missing "
                                    f"(make one with `tinygrad-lab train --out {run_dir}`)")
    config = RunConfig.from_dict(json.loads((run_dir / "config.json").read_text()))
    train, _, test = load_data(config)
    model = build_model(config, int(np.prod(train.X.shape[1:])), train.num_classes)
    history = load_checkpoint(run_dir / "checkpoint.npz", model)
    return config, model, history, test
