"""`tinygrad-lab assignment`: the quick study on digits end to end, and its parts.

The end-to-end tests share one quick study (trained once per test session, with
two worker processes) and check the report against the run folders it came from:
every number a finding states must be the one in the histories.
"""
import json
import math
import re
from html.parser import HTMLParser

import numpy as np
import pytest

from tinygrad_lab import nn
from tinygrad_lab.cli import main
from tinygrad_lab.cli.study import (QUICK, FloatingPointCheck, Study, a_or_an,
                                    assignment_lr_for, base_learning_rate, neighbour_agreement,
                                    target_for)
from tinygrad_lab.tensor import Tensor
from tinygrad_lab.train import History, Step

SECTIONS = ("lr", "k", "init", "activations", "together")


# ---------------------------------------------------------------------------
# The quick study, once
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def study_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("study")
    code = main(["assignment", "--dataset", "digits", "--out", str(out), "--quick",
                 "--jobs", "2", "--no-progress"])
    assert code == 0
    return out


class _ReportParser(HTMLParser):
    """Collects image sources, external references and each finding's text."""

    def __init__(self):
        super().__init__()
        self.images, self.external, self.sections = [], [], []
        self.findings = {}
        self._finding = None
        self._depth = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        for name in ("src", "href"):
            if attrs.get(name, "").startswith(("http:", "https:", "//")):
                self.external.append(attrs[name])
        if tag == "section":
            self.sections.append(attrs.get("id"))
        if tag == "div" and "finding" in attrs.get("class", ""):
            self._finding, self._depth = attrs["data-section"], 0
            self.findings[self._finding] = ""
        elif self._finding and tag == "div":
            self._depth += 1

    def handle_endtag(self, tag):
        if self._finding and tag == "div":
            if self._depth == 0:
                self._finding = None
            else:
                self._depth -= 1
        if self._finding and tag == "li":
            self.findings[self._finding] += "\n"

    def handle_data(self, data):
        if self._finding:
            self.findings[self._finding] += data


@pytest.fixture(scope="module")
def report(study_dir):
    parser = _ReportParser()
    parser.feed((study_dir / "report.html").read_text(encoding="utf-8"))
    return parser


def _runs(study_dir):
    """Every run folder: (config, summary, history, study.json)."""
    out = []
    for d in sorted((study_dir / "runs").iterdir()):
        out.append((json.loads((d / "config.json").read_text()),
                    json.loads((d / "summary.json").read_text()),
                    History.load(d / "history.json"),
                    json.loads((d / "study.json").read_text()), d))
    return out


def _percent(text):
    return float(text) / 100


# ---------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------
def test_report_is_one_self_contained_file_with_five_sections(study_dir, report):
    assert report.sections == list(SECTIONS)
    assert report.images, "the report has no pictures"
    assert all(src.startswith(("data:image/png;base64,", "data:image/gif;base64,"))
               for src in report.images)
    assert report.external == []
    markdown = (study_dir / "report.md").read_text(encoding="utf-8")
    for link in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown):
        assert (study_dir / link).is_file(), link
    assert markdown.count("\n## ") == 5


def test_every_section_states_measured_numbers(report):
    for key in SECTIONS:
        assert re.search(r"\d+\.\d%", report.findings[key]), key


def test_learning_rate_finding_matches_the_histories(study_dir, report):
    text = report.findings["lr"]
    match = re.search(r"lr ([\d.e+-]+) \(×[\d.]+\) reached the highest validation accuracy by "
                      r"iteration (\d+): ([\d.]+)%", text)
    assert match, text
    lr_runs = [(c, h) for c, _, h, _, _ in _runs(study_dir)
               if c["activation"] == "sigmoid" and c["k"] == 1 and c["init"] == "uniform"
               and c["loss"] == "sse" and c["schedule"] == "constant"
               and c["iterations"] == QUICK.iterations]
    assert len(lr_runs) == len(QUICK.lr_factors)
    best_config, best_history = max(lr_runs, key=lambda ch: ch[1].val_accuracy[-1])
    assert float(match.group(1)) == pytest.approx(best_config["lr"], rel=1e-2)
    assert int(match.group(2)) == best_history.iteration[-1] == QUICK.iterations
    assert _percent(match.group(3)) == pytest.approx(best_history.val_accuracy[-1], abs=5e-4)
    # The base lr is the assignment's 1e-5 scaled to this training set, and the report says so.
    n_train = json.loads(next((study_dir / "runs").glob("*/summary.json")).read_text())["n_train"]
    assert min(c["lr"] for c, _ in lr_runs) == pytest.approx(0.1 * 1e-5 * 60000 / n_train)
    assert f"1e-5 × 60000 / {n_train}" in (study_dir / "report.md").read_text(encoding="utf-8")


def test_steepness_finding_counts_overflow_warnings(study_dir, report):
    text = report.findings["k"]
    match = re.search(r"k = ([\d.]+) reached the highest validation accuracy by iteration \d+: "
                      r"([\d.]+)%", text)
    assert match, text
    k_runs = [(c, h, extra) for c, _, h, extra, _ in _runs(study_dir)
              if c["activation"] == "sigmoid" and c["init"] == "uniform" and c["loss"] == "sse"
              and math.isclose(c["lr"], base_learning_rate(1259), rel_tol=1e-2)
              and c["iterations"] == QUICK.iterations]
    assert sorted(c["k"] for c, _, _ in k_runs) == sorted(QUICK.ks)
    best = max(k_runs, key=lambda r: r[1].val_accuracy[-1])
    assert float(match.group(1)) == best[0]["k"]
    assert _percent(match.group(2)) == pytest.approx(best[1].val_accuracy[-1], abs=5e-4)
    stated = re.search(r"(\d+) overflow warnings: NumPy's floating-point errors were counted in "
                       r"(\d+) forward", text)
    assert stated, text
    assert int(stated.group(1)) == sum(e["numpy_errors"]["overflow"] for _, _, e in k_runs) == 0
    assert int(stated.group(2)) == sum(e["checked_forward"] for _, _, e in k_runs) > 0


def test_dead_unit_counts_come_from_the_records(study_dir, report):
    from viz.record import load_records

    text = report.findings["activations"]
    counts = re.search(r"Dead units \(never fire on any training image\) at iteration \d+, "
                       r"layer 1 and layer 2: (.*)\.$", text, flags=re.M)
    assert counts, text
    found = re.findall(r"(relu6?), [^;]*?: (\d+)/(\d+), (\d+)/(\d+)", counts.group(1))
    runs = [(c, d) for c, _, _, _, d in _runs(study_dir)
            if c["activation"] in ("relu", "relu6") and c["iterations"] == QUICK.iterations]
    assert len(found) == len(runs)
    for activation, dead1, n1, dead2, n2 in found:
        candidates = []
        for c, d in runs:
            records = load_records(d)
            if c["activation"] == activation:
                candidates.append((round(float(records.get(0, "dead")[-1]) * 256),
                                   round(float(records.get(1, "dead")[-1]) * 128)))
        assert (int(dead1), int(dead2)) in candidates
        assert (int(n1), int(n2)) == (256, 128)


def test_together_finding_reports_the_best_final_run(study_dir, report):
    text = report.findings["together"]
    match = re.search(r"Best: .*?: validation accuracy ([\d.]+)%, test accuracy ([\d.]+)%", text)
    assert match, text
    finals = [(s, h) for c, s, h, _, _ in _runs(study_dir)
              if c["iterations"] == QUICK.final_iterations]
    assert len(finals) == len(QUICK.final_lr_factors) * len(QUICK.final_schedules)
    best_val = max(h.val_accuracy[-1] for _, h in finals)
    assert _percent(match.group(1)) == pytest.approx(best_val, abs=5e-4)
    tests = [s["test_accuracy"] for s, h in finals if h.val_accuracy[-1] == best_val]
    assert any(_percent(match.group(2)) == pytest.approx(t, abs=5e-4) for t in tests)


def test_restart_skips_finished_runs_and_redoes_a_broken_one(study_dir):
    study = Study("digits", study_dir, settings=QUICK)
    again = study.run_questions(jobs=1, progress=False)
    assert again["trained"] == [], again
    assert len(again["skipped"]) > 10, again
    together = study.run_together(jobs=1, progress=False)
    assert together["trained"] == [], together
    # A run whose last file is missing (interrupted mid-write) is done again, alone.
    victim = study_dir / "runs" / again["skipped"][0]
    (victim / "study.json").unlink()
    redo = study.run_questions(jobs=1, progress=False)
    assert redo["trained"] == [victim.name], redo
    assert (victim / "study.json").exists()


# ---------------------------------------------------------------------------
# Bad arguments: one line, exit code 2
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("args, words", [
    (["--dataset", "cifar"], "unknown dataset"),
    (["--jobs", "0"], "--jobs must be at least 1"),
    (["--iterations", "many"], "--iterations takes a positive whole number"),
    (["--bogus"], "unrecognized arguments"),
])
def test_bad_arguments_give_one_line_and_exit_2(tmp_path, capsys, args, words):
    try:
        code = main(["assignment", "--out", str(tmp_path / "s"), "--quick", *args])
    except SystemExit as exit_:
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2
    assert words in err
    assert len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "s" / "runs").exists()


# ---------------------------------------------------------------------------
# The parts
# ---------------------------------------------------------------------------
def test_learning_rates_scale_with_the_training_set():
    assert base_learning_rate(60000) == pytest.approx(1e-5)
    assert base_learning_rate(1200) == pytest.approx(5e-4)
    # A loss averaged over the batch needs N times the lr for the same step.
    assert assignment_lr_for("ce", 1200) == pytest.approx(0.6)
    assert assignment_lr_for("sse", 1200) == pytest.approx(5e-4)


def test_target_is_ninety_percent_of_the_best_rounded_down_to_five():
    class Fake:
        def __init__(self, acc):
            self.final_val = acc
    assert target_for([Fake(0.916), Fake(0.5)]) == pytest.approx(0.80)
    assert target_for([Fake(0.1)]) == pytest.approx(0.2)


def test_words():
    assert a_or_an("8") == "an 8" and a_or_an("3") == "a 3"
    assert a_or_an("Ankle boot") == "an Ankle boot"


def test_neighbour_agreement_sees_separated_and_mixed_classes():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 50)
    apart = rng.normal(size=(100, 3)) + labels[:, None] * 20
    assert neighbour_agreement(apart, labels) == 1.0
    mixed = rng.normal(size=(100, 3))
    assert neighbour_agreement(mixed, labels) < 0.8


def _check_one_step(model, x, y, iteration=10):
    from tinygrad_lab import optim
    check = FloatingPointCheck("sse", backward_every=10)
    opt = optim.SGD(model.parameters(), lr=0.1)
    check.on_fit_begin(model, opt, History())
    step = Step(model, opt, iteration, 0, Tensor(x), Tensor(y), None, 0.0, 0.0, 0.1)
    check.on_step_end(step)
    return check.result(), model


def test_floating_point_check_counts_overflow_and_clears_gradients():
    from models import AssignmentMLP
    model = AssignmentMLP(sizes=(2, 3, 2), activation="relu", seed=0)
    model.fc1.weight.data[:] = 3e38  # x·Wᵀ overflows float32
    result, model = _check_one_step(model, np.ones((4, 2), np.float32), np.zeros(4, np.int64))
    assert result["numpy_errors"]["overflow"] > 0
    assert result["checked_forward"] == 1 and result["checked_backward"] == 1
    assert all(p.grad is None or not np.any(p.grad.data) for p in model.parameters())


def test_floating_point_check_counts_where_the_naive_sigmoid_would_overflow():
    from models import AssignmentMLP
    model = AssignmentMLP(sizes=(2, 3, 2), activation="sigmoid", k=10.0, seed=0)
    model.fc1.weight.data[:] = -5.0  # k·x = 10 · (−5 − 5) = −100 < −88.72 for every unit
    result, _ = _check_one_step(model, np.ones((4, 2), np.float32), np.zeros(4, np.int64), 3)
    assert result["numpy_errors"] == {"overflow": 0, "invalid value": 0, "divide by zero": 0}
    assert result["naive_sigmoid_overflows"] == 4 * 3
    assert result["lowest_kx"] == pytest.approx(-100.0)
    assert result["checked_backward"] == 0  # iteration 3: forward only


def test_sigmoid_is_found_inside_the_assignment_net():
    from models import AssignmentMLP
    check = FloatingPointCheck("sse")
    model = AssignmentMLP(sizes=(4, 3, 2), activation="sigmoid")
    check.on_fit_begin(model, None, History())
    assert len(check._sigmoids) == 2 and all(isinstance(m, nn.Linear) for m, _ in check._sigmoids)


def test_a_diverging_run_is_a_result_with_its_history(tmp_path):
    from tinygrad_lab.cli.study import RunResult, Trial, _fate, base_config, train_trial
    config = base_config("digits", 5, 1e30).replace(activation="relu", init="he", loss="ce")
    extras = train_trial(config.to_dict(), str(tmp_path / "run"), snapshots=5)
    assert extras["diverged"].startswith("Training diverged at iteration")
    result = RunResult.load(Trial("lr 1e30", config), tmp_path / "run")
    assert result.diverged and len(result.history.loss) >= 1
    assert _fate(result).startswith(f"diverged at iteration {len(result.history.loss) + 1}")
    assert math.isnan(result.layer_stat(0, "dead")) or result.records is not None
