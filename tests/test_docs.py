"""The Python examples in the guides run as written (docs that rot mislead learners)."""
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
GUIDES = ["core.md", "nets.md"]


def python_blocks(path):
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)


@pytest.mark.parametrize("guide", GUIDES)
def test_guide_examples_run(guide):
    blocks = python_blocks(DOCS / guide)
    assert blocks, f"{guide} has no python examples"
    namespace = {"__name__": "docs_example"}
    for i, block in enumerate(blocks):
        try:
            exec(compile(block, f"{guide} [block {i + 1}]", "exec"), namespace)
        except Exception as err:  # pragma: no cover - the message is the point
            pytest.fail(f"{guide}, example {i + 1} failed: {type(err).__name__}: {err}")
