"""fit, History, callbacks, divergence and checkpoints, on a small slice of the digits."""
import json
import os

import numpy as np
import pytest

from models import AssignmentMLP
from tinygrad_lab import data, optim
from tinygrad_lab.autograd import is_grad_enabled, no_grad
from tinygrad_lab.tensor import Tensor
from tinygrad_lab.train import (Callback, History, TrainingDiverged, evaluate, fit, get_loss,
                                load_checkpoint, predict, save_checkpoint)


@pytest.fixture(scope="module")
def digits():
    d = data.load_digits()
    return (d.X[:300], d.y[:300]), (d.X[300:400], d.y[300:400])


def make(seed=1, optimizer="adam", lr=1e-2, activation="relu"):
    model = AssignmentMLP((64, 16, 10), activation=activation, init="he", bias=True,
                          output_activation="none", seed=seed)
    opt = optim.get_optimizer(optimizer, model.parameters(), lr=lr)
    return model, opt


def loader(train, batch_size=64, seed=3):
    return data.DataLoader(train, batch_size=batch_size, seed=seed)   # 300 → 5 batches/epoch


def weights(model):
    return {name: p.data.copy() for name, p in model.named_parameters()}


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def as_json(history):
    return json.dumps(history.to_dict())


# ---------------------------------------------------------------------------
# fit and History
# ---------------------------------------------------------------------------
def test_fit_with_epochs_records_every_step_and_epoch(digits):
    train, val = digits
    model, opt = make()
    h = fit(model, opt, loader(train), val_data=val, loss="ce", epochs=3, progress=False)
    assert h.iteration == list(range(1, 16))
    assert h.epoch == [0] * 5 + [1] * 5 + [2] * 5
    for name in ("loss", "accuracy", "lr"):
        assert len(getattr(h, name)) == 15
    assert len(h.epoch_loss) == len(h.epoch_accuracy) == 3
    assert h.epoch_loss[0] == pytest.approx(np.mean(h.loss[:5]))
    assert h.epoch_accuracy[2] == pytest.approx(np.mean(h.accuracy[10:]))
    assert h.eval_iteration == [5, 10, 15]          # once per epoch
    assert len(h.val_loss) == len(h.val_accuracy) == 3
    assert all(0 <= a <= 1 for a in h.accuracy + h.val_accuracy)
    assert h.epoch_loss[-1] < h.epoch_loss[0]       # it learns
    assert h.summary()["epochs"] == 3 and h.summary()["iterations"] == 15
    assert h.best_val_accuracy == max(h.val_accuracy)


def test_fit_with_iterations_stops_mid_epoch_and_evaluates_at_the_end(digits):
    train, val = digits
    model, opt = make()
    h = fit(model, opt, loader(train), val_data=val, iterations=12, eval_every=4, progress=False)
    assert h.iteration[-1] == 12 and len(h.loss) == 12
    assert h.epoch[-1] == 2                          # 5 + 5 + 2 steps
    assert len(h.epoch_loss) == 2                    # the unfinished third epoch has no mean
    # every 4 steps, at each epoch end (5, 10) and at the last step (12, also a multiple of 4)
    assert h.eval_iteration == [4, 5, 8, 10, 12]


def test_fit_asks_for_epochs_or_iterations_not_both(digits):
    train, _ = digits
    model, opt = make()
    with pytest.raises(ValueError, match="exactly one of epochs= or iterations="):
        fit(model, opt, train, progress=False)
    with pytest.raises(ValueError, match="exactly one"):
        fit(model, opt, train, epochs=1, iterations=3, progress=False)
    with pytest.raises(ValueError, match="nothing to do"):
        fit(model, opt, train, epochs=0, progress=False)


def test_fit_accepts_a_pair_and_full_batch(digits):
    train, _ = digits
    model, opt = make()
    h = fit(model, opt, train, epochs=2, batch_size="full", progress=False)
    assert h.iteration == [1, 2] and h.epoch == [0, 1]


def test_schedule_sets_the_lr_of_every_step(digits):
    train, _ = digits
    model, opt = make(lr=0.05)
    h = fit(model, opt, loader(train), epochs=2, schedule="cosine", progress=False)
    assert h.lr[0] == pytest.approx(0.05)
    assert all(a > b for a, b in zip(h.lr, h.lr[1:]))
    assert h.lr[-1] == pytest.approx(0.05 * 0.5 * (1 + np.cos(np.pi * 9 / 10)))


def test_history_json_round_trip(tmp_path, digits):
    train, val = digits
    model, opt = make()
    h = fit(model, opt, loader(train), val_data=val, epochs=1, progress=False)
    h.save(tmp_path / "h.json")
    assert History.load(tmp_path / "h.json") == h
    with pytest.raises(ValueError, match="unknown fields"):
        History.from_dict({**h.to_dict(), "bogus": []})


def test_same_seed_and_config_give_the_same_history_bit_for_bit(digits):
    train, val = digits

    def run():
        model, opt = make(seed=5)
        h = fit(model, opt, train, val_data=val, epochs=3, batch_size=32, seed=7,
                schedule="cosine", progress=False)
        return as_json(h), weights(model)

    (h1, w1), (h2, w2) = run(), run()
    assert h1 == h2
    assert_same_weights(w1, w2)
    # and the seed matters
    model, opt = make(seed=5)
    h3 = fit(model, opt, train, val_data=val, epochs=3, batch_size=32, seed=8,
             schedule="cosine", progress=False)
    assert as_json(h3) != h1


def test_loss_names_and_bad_loss():
    assert get_loss("CE") is get_loss("cross_entropy")
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        get_loss("hinge")


# ---------------------------------------------------------------------------
# Callbacks
# ---------------------------------------------------------------------------
class Watcher(Callback):
    """Records what it sees; asks for details on the iterations in ``detail_at``."""

    def __init__(self, detail_at=()):
        self.detail_at = set(detail_at)
        self.steps, self.events = [], []

    def on_fit_begin(self, model, optimizer, history):
        self.model = model
        self.events.append("begin")

    def wants_details(self, iteration):
        if iteration in self.detail_at:
            # Called before the step: the weights as they are now.
            self.model_before = weights(self.model)
            return True
        return False

    def on_step_end(self, step):
        rec = {"iteration": step.iteration, "epoch": step.epoch, "loss": step.loss,
               "n": len(step.x.data), "activations": step.activations, "grads": step.grads,
               "updates": step.updates}
        if step.updates is not None:
            rec["before"], rec["after"] = self.model_before, weights(step.model)
        self.steps.append(rec)

    def on_eval(self, iteration, val_loss, val_accuracy):
        self.events.append(("eval", iteration))

    def on_epoch_end(self, epoch, history):
        self.events.append(("epoch", epoch))

    def on_fit_end(self, history):
        self.events.append("end")


def test_callbacks_see_every_step_in_order(digits):
    train, val = digits
    model, opt = make()
    w = Watcher()
    h = fit(model, opt, loader(train), val_data=val, epochs=2, callbacks=[w], progress=False)
    assert [s["iteration"] for s in w.steps] == h.iteration
    assert [s["loss"] for s in w.steps] == h.loss
    assert [s["n"] for s in w.steps] == [64, 64, 64, 64, 44] * 2
    assert all(s["activations"] is None and s["grads"] is None for s in w.steps)
    assert w.events == ["begin", ("eval", 5), ("epoch", 0), ("eval", 10), ("epoch", 1), "end"]


def test_wants_details_gives_activations_grads_and_the_actual_updates(digits):
    train, _ = digits
    model, opt = make(optimizer="sgd", lr=0.1)
    w = Watcher(detail_at={2, 7})
    fit(model, opt, loader(train), epochs=2, callbacks=[w], progress=False)
    detailed = [s for s in w.steps if s["updates"] is not None]
    assert [s["iteration"] for s in detailed] == [2, 7]
    assert all(s["activations"] is None for s in w.steps if s["iteration"] not in (2, 7))
    for s in detailed:
        acts = s["activations"]
        assert list(acts) == ["fc1", "act1", "fc2", "act2"]   # call order, per module name
        assert acts["fc1"].shape == acts["act1"].shape == (64, 16)
        assert acts["fc2"].shape == (64, 10)
        assert np.all(acts["act1"] >= 0) and np.all(acts["act1"] == np.maximum(acts["fc1"], 0))
        names = ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
        assert sorted(s["grads"]) == sorted(names) == sorted(s["updates"])
        for name in names:
            assert s["grads"][name].shape == s["before"][name].shape
            # ΔW is exactly what happened to the parameter, and for plain SGD it is −lr·grad
            np.testing.assert_array_equal(s["before"][name] + s["updates"][name],
                                          s["after"][name])
            np.testing.assert_allclose(s["updates"][name], -0.1 * s["grads"][name],
                                       rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------------------
# Divergence
# ---------------------------------------------------------------------------
def test_a_huge_learning_rate_raises_naming_the_parameter(digits):
    train, _ = digits
    model = AssignmentMLP((64, 16, 10), activation="sigmoid", init="uniform", seed=0)
    opt = optim.SGD(model.parameters(), lr=1e38)
    with pytest.raises(TrainingDiverged) as err:
        fit(model, opt, loader(train), loss="sse", epochs=2, progress=False)
    message = str(err.value)
    assert "iteration 1" in message and "learning rate 1e+38" in message
    assert "'fc2.weight'" in message or "'fc1.weight'" in message
    assert err.value.history.iteration == [1]      # the history so far comes along


def test_a_nan_loss_stops_before_the_update_and_says_where(digits):
    train, _ = digits
    model, opt = make(optimizer="sgd", lr=0.1)
    ce = get_loss("ce")
    calls = []

    def flaky_loss(output, y):
        calls.append(1)
        return ce(output, y) * (float("nan") if len(calls) == 4 else 1.0)

    snapshot = {}

    class Snap(Callback):
        def on_step_end(self, step):
            snapshot.update(weights(step.model))

    with pytest.raises(TrainingDiverged, match="iteration 4: the loss is nan") as err:
        fit(model, opt, loader(train), loss=flaky_loss, epochs=2, callbacks=[Snap()],
            progress=False)
    assert "the loss function made it" in str(err.value)
    assert len(err.value.history.loss) == 3
    assert_same_weights(weights(model), snapshot)   # the NaN step changed nothing


def test_a_layer_that_overflows_is_named(digits):
    train, _ = digits
    model, opt = make(optimizer="sgd", lr=0.1)
    with np.errstate(over="ignore"):
        model.fc2.weight.data[:] = 3e38         # finite, but fc2's output overflows
    with pytest.raises(TrainingDiverged, match="layer 'fc2' is the first whose output"):
        fit(model, opt, loader(train), loss="ce", epochs=1, progress=False)


# ---------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------
def test_evaluate_records_no_graph_and_matches_a_manual_count(digits):
    train, val = digits
    model, opt = make()
    fit(model, opt, loader(train), epochs=1, progress=False)
    loss, acc, predicted = evaluate(model, val, "ce")
    outputs = predict(model, val, batch_size=7)        # batches stitched back together
    assert outputs.shape == (100, 10)
    np.testing.assert_array_equal(predicted, outputs.argmax(axis=1))
    assert acc == pytest.approx(np.mean(predicted == val[1]))
    seen = []
    handle = model.fc2.register_forward_hook(
        lambda module, inputs, output: seen.append((is_grad_enabled(), output._ctx)))
    evaluate(model, val, "ce", batch_size=40)
    handle.remove()
    assert seen == [(False, None)] * 3                 # 3 batches, none of them recorded
    assert model.training                              # and back in training mode
    with no_grad():
        out = model(Tensor(val[0]))
        assert out.is_leaf and not out.requires_grad and out._ctx is None
    assert model(Tensor(val[0]))._ctx is not None      # and recording is back on after


# ---------------------------------------------------------------------------
# Checkpoints and resume
# ---------------------------------------------------------------------------
def test_checkpoint_round_trip_restores_everything(tmp_path, digits):
    train, val = digits
    model, opt = make()
    ld = loader(train)
    from tinygrad_lab.schedules import CosineLR, Scheduler
    sched = Scheduler(opt, CosineLR(total_steps=20))
    h = fit(model, opt, ld, val_data=val, iterations=7, progress=False)
    for _ in range(7):
        sched.step()
    path = save_checkpoint(tmp_path / "ck.npz", model, opt, h, sched, ld, config={"a": 1})

    model2, opt2 = make(seed=99)
    ld2 = loader(train, seed=0)
    sched2 = Scheduler(opt2, CosineLR(total_steps=20))
    h2 = load_checkpoint(path, model2, opt2, sched2, ld2)
    assert as_json(h2) == as_json(h)
    assert_same_weights(weights(model2), weights(model))
    assert ld2.state_dict() == ld.state_dict() == {"seed": 3, "epoch": 1, "batch": 2}
    assert sched2.last_step == 7 and opt2.lr == opt.lr
    s1, s2 = opt.state_dict(), opt2.state_dict()
    assert s1["param_groups"] == s2["param_groups"]
    for pos in s1["state"]:
        for key, value in s1["state"][pos].items():
            np.testing.assert_array_equal(value, s2["state"][pos][key])
    from tinygrad_lab.train import checkpoint_config
    assert checkpoint_config(path) == {"a": 1}


def test_load_checkpoint_errors(tmp_path, digits):
    model, opt = make()
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "missing.npz", model)
    np.savez(tmp_path / "foreign.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="not a tinygrad-lab checkpoint"):
        load_checkpoint(tmp_path / "foreign.npz", model)
    save_checkpoint(tmp_path / "adam.npz", model, opt)
    (tmp_path / "cut.npz").write_bytes((tmp_path / "adam.npz").read_bytes()[:500])
    with pytest.raises(ValueError, match="not a readable checkpoint \\(truncated"):
        load_checkpoint(tmp_path / "cut.npz", model)
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ValueError, match="not a readable checkpoint"):
        load_checkpoint(tmp_path / "text.npz", model)
    other, sgd = make(optimizer="sgd")
    with pytest.raises(ValueError, match="saved with Adam, not SGD"):
        load_checkpoint(tmp_path / "adam.npz", other, sgd)


def test_resume_after_two_epochs_continues_exactly(tmp_path, digits):
    train, val = digits
    kwargs = dict(val_data=val, loss="ce", progress=False)
    model, opt = make()
    whole = fit(model, opt, loader(train), epochs=4, **kwargs)

    first, opt1 = make()
    fit(first, opt1, loader(train), epochs=2, checkpoint=tmp_path / "ck.npz", **kwargs)
    fresh, opt2 = make(seed=42)                 # different weights: all must come from the file
    resumed = fit(fresh, opt2, loader(train, seed=0), epochs=4,
                  resume_from=tmp_path / "ck.npz", **kwargs)
    assert as_json(resumed) == as_json(whole)
    assert_same_weights(weights(fresh), weights(model))


def test_resume_mid_epoch_continues_exactly(tmp_path, digits):
    train, _ = digits
    model, opt = make()
    whole = fit(model, opt, loader(train), iterations=17, progress=False)

    first, opt1 = make()
    fit(first, opt1, loader(train), iterations=7, checkpoint=tmp_path / "ck.npz",
        progress=False)   # 7 = epoch 1, batch 2: the checkpoint must say "continue at batch 2"
    fresh, opt2 = make(seed=42)
    resumed = fit(fresh, opt2, loader(train), iterations=17, resume_from=tmp_path / "ck.npz",
                  progress=False)
    # (no val_data here: a run that ends at 7 rightly evaluates there, an extra point)
    assert as_json(resumed) == as_json(whole)
    assert_same_weights(weights(fresh), weights(model))


class Crash(Callback):
    def __init__(self, at):
        self.at = at

    def on_step_end(self, step):
        if step.iteration == self.at:
            raise KeyboardInterrupt


def test_a_crashed_run_resumes_from_its_last_epoch_checkpoint_with_the_same_schedule(
        tmp_path, digits):
    train, val = digits
    kwargs = dict(val_data=val, loss="ce", epochs=4, schedule="cosine", progress=False)
    model, opt = make()
    whole = fit(model, opt, loader(train), **kwargs)

    crashed, opt1 = make()
    with pytest.raises(KeyboardInterrupt):
        fit(crashed, opt1, loader(train), callbacks=[Crash(at=13)],
            checkpoint=tmp_path / "ck.npz", **kwargs)
    fresh, opt2 = make(seed=42)
    resumed = fit(fresh, opt2, loader(train), resume_from=tmp_path / "ck.npz", **kwargs)
    assert as_json(resumed) == as_json(whole)
    assert_same_weights(weights(fresh), weights(model))


def test_a_crash_mid_save_leaves_the_previous_checkpoint_intact(tmp_path, digits, monkeypatch):
    train, _ = digits
    model, opt = make()
    h = fit(model, opt, loader(train), epochs=1, progress=False)
    path = save_checkpoint(tmp_path / "ck.npz", model, opt, h)
    before = path.read_bytes()

    fit(model, opt, loader(train), epochs=1, progress=False)   # new weights to save
    real_savez = np.savez

    def half_savez(file, **arrays):
        real_savez(file, **arrays)
        file.truncate(file.tell() // 2)      # part of the file is written, then the crash
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", half_savez)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, model, opt, h)
    monkeypatch.undo()

    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ck.npz"]          # no temporary file left behind
    other, opt2 = make(seed=42)
    assert as_json(load_checkpoint(path, other, opt2)) == as_json(h)


def test_checkpoint_every_writes_every_nth_epoch_and_the_end(tmp_path, digits, monkeypatch):
    import tinygrad_lab.train as train_module
    saved_at = []
    real_save = train_module.save_checkpoint

    def counting_save(path, model, optimizer=None, history=None, *args, **kwargs):
        saved_at.append(len(history.epoch_loss))
        return real_save(path, model, optimizer, history, *args, **kwargs)

    monkeypatch.setattr(train_module, "save_checkpoint", counting_save)
    model, opt = make()
    fit(model, opt, loader(digits[0]), epochs=5, checkpoint=tmp_path / "c.npz",
        checkpoint_every=2, progress=False)
    assert saved_at == [2, 4, 5]  # epochs 2 and 4, then the end of training
    with pytest.raises(ValueError, match="checkpoint_every"):
        fit(model, opt, loader(digits[0]), epochs=1, checkpoint_every=0, progress=False)
