"""How far a side's watermark may move after a run read some pages of changes (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sync.engine.operation import Operation
from sync.models import ChangePage, Side, Watermark


class WatermarkProgress:
    """Tracks what a run processed on one side, and derives the watermark to save.

    The new ``modified_at`` is the latest change processed, but never later than the run's
    start (a change made during the run may not be in the pages yet) and never later than a
    change that failed transiently (so the next run reads it again). A change-tracking cursor
    is kept only when the last page was reached without transient failures.
    """

    def __init__(
        self,
        *,
        scope: str,
        mapping: str,
        side: Side,
        stored: Watermark | None,
        run_start: datetime,
    ) -> None:
        self._scope, self._mapping, self._side = scope, mapping, side
        self._stored = stored
        self._run_start = run_start
        self._latest: datetime | None = None
        self._floor: datetime | None = None
        self._token: str | None = None
        self._token_blocked = False

    def read_from(self, overlap: timedelta) -> tuple[datetime | None, str | None]:
        """Where the next read starts: (time minus overlap, change-tracking cursor)."""
        if self._stored is None:
            return None, None
        since = self._stored.modified_at
        return (since - overlap if since else None), self._stored.delta_token

    def observe(self, page: ChangePage, *, failed: Sequence[Operation]) -> None:
        """Account for one applied page and the operations of it that failed transiently."""
        failed_ids = {_source_id(op) for op in failed}
        for record in page.records:
            if record.modified_at is None:
                continue
            if self._latest is None or record.modified_at > self._latest:
                self._latest = record.modified_at
            if record.id in failed_ids and (
                self._floor is None or record.modified_at < self._floor
            ):
                self._floor = record.modified_at
        if failed:
            self._token_blocked = True
        if page.delta_token is not None:
            self._token = page.delta_token

    def interrupted(self) -> None:
        """The run stopped before the last page: keep the old change-tracking cursor."""
        self._token_blocked = True

    def next_watermark(self) -> Watermark:
        """The watermark to save after the run."""
        stored = self._stored
        modified_at = stored.modified_at if stored else None
        if self._latest is not None:
            # Re-read changes of the overlap window must not move the watermark back.
            latest = min(self._latest, self._run_start)
            modified_at = latest if modified_at is None else max(modified_at, latest)
        if self._floor is not None and modified_at is not None:
            modified_at = min(modified_at, self._floor)
        token = stored.delta_token if stored else None
        if self._token is not None and not self._token_blocked:
            token = self._token
        return Watermark(
            scope=self._scope,
            mapping=self._mapping,
            side=self._side,
            modified_at=modified_at,
            delta_token=token,
            etag=stored.etag if stored else None,
        )


def _source_id(operation: Operation) -> str | None:
    return operation.bc_id if operation.source is Side.BC else operation.dataverse_id
