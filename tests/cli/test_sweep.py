"""`tinygrad-lab sweep`: real parallel runs on digits, the pictures and tables they leave,
restarts that skip finished runs, divergence as a result, and clear errors."""
import csv
import json

import matplotlib.image
import pytest

from tinygrad_lab.cli import build_parser, main
from tinygrad_lab.cli import sweep as sweep_mod
from tinygrad_lab.cli.experiment import RunConfig
from tinygrad_lab.cli.sweep import is_finished, parse_set, plan_sweep, run_sweep
from tinygrad_lab.cli.sweep_cmd import base_config

# Small and quick: a few hundred digits, a 16-unit layer, 40 steps. lr=1e10 diverges at
# iteration 3 with leaky ReLU and SGD (the loss becomes inf).
TINY = ["--train-limit", "200", "--hidden", "16", "--iterations", "40", "--eval-every", "10",
        "--batch-size", "32", "--activation", "leaky_relu", "--optimizer", "sgd",
        "--no-progress", "--target", "0.5"]
LRS = "lr=0.05,0.3,1e10"
NAMES = ["lr=0.05", "lr=0.3", "lr=1e+10"]


def sweep(out, *extra, sets=(LRS,)):
    argv = ["sweep", "--out", str(out), "--jobs", "2", *TINY, *extra]
    for s in sets:
        argv += ["--set", s]
    return main(argv)


def mtimes(out):
    return {n: (out / n / "history.json").stat().st_mtime_ns for n in NAMES}


@pytest.fixture(scope="module")
def finished_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweeps") / "lr"
    assert sweep(out) == 0
    return out


def test_each_run_gets_a_complete_folder(finished_sweep):
    for name in NAMES:
        run_dir = finished_sweep / name
        assert (run_dir / "config.json").is_file() and (run_dir / "summary.json").is_file()
        assert (run_dir / "history.json").is_file()
    assert json.loads((finished_sweep / "lr=0.3" / "config.json").read_text())["lr"] == 0.3
    assert (finished_sweep / "lr=0.3" / "checkpoint.npz").is_file()  # ready for `report`
    sweep_json = json.loads((finished_sweep / "sweep.json").read_text())
    assert sweep_json["grid"] == {"lr": [0.05, 0.3, 1e10]} and sweep_json["runs"] == NAMES


def test_the_overlay_plot_is_a_real_png(finished_sweep):
    path = finished_sweep / "curves.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = matplotlib.image.imread(path)
    assert image.shape[0] > 300 and image.shape[1] > 800


def test_summary_tables_record_accuracy_target_and_divergence(finished_sweep):
    with open(finished_sweep / "summary.csv") as f:
        rows = {r["run"]: r for r in csv.DictReader(f)}
    assert list(rows) == NAMES
    diverged = rows["lr=1e+10"]
    assert diverged["status"] == "diverged" and diverged["diverged"] == "True"
    assert diverged["iterations_to_target"] == "never"
    for name in ("lr=0.05", "lr=0.3"):
        row = rows[name]
        assert row["status"] == "done" and row["diverged"] == "False"
        assert 0 <= float(row["best_val_accuracy"]) <= 1
        assert float(row["best_val_accuracy"]) >= float(row["final_val_accuracy"])
        assert 0 <= float(row["test_accuracy"]) <= 1
        reach = row["iterations_to_target"]
        history = json.loads((finished_sweep / name / "history.json").read_text())
        reached = [i for i, a in zip(history["eval_iteration"], history["val_accuracy"])
                   if a >= 0.5]
        assert reach == (str(reached[0]) if reached else "never")
    md = (finished_sweep / "summary.md").read_text()
    assert "| 1e+10 |" in md and "Diverged (loss became NaN/inf): lr=1e+10" in md
    assert "Highest validation accuracy: lr=" in md


def test_a_restarted_sweep_skips_finished_runs_and_redoes_half_written_ones(finished_sweep,
                                                                              capsys):
    before = mtimes(finished_sweep)
    capsys.readouterr()
    assert sweep(finished_sweep) == 0
    assert mtimes(finished_sweep) == before  # nothing done twice
    assert "skipped 3 finished run(s)" in capsys.readouterr().out

    (finished_sweep / "lr=0.3" / "summary.json").unlink()  # as if killed before the end
    assert sweep(finished_sweep) == 0
    after = mtimes(finished_sweep)
    assert after["lr=0.3"] != before["lr=0.3"]
    assert after["lr=0.05"] == before["lr=0.05"] and after["lr=1e+10"] == before["lr=1e+10"]
    assert is_finished(finished_sweep / "lr=0.3", RunConfig.from_dict(json.loads(
        (finished_sweep / "lr=0.3" / "config.json").read_text())))


def test_a_finished_run_of_another_config_does_not_count(finished_sweep):
    config = RunConfig.from_dict(json.loads((finished_sweep / "lr=0.05" / "config.json")
                                            .read_text()))
    assert is_finished(finished_sweep / "lr=0.05", config)
    assert not is_finished(finished_sweep / "lr=0.05", config.replace(iterations=41))
    assert not is_finished(finished_sweep / "no-such-run", config)


@pytest.mark.parametrize("argv,message", [
    (["--set", "foo=1,2"], "unknown config field 'foo'"),
    (["--set", "lr=fast"], "config field 'lr' expects float, got 'fast'"),
    (["--set", "lr"], "--set takes FIELD=VALUE"),
    (["--set", "lr=-1"], "lr must be a positive number"),
    (["--set", "activation=swish"], "unknown activation 'swish'"),
    (["--set", "lr=1", "--set", "lr=2"], "--set lr is given twice"),
    (["--set", "lr=1", "--set", "k=1", "--set", "seed=1"], "at most two fields"),
    (["--set", "lr=1", "--target", "90"], "--target is a validation accuracy"),
])
def test_bad_fields_and_values_are_one_line_errors_with_exit_code_2(tmp_path, capsys, argv,
                                                                    message):
    out = tmp_path / "sweep"
    assert main(["sweep", "--out", str(out), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not out.exists()  # nothing was started


def test_two_fields_make_a_grid_named_by_their_values():
    runs = plan_sweep(RunConfig(), {"lr": [1e-5, 2e-5], "k": [0.5, 1.0, 2.0]})
    assert [r.name for r in runs] == ["lr=1e-05_k=0.5", "lr=1e-05_k=1", "lr=1e-05_k=2",
                                      "lr=2e-05_k=0.5", "lr=2e-05_k=1", "lr=2e-05_k=2"]
    assert runs[4].config.lr == 2e-5 and runs[4].config.k == 1.0


def test_any_field_parses_to_its_type():
    assert parse_set("hidden=64-32,16") == ("hidden", [(64, 32), (16,)])
    assert parse_set("batch_size=full,32") == ("batch_size", ["full", 32])
    assert parse_set("bias=true,false") == ("bias", [True, False])
    assert parse_set("iterations=100,200") == ("iterations", [100, 200])


def test_base_file_with_train_options_laid_over_it(tmp_path):
    base = tmp_path / "config.json"
    base.write_text(json.dumps(RunConfig(lr=0.5, activation="sigmoid", loss="sse",
                                         bias=False).to_dict()))
    parser = build_parser()
    args = parser.parse_args(["sweep", "--set", "k=1,2", "--out", "x", "--base", str(base),
                              "--lr", "0.001", "--hidden", "32,16"])
    config = base_config(args)
    assert config.lr == 0.001  # given explicitly, even though it is train's default
    assert config.hidden == (32, 16)
    assert config.activation == "sigmoid" and config.loss == "sse" and config.bias is False
    args = parser.parse_args(["sweep", "--set", "k=1,2", "--out", "x", "--base", str(tmp_path)])
    assert base_config(args) == RunConfig.from_dict(json.loads(base.read_text()))


def test_a_run_that_crashes_is_reported_and_the_others_still_finish(tmp_path, monkeypatch):
    real_run = sweep_mod.run

    def run_or_crash(config, out, **kwargs):
        if config.lr == 0.2:
            raise RuntimeError("out of memory")
        return real_run(config, out, **kwargs)

    monkeypatch.setattr(sweep_mod, "run", run_or_crash)  # jobs=1 runs in this process
    base = RunConfig(train_limit=100, hidden=(8,), iterations=5, batch_size=50)
    result = run_sweep(base, {"lr": [0.1, 0.2]}, tmp_path / "s", jobs=1, progress=False)
    assert result.trained == ["lr=0.1"] and result.failed == {"lr=0.2": "RuntimeError: out of "
                                                                         "memory"}
    assert [r["status"] for r in result.rows] == ["done", "failed"]
    assert result.best["run"] == "lr=0.1"
    assert "Failed: lr=0.2 (RuntimeError: out of memory)" in (tmp_path / "s" / "summary.md"
                                                              ).read_text()
