"""Training: ``fit`` runs the loop, ``History`` records it, callbacks watch it, checkpoints keep it.

    history = fit(model, optim.SGD(model.parameters(), lr=0.1), train, val_data=val,
                  loss="cross_entropy", epochs=10, batch_size=64, seed=0)

The same seed and config give the same history, bit for bit; a run resumed from
a checkpoint continues exactly as if it had never stopped.
"""
from __future__ import annotations

import contextlib
import json
import math
import sys
import zipfile
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import functional as F
from .autograd import no_grad
from .data import DataLoader, Dataset
from .files import atomic_file, write_atomic
from .schedules import Schedule, Scheduler, get_schedule
from .tensor import Tensor

__all__ = ["fit", "evaluate", "predict", "History", "Callback", "Step", "TrainingDiverged",
           "LOSSES", "get_loss", "save_checkpoint", "load_checkpoint"]


# ---------------------------------------------------------------------------
# Losses by name
# ---------------------------------------------------------------------------
def _mse(output, y):
    return F.mse_loss(output, F.one_hot(y, output.shape[-1], dtype=output.dtype))


def _sse(output, y):
    """The assignment's E = ½ Σ (L3 − T)², summed over samples and outputs."""
    diff = output - F.one_hot(y, output.shape[-1], dtype=output.dtype)
    return (diff * diff).sum() * 0.5


LOSSES = {
    "mse": _mse,
    "sse": _sse,
    "cross_entropy": F.cross_entropy,
    "ce": F.cross_entropy,
}


def get_loss(loss):
    """A loss function ``fn(output, class_indices) -> scalar Tensor`` from a name or callable.

    "mse": mean squared error against one-hot targets; "sse": the assignment's
    ½ Σ (y − t)² (so its learning rates carry over); "cross_entropy"/"ce":
    softmax cross-entropy on raw scores.
    """
    if callable(loss):
        return loss
    key = str(loss).strip().lower()
    if key not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; choose from {', '.join(LOSSES)} or pass a "
                         f"function fn(output, targets) -> scalar Tensor")
    return LOSSES[key]


# ---------------------------------------------------------------------------
# History
# ---------------------------------------------------------------------------
@dataclass
class History:
    """What training did: per iteration, per epoch, and at each evaluation.

    Every field is a list of plain numbers, so a History is JSON and plots directly:
    ``plt.plot(h.iteration, h.loss)``.
    """

    iteration: list = field(default_factory=list)      # 1, 2, ... (steps done)
    epoch: list = field(default_factory=list)          # the epoch each step belongs to
    loss: list = field(default_factory=list)           # the batch loss of each step
    accuracy: list = field(default_factory=list)       # the batch accuracy of each step
    lr: list = field(default_factory=list)             # the learning rate each step used
    epoch_loss: list = field(default_factory=list)     # mean batch loss over each epoch
    epoch_accuracy: list = field(default_factory=list)
    eval_iteration: list = field(default_factory=list)  # steps done at each evaluation
    val_loss: list = field(default_factory=list)
    val_accuracy: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return {k: list(v) for k, v in self.__dict__.items()}

    @classmethod
    def from_dict(cls, d: dict) -> "History":
        known = cls.__dataclass_fields__
        unknown = set(d) - set(known)
        if unknown:
            raise ValueError(f"History: unknown fields {sorted(unknown)}")
        return cls(**{k: list(v) for k, v in d.items()})

    def save(self, path):
        """Write the history as JSON (atomically)."""
        write_atomic(path, json.dumps(self.to_dict()))

    @classmethod
    def load(cls, path) -> "History":
        return cls.from_dict(json.loads(Path(path).read_text()))

    @property
    def best_val_accuracy(self):
        return max(self.val_accuracy) if self.val_accuracy else None

    def summary(self) -> dict:
        """The figures a person asks for first."""
        out = {"iterations": self.iteration[-1] if self.iteration else 0,
               "epochs": len(self.epoch_loss),
               "final_loss": self.loss[-1] if self.loss else None,
               "final_train_accuracy": self.epoch_accuracy[-1] if self.epoch_accuracy
               else (self.accuracy[-1] if self.accuracy else None)}
        if self.val_accuracy:
            out["final_val_accuracy"] = self.val_accuracy[-1]
            out["best_val_accuracy"] = max(self.val_accuracy)
        return out


# ---------------------------------------------------------------------------
# Callbacks
# ---------------------------------------------------------------------------
@dataclass
class Step:
    """What a callback sees after each training step.

    ``activations`` (module name → output array, in call order), ``grads``
    (parameter name → gradient) and ``updates`` (parameter name → ΔW actually
    applied by the optimizer) are filled only on steps where a callback's
    ``wants_details(iteration)`` said yes; otherwise they are None.
    """

    model: object
    optimizer: object
    iteration: int
    epoch: int
    x: Tensor
    y: Tensor
    output: Tensor
    loss: float
    accuracy: float
    lr: float
    activations: dict | None = None
    grads: dict | None = None
    updates: dict | None = None


class Callback:
    """Override what you need; ``fit`` calls these in order.

    Before ``on_fit_begin``, ``fit`` sets ``total_iterations``: the step count training
    will end at, so a callback can plan (e.g. record the last step). ``on_fit_end`` is
    called also when training stops with :class:`TrainingDiverged`, so what a callback
    recorded up to the failure is kept.
    """

    total_iterations = None

    def on_fit_begin(self, model, optimizer, history: History):
        pass

    def wants_details(self, iteration: int) -> bool:
        """Return True to get activations, gradients and updates at this iteration (1-based)."""
        return False

    def on_step_end(self, step: Step):
        pass

    def on_eval(self, iteration: int, val_loss: float, val_accuracy: float):
        pass

    def on_epoch_end(self, epoch: int, history: History):
        pass

    def on_fit_end(self, history: History):
        pass


class TrainingDiverged(FloatingPointError):
    """The loss or a parameter became NaN or infinite. ``history`` holds the run so far."""

    def __init__(self, message, history=None):
        super().__init__(message)
        self.history = history


# ---------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------
def _as_loader(data, batch_size, shuffle, seed):
    if isinstance(data, DataLoader):
        return data
    return DataLoader(data, batch_size=batch_size, shuffle=shuffle, seed=seed)


def predict(model, data, batch_size=1000):
    """The model's outputs on every example of ``data`` (a Dataset, (X, y) or array X)."""
    X = data.X if isinstance(data, Dataset) else (data[0] if isinstance(data, tuple) else data)
    was_training = model.training
    model.eval()
    outs = []
    try:
        with no_grad():
            for start in range(0, len(X), batch_size):
                outs.append(model(Tensor(np.asarray(X[start:start + batch_size]))).data)
    finally:
        model.train(was_training)  # leave the model in the mode it was in
    return np.concatenate(outs) if outs else np.zeros((0,))


def evaluate(model, data, loss="cross_entropy", batch_size=1000):
    """(mean loss, accuracy, predicted classes) of ``model`` on ``data``, without a graph."""
    loss_fn = get_loss(loss)
    y = data.y if isinstance(data, Dataset) else np.asarray(data[1])
    outputs = predict(model, data, batch_size)
    with no_grad():
        value = float(loss_fn(Tensor(outputs), y).data)
    predicted = outputs.argmax(axis=-1)
    return value, float(np.mean(predicted == y)), predicted


# ---------------------------------------------------------------------------
# The loop
# ---------------------------------------------------------------------------
@contextlib.contextmanager
def _capture_outputs(model, into):
    """Record each leaf module's output (name → array) while the block runs."""
    handles = []
    for name, module in model.named_modules():
        if name and not list(module.children()):
            def hook(mod, inputs, output, name=name):
                into[name] = output.data
            handles.append(module.register_forward_hook(hook))
    try:
        yield into
    finally:
        for h in handles:
            h.remove()


def _diagnose(model, x, iteration, loss_value, lr):
    """Say where the non-finite loss came from: the first layer whose output went bad."""
    if not np.all(np.isfinite(x.data)):
        where = "the input batch itself holds NaN/inf"
    else:
        outputs = OrderedDict()
        with no_grad(), np.errstate(all="ignore"), _capture_outputs(model, outputs):
            model(x)
        first = next((name for name, out in outputs.items() if not np.all(np.isfinite(out))),
                     None)
        where = (f"layer {first!r} is the first whose output holds NaN/inf" if first else
                 "every layer's output is finite, so the loss function made it "
                 "(a log of 0? an overflowing sum?)")
    return (f"Training diverged at iteration {iteration}: the loss is {loss_value} "
            f"(learning rate {lr:g}); {where}. The weights are left as they were before "
            f"this step. Try a smaller learning rate, a gentler initialization, or "
            f"tl.detect_anomaly() to find the op that made the first NaN.")


def _first_nonfinite_parameter(named_parameters):
    """The name of the first parameter holding NaN/inf, or None (cheap: one pass per step)."""
    for name, p in named_parameters:
        # isfinite(...).all() is SIMD-vectorized: for the 784-256-128-10 net it takes ~23 µs
        # a step here, where a float32 sum (pairwise, plus errstate for overflow) takes ~41.
        if not np.isfinite(p.data).all():
            return name
    return None


def fit(model, optimizer, train_data, val_data=None, loss="cross_entropy", epochs=None,
        iterations=None, batch_size=64, schedule=None, callbacks=(), seed=0, eval_every=None,
        progress=None, checkpoint=None, checkpoint_every=1, resume_from=None, history=None,
        config=None):
    """Train ``model`` and return its :class:`History`.

    ``train_data``: a DataLoader, a Dataset or an (X, y) pair (then batched with
    ``batch_size``, an int or "full", shuffled with ``seed``). Stop after ``epochs``
    or after ``iterations`` steps (one of the two). ``schedule``: a Schedule or a
    name ("cosine", "step", ...) that sets the learning rate every step.
    ``val_data`` is evaluated at the end of every epoch and every ``eval_every``
    steps. ``callbacks`` see every step. ``checkpoint``: a path written at the end
    of every ``checkpoint_every``-th epoch and of training (with ``config``, a JSON-able dict stored beside the
    state); ``resume_from``: a checkpoint to continue.
    """
    loader = _as_loader(train_data, batch_size, True, seed)
    loss_fn = get_loss(loss)
    if int(checkpoint_every) < 1:
        raise ValueError(f"fit: checkpoint_every must be a positive number of epochs, got "
                         f"{checkpoint_every}")
    if (epochs is None) == (iterations is None):
        raise ValueError("fit: give exactly one of epochs= or iterations=")
    total = int(iterations) if iterations is not None else int(epochs) * len(loader)
    if total <= 0:
        raise ValueError(f"fit: nothing to do ({'iterations' if iterations else 'epochs'} "
                         f"must be positive)")
    scheduler = _make_scheduler(optimizer, schedule, total)
    history = history or History()
    if resume_from is not None:
        history = load_checkpoint(resume_from, model, optimizer, scheduler, loader)
    callbacks = list(callbacks)
    for cb in callbacks:
        cb.total_iterations = total
        cb.on_fit_begin(model, optimizer, history)

    done = history.iteration[-1] if history.iteration else 0
    epoch_losses, epoch_accs = _current_epoch_records(history, loader.epoch)
    bar = _progress_bar(total, done, progress)
    position = loader.state_dict()
    named_parameters = model.named_parameters()   # once: checked after every update
    model.train()
    try:
        while done < total:
            epoch = loader.epoch
            for x, y in loader:
                # Where the loader stands now: leaving the loop early (break) moves it to the
                # next epoch, but a checkpoint must continue right after this batch.
                position = loader.state_dict()
                done += 1
                lr = optimizer.lr
                details = any(cb.wants_details(done) for cb in callbacks)
                # fit itself checks the loss and the weights, so NumPy's warnings would be noise.
                with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                    step = _train_step(model, optimizer, loss_fn, x, y, done, epoch, lr, details)
                if not math.isfinite(step.loss):
                    raise TrainingDiverged(_diagnose(model, x, done, step.loss, lr), history)
                if scheduler is not None:
                    scheduler.step()
                for name, value in (("iteration", done), ("epoch", epoch), ("loss", step.loss),
                                    ("accuracy", step.accuracy), ("lr", lr)):
                    getattr(history, name).append(value)
                bad = _first_nonfinite_parameter(named_parameters)
                if bad is not None:
                    raise TrainingDiverged(
                        f"Training diverged at iteration {done}: the update (learning rate "
                        f"{lr:g}) made parameter {bad!r} NaN/inf although the loss was "
                        f"{step.loss:g}. Try a smaller learning rate or a gentler "
                        f"initialization.", history)
                epoch_losses.append(step.loss)
                epoch_accs.append(step.accuracy)
                for cb in callbacks:
                    cb.on_step_end(step)
                end_of_epoch = loader.epoch != epoch
                if val_data is not None and (end_of_epoch or (eval_every and done % eval_every == 0)
                                             or done == total):
                    _evaluate_into(history, model, val_data, loss_fn, done, callbacks)
                if bar is not None:
                    bar.update(1)
                    if done % 10 == 0 or done == total:
                        bar.set_postfix(loss=f"{step.loss:.4f}", acc=f"{step.accuracy:.3f}")
                if end_of_epoch:
                    history.epoch_loss.append(float(np.mean(epoch_losses)))
                    history.epoch_accuracy.append(float(np.mean(epoch_accs)))
                    epoch_losses, epoch_accs = [], []
                    for cb in callbacks:
                        cb.on_epoch_end(epoch, history)
                    if checkpoint is not None and len(history.epoch_loss) % checkpoint_every == 0:
                        save_checkpoint(checkpoint, model, optimizer, history, scheduler, loader,
                                    config=config)
                if done >= total:
                    break
    except TrainingDiverged:
        for cb in callbacks:  # keep what the callbacks saw up to the failure
            cb.on_fit_end(history)
        raise
    finally:
        if bar is not None:
            bar.close()
    if loader.state_dict() != position:
        loader.load_state_dict(position)  # stopped mid-epoch: undo the break's skip to a new epoch
    if checkpoint is not None:
        save_checkpoint(checkpoint, model, optimizer, history, scheduler, loader,
                                    config=config)
    for cb in callbacks:
        cb.on_fit_end(history)
    return history


def _train_step(model, optimizer, loss_fn, x, y, iteration, epoch, lr, details):
    """Forward, backward, update: one step. With ``details``, also record what happened."""
    activations = grads = updates = before = None
    optimizer.zero_grad()
    if details:
        activations = OrderedDict()
        with _capture_outputs(model, activations):
            output = model(x)
    else:
        output = model(x)
    loss = loss_fn(output, y.data)
    if not math.isfinite(float(loss.data)):
        # Stop before the update, so the weights stay as they were for inspection.
        return Step(model, optimizer, iteration, epoch, x, y, output, float(loss.data),
                    float("nan"), lr, activations)
    loss.backward()
    if details:
        params = model.named_parameters()
        grads = {n: p.grad.data.copy() for n, p in params if p.grad is not None}
        before = {n: p.data.copy() for n, p in params}
    optimizer.step()
    if details:
        updates = {n: p.data - before[n] for n, p in model.named_parameters()}
    # count_nonzero, not np.mean: mean casts the booleans to float64 through a buffer, which
    # costs ~20 µs a step in a training loop (the allocator's memory is cold by then).
    accuracy = np.count_nonzero(output.data.argmax(axis=-1) == y.data) / len(y.data)
    return Step(model, optimizer, iteration, epoch, x, y, output, float(loss.data), accuracy, lr,
                activations, grads, updates)


def _evaluate_into(history, model, val_data, loss_fn, done, callbacks):
    val_loss, val_acc, _ = evaluate(model, val_data, loss_fn)
    history.eval_iteration.append(done)
    history.val_loss.append(val_loss)
    history.val_accuracy.append(val_acc)
    for cb in callbacks:
        cb.on_eval(done, val_loss, val_acc)


def _current_epoch_records(history, epoch):
    """The per-step records of the epoch in progress (non-empty when resuming mid-epoch)."""
    idx = [i for i, e in enumerate(history.epoch) if e == epoch]
    return [history.loss[i] for i in idx], [history.accuracy[i] for i in idx]


def _make_scheduler(optimizer, schedule, total):
    if schedule is None:
        return None
    if isinstance(schedule, str):
        kwargs = {"total_steps": total} if schedule.strip().lower() == "cosine" else {}
        schedule = get_schedule(schedule, **kwargs)
    if not isinstance(schedule, Schedule):
        raise TypeError(f"fit: schedule must be a Schedule or a name, got {type(schedule).__name__}")
    return Scheduler(optimizer, schedule)


def _progress_bar(total, done, progress):
    if progress is None:
        progress = sys.stderr.isatty()
    if not progress:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, initial=done, unit="it", desc="training", leave=False,
                dynamic_ncols=True)


# ---------------------------------------------------------------------------
# Checkpoints: one .npz (arrays) holding a JSON string (everything else)
# ---------------------------------------------------------------------------
def save_checkpoint(path, model, optimizer=None, history=None, scheduler=None, loader=None,
                    config=None):
    """Write model (+ optimizer, schedule, data order, history, config) to one .npz, atomically.

    The file is written beside its destination and renamed into place, so a crash
    mid-save leaves the previous checkpoint intact.
    """
    path = Path(path)
    arrays = {f"model/{k}": v for k, v in model.state_dict().items()}
    meta = {"format": "tinygrad-lab checkpoint 1",
            "history": history.to_dict() if history is not None else None,
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "loader": loader.state_dict() if loader is not None else None,
            "config": config, "optimizer": None}
    if optimizer is not None:
        sd = optimizer.state_dict()
        scalars = {}
        for pos, state in sd["state"].items():
            for key, value in state.items():
                if isinstance(value, np.ndarray):
                    arrays[f"optim/{pos}/{key}"] = value
                else:
                    scalars.setdefault(str(pos), {})[key] = value
        meta["optimizer"] = {"type": type(optimizer).__name__, "param_groups": sd["param_groups"],
                             "scalars": scalars}
    arrays["meta"] = np.array(json.dumps(meta, default=_json_default))
    with atomic_file(path, "wb") as f:
        np.savez(f, **arrays)
    return path


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"cannot store {type(value).__name__} in a checkpoint")


def load_checkpoint(path, model, optimizer=None, scheduler=None, loader=None):
    """Restore what :func:`save_checkpoint` wrote into the given objects; return the History."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        data = np.load(path, allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile) as err:
        # A truncated zip or a foreign file: say so, rather than NumPy's talk of pickles.
        detail = f": {err}" if isinstance(err, OSError) else ""
        raise ValueError(f"{path} is not a readable checkpoint (truncated, or not a .npz "
                         f"written by save_checkpoint){detail}") from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise ValueError(f"{path} is a single .npy array, not a tinygrad-lab checkpoint")
    with data:
        if "meta" not in data:
            raise ValueError(f"{path} is not a tinygrad-lab checkpoint (no 'meta' entry)")
        meta = json.loads(str(data["meta"]))
        model.load_state_dict({k[len("model/"):]: data[k] for k in data.files
                               if k.startswith("model/")})
        if optimizer is not None:
            saved = meta.get("optimizer")
            if saved is None:
                raise ValueError(f"{path} holds no optimizer state")
            if saved["type"] != type(optimizer).__name__:
                raise ValueError(f"{path} was saved with {saved['type']}, not "
                                 f"{type(optimizer).__name__}")
            state = {}
            for k in data.files:
                if k.startswith("optim/"):
                    _, pos, key = k.split("/", 2)
                    state.setdefault(int(pos), {})[key] = data[k]
            for pos, scalars in saved["scalars"].items():
                state.setdefault(int(pos), {}).update(scalars)
            optimizer.load_state_dict({"state": state, "param_groups": saved["param_groups"]})
    if scheduler is not None and meta.get("scheduler"):
        scheduler.load_state_dict(meta["scheduler"])
    if loader is not None and meta.get("loader"):
        loader.load_state_dict(meta["loader"])
    return History.from_dict(meta["history"]) if meta.get("history") else History()


def checkpoint_config(path) -> dict | None:
    """The config stored in a checkpoint (None if it has none)."""
    with np.load(path, allow_pickle=False) as data:
        return json.loads(str(data["meta"])).get("config")
