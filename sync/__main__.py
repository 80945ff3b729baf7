"""``python -m sync``: the command line."""

from __future__ import annotations

from sync.entrypoints.cli import main

raise SystemExit(main())
