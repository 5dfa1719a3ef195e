"""Hostile inputs that broke backups, through the real CLI against the sandbox: a
40,000-character cell, more columns than an xlsx sheet holds, dates, formulas."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import openpyxl
import pytest

from syncer.backup import BackupStore, Manifest, read_backup
from syncer.config import load_ledgers
from syncer.model import Snapshot, Table
from syncer.sandbox import SandboxServer

from ..ops.xlsx_ledger import write_ledger
from .backup_env import google_env, run, snapshot_id

LONG = "长文本" * 13_333 + "末"  # 40,000 characters; Google allows 50,000, xlsx 32,767


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    """One sandbox for this module."""
    with SandboxServer() as server:
        yield server


@pytest.mark.parametrize("encrypted", [True, False], ids=["encrypted", "plain"])
def test_a_40000_character_cell_round_trips_and_verify_proves_it(
    sandbox: SandboxServer, tmp_path: Path, encrypted: bool
) -> None:
    """`backup` + `verify` + `restore --to-tab` give the 40,000 characters back exactly
    (they used to come back cut to 32,767 while verify said OK)."""
    main = [["id", "status", "comment"], ["C1", "active", LONG], ["C2", "active", "short"]]
    sid, env = google_env(sandbox, tmp_path, {"Main": main}, encrypted=encrypted)
    code, out = run(env, "backup")
    assert code == 0, out
    assert "kept whole in the hidden _syncer_cells sheet" in out
    code, out_verify = run(env, "backup", "verify")
    assert code == 0, out_verify
    assert "values equal the source's" in out_verify
    code, out = run(env, "restore", snapshot_id(out), "--to-tab", "Restored")
    assert code == 0, out
    restored = sandbox.values(sid, "Restored")
    assert restored[1][2] == LONG
    assert len(restored[1][2]) == 40_000


def test_verify_fails_when_the_workbook_lost_a_value(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    """A workbook re-saved with the long cell cut to 32,767 characters — file checksums
    made consistent — fails `backup verify`: it compares against the source's values."""
    main = [["id", "status", "comment"], ["C1", "active", LONG]]
    _sid, env = google_env(sandbox, tmp_path, {"Main": main}, encrypted=False)
    code, out = run(env, "backup")
    assert code == 0, out
    manifest_path = next((tmp_path / "backups" / "cloud").glob("*.json"))
    manifest = Manifest.from_file(manifest_path)
    book = openpyxl.load_workbook(manifest.data_path)
    del book["_syncer_cells"]
    book["Main"]["C2"].value = LONG[:32_767]
    book.save(manifest.data_path)
    data = manifest.data_path.read_bytes()

    stored = json.loads(manifest_path.read_text(encoding="utf-8"))
    digest = hashlib.sha256(data).hexdigest()
    stored.update(size=len(data), sha256=digest, content_sha256=digest)
    manifest_path.write_text(json.dumps(stored), encoding="utf-8")
    code, out = run(env, "backup", "verify")
    assert code == 1, out
    assert "source checksum mismatch" in out


def test_more_columns_than_an_xlsx_sheet_holds(sandbox: SandboxServer, tmp_path: Path) -> None:
    """Google's 18,278 columns (xlsx: 16,384) are backed up, verified, restored to a file
    that opens, and an archiving cycle on that sheet still succeeds: what Google cannot
    hold (a history tab as wide as main plus the archive columns) is refused up front,
    named with the limit, and the customer stays where it is."""
    width = 18_278
    header = ["id", "status", *(f"c{i}" for i in range(3, width + 1))]
    main = [header, ["C1", "active", *range(3, width + 1)], ["C2", "lost", "x"]]
    tabs = {"Main": main, "History": [["id", "status"]], "Errors": [["problem"]]}
    sid, env = google_env(sandbox, tmp_path, tabs)
    for tab in tabs:  # Google's 10M-cell cap: short grids, as a sheet this wide must have
        rows, _cols = sandbox.grid_size(sid, tab)
        sandbox.delete_rows(sid, tab, 10, rows - 9)
    code, out = run(env, "backup")
    assert code == 0, out
    code, out_verify = run(env, "backup", "verify")
    assert code == 0, out_verify
    ident = snapshot_id(out)
    code, out = run(env, "restore", ident, "--to-file", str(tmp_path / "out.xlsx"))
    assert code == 0, out
    manifest = Manifest.from_file(next((tmp_path / "backups" / "cloud").glob("*.json")))
    [main_tab] = read_backup((tmp_path / "out.xlsx").read_bytes(), manifest.tabs[:1], "out")
    assert len(main_tab.table.header) == width
    assert main_tab.table.rows[0][-1] == width
    code, out = run(env, "run", "--once")  # archiving backs up first: it must not fail
    assert code == 0, out
    assert "limit of 18,278 columns per sheet" in out
    assert [r[0] for r in sandbox.values(sid, "Main")[1:]] == ["C1", "C2"]


def test_restore_into_google_of_a_tab_over_its_limits_is_a_clear_error(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    """A snapshot tab of 20,000 columns restores to a file, and `--to-tab` refuses it
    naming Google's limit: exit 1, no traceback, no tab created."""
    sid, env = google_env(sandbox, tmp_path, {"Main": [["id"]]}, encrypted=False)
    [ledger] = load_ledgers(Path(env["SYNCER_CONFIG_PATH"]))
    wide = Table("Main", 1, tuple(f"c{i}" for i in range(20_000)), (("x", 2),))
    store = BackupStore(Path(env["SYNCER_BACKUP_DIR"]))
    manifest = store.write(ledger, Snapshot({"Main": wide}), datetime.now(UTC), reason="manual")
    code, out = run(env, "backup", "verify")
    assert code == 0, out
    code, out = run(env, "restore", manifest.id, "--to-tab", "Restored")
    assert code == 1, out
    assert "18,278" in out
    assert "Restored" not in sandbox.tabs(sid)


def test_dates_and_formulas_come_back_as_dates_and_formulas(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    """`restore --to-tab` writes dates with their format (not serials like 46346) and
    formulas as formulas."""
    main = [
        ["id", "status", "signed", "amount", "double"],
        ["C1", "active", date(2026, 11, 20), 21, "=D2*2"],
    ]
    sid, env = google_env(sandbox, tmp_path, {"Main": main})
    code, out = run(env, "backup")
    assert code == 0, out
    code, out = run(env, "restore", snapshot_id(out), "--to-tab", "Restored")
    assert code == 0, out
    row = sandbox.values(sid, "Restored")[1]
    assert row[2] == date(2026, 11, 20)
    assert row[4] == "=D2*2"
    assert sandbox.format(sid, "Restored", "C2")["numberFormat"]["type"] == "DATE"
    key = base64.b64decode(env["SYNCER_BACKUP_KEY"])
    store = BackupStore(Path(env["SYNCER_BACKUP_DIR"]), key)
    [tab, *_] = store.read_tabs(store.manifests("cloud")[0])
    assert tab.extras[(1, 4)].formula == "=D2*2"


def test_xlsx_formulas_and_formats_are_kept_and_verified(tmp_path: Path) -> None:
    """An xlsx ledger's formula cells (read as their cached value) and number formats are
    in the backup, and `verify` checks them; user text starting with = stays text."""
    book, config = write_ledger(tmp_path, rows=3, lost_every=0)
    workbook = openpyxl.load_workbook(book)
    sheet = workbook["客户信息"]
    sheet["E2"] = "=LEN(B2)*2"
    sheet["F1"] = "签约日期"
    sheet["F2"] = date(2026, 11, 20)
    sheet["F2"].number_format = "yyyy/mm/dd"
    workbook.save(book)
    env = {
        "SYNCER_CONFIG_PATH": str(config),
        "SYNCER_BACKUP_DIR": str(tmp_path / "backups"),
        "SYNCER_LOG_FORMAT": "json",
    }
    code, out = run(env, "backup")
    assert code == 0, out
    code, out = run(env, "backup", "verify")
    assert code == 0, out
    assert "values equal the source's" in out
    store = BackupStore(tmp_path / "backups")
    [main, *_] = store.read_tabs(store.manifests("shop")[0])
    assert main.extras[(1, 4)].formula == "=LEN(B2)*2"
    assert main.extras[(1, 5)].number_format == {"type": "DATE", "pattern": "yyyy/mm/dd"}
    assert main.table.rows[0][5] == date(2026, 11, 20)
    assert all(e.formula is None for (r, _c), e in main.extras.items() if r != 1)
