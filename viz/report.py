"""One page about one run: ``report.html`` (self-contained) and ``report.md``.

    from viz.report import write_report
    write_report("runs/demo", model=model, test_data=test)   # or: tinygrad-lab report runs/demo

The HTML page embeds every picture as a base64 ``data:`` URI, so it is a single
file that opens offline in any browser and can be mailed or attached as is. The
Markdown version links the same pictures from ``report_files/`` next to it.
Both start with the findings, then results and configuration, then the pictures.

What goes in, when it exists in the run folder: ``config.json``, ``summary.json``,
``history.json`` (curves), ``records.npz`` (panels, GIF, gradient flow, units,
histograms). With ``model`` and ``test_data``: t-SNE and the confusion matrix.
The findings at the top come from :mod:`viz.diagnostics`.
"""
from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass
from pathlib import Path

from tinygrad_lab.files import write_atomic
from tinygrad_lab.train import History, evaluate

from . import plot_eval, plot_panel, plot_training
from .diagnostics import diagnose
from .record import INDEX_FILE, load_records

__all__ = ["write_report", "ReportPaths", "FIGURES_DIR"]

FIGURES_DIR = "report_files"
_MIME = {".png": "image/png", ".gif": "image/gif", ".svg": "image/svg+xml"}
_LEVEL_MARK = {"problem": "✖ problem", "warning": "▲ warning", "ok": "✔ ok"}


@dataclass
class ReportPaths:
    """Where :func:`write_report` wrote the page, its Markdown twin and the pictures."""

    html: Path
    markdown: Path
    figures: list


@dataclass
class _Figure:
    """One picture of the report: file, title, and what to look for in it."""

    path: Path
    title: str
    caption: str


@dataclass
class _Section:
    title: str
    intro: str
    figures: list


# ---------------------------------------------------------------------------
# Gathering the run
# ---------------------------------------------------------------------------
def _read_json(path: Path):
    return json.loads(path.read_text()) if path.exists() else None


def _panel_indices(n: int) -> list[int]:
    """First, middle and last snapshot (fewer if there are fewer)."""
    return sorted({0, n // 2, n - 1})


def _training_sections(run_dir: Path, figures_dir: Path, history, records) -> list[_Section]:
    """Curves from the history; panels, animation and layer statistics from the records."""
    sections = []
    if history is not None and history.iteration:
        curves = plot_training.plot_curves(history, figures_dir / "curves.png")
        sections.append(_Section("Loss and accuracy", "", [_Figure(
            curves, "Training curves",
            "Both curves should flatten out at a good value. A loss that falls slowly and "
            "steadily means a learning rate that is too low; one that jumps around or rises "
            "means too high. Validation far below train accuracy means overfitting. The "
            "dashed line is the learning rate the schedule used (right axis).")]))
    if records is None:
        sections.append(_Section(
            "Inside the layers", f"No records in {run_dir}: train with `tinygrad-lab train "
            f"--record` (or a viz.record.Recorder) to see the panels, the animation, gradient "
            f"flow and dead or saturated units.", []))
        return sections
    panels = []
    indices = _panel_indices(len(records))
    for index in indices:
        it = int(records.iteration[index])
        path = plot_panel.plot_panel(records, figures_dir / f"panel_iteration_{it}.png", index)
        when = ("the first snapshot, right after one step" if index == 0 else
                "the last snapshot" if index == len(records) - 1 else "half way")
        panels.append(_Figure(path, f"Iteration {it}", f"This is {when}."))
    gif = plot_panel.animate_panels(records, figures_dir / "panels.gif")
    panels.append(_Figure(gif, "All snapshots as an animation",
                          "Each cell keeps one colour scale for the whole run, so a cell that "
                          "brightens really grew."))
    sections.append(_Section(
        "Activations, weights and updates (the assignment's panel)",
        "Top row: the mean output of each unit on the batch — a good layer has varied "
        "values, not all dark (dead) or all saturated (0 or 1 for a sigmoid). Middle row: the "
        "weights; in the first layer each tile is the input pattern a unit responds to. Bottom "
        "row: the update ΔW of that step — it should be visible but small next to the "
        "weights, shrink as training settles, and in the first layer look like parts of the "
        "inputs (strokes of digits), not noise.", panels))
    layer_figures = [
        _Figure(plot_training.plot_gradient_flow(records, figures_dir / "gradient_flow.png"),
                "Gradient flow and step size",
                "Left: the gradient each layer receives. If the first layer's line lies orders "
                "of magnitude below the last layer's, the gradient vanishes on its way back. "
                "Right: how much one step changes the weights; about 1e-3 is the rule of "
                "thumb, far above means the learning rate is too high, far below too low."),
        _Figure(plot_training.plot_unit_health(records, figures_dir / "unit_health.png"),
                "Dead and saturated units",
                "A dead ReLU never fires and gets no gradient; a saturated sigmoid or tanh sits "
                "where its slope is almost zero. Either way the unit stops learning. A rising "
                "line is a net losing capacity."),
        _Figure(plot_training.plot_histograms(records, figures_dir / "histograms.png"),
                "Distributions of outputs and weights",
                "Outputs piled at 0 and 1 (sigmoid) or ±1 (tanh) are saturation; a tall spike "
                "at 0 for ReLU is dead or silent units. Weights that barely move from the "
                "first snapshot mean the updates are tiny."),
    ]
    sections.append(_Section("Inside the layers over time", "", layer_figures))
    return sections


def _evaluation_section(figures_dir, model, test_data, tsne_layer, max_points, seed,
                        y_true, y_pred) -> _Section:
    tsne = plot_eval.plot_tsne(model, test_data, figures_dir / "tsne.png", tsne_layer,
                               max_points, seed)
    confusion = plot_eval.plot_confusion(y_true, y_pred, figures_dir / "confusion.png",
                                         test_data.classes)
    return _Section("On the test set", "", [
        _Figure(tsne, "t-SNE of a hidden layer",
                "Each dot is a test example placed so that examples the layer sees as similar "
                "are close. Tight, separate clusters per colour: the layer has learned to tell "
                "the classes apart. Mixed colours: it has not (yet)."),
        _Figure(confusion, "Confusion matrix",
                "Rows are the true classes, columns the predictions; a good net has a dark "
                "diagonal. A dark column is a class predicted for everything (a stuck net); "
                "bright off-diagonal cells are pairs of classes the net mixes up."),
    ])


# ---------------------------------------------------------------------------
# Writing HTML and Markdown
# ---------------------------------------------------------------------------
def _data_uri(path: Path) -> str:
    mime = _MIME[path.suffix.lower()]
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _table_html(rows: dict) -> str:
    cells = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_show(v))}</td></tr>"
                    for k, v in rows.items())
    return f"<table>{cells}</table>"


def _table_md(rows: dict) -> str:
    lines = ["| | |", "|---|---|"]
    lines += [f"| {k} | {_show(v).replace('|', '/')} |" for k, v in rows.items()]
    return "\n".join(lines)


def _show(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 1240px;
       margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em;
       margin-top: 2em; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { text-align: left; padding: 0.2em 0.9em 0.2em 0; border-bottom: 1px solid #eee;
         font-size: 0.95em; }
figure { margin: 1.2em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { color: #444; font-size: 0.95em; max-width: 60em; }
.finding { margin: 0.35em 0; padding: 0.4em 0.7em; border-left: 5px solid; }
.problem { border-color: #c62828; background: #fdecea; }
.warning { border-color: #ef8f00; background: #fff4e0; }
.ok { border-color: #2e7d32; background: #edf7ee; }
.advice { color: #444; }
.columns { display: flex; gap: 3em; flex-wrap: wrap; }
"""


def _findings_html(findings) -> str:
    if not findings:
        return "<p>Nothing to diagnose: the run folder has no history or records.</p>"
    items = []
    for f in findings:
        advice = f"<br><span class='advice'>Try: {html.escape(f.advice)}</span>" if f.advice else ""
        items.append(f"<div class='finding {f.level}'><b>{_LEVEL_MARK[f.level]}</b> · "
                     f"<b>{html.escape(f.topic)}</b>: {html.escape(f.message)}{advice}</div>")
    return "\n".join(items)


def _findings_md(findings) -> str:
    if not findings:
        return "Nothing to diagnose: the run folder has no history or records."
    return "\n".join(f"- **{_LEVEL_MARK[f.level]}** · **{f.topic}**: {f.message}"
                     + (f" *Try: {f.advice}*" if f.advice else "") for f in findings)


def _render_html(title, summary, config, findings, sections) -> str:
    parts = [f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
             f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>",
             f"<h2>What the records say</h2>{_findings_html(findings)}"]
    parts.append("<div class='columns'>")
    if summary:
        parts.append(f"<div><h3>Results</h3>{_table_html(summary)}</div>")
    if config:
        parts.append(f"<div><h3>Configuration</h3>{_table_html(config)}</div>")
    parts.append("</div>")
    for section in sections:
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        if section.intro:
            parts.append(f"<p>{html.escape(section.intro)}</p>")
        for fig in section.figures:
            caption = f"<b>{html.escape(fig.title)}.</b> {html.escape(fig.caption)}"
            parts.append(f"<figure><img src='{_data_uri(fig.path)}' alt='{html.escape(fig.title)}'>"
                         f"<figcaption>{caption}</figcaption></figure>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _render_markdown(title, summary, config, findings, sections, base: Path) -> str:
    parts = [f"# {title}", "", "## What the records say", "", _findings_md(findings), ""]
    if summary:
        parts += ["## Results", "", _table_md(summary), ""]
    if config:
        parts += ["## Configuration", "", _table_md(config), ""]
    for section in sections:
        parts += [f"## {section.title}", ""]
        if section.intro:
            parts += [section.intro, ""]
        for fig in section.figures:
            rel = fig.path.relative_to(base).as_posix()
            parts += [f"![{fig.title}]({rel})", "", f"**{fig.title}.** {fig.caption}".rstrip(), ""]
    return "\n".join(parts)


# ---------------------------------------------------------------------------
# The entry point
# ---------------------------------------------------------------------------
def write_report(run_dir, model=None, test_data=None, out_dir=None, tsne_layer=None,
                 max_points: int = 1000, seed: int = 0) -> ReportPaths:
    """Write ``report.html`` and ``report.md`` (+ pictures in ``report_files/``) for a run.

    ``model`` and ``test_data`` (the trained net and a Dataset) add the t-SNE and the
    confusion matrix; ``tinygrad-lab report`` rebuilds both from the run folder.
    ``tsne_layer``: 0-based layer for t-SNE (default: the last hidden layer);
    ``max_points``: at most this many test examples in the t-SNE. ``out_dir``: where
    to write (default: the run folder).
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"no run folder at {run_dir}")
    out = Path(out_dir) if out_dir is not None else run_dir
    figures_dir = out / FIGURES_DIR
    figures_dir.mkdir(parents=True, exist_ok=True)
    for stale in figures_dir.glob("panel_iteration_*.png"):  # from an earlier report of this run
        stale.unlink()

    config = _read_json(run_dir / "config.json") or {}
    summary = _read_json(run_dir / "summary.json") or {}
    history_dict = _read_json(run_dir / "history.json")
    history = History.from_dict(history_dict) if history_dict else None
    records = load_records(run_dir) if (run_dir / INDEX_FILE).exists() else None

    sections = _training_sections(run_dir, figures_dir, history, records)
    y_true = y_pred = classes = None
    if model is not None and test_data is not None:
        _, _, y_pred = evaluate(model, test_data, config.get("loss", "cross_entropy"))
        y_true, classes = test_data.y, test_data.classes
        sections.append(_evaluation_section(figures_dir, model, test_data, tsne_layer,
                                            max_points, seed, y_true, y_pred))
    findings = diagnose(records, history, y_true, y_pred, classes)

    title = f"Training report: {run_dir.resolve().name}"
    html_path, md_path = out / "report.html", out / "report.md"
    write_atomic(html_path, _render_html(title, summary, config, findings, sections).encode())
    write_atomic(md_path, _render_markdown(title, summary, config, findings, sections,
                                           out).encode())
    figures = [fig.path for section in sections for fig in section.figures]
    return ReportPaths(html_path, md_path, figures)
