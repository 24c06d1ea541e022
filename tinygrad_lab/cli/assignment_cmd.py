"""``tinygrad-lab assignment``: the whole assignment as one study and one report.

    tinygrad-lab assignment --dataset digits --out study/          # ~3 minutes on 2 cores
    tinygrad-lab assignment --dataset digits --out study/ --quick  # a small version, seconds

Each question of the assignment becomes a section of ``study/report.html`` (one
file: the pictures are embedded, it opens offline) and ``study/report.md`` (the
same text, pictures in ``study/figures/``). The runs themselves are ordinary run
folders in ``study/runs/``; running the command again reuses the finished ones.
The study's logic lives in :mod:`tinygrad_lab.cli.study`; this module draws the
comparison pictures and writes the report.
"""
from __future__ import annotations

import base64
import html
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .experiment import DATASETS
from .study import (ASSIGNMENT_LR, ASSIGNMENT_N_TRAIN, FULL, INIT_NAMES, QUICK, Study,
                    iterations_to, lr_text, pct, ranked, target_for)

REPORT_HTML = "report.html"
REPORT_MD = "report.md"
FIGURES = "figures"


# ---------------------------------------------------------------------------
# The command line
# ---------------------------------------------------------------------------
def add_parser(sub):
    p = sub.add_parser(
        "assignment", help="reproduce the assignment's questions as one study and report",
        description="Run the assignment's experiments (learning rate, sigmoid steepness k, "
                    "initialization, tanh / cross-entropy / ReLU, everything together) and "
                    "write one self-contained HTML report (plus Markdown) with the measured "
                    "findings.")
    p.add_argument("--dataset", default="digits",
                   help=f"{' | '.join(DATASETS)} (default digits: embedded, minutes on a laptop)")
    p.add_argument("--data-dir", help="folder holding the IDX files (mnist / fashion-mnist)")
    p.add_argument("--out", default="study", help="study folder (default study/)")
    p.add_argument("--quick", action="store_true",
                   help="a much smaller study (fewer values, few iterations) to try things")
    p.add_argument("--jobs", default=None,
                   help="training processes at once (default: one per core)")
    p.add_argument("--iterations", default=None,
                   help="full-batch iterations per run of questions 1-4 (default 200, as in "
                        "the assignment; 20 with --quick)")
    p.add_argument("--final-iterations", default=None,
                   help="iterations of the question-5 runs (default 1000; 40 with --quick)")
    p.add_argument("--seed", default="0", help="seed for data split, weights and order")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run_assignment)
    _one_line_errors(p)
    return p


def _one_line_errors(parser):
    """Make argparse report a bad argument in one line (no usage block), exit code 2.

    Unknown options are normally passed up to the main parser, which prints its own
    usage; checking for them here keeps every argument error one clear line.
    """
    def error(message):
        print(f"tinygrad-lab assignment: error: {message}", file=sys.stderr)
        raise SystemExit(2)

    parse_known_args = parser.parse_known_args

    def parse_known_args_strictly(args=None, namespace=None):
        namespace, extras = parse_known_args(args, namespace)
        if extras:
            error(f"unrecognized arguments: {' '.join(extras)}")
        return namespace, extras

    parser.error = error
    parser.parse_known_args = parse_known_args_strictly


def _positive_int(flag, text, default=None):
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{flag} takes a positive whole number, got {text!r}") from None
    if value < 1:
        raise ValueError(f"{flag} must be at least 1, got {value}")
    return value


def run_assignment(args) -> int:
    if args.dataset not in DATASETS:
        raise ValueError(f"unknown dataset {args.dataset!r}; choose from {', '.join(DATASETS)}")
    jobs = _positive_int("--jobs", args.jobs, os.cpu_count() or 1)
    try:
        seed = int(args.seed)
    except ValueError:
        raise ValueError(f"--seed takes a whole number, got {args.seed!r}") from None
    study = Study(args.dataset, args.out, settings=QUICK if args.quick else FULL,
                  data_dir=args.data_dir, seed=seed,
                  iterations=_positive_int("--iterations", args.iterations),
                  final_iterations=_positive_int("--final-iterations", args.final_iterations))
    progress = False if args.no_progress else None
    print(f"assignment study on {args.dataset} ({study.n_train} training images, base lr "
          f"{lr_text(study.lr)}) → {study.out_dir}/ with {jobs} process(es)")
    start = time.perf_counter()
    outcome = study.run_questions(jobs=jobs, progress=progress)
    final = study.run_together(jobs=jobs, progress=progress)
    trained = len(outcome["trained"]) + len(final["trained"])
    skipped = len(outcome["skipped"]) + len(final["skipped"])
    print(f"{trained} runs trained, {skipped} reused; writing the report ...")
    paths = write_report(study, jobs=jobs, trained=trained, skipped=skipped, started=start)
    print(f"done in {time.perf_counter() - start:.0f} s: {paths['html']} (and {paths['md']})")
    return 0


# ---------------------------------------------------------------------------
# Pictures that compare runs
# ---------------------------------------------------------------------------
@dataclass
class Picture:
    """A saved figure and what to say under it."""

    path: Path
    caption: str
    half: bool = False   # small pictures sit two to a row


def _colors(results, ordered: bool):
    """Ordered sweeps (lr, k) get a sequential colour ramp; categories get distinct colours."""
    import matplotlib
    if ordered:
        cmap = matplotlib.colormaps["plasma"]
        return [cmap(0.85 * i / max(len(results) - 1, 1)) for i in range(len(results))]
    cmap = matplotlib.colormaps["tab10"]
    return [cmap(i % 10) for i in range(len(results))]


def curves_comparison_figure(results, title, ordered=False, target=None):
    """Training loss and validation accuracy of several runs, overlaid.

    Runs with different losses (½Σ(y−t)² and cross-entropy) are not on one scale,
    so then each loss is drawn divided by its own first value.
    """
    from viz.plot_style import new_figure

    relative = len({r.config.loss for r in results}) > 1
    fig = new_figure(13, 4.6)
    ax_loss, ax_acc = fig.subplots(1, 2)
    for r, color in zip(results, _colors(results, ordered)):
        loss = np.asarray(r.history.loss, dtype=float)
        if relative and len(loss):
            loss = loss / loss[0]
        label = r.label + (" (diverged)" if r.diverged else "")
        ax_loss.plot(r.history.iteration, loss, color=color, linewidth=1.8, label=label)
        ax_acc.plot(r.history.eval_iteration, r.history.val_accuracy, color=color,
                    linewidth=1.8, label=label)
        if r.diverged and len(loss):
            ax_loss.plot(r.history.iteration[-1], loss[-1], "x", color=color, markersize=10)
    finite = np.concatenate([np.asarray(r.history.loss, float) for r in results])
    finite = finite[np.isfinite(finite) & (finite > 0)]
    if finite.size and (relative or finite.max() / finite.min() > 30):
        ax_loss.set_yscale("log")
    ax_loss.set_ylabel("loss ÷ its value at iteration 1" if relative else "training loss")
    ax_loss.set_title("Training loss (lower is better)")
    ax_acc.set_ylabel("validation accuracy")
    ax_acc.set_ylim(0, 1.02)
    ax_acc.yaxis.set_major_formatter("{x:.0%}")
    ax_acc.set_title("Validation accuracy (higher is better)")
    if target is not None:
        ax_acc.axhline(target, color="#999999", linestyle=":", linewidth=1)
        ax_acc.text(ax_acc.get_xlim()[0], target, f" target {target:.0%}", va="bottom",
                    color="#777777", fontsize=8)
    for ax in (ax_loss, ax_acc):
        ax.set_xlabel("iteration (one full-batch step each)")
        ax.grid(True, alpha=0.3)
    ax_acc.legend(loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.suptitle(title)
    return fig


def sigmoid_shapes_figure(ks):
    """σ(kx) for each k, with the flat ends (σ < 0.01 or > 0.99) shaded."""
    from viz.plot_style import new_figure

    fig = new_figure(6.5, 4.2)
    ax = fig.subplots()
    x = np.linspace(-6, 6, 600)
    for k, color in zip(sorted(ks), _colors(list(ks), ordered=True)):
        ax.plot(x, 0.5 * (1 + np.tanh(0.5 * k * x)), color=color, linewidth=2, label=f"k = {k:g}")
    ax.axhspan(0.99, 1.05, color="#dddddd")
    ax.axhspan(-0.05, 0.01, color="#dddddd")
    ax.text(-5.8, 1.0, "flat end: slope < 4% of the peak", fontsize=8, va="bottom")
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("x (a unit's input W·x)")
    ax.set_ylabel("σ(kx)")
    ax.set_title("k sets how steep the sigmoid is")
    ax.legend(loc="center right")
    return fig


def _recorded(results):
    """The runs that have records (a run that diverged at once has none to draw)."""
    return [r for r in results if r.records is not None]


def saturation_figure(results, layer=0):
    """Share of a layer's outputs on a flat end, over training, one line per run."""
    from viz.plot_style import new_figure

    results = _recorded(results)
    fig = new_figure(6.5, 4.2)
    ax = fig.subplots()
    for r, color in zip(results, _colors(results, ordered=True)):
        rec = r.records
        ax.plot(rec.iteration, 100 * rec.get(layer, "saturation"), color=color, marker="o",
                markersize=3, label=r.label)
    ax.set_ylim(-2, 102)
    ax.set_xlabel("iteration")
    ax.set_ylabel(f"% of layer {layer + 1}'s outputs on a flat end")
    ax.set_title(f"Saturation of layer {layer + 1}")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best")
    return fig


def first_histograms_figure(results, bins=40):
    """Each run's outputs per layer at the first iteration (colour) and the last (grey line).

    One row per run, one column per layer: the histograms that show why an
    initialization helps or hurts before any learning has happened.
    """
    from viz.plot_style import layer_color, new_figure

    results = _recorded(results)
    n_layers = len(results[0].records.layers)
    fig = new_figure(1.5 + 3.6 * n_layers, 0.6 + 2.1 * len(results))
    axes = fig.subplots(len(results), n_layers, squeeze=False, sharex="col")
    for row, r in enumerate(results):
        rec = r.records
        for layer in range(n_layers):
            ax = axes[row, layer]
            first, last = (rec.get(layer, "act_sample")[i] for i in (0, -1))
            first, last = first[np.isfinite(first)], last[np.isfinite(last)]
            edges = np.histogram_bin_edges(np.concatenate([first, last]), bins=bins)
            ax.hist(first, bins=edges, weights=np.full(first.size, 100 / max(first.size, 1)),
                    color=layer_color(layer), alpha=0.6,
                    label=f"iteration {int(rec.iteration[0])}")
            ax.hist(last, bins=edges, weights=np.full(last.size, 100 / max(last.size, 1)),
                    histtype="step", color="#444444", linewidth=1.2,
                    label=f"iteration {int(rec.iteration[-1])}")
            if row == 0:
                ax.set_title(rec.layers[layer].label)
            if layer == 0:
                ax.set_ylabel(f"{r.label}\n% of outputs", fontsize=9)
            if row == len(results) - 1:
                ax.set_xlabel("output value")
            if row == 0 and layer == n_layers - 1:
                ax.legend(loc="upper center", fontsize=8)
    fig.suptitle("Outputs of each layer at the first iteration (filled) and the last (line)")
    return fig


def dead_units_figure(results):
    """% of dead units in each hidden layer over training, one line per ReLU-family run."""
    from viz.plot_style import new_figure

    hidden = len(results[0].records.layers) - 1
    fig = new_figure(6.2 * hidden, 4.4)
    axes = fig.subplots(1, hidden, squeeze=False)[0]
    for r, color in zip(results, _colors(results, ordered=False)):
        rec = r.records
        for layer, ax in enumerate(axes):
            ax.plot(rec.iteration, 100 * rec.get(layer, "dead"), color=color, marker="o",
                    markersize=3, label=r.label)
    for layer, ax in enumerate(axes):
        info = results[0].records.layers[layer]
        ax.set_title(f"layer {layer + 1} ({info.n_out} units)")
        ax.set_xlabel("iteration")
        ax.set_ylabel("% dead units (never fire on the batch)")
        ax.set_ylim(-2, 102)
        ax.grid(True, alpha=0.3)
    axes[-1].legend(loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.suptitle("Dead ReLU units: their input is ≤ 0 for every training image, so they get "
                 "no gradient")
    return fig


def last_snapshot(records):
    """``records`` cut to its last snapshot, so a panel drawn from it scales its colours to
    that iteration alone (over all snapshots, the large first updates would make the last
    ΔW look blank)."""
    from viz.record import Records

    keep = slice(len(records) - 1, len(records))
    return Records(records.layers, records.iteration[keep], records.epoch[keep],
                   records.loss[keep], records.accuracy[keep], records.lr[keep],
                   {name: values[keep] for name, values in records.arrays.items()},
                   records.input_shape)


def _save(fig, path) -> Path:
    from viz.plot_style import save_figure, style
    with style():
        return save_figure(fig, path)


# ---------------------------------------------------------------------------
# The report, as data: sections of sentences, tables and pictures
# ---------------------------------------------------------------------------
@dataclass
class Table:
    caption: str
    headers: list
    rows: list


@dataclass
class Section:
    """One question of the report; ``body`` holds its Tables and Pictures in reading order."""

    key: str
    title: str
    question: str
    setup: str
    finding: list
    body: list = field(default_factory=list)
    checks: list = field(default_factory=list)   # (run label, [viz.diagnostics.Finding])


QUESTIONS = {
    "lr": "Adjust the learning rate to get the fastest training. Show loss and accuracy curves. "
          "What should you look for in the visualizations to ensure a good learning rate?",
    "k": "Change the sigmoid to 1/(1 + e^(−kx)). What does k do? What is the effect of a small "
         "versus a large k? Is there an optimal k for a given learning rate?",
    "init": "The sample code initializes W1, W2, W3 uniformly in [−1, 1]. Try other "
            "initializations; how do the visualizations differ for good and bad ones?",
    "activations": "Implement tanh, cross-entropy, ReLU and ReLU6. Why may they be better? "
                   "Did any neurons die? What do dead neurons look like?",
    "together": "Put all improvements together for the best training; explain with curves, "
                "t-SNE and a confusion matrix. Extra credit: a cosine learning rate.",
}


LEVEL_MARKS = {"problem": "✖ problem", "warning": "▲ warning", "ok": "✔ ok"}


def diagnostics_for(result):
    """viz.diagnostics' automatic checks of one run: its history, records and predictions."""
    from viz.diagnostics import diagnose
    return diagnose(records=result.records, history=result.history)


def _run_table(results, target):
    headers = ["run", "lr", "val. acc. (last)", "best val. acc. (iteration)",
               f"first ≥ {target:.0%}", "loss: first → last", "test acc.", "notes"]
    rows = []
    for r in results:
        h = r.history
        best_it = h.eval_iteration[h.val_accuracy.index(r.best_val)] if h.val_accuracy else None
        it = iterations_to(h, target)
        notes = []
        if r.diverged:
            notes.append("diverged")
        elif r.loss_rose:
            notes.append("loss went up")
        dominant = r.dominant_class()
        if dominant and dominant[1] >= 0.5:
            notes.append(f"predicts class {dominant[0]} for {dominant[1]:.0%}")
        if r.config.activation in ("relu", "relu6") and r.records is not None:
            dead = [r.dead_units(layer) for layer in range(len(r.records.layers) - 1)]
            notes.append("dead: " + ", ".join(f"{d}/{u}" for d, u in dead))
        rows.append([r.label, lr_text(r.config.lr), pct(r.final_val),
                     f"{pct(r.best_val)} ({best_it})", "never" if it is None else str(it),
                     f"{r.first_loss:.4g} → {r.final_loss:.4g}", pct(r.test_accuracy),
                     "; ".join(notes)])
    return headers, rows


class ReportBuilder:
    """Draws each section's pictures into ``out/figures`` and collects the sections."""

    def __init__(self, study: Study):
        self.study = study
        self.figures = study.out_dir / FIGURES
        self.figures.mkdir(parents=True, exist_ok=True)

    def picture(self, fig, name, caption, half=False) -> Picture:
        return Picture(_save(fig, self.figures / f"{name}.png"), caption, half)

    def sections(self, findings) -> list:
        by_key = {f.key: f for f in findings}
        return [self.lr_section(by_key["lr"]), self.k_section(by_key["k"]),
                self.init_section(by_key["init"]),
                self.activations_section(by_key["activations"]),
                self.together_section(by_key["together"])]

    def _comparison(self, runs, title, name, caption, ordered=False, table_caption=""):
        """A comparison's table of runs, then its loss/accuracy curves, both against the
        same target accuracy."""
        target = target_for(runs)
        return [Table(table_caption, *_run_table(runs, target)),
                self.picture(curves_comparison_figure(runs, title, ordered=ordered,
                                                      target=target), name, caption)]

    def lr_section(self, f) -> Section:
        from viz.plot_panel import panel_figure

        runs = sorted(f.results, key=lambda r: r.config.lr)
        best = ranked(runs)[0]
        s = self.study
        checked = [best] + ([runs[-1]] if runs[-1] is not best else [])
        section = Section(
            "lr", f.title, QUESTIONS["lr"],
            f"{len(runs)} runs, each {s.settings.iterations} full-batch steps of the assignment's "
            f"net (sigmoid, uniform(−1, 1), no bias, loss ½Σ(y−t)², plain gradient descent), "
            f"with the learning rate × {', '.join(f'{r.config.lr / s.lr:g}' for r in runs)} "
            f"the base {lr_text(s.lr)}.",
            f.finding, [*self._comparison(
                runs, "Learning rate: one run per value", "q1_lr_curves",
                "Left: the training loss of each run; right: its validation accuracy. A good "
                "learning rate brings the loss down fast and steadily; too small crawls, too "
                "large stalls, bounces or blows up.", ordered=True),
             self.picture(panel_figure(last_snapshot(best.records)), "q1_best_panel",
                          f"The assignment's panel for the best run ({best.label}) at its last "
                          f"iteration, each cell on its own colour scale. Top: mean output of "
                          f"each unit over the training images. Middle: the weights; layer 1's "
                          f"are drawn as one 8×8 (or 28×28) image per unit. Bottom: the update "
                          f"ΔW of this step. Compare the colour bars of W and ΔW: a good "
                          f"learning rate makes ΔW about a thousandth of W, not zero and not "
                          f"comparable to W.")])
        section.checks = [(r.label, diagnostics_for(r)) for r in checked if r.records is not None]
        return section

    def k_section(self, f) -> Section:
        runs = sorted(f.results, key=lambda r: r.config.k)
        s = self.study
        return Section(
            "k", f.title, QUESTIONS["k"],
            f"{len(runs)} runs with σ(kx) in every layer for k = "
            f"{', '.join(f'{r.config.k:g}' for r in runs)}, at the base learning rate "
            f"{lr_text(s.lr)}, {s.settings.iterations} iterations each. NumPy's floating-point "
            f"errors are counted during training (see the finding).",
            f.finding, [*self._comparison(
                runs, "Sigmoid steepness k at a fixed learning rate", "q2_k_curves",
                "Loss and validation accuracy for each k.", ordered=True),
             self.picture(sigmoid_shapes_figure([r.config.k for r in runs]), "q2_k_shapes",
                          "σ(kx): a large k makes it a step (most inputs land on a flat end, "
                          "where the slope, and so the gradient, is nearly 0); a small k makes "
                          "it a nearly straight line around 0.5 whose slope is k/4.", half=True),
             self.picture(saturation_figure(runs), "q2_k_saturation",
                          "How many of layer 1's outputs sat on a flat end during training: "
                          "those outputs pass almost no gradient back.", half=True)])

    def init_section(self, f) -> Section:
        runs = f.results
        s = self.study
        return Section(
            "init", f.title, QUESTIONS["init"],
            f"{len(runs)} runs of the assignment's net that differ only in how W1, W2, W3 start: "
            + "; ".join(INIT_NAMES.get(r.config.init, r.config.init) for r in runs)
            + f" (n is a layer's number of inputs). Base learning rate {lr_text(s.lr)}, "
              f"{s.settings.iterations} iterations.",
            f.finding, [*self._comparison(
                runs, "Initialization", "q3_init_curves",
                "Loss and validation accuracy for each initialization."),
             self.picture(first_histograms_figure(runs), "q3_init_histograms",
                          "Each row is one initialization, each column one layer. Filled: the "
                          "outputs at the first iteration, before learning; line: at the last. "
                          "Outputs piled up at 0 and 1 are saturated sigmoids (no gradient); "
                          "outputs all near 0.5 carry little signal and small gradients.")])

    def activations_section(self, f) -> Section:
        s = self.study
        body = []
        for i, (title, runs) in enumerate(f.groups.items()):
            tag = ("tanh", "loss", "relu")[i] if i < 3 else str(i)
            body.extend(self._comparison(
                runs, title, f"q4_{tag}_curves", f"{title}: loss and validation accuracy."
                + (" The two losses have different units, so each is divided by its first "
                   "value." if tag == "loss" else ""), table_caption=title))
        relu = _recorded(f.groups["ReLU and ReLU6"])
        if relu:
            body.append(self.picture(
                dead_units_figure(relu), "q4_dead_units",
                "Dead units per hidden layer, measured on the whole training set at every "
                "snapshot. In the panels a dead unit is a tile that stays at 0 in the top row "
                "and whose weights never change (its ΔW tile is blank)."))
        ce_lr = lr_text(ASSIGNMENT_LR * ASSIGNMENT_N_TRAIN)
        return Section(
            "activations", f.title, QUESTIONS["activations"],
            f"Three comparisons, each {s.settings.iterations} iterations from the assignment's "
            f"set-up: tanh instead of sigmoid (with the assignment's init and with normal 1/√n); "
            f"softmax cross-entropy instead of ½Σ(y−t)² (cross-entropy is averaged over the "
            f"batch, so its learning rate is the base × {s.n_train} = {ce_lr}, the same step "
            f"size); ReLU and ReLU6 (derivatives 1[x > 0] and 1[0 < x < 6], from the library's "
            f"ops) with the assignment's init and with He init"
            + (f", at the base learning rate and ×{min(s.settings.relu_lr_factors):g}"
               if len(s.settings.relu_lr_factors) > 1 else "") + ".",
            f.finding, body)

    def together_section(self, f) -> Section:
        from viz.plot_eval import confusion_figure, tsne_figure
        from viz.plot_panel import animate_panels
        from viz.plot_training import curves_figure

        runs = f.results
        best = ranked(runs)[0]
        s = self.study
        facts = s.final_facts
        checks = [(best.label, diagnostics_for(best))]
        gif = animate_panels(best.records, self.figures / "q5_panels.gif",
                             max_frames=s.settings.gif_frames)
        return Section(
            "together", f.title, QUESTIONS["together"],
            f"{len(runs)} runs of {s.settings.final_iterations} full-batch iterations with the "
            f"combination that questions 1-4 measured best (see the finding); the best of them "
            f"(by validation accuracy) is shown below, measured on the test set.",
            f.finding, [*self._comparison(
                runs, "Everything together: learning rate and schedule", "q5_curves_all",
                "All runs of this question."),
             self.picture(curves_figure(best.history), "q5_best_curves",
                          f"The best run ({best.label}): loss and accuracy, with its learning "
                          f"rate (dashed, right axis); the cosine schedule lowers it smoothly "
                          f"to 0."),
             Picture(gif, "The panel over training (animated; the colour scales are fixed "
                          "across frames, so a cell that fades really shrank). Watch how the "
                          "size of ΔW changes from the first steps to the last, and which "
                          "units of each layer stay dark."),
             self.picture(tsne_figure(facts["model"], facts["test"], facts["tsne_layer"],
                                      max_points=s.settings.tsne_points, seed=0),
                          "q5_tsne", "Each dot is a test image placed by t-SNE from the last "
                                     "hidden layer's outputs, coloured by its true class: "
                                     "separate clusters mean the layer already tells the "
                                     "classes apart."),
             self.picture(confusion_figure(facts["test"].y, facts["predicted"],
                                           facts["test"].classes),
                          "q5_confusion", "Rows: true class; columns: predicted class. "
                                          "Everything off the diagonal is a mistake.")],
            checks)


# ---------------------------------------------------------------------------
# Writing HTML and Markdown
# ---------------------------------------------------------------------------
CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1180px;
margin:2em auto;padding:0 1.5em;color:#222;line-height:1.5}
h1{margin-bottom:.2em} h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2.2em}
.meta{color:#555} blockquote{margin:0;padding:.4em 1em;border-left:4px solid #bbb;
background:#f6f6f6;color:#444}
.finding{background:#eef6ee;border-left:5px solid #3a923a;padding:.6em 1.2em;margin:1em 0}
.finding h3{margin:.2em 0} table{border-collapse:collapse;font-size:.86em;margin:.6em 0 1.4em}
th,td{border:1px solid #ddd;padding:.25em .55em;text-align:left} th{background:#f0f0f0}
figure{margin:1.2em 0} figure img{max-width:100%;border:1px solid #eee}
figcaption{color:#555;font-size:.92em}
.checks{border-left:5px solid #bbb;padding:.3em 1.2em;margin:1em 0;font-size:.92em;
background:#fafafa} .checks ul{list-style:none;padding-left:.3em}
.checks li.problem b{color:#b22} .checks li.warning b{color:#b70} .checks li.ok b{color:#282}
figure.half{display:inline-block;width:48%;vertical-align:top;margin-right:1.5%}
td{white-space:nowrap} td:first-child,td:last-child{white-space:normal} nav li{margin:.1em 0} code{background:#f3f3f3;
padding:0 .25em}
"""


def _data_uri(path: Path) -> str:
    mime = {".png": "image/png", ".gif": "image/gif", ".svg": "image/svg+xml"}[path.suffix]
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _html_table(caption, headers, rows) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>"
                   for row in rows)
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def to_html(title, intro, sections, footer) -> str:
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
             f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>",
             "".join(f"<p class='meta'>{html.escape(p)}</p>" for p in intro),
             "<nav><ol>" + "".join(f"<li><a href='#{s.key}'>{html.escape(s.title)}</a></li>"
                                   for s in sections) + "</ol></nav>"]
    for s in sections:
        parts.append(f"<section id='{s.key}'><h2>{html.escape(s.title)}</h2>")
        parts.append(f"<blockquote><b>The question.</b> {html.escape(s.question)}</blockquote>")
        parts.append(f"<p><b>What ran.</b> {html.escape(s.setup)}</p>")
        parts.append(f"<div class='finding' data-section='{s.key}'><h3>Measured in this run</h3>"
                     "<ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in s.finding)
                     + "</ul></div>")
        for item in s.body:
            if isinstance(item, Table):
                parts.append(_html_table(item.caption, item.headers, item.rows))
                continue
            css = " class='half'" if item.half else ""
            parts.append(f"<figure{css}><img src='{_data_uri(item.path)}' "
                         f"alt='{html.escape(item.path.stem)}'>"
                         f"<figcaption>{html.escape(item.caption)}</figcaption></figure>")
        for label, found in s.checks:
            parts.append(f"<div class='checks'><b>Automatic checks (viz.diagnostics) of "
                         f"{html.escape(label)}</b><ul>"
                         + "".join(f"<li class='{c.level}'><b>{LEVEL_MARKS[c.level]}</b> "
                                   f"· {html.escape(c.topic)}: {html.escape(c.message)}</li>"
                                   for c in found) + "</ul></div>")
        parts.append("</section>")
    parts.append("".join(f"<p class='meta'>{html.escape(p)}</p>" for p in footer))
    parts.append("</body></html>")
    return "\n".join(parts)


def _md_cell(text) -> str:
    return str(text).replace("|", "\\|")


def to_markdown(title, intro, sections, footer, base: Path) -> str:
    lines = [f"# {title}", ""] + [f"{p}\n" for p in intro]
    for s in sections:
        lines += [f"## {s.title}", "", f"> **The question.** {s.question}", "",
                  f"**What ran.** {s.setup}", "", "**Measured in this run**", ""]
        lines += [f"- {x}" for x in s.finding] + [""]
        for item in s.body:
            if isinstance(item, Table):
                if item.caption:
                    lines += [f"*{item.caption}*", ""]
                lines.append("| " + " | ".join(_md_cell(h) for h in item.headers) + " |")
                lines.append("|" + "---|" * len(item.headers))
                lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in item.rows]
                lines.append("")
            else:
                lines += [f"![{item.path.stem}]({item.path.relative_to(base).as_posix()})", "",
                          f"*{item.caption}*", ""]
        for label, found in s.checks:
            lines += [f"*Automatic checks (viz.diagnostics) of {label}:*", ""]
            lines += [f"- **{LEVEL_MARKS[c.level]}** · {c.topic}: {c.message}" for c in found]
            lines.append("")
    lines += [f"{p}\n" for p in footer]
    return "\n".join(lines)


def reproduce_command(study: Study) -> str:
    """The command line that makes this study again."""
    s, preset = study.settings, study.preset
    words = ["tinygrad-lab assignment", f"--dataset {study.base.dataset}", f"--out {study.out_dir}"]
    if preset == QUICK:
        words.append("--quick")
    if s.iterations != preset.iterations:
        words.append(f"--iterations {s.iterations}")
    if s.final_iterations != preset.final_iterations:
        words.append(f"--final-iterations {s.final_iterations}")
    if study.base.data_dir:
        words.append(f"--data-dir {study.base.data_dir}")
    if study.base.seed:
        words.append(f"--seed {study.base.seed}")
    return " ".join(words)


def write_report(study: Study, jobs=None, trained=None, skipped=None, started=None) -> dict:
    """Measure, draw and write ``report.html`` + ``report.md`` into the study folder."""
    findings = study.findings()
    sections = ReportBuilder(study).sections(findings)
    s = study.settings
    title = f"The assignment, measured: a study on {study.base.dataset}"
    intro = [
        f"Data: {study.base.dataset}, {study.n_train} training, {len(study.val)} validation and "
        f"{len(study.test)} test images. Net: {study.train.X.shape[1]}-256-128-"
        f"{study.train.num_classes}, as in the assignment (no bias).",
        f"Learning rates: the assignment uses 1e-5 with a loss summed over all 60000 MNIST "
        f"images, so the gradient grows with the number of training images. To take the same "
        f"size steps here the base learning rate is 1e-5 × 60000 / {study.n_train} = "
        f"{lr_text(study.lr)}; losses averaged over the batch (cross-entropy) use "
        f"{lr_text(study.lr)} × {study.n_train} = {lr_text(ASSIGNMENT_LR * ASSIGNMENT_N_TRAIN)}.",
        f"Every number below was measured in this study; the sentences are generated from the "
        f"runs' histories and records. Questions 1-4: {s.iterations} full-batch iterations per "
        f"run; question 5: {s.final_iterations}."
        + (" (Quick version: fewer values and iterations.)" if study.preset == QUICK else ""),
    ]
    elapsed = time.perf_counter() - started if started is not None else None
    footer = [f"Runs: {study.runs_dir}/ (each an ordinary run folder: config.json, "
              f"history.json, checkpoint.npz, summary.json, records for the pictures, study.json)."]
    if elapsed is not None:
        footer.append(f"This study: {trained} runs trained and {skipped} reused with {jobs} "
                      f"process(es); {elapsed:.0f} s in total on {platform.machine()} "
                      f"({os.cpu_count()} cores), Python {platform.python_version()}.")
    footer.append("Reproduce: " + reproduce_command(study))
    html_path = study.out_dir / REPORT_HTML
    md_path = study.out_dir / REPORT_MD
    html_path.write_text(to_html(title, intro, sections, footer), encoding="utf-8")
    md_path.write_text(to_markdown(title, intro, sections, footer, study.out_dir),
                       encoding="utf-8")
    return {"html": html_path, "md": md_path, "sections": sections, "findings": findings}
