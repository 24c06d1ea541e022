"""The `tinygrad-lab` command end to end on the embedded digits."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinygrad_lab.cli import main
from tinygrad_lab.cli.experiment import RunConfig
from tinygrad_lab.train import History

ROOT = Path(__file__).resolve().parents[1]
QUICK = ["--epochs", "2", "--train-limit", "300", "--hidden", "32", "--no-progress"]


def call(argv):
    """main's exit code: argparse's own errors leave through SystemExit, ours are returned."""
    try:
        return main(argv)
    except SystemExit as exit:
        return exit.code


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "quick"
    assert call(["train", *QUICK, "--seed", "3", "--lr", "0.01", "--out", str(out)]) == 0
    return out


def test_train_writes_a_run_folder(run_dir):
    assert sorted(p.name for p in run_dir.iterdir()) == ["checkpoint.npz", "config.json",
                                                         "history.json", "summary.json"]
    config = RunConfig.from_dict(json.loads((run_dir / "config.json").read_text()))
    assert (config.dataset, config.epochs, config.train_limit, config.hidden, config.seed) == \
        ("digits", 2, 300, (32,), 3)
    history = History.load(run_dir / "history.json")
    assert len(history.epoch_loss) == 2 and history.iteration[-1] == 2 * 5  # 300 / 64 → 5
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["n_train"] == 300 and summary["n_test"] == 359
    assert summary["iterations"] == 10 and 0 <= summary["test_accuracy"] <= 1
    assert summary["test_accuracy"] > 0.5


def test_train_prints_a_summary(tmp_path, capsys):
    assert call(["train", *QUICK, "--out", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "training on digits: relu net (32,), adam lr=0.001, loss=ce" in out
    assert "10 steps" in out and "test accuracy" in out and "validation accuracy" in out
    assert f"tinygrad-lab evaluate {tmp_path / 'r'}" in out


def test_the_same_seed_gives_the_same_history(run_dir, tmp_path):
    again = tmp_path / "again"
    assert call(["train", *QUICK, "--seed", "3", "--lr", "0.01", "--out", str(again)]) == 0
    assert (again / "history.json").read_text() == \
        (run_dir / "history.json").read_text()


def parse_confusion(text):
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("true\\pred"))
    rows = [line.split("recall")[0].split()[1:] for line in lines[start + 1:] if "recall" in line]
    return np.array(rows, dtype=int)


def test_evaluate_prints_accuracy_and_a_confusion_matrix(run_dir, capsys):
    assert call(["evaluate", str(run_dir)]) == 0
    out = capsys.readouterr().out
    summary = json.loads((run_dir / "summary.json").read_text())
    assert f"test accuracy {summary['test_accuracy']:.2%}" in out
    cm = parse_confusion(out)
    assert cm.shape == (10, 10)
    assert cm.sum() == summary["n_test"] == 359
    assert np.trace(cm) / cm.sum() == pytest.approx(summary["test_accuracy"])


def test_train_with_no_arguments_trains_on_the_digits(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)                       # the default run folder is runs/<name>
    assert call(["train"]) == 0
    (run,) = (tmp_path / "runs").iterdir()
    assert run.name.startswith("digits-")
    summary = json.loads((run / "summary.json").read_text())
    assert summary["epochs"] == RunConfig().epochs and summary["test_accuracy"] > 0.9
    assert "test accuracy" in capsys.readouterr().out


@pytest.mark.parametrize("argv,says", [
    (["train", "--activation", "swish"], "invalid choice: 'swish'"),
    (["train", "--batch-size", "0"], "--batch-size must be positive, got 0"),
    (["train", "--batch-size", "abc"], "--batch-size takes a positive integer or 'full'"),
    (["train", "--lr", "-1"], "lr must be a positive number, got -1.0"),
    (["train", "--epochs", "0"], "epochs must be a positive integer, got 0"),
    (["train", "--train-limit", "0"], "train_limit must be a positive integer"),
    (["train", "--epochs", "x"], "invalid int value: 'x'"),
    (["train", "--hidden", "a,b"], "--hidden takes comma-separated widths"),
    (["train", "--init", "bogus", "--epochs", "1"], "unknown init 'bogus'"),
    (["train", "--dataset", "cifar"], "invalid choice: 'cifar'"),
    (["evaluate"], "the following arguments are required: run_dir"),
    (["evaluate", "{tmp}/nowhere"], "is not a finished run folder: config.json is missing"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
])
def test_bad_arguments_give_one_clear_line_and_exit_code_2(argv, says, tmp_path, capsys,
                                                           monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert call(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert "Traceback" not in captured.err + captured.out
    assert len(err.splitlines()) == 1, err
    assert err.startswith("tinygrad-lab") and "error:" in err and says in err
    assert not (tmp_path / "runs").exists()           # nothing was started


def test_a_corrupt_checkpoint_is_a_clear_error(run_dir, tmp_path, capsys):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text((run_dir / "config.json").read_text())
    (bad / "checkpoint.npz").write_bytes((run_dir / "checkpoint.npz").read_bytes()[:800])
    assert call(["evaluate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "is not a readable checkpoint (truncated" in err and "Traceback" not in err


def test_the_command_runs_as_a_program(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])}
    out = tmp_path / "sub"
    done = subprocess.run([sys.executable, "-m", "tinygrad_lab.cli", "train", "--epochs", "1",
                           "--train-limit", "200", "--out", str(out)],
                          capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "test accuracy" in done.stdout and (out / "checkpoint.npz").exists()
    bad = subprocess.run([sys.executable, "-m", "tinygrad_lab.cli", "train", "--lr", "-1"],
                         capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
