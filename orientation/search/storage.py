"""Opening a segment without copying it: whoosh's compound files, read through their mmap.

whoosh 2.7 maps a segment's compound file and hands each inner file (postings, terms…) out
as a ``BufferFile`` over a memoryview of the map, but that class also wraps the view in a
``BytesIO``, which copies it: opening a searcher at 100 000 services copied ~40 MB (the terms
and postings of the big segment), ~60 ms and as much memory per open searcher, and every write
opens one (a new snapshot). Readers only need ``read``/``seek``/``tell`` (headers, pickled
tables) besides ``get`` (blocks, which already reads the view), so ``ViewFile`` serves those
from the view itself. It is installed when this package is imported (``install``): the same
bytes come back, only the copy is gone (``tests/test_search.py`` checks it against BytesIO).
"""

from __future__ import annotations

from whoosh.filedb import compound
from whoosh.filedb.structfile import BufferFile


class MemoryReader:
    """A read-only, seekable file over a buffer, without copying it (what ``BytesIO(buf)``
    answers to reads, seeks and tells)."""

    def __init__(self, buf) -> None:
        self._view = memoryview(buf)
        self._pos = 0

    def read(self, size: int | None = -1) -> bytes:
        end = len(self._view) if size is None or size < 0 else min(len(self._view),
                                                                     self._pos + size)
        start, self._pos = self._pos, max(self._pos, end)
        return bytes(self._view[start:end])

    def readline(self, size: int | None = -1) -> bytes:
        end = len(self._view) if size is None or size < 0 else min(len(self._view),
                                                                     self._pos + size)
        at = self._pos
        while at < end:  # look for the newline a chunk at a time, not in a copy of the rest
            found = bytes(self._view[at:min(end, at + 256)]).find(b"\n")
            if found >= 0:
                return self.read(at + found + 1 - self._pos)
            at += 256
        return self.read(end - self._pos)

    def peek(self, size: int = 0) -> bytes:
        """What the next read would return, without moving: the C unpickler then reads its
        input in one go instead of a Python call per opcode."""
        return bytes(self._view[self._pos:self._pos + max(size, 1 << 16)])

    def readinto(self, target) -> int:
        data = self.read(len(target))
        target[:len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: len(self._view)}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self._view = memoryview(b"")  # the map stays the compound storage's to release

    @property
    def closed(self) -> bool:
        return False


class ViewFile(BufferFile):
    """whoosh's ``BufferFile`` reading its buffer in place."""

    def __init__(self, buf, name=None, onclose=None) -> None:
        self._buf = buf
        self._name = name
        self.file = MemoryReader(buf)
        self.onclose = onclose
        self.is_real = False
        self.is_closed = False


def install() -> None:
    """Make whoosh's compound storage hand out ``ViewFile`` objects."""
    compound.BufferFile = ViewFile
