"""viz.report and viz.diagnostics: `tinygrad-lab train --record` then `tinygrad-lab report`,
the page opened in headless Chromium, and each finding measured from hand-built data."""
import base64
import io
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tinygrad_lab.cli import main
from tinygrad_lab.train import History
from viz.diagnostics import diagnose
from viz.record import LAYER_FIELDS, LayerInfo, Records, load_records
from viz.report import write_report

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"]


@pytest.fixture(scope="module")
def reported_run(tmp_path_factory):
    """The command line end to end: train with --record, then report."""
    run_dir = tmp_path_factory.mktemp("runs") / "digits"
    assert main(["train", "--epochs", "3", "--record", "--out", str(run_dir),
                 "--no-progress"]) == 0
    assert main(["report", str(run_dir), "--max-points", "150"]) == 0
    return run_dir


class _Images(HTMLParser):
    """Collects every <img src> and any tag that could load something from elsewhere."""

    def __init__(self):
        super().__init__()
        self.srcs, self.external = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.srcs.append(attrs.get("src", ""))
        elif tag in ("script", "link", "iframe") or attrs.get("href", "").startswith("http"):
            self.external.append(tag)


def test_report_is_one_self_contained_page(reported_run):
    text = (reported_run / "report.html").read_text()
    parser = _Images()
    parser.feed(text)
    assert not parser.external and "url(" not in text
    # curves, 3 panels, GIF, gradient flow, units, histograms, t-SNE, confusion
    assert len(parser.srcs) == 10
    for src in parser.srcs:
        match = re.fullmatch(r"data:image/(png|gif);base64,([A-Za-z0-9+/=]+)", src)
        assert match, src[:60]
        with Image.open(io.BytesIO(base64.b64decode(match.group(2)))) as im:
            assert im.format.lower() == match.group(1) and min(im.size) > 100


def test_report_holds_config_results_and_the_measured_findings(reported_run):
    text = (reported_run / "report.html").read_text()
    summary = (reported_run / "summary.json").read_text()
    assert "Configuration" in text and "test_accuracy" in text and "adam" in text
    assert '"test_accuracy"' in summary
    history = History.load(reported_run / "history.json")
    for finding in diagnose(load_records(reported_run), history):
        assert finding.message.replace("'", "&#x27;") in text


def test_markdown_links_pictures_that_exist(reported_run):
    md = (reported_run / "report.md").read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert len(links) == 10
    for link in links:
        assert (reported_run / link).is_file(), link
    assert "## What the records say" in md


def test_report_without_records_says_how_to_get_them(reported_run, tmp_path):
    bare = tmp_path / "bare"
    shutil.copytree(reported_run, bare, ignore=shutil.ignore_patterns("records.*", "report*"))
    paths = write_report(bare)
    text = paths.html.read_text()
    assert "--record" in text and len(paths.figures) == 1  # only the curves
    with pytest.raises(FileNotFoundError):
        write_report(tmp_path / "missing")


def _chromium(*args, tmp_path):
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed")
    profile = f"--user-data-dir={tmp_path / 'profile'}"  # a fresh profile: nothing leaks in
    return subprocess.run([str(CHROMIUM), *CHROMIUM_FLAGS, profile, *args],
                          capture_output=True, text=True, timeout=120)


def test_chromium_loads_every_image(reported_run, tmp_path):
    """A copy of the page whose title, once loaded, counts images that failed to decode."""
    probe = ("<script>window.addEventListener('load', () => { const imgs = [...document.images];"
             " document.title = 'broken=' + imgs.filter(i => !i.complete || i.naturalWidth === 0)"
             ".length + ' of ' + imgs.length; });</script></body>")
    page = tmp_path / "probe.html"
    page.write_text((reported_run / "report.html").read_text().replace("</body>", probe))
    result = _chromium("--virtual-time-budget=10000", "--dump-dom", page.as_uri(),
                       tmp_path=tmp_path)
    assert "<title>broken=0 of 10</title>" in result.stdout, result.stderr[-2000:]


def test_chromium_screenshot_is_not_blank(reported_run, tmp_path):
    shot = tmp_path / "shot.png"
    _chromium(f"--screenshot={shot}", "--window-size=1280,4000",
              (reported_run / "report.html").as_uri(), tmp_path=tmp_path)
    with Image.open(shot) as im:
        assert im.size == (1280, 4000)
        pixels = np.asarray(im.convert("RGB"))
    assert pixels.std() > 20                                    # not one flat colour
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 1000  # pictures, not only text


# ---------------------------------------------------------------------------
# Diagnostics on hand-built records and histories
# ---------------------------------------------------------------------------
def fake_records(iterations, kinds=("relu", "relu", "none"), **series):
    """Records with the given per-layer series, e.g. ``dead=[[...], [...], [...]]``."""
    iterations = np.asarray(iterations)
    n = len(iterations)
    layers = [LayerInfo(f"layer {i + 1}", f"fc{i + 1}", f"act{i + 1}", kind, 1.0, 8, 8, 8)
              for i, kind in enumerate(kinds)]
    arrays = {}
    for i, info in enumerate(layers):
        for name in LAYER_FIELDS:
            default = np.full(n, np.nan) if name in ("dead", "saturated", "saturation") else \
                np.full(n, 1e-2 if name != "update_rms" else 1e-5)
            values = series.get(name, [None] * len(layers))[i]
            arrays[f"layer{i + 1}/{name}"] = np.asarray(default if values is None else values)
    return Records(layers, iterations, np.zeros(n, int), np.ones(n), np.ones(n),
                   np.full(n, 0.1), arrays, (8,))


def by_topic(findings, topic):
    return [f for f in findings if f.topic == topic]


def test_dead_units_are_reported_with_the_iteration_they_started():
    records = fake_records([1, 100, 200, 300, 400],
                           dead=[[0, 0, 0, 0, 0.02], [0, 0.05, 0.3, 0.42, 0.41], None])
    dead = by_topic(diagnose(records), "dead units")
    assert [f.level for f in dead] == ["problem", "ok"]
    assert dead[0].message.startswith("layer 2")
    assert "41% of units are dead" in dead[0].message
    assert "since iteration 200" in dead[0].message


def test_vanishing_gradient_is_the_ratio_of_first_to_last_layer():
    records = fake_records([1, 2, 3], grad_rms=[[1e-6] * 3, [1e-4] * 3, [1e-2] * 3])
    (flow,) = by_topic(diagnose(records), "gradient flow")
    assert flow.level == "problem"
    assert "gradient at layer 1 is 1.0e-04× layer 3's" in flow.message
    assert "vanishing" in flow.message
    healthy = fake_records([1, 2, 3], grad_rms=[[5e-3] * 3, [8e-3] * 3, [1e-2] * 3])
    assert by_topic(diagnose(healthy), "gradient flow")[0].level == "ok"


def test_saturation_names_the_share_and_k():
    records = fake_records([1, 2, 3], kinds=("sigmoid", "sigmoid", "sigmoid"),
                           saturation=[[0.9, 0.9, 0.9], [0.3, 0.3, 0.3], [0.05] * 3],
                           saturated=[[0.5] * 3, [0.1] * 3, [0.0] * 3])
    records.layers[0].k = 10
    findings = by_topic(diagnose(records), "saturation")
    assert [f.level for f in findings] == ["problem", "warning", "ok"]
    assert "90% of outputs" in findings[0].message and "k (now 10)" in findings[0].advice


def test_step_size_flags_a_learning_rate_that_is_too_high_or_too_low():
    records = fake_records([1, 2, 3], update_rms=[[5e-3] * 3] * 3)  # half the weights' 1e-2
    (lr,) = by_topic(diagnose(records), "learning rate")
    assert lr.level == "warning" and "too high" in lr.advice and "0.5" in lr.message
    records = fake_records([1, 2, 3], update_rms=[[1e-7] * 3, [1e-6] * 3, [2e-6] * 3])
    (lr,) = by_topic(diagnose(records), "learning rate")
    assert "too low" in lr.advice and "layer 3 2.0e-04" in lr.message
    assert by_topic(diagnose(fake_records([1, 2])), "learning rate")[0].level == "ok"


def history_with(loss, val_accuracy=None, train_accuracy=None):
    n = len(loss)
    return History(iteration=list(range(1, n + 1)), epoch=[0] * n, loss=list(loss),
                   accuracy=[0.5] * n, lr=[0.1] * n, epoch_accuracy=[train_accuracy or 0.5],
                   eval_iteration=[n] if val_accuracy else [],
                   val_loss=[1.0] if val_accuracy else [],
                   val_accuracy=[val_accuracy] if val_accuracy else [])


def test_loss_findings_fall_stall_rise_and_nan():
    level = lambda loss: by_topic(diagnose(history=history_with(loss)), "loss")[0]  # noqa: E731
    falling = level(np.linspace(2.0, 0.2, 100))
    assert falling.level == "ok" and "fell from 1.96 to 0.282 (-86%)" in falling.message
    assert "barely moved" in level(np.full(100, 2.3)).message
    slow = level(np.linspace(2.3, 2.0, 100))
    assert slow.level == "warning" and "slow" in slow.message and "too low" in slow.advice
    assert "diverging" in level(np.linspace(1.0, 5.0, 100)).message
    assert "iteration 51" in level([1.0] * 50 + [float("nan")] * 50).message


def test_overfitting_and_chance_accuracy():
    findings = diagnose(history=history_with(np.linspace(2, 0.1, 50), 0.85, 0.99))
    (overfit,) = by_topic(findings, "overfitting")
    assert "99.0% vs validation 85.0%" in overfit.message
    chance = diagnose(history=history_with(np.linspace(2, 1.9, 50), 0.11, 0.3),
                      classes=list("0123456789"))
    assert by_topic(chance, "accuracy")[0].level == "problem"
    assert not by_topic(chance, "overfitting")


def test_a_net_stuck_on_one_class_is_named():
    y_true = np.repeat(np.arange(10), 10)
    y_pred = np.full(100, 3)
    y_pred[:5] = 0
    findings = by_topic(diagnose(y_true=y_true, y_pred=y_pred, classes=list("0123456789")),
                        "predictions")
    assert [f.level for f in findings] == ["problem"]  # the other classes go unlisted
    assert "class '3' for 95% of the test examples" in findings[0].message
    y_pred = y_true.copy()
    y_pred[y_true == 1] = 7
    y_pred[y_true == 2] = np.tile([2, 5, 5, 5, 5], 2)
    findings = by_topic(diagnose(y_true=y_true, y_pred=y_pred), "predictions")
    assert "never predicted on the test set: class '1'" in findings[0].message
    assert "'2' (recall 20%)" in findings[1].message
