"""Backup and restore-to-tab of a Google ledger through the real stack on the sandbox."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from syncer.backup import (
    BackupStore,
    backup_before_removal,
    backup_ledger,
    generate_key,
    restore_to_tab,
)
from syncer.connectors import open_connector
from syncer.connectors.base import TabRequest
from syncer.errors import BackupError
from syncer.ledger import LedgerConfig
from syncer.model import MoveRow, Plan, RowRef, Snapshot, Table, canonical
from syncer.sandbox import SandboxServer
from syncer.settings import Settings

EMAIL = "syncer-ops@sandbox.iam.gserviceaccount.com"
OWNER = "owner@example.com"
MAIN = [
    ["id", "name", "phone", "status", "comment"],
    ["C1", "甲公司", 13800000001, "active", "-call back"],
    ["C2", "乙公司", 13800000002, "paused", None],
    ["C3", "+丙", None, "active", "3.50"],
]
HISTORY = [["id", "name", "reason"], ["C0", "丁", "lost"]]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    """A sandbox for this module's tests."""
    with SandboxServer() as server:
        yield server


def google_ledger(spreadsheet: str) -> LedgerConfig:
    """A ledger on a sandbox spreadsheet."""
    return LedgerConfig.model_validate(
        {
            "name": "cloud",
            "source": {"connector": "google", "spreadsheet": spreadsheet},
            "tabs": {"main": "Main", "history": "History", "errors": "Errors"},
            "key": "id",
            "locale": "en",
            "columns": {"id": {"type": "text"}},
        }
    )


def test_restore_to_new_tab_through_the_sandbox(sandbox: SandboxServer, tmp_path: Path) -> None:
    """An encrypted backup of a Google ledger restores into a new tab cell by cell,
    and the live tab is refused without --force."""
    credentials = sandbox.write_credentials(tmp_path / "sa.json", EMAIL)
    sid = sandbox.create_spreadsheet("ledger", OWNER, {"Main": MAIN, "History": HISTORY})
    sandbox.share(sid, EMAIL, "writer")
    settings = Settings(credentials_path=credentials, google_api_base=sandbox.url)
    ledger = google_ledger(sid)
    store = BackupStore(tmp_path / "backups", base64.b64decode(generate_key()))
    connector = open_connector(ledger, settings)
    try:
        manifest = backup_ledger(ledger, connector, store, datetime.now(UTC))
        assert {t.name: t.rows for t in manifest.tabs} == {"Main": 3, "History": 1}
        assert store.verify(manifest).ok
        with pytest.raises(BackupError, match="live tab"):
            restore_to_tab(store, manifest, ledger, connector, "Main")
        assert restore_to_tab(store, manifest, ledger, connector, "Restored") == 3
        with pytest.raises(BackupError, match="already exists"):
            restore_to_tab(store, manifest, ledger, connector, "Restored")
        snapshot = connector.read([TabRequest("Restored"), TabRequest("Main")])
    finally:
        connector.close()
    restored, live = snapshot.get("Restored"), snapshot.get("Main")
    assert restored is not None
    assert live is not None
    assert restored.header == live.header
    assert [[canonical(v) for v in row] for row in restored.rows] == [
        [canonical(v) for v in row] for row in live.rows
    ]
    assert restored.cell(0, "comment") == "-call back"


def test_restored_user_text_is_never_a_formula(sandbox: SandboxServer, tmp_path: Path) -> None:
    """Text starting with `=` in a snapshot is written back as text, not evaluated."""
    credentials = sandbox.write_credentials(tmp_path / "sa.json", EMAIL)
    sid = sandbox.create_spreadsheet("ledger", OWNER, {"Main": [["id"]]})
    sandbox.share(sid, EMAIL, "writer")
    ledger = google_ledger(sid)
    table = Table("Main", 1, ("id", "note"), (("C1", '=HYPERLINK("http://x")'), ("C2", "@1")))
    store = BackupStore(tmp_path / "backups")
    manifest = store.write(ledger, Snapshot({"Main": table}), datetime.now(UTC))
    connector = open_connector(
        ledger, Settings(credentials_path=credentials, google_api_base=sandbox.url)
    )
    try:
        restore_to_tab(store, manifest, ledger, connector, "Restored")
        back = connector.read([TabRequest("Restored")]).get("Restored")
    finally:
        connector.close()
    assert back is not None
    assert back.rows == table.rows


def test_dates_formulas_and_notes_survive_backup_and_restore_to_tab(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    """A Google tab's dates (with their format), formulas and notes are backed up and come
    back into a new tab as dates (not serial numbers), formulas and notes."""
    credentials = sandbox.write_credentials(tmp_path / "sa.json", EMAIL)
    rows = [
        ["id", "signed", "amount", "double", "when"],
        ["C1", date(2026, 11, 20), 21, "=C2*2", datetime(2026, 11, 20, 9, 30)],
        ["C2", date(2025, 1, 31), 4, "=C3*2", None],
    ]
    sid = sandbox.create_spreadsheet("ledger", OWNER, {"Main": rows})
    sandbox.set_note(sid, "Main", "A2", "VIP since 2020")
    sandbox.share(sid, EMAIL, "writer")
    ledger = google_ledger(sid)
    store = BackupStore(tmp_path / "backups", base64.b64decode(generate_key()))
    connector = open_connector(
        ledger, Settings(credentials_path=credentials, google_api_base=sandbox.url)
    )
    try:
        manifest = backup_ledger(ledger, connector, store, datetime.now(UTC))
        [main_tab] = [t for t in store.read_tabs(manifest) if t.table.name == "Main"]
        assert main_tab.extras[(1, 3)].formula == "=C2*2"
        assert main_tab.extras[(1, 0)].note == "VIP since 2020"
        assert main_tab.table.rows[0][3] == 42  # the formula's last value
        assert (1, 1) not in main_tab.extras  # a plain date's format is the default
        assert main_tab.extras[(1, 4)].number_format == {
            "type": "DATE_TIME",
            "pattern": "yyyy-mm-dd hh:mm:ss",
        }
        assert store.verify(manifest).ok
        restore_to_tab(store, manifest, ledger, connector, "Restored")
    finally:
        connector.close()
    back = sandbox.values(sid, "Restored")
    assert back[1][1] == date(2026, 11, 20)  # a date, not the serial 46346
    assert back[1][4] == datetime(2026, 11, 20, 9, 30)
    assert back[1][3] == "=C2*2"  # a formula again
    assert sandbox.format(sid, "Restored", "B2")["numberFormat"]["type"] == "DATE"
    assert sandbox.format(sid, "Restored", "E2")["numberFormat"] == {
        "type": "DATE_TIME",
        "pattern": "yyyy-mm-dd hh:mm:ss",
    }
    assert sandbox.note(sid, "Restored", "A2") == "VIP since 2020"


def test_restore_refuses_what_google_cannot_hold(sandbox: SandboxServer, tmp_path: Path) -> None:
    """A snapshot tab wider than Google's 18,278 columns is refused with the limit named,
    before anything is written."""
    credentials = sandbox.write_credentials(tmp_path / "sa.json", EMAIL)
    sid = sandbox.create_spreadsheet("ledger", OWNER, {"Main": [["id"]]})
    sandbox.share(sid, EMAIL, "writer")
    ledger = google_ledger(sid)
    wide = Table("Main", 1, tuple(f"c{i}" for i in range(18_279)), (("x",),))
    store = BackupStore(tmp_path / "backups")
    manifest = store.write(ledger, Snapshot({"Main": wide}), datetime.now(UTC))
    assert store.verify(manifest).ok
    connector = open_connector(
        ledger, Settings(credentials_path=credentials, google_api_base=sandbox.url)
    )
    try:
        with pytest.raises(BackupError, match="18,278"):
            restore_to_tab(store, manifest, ledger, connector, "Restored")
    finally:
        connector.close()
    assert "Restored" not in sandbox.tabs(sid)


def test_backup_before_an_archive_keeps_the_moving_rows_formulas(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    """The pre-removal backup asks Google for the extras of the rows about to move (and
    the header row) only, keeps their formulas and notes, and verifies."""
    credentials = sandbox.write_credentials(tmp_path / "sa.json", EMAIL)
    rows = [
        ["id", "amount", "double"],
        ["C1", 1, "=B2*2"],
        ["C2", 2, "=B3*2"],
        ["C3", 3, "=B4*2"],
    ]
    sid = sandbox.create_spreadsheet("ledger", OWNER, {"Main": rows})
    sandbox.set_note(sid, "Main", "A3", "moving out")
    sandbox.share(sid, EMAIL, "writer")
    ledger = google_ledger(sid)
    store = BackupStore(tmp_path / "backups")
    connector = open_connector(
        ledger, Settings(credentials_path=credentials, google_api_base=sandbox.url)
    )
    try:
        snapshot = connector.read([TabRequest("Main")])
        main = snapshot.get("Main")
        assert main is not None
        move = MoveRow("Main", RowRef("C2", 3), "History",
                       (("id", "C2"),), "lost", "archive")  # fmt: skip
        manifest = backup_before_removal(
            ledger, snapshot, Plan("cloud", (move,)), datetime.now(UTC),
            store=store, connector=connector,
        )  # fmt: skip
    finally:
        connector.close()
    assert manifest is not None
    assert store.verify(manifest).ok
    [tab] = [t for t in store.read_tabs(manifest) if t.table.name == "Main"]
    assert tab.extras[(2, 2)].formula == "=B3*2"
    assert tab.extras[(2, 0)].note == "moving out"
    assert (1, 2) not in tab.extras  # C1 stays in the sheet: not read
    assert tab.table.rows[1][2] == 4
