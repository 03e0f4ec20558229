"""Keeping a long-running watch small: what it never loads, and what it gives back.

A watch runs for days, so its resident memory is what the largest pass left behind. After a
pass that imported, DuckDB's cached buffers are handed back, the fork server of the decoding
workers (which outlives their pool, its modules preloaded) is ended, and the C heap is
trimmed. Arrow allocates from the C heap too (its default mimalloc pool keeps what a pass
freed, about 50 MiB after a first pass of 20,000 events). pandas, which pyarrow imports when
it is installed (the `spark` extra) the first time it turns Python values into arrays, is
refused: a watch never uses it, and it is about 45 MiB resident.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import importlib.abc
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from forensics.store import Store

_REFUSED = "pandas"


class _Refuse(importlib.abc.MetaPathFinder):
    def find_spec(
        self, name: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if name == _REFUSED or name.startswith(_REFUSED + "."):
            raise ModuleNotFoundError(f"a watch does not load {name}", name=name)
        return None


def lean() -> None:
    """Set this process up to run a watch: no pandas, Arrow on the C heap."""
    refuse_pandas()
    import pyarrow as pa

    pa.set_memory_pool(pa.system_memory_pool())


def refuse_pandas() -> None:
    """From now on `import pandas` fails in this process (unless it is loaded already); pyarrow
    then works without it, as where it is not installed."""
    if _REFUSED in sys.modules or any(isinstance(f, _Refuse) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _Refuse())


def give_back(store: Store) -> None:
    """Hand back what the last pass left: DuckDB's buffers, idle worker processes, heap."""
    from forensics.importers.parallel import stop_forkserver

    store.release_memory()
    stop_forkserver()
    gc.collect()
    _trim_heap()


def _trim_heap() -> None:
    """glibc keeps freed memory of its arenas until asked (elsewhere: nothing to do)."""
    name = ctypes.util.find_library("c")
    if not name or not sys.platform.startswith("linux"):
        return
    trim = getattr(ctypes.CDLL(name), "malloc_trim", None)
    if trim is not None:
        trim(0)
