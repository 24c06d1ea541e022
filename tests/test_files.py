"""Atomic writes: whole new file or the old one, never half of one, and no temporary left."""
import json
import os
import stat

import pytest

from tinygrad_lab.files import atomic_file, write_atomic, write_json


def test_write_atomic_writes_text_and_bytes_readable_like_any_new_file(tmp_path):
    umask = os.umask(0o022)
    try:
        text = write_atomic(tmp_path / "sub" / "a.txt", "héllo")    # makes the folder too
        raw = write_atomic(tmp_path / "b.bin", b"\x00\x01")
    finally:
        os.umask(umask)
    assert text.read_text() == "héllo" and raw.read_bytes() == b"\x00\x01"
    assert stat.S_IMODE(raw.stat().st_mode) == 0o644  # not mkstemp's owner-only 0600


def test_write_json_is_indented_and_replaces_the_old_file(tmp_path):
    path = write_json(tmp_path / "s.json", {"a": [1, 2]})
    write_json(path, {"b": 3})
    assert json.loads(path.read_text()) == {"b": 3}
    assert path.read_text() == json.dumps({"b": 3}, indent=2)


def test_a_failure_mid_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = write_atomic(tmp_path / "keep.txt", "old")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_file(path) as f:
            f.write("half of the new")
            raise RuntimeError("boom")
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["keep.txt"]
