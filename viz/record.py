"""Record what a net does while it learns, so the pictures can be drawn later.

    from viz.record import Recorder, load_records
    fit(model, opt, train, callbacks=[Recorder("runs/demo", every=10)], epochs=5)
    records = load_records("runs/demo")        # no retraining needed
    records.get(0, "weight")[-1]                # W1 at the last snapshot

A *layer* here is a ``Linear`` together with the activation module that follows
it (``fc1`` + ``act1`` in :class:`models.AssignmentMLP`, ``0`` + ``1`` in an
``nn.Sequential(Linear, Sigmoid, ...)``). Layer N's weights are the Linear's
weight W (out × in); its *outputs* are what the activation module returns.

At each snapshot the :class:`Recorder` keeps, per layer:

==============  ======================================================================
act_mean        mean output of each unit over the batch (units,)
act_sample      up to ``max_activation_samples`` outputs drawn from the batch, for histograms
weight          W after the step (out × in; only the first rows if W is huge)
update          ΔW actually applied by the optimizer in this step (same rows as weight)
grad_rms        root-mean-square of ∂loss/∂W: size-independent, so layers compare fairly
weight_rms      root-mean-square of W
update_rms      root-mean-square of ΔW (update_rms / weight_rms is the relative step size)
dead            fraction of *dead* units (ReLU family only, NaN otherwise)
saturated       fraction of *saturated* units (sigmoid, tanh, ReLU6; NaN otherwise)
saturation      fraction of all (example, unit) outputs on a flat end (same activations)
==============  ======================================================================

plus the iteration, epoch, batch loss, batch accuracy and learning rate.

Definitions (on one batch):

* a **dead** unit is a ReLU, ReLU6 or LeakyReLU unit whose input is ≤ 0 for every
  example: ReLU outputs 0 everywhere, so its gradient is exactly 0 and it cannot
  learn from this batch (LeakyReLU passes only its small leak);
* a unit is **on a flat end** for one example when σ(kx) < 0.01 or > 0.99, when
  |tanh(kx)| > 0.99, or when ReLU6 outputs 6 (its top). There the derivative is
  below 4 % (sigmoid), 2 % (tanh) or exactly 0 % (ReLU6) of its largest value;
* a **saturated** unit is on a flat end for every example of the batch: like a dead
  unit, almost no gradient flows through it. ``saturation`` counts flat-end outputs
  one by one, which also catches units that flip between the two ends (large k).

Memory stays bounded: when more than ``max_records`` snapshots are held, every
other one is dropped (the first and any ``at=`` iterations stay) and the interval
doubles, so snapshots remain evenly spaced however long training runs.
"""
from __future__ import annotations

import io
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from tinygrad_lab import nn
from tinygrad_lab.files import write_atomic
from tinygrad_lab.train import Callback

__all__ = ["Recorder", "Records", "LayerInfo", "load_records", "find_layers",
           "dead_fraction", "flat_end_mask", "RECORDS_FILE", "INDEX_FILE"]

RECORDS_FILE = "records.npz"
INDEX_FILE = "records.json"
FORMAT = "tinygrad-lab records 1"

# Module class -> activation kind. Order matters: ReLU6 and LeakyReLU are not ReLU subclasses
# here, but listing the specific ones first keeps this right if they ever become so.
_ACTIVATION_KINDS = (
    (nn.ReLU6, "relu6"), (nn.LeakyReLU, "leaky_relu"), (nn.ReLU, "relu"),
    (nn.Sigmoid, "sigmoid"), (nn.Tanh, "tanh"), (nn.Identity, "none"),
    (nn.Softmax, "softmax"), (nn.LogSoftmax, "log_softmax"),
)
RELU_FAMILY = ("relu", "relu6", "leaky_relu")
SATURATING = ("sigmoid", "tanh", "relu6")

# The per-layer arrays of one snapshot, and the per-snapshot scalars.
LAYER_FIELDS = ("act_mean", "act_sample", "weight", "update", "grad_rms", "weight_rms",
                "update_rms", "dead", "saturated", "saturation")
STEP_FIELDS = ("iteration", "epoch", "loss", "accuracy", "lr")


# ---------------------------------------------------------------------------
# Which modules form a layer
# ---------------------------------------------------------------------------
@dataclass
class LayerInfo:
    """One layer: a Linear and the activation that follows it."""

    name: str                 # "layer 1", "layer 2", ...
    linear: str               # module name of the Linear ("fc1", "0", ...)
    activation: str | None    # module name of its activation (None: the Linear is the output)
    kind: str                 # relu | relu6 | leaky_relu | sigmoid | tanh | none | softmax | linear
    k: float                  # steepness of sigmoid(kx) / tanh(kx); 1 for the others
    n_in: int
    n_out: int
    rows_kept: int            # how many rows (units) of W are stored; < n_out for huge W

    @property
    def output(self) -> str:
        """The module whose output is this layer's output."""
        return self.activation or self.linear

    @property
    def label(self) -> str:
        """``layer 1 (relu, 64→256)``: what titles and legends show."""
        kind = "linear" if self.kind in ("none", "linear") else self.kind
        if self.kind in ("sigmoid", "tanh") and self.k != 1:
            kind = f"{kind}, k={self.k:g}"
        return f"{self.name} ({kind}, {self.n_in}→{self.n_out})"


def activation_kind(module) -> str | None:
    """The kind of activation ``module`` is ("relu", "sigmoid", ...), or None if it is none."""
    for cls, kind in _ACTIVATION_KINDS:
        if isinstance(module, cls):
            return kind
    return None


def find_layers(model, max_weight_values: int = 2 ** 18) -> list[LayerInfo]:
    """Pair each Linear of ``model`` with the activation module that follows it.

    Walks the leaf modules in registration order (fc1, act1, fc2, ... or 0, 1, 2, ...).
    Modules that are neither (Dropout, Flatten) are skipped, so
    ``Sequential(Linear, Dropout, ReLU)`` still pairs the Linear with the ReLU.
    """
    layers: list[LayerInfo] = []
    for name, module in model.named_modules():
        if not name or list(module.children()):
            continue  # the model itself, or a container
        if isinstance(module, nn.Linear):
            n_out, n_in = module.out_features, module.in_features
            rows = n_out if n_out * n_in <= max_weight_values else max(1, max_weight_values // n_in)
            layers.append(LayerInfo(f"layer {len(layers) + 1}", name, None, "linear", 1.0,
                                    n_in, n_out, rows))
            continue
        kind = activation_kind(module)
        if kind is not None and layers and layers[-1].activation is None:
            layers[-1].activation = name
            layers[-1].kind = kind
            layers[-1].k = float(getattr(module, "k", 1.0))
    if not layers:
        raise ValueError(f"Recorder: {type(model).__name__} has no nn.Linear layer to record")
    return layers


# ---------------------------------------------------------------------------
# Dead and saturated units
# ---------------------------------------------------------------------------
def dead_fraction(outputs: np.ndarray, kind: str) -> float:
    """Fraction of units (columns of ``outputs``, shape batch × units) that never fire.

    Only ReLU-family units can die; for other kinds this is NaN (not applicable).
    ReLU and ReLU6 output exactly 0 when their input is ≤ 0; LeakyReLU outputs a
    negative number, so "never fires" is "never above 0" for all three.
    """
    if kind not in RELU_FAMILY:
        return math.nan
    return float(np.mean(np.all(outputs <= 0, axis=0)))


def flat_end_mask(outputs: np.ndarray, kind: str) -> np.ndarray | None:
    """True where an output sits on a flat end of its activation (None if it has none).

    sigmoid: < 0.01 or > 0.99; tanh: |y| > 0.99; ReLU6: y ≥ 6 (its cap). The value
    of k does not change these thresholds: they are about the output, and a larger k
    only pushes more outputs past them.
    """
    if kind == "sigmoid":
        return (outputs < 0.01) | (outputs > 0.99)
    if kind == "tanh":
        return np.abs(outputs) > 0.99
    if kind == "relu6":
        return outputs >= 6.0
    return None


def _rms(a: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(a, dtype=np.float64)))) if a.size else math.nan


def _layer_snapshot(info: LayerInfo, outputs, weight, grad, update, sample_size, rng) -> dict:
    """What one layer did on this step, as small arrays and numbers."""
    outputs = np.asarray(outputs, dtype=np.float32).reshape(len(outputs), -1)
    flat = flat_end_mask(outputs, info.kind)
    # A fixed-size sample (NaN-padded when the batch is small, e.g. an epoch's last batch)
    # so that snapshots stack into one array.
    sample = np.full(sample_size, np.nan, dtype=np.float32)
    n = min(sample_size, outputs.size)
    sample[:n] = outputs.reshape(-1)[rng.choice(outputs.size, size=n, replace=False)]
    rows = info.rows_kept
    return {
        "act_mean": outputs.mean(axis=0),
        "act_sample": sample,
        "weight": np.array(weight[:rows], dtype=np.float32),
        "update": np.array(update[:rows], dtype=np.float32),
        "grad_rms": _rms(grad) if grad is not None else math.nan,
        "weight_rms": _rms(weight),
        "update_rms": _rms(update),
        "dead": dead_fraction(outputs, info.kind),
        "saturated": float(np.mean(np.all(flat, axis=0))) if flat is not None else math.nan,
        "saturation": float(np.mean(flat)) if flat is not None else math.nan,
    }


# ---------------------------------------------------------------------------
# The records: what plots read
# ---------------------------------------------------------------------------
@dataclass
class Records:
    """Snapshots of training, one row per recorded iteration.

    ``iteration``, ``epoch``, ``loss``, ``accuracy`` (batch) and ``lr`` are arrays
    with one entry per snapshot; ``get(layer, name)`` stacks one per-layer field
    over the snapshots, e.g. ``get(0, "weight")`` has shape (snapshots, out, in).
    """

    layers: list
    iteration: np.ndarray
    epoch: np.ndarray
    loss: np.ndarray
    accuracy: np.ndarray
    lr: np.ndarray
    arrays: dict = field(repr=False)   # "layer1/weight" -> stacked array
    input_shape: tuple = ()            # shape of one input example as the model saw it

    def __len__(self) -> int:
        return len(self.iteration)

    def get(self, layer: int, name: str) -> np.ndarray:
        """Field ``name`` (one of LAYER_FIELDS) of layer ``layer`` (0-based), over snapshots."""
        if name not in LAYER_FIELDS:
            raise KeyError(f"Records.get: unknown field {name!r}; choose from "
                           f"{', '.join(LAYER_FIELDS)}")
        if not -len(self.layers) <= layer < len(self.layers):
            raise IndexError(f"Records.get: layer {layer} out of range (the net has "
                             f"{len(self.layers)} layers, numbered from 0)")
        return self.arrays[f"layer{layer % len(self.layers) + 1}/{name}"]

    def index_of(self, iteration: int) -> int:
        """Position of the snapshot taken at ``iteration`` (KeyError if none was)."""
        hits = np.flatnonzero(self.iteration == iteration)
        if not len(hits):
            raise KeyError(f"no snapshot at iteration {iteration}; recorded: "
                           f"{self.iteration.tolist()}")
        return int(hits[0])

    @property
    def image_shape(self) -> tuple | None:
        """How one input example is drawn: its own shape if 2-D, else a square if it is one."""
        shape = tuple(self.input_shape)
        if len(shape) >= 2:
            return shape[-2:]
        if len(shape) == 1:
            side = math.isqrt(shape[0])
            if side * side == shape[0] and side > 1:
                return (side, side)
        return None

    @classmethod
    def from_snapshots(cls, layers, snapshots, input_shape=()) -> "Records":
        """Stack a list of per-iteration snapshots (as the Recorder holds them)."""
        arrays = {}
        for i, info in enumerate(layers, start=1):
            for name in LAYER_FIELDS:
                values = [s["layers"][i - 1][name] for s in snapshots]
                arrays[f"layer{i}/{name}"] = np.asarray(values, dtype=np.float32)
        steps = {name: np.asarray([s[name] for s in snapshots],
                                  dtype=np.int64 if name in ("iteration", "epoch") else np.float64)
                 for name in STEP_FIELDS}
        return cls(list(layers), **steps, arrays=arrays, input_shape=tuple(input_shape))


# ---------------------------------------------------------------------------
# The callback
# ---------------------------------------------------------------------------
class Recorder(Callback):
    """A training callback that snapshots every layer at chosen iterations.

    ``run_dir``: where ``records.npz`` and ``records.json`` are written when
    training ends (None: keep in memory only; call :meth:`save` yourself).
    ``every``: snapshot every N iterations, plus iteration 1. ``at``: extra
    iterations that are always recorded and never thinned (e.g. the last one, when
    you know it). ``max_records``: at most this many snapshots in memory; when
    exceeded, every other one is dropped and ``every`` doubles.
    ``max_weight_values``: a W with more entries is stored by its first rows only.
    ``max_activation_samples``: outputs kept per layer and snapshot for histograms.
    ``seed``: for that sampling, so records are reproducible.
    """

    def __init__(self, run_dir=None, every: int = 10, at=None, max_records: int = 60,
                 max_weight_values: int = 2 ** 18, max_activation_samples: int = 2000,
                 seed: int = 0):
        if int(every) < 1:
            raise ValueError(f"Recorder: every must be a positive number of iterations, "
                             f"got {every}")
        if int(max_records) < 2:
            raise ValueError(f"Recorder: max_records must be at least 2 (first and latest), "
                             f"got {max_records}")
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.every = int(every)
        self.at = {int(i) for i in (at or ())}
        self.max_records = int(max_records)
        self.max_weight_values = int(max_weight_values)
        self.max_activation_samples = int(max_activation_samples)
        self.seed = int(seed)
        self.layers: list[LayerInfo] | None = None
        self.snapshots: list[dict] = []
        self.input_shape: tuple = ()

    # -- the Callback interface -------------------------------------------
    def on_fit_begin(self, model, optimizer, history):
        self.layers = find_layers(model, self.max_weight_values)

    def wants_details(self, iteration: int) -> bool:
        return (iteration == 1 or iteration % self.every == 0 or iteration in self.at
                or iteration == self.total_iterations)  # the last step too (fit sets the total)

    def on_step_end(self, step):
        if step.activations is None or not self.wants_details(step.iteration):
            return  # details were asked for by another callback, not at one of ours
        if self.layers is None:
            self.layers = find_layers(step.model, self.max_weight_values)
        self.input_shape = tuple(step.x.shape[1:])
        self.snapshots.append(self._snapshot(step))
        self._thin()

    def on_fit_end(self, history):
        if self.run_dir is not None and self.snapshots:
            self.save()

    # -- recording ----------------------------------------------------------
    def _snapshot(self, step) -> dict:
        rng = np.random.default_rng([self.seed, step.iteration])
        missing = [info.output for info in self.layers if info.output not in step.activations]
        if missing:
            raise KeyError(f"Recorder: no output recorded for module(s) {missing}; recorded "
                           f"modules are {list(step.activations)}")
        weights = dict(step.model.named_parameters())
        layers = []
        for info in self.layers:
            key = f"{info.linear}.weight"
            layers.append(_layer_snapshot(info, step.activations[info.output],
                                          weights[key].data, step.grads.get(key),
                                          step.updates[key], self.max_activation_samples, rng))
        return {"iteration": step.iteration, "epoch": step.epoch, "loss": step.loss,
                "accuracy": step.accuracy, "lr": step.lr, "layers": layers}

    def _thin(self):
        """Keep memory bounded: drop every other snapshot and record half as often."""
        while len(self.snapshots) > self.max_records:
            self.every *= 2
            self.snapshots = [s for s in self.snapshots
                              if s["iteration"] == 1 or s["iteration"] in self.at
                              or s["iteration"] % self.every == 0]
            if len(self.snapshots) > self.max_records:  # too many at= iterations: keep the last
                keep = np.linspace(0, len(self.snapshots) - 1, self.max_records).round()
                self.snapshots = [self.snapshots[int(i)] for i in np.unique(keep)]

    # -- results ------------------------------------------------------------
    @property
    def records(self) -> Records:
        """The snapshots so far, stacked into :class:`Records`."""
        if not self.snapshots:
            raise ValueError("Recorder: nothing recorded yet (did training run?)")
        return Records.from_snapshots(self.layers, self.snapshots, self.input_shape)

    def save(self, run_dir=None) -> Path:
        """Write ``records.npz`` and ``records.json`` into ``run_dir``; return the npz path."""
        target = Path(run_dir) if run_dir is not None else self.run_dir
        if target is None:
            raise ValueError("Recorder.save: give a run_dir (the Recorder was made without one)")
        return save_records(self.records, target,
                            settings={"every": self.every, "at": sorted(self.at),
                                      "max_records": self.max_records,
                                      "max_activation_samples": self.max_activation_samples,
                                      "seed": self.seed})


# ---------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------
def save_records(records: Records, run_dir, settings=None) -> Path:
    """Write ``records`` as ``run_dir/records.npz`` (arrays) + ``records.json`` (index)."""
    run_dir = Path(run_dir)
    arrays = {name: getattr(records, name) for name in STEP_FIELDS}
    arrays.update(records.arrays)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    write_atomic(run_dir / RECORDS_FILE, buffer.getvalue())
    index = {"format": FORMAT, "file": RECORDS_FILE, "snapshots": len(records),
             "iterations": records.iteration.tolist(), "input_shape": list(records.input_shape),
             "layers": [asdict(info) for info in records.layers], "settings": settings or {}}
    write_atomic(run_dir / INDEX_FILE, json.dumps(index, indent=2).encode())
    return run_dir / RECORDS_FILE


def load_records(run_dir) -> Records:
    """The :class:`Records` a Recorder saved in ``run_dir``."""
    run_dir = Path(run_dir)
    index_path, npz_path = run_dir / INDEX_FILE, run_dir / RECORDS_FILE
    if not index_path.exists() or not npz_path.exists():
        raise FileNotFoundError(f"{run_dir} holds no records ({INDEX_FILE} + {RECORDS_FILE}); "
                                f"train with `tinygrad-lab train --record` or a "
                                f"viz.record.Recorder")
    index = json.loads(index_path.read_text())
    if index.get("format") != FORMAT:
        raise ValueError(f"{index_path} is not a {FORMAT!r} index (format: "
                         f"{index.get('format')!r})")
    with np.load(npz_path, allow_pickle=False) as data:
        steps = {name: data[name] for name in STEP_FIELDS}
        arrays = {key: data[key] for key in data.files if "/" in key}
    if steps["iteration"].tolist() != index["iterations"]:
        raise ValueError(f"{npz_path} and {index_path} disagree about the iterations recorded; "
                         f"were they written by different runs?")
    layers = [LayerInfo(**info) for info in index["layers"]]
    return Records(layers, **steps, arrays=arrays, input_shape=tuple(index["input_shape"]))
