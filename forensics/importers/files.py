"""Reading input files the same way everywhere: gzip transparently, heads for detection, lines.

Inputs can be many gigabytes, so nothing here reads a whole file unless asked to.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, cast

from forensics.model import Provenance, QuarantineRecord

if TYPE_CHECKING:
    from forensics.store import ImportSession

GZIP_MAGIC = b"\x1f\x8b"
BOM = b"\xef\xbb\xbf"
# Damage met while reading a file (truncated gzip, bad CRC): its key, the decompressed byte
# offset, and what happened, until the import that read it takes it (`take_damage`).
_DAMAGE: dict[str, tuple[int, str, bool]] = {}


class _Tolerant(io.RawIOBase):
    """A file's bytes as editors read them: a leading UTF-8 BOM dropped, and a damaged gzip
    stream ending where the damage is (recorded for the import to report) instead of
    raising half way through a file whose earlier records are whole."""

    def __init__(self, inner: IO[bytes], key: str) -> None:
        self.inner, self.key = inner, key
        self.offset = 0
        self.first = True
        self.ended = False  # damage met: the stream ends there

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.ended:
            return 0
        try:
            # one underlying read at a time: a damaged stream raises on the read after the
            # last whole chunk, so nothing already decompressed is lost with it
            data = self.inner.read1(len(buffer))  # type: ignore[attr-defined]
        except EOFError:
            _DAMAGE[self.key] = (self.offset, "the gzip stream is truncated", True)
            data, self.ended = b"", True
        except (gzip.BadGzipFile, zlib.error, OSError) as exc:
            intact = "CRC check failed" in str(exc) or "Incorrect length" in str(exc)
            _DAMAGE[self.key] = (self.offset, f"damaged gzip stream ({exc})", not intact)
            data, self.ended = b"", True
        if self.first and data:
            self.first = False
            if data.startswith(BOM):
                data = data[len(BOM) :]
        buffer[: len(data)] = data
        self.offset += len(data)
        return len(data)

    def close(self) -> None:
        self.inner.close()
        super().close()


def report_damage(path: Path, session: ImportSession) -> None:
    """Say what damage reading `path` met: data lost is a quarantined tail (with the byte
    offset where the readable data ends), a bad checksum over whole data is a note."""
    damage = take_damage(path)
    if damage is None:
        return
    offset, what, lost = damage
    if lost:
        reason = (
            f"{what} at decompressed byte {offset}: every whole record before it was"
            " imported, the rest of the file is lost (a line cut there is quarantined too)"
        )
        session.quarantine(QuarantineRecord(Provenance(str(path), f"byte {offset}"), reason))
    else:
        session.note(f"{what}, but the data read to its end and was imported")


def take_damage(path: Path) -> tuple[int, str, bool] | None:
    """The damage met reading `path` since the last call: (decompressed byte offset where
    the readable data ends, what happened, whether data was lost), or None."""
    return _DAMAGE.pop(str(path), None)


def is_gzip(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(2) == GZIP_MAGIC


def open_binary(path: Path) -> IO[bytes]:
    """The file's bytes, decompressed when it is gzip (by content, not by name), without a
    leading BOM; a damaged gzip stream ends at the damage (see `take_damage`)."""
    inner = cast(IO[bytes], gzip.open(path, "rb")) if is_gzip(path) else path.open("rb")  # noqa: SIM115
    return io.BufferedReader(_Tolerant(inner, str(path)), buffer_size=1 << 20)


def read_head(path: Path, size: int = 4096) -> bytes:
    """Up to `size` decompressed leading bytes (empty for an empty file)."""
    try:
        with open_binary(path) as fh:
            head = fh.read(size)
    except (OSError, EOFError):
        return b""
    _DAMAGE.pop(str(path), None)  # detection only: the import reads it again and reports
    return head


def iter_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(1-based line number, line without its newline) for every non-blank line."""
    with open_binary(path) as fh:
        for number, line in enumerate(fh, start=1):
            stripped = line.strip()
            if stripped:
                yield number, stripped


def first_json_char(head: bytes) -> str:
    """The first non-space character of a JSON text ('' when there is none)."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return chr(text[0]) if text else ""
