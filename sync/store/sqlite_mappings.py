"""Mapping configuration in SQLite: one row per scope holding the set as JSON."""

from __future__ import annotations

from pydantic import ValidationError

from sync.errors import StoreError
from sync.models import MappingSet
from sync.store.sqlite_database import SqliteDatabase


class SqliteMappingStore:  # implements MappingStore
    """Mapping sets in the ``mappings`` table.

    Args:
        database: The shared SQLite database.
    """

    def __init__(self, *, database: SqliteDatabase) -> None:
        self._database = database

    async def load_mappings(self, scope: str) -> MappingSet | None:
        """The saved mapping set of ``scope``, or None."""
        row = await self._database.run(
            lambda db: db.execute("SELECT body FROM mappings WHERE scope = ?", (scope,)).fetchone(),
            action=f"load mappings of scope {scope!r}",
        )
        if row is None:
            return None
        try:
            return MappingSet.model_validate_json(row[0])
        except ValidationError as exc:
            raise StoreError(f"the saved mappings of scope {scope!r} are invalid: {exc}") from exc

    async def save_mappings(self, scope: str, mappings: MappingSet) -> None:
        """Replace the mapping set of ``scope``."""
        body = mappings.model_dump_json()
        await self._database.run(
            lambda db: db.execute(
                "INSERT OR REPLACE INTO mappings (scope, body) VALUES (?, ?)", (scope, body)
            ),
            action=f"save mappings of scope {scope!r}",
        )

    async def delete_mappings(self, scope: str) -> None:
        """Forget the saved mapping set; nothing saved is not an error."""
        await self._database.run(
            lambda db: db.execute("DELETE FROM mappings WHERE scope = ?", (scope,)),
            action=f"delete mappings of scope {scope!r}",
        )
