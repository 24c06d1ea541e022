"""The assignment's study: which runs answer which question, running them, and what they measured.

    from tinygrad_lab.cli.study import Study, QUICK
    study = Study("digits", "study/", settings=QUICK)
    study.run_questions(jobs=2)        # sections 1-4: independent runs, in parallel
    study.run_together(jobs=2)         # section 5: built from what sections 1-4 measured
    for section in study.findings():   # sentences generated from the histories
        print(section.title, section.finding)

Each question of the assignment changes one thing of the assignment's own set-up
(784-256-128-10 sigmoid MLP, no bias, weights uniform in [−1, 1], loss ½Σ(L3 − T)²,
full-batch gradient descent, 200 iterations). Every run goes through
:func:`tinygrad_lab.cli.experiment.run`, so it leaves an ordinary run folder
(config, history, checkpoint, summary) plus the :class:`viz.record.Recorder`'s
records for the pictures, and ``study.json`` with what this module measured on
top (NumPy floating-point errors, predicted classes). A run folder that already
holds a finished run of the same config is reused, so an interrupted study
continues where it stopped.

Nothing here knows the answers in advance: the findings are sentences assembled
from the numbers in the histories and records of *this* run.
"""
from __future__ import annotations

import collections
import concurrent.futures as futures
import json
import math
import multiprocessing
import os
import shutil
import sys
import time
import warnings
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from ..files import write_json
from ..train import Callback, History, TrainingDiverged, evaluate, get_loss
from .experiment import RunConfig, load_data, run

__all__ = ["StudySettings", "FULL", "QUICK", "Study", "Trial", "RunResult", "SectionFindings",
           "base_config", "base_learning_rate", "assignment_lr_for", "FloatingPointCheck",
           "train_trial", "is_finished", "iterations_to", "ASSIGNMENT_LR", "ASSIGNMENT_N_TRAIN"]

# The assignment trains on all 60000 MNIST training images with lr = 1e-5 on a *summed*
# loss, so each step's gradient is a sum over 60000 examples.
ASSIGNMENT_LR = 1e-5
ASSIGNMENT_N_TRAIN = 60000

# float32's exp(x) overflows for x > ln(3.4e38) ≈ 88.72: the assignment's
# 1/(1 + e^(−kx)) overflows wherever k·x < −88.72.
FLOAT32_EXP_LIMIT = float(np.log(np.finfo(np.float32).max))

RUN_EXTRAS = "study.json"   # what this module measured, beside run()'s own files


# ---------------------------------------------------------------------------
# What to run
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class StudySettings:
    """How big the study is. :data:`FULL` is the assignment; :data:`QUICK` is for tests."""

    lr_factors: tuple = (0.1, 0.5, 1, 2, 10)      # question 1: × the base learning rate
    ks: tuple = (0.1, 0.5, 1, 2, 10)              # question 2: sigmoid steepness
    inits: tuple = ("uniform", "normal", "he", "xavier")   # question 3
    relu_lr_factors: tuple = (1, 0.1)             # question 4: ReLU also at a smaller lr
    iterations: int = 200                         # per run of questions 1-4 (the assignment's)
    final_iterations: int = 1000                  # question 5 trains longer
    final_lr_factors: tuple = (0.5, 1, 2)         # question 5: a small lr sweep ...
    final_schedules: tuple = ("constant", "cosine")   # ... with and without the cosine schedule
    snapshots: int = 20                           # Recorder snapshots per run (about)
    tsne_points: int = 1000                       # test examples in the t-SNE map
    gif_frames: int = 30                          # frames of the panel animation

    def __post_init__(self):
        for name in ("iterations", "final_iterations", "snapshots", "tsne_points", "gif_frames"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if 1 not in self.lr_factors:
            raise ValueError("lr_factors must contain 1 (the assignment's own learning rate)")
        if 1 not in self.ks:
            raise ValueError("ks must contain 1 (the plain sigmoid)")
        if "uniform" not in self.inits:
            raise ValueError("inits must contain 'uniform' (the assignment's own)")


FULL = StudySettings()
QUICK = StudySettings(lr_factors=(0.1, 1, 10), ks=(0.1, 1, 10), inits=("uniform", "normal", "he"),
                      relu_lr_factors=(1,), iterations=20, final_iterations=40,
                      final_lr_factors=(1,), snapshots=5, tsne_points=150, gif_frames=4)


def base_learning_rate(n_train: int) -> float:
    """The assignment's 1e-5, scaled so a summed loss takes the same size steps on ``n_train``.

    The gradient of a loss summed over the batch grows with the batch: full-batch on
    MNIST sums 60000 examples. With fewer examples the same step size needs a
    proportionally larger lr: 1e-5 × 60000 / n_train (1.1e-5 for MNIST's 54000 training
    images once 10% are kept for validation).
    """
    return ASSIGNMENT_LR * ASSIGNMENT_N_TRAIN / n_train


def assignment_lr_for(loss: str, n_train: int) -> float:
    """The base lr for ``loss``: summed losses ("sse") use :func:`base_learning_rate`;
    losses averaged over the batch ("ce", "mse") need N times more for the same step."""
    lr = base_learning_rate(n_train)
    return lr if loss == "sse" else lr * n_train


def base_config(dataset: str, iterations: int, lr: float, data_dir=None, seed: int = 0
                ) -> RunConfig:
    """The assignment's set-up as a RunConfig: every question changes one field of it."""
    return RunConfig(dataset=dataset, data_dir=data_dir, hidden=(256, 128),
                     activation="sigmoid", k=1.0, init="uniform", bias=False, loss="sse",
                     optimizer="sgd", lr=lr, momentum=0.0, schedule="constant",
                     epochs=None, iterations=iterations, batch_size="full", seed=seed)


@dataclass(frozen=True)
class Trial:
    """One run of the study: a label for people and the config that defines it."""

    label: str
    config: RunConfig

    @property
    def name(self) -> str:
        """The run's folder name: the fields the study varies, readable."""
        c = self.config
        k = f"-k{c.k:g}" if c.activation in ("sigmoid", "tanh") else ""
        return (f"{c.activation}{k}-{c.init}-{c.loss}-lr{c.lr:.3g}-{c.schedule}"
                f"-{c.iterations}it")


# ---------------------------------------------------------------------------
# Running one trial (in a worker process)
# ---------------------------------------------------------------------------
class FloatingPointCheck(Callback):
    """Count NumPy's floating-point errors in the forward (and backward) pass of training.

    ``fit`` silences NumPy's warnings inside its step (it checks the loss and weights
    itself), so a warning could never be seen there. After each step this callback
    repeats the forward pass on the same batch, and every ``backward_every`` steps
    the backward pass too, with every overflow, invalid operation (NaN) and division
    by zero *counted*; then it clears the gradients again. (The backward pass costs
    the most, and σ' = kσ(1−σ) is bounded, so checking it on every step would double
    the study's time for little.) For sigmoid layers it also counts the
    pre-activations where the assignment's formula 1/(1 + e^(−kx)) overflows in
    float32 (k·x < −88.72), so the report can compare the two.
    """

    def __init__(self, loss, backward_every: int = 10):
        self.loss_fn = get_loss(loss)
        self.backward_every = int(backward_every)
        self.counts = collections.Counter()
        self.forward_passes = 0
        self.backward_passes = 0
        self.naive_overflows = 0
        self.lowest_kx = math.inf
        self._sigmoids = []

    def on_fit_begin(self, model, optimizer, history):
        from viz.record import find_layers
        modules = dict(model.named_modules())
        self._sigmoids = [(modules[info.linear], info.k) for info in find_layers(model)
                          if info.kind == "sigmoid"]

    def _count_error(self, kind, flag):
        self.counts[kind] += 1

    def _watch_preactivation(self, k):
        def hook(module, inputs, output):
            kx = k * output.data
            self.naive_overflows += int(np.count_nonzero(kx < -FLOAT32_EXP_LIMIT))
            self.lowest_kx = min(self.lowest_kx, float(kx.min()))
        return hook

    def on_step_end(self, step):
        backward = step.iteration % self.backward_every == 0
        handles = [linear.register_forward_hook(self._watch_preactivation(k))
                   for linear, k in self._sigmoids]
        previous = np.seterrcall(self._count_error)
        try:
            # Underflow (e^(−100) → 0) is harmless and not a RuntimeWarning by default.
            with np.errstate(over="call", invalid="call", divide="call", under="ignore"):
                loss = self.loss_fn(step.model(step.x), step.y.data)
                self.forward_passes += 1
                if backward:
                    loss.backward()
                    self.backward_passes += 1
        finally:
            np.seterrcall(previous)
            for handle in handles:
                handle.remove()
            if backward:
                step.optimizer.zero_grad()

    def result(self) -> dict:
        return {"checked_forward": self.forward_passes,
                "checked_backward": self.backward_passes,
                "numpy_errors": {kind: self.counts.get(kind, 0)
                                 for kind in ("overflow", "invalid value", "divide by zero")},
                "naive_sigmoid_overflows": self.naive_overflows,
                "lowest_kx": None if math.isinf(self.lowest_kx) else self.lowest_kx}


_DATA_CACHE: dict = {}


def _data_for(config: RunConfig):
    """Load each data split once per process: every run of a study uses the same data."""
    key = (config.dataset, config.data_dir, config.train_limit, config.val_fraction, config.seed)
    if key not in _DATA_CACHE:
        _DATA_CACHE[key] = load_data(config)
    return _DATA_CACHE[key]


def _recorder_every(iterations: int, snapshots: int) -> int:
    return max(1, iterations // max(snapshots, 1))


def train_trial(config_dict: dict, run_dir: str, snapshots: int = 20) -> dict:
    """Train one trial into ``run_dir`` (emptied first) and write its ``study.json``.

    Takes and returns plain data, so it can run in a worker process. A run whose
    loss or weights become NaN/inf is a result, not a crash: its history so far is
    kept and its summary says ``"diverged": true``.
    """
    from viz.record import Recorder

    out = Path(run_dir)
    if out.exists():
        shutil.rmtree(out)  # half-written or made from another config: start afresh
    config = RunConfig.from_dict(config_dict)
    data = _data_for(config)
    train, val, _ = data
    recorder = Recorder(out, every=_recorder_every(config.iterations, snapshots),
                        at=[config.iterations])
    check = FloatingPointCheck(config.loss)
    start = time.perf_counter()
    diverged = None
    with warnings.catch_warnings(record=True) as caught, \
            np.errstate(over="warn", invalid="warn", divide="warn"):
        warnings.simplefilter("always", RuntimeWarning)
        try:
            model, history, _ = run(config, out, callbacks=[recorder, check], progress=False,
                                    data=data)
        except TrainingDiverged as err:
            diverged = str(err)
            history = err.history or History()
            history.save(out / "history.json")
            if recorder.snapshots:
                recorder.save()
            write_json(out / "summary.json", {**history.summary(), "diverged": True,
                                              "error": diverged, "dataset": config.dataset,
                                              "n_train": len(train), "n_val": len(val)})
    extras = {**check.result(),
              "runtime_warnings": sum(issubclass(w.category, RuntimeWarning) for w in caught),
              "diverged": diverged, "seconds": round(time.perf_counter() - start, 3)}
    if diverged is None:
        _, _, predicted = evaluate(model, val, config.loss)
        extras["val_predicted_counts"] = np.bincount(predicted, minlength=val.num_classes).tolist()
    write_json(out / RUN_EXTRAS, extras)
    return extras


def is_finished(run_dir, config: RunConfig) -> bool:
    """True when ``run_dir`` holds a complete trial of exactly ``config``.

    ``study.json`` is written last, so its presence means everything before it is there.
    """
    run_dir = Path(run_dir)
    try:
        saved = json.loads((run_dir / "config.json").read_text())
        json.loads((run_dir / "summary.json").read_text())
        json.loads((run_dir / RUN_EXTRAS).read_text())
    except (OSError, ValueError):
        return False
    return saved == json.loads(json.dumps(config.to_dict()))


def _one_blas_thread():
    """Worker start-up: with one process per core, each keeps BLAS to one thread
    instead of fighting the other processes for the same cores."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(1)


def run_trials(trials, runs_dir, jobs=None, progress=None, snapshots=20, desc="runs") -> dict:
    """Train every trial not finished yet, ``jobs`` at a time; return {"trained", "skipped"}.

    One process per core (``jobs``, default ``os.cpu_count()``), started with
    "spawn" so each worker begins clean (forking a process that runs BLAS threads
    can deadlock). With ``jobs=1`` the runs happen in this process.
    """
    runs_dir = Path(runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    unique = list({t.name: t for t in trials}.values())  # one folder per distinct config
    skipped = [t.name for t in unique if is_finished(runs_dir / t.name, t.config)]
    todo = [t for t in unique if t.name not in skipped]
    jobs = (os.cpu_count() or 1) if jobs is None else int(jobs)
    bar = _progress_bar(len(unique), len(skipped), progress, desc)
    try:
        if jobs == 1 or len(todo) <= 1:
            for t in todo:
                train_trial(t.config.to_dict(), str(runs_dir / t.name), snapshots)
                _advance(bar, t)
        else:
            with futures.ProcessPoolExecutor(max_workers=min(jobs, len(todo)),
                                             mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_one_blas_thread) as pool:
                pending = {pool.submit(train_trial, t.config.to_dict(), str(runs_dir / t.name),
                                       snapshots): t for t in todo}
                try:
                    for done in futures.as_completed(pending):
                        done.result()  # a crash in a worker is a bug: let it surface
                        _advance(bar, pending[done])
                except BaseException:
                    pool.shutdown(wait=False, cancel_futures=True)  # finished runs stay on disk
                    raise
    finally:
        if bar is not None:
            bar.close()
    return {"trained": [t.name for t in todo], "skipped": skipped}


def _progress_bar(total, done, progress, desc):
    if progress is None:
        progress = sys.stderr.isatty()
    if not progress:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, initial=done, unit="run", desc=desc, dynamic_ncols=True)


def _advance(bar, trial):
    if bar is not None:
        bar.set_postfix_str(trial.name, refresh=False)
        bar.update(1)


# ---------------------------------------------------------------------------
# Reading a finished trial
# ---------------------------------------------------------------------------
def iterations_to(history: History, target: float):
    """The first evaluated iteration whose validation accuracy reached ``target``, or None."""
    for it, acc in zip(history.eval_iteration, history.val_accuracy):
        if acc >= target:
            return it
    return None


@dataclass
class RunResult:
    """A finished trial read back from its folder, with the numbers the findings use."""

    trial: Trial
    run_dir: Path
    history: History
    summary: dict
    extras: dict

    @classmethod
    def load(cls, trial: Trial, run_dir) -> "RunResult":
        run_dir = Path(run_dir)
        return cls(trial, run_dir, History.load(run_dir / "history.json"),
                   json.loads((run_dir / "summary.json").read_text()),
                   json.loads((run_dir / RUN_EXTRAS).read_text()))

    @property
    def config(self) -> RunConfig:
        return self.trial.config

    @property
    def label(self) -> str:
        return self.trial.label

    @property
    def diverged(self) -> bool:
        """The loss or a weight became NaN/inf (training stopped there)."""
        return bool(self.summary.get("diverged"))

    @property
    def final_val(self) -> float:
        """Validation accuracy at the last evaluation (0 if training diverged first)."""
        return self.history.val_accuracy[-1] if self.history.val_accuracy else 0.0

    @property
    def best_val(self) -> float:
        return max(self.history.val_accuracy) if self.history.val_accuracy else 0.0

    @property
    def test_accuracy(self):
        return self.summary.get("test_accuracy")

    @property
    def first_loss(self) -> float:
        return self.history.loss[0] if self.history.loss else math.nan

    @property
    def final_loss(self) -> float:
        return self.history.loss[-1] if self.history.loss else math.nan

    @property
    def loss_rose(self) -> bool:
        """The loss ended above where it started: the steps made things worse."""
        return bool(self.history.loss) and self.final_loss > self.first_loss

    def loss_drop(self) -> float:
        """How much of the first loss training removed (0.25: a quarter)."""
        if not self.history.loss or not self.first_loss:
            return math.nan
        return 1.0 - self.final_loss / self.first_loss

    def val_at(self, iteration: int) -> float | None:
        """Validation accuracy at the last evaluation at or before ``iteration``."""
        hits = [acc for it, acc in zip(self.history.eval_iteration, self.history.val_accuracy)
                if it <= iteration]
        return hits[-1] if hits else None

    def dominant_class(self):
        """(class index, share of validation images predicted as it), or None."""
        counts = self.extras.get("val_predicted_counts")
        if not counts or not sum(counts):
            return None
        return int(np.argmax(counts)), max(counts) / sum(counts)

    @cached_property
    def records(self):
        """What the Recorder saw (None for a run that diverged before its first snapshot)."""
        from viz.record import load_records
        try:
            return load_records(self.run_dir)
        except FileNotFoundError:
            return None

    def layer_stat(self, layer: int, name: str, index: int = -1) -> float:
        """One recorded per-layer number (``dead``, ``saturation``, ``grad_rms``, ...), NaN if
        nothing was recorded."""
        if self.records is None:
            return math.nan
        return float(self.records.get(layer, name)[index])

    def update_ratio(self, layer: int = 0, index: int = -1) -> float:
        """|ΔW| / |W| (RMS) of one step: how big a step is relative to the weights."""
        return (self.layer_stat(layer, "update_rms", index)
                / max(self.layer_stat(layer, "weight_rms", index), 1e-30))

    def dead_units(self, layer: int, index: int = -1) -> tuple[int, int]:
        """(dead units, units) of a ReLU-family layer at a snapshot (dead: never fires)."""
        info = self.records.layers[layer]
        return round(self.layer_stat(layer, "dead", index) * info.n_out), info.n_out

    def activation_spread(self, layer: int, index: int = 0) -> float:
        """Standard deviation of the sampled outputs of ``layer`` at a snapshot."""
        if self.records is None:
            return math.nan
        values = self.records.get(layer, "act_sample")[index]
        return float(np.nanstd(values))


# ---------------------------------------------------------------------------
# Words from numbers
# ---------------------------------------------------------------------------
def pct(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def points(delta) -> str:
    """A difference of two accuracies in percentage points, with its sign."""
    return f"{100 * delta:+.1f} points"


def lr_text(lr: float) -> str:
    """Learning rates as learners write them: 4.77e-04, 0.6."""
    return f"{lr:.2e}" if lr < 0.01 else f"{lr:.3g}"


def join_words(items) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def target_for(results) -> float:
    """The accuracy a section times its runs against: 90% of the best final accuracy,
    rounded down to a multiple of 5%, but at least 20% (well above chance for 10 classes)."""
    best = max((r.final_val for r in results), default=0.0)
    return max(math.floor(0.9 * best * 20 + 1e-9) / 20, 0.2)


def ranked(results):
    """Best first: highest final validation accuracy, then fewest iterations to the best."""
    return sorted(results, key=lambda r: (-r.final_val, r.history.val_accuracy.index(r.best_val)
                                          if r.history.val_accuracy else math.inf))


def _fate(r: RunResult, classes=None) -> str | None:
    """What went wrong in a run, in words, or None if nothing did."""
    if r.diverged:
        return (f"diverged at iteration {len(r.history.loss) + 1} (the loss or a weight "
                f"became NaN/inf)")
    parts = []
    if r.loss_rose:
        parts.append(f"made its loss go up (from {r.first_loss:.4g} to {r.final_loss:.4g})")
    dominant = r.dominant_class()
    if dominant and dominant[1] >= 0.5:
        name = classes[dominant[0]] if classes else dominant[0]
        parts.append(f"predicted class {name} for {pct(dominant[1])} of the validation images")
    return " and ".join(parts) or None


# ---------------------------------------------------------------------------
# The study
# ---------------------------------------------------------------------------
@dataclass
class SectionFindings:
    """One question's answer: its runs (by group), the measured finding and table rows."""

    key: str                      # lr | k | init | activations | together
    title: str
    groups: dict                  # group title -> [RunResult]
    finding: list                 # sentences, each generated from the numbers
    numbers: dict = field(default_factory=dict)   # the values the sentences state

    @property
    def results(self):
        seen = {}
        for runs in self.groups.values():
            for r in runs:
                seen[r.trial.name] = r
        return list(seen.values())


class Study:
    """The assignment's questions as runs in ``out_dir/runs``, and their findings."""

    def __init__(self, dataset="digits", out_dir="study", settings: StudySettings = FULL,
                 data_dir=None, seed: int = 0, iterations: int | None = None,
                 final_iterations: int | None = None):
        self.preset = settings   # FULL or QUICK, before any override (for "reproduce" lines)
        if iterations is not None:
            settings = replace(settings, iterations=int(iterations))
        if final_iterations is not None:
            settings = replace(settings, final_iterations=int(final_iterations))
        self.settings = settings
        self.out_dir = Path(out_dir)
        self.runs_dir = self.out_dir / "runs"
        probe = base_config(dataset, settings.iterations, 1.0, data_dir, seed)
        self.train, self.val, self.test = _data_for(probe)
        self.n_train = len(self.train)
        self.lr = base_learning_rate(self.n_train)
        self.base = probe.replace(lr=self.lr)
        self.timings = {}
        self.final_facts = None   # the best final model measured on the test set (findings())
        self._final_trials = None

    # -- sections 1-4: one change at a time ----------------------------------
    def _trial(self, label, **changes) -> Trial:
        return Trial(label, self.base.replace(**changes))

    def _ce_lr(self) -> float:
        return assignment_lr_for("ce", self.n_train)

    def question_trials(self) -> dict:
        """{section key: {group title: [Trial]}} for questions 1-4."""
        s = self.settings
        lr = {"": [self._trial(f"lr ×{f:g} = {lr_text(self.lr * f)}", lr=self.lr * f)
                   for f in s.lr_factors]}
        k = {"": [self._trial(f"k = {k:g}", k=float(k)) for k in s.ks]}
        init = {"": [self._trial(INIT_NAMES.get(i, i), init=i) for i in s.inits]}
        scaled = "normal"  # the assignment's own alternative: N(0, 1/√n)
        tanh = [self._trial(f"{act}, {INIT_NAMES[i]}", activation=act, init=i)
                for i in ("uniform", scaled) for act in ("sigmoid", "tanh")]
        losses = [self._trial(f"{LOSS_NAMES[loss]}, {INIT_NAMES[i]}", loss=loss, init=i,
                              lr=assignment_lr_for(loss, self.n_train))
                  for i in ("uniform", scaled) for loss in ("sse", "ce")]
        relu = [self._trial(f"{act}, {INIT_NAMES[i]}, ½Σ(y−t)², lr ×{f:g}", activation=act,
                            init=i, lr=self.lr * f)
                for act in ("relu", "relu6") for i in ("uniform", "he") for f in s.relu_lr_factors]
        # Under ½Σ(y−t)² the output units are ReLUs too; with cross-entropy they are raw scores.
        relu += [self._trial(f"{act}, {INIT_NAMES['he']}, cross-entropy", activation=act,
                             init="he", loss="ce", lr=self._ce_lr())
                 for act in ("relu", "relu6")]
        activations = {"tanh vs sigmoid": tanh, "cross-entropy vs ½Σ(y−t)²": losses,
                       "ReLU and ReLU6": relu}
        return {"lr": lr, "k": k, "init": init, "activations": activations}

    def run_questions(self, jobs=None, progress=None) -> dict:
        """Train (or reuse) every run of questions 1-4."""
        trials = [t for groups in self.question_trials().values()
                  for runs in groups.values() for t in runs]
        return self._run(trials, jobs, progress, "questions 1-4")

    # -- section 5: everything together --------------------------------------
    def best_question_run(self) -> RunResult:
        """The best run of questions 1-4 (highest validation accuracy at the last iteration)."""
        trials = [t for groups in self.question_trials().values()
                  for runs in groups.values() for t in runs]
        return ranked(self._load(list({t.name: t for t in trials}.values())))[0]

    def final_trials(self) -> list:
        """Question 5: the best set-up of questions 1-4, trained longer, with a small lr
        sweep around its learning rate, each with a constant and a cosine schedule."""
        if self._final_trials is None:
            start = self.best_question_run().config
            s = self.settings
            self._final_trials = [
                Trial(f"{schedule}, lr ×{f:g} = {lr_text(start.lr * f)}",
                      start.replace(lr=start.lr * f, schedule=schedule,
                                    iterations=s.final_iterations))
                for f in s.final_lr_factors for schedule in s.final_schedules]
        return self._final_trials


    def run_together(self, jobs=None, progress=None) -> dict:
        return self._run(self.final_trials(), jobs, progress, "question 5")

    # -- running --------------------------------------------------------------
    def _run(self, trials, jobs, progress, desc) -> dict:
        start = time.perf_counter()
        outcome = run_trials(trials, self.runs_dir, jobs, progress, self.settings.snapshots, desc)
        self.timings[desc] = time.perf_counter() - start
        return outcome

    def _load(self, trials) -> list:
        return [RunResult.load(t, self.runs_dir / t.name) for t in trials]

    # -- findings ---------------------------------------------------------------
    def findings(self) -> list:
        """One :class:`SectionFindings` per question, from the finished runs."""
        q = self.question_trials()
        groups = {key: {title: self._load(trials) for title, trials in g.items()}
                  for key, g in q.items()}
        together = {"": self._load(self.final_trials())}
        classes = self.train.classes
        self.final_facts = final_model_facts(ranked(together[""])[0], self.settings.tsne_points)
        return [lr_findings(groups["lr"], self, classes),
                k_findings(groups["k"], groups["lr"][""], self),
                init_findings(groups["init"], self),
                activation_findings(groups["activations"], self, classes),
                together_findings(together, self, groups, self.final_facts)]


INIT_NAMES = {"uniform": "uniform(−1, 1)", "normal": "normal 1/√n", "he": "He √(2/n)",
              "xavier": "Xavier √(2/(n_in+n_out))"}
LOSS_NAMES = {"sse": "½Σ(y−t)²", "ce": "cross-entropy", "mse": "mean squared error"}


# ---------------------------------------------------------------------------
# Each question's finding, generated from the numbers
# ---------------------------------------------------------------------------
def _best_sentence(best, baseline, what, iterations):
    text = (f"{what(best)} reached the highest validation accuracy by iteration "
            f"{iterations}: {pct(best.final_val)}")
    if best is baseline:
        return text + ", the assignment's own setting."
    return (text + f", {points(best.final_val - baseline.final_val)} above the assignment's "
            f"{what(baseline)} ({pct(baseline.final_val)}).")


def _speed_sentence(results, what, target, iterations):
    """Which run first reached ``target`` validation accuracy, and which never did."""
    reached = [(iterations_to(r.history, target), r) for r in results]
    fast = [(it, -r.final_val, i) for i, (it, r) in enumerate(reached) if it is not None]
    never = [what(r) for it, r in reached if it is None]
    text = ""
    if fast:
        it, _, i = min(fast)  # ties: the one that ended higher
        text = f"Fastest to {pct(target)} validation accuracy: {what(reached[i][1])}, at iteration {it}."
    if never:
        text += (f" {join_words(never)} never reached {pct(target)} within {iterations} "
                 f"iterations.")
    return text.strip()


def lr_findings(groups, study, classes=None) -> SectionFindings:
    runs = groups[""]
    n = study.settings.iterations
    def what(r):
        return f"lr {lr_text(r.config.lr)} (×{r.config.lr / study.lr:.3g})"
    order = ranked(runs)
    best = order[0]
    baseline = min(runs, key=lambda r: abs(r.config.lr / study.lr - 1))
    target = target_for(runs)
    sentences = [_best_sentence(best, baseline, what, n), _speed_sentence(runs, what, target, n)]
    by_lr = sorted(runs, key=lambda r: r.config.lr)
    lowest, highest = by_lr[0], by_lr[-1]
    if lowest is not best:
        sentences.append(f"The smallest, {what(lowest)}, removed {pct(lowest.loss_drop())} of "
                         f"its starting loss in {n} iterations (the best removed "
                         f"{pct(best.loss_drop())}): steps too small to get far.")
    fate = _fate(highest, classes)
    if highest is not best and fate:
        sentences.append(f"The largest, {what(highest)}, {fate}.")
    elif highest is not best:
        sentences.append(f"The largest, {what(highest)}, ended at {pct(highest.final_val)}.")
    if not best.diverged:
        ratios = {r.trial.name: r.update_ratio(0) for r in runs if not r.diverged}
        sentences.append(
            f"In the panels, the size of a step relative to the weights (RMS of ΔW ÷ RMS of W "
            f"in layer 1, last step) was {ratios[best.trial.name]:.1e} for the best lr, "
            + ", ".join(f"{r.update_ratio(0):.1e} for ×{r.config.lr / study.lr:.3g}"
                        for r in by_lr if not r.diverged and r is not best)
            + " (a common rule of thumb is about 1e-3).")
    return SectionFindings("lr", "1. Learning rate", groups, sentences,
                           {"best_lr": best.config.lr, "best_accuracy": best.final_val,
                            "baseline_accuracy": baseline.final_val, "target": target})


def k_findings(groups, lr_runs, study) -> SectionFindings:
    runs = groups[""]
    n = study.settings.iterations
    def what(r):
        return f"k = {r.config.k:g}"
    best = ranked(runs)[0]
    baseline = next(r for r in runs if r.config.k == 1)
    sentences = [_best_sentence(best, baseline, what, n),
                 _speed_sentence(runs, what, target_for(runs), n)]
    by_k = sorted(runs, key=lambda r: r.config.k)
    sat = {r.config.k: r.layer_stat(0, "saturation") for r in by_k}
    sentences.append(
        "Share of layer-1 outputs on a flat end of σ(kx) (below 0.01 or above 0.99, where "
        "the slope is under 4% of its peak) at the last iteration: "
        + ", ".join(f"{pct(sat[k])} for k = {k:g}" for k in sat) + ".")
    grads = {r.config.k: r.layer_stat(0, "grad_rms", 0) for r in by_k}
    smallest = by_k[0]
    if smallest.config.k < 1:
        sentences.append(
            f"With k = {smallest.config.k:g} the gradient reaching layer 1 at the first "
            f"iteration was {grads[smallest.config.k] / grads[1.0]:.2g}× that of k = 1 "
            f"(σ'(kx) carries a factor k): like a smaller learning rate.")
    same = [r for r in lr_runs if r.config.k == 1]
    for r in by_k:
        twin = next((l for l in same if math.isclose(l.config.lr, study.lr * r.config.k)), None)
        if r.config.k not in (1,) and r.config.k > 1 and twin is not None:
            chance = 1.5 / study.train.num_classes
            if max(r.final_val, twin.final_val) <= chance:
                verdict = "neither had learned much yet."
            elif abs(r.final_val - twin.final_val) < 0.02:
                verdict = "here k acted much like a learning-rate factor."
            else:
                verdict = ("k is more than a learning-rate factor; it also moves outputs onto "
                           "the flat ends (above).")
            sentences.append(
                f"k = {r.config.k:g} at the base lr reached {pct(r.final_val)}, while k = 1 "
                f"with lr ×{r.config.k:g} reached {pct(twin.final_val)}: {verdict}")
            break
    forward = sum(r.extras["checked_forward"] for r in runs)
    backward = sum(r.extras["checked_backward"] for r in runs)
    errors = collections.Counter()
    for r in runs:
        errors.update(r.extras["numpy_errors"])
    warned = sum(r.extras["runtime_warnings"] for r in runs)
    overflow = errors["overflow"]
    sentences.append(
        f"{overflow} overflow warnings: NumPy's floating-point errors were counted in "
        f"{forward} forward and {backward} backward passes of these {len(runs)} runs "
        f"({errors['overflow']} overflow, {errors['invalid value']} invalid, "
        f"{errors['divide by zero']} divide-by-zero; {warned} RuntimeWarnings elsewhere).")
    steep = by_k[-1]
    naive = steep.extras["naive_sigmoid_overflows"]
    if naive:
        sentences.append(
            f"The assignment's formula 1/(1 + e^(−kx)) would have warned \"overflow encountered "
            f"in exp\" on {naive} pre-activation values in the k = {steep.config.k:g} run (k·x "
            f"went down to {steep.extras['lowest_kx']:.4g}; e^(−kx) exceeds float32 below "
            f"−88.72), although 1/(1 + ∞) = 0 is the right value there; the library's sigmoid "
            f"computed them with the {overflow} warnings counted above.")
    else:
        sentences.append(
            f"Even the assignment's formula 1/(1 + e^(−kx)) would not have overflowed here: "
            f"the lowest k·x in the k = {steep.config.k:g} run was "
            f"{steep.extras['lowest_kx']:.4g}, above float32's limit of −88.72.")
    return SectionFindings("k", "2. Sigmoid steepness k", groups, sentences,
                           {"best_k": best.config.k, "best_accuracy": best.final_val,
                            "overflow_warnings": overflow, "checked_forward": forward})


def _constant_answer_loss(study) -> float:
    """½Σ(y−t)² over the training set when every output is 1/C: the first plateau of training."""
    c = study.train.num_classes
    return 0.5 * study.n_train * ((1 - 1 / c) ** 2 + (c - 1) / c ** 2)


def init_findings(groups, study) -> SectionFindings:
    runs = groups[""]
    n = study.settings.iterations
    def what(r):
        return INIT_NAMES.get(r.config.init, r.config.init)
    best = ranked(runs)[0]
    baseline = next(r for r in runs if r.config.init == "uniform")
    sentences = [_best_sentence(best, baseline, what, n),
                 _speed_sentence(runs, what, target_for(runs), n)]
    # What the first snapshot's histograms show: how wide the outputs are, how many saturate.
    spread = {what(r): r.activation_spread(0) for r in runs}
    flat = {what(r): r.layer_stat(0, "saturation", 0) for r in runs}
    grad = {what(r): r.layer_stat(0, "grad_rms", 0) for r in runs}
    sentences.append(
        "At the first iteration (the histograms), layer 1's outputs had a spread (std) of "
        + ", ".join(f"{spread[name]:.2f} with {name}" for name in spread)
        + "; the share of them on a flat end of the sigmoid was "
        + ", ".join(f"{pct(flat[name])} with {name}" for name in flat) + ".")
    g0 = grad[what(baseline)]
    text = ("The gradient reaching layer 1 at the first iteration (RMS) was "
            + ", ".join(f"{g / g0:.2g}× uniform's with {name}" for name, g in grad.items()
                        if name != what(baseline)))
    if max(grad, key=grad.get) == what(best):
        text += (f". The init with the largest first gradient learned fastest: at this fixed "
                 f"learning rate and {n} iterations, the size of the steps mattered more than "
                 f"healthier-looking activations")
    sentences.append(text + ".")
    plateau = _constant_answer_loss(study)
    stuck = [r for r in runs if r.config.loss == "sse" and abs(r.final_loss / plateau - 1) < 0.1]
    if stuck:
        sentences.append(
            f"{join_words(what(r) for r in stuck)} ended with a loss of "
            f"{join_words(f'{r.final_loss:.4g}' for r in stuck)}, within 10% of "
            f"{plateau:.4g}, the loss of a net that answers 1/{study.train.num_classes} on "
            f"every output for every image (½·N·(1 − 1/C)): at iteration {n} their output "
            f"layers had learned little more than that average answer.")
    return SectionFindings("init", "3. Initialization", groups, sentences,
                           {"best_init": best.config.init, "best_accuracy": best.final_val})


def activation_findings(groups, study, classes=None) -> SectionFindings:
    n = study.settings.iterations
    sentences = []
    tanh = groups["tanh vs sigmoid"]
    for init in dict.fromkeys(r.config.init for r in tanh):
        pair = {r.config.activation: r for r in tanh if r.config.init == init}
        s, t = pair["sigmoid"], pair["tanh"]
        winner, loser = (t, s) if t.final_val > s.final_val else (s, t)
        text = (f"With {INIT_NAMES[init]} init, {winner.config.activation} reached "
                f"{pct(winner.final_val)} and {loser.config.activation} {pct(loser.final_val)} "
                f"by iteration {n}")
        if t.layer_stat(-1, "saturation") > 0.5:
            text += (f"; {pct(t.layer_stat(-1, 'saturation'))} of tanh's output-layer values sat "
                     f"on a flat end (|y| > 0.99): tanh's outputs range over (−1, 1) while the "
                     f"targets are 0 and 1")
        fate = _fate(loser, classes)
        sentences.append(text + (f"; {loser.config.activation} {fate}" if fate else "") + ".")
    losses = groups["cross-entropy vs ½Σ(y−t)²"]
    for init in dict.fromkeys(r.config.init for r in losses):
        pair = {r.config.loss: r for r in losses if r.config.init == init}
        ce, sse = pair["ce"], pair["sse"]
        sentences.append(
            f"Cross-entropy vs ½Σ(y−t)² (sigmoid, {INIT_NAMES[init]}): {pct(ce.final_val)} vs "
            f"{pct(sse.final_val)} ({points(ce.final_val - sse.final_val)}); the first step "
            f"changed the output layer's weights {_step_ratio(ce, sse, -1):.2g}× and layer "
            f"1's {_step_ratio(ce, sse, 0):.2g}× as much with cross-entropy (its gradient "
            f"has no σ'(output) factor, which is near 0 for a confidently wrong output).")
    relu = groups["ReLU and ReLU6"]
    best_relu = ranked(relu)[0]
    sentences.extend(relu_sentences(relu, n, classes))
    return SectionFindings("activations", "4. Tanh, cross-entropy, ReLU and ReLU6", groups,
                           sentences, {"best_relu": best_relu.label,
                                       "best_relu_accuracy": best_relu.final_val})


def relu_sentences(runs, iterations, classes=None) -> list:
    """ReLU and ReLU6: how each loss did, how many units died and when."""
    sentences = []
    for loss in dict.fromkeys(r.config.loss for r in runs):
        group = [r for r in runs if r.config.loss == loss]
        best = ranked(group)[0]
        collapsed = [r for r in group if (r.dominant_class() or (0, 0))[1] >= 0.99]
        text = (f"Under {LOSS_NAMES[loss]}, the best of {len(group)} ReLU/ReLU6 runs was "
                f"{best.label} at {pct(best.final_val)}")
        if collapsed:
            text += (f"; {len(collapsed)} of them predicted a single class for at least 99% of "
                     f"the validation images")
        if loss == "sse":
            text += " (the output units are ReLUs too: an output unit that dies stays at 0)"
        sentences.append(text + ".")
    alive = [r for r in runs if r.records is not None]
    if alive:
        sentences.append(
            f"Dead units (never fire on any training image) at iteration {iterations}, layer 1 "
            f"and layer 2: " + "; ".join(
                f"{r.label}: " + ", ".join(f"{d}/{u}" for d, u in
                                           (r.dead_units(i) for i in range(len(r.records.layers) - 1)))
                for r in alive) + ".")
        worst = max(alive, key=lambda r: r.layer_stat(0, "dead"))
        before, _ = worst.dead_units(0, 0)
        after, units = worst.dead_units(0)
        if after > before:
            dead = worst.records.get(0, "dead")
            first = int(np.argmax(dead >= dead[-1]))  # first snapshot at the final count
            died_by, last = int(worst.records.iteration[first]), int(worst.records.iteration[-1])
            stayed = (f" and stayed at that count to iteration {last}: a unit whose input is "
                      f"negative for every image gets zero gradient, so nothing brings it back"
                      if last > died_by and np.all(dead[first:] == dead[-1]) else "")
            sentences.append(
                f"Most deaths: {worst.label}, layer 1 went from {before} dead units at iteration 1 "
                f"to {after} of {units} by iteration {died_by}{stayed}.")
    sentences.extend(_relu6_twins(runs))
    for r in runs:
        if r.diverged:
            sentences.append(f"{r.label} {_fate(r, classes)}.")
    return sentences


def _relu6_twins(runs) -> list:
    """ReLU6 runs whose history equals the matching ReLU run's: the cap at 6 never acted."""
    sentences = []
    for r6 in (r for r in runs if r.config.activation == "relu6"):
        twin = next((r for r in runs if r.config.activation == "relu"
                     and r.config.replace(activation="relu6") == r6.config), None)
        if twin is None or twin.history.loss != r6.history.loss:
            continue
        capped = max(np.nanmax(r6.records.get(layer, "saturation"))
                     for layer in range(len(r6.records.layers) - 1)) if r6.records else math.nan
        why = (": no hidden output ever reached the cap of 6, so ReLU6 computed exactly what ReLU "
               "did" if capped == 0 else "")
        sentences.append(f"{r6.label} had exactly the same loss at every iteration as "
                         f"{twin.label}{why}.")
    return sentences


def _step_ratio(a: RunResult, b: RunResult, layer: int) -> float:
    """How much larger ``a``'s first update of ``layer`` was than ``b``'s (RMS of ΔW).

    Updates, not gradients: a loss averaged over the batch has N times smaller
    gradients but an N times larger learning rate here.
    """
    return a.layer_stat(layer, "update_rms", 0) / max(b.layer_stat(layer, "update_rms", 0), 1e-30)


def _cosine_sentence(by_lr) -> str:
    """Cosine vs constant at each learning rate: accuracy, and the losses when accuracy ties
    (a small validation set often gives both the same count of right answers)."""
    parts = []
    for lr, d in sorted(by_lr.items()):
        if not {"cosine", "constant"} <= set(d):
            continue
        cos, const = d["cosine"], d["constant"]
        text = f"at lr {lr_text(lr)}: {pct(cos.final_val)} vs {pct(const.final_val)}"
        if math.isclose(cos.final_val, const.final_val):
            text += (f" (a tie; training loss {cos.final_loss:.3g} vs {const.final_loss:.3g}, "
                     f"validation loss {cos.history.val_loss[-1]:.3g} vs "
                     f"{const.history.val_loss[-1]:.3g})")
        parts.append(text)
    return ("Cosine schedule vs constant learning rate, final validation accuracy "
            + "; ".join(parts) + ".")


def a_or_an(word: str) -> str:
    """"an 8", "a 3", "an Ankle boot": the article as it is spoken."""
    spoken_vowel = word[:1].lower() in "aeio8" or word in ("11", "18") or word.startswith("11")
    return f"{'an' if spoken_vowel else 'a'} {word}"


def describe(config: RunConfig) -> str:
    """A run's set-up in words: "relu, He √(2/n) init, cross-entropy, lr 0.6"."""
    act = config.activation + (f" (k = {config.k:g})" if config.activation in ("sigmoid", "tanh")
                               and config.k != 1 else "")
    return (f"{act}, {INIT_NAMES.get(config.init, config.init)} init, "
            f"{LOSS_NAMES.get(config.loss, config.loss)}, lr {lr_text(config.lr)}")


def changes_from(config: RunConfig, base: RunConfig) -> list:
    """What differs from the assignment's set-up, in words ("init uniform → he")."""
    names = {"activation": "activation", "k": "k", "init": "init", "loss": "loss"}
    return [f"{label} {getattr(base, name)} → {getattr(config, name)}"
            for name, label in names.items() if getattr(config, name) != getattr(base, name)]


def together_findings(groups, study, question_groups, facts) -> SectionFindings:
    runs = groups[""]
    picked = study.best_question_run()
    best = ranked(runs)[0]
    baseline = next(r for r in question_groups["lr"][""] if math.isclose(r.config.lr, study.lr))
    n_final = study.settings.final_iterations
    n = study.settings.iterations
    changed = changes_from(picked.config, study.base)
    sentences = [
        f"Starting point, chosen from the measurements: the best of all {n}-iteration runs of "
        f"questions 1-4 was {describe(picked.config)} ({pct(picked.final_val)})"
        + (f"; its changes from the assignment's set-up: {join_words(changed)}" if changed
           else ", the assignment's own set-up")
        + f". It was trained for {n_final} iterations with learning rates "
          f"{join_words(sorted({lr_text(r.config.lr) for r in runs}))}, each with a "
          f"{' and a '.join(sorted({r.config.schedule for r in runs}))} schedule.",
        f"Best: {best.label}: validation accuracy {pct(best.final_val)}, test accuracy "
        f"{pct(best.test_accuracy)}; the assignment's set-up (question 1, lr ×1, {n} "
        f"iterations) reached {pct(baseline.test_accuracy)} on the test set "
        f"({points(best.test_accuracy - baseline.test_accuracy)}).",
    ]
    early = best.val_at(n)
    if early is not None:
        sentences.append(f"At iteration {n} the combined run was already at {pct(early)} "
                         f"validation accuracy (the assignment's set-up: "
                         f"{pct(baseline.final_val)}).")
    val_loss = best.history.val_loss
    if val_loss:
        lowest = int(np.argmin(val_loss))
        if val_loss[-1] > 1.1 * val_loss[lowest]:
            sentences.append(
                f"Its validation loss was lowest at iteration {best.history.eval_iteration[lowest]} "
                f"({val_loss[lowest]:.3g}) and ended at {val_loss[-1]:.3g}, while the training "
                f"loss kept falling (to {best.final_loss:.3g}): past that point the net fits the "
                f"training images more than it learns about new ones (overfitting).")
    by_lr = collections.defaultdict(dict)
    for r in runs:
        by_lr[r.config.lr][r.config.schedule] = r
    cosine_deltas = [(lr, d["cosine"].final_val - d["constant"].final_val)
                     for lr, d in sorted(by_lr.items()) if {"cosine", "constant"} <= set(d)]
    if cosine_deltas:
        sentences.append(_cosine_sentence(by_lr))
    true, predicted, count = facts["mistake"]
    worst, recall = facts["worst_class"]
    tied = facts["tied_mistakes"]
    also = (f", as often as {join_words(f'{a_or_an(t)} read as {p}' for t, p in tied[:3])}"
            + (f" and {len(tied) - 3} more" if len(tied) > 3 else "") if tied else "")
    mistake = (f"the most frequent mistake was {a_or_an(true)} read as {predicted} "
               f"({count} time{'s' if count != 1 else ''}{also})" if count
               else "no test image was misread")
    sentences.append(
        f"Confusion matrix (test set): {mistake}; the class recognised worst was {worst} "
        f"({pct(recall)} of its images right).")
    agreement = facts["agreement"]
    picture = ("so the classes form separate clusters" if agreement >= 0.9 else
               "so clusters form but overlap in places" if agreement >= 0.6 else
               "so the classes are still largely mixed")
    sentences.append(
        f"t-SNE map of layer {facts['tsne_layer'] + 1}'s outputs on {facts['tsne_points']} test "
        f"images: for {pct(agreement)} of them, most of their 5 nearest neighbours in that "
        f"layer's space have the same class, {picture}.")
    return SectionFindings("together", "5. Everything together", groups, sentences,
                           {"best": best.label, "best_accuracy": best.final_val,
                            "best_test_accuracy": best.test_accuracy,
                            "baseline_test_accuracy": baseline.test_accuracy})


# ---------------------------------------------------------------------------
# The final model, looked at on the test set
# ---------------------------------------------------------------------------
def confusion_facts(y_true, y_pred, classes) -> dict:
    """The most frequent mistake and the class recognised worst, from a confusion matrix."""
    from sklearn.metrics import confusion_matrix

    n = len(classes)
    counts = confusion_matrix(y_true, y_pred, labels=np.arange(n))
    mistakes = counts.copy()
    np.fill_diagonal(mistakes, 0)
    true, predicted = np.unravel_index(np.argmax(mistakes), mistakes.shape)
    tied = [(str(classes[i]), str(classes[j])) for i, j in zip(*np.nonzero(mistakes == mistakes.max()))
            if (i, j) != (true, predicted)]
    per_class = counts.sum(axis=1)
    recall = np.divide(np.diag(counts), per_class, out=np.full(n, np.inf), where=per_class > 0)
    worst = int(np.argmin(recall))
    return {"accuracy": float(np.trace(counts) / max(counts.sum(), 1)),
            "mistake": (str(classes[true]), str(classes[predicted]), int(mistakes[true, predicted])),
            "tied_mistakes": tied if mistakes.max() > 0 else [],
            "worst_class": (str(classes[worst]), float(recall[worst]))}


def neighbour_agreement(features: np.ndarray, labels: np.ndarray, k: int = 5) -> float:
    """Share of examples whose k nearest neighbours (in ``features``) are mostly of their class.

    This is what a t-SNE map of the same features shows as clean clusters, measured
    in the layer's own space rather than in the picture.
    """
    from sklearn.neighbors import NearestNeighbors

    k = min(k, len(features) - 1)
    index = NearestNeighbors(n_neighbors=k + 1).fit(features)
    _, neighbours = index.kneighbors(features)
    votes = labels[neighbours[:, 1:]]  # column 0 is the example itself
    return float(np.mean((votes == labels[:, None]).sum(axis=1) > k / 2))


def final_model_facts(result: RunResult, max_points: int = 1000) -> dict:
    """Load the trained model of ``result`` and measure it on the test set."""
    from viz.plot_eval import default_tsne_layer, layer_outputs, sample_indices
    from .experiment import load_run

    config, model, _, test = load_run(result.run_dir)
    _, _, predicted = evaluate(model, test, config.loss)
    layer = default_tsne_layer(model)
    idx = sample_indices(len(test), max_points, config.seed)
    features = layer_outputs(model, test.X[idx], layer)
    return {"model": model, "test": test, "predicted": predicted, "tsne_layer": layer,
            "tsne_points": len(idx),
            "agreement": neighbour_agreement(features, test.y[idx]),
            **confusion_facts(test.y, predicted, test.classes)}
