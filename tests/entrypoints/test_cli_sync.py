from __future__ import annotations

import asyncio

import pytest

from sync.bootstrap import open_state_store
from sync.entrypoints.cli import main
from sync.entrypoints.sandbox_engine import open_sandbox_engine
from sync.settings import SqliteTarget


@pytest.fixture
def sandbox(tmp_path):
    """The CLI's engine opener, over one sandbox shared by every command of a test."""
    opened = {}

    async def opener():
        if "engine" not in opened:
            store = open_state_store(SqliteTarget(path=tmp_path / "s.db"))
            engine, editors = await open_sandbox_engine(records=8, store=store)
            opened.update(engine=engine, editors=editors)
        return _Reusable(opened["engine"])

    return opener, opened


class _Reusable:
    """Hands the same engine to each command; closing is left to the test's end."""

    def __init__(self, engine):
        self.engine = engine

    async def __aenter__(self):
        return self.engine

    async def __aexit__(self, *exc):
        return None


def run_cli(argv, opener):
    # main() runs its own event loop, so call it off this test's loop.
    return asyncio.get_running_loop().run_in_executor(None, lambda: main(argv, open_engine=opener))


async def test_plan_lists_creates_and_writes_nothing_when_dry_run(sandbox, capsys):
    opener, opened = sandbox
    await opener()
    engine = opened["engine"]
    company = engine.companies[0]
    argv = ["plan", "--full", "--company", company, "--mapping", "CURRENCY"]
    assert await run_cli(argv, opener) == 0
    out = capsys.readouterr().out
    assert "create" in out
    assert "dry run: succeeded" in out
    assert await engine.store.runs.list_runs(engine.runner(company).parts.scope.key) == []


async def test_run_then_runs_and_errors_show_history_when_synced(sandbox, capsys):
    opener, opened = sandbox
    await opener()
    company = opened["engine"].companies[0]
    assert await run_cli(["run", "--full", "--company", company], opener) == 0
    out = capsys.readouterr().out
    assert "full: " in out
    assert await run_cli(["runs", "--company", company], opener) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == 1
    run_id = listed[0].split()[0]
    assert await run_cli(["errors", run_id, "--company", company], opener) == 0


async def test_several_companies_need_choice_when_company_is_omitted(sandbox, capsys):
    opener, _ = sandbox
    assert await run_cli(["runs"], opener) == 2
    assert "choose one with --company" in capsys.readouterr().err


async def test_couple_and_uncouple_change_couplings_when_called(sandbox, capsys):
    opener, opened = sandbox
    await opener()
    engine, editors = opened["engine"], opened["editors"]
    company = engine.companies[0]
    codes = {r["isocurrencycode"] for r in editors.dataverse.all("transactioncurrencies")}
    currency = next(c for c in editors.bc.all(company, "currencies") if c["code"] in codes)
    rows = editors.dataverse.all("transactioncurrencies")
    row = next(r for r in rows if r["isocurrencycode"] == currency["code"])
    argv = [
        "couple",
        "CURRENCY",
        currency["id"],
        row["transactioncurrencyid"],
        "--company",
        company,
    ]
    assert await run_cli(argv, opener) == 0
    scope = engine.runner(company).parts.scope.key
    assert await engine.store.couplings.get_by_bc_id(scope, "CURRENCY", currency["id"])
    argv = ["uncouple", "CURRENCY", "--bc-id", currency["id"], "--company", company]
    assert await run_cli(argv, opener) == 0
    assert await engine.store.couplings.get_by_bc_id(scope, "CURRENCY", currency["id"]) is None
