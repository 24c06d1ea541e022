"""Sweeps: one training run per value of a config field (or per pair, for a grid of two fields).

    from tinygrad_lab.cli.experiment import RunConfig
    from tinygrad_lab.cli.sweep import run_sweep

    result = run_sweep(RunConfig(activation="sigmoid", loss="sse", optimizer="sgd"),
                       {"lr": [1e-6, 5e-6, 1e-5, 2e-5, 1e-4]}, "sweeps/lr", jobs=2)
    result.rows        # one dict per run: best/final val accuracy, test accuracy, ...

A sweep folder holds:

    sweep.json         the base config, the swept values and the target accuracy
    lr=1e-05/ ...      one ordinary run folder per run (for `tinygrad-lab report`)
    curves.png         training loss and validation accuracy of every run, overlaid
    summary.csv        one row per run (numbers as numbers)
    summary.md         the same as a table to read, with the best run named

Runs go to a pool of worker processes, one per core. Each run's folder is complete
(its summary.json is written last) before it counts as done, so a sweep that is
interrupted and started again skips the finished runs and redoes the half-written
ones. A run whose loss becomes NaN/inf is a result ("diverged"), not a crash.
"""
from __future__ import annotations

import concurrent.futures as futures
import csv
import itertools
import json
import multiprocessing
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..files import write_json
from ..train import History, TrainingDiverged
from .experiment import RunConfig, build_model, build_optimizer, build_schedule, run

__all__ = ["SweepRun", "SweepResult", "parse_set", "plan_sweep", "run_sweep", "is_finished",
           "summary_rows", "write_summary", "plot_curves"]


# ---------------------------------------------------------------------------
# Planning: which runs, with which configs, in which folders
# ---------------------------------------------------------------------------
@dataclass
class SweepRun:
    """One run of a sweep: the swept values, the full config and the folder name."""

    name: str
    values: dict
    config: RunConfig


def parse_set(text: str):
    """``"lr=1e-6,5e-6"`` → ``("lr", [1e-06, 5e-06])``, each value typed by RunConfig.parse_value."""
    name, sep, values = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise ValueError(f"--set takes FIELD=VALUE,VALUE,... (e.g. lr=1e-5,2e-5), got {text!r}")
    items = [v for v in values.split(",") if v.strip()]
    if not items:
        raise ValueError(f"--set {name}= lists no values; give them comma-separated")
    try:
        parsed = [RunConfig.parse_value(name, v) for v in items]
    except ValueError as err:
        hint = " (write hidden widths like 256-128)" if name == "hidden" else ""
        raise ValueError(f"--set {text}: {err}{hint}") from None
    return name, parsed


def format_value(value) -> str:
    """A value as it appears in a folder name and a legend: 1e-05, 0.5, 256-128, full."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (tuple, list)):
        return "-".join(format_value(v) for v in value)
    if value is None:
        return "none"
    return str(value).replace("/", "_").replace(os.sep, "_")


def run_name(values: dict) -> str:
    return "_".join(f"{name}={format_value(v)}" for name, v in values.items())


def plan_sweep(base: RunConfig, grid: dict) -> list:
    """Every combination of the grid's values on top of ``base``, each checked before anything runs.

    ``grid``: {field: [values]}, one field (a line of runs) or two (a grid). Raises
    ValueError for an unknown field, a bad value or two values with the same folder name.
    """
    if not grid:
        raise ValueError("nothing to sweep: give at least one --set FIELD=V1,V2,...")
    if len(grid) > 2:
        raise ValueError(f"sweep at most two fields at once (a grid); got {len(grid)}: "
                         f"{', '.join(grid)}. Sweep the others in a second sweep.")
    runs, seen = [], {}
    for combo in itertools.product(*grid.values()):
        values = dict(zip(grid, combo))
        name = run_name(values)
        if name in seen:
            raise ValueError(f"the values {seen[name]} and {values} give the same run folder "
                             f"{name!r}; list each value once")
        seen[name] = values
        try:
            config = base.replace(**values)
            _dry_build(config)
        except ValueError as err:
            raise ValueError(f"run {name}: {err}") from None
        runs.append(SweepRun(name, values, config))
    return runs


def _dry_build(config: RunConfig):
    """Build a tiny model, optimizer and schedule: a bad name fails now, not in a worker later."""
    model = build_model(config, 4, 3)
    build_optimizer(config, model)
    build_schedule(config, 10)


# ---------------------------------------------------------------------------
# One run, in a worker process
# ---------------------------------------------------------------------------
def _config_json(config: RunConfig) -> dict:
    """The config as it reads back from config.json (tuples become lists)."""
    return json.loads(json.dumps(config.to_dict()))


def is_finished(run_dir, config: RunConfig) -> bool:
    """True when ``run_dir`` holds a complete run of exactly ``config`` (summary.json is written last)."""
    run_dir = Path(run_dir)
    try:
        saved = json.loads((run_dir / "config.json").read_text())
        json.loads((run_dir / "summary.json").read_text())
        History.load(run_dir / "history.json")
    except (OSError, ValueError):
        return False  # missing or half-written
    return saved == _config_json(config)


def train_one(config_dict: dict, run_dir: str, record: bool = False) -> dict:
    """Train one run into ``run_dir`` (emptied first); return {"status", "error", "summary", ...}.

    Runs in a worker process, so it takes and returns plain data (the outcome also
    holds the run's ``summary``). A run that diverges writes its history so far and a
    summary marked ``"diverged": true``.
    """
    out = Path(run_dir)
    if out.exists():
        shutil.rmtree(out)  # a half-written or outdated run: start it afresh
    config = RunConfig.from_dict(config_dict)
    callbacks = []
    if record:
        from viz.record import Recorder
        callbacks.append(Recorder(out))
    start = time.perf_counter()
    try:
        _, _, summary = run(config, out, callbacks=callbacks, progress=False)
    except TrainingDiverged as err:
        history = err.history or History()
        history.save(out / "history.json")
        summary = {**history.summary(), "diverged": True, "error": str(err),
                   "dataset": config.dataset}
        write_json(out / "summary.json", summary)
        return {"status": "diverged", "error": str(err), "summary": summary,
                "seconds": time.perf_counter() - start}
    return {"status": "done", "error": None, "summary": summary,
            "seconds": time.perf_counter() - start}


def _one_blas_thread():
    """Worker start-up: one process per core already uses every core, so each keeps
    NumPy's BLAS to one thread instead of fighting the others for the same cores."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(1)


def _pool_context():
    # Not "fork": forking a process that already runs threads (BLAS, tqdm) can deadlock.
    # "forkserver" starts workers from a clean server process; "spawn" where it is missing.
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    return multiprocessing.get_context(method)


def _execute(todo, out_dir, jobs, record):
    """Yield (run, outcome) as runs finish, ``jobs`` at a time (in this process when jobs == 1)."""
    if jobs == 1:
        for r in todo:
            yield r, _guarded(r, out_dir, record)
        return
    pool = futures.ProcessPoolExecutor(max_workers=jobs, mp_context=_pool_context(),
                                       initializer=_one_blas_thread)
    try:
        pending = {pool.submit(train_one, r.config.to_dict(), str(out_dir / r.name), record): r
                   for r in todo}
        for done in futures.as_completed(pending):
            r = pending[done]
            try:
                yield r, done.result()
            except Exception as err:  # noqa: BLE001 - one failed run must not end the sweep
                yield r, {"status": "failed", "error": f"{type(err).__name__}: {err}",
                          "seconds": None}
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)  # Ctrl-C: finished runs stay on disk
        raise
    pool.shutdown()


def _guarded(r, out_dir, record):
    try:
        return train_one(r.config.to_dict(), str(out_dir / r.name), record)
    except Exception as err:  # noqa: BLE001 - same contract as a worker process
        return {"status": "failed", "error": f"{type(err).__name__}: {err}", "seconds": None}


# ---------------------------------------------------------------------------
# The whole sweep
# ---------------------------------------------------------------------------
@dataclass
class SweepResult:
    """What a sweep did: the table rows, and which runs were skipped, run or failed."""

    out_dir: Path
    runs: list
    rows: list
    skipped: list = field(default_factory=list)
    trained: list = field(default_factory=list)
    failed: dict = field(default_factory=dict)

    @property
    def best(self):
        """The row with the highest best validation accuracy (None if no run has one)."""
        scored = [r for r in self.rows if r["best_val_accuracy"] is not None]
        return max(scored, key=lambda r: r["best_val_accuracy"]) if scored else None


def run_sweep(base: RunConfig, grid: dict, out_dir, jobs=None, target=0.9, record=False,
              progress=None, on_result=None) -> SweepResult:
    """Train every run of the grid into ``out_dir``, then write the curves and summary tables.

    ``jobs``: worker processes (default: one per core). ``target``: the validation
    accuracy whose first iteration the summary reports. ``progress``: a tqdm bar over
    runs (default: when stderr is a terminal). ``on_result(run, outcome)``: called as
    each run finishes (the command prints a line). Finished runs of the same config are
    skipped, so calling it again after an interruption only does what is missing.
    """
    if not 0 < target <= 1:
        raise ValueError(f"target must be a validation accuracy in (0, 1], got {target}")
    runs = plan_sweep(base, grid)
    jobs = (os.cpu_count() or 1) if jobs is None else int(jobs)
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "sweep.json", {"base": base.to_dict(), "grid": {
        k: [v if not isinstance(v, tuple) else list(v) for v in vs] for k, vs in grid.items()},
        "target": target, "runs": [r.name for r in runs]})

    result = SweepResult(out, runs, [])
    result.skipped = [r.name for r in runs if is_finished(out / r.name, r.config)]
    todo = [r for r in runs if r.name not in result.skipped]
    bar = _progress(len(runs), len(result.skipped), progress)
    try:
        for r, outcome in _execute(todo, out, min(jobs, max(len(todo), 1)), record):
            if outcome["status"] == "failed":
                result.failed[r.name] = outcome["error"]
            else:
                result.trained.append(r.name)
            if on_result is not None:
                on_result(r, outcome)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    result.rows = summary_rows(runs, out, target, result.failed)
    write_summary(result.rows, out, list(grid), target)
    plot_curves(runs, out, list(grid), target)
    return result


def _progress(total, done, progress):
    import sys
    if progress is None:
        progress = sys.stderr.isatty()
    if not progress:
        return None
    from tqdm import tqdm
    return tqdm(total=total, initial=done, unit="run", desc="sweep", dynamic_ncols=True)


# ---------------------------------------------------------------------------
# Summary tables
# ---------------------------------------------------------------------------
def iterations_to(history: History, target: float):
    """The first evaluated iteration whose validation accuracy reached ``target``, or None."""
    for it, acc in zip(history.eval_iteration, history.val_accuracy):
        if acc >= target:
            return it
    return None


def summary_rows(runs, out_dir, target, failed=None) -> list:
    """One dict per run, in sweep order, read from the run folders."""
    rows = []
    for r in runs:
        row = {"run": r.name, **{k: format_value(v) for k, v in r.values.items()},
               "status": "failed", "final_val_accuracy": None, "best_val_accuracy": None,
               "test_accuracy": None, "iterations_to_target": None, "diverged": False,
               "final_loss": None, "iterations": None, "train_seconds": None}
        run_dir = Path(out_dir) / r.name
        if (failed and r.name in failed) or not is_finished(run_dir, r.config):
            row["error"] = (failed or {}).get(r.name, "did not finish")
            rows.append(row)
            continue
        summary = json.loads((run_dir / "summary.json").read_text())
        history = History.load(run_dir / "history.json")
        diverged = bool(summary.get("diverged"))
        row.update(status="diverged" if diverged else "done", diverged=diverged,
                   final_val_accuracy=summary.get("final_val_accuracy"),
                   best_val_accuracy=summary.get("best_val_accuracy"),
                   test_accuracy=summary.get("test_accuracy"),
                   iterations_to_target=iterations_to(history, target),
                   final_loss=summary.get("final_loss"), iterations=summary.get("iterations"),
                   train_seconds=summary.get("train_seconds"))
        rows.append(row)
    return rows


def _percent(x):
    return "—" if x is None else f"{x:.1%}"


def _target_label(target):
    return f"{target * 100:g}%"  # 0.9 → 90%, 0.925 → 92.5%


def write_summary(rows, out_dir, fields, target):
    """summary.csv (numbers as numbers, "never" for a target not reached) and summary.md."""
    out = Path(out_dir)
    columns = ["run", *fields, "status", "final_val_accuracy", "best_val_accuracy",
               "test_accuracy", "iterations_to_target", "diverged", "final_loss", "iterations",
               "train_seconds"]
    with open(out / "summary.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for row in rows:
            cells = dict(row)
            if cells["status"] != "failed" and cells["iterations_to_target"] is None:
                cells["iterations_to_target"] = "never"
            writer.writerow(["" if cells.get(c) is None else cells[c] for c in columns])

    head = [*fields, "final val acc", "best val acc", "test acc", f"iters to {_target_label(target)}",
            "diverged", "final loss"]
    lines = [f"# Sweep over {' × '.join(fields)}", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        reach = ("—" if row["status"] == "failed" else
                 "never" if row["iterations_to_target"] is None else str(row["iterations_to_target"]))
        diverged = "failed" if row["status"] == "failed" else "yes" if row["diverged"] else "no"
        loss = "—" if row["final_loss"] is None else f"{row['final_loss']:.4g}"
        cells = [*(str(row[f]) for f in fields), _percent(row["final_val_accuracy"]),
                 _percent(row["best_val_accuracy"]), _percent(row["test_accuracy"]), reach,
                 diverged, loss]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines += _findings(rows, fields, target)
    (out / "summary.md").write_text("\n".join(lines) + "\n")


def _findings(rows, fields, target):
    """Sentences about this sweep's numbers (the best run, who reached the target first)."""
    def label(row):
        return ", ".join(f"{f}={row[f]}" for f in fields)

    notes = []
    scored = [r for r in rows if r["best_val_accuracy"] is not None]
    if scored:
        best = max(scored, key=lambda r: r["best_val_accuracy"])
        notes.append(f"- Highest validation accuracy: {label(best)} "
                     f"({_percent(best['best_val_accuracy'])}, test "
                     f"{_percent(best['test_accuracy'])}).")
    reached = [r for r in rows if r["iterations_to_target"] is not None]
    if reached:
        fastest = min(reached, key=lambda r: r["iterations_to_target"])
        notes.append(f"- Fastest to {_target_label(target)} validation accuracy: {label(fastest)} "
                     f"(iteration {fastest['iterations_to_target']}).")
    else:
        notes.append(f"- No run reached {_target_label(target)} validation accuracy.")
    diverged = [label(r) for r in rows if r["diverged"]]
    if diverged:
        notes.append(f"- Diverged (loss became NaN/inf): {'; '.join(diverged)}.")
    failed = [f"{label(r)} ({r.get('error')})" for r in rows if r["status"] == "failed"]
    if failed:
        notes.append(f"- Failed: {'; '.join(failed)}.")
    return notes


# ---------------------------------------------------------------------------
# Overlaid curves
# ---------------------------------------------------------------------------
_LINESTYLES = ["-", "--", ":", "-."]


def _colors(values):
    """Ordered numbers get a sequential colormap (the order is visible); anything else tab10."""
    from matplotlib import colormaps
    distinct = list(dict.fromkeys(format_value(v) for v in values))
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    if numeric and len(distinct) > 1:
        ranked = sorted(dict.fromkeys(values))
        cmap = colormaps["plasma"]  # dark blue → orange; its pale yellow end is left out
        return {format_value(v): cmap(0.85 * i / (len(ranked) - 1)) for i, v in enumerate(ranked)}
    cmap = colormaps["tab10"]
    return {v: cmap(i % 10) for i, v in enumerate(distinct)}


def _smooth(y, window):
    if window <= 1 or len(y) < window:
        return np.asarray(y, dtype=float)
    kernel = np.ones(window) / window
    return np.convolve(np.asarray(y, dtype=float), kernel, mode="valid")


def plot_curves(runs, out_dir, fields, target, path=None):
    """curves.png: training loss (left) and validation accuracy (right) of every run, overlaid.

    Colour follows the first swept field (a sequential map for numbers, so that the
    order shows), line style the second. A dotted vertical line marks where a run diverged.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    out = Path(out_dir)
    colors = _colors([r.values[fields[0]] for r in runs])
    styles = {}
    if len(fields) > 1:
        styles = {format_value(v): _LINESTYLES[i % len(_LINESTYLES)]
                  for i, v in enumerate(dict.fromkeys(r.values[fields[1]] for r in runs))}
    histories = {}
    for r in runs:
        try:
            histories[r.name] = History.load(out / r.name / "history.json")
        except (OSError, ValueError):
            continue  # a failed run has no curve
    # Mini-batch losses jump from batch to batch; a moving average shows the trend.
    # A full-batch loss is already smooth and is drawn as it is.
    minibatch = any(r.config.batch_size != "full" for r in runs)
    longest = max((len(h.loss) for h in histories.values()), default=0)
    window = max(1, longest // 50) if minibatch else 1

    fig = Figure(figsize=(13, 5), layout="constrained")
    FigureCanvasAgg(fig)
    loss_ax, acc_ax = fig.subplots(1, 2)
    positive, drawn = True, []
    for r in runs:
        h = histories.get(r.name)
        if h is None or not h.iteration:
            continue
        color = colors[format_value(r.values[fields[0]])]
        style = styles.get(format_value(r.values[fields[1]]), "-") if len(fields) > 1 else "-"
        diverged = _diverged(out / r.name)
        label = ", ".join(f"{f}={format_value(r.values[f])}" for f in fields)
        label += " (diverged)" if diverged else ""
        loss = np.asarray(h.loss, dtype=float)
        finite = np.isfinite(loss)
        positive &= bool(np.all(loss[finite] > 0))
        smooth = _smooth(np.where(finite, loss, np.nan), window)
        xs = np.asarray(h.iteration[window - 1:] if window > 1 and len(loss) >= window
                        else h.iteration)
        loss_ax.plot(xs, smooth, color=color, linestyle=style, linewidth=1.8, label=label)
        drawn.append(smooth[np.isfinite(smooth)])
        if diverged:
            # Its last losses are far off the scale, so mark where it stopped on both panels.
            # (the legend says "(diverged)"; the line's colour says which run).
            for ax in (loss_ax, acc_ax):
                ax.axvline(h.iteration[-1] + 1, color=color, linestyle=":", linewidth=1.5)
        if h.val_accuracy:
            marker = "o" if len(h.val_accuracy) <= 30 else None
            acc_ax.plot(h.eval_iteration, h.val_accuracy, color=color, linestyle=style,
                        linewidth=1.8, marker=marker, markersize=3.5, label=label)
    if positive and _spans_decades(drawn):
        loss_ax.set_yscale("log")  # learning rates a decade apart give losses decades apart
    _robust_ylim(loss_ax, drawn, log=loss_ax.get_yscale() == "log")
    loss_ax.set_title("training loss" + (f" (moving average over {window} steps)"
                                         if window > 1 else ""))
    loss_ax.set_xlabel("iteration")
    loss_ax.set_ylabel("loss")
    acc_ax.axhline(target, color="0.45", linestyle="--", linewidth=1)
    acc_ax.annotate(f"target {_target_label(target)}", (0.01, target), xycoords=("axes fraction", "data"),
                    xytext=(0, 3), textcoords="offset points", color="0.35", fontsize=9)
    acc_ax.set_ylim(0, 1.02)
    acc_ax.set_title("validation accuracy")
    acc_ax.set_xlabel("iteration")
    acc_ax.set_ylabel("accuracy")
    for ax in (loss_ax, acc_ax):
        ax.grid(True, alpha=0.3)
    handles, labels = loss_ax.get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside right center", title=" × ".join(fields),
                   frameon=False)
    fig.suptitle(f"sweep over {' × '.join(fields)}: {len(histories)} runs")
    path = Path(path) if path is not None else out / "curves.png"
    fig.savefig(path, dpi=110)
    return path


def _spans_decades(curves):
    """True when the bulk of the loss values spans more than a factor of 20 (log scale helps)."""
    values = np.concatenate(curves) if curves else np.zeros(0)
    if values.size < 2 or values.min() <= 0:
        return False
    return np.quantile(values, 0.98) / values.min() > 20


def _robust_ylim(ax, curves, log):
    """Fit the y-axis to the bulk of the curves: one early spike (or a run on its way to
    diverging) would otherwise squash every other curve into a flat line at the bottom."""
    values = np.concatenate(curves) if curves else np.zeros(0)
    if values.size < 10:
        return
    lo, hi, top = values.min(), np.quantile(values, 0.98), values.max()
    if log:
        lo, hi, top = np.log10(lo), np.log10(hi), np.log10(top)
    pad = 0.08 * max(hi - lo, 1e-12)
    limit = min(top, hi + 2 * pad)
    lo, limit = lo - pad, limit + pad
    ax.set_ylim(10 ** lo if log else lo, 10 ** limit if log else limit)


def _diverged(run_dir: Path) -> bool:
    try:
        return bool(json.loads((run_dir / "summary.json").read_text()).get("diverged"))
    except (OSError, ValueError):
        return False
