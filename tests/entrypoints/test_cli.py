from __future__ import annotations

import io
import json

import pytest

from sync.entrypoints import demo
from sync.entrypoints.cli import main
from sync.mappings import export_mappings, standard_mappings
from sync.settings import get_settings

COMPANY = "5d1c9b1e-0000-4000-8000-000000000001"


@pytest.fixture
def configured(monkeypatch, tmp_path):
    monkeypatch.setenv("SYNC_BC__TENANT_ID", "contoso.onmicrosoft.com")
    monkeypatch.setenv("SYNC_BC__COMPANIES", COMPANY)
    monkeypatch.setenv("SYNC_STORE__SQLITE_PATH", str(tmp_path / "state.db"))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_validate_accepts_standard_file_when_it_is_exported(tmp_path, capsys):
    file = tmp_path / "mappings.json"
    file.write_text(export_mappings(standard_mappings()), encoding="utf-8")
    assert main(["mappings", "validate", str(file)]) == 0
    assert "8 mappings, valid" in capsys.readouterr().out


def test_validate_reports_problem_without_traceback_when_file_is_broken(tmp_path, capsys):
    file = tmp_path / "broken.json"
    file.write_text('{"format": "bc-dataverse-sync/mappings", "version": 1, "mappings": [', "utf-8")
    assert main(["mappings", "validate", str(file)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ")
    assert "broken.json" in error
    assert "Traceback" not in error


def test_validate_names_missing_file_when_path_is_wrong(tmp_path, capsys):
    assert main(["mappings", "validate", str(tmp_path / "nope.json")]) == 2
    assert "cannot read the mapping file" in capsys.readouterr().err


def test_import_then_export_returns_saved_set_when_company_is_configured(configured, capsys):
    mappings = standard_mappings()
    trimmed = mappings.model_copy(update={"mappings": mappings.mappings[:2]})
    file = configured / "two.json"
    file.write_text(export_mappings(trimmed), encoding="utf-8")
    assert main(["mappings", "import", str(file), "--company", COMPANY]) == 0
    capsys.readouterr()
    assert main(["mappings", "export", "--company", COMPANY]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert [m["name"] for m in exported["mappings"]] == [m.name for m in trimmed.mappings]


def test_reset_restores_standard_set_when_custom_set_was_saved(configured, capsys):
    mappings = standard_mappings()
    file = configured / "one.json"
    file.write_text(
        export_mappings(mappings.model_copy(update={"mappings": mappings.mappings[:1]})), "utf-8"
    )
    assert main(["mappings", "import", str(file), "--company", COMPANY]) == 0
    assert main(["mappings", "reset", "--company", COMPANY]) == 0
    capsys.readouterr()
    assert main(["mappings", "export", "--company", COMPANY]) == 0
    assert capsys.readouterr().out == export_mappings(standard_mappings())


def test_import_refuses_unknown_company_when_not_configured(configured, capsys):
    file = configured / "std.json"
    file.write_text(export_mappings(standard_mappings()), "utf-8")
    other = "5d1c9b1e-0000-4000-8000-000000000099"
    assert main(["mappings", "import", str(file), "--company", other]) == 2
    assert "is not in SYNC_BC__COMPANIES" in capsys.readouterr().err


async def test_demo_syncs_edits_conflicts_and_deletions_when_run(tmp_path):
    out = io.StringIO()
    assert await demo.run_demo(records=12, state_path=tmp_path / "demo.db", out=out) == 0
    report = out.getvalue()
    sections = report.split("\nCompany ")[1:]
    assert len(sections) == 2
    for section in sections:
        incremental = section.split("  incremental sync: ")[1].split("  incremental sync, ")[0]
        customer = next(line for line in incremental.splitlines() if "CUSTOMER" in line)
        inserted, modified, *_rest, conflicts, _coupled = customer.split()[1:]
        assert (inserted, modified, conflicts) == ("0", "2", "1")
        assert "[Conflict]" in incremental
        assert "[CoupledRecordDeleted]" in incremental
        quiet = section.split("nothing edited since: ")[1]
        total = next(line for line in quiet.splitlines() if line.strip().startswith("total"))
        assert total.split()[1:3] == ["0", "0"]


async def test_demo_runs_again_on_the_state_file_of_an_earlier_demo(tmp_path):
    state = tmp_path / "demo.db"
    first, again = io.StringIO(), io.StringIO()
    assert await demo.run_demo(records=12, state_path=state, out=first) == 0

    assert await demo.run_demo(records=12, state_path=state, out=again) == 0
    # Only the deletion the demo plays, as in the first run: no stale couplings.
    deleted = [out.getvalue().count("CoupledRecordDeleted") for out in (first, again)]
    assert deleted[0] == deleted[1]
