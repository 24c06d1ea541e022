"""viz.record: what the Recorder keeps, on a real short digits run and on hand-built nets."""
import json
import math

import numpy as np
import pytest

from tinygrad_lab import nn
from tinygrad_lab.cli.experiment import RunConfig, run
from tinygrad_lab.data import Dataset
from tinygrad_lab.optim import SGD
from tinygrad_lab.train import Callback, fit
from models import AssignmentMLP
from viz.record import (Recorder, Records, dead_fraction, find_layers, flat_end_mask,
                        load_records)

EVERY = 5
CHECK_AT = 10  # an iteration at which a spy callback also keeps the raw Step


class StepSpy(Callback):
    """Keeps the raw Step the training loop hands out at one iteration."""

    def __init__(self, iteration):
        self.iteration, self.step = iteration, None

    def wants_details(self, iteration):
        return iteration == self.iteration

    def on_step_end(self, step):
        if step.iteration == self.iteration:
            self.step = step


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """3 epochs on digits (60 steps), recorded every 5 steps."""
    out = tmp_path_factory.mktemp("run")
    recorder, spy = Recorder(out, every=EVERY), StepSpy(CHECK_AT)
    model, history, _ = run(RunConfig(epochs=3), out, callbacks=[recorder, spy], progress=False)
    return out, recorder, spy, model, history


def test_snapshots_at_first_and_every_n_iterations(digits_run):
    _, recorder, _, _, history = digits_run
    records = recorder.records
    total = history.iteration[-1]
    assert records.iteration.tolist() == [1] + list(range(EVERY, total + 1, EVERY))
    assert records.lr.tolist() == [history.lr[i - 1] for i in records.iteration]
    assert records.loss.tolist() == [history.loss[i - 1] for i in records.iteration]


def test_layers_of_the_assignment_mlp_are_linear_plus_activation(digits_run):
    _, recorder, _, _, _ = digits_run
    layers = recorder.records.layers
    assert [(l.linear, l.activation, l.kind) for l in layers] == [
        ("fc1", "act1", "relu"), ("fc2", "act2", "relu"), ("fc3", "act3", "none")]
    assert [(l.n_in, l.n_out) for l in layers] == [(64, 256), (256, 128), (128, 10)]


def test_recorded_values_are_what_the_step_saw(digits_run):
    _, recorder, spy, _, _ = digits_run
    records, step = recorder.records, spy.step
    i = records.index_of(CHECK_AT)
    outputs = step.activations["act2"]
    np.testing.assert_allclose(records.get(1, "act_mean")[i], outputs.mean(axis=0), rtol=1e-6)
    np.testing.assert_array_equal(records.get(0, "update")[i], step.updates["fc1.weight"])
    grad = step.grads["fc3.weight"]
    assert records.get(2, "grad_rms")[i] == pytest.approx(np.sqrt(np.mean(grad ** 2)), rel=1e-5)
    assert records.get(1, "dead")[i] == pytest.approx(np.mean(np.all(outputs <= 0, axis=0)))
    assert math.isnan(records.get(2, "dead")[i])  # the output layer has no ReLU
    sample = records.get(0, "act_sample")[i]
    assert np.isin(sample[np.isfinite(sample)], step.activations["act1"]).all()


def test_last_weights_are_the_trained_weights(digits_run):
    _, recorder, _, model, history = digits_run
    records = recorder.records
    assert records.iteration[-1] == history.iteration[-1]
    np.testing.assert_array_equal(records.get(0, "weight")[-1], model.fc1.weight.data)


def test_records_reload_equal(digits_run):
    out, recorder, _, _, _ = digits_run
    saved, loaded = recorder.records, load_records(out)
    assert loaded.layers == saved.layers
    assert loaded.input_shape == saved.input_shape == (64,)
    assert loaded.image_shape == (8, 8)
    for name in ("iteration", "epoch", "loss", "accuracy", "lr"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(saved, name))
    assert loaded.arrays.keys() == saved.arrays.keys()
    for key in saved.arrays:
        np.testing.assert_array_equal(loaded.arrays[key], saved.arrays[key], err_msg=key)


def test_index_file_and_no_leftover_temporaries(digits_run):
    out = digits_run[0]
    index = json.loads((out / "records.json").read_text())
    assert index["format"] == "tinygrad-lab records 1"
    assert index["iterations"] == load_records(out).iteration.tolist()
    assert not list(out.glob("*.tmp"))


def test_dead_fraction_by_hand():
    outputs = np.array([[0.0, 1.0, 0.0, 0.0],
                        [0.0, 0.0, 2.0, 0.0],
                        [0.0, 0.0, 0.0, 0.0]])   # columns 0 and 3 never fire
    assert dead_fraction(outputs, "relu") == 0.5
    assert dead_fraction(outputs, "relu6") == 0.5
    assert dead_fraction(np.array([[-0.01, 0.5], [-0.02, -0.01]]), "leaky_relu") == 0.5
    assert math.isnan(dead_fraction(outputs, "sigmoid"))


def test_flat_ends_by_hand():
    sig = np.array([0.005, 0.5, 0.995, 0.01, 0.99])
    assert flat_end_mask(sig, "sigmoid").tolist() == [True, False, True, False, False]
    assert flat_end_mask(np.array([-0.999, 0.5, 0.995]), "tanh").tolist() == [True, False, True]
    assert flat_end_mask(np.array([6.0, 5.9, 0.0]), "relu6").tolist() == [True, False, False]
    assert flat_end_mask(sig, "relu") is None


def _tiny_sequential(activation):
    """Linear(2→3) → activation → Linear(3→2) with weights chosen by hand."""
    model = nn.Sequential(nn.Linear(2, 3, bias=False), nn.Dropout(0.0), activation,
                          nn.Linear(3, 2, bias=False))
    # inputs are positive: unit 0 (all-negative weights) can never fire, unit 1 always does,
    # unit 2 fires for some inputs only
    model[0].weight.data[...] = np.array([[-1.0, -1.0], [1.0, 1.0], [1.0, -1.0]], np.float32)
    return model


def _fit_one_step(model, recorder):
    X = np.array([[1.0, 0.5], [0.2, 0.9], [0.7, 0.1], [0.3, 0.4]], np.float32)
    data = Dataset(X, np.array([0, 1, 0, 1]), ["a", "b"])
    fit(model, SGD(model.parameters(), lr=1e-3), data, iterations=1, batch_size="full",
        callbacks=[recorder], progress=False)
    return recorder.records


def test_dead_units_in_a_hand_built_sequential():
    records = _fit_one_step(_tiny_sequential(nn.ReLU()), Recorder(every=1))
    first = records.layers[0]
    assert (first.linear, first.activation, first.kind) == ("0", "2", "relu")  # Dropout skipped
    assert records.layers[1].kind == "linear"  # a Linear with no activation after it
    assert records.get(0, "dead")[0] == pytest.approx(1 / 3)


def test_saturated_units_in_a_hand_built_sequential():
    # sigmoid(20·x): unit 0 sits below 0.01 for every input, unit 1 above 0.99 for every input,
    # unit 2 (input 0.5·x1 − ... ) varies
    model = _tiny_sequential(nn.Sigmoid(k=20))
    records = _fit_one_step(model, Recorder(every=1))
    assert records.layers[0].k == 20
    assert records.get(0, "saturated")[0] == pytest.approx(2 / 3)
    X = np.array([[1.0, 0.5], [0.2, 0.9], [0.7, 0.1], [0.3, 0.4]])
    pre = X @ np.array([[1.0, -1.0]]).T * 20
    unit2_flat = np.mean((1 / (1 + np.exp(-pre)) < 0.01) | (1 / (1 + np.exp(-pre)) > 0.99))
    assert records.get(0, "saturation")[0] == pytest.approx((1 + 1 + unit2_flat) / 3)


def test_find_layers_needs_a_linear():
    with pytest.raises(ValueError, match="no nn.Linear"):
        find_layers(nn.Sequential(nn.ReLU()))


def test_memory_bound_thins_evenly_and_keeps_first_and_at():
    model = AssignmentMLP(sizes=(4, 5, 3), activation="tanh", seed=0)
    rng = np.random.default_rng(0)
    data = Dataset(rng.normal(size=(32, 4)).astype(np.float32), rng.integers(0, 3, 32),
                   ["a", "b", "c"])
    recorder = Recorder(every=1, at=[37], max_records=8)
    fit(model, SGD(model.parameters(), lr=0.01), data, iterations=100, batch_size=8,
        callbacks=[recorder], progress=False)
    its = recorder.records.iteration.tolist()
    assert len(its) <= 8
    assert its[0] == 1 and 37 in its
    regular = [i for i in its if i not in (1, 37)]
    assert len(set(np.diff(regular))) == 1  # evenly spaced
    assert regular[-1] > 80                  # still covers the end of training


def test_huge_weights_keep_only_their_first_rows():
    model = AssignmentMLP(sizes=(10, 20, 3), activation="relu", seed=0)
    layers = find_layers(model, max_weight_values=50)
    assert [l.rows_kept for l in layers] == [5, 2]
    data = Dataset(np.ones((4, 10), np.float32), np.array([0, 1, 2, 0]), ["a", "b", "c"])
    recorder = Recorder(every=1, max_weight_values=50)
    fit(model, SGD(model.parameters(), lr=0.01), data, iterations=1, batch_size="full",
        callbacks=[recorder], progress=False)
    np.testing.assert_array_equal(recorder.records.get(0, "weight")[0], model.fc1.weight.data[:5])


def test_bad_settings_and_missing_files(tmp_path):
    with pytest.raises(ValueError, match="every"):
        Recorder(every=0)
    with pytest.raises(ValueError, match="max_records"):
        Recorder(max_records=1)
    with pytest.raises(FileNotFoundError, match="--record"):
        load_records(tmp_path)
    with pytest.raises(ValueError, match="nothing recorded"):
        Recorder().records
    with pytest.raises(KeyError, match="unknown field"):
        Records([], *[np.zeros(0)] * 5, arrays={}).get(0, "weights")
