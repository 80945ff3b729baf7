"""`import function_app` in a fresh interpreter: the cold-start proxy of the Functions app."""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path
from typing import Final

_REPO_ROOT: Final = Path(__file__).resolve().parent.parent
# Time only the import: interpreter start-up is the host's, not ours.
_PROBE: Final = (
    "import time; started = time.perf_counter(); import function_app; "
    "print(time.perf_counter() - started)"
)


def import_seconds(repeats: int = 5) -> float:
    """The median time of `import function_app` over fresh processes, in seconds."""
    times = [_import_once() for _ in range(repeats)]
    return statistics.median(times)


def _import_once() -> float:
    completed = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=_REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(completed.stdout.strip().splitlines()[-1])
