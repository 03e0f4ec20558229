"""Reading input files the same way everywhere: gzip transparently, heads for detection, lines.

Inputs can be many gigabytes, so nothing here reads a whole file unless asked to.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import IO, cast

GZIP_MAGIC = b"\x1f\x8b"


def is_gzip(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(2) == GZIP_MAGIC


def open_binary(path: Path) -> IO[bytes]:
    """The file's bytes, decompressed when it is gzip (by content, not by name)."""
    if is_gzip(path):
        return cast(IO[bytes], gzip.open(path, "rb"))
    return path.open("rb")


def read_head(path: Path, size: int = 4096) -> bytes:
    """Up to `size` decompressed leading bytes (empty for an empty file)."""
    try:
        with open_binary(path) as fh:
            return fh.read(size)
    except (OSError, EOFError):
        return b""


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
