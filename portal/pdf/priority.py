"""PDF layout at a lower CPU priority than page views.

A render costs a few hundred milliseconds of CPU. On a busy server a plan or crisis page that
arrives while PDFs render would wait for a core behind them, so each worker process lays its
PDFs out in one thread of its own whose nice value is raised by ``PDF_RENDER_NICE`` (on Linux
the nice value belongs to the thread, not the process). The scheduler then serves page views
first and the PDF takes the CPU they leave; on an idle server the download is just as quick.
The request's own thread waits for the result, so a sync worker still serves one request at
a time and a failed render raises in the request as before.

A ``timeout`` bounds the wait: the request gives up (``TimeoutError``) and answers while the
worker is still alive, rather than being killed by gunicorn's timeout. The abandoned layout
finishes in the render thread (the plan limits bound how long); later renders queue behind it
and their own timeout counts the wait.
"""

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


class LowPriorityRunner:
    """Runs a function in a per-process thread with a raised nice value (0: in the caller)."""

    def __init__(self, nice: int):
        self.nice = max(0, min(int(nice), 19))
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._pid: int | None = None

    def run(self, work: Callable[..., T], *args, timeout: float | None = None, **kwargs) -> T:
        if not self.nice and timeout is None:
            return work(*args, **kwargs)
        return self._executor().submit(work, *args, **kwargs).result(timeout=timeout)

    def _executor(self) -> ThreadPoolExecutor:
        # gunicorn forks its workers from a preloaded app, and a fork keeps no threads: each
        # process starts its own.
        with self._lock:
            if self._pid != os.getpid():
                self._pool = ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix="pdf-render", initializer=self._lower
                )
                self._pid = os.getpid()
            return self._pool

    def _lower(self) -> None:
        if not self.nice:
            return
        thread = threading.get_native_id()
        try:
            usual = os.getpriority(os.PRIO_PROCESS, thread)
            os.setpriority(os.PRIO_PROCESS, thread, min(usual + self.nice, 19))
        except OSError:
            pass  # a system without per-thread nice values renders at the usual priority
