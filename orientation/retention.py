"""Bounded folders: what the server keeps on disk is kept for a known, short time and size.

Two folders grow with use: printed slips (the ``file`` printer) and the kiosk's spoken audio.
A slip can carry a staff note about a person, and an unbounded audio cache lets anyone fill the
disk with one request per unique text; both are pruned here, oldest first.
"""

from __future__ import annotations

import os
import time
from pathlib import Path


def prune(folder: Path, *, pattern: str = "*", max_age: float | None = None,
          max_files: int | None = None, max_bytes: int | None = None,
          keep: Path | None = None) -> int:
    """Delete the oldest files of ``folder`` (recursively, matching ``pattern``) until none is
    older than ``max_age`` seconds and at most ``max_files`` files and ``max_bytes`` bytes are
    left; ``keep`` is never deleted. Returns how many files were deleted. Files vanishing under
    another process's prune are not an error."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    files = []
    for path in folder.rglob(pattern):
        try:
            stat = path.stat()
        except OSError:
            continue
        if path.is_file():
            files.append((stat.st_mtime, stat.st_size, path))
    files.sort()  # oldest first
    now = time.time()
    total = sum(size for _, size, _ in files)
    count = len(files)
    deleted = 0
    for mtime, size, path in files:
        too_old = max_age is not None and now - mtime > max_age
        too_many = max_files is not None and count > max_files
        too_big = max_bytes is not None and total > max_bytes
        if not (too_old or too_many or too_big):
            continue
        if keep is not None and path == keep:
            continue
        try:
            os.unlink(path)
        except OSError:
            continue
        deleted += 1
        count -= 1
        total -= size
    return deleted


def touch(path: Path) -> None:
    """Mark a cached file as just used, so the prune keeps the most used ones."""
    try:
        os.utime(path)
    except OSError:
        pass
