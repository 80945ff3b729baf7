from __future__ import annotations

from pydantic import SecretStr

from sync.bootstrap import open_state_store
from sync.models import Side, Watermark
from sync.settings import SqliteTarget, TableConnectionTarget, TableIdentityTarget
from sync.store import SqliteStateStore, TableStateStore

AZURITE = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
    "TableEndpoint=http://127.0.0.1:1/devstoreaccount1;"
)


async def test_sqlite_target_opens_working_store_when_folder_is_missing(tmp_path):
    store = open_state_store(SqliteTarget(path=tmp_path / "new" / "state.db"))
    assert isinstance(store, SqliteStateStore)
    async with store:
        await store.ensure_tables()
        saved = await store.watermarks.save_watermark(
            Watermark(scope="s", mapping="CUSTOMER", side=Side.BC)
        )
    assert saved.etag is not None
    assert (tmp_path / "new" / "state.db").exists()


async def test_connection_target_opens_table_store_with_prefix_when_given():
    target = TableConnectionTarget(connection_string=SecretStr(AZURITE), table_prefix="prod")
    async with open_state_store(target) as store:
        assert isinstance(store, TableStateStore)
        assert store.table_names[0] == "prodmappings"


async def test_identity_target_opens_table_store_without_network_when_built():
    target = TableIdentityTarget(endpoint="https://acct.table.core.windows.net", client_id="abc")
    async with open_state_store(target) as store:
        assert isinstance(store, TableStateStore)
