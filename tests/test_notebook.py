"""docs/assignment.ipynb runs from top to bottom and shows what it says it shows.

The notebook is executed with nbclient in a fresh python3 kernel (ipykernel), as a
learner would run it, so the docs cannot silently rot when the API changes.
"""
import os
import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "docs" / "assignment.ipynb"


@pytest.fixture(scope="module")
def executed():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    # The kernel imports the lab from this checkout, whatever the working directory.
    env_path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    previous = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = env_path
    try:
        client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                         resources={"metadata": {"path": str(ROOT / "docs")}})
        client.execute()
    finally:
        if previous is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = previous
    return notebook


def _outputs(notebook):
    for cell in notebook.cells:
        if cell.cell_type == "code":
            yield from cell.get("outputs", [])


def _text(notebook) -> str:
    parts = []
    for out in _outputs(notebook):
        if out.output_type == "stream":
            parts.append(out.text)
        elif "text/plain" in out.get("data", {}):
            parts.append(out.data["text/plain"])
    return "\n".join(parts)


def test_the_notebook_is_up_to_date_with_its_generator():
    import importlib.util
    spec = importlib.util.spec_from_file_location("make_nb", ROOT / "docs" /
                                                  "make_assignment_notebook.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    saved = nbformat.read(NOTEBOOK, as_version=4)
    assert [c.source for c in saved.cells] == [c.source for c in module.build().cells], \
        "docs/assignment.ipynb is stale: run python docs/make_assignment_notebook.py"


def test_notebook_runs_without_errors(executed):
    errors = [out for out in _outputs(executed) if out.output_type == "error"]
    assert errors == [], "\n".join(f"{e.ename}: {e.evalue}" for e in errors)
    assert "Traceback" not in _text(executed)


def test_notebook_shows_the_figures(executed):
    pngs = [out for out in _outputs(executed) if "image/png" in out.get("data", {})]
    # 4 comparisons + panel + 2 histograms + unit health + curves + t-SNE + confusion
    assert len(pngs) == 11


def test_notebook_prints_measured_numbers(executed):
    text = _text(executed)
    assert re.search(r"base lr = 1e-5 × 60000 / \d+ = [\d.e-]+", text)
    best = re.search(r"best learning rate: ([\d.e+-]+) \(lr x([\d.]+)\), ([\d.]+)%", text)
    assert best, text
    rows = dict(re.findall(r"lr x([\d.]+): lr [\d.e+-]+ → ([\d.]+)% validation", text))
    assert len(rows) == 5
    assert float(best.group(3)) == max(float(v) for v in rows.values())
    assert rows[best.group(2)] == best.group(3)
    assert "library sigmoid:" in text and "→ 0 overflow warnings" in text
    assert re.search(r"naive formula: .*→ [1-9]\d* RuntimeWarning", text)
    assert re.search(r"dead units per hidden layer: \[\d+, \d+\]", text)
    assert re.search(r"final run: test accuracy [\d.]+% after \d+ iterations", text)
