"""Writing files so that a crash never leaves half of one: ``atomic_file``, ``write_atomic``,
``write_json``.

Checkpoints, histories, run summaries, records, reports and pictures all go through here.
"""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_file", "write_atomic", "write_json"]


def _readable_by_all(fd):
    """mkstemp makes files owner-only (0600); give them the usual rights of a new file."""
    umask = os.umask(0)
    os.umask(umask)
    os.fchmod(fd, 0o666 & ~umask)


@contextlib.contextmanager
def atomic_file(path, mode="w"):
    """Open a temporary file beside ``path``; on success it replaces ``path`` in one rename.

    A crash (or an exception) mid-write leaves the previous file intact and no
    temporary behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    _readable_by_all(fd)
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_atomic(path, data: str | bytes) -> Path:
    """Write ``data`` (text or bytes) to ``path`` through :func:`atomic_file`."""
    with atomic_file(path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)
    return Path(path)


def write_json(path, data) -> Path:
    """``data`` as indented JSON (configs, summaries: files people read), atomically."""
    return write_atomic(path, json.dumps(data, indent=2))
