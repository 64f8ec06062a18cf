"""The local spool: accounting records kept on disk while Redis is unreachable.

RFC 2866 §2: the Accounting-Response may only be sent once the record is durable. When
Redis cannot take it, ``Spool.append`` writes it to an append-only file and fsyncs it
before returning; then the NAS may be answered. ``Spool.replay`` feeds the records back,
in order, once Redis is reachable again.

File format: frames of ``length (4 bytes, big-endian) | CRC-32 of payload (4 bytes) |
payload`` where the payload is the msgpack of ``AccountingRecord.to_wire()`` with a
``"v"`` schema field. A frame cut short by a crash (or whose CRC does not match at the end
of the file) is a torn tail: it is dropped with a warning, the file is truncated to the
last whole frame, and the spool carries on. A bad frame *before* the end is corruption and
raises ``SpoolError``.

Replay is idempotent: every record carries its session's cumulative counters and its
event time, so a record that already reached Redis applies a zero delta (or finds its
session closed). Progress is saved in ``<file>.pos`` so a long replay that is cut off does
not start over; when everything is replayed the file is truncated. One spool file per
process (e.g. ``/var/lib/jet/spool/acct-<worker>.spool``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import struct
import zlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgpack

from quota.errors import QuotaUnavailable, SpoolError
from quota.model import AccountingRecord

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
_HEAD = struct.Struct(">II")
_MAX_FRAME = 1 << 20
_SAVE_EVERY = 100


@dataclass(frozen=True)
class ReplayReport:
    replayed: int
    remaining: bool  # True: Redis went away again; records are still spooled


class Spool:
    """Append-only, fsync'd record spool. Not shared between processes."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.pos_path = self.path.with_name(self.path.name + ".pos")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = asyncio.Lock()
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        self._size = self._recover()

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        return sum(1 for _ in self._frames(self._offset(), self._size))

    @property
    def empty(self) -> bool:
        return self._offset() >= self._size

    # --- writing ----------------------------------------------------------------------------
    def append(self, record: AccountingRecord) -> None:
        """Write one record and fsync; when this returns the record survives a crash."""
        payload = msgpack.packb({"v": SCHEMA_VERSION, **record.to_wire()}, use_bin_type=True)
        frame = _HEAD.pack(len(payload), zlib.crc32(payload)) + payload
        try:
            written = os.write(self._fd, frame)
            if written != len(frame):
                raise OSError(f"short write {written}/{len(frame)}")
            os.fsync(self._fd)
        except OSError as exc:
            os.ftruncate(self._fd, self._size)  # never leave a partial frame behind us
            raise SpoolError(f"cannot spool to {self.path}: {exc}") from exc
        self._size += len(frame)

    async def append_async(self, record: AccountingRecord) -> None:
        """``append`` off the event loop (fsync blocks)."""
        async with self._lock:
            await asyncio.to_thread(self.append, record)

    # --- reading ----------------------------------------------------------------------------
    def _read(self, offset: int, size: int) -> bytes:
        return os.pread(self._fd, size, offset)

    def _frames(self, start: int, end: int) -> Iterator[tuple[int, int, bytes]]:
        """(offset, next offset, payload) of every whole frame in [start, end)."""
        offset = start
        while offset < end:
            head = self._read(offset, _HEAD.size)
            if len(head) < _HEAD.size:
                return
            length, crc = _HEAD.unpack(head)
            if length > _MAX_FRAME or offset + _HEAD.size + length > end:
                return
            payload = self._read(offset + _HEAD.size, length)
            if zlib.crc32(payload) != crc:
                return
            yield offset, offset + _HEAD.size + length, payload
            offset += _HEAD.size + length

    def _recover(self) -> int:
        """Find the last whole frame; drop a torn tail with a warning."""
        size = os.fstat(self._fd).st_size
        good = 0
        for _, nxt, _ in self._frames(0, size):
            good = nxt
        if good < size:
            tail = size - good
            if self._tail_is_torn(good, size):
                log.warning("spool %s: dropping a torn last record (%d bytes at offset %d)", self.path,
                            tail, good)
                os.ftruncate(self._fd, good)
                os.fsync(self._fd)
            else:
                raise SpoolError(f"spool {self.path} is corrupt at offset {good} ({tail} bytes follow)")
        return good

    def _tail_is_torn(self, offset: int, size: int) -> bool:
        """A torn tail is one incomplete frame (or one whose CRC fails) reaching the end of the file."""
        head = self._read(offset, _HEAD.size)
        if len(head) < _HEAD.size:
            return True
        length = int(_HEAD.unpack(head)[0])
        return length <= _MAX_FRAME and offset + _HEAD.size + length >= size

    def _offset(self) -> int:
        try:
            offset = int(self.pos_path.read_text().strip() or 0)
        except (FileNotFoundError, ValueError):
            return 0
        return offset if 0 <= offset <= self._size else 0

    def _save_offset(self, offset: int) -> None:
        tmp = self.pos_path.with_name(self.pos_path.name + ".tmp")
        with open(tmp, "w") as f:
            f.write(str(offset))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.pos_path)

    def records(self) -> Iterator[AccountingRecord]:
        """The records not yet replayed, in order (for inspection: ``jetctl spool show``)."""
        for _, _, payload in self._frames(self._offset(), self._size):
            yield _decode(payload)

    # --- replay -----------------------------------------------------------------------------
    async def replay(self, apply: Callable[[AccountingRecord], Awaitable[Any]]) -> ReplayReport:
        """Apply every spooled record in order. Stops (keeping the rest) on ``QuotaUnavailable``;
        any other error propagates with progress saved, the failing record first next time."""
        offset = self._offset()
        done = 0
        try:
            while True:
                for _, nxt, payload in list(self._frames(offset, self._size)):
                    await apply(_decode(payload))
                    offset, done = nxt, done + 1
                    if done % _SAVE_EVERY == 0:
                        self._save_offset(offset)
                async with self._lock:
                    if offset >= self._size:
                        self.pos_path.unlink(missing_ok=True)
                        os.ftruncate(self._fd, 0)
                        os.fsync(self._fd)
                        self._size = 0
                        return ReplayReport(done, remaining=False)
        except QuotaUnavailable:
            self._save_offset(offset)
            return ReplayReport(done, remaining=True)
        except BaseException:
            self._save_offset(offset)
            raise


def _decode(payload: bytes) -> AccountingRecord:
    data = msgpack.unpackb(payload, raw=False)
    if data.get("v") != SCHEMA_VERSION:
        raise SpoolError(f"spooled record has unknown schema {data.get('v')!r}")
    return AccountingRecord.from_wire(data)
