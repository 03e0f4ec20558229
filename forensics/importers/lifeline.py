"""Worker processes end with the import that started them.

Parsing and decoding pools run under a fork server, so a worker's parent is the fork server,
not the importing process. When the importing process is killed (SIGKILL, an OOM kill), the
fork server and its workers would live on, holding memory. Every pool therefore starts its
workers with `watch`: on Linux the kernel kills a worker when its parent (the fork server)
ends; and a thread in each worker checks the importing process twice a second and, once it
is gone, ends the fork server and then itself. The resource tracker ends by itself when the
last of them is gone.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.context import BaseContext

_PR_SET_PDEATHSIG = 1
_POLL_SECONDS = 0.5


def process_pool(workers: int, context: BaseContext) -> ProcessPoolExecutor:
    """A pool whose workers end when this process ends (see the module docstring)."""
    return ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=watch, initargs=(os.getpid(),)
    )


def watch(importer_pid: int) -> None:
    """Worker initializer: end this worker (and its fork server) when `importer_pid` ends."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # no prctl: the thread below is enough
            pass
    threading.Thread(target=_watch, args=(importer_pid,), daemon=True).start()


def _watch(importer_pid: int) -> None:
    while _alive(importer_pid):
        time.sleep(_POLL_SECONDS)
    parent = os.getppid()
    if parent not in (1, importer_pid):  # the fork server that forked this worker
        with contextlib.suppress(OSError):
            os.kill(parent, signal.SIGTERM)
    os._exit(1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else (the pid was reused)
        return False
    return True
