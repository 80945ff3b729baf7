"""Peak resident memory of this process (the engine's) while a scenario runs.

`ru_maxrss` only ever grows over the process's life, so a sampling thread measures each
scenario on its own; the benchmark runs each size in a fresh process, so the largest sample of
a size is that size's peak.
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Final

import psutil

_SAMPLE_SECONDS: Final = 0.01
_MEGABYTE: Final = 1024 * 1024


class PeakMemory:
    """Samples this process's RSS in a thread while the `with` block runs.

    Usage::

        with PeakMemory() as memory:
            await runner.run(RunMode.FULL)
        print(memory.peak_mb)
    """

    def __init__(self) -> None:
        self._process = psutil.Process()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="peak-memory", daemon=True)
        self._peak = 0

    @property
    def peak_mb(self) -> float:
        """The largest RSS seen, in MiB."""
        return self._peak / _MEGABYTE

    def __enter__(self) -> PeakMemory:
        self._peak = self._process.memory_info().rss
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        self._peak = max(self._peak, self._process.memory_info().rss)

    def _sample(self) -> None:
        while not self._stop.wait(_SAMPLE_SECONDS):
            self._peak = max(self._peak, self._process.memory_info().rss)
