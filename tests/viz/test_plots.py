"""viz.plots: every picture on a short real digits run — the file is a valid image of the
expected size, and what it shows is the recorded data."""
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.metrics import confusion_matrix

from tinygrad_lab.cli.experiment import RunConfig, load_data, run
from tinygrad_lab.train import evaluate
from viz import plots
from viz.plot_panel import grid_shape, panel_image, tile_units, unit_grid
from viz.plot_style import DPI, figure_to_rgb
from viz.record import Recorder


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """3 epochs on digits, recorded every 10 steps: (records, history, model, test set)."""
    out = tmp_path_factory.mktemp("run")
    recorder = Recorder(out, every=10)
    config = RunConfig(epochs=3, activation="sigmoid", init="normal")
    data = load_data(config)
    model, history, _ = run(config, out, callbacks=[recorder], progress=False, data=data)
    return recorder.records, history, model, data[2]


def assert_image(path, fig_size_inches):
    """A valid PNG/GIF of exactly figsize × DPI pixels."""
    assert path.exists() and path.stat().st_size > 0
    with Image.open(path) as im:
        im.verify()
    with Image.open(path) as im:
        width, height = (round(v * DPI) for v in fig_size_inches)
        assert im.size == (width, height)
        return np.asarray(im.convert("RGB"))


def image_axes(fig, label):
    return next(ax for ax in fig.axes if ax.get_label() == label)


# ---------------------------------------------------------------------------
# Layouts
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("n, shape", [(256, (16, 16)), (128, (8, 16)), (10, (2, 5)),
                                      (64, (8, 8)), (7, (3, 3)), (1, (1, 1))])
def test_grid_shape(n, shape):
    assert grid_shape(n) == shape
    grid = unit_grid(np.arange(n))
    assert grid.shape == shape
    assert grid.reshape(-1)[:n].tolist() == list(range(n))
    assert np.isnan(grid.reshape(-1)[n:]).all()


def test_tiles_put_each_unit_in_its_own_square():
    weight = np.arange(6 * 4, dtype=np.float32).reshape(6, 4)  # 6 units, 2×2 inputs
    mosaic = tile_units(weight, (2, 2))
    rows, cols = grid_shape(6)                                # 2 × 3 grid of tiles
    assert mosaic.shape == (rows * 3 - 1, cols * 3 - 1)       # 1-pixel gaps
    np.testing.assert_array_equal(mosaic[3:5, 6:8], weight[5].reshape(2, 2))
    assert np.isnan(mosaic[2]).all() and np.isnan(mosaic[:, 2]).all()


# ---------------------------------------------------------------------------
# The panel
# ---------------------------------------------------------------------------
def test_panel_shows_the_recorded_arrays(trained):
    records = trained[0]
    fig = plots.panel_figure(records, index=1)
    acts = image_axes(fig, "act_mean:0").images[0].get_array()
    np.testing.assert_array_equal(acts.filled(np.nan).reshape(-1)[:256],
                                  records.get(0, "act_mean")[1])
    w1 = image_axes(fig, "weight:0").images[0].get_array()
    unit = 37
    r, c = divmod(unit, grid_shape(256)[1])
    np.testing.assert_array_equal(w1[r * 9:r * 9 + 8, c * 9:c * 9 + 8],
                                  records.get(0, "weight")[1][unit].reshape(8, 8))
    dw3 = image_axes(fig, "update:2").images[0].get_array()
    np.testing.assert_array_equal(dw3, records.get(2, "update")[1])
    assert "batch accuracy" in fig._suptitle.get_text()
    assert f"{records.lr[1]:.2g}" in fig._suptitle.get_text()


def test_panel_pixels_follow_the_mean_activations(trained):
    """Sample the rendered colour at the centre of each unit's cell: it is the colour map
    of that unit's recorded mean activation."""
    records = trained[0]
    fig = plots.panel_figure(records, index=-1)
    rgb = figure_to_rgb(fig)
    ax = image_axes(fig, "act_mean:0")
    im = ax.images[0]
    box = ax.get_window_extent()
    rows, cols = grid_shape(256)
    values = records.get(0, "act_mean")[-1]
    for unit in (0, 17, 100, 255):
        r, c = divmod(unit, cols)
        x = box.x0 + (c + 0.5) * box.width / cols
        y = box.y1 - (r + 0.5) * box.height / rows
        pixel = rgb[rgb.shape[0] - int(y) - 1, int(x)].astype(int)
        expected = np.array(im.cmap(im.norm(values[unit]))[:3]) * 255
        assert np.abs(pixel - expected).max() <= 3, (unit, pixel, expected)


def test_panel_colour_scale_is_the_same_at_every_iteration(trained):
    records = trained[0]
    first, last = plots.panel_figure(records, 0), plots.panel_figure(records, -1)
    for label in ("act_mean:1", "weight:0", "update:2"):
        a, b = (image_axes(f, label).images[0].norm for f in (first, last))
        assert (a.vmin, a.vmax) == (b.vmin, b.vmax)
    sigmoid = image_axes(first, "act_mean:0").images[0].norm
    assert (sigmoid.vmin, sigmoid.vmax) == (0.0, 1.0)  # a sigmoid's own range


def test_plot_panel_png_and_svg(trained, tmp_path):
    records = trained[0]
    size = plots.panel_figure(records).get_size_inches()
    assert_image(plots.plot_panel(records, tmp_path / "panel.png"), size)
    svg = plots.plot_panel(records, tmp_path / "panel.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "<image" in svg
    with pytest.raises(ValueError, match=".png or .svg"):
        plots.plot_panel(records, tmp_path / "panel.jpg")


def test_panel_tiles_28x28_for_mnist_sized_inputs():
    from viz.record import LayerInfo, Records
    layer = LayerInfo("layer 1", "fc1", "act1", "sigmoid", 1.0, 784, 16, 16)
    rng = np.random.default_rng(0)
    arrays = {f"layer1/{name}": rng.normal(size=shape).astype(np.float32)
              for name, shape in (("act_mean", (2, 16)), ("weight", (2, 16, 784)),
                                  ("update", (2, 16, 784)))}
    records = Records([layer], np.array([1, 2]), np.zeros(2, int), np.ones(2), np.ones(2),
                      np.ones(2), arrays, (784,))
    image = panel_image(records, "weight", 0, -1)
    assert image.shape == (4 * 29 - 1, 4 * 29 - 1)
    unit4 = arrays["layer1/weight"][-1][4].reshape(28, 28)  # second row of tiles, first column
    np.testing.assert_array_equal(image[29:57, 0:28], unit4)


def test_animation_has_one_frame_per_snapshot(trained, tmp_path):
    records = trained[0]
    path = plots.animate_panels(records, tmp_path / "panels.gif", max_frames=4)
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.n_frames == 4
        frames = []
        for i in range(gif.n_frames):
            gif.seek(i)
            frames.append(np.asarray(gif.convert("RGB")))
    assert not np.array_equal(frames[0], frames[-1])  # the net changed
    with pytest.raises(ValueError, match=".gif"):
        plots.animate_panels(records, tmp_path / "panels.png")


# ---------------------------------------------------------------------------
# Curves and layer statistics
# ---------------------------------------------------------------------------
def test_curves_plot_the_history_with_lr_on_a_twin_axis(trained, tmp_path):
    _, history, _, _ = trained
    fig = plots.curves_figure(history)
    loss_ax = fig.axes[0]
    train_line = loss_ax.get_lines()[0]
    np.testing.assert_array_equal(train_line.get_ydata(), history.loss)
    val_line = next(l for l in loss_ax.get_lines() if l.get_label() == "validation")
    np.testing.assert_array_equal(val_line.get_xdata(), history.eval_iteration)
    lr_axes = [ax for ax in fig.axes if ax.get_ylabel() == "learning rate"]
    assert len(lr_axes) == 2
    np.testing.assert_array_equal(lr_axes[0].get_lines()[0].get_ydata(), history.lr)
    assert_image(plots.plot_curves(history, tmp_path / "curves.png"), fig.get_size_inches())
    assert_image(plots.plot_curves(history.to_dict(), tmp_path / "c2.png"), fig.get_size_inches())


def test_gradient_flow_lines_are_the_recorded_gradients(trained, tmp_path):
    records = trained[0]
    fig = plots.gradient_flow_figure(records)
    grad_ax, ratio_ax = fig.axes[:2]
    assert grad_ax.get_yscale() == "log"
    for layer, line in enumerate(grad_ax.get_lines()):
        np.testing.assert_allclose(line.get_ydata(), records.get(layer, "grad_rms"), rtol=1e-6)
    ratio = records.get(1, "update_rms") / records.get(1, "weight_rms")
    np.testing.assert_allclose(ratio_ax.get_lines()[1].get_ydata(), ratio, rtol=1e-6)
    assert_image(plots.plot_gradient_flow(records, tmp_path / "g.png"), fig.get_size_inches())


def test_unit_health_draws_saturation_for_sigmoid_layers(trained, tmp_path):
    records = trained[0]
    fig = plots.unit_health_figure(records)
    dead_ax, sat_ax = fig.axes[:2]
    assert not dead_ax.get_lines()  # a sigmoid net has no ReLU units to die
    assert "cannot die" in dead_ax.texts[0].get_text()
    np.testing.assert_allclose(sat_ax.get_lines()[0].get_ydata(),
                               100 * records.get(0, "saturation"), rtol=1e-6)
    assert_image(plots.plot_unit_health(records, tmp_path / "u.png"), fig.get_size_inches())


def test_histograms_compare_first_and_last_snapshot(trained, tmp_path):
    records = trained[0]
    fig = plots.histograms_figure(records, bins=20)
    weight_ax = fig.axes[len(records.layers)]  # second row, first layer
    first_patch = weight_ax.patches[0]
    heights = first_patch.get_path().vertices[:, 1]
    counts, _ = np.histogram(records.get(0, "weight")[0].reshape(-1), bins=20)
    assert heights.max() == pytest.approx(100 * counts.max() / counts.sum(), rel=1e-6)
    assert_image(plots.plot_histograms(records, tmp_path / "h.png"), fig.get_size_inches())


# ---------------------------------------------------------------------------
# t-SNE and confusion matrix
# ---------------------------------------------------------------------------
def test_tsne_uses_a_bounded_seeded_sample(trained, tmp_path):
    _, _, model, test = trained
    fig = plots.tsne_figure(model, test, max_points=120, seed=1)
    ax = fig.axes[0]
    points = np.concatenate([c.get_offsets() for c in ax.collections])
    assert len(points) == 120
    assert {t.get_text() for t in ax.texts} <= set(test.classes)
    again = plots.tsne_figure(model, test, max_points=120, seed=1).axes[0]
    np.testing.assert_array_equal(np.concatenate([c.get_offsets() for c in again.collections]),
                                  points)
    assert_image(plots.plot_tsne(model, test, tmp_path / "t.png", max_points=60),
                 fig.get_size_inches())


def test_confusion_matrix_counts_every_test_example(trained, tmp_path):
    _, _, model, test = trained
    _, _, predicted = evaluate(model, test)
    fig = plots.confusion_figure(test.y, predicted, test.classes)
    counts = np.asarray(fig.axes[0].images[0].get_array())
    assert counts.sum() == len(test)
    np.testing.assert_array_equal(counts, confusion_matrix(test.y, predicted))
    cell_texts = [int(t.get_text()) for t in fig.axes[0].texts]
    assert sum(cell_texts) == len(test)
    recall_labels = [t.get_text() for t in fig.axes[0].child_axes[0].get_yticklabels()]
    recall = np.diag(counts) / counts.sum(axis=1)
    assert recall_labels == [f"{r:.0%}" for r in recall]
    assert_image(plots.plot_confusion(test.y, predicted, tmp_path / "cm.png", test.classes),
                 fig.get_size_inches())


def test_the_guide_example_runs(tmp_path, monkeypatch):
    """docs/training-pictures.md's Python example, as written (docs that rot mislead)."""
    guide = Path(__file__).resolve().parents[2] / "docs" / "training-pictures.md"
    (block,) = re.findall(r"```python\n(.*?)```", guide.read_text(), flags=re.S)
    monkeypatch.chdir(tmp_path)
    exec(compile(block, str(guide), "exec"), {"__name__": "docs_example"})
    for name in ("panel.png", "panels.gif", "curves.svg", "tsne.png", "runs/demo/records.npz"):
        assert (tmp_path / name).stat().st_size > 0, name
