"""Atomic writes: every results, metadata, report and model file goes through here.

A file is written to a fresh temporary file in its own folder, flushed to disk, given the
permissions of a new file, and renamed over ``path``: a reader never sees half a file, an interrupt
leaves the old one, and two writers never share a temporary name.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` atomically: text as UTF-8 with ``\\n`` line ends, bytes as they
    are. The folder is created if needed."""
    payload = data.encode("utf-8") if isinstance(data, str) else data

    def write(tmp: str) -> None:
        with open(tmp, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())

    save_atomic(path, write)


def write_json_atomic(path: str | Path, value: Any, *, sort_keys: bool = True) -> None:
    """``value`` as indented JSON (2 spaces, a final newline; NaN and infinity refused) at ``path``,
    atomically."""
    write_atomic(path, json.dumps(value, indent=2, sort_keys=sort_keys, allow_nan=False) + "\n")


def save_atomic(path: str | Path, save: Callable[[str], None]) -> None:
    """Atomically create ``path`` by ``save(tmp)``, which writes the whole file to the temporary path
    ``tmp`` (e.g. an SB3 model's ``save``); the temporary file is removed if ``save`` fails."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp" + path.suffix)
    os.close(fd)
    try:
        save(tmp)
        umask = os.umask(0)  # mkstemp's file is owner-only; give it a new file's permissions
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


__all__ = ["save_atomic", "write_atomic", "write_json_atomic"]
