"""Writing key files so that no reader ever sees half of one (signing keys, the local KEK file)."""

from __future__ import annotations

import os
import threading
from pathlib import Path


def _aside(path: Path, suffix: str, data: bytes, mode: int) -> Path:
    """Write ``data`` to a new file next to ``path``, named per process and thread so that
    concurrent writers never share one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.{suffix}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return tmp


def create_private(path: Path, data: bytes) -> None:
    """Create ``path`` (0600) with ``data`` unless it exists: written aside, then hard-linked
    into place, so a concurrent reader never sees a half-written file; ``FileExistsError`` if
    another process was first."""
    tmp = _aside(path, "new", data, 0o600)
    try:
        os.link(tmp, path)
    finally:
        tmp.unlink()


def replace(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data`` in one rename (readers see the old or the new file)."""
    _aside(path, "tmp", data, mode).replace(path)
