"""`syncer status`, `backup`, `backup verify` and `restore` on an xlsx ledger."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from syncer.backup import generate_key
from syncer.cli import commands  # noqa: F401  (registers every command)
from syncer.cli.app import app

from .xlsx_ledger import HEADER, read_keys, write_ledger


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """SYNCER_* variables pointing at a fresh xlsx ledger, state file and backup dir."""
    _book, config = write_ledger(tmp_path)
    return {
        "SYNCER_STATE_URL": f"sqlite:///{tmp_path / 'state' / 'syncer.db'}",
        "SYNCER_BACKUP_DIR": str(tmp_path / "backups"),
        "SYNCER_CONFIG_PATH": str(config),
        "SYNCER_LOG_FORMAT": "json",
        "SYNCER_BACKUP_KEY": generate_key(),
    }


def run(env: dict[str, str], *args: str) -> tuple[int, str]:
    """Invoke the CLI in-process; return exit code and combined output."""
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes else "")


def test_status_without_state_database_is_a_clear_error(env) -> None:
    """No state file yet: exit 1 naming the path and how it gets created."""
    code, out = run(env, "status")
    assert code == 1
    assert "no state database" in out
    assert "syncer run" in out


def test_status_reports_last_run_as_table_and_json(env) -> None:
    """After a cycle and a backup, status shows the run and the latest backup; --json parses."""
    assert run(env, "run", "--once")[0] == 0
    assert run(env, "backup")[0] == 0
    code, out = run(env, "status", "--json")
    assert code == 0
    data = json.loads(out)
    [entry] = data["ledgers"]
    assert entry["ledger"] == "shop"
    assert entry["runs"][0]["outcome"] == "ok"
    assert entry["runs"][0]["archived"] == 4
    assert entry["last_success"] is not None
    assert entry["latest_backup"]["reason"] == "manual"
    code, out = run(env, "status")
    assert code == 0
    assert "shop" in out
    assert "ok" in out


def test_status_shows_an_interrupted_cycle_and_its_recovery(env) -> None:
    """A journaled cycle that never finished is listed as not yet recovered; after the
    next cycle reconciles, status names the cycle that recovered it (table and JSON)."""
    from datetime import UTC, datetime

    from syncer.journal import Intent, Journal, MovingRow
    from syncer.state import StateStore

    assert run(env, "run", "--once")[0] == 0
    store = StateStore(env["SYNCER_STATE_URL"])
    try:
        moving = MovingRow("XS2099001", "客户历史库", (("客户编号", "XS2099001"),))
        Journal(store).begin("shop", "killed-1", datetime.now(UTC), Intent((moving,)), 3)
    finally:
        store.close()
    code, out = run(env, "status")
    assert code == 0
    assert "killed-1" in out
    assert "NOT YET RECOVERED" in out
    assert run(env, "run", "--once")[0] == 0
    code, out = run(env, "status", "--json")
    [entry] = json.loads(out)["ledgers"]
    [record] = entry["interrupted"]
    assert (record["cycle_id"], record["status"]) == ("killed-1", "recovered")
    assert record["recovered_by"] == entry["runs"][0]["cycle_id"]


def test_backup_verify_restore_to_file_round_trip(env, tmp_path) -> None:
    """backup → verify → restore --to-file gives the live workbook's cells back."""
    code, out = run(env, "backup")
    assert code == 0, out
    assert "(encrypted)" in out
    code, out = run(env, "backup", "verify")
    assert code == 0, out
    assert "OK" in out
    [manifest] = sorted((tmp_path / "backups" / "shop").glob("*.json"))
    out_file = tmp_path / "restored.xlsx"
    code, out = run(env, "restore", manifest.stem, "--to-file", str(out_file))
    assert code == 0, out
    live = openpyxl.load_workbook(tmp_path / "shop.xlsx")["客户信息"]
    restored = openpyxl.load_workbook(out_file)["客户信息"]
    assert [c.value for c in restored[1]] == HEADER
    live_rows = [[c.value for c in row] for row in live.iter_rows()]
    restored_rows = [[c.value for c in row] for row in restored.iter_rows()]
    assert restored_rows == live_rows
    assert restored["E8"].value == "=SUM(1,2)"
    assert restored["E8"].data_type == "s"


def test_verify_fails_on_corruption_and_on_a_wrong_key(env, tmp_path) -> None:
    """A damaged snapshot or a different key makes `backup verify` exit 1."""
    assert run(env, "backup")[0] == 0
    wrong = {**env, "SYNCER_BACKUP_KEY": generate_key()}
    code, out = run(wrong, "backup", "verify")
    assert code == 1
    assert "wrong key" in out
    [data] = (tmp_path / "backups" / "shop").glob("*.xlsx.enc")
    data.write_bytes(data.read_bytes()[:-10])
    code, out = run(env, "backup", "verify")
    assert code == 1
    assert "corrupt or truncated" in out


def test_bad_key_and_missing_backups_are_clear(env) -> None:
    """An invalid key exits 2; verifying with no backups exits 1 saying what to run."""
    code, out = run({**env, "SYNCER_BACKUP_KEY": "short"}, "backup", "verify")
    assert code == 2
    assert "SYNCER_BACKUP_KEY" in out
    code, out = run(env, "backup", "verify")
    assert code == 1
    assert "syncer backup" in out


def test_restore_to_new_tab_and_refuse_live_tab(env, tmp_path) -> None:
    """--to-tab writes a new tab; the live tab is refused without --force."""
    book = tmp_path / "shop.xlsx"
    before = read_keys(book)["客户信息"]
    assert run(env, "backup")[0] == 0
    assert run(env, "run", "--once")[0] == 0  # archives 4 customers
    [manifest] = sorted((tmp_path / "backups" / "shop").glob("*manual*.json")) or sorted(
        m for m in (tmp_path / "backups" / "shop").glob("*.json")
        if json.loads(m.read_text())["reason"] == "manual"
    )
    code, out = run(env, "restore", str(manifest), "--to-tab", "客户信息")
    assert code == 1
    assert "live tab" in out
    code, out = run(env, "restore", str(manifest), "--to-tab", "恢复")
    assert code == 0, out
    restored = openpyxl.load_workbook(book)["恢复"]
    assert [row[0] for row in restored.iter_rows(min_row=2, values_only=True)] == before
    assert len(read_keys(book)["客户信息"]) == len(before) - 4


def test_restore_needs_exactly_one_target(env) -> None:
    """Neither or both of --to-file/--to-tab is a usage error (exit 2)."""
    assert run(env, "restore", "x")[0] == 2
    assert run(env, "restore", "x", "--to-file", "a.xlsx", "--to-tab", "t")[0] == 2
    code, out = run(env, "restore", "shop_19990101T000000Z", "--to-file", "a.xlsx")
    assert code == 1
    assert "no snapshot" in out
