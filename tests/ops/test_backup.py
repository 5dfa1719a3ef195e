"""Backups: snapshot, encrypt, verify, restore, retention and their failure modes."""

from __future__ import annotations

import base64
import errno
import os
import stat
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncer import metrics
from syncer.backup import (
    BackupStore,
    Manifest,
    backup_before_removal,
    backup_ledger,
    generate_key,
    parse_key,
    restore_to_file,
    restore_to_tab,
    select_kept,
    select_retained,
    tables_to_xlsx,
    xlsx_to_tables,
)
from syncer.connectors.base import TabRequest
from syncer.connectors.memory import MemoryConnector
from syncer.errors import BackupError
from syncer.ledger import LedgerConfig
from syncer.model import MoveRow, Plan, RowRef, SetCell, Table, canonical, is_blank

from .conftest import make_ledger

KEY = base64.b64decode(generate_key())


def assert_same_cells(left: Table, right: Table) -> None:
    """Header and every data cell equal by canonical text, with the same types."""
    assert left.name == right.name
    assert left.header == right.header
    assert len(left.rows) == len(right.rows)
    for a, b in zip(left.rows, right.rows, strict=True):
        width = max(len(a), len(b))
        pa, pb = (*a, *[None] * (width - len(a))), (*b, *[None] * (width - len(b)))
        assert [canonical(v) for v in pa] == [canonical(v) for v in pb]
        typed = (str, bool, date)
        assert [type(v) for v in pa if isinstance(v, typed) and not is_blank(v)] == [
            type(v) for v in pb if isinstance(v, typed) and not is_blank(v)
        ]


def live_tables(connector: MemoryConnector, ledger: LedgerConfig) -> list[Table]:
    """The ledger's tabs as the connector reads them now."""
    snap = connector.read(
        [TabRequest(ledger.tabs.main, ledger.header_row), TabRequest(ledger.tabs.history)]
    )
    return [t for t in (snap.get(ledger.tabs.main), snap.get(ledger.tabs.history)) if t]


def test_encrypted_round_trip_is_equal_cell_by_cell(tmp_path, ledger, connector, now) -> None:
    """backup → encrypt → verify → restore to a file gives back every cell unchanged."""
    store = BackupStore(tmp_path / "b", KEY)
    manifest = backup_ledger(ledger, connector, store, now)
    assert manifest.encrypted
    assert manifest.data_path.name.endswith(".xlsx.enc")
    assert not manifest.data_path.read_bytes().startswith(b"PK")  # not a plain zip
    assert store.verify(manifest).ok
    for restored, live in zip(store.read(manifest), live_tables(connector, ledger), strict=True):
        assert_same_cells(restored, live)
    out = restore_to_file(store, manifest, tmp_path / "out" / "restored.xlsx")
    book = openpyxl.load_workbook(out)
    assert book["客户信息"]["F2"].value == '=HYPERLINK("x")'
    assert book["客户信息"]["F2"].data_type == "s"  # text, never a formula
    assert book["客户历史库"]["B2"].value == "丁公司"


def test_manifest_records_ledger_source_rows_and_checksums(tmp_path, ledger, connector, now):
    """The JSON manifest names the ledger, source, time, tabs with row counts and sha256."""
    manifest = backup_ledger(ledger, connector, BackupStore(tmp_path), now)
    assert manifest.path is not None
    again = Manifest.from_file(manifest.path)
    assert again == manifest
    assert again.ledger == "sales"
    assert again.source == "memory:sales"
    assert again.created == now
    assert {t.name: t.rows for t in again.tabs} == {"客户信息": 3, "客户历史库": 1}
    assert len(again.sha256) == 64
    assert again.id == "sales_20261125T083000Z"


def test_files_are_owner_only(tmp_path, ledger, connector, now) -> None:
    """Snapshot and manifest files are 0600 and the directories 0700."""
    manifest = backup_ledger(ledger, connector, BackupStore(tmp_path / "b"), now)
    assert manifest.path is not None
    for path in (manifest.data_path, manifest.path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for directory in (tmp_path / "b", tmp_path / "b" / "sales"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_wrong_key_is_reported_not_crashed(tmp_path, ledger, connector, now) -> None:
    """Verifying with another key fails with a message naming the key settings."""
    manifest = backup_ledger(ledger, connector, BackupStore(tmp_path, KEY), now)
    other = BackupStore(tmp_path, base64.b64decode(generate_key()))
    result = other.verify(manifest)
    assert not result.ok
    assert "wrong key" in result.message
    assert "SYNCER_BACKUP_KEY" in result.message
    missing = BackupStore(tmp_path).verify(manifest)
    assert not missing.ok
    assert "encrypted" in missing.message


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_corrupt_snapshot_is_detected(tmp_path, ledger, connector, now, damage) -> None:
    """A flipped byte or a truncated file fails verification and refuses to restore."""
    store = BackupStore(tmp_path)
    manifest = backup_ledger(ledger, connector, store, now)
    data = bytearray(manifest.data_path.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0xFF
    else:
        del data[len(data) // 2 :]
    manifest.data_path.write_bytes(bytes(data))
    [result] = store.verify_latest()
    assert not result.ok
    assert "corrupt or truncated" in result.message
    with pytest.raises(BackupError, match="corrupt or truncated"):
        restore_to_file(store, manifest, tmp_path / "out.xlsx")
    assert not (tmp_path / "out.xlsx").exists()


def test_consistent_but_unopenable_workbook_is_detected(tmp_path, ledger, connector, now):
    """A snapshot whose sums match but which is not a workbook fails at the open step."""
    store = BackupStore(tmp_path)
    manifest = backup_ledger(ledger, connector, store, now)
    garbage = b"not a zip at all"
    manifest.data_path.write_bytes(garbage)
    import hashlib

    digest = hashlib.sha256(garbage).hexdigest()
    text = (
        manifest.path.read_text()
        .replace(manifest.sha256, digest)
        .replace(manifest.content_sha256, digest)
        .replace(f'"size": {manifest.size}', f'"size": {len(garbage)}')
    )
    manifest.path.write_text(text)
    result = store.verify(Manifest.from_file(manifest.path))
    assert not result.ok
    assert "does not open as an .xlsx" in result.message


def test_corrupt_manifest_is_a_verify_failure(tmp_path, ledger, connector, now) -> None:
    """An unparsable manifest is reported by verify, not silently skipped."""
    store = BackupStore(tmp_path)
    manifest = backup_ledger(ledger, connector, store, now)
    manifest.path.write_text("{ not json")
    results = store.verify_latest()
    assert [r.ok for r in results] == [False]
    assert "corrupt" in results[0].message


def test_full_disk_leaves_no_backup_reported_as_good(tmp_path, ledger, connector, now) -> None:
    """ENOSPC mid-write raises a clear error, leaves no file behind and meters a failure."""
    calls = []

    def full_disk(fd: int, data: bytes) -> int:
        calls.append(len(data))
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return os.write(fd, data[: len(data) // 2])

    failed = (
        metrics.REGISTRY.get_sample_value(
            "syncer_backups_total", {"ledger": "sales", "outcome": "failed"}
        )
        or 0.0
    )
    store = BackupStore(tmp_path, write=full_disk)
    with pytest.raises(BackupError, match="disk is full"):
        backup_ledger(ledger, connector, store, now)
    assert len(calls) == 2
    assert list((tmp_path / "sales").iterdir()) == []
    assert store.manifests() == []
    after = metrics.REGISTRY.get_sample_value(
        "syncer_backups_total", {"ledger": "sales", "outcome": "failed"}
    )
    assert after == failed + 1


def test_unwritable_backup_dir_is_a_clear_error(tmp_path, ledger, connector, now) -> None:
    """A backup directory that cannot be created names the path and the setting to change."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(BackupError, match="SYNCER_BACKUP_DIR") as info:
        backup_ledger(ledger, connector, BackupStore(blocker / "backups"), now)
    assert str(blocker / "backups") in str(info.value)


def test_bad_keys_are_rejected_with_a_hint() -> None:
    """A key that is not base64 of 32 bytes is refused with how to make one."""
    with pytest.raises(BackupError, match="base64"):
        parse_key("not base64!!", "SYNCER_BACKUP_KEY")
    with pytest.raises(BackupError, match="32 bytes"):
        parse_key(base64.b64encode(b"short").decode(), "SYNCER_BACKUP_KEY")
    assert len(parse_key(generate_key(), "k")) == 32


def test_backup_before_removal_only_when_rows_move(tmp_path, ledger, connector, now) -> None:
    """The engine hook writes a snapshot for plans with MoveRow and nothing otherwise."""
    store = BackupStore(tmp_path)
    snapshot = connector.read([TabRequest("客户信息"), TabRequest("客户历史库")])
    ref = RowRef("XS2024001", 2)
    quiet = Plan("sales", (SetCell("客户信息", ref, "备注", "x", None, rule="r"),))
    assert backup_before_removal(ledger, snapshot, quiet, now, store=store) is None
    assert store.manifests() == []
    moving = Plan("sales", (MoveRow("客户信息", ref, "客户历史库", (), "lost", rule="a"),))
    manifest = backup_before_removal(ledger, snapshot, moving, now, store=store)
    assert manifest is not None
    assert manifest.reason == "before_removal"
    assert [m.id for m in store.manifests()] == [manifest.id]


def test_engine_backs_up_before_archiving(tmp_path, connector, now) -> None:
    """run_cycle with the backup hook writes a snapshot holding the row it then archives."""
    from functools import partial

    from syncer.engine import run_cycle
    from syncer.state import StateStore

    lost = make_ledger(
        columns={"客户编号": {"type": "text"}, "备注": {"type": "text"}},
        rules=[{"kind": "archive", "when": {"column": "备注", "op": "equals", "value": "-note"}}],
    )
    store = BackupStore(tmp_path / "backups")
    state = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        result = run_cycle(
            lost, connector, state, now, before_removal=partial(backup_before_removal, store=store)
        )
    finally:
        state.close()
    assert result.outcome == "ok", result.error
    assert result.archived == 1
    [manifest] = store.manifests()
    assert manifest.reason == "before_removal"
    [backed_up] = [t for t in store.read(manifest) if t.name == "客户信息"]
    assert "XS2024003" in [canonical(row[0]) for row in backed_up.rows]
    assert "XS2024003" not in [canonical(r[0]) for r in connector.rows("客户信息")]


def test_failed_backup_hook_stops_the_cycle_before_any_write(tmp_path, connector, now) -> None:
    """When the pre-removal backup fails the cycle fails and the workbook is untouched."""
    from functools import partial

    from syncer.engine import run_cycle
    from syncer.state import StateStore

    lost = make_ledger(
        columns={"客户编号": {"type": "text"}, "备注": {"type": "text"}},
        rules=[{"kind": "archive", "when": {"column": "备注", "op": "equals", "value": "-note"}}],
    )
    blocker = tmp_path / "file"
    blocker.write_text("")
    before = [list(r) for r in connector.rows("客户信息")]
    state = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        result = run_cycle(
            lost,
            connector,
            state,
            now,
            before_removal=partial(backup_before_removal, store=BackupStore(blocker)),
        )
    finally:
        state.close()
    assert result.outcome == "failed"
    assert "not writable" in (result.error or "")
    assert [list(r) for r in connector.rows("客户信息")] == before


def test_failed_pre_removal_backup_raises(tmp_path, ledger, connector, now) -> None:
    """A pre-removal backup that cannot be written raises, so the engine applies nothing."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    snapshot = connector.read([TabRequest("客户信息")])
    moving = Plan("sales", (MoveRow("客户信息", RowRef("k", 2), "客户历史库", (), "r", "a"),))
    with pytest.raises(BackupError, match="not writable"):
        backup_before_removal(ledger, snapshot, moving, now, store=BackupStore(blocker))


def test_same_second_backups_do_not_overwrite(tmp_path, ledger, connector, now) -> None:
    """Two backups in the same second get distinct ids and both verify."""
    store = BackupStore(tmp_path)
    first = backup_ledger(ledger, connector, store, now)
    second = backup_ledger(ledger, connector, store, now, reason="manual")
    assert first.id != second.id
    assert all(r.ok for r in (store.verify(first), store.verify(second)))


def test_restore_to_new_tab_through_connector(tmp_path, ledger, connector, now) -> None:
    """Restoring writes a new tab equal to the snapshot's main tab and leaves live tabs."""
    store = BackupStore(tmp_path, KEY)
    manifest = backup_ledger(ledger, connector, store, now)
    before = connector.rows("客户信息")
    connector.set_cell("客户信息", 2, 2, "changed later")
    rows = restore_to_tab(store, manifest, ledger, connector, "恢复_20261125")
    assert rows == 3
    assert connector.rows("恢复_20261125") == before
    assert connector.rows("客户信息")[1][1] == "changed later"


def test_restore_refuses_live_or_existing_tab_without_force(
    tmp_path, ledger, connector, now
) -> None:
    """The live tab or any existing tab is only overwritten with force."""
    store = BackupStore(tmp_path)
    manifest = backup_ledger(ledger, connector, store, now)
    original = connector.rows("客户信息")
    connector.set_cell("客户信息", 2, 2, "edited")
    with pytest.raises(BackupError, match="live tab"):
        restore_to_tab(store, manifest, ledger, connector, "客户信息")
    connector.add_tab("other", [["a"]])
    with pytest.raises(BackupError, match="already exists"):
        restore_to_tab(store, manifest, ledger, connector, "other")
    with pytest.raises(BackupError, match="no tab"):
        restore_to_tab(store, manifest, ledger, connector, "new", tab="nope")
    restore_to_tab(store, manifest, ledger, connector, "客户信息", force=True)
    assert connector.rows("客户信息") == original


def test_restore_to_existing_file_needs_force(tmp_path, ledger, connector, now) -> None:
    """An existing output file is not overwritten unless forced."""
    store = BackupStore(tmp_path / "b")
    manifest = backup_ledger(ledger, connector, store, now)
    out = tmp_path / "out.xlsx"
    out.write_text("keep me")
    with pytest.raises(BackupError, match="already exists"):
        restore_to_file(store, manifest, out)
    assert out.read_text() == "keep me"
    restore_to_file(store, manifest, out, force=True)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_resolve_by_id_manifest_or_workbook_path(tmp_path, ledger, connector, now) -> None:
    """A snapshot is found by id, by its manifest path or by its workbook path."""
    store = BackupStore(tmp_path)
    manifest = backup_ledger(ledger, connector, store, now)
    assert store.resolve(manifest.id) == manifest
    assert store.resolve(str(manifest.path)) == manifest
    assert store.resolve(str(manifest.data_path)) == manifest
    with pytest.raises(BackupError, match="no snapshot"):
        store.resolve("sales_19990101T000000Z")


def test_prune_keeps_daily_and_weekly(tmp_path, ledger, connector) -> None:
    """Retention keeps one per day for N days and one per week for M weeks."""
    store = BackupStore(tmp_path)
    start = datetime(2026, 1, 1, 12, tzinfo=UTC)
    for hours in range(0, 24 * 30, 12):  # two a day for 30 days
        backup_ledger(ledger, connector, store, start + timedelta(hours=hours))
    assert len(store.manifests("sales")) == 60
    removed = store.prune("sales", keep_daily=3, keep_weekly=2, keep_last=1)
    kept = store.manifests("sales")
    assert len(removed) == 2 * (60 - len(kept))
    days = {m.created.date() for m in kept}
    assert len(kept) == len(days)
    assert kept[0].created == start + timedelta(hours=24 * 30 - 12)
    assert len(kept) <= 3 + 2


def test_prune_sweeps_old_leftovers_of_failed_writes(tmp_path, ledger, connector, now) -> None:
    """Old temp files and manifest-less workbooks are deleted; fresh ones and good
    snapshots are kept."""
    store = BackupStore(tmp_path)
    good = backup_ledger(ledger, connector, store, now)
    directory = tmp_path / "sales"
    old_tmp = directory / ".sales_1.xlsx.tmp"
    orphan = directory / "sales_20200101T000000Z.xlsx.enc"
    fresh = directory / "sales_20991231T000000Z.xlsx"
    for path in (old_tmp, orphan, fresh):
        path.write_bytes(b"partial")
    for path in (old_tmp, orphan):
        os.utime(path, (0, 0))
    removed = store.prune("sales", keep_daily=7, keep_weekly=4, keep_last=1)
    assert sorted(removed) == sorted([old_tmp, orphan])
    assert fresh.exists()
    assert store.verify(good).ok


snapshot_times = st.lists(
    st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
    ),
    max_size=60,
)


@given(times=snapshot_times, daily=st.integers(0, 10), weekly=st.integers(0, 6))
def test_retention_properties(times, daily, weekly) -> None:
    """Retention keeps the newest, at most N+M+1 items, one per kept day, all inputs."""
    keep = select_retained(times, daily, weekly)
    assert keep <= set(times)
    if times:
        assert max(times) in keep
    assert len(keep) <= daily + weekly + 1
    newest_days = sorted({t.date() for t in times}, reverse=True)[:daily]
    for day in newest_days:
        assert max(t for t in times if t.date() == day) in keep


cell = st.one_of(
    st.none(),
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12),
    st.sampled_from(["=1+1", "+86 138", "-3", "@sum", "007"]),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.dates(min_value=date(1900, 3, 1), max_value=date(2100, 1, 1)),
    st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(2100, 1, 1)).map(
        lambda d: d.replace(microsecond=0)
    ),
)


@settings(max_examples=40, deadline=None)
@given(
    header=st.lists(st.text(alphabet="abc客户名", min_size=1, max_size=4), max_size=5),
    rows=st.lists(st.lists(cell, max_size=6).map(tuple), max_size=6),
)
def test_xlsx_round_trip_property(header, rows) -> None:
    """Any table survives xlsx serialization: same cells, text stays text."""
    trimmed = []
    for row in rows:
        values = list(row)
        while values and values[-1] is None:
            values.pop()
        trimmed.append(tuple(values))
    while trimmed and not trimmed[-1]:
        trimmed.pop()
    table = Table("tab", 1, tuple(header), tuple(trimmed))
    data, entries, _moved = tables_to_xlsx([table])
    [back] = xlsx_to_tables(data, entries, "mem")
    assert_same_cells(back, table)
    assert back == table


def test_long_or_odd_tab_names_get_safe_sheet_titles(tmp_path) -> None:
    """Tab names Excel cannot hold map to safe sheet titles and back to the tab name."""
    tables = [Table("a/b:c", 1, ("x",), (("1",),)), Table("x" * 40, 1, ("y",), ())]
    data, entries, _ = tables_to_xlsx(tables)
    assert [e.sheet for e in entries] == ["tab1", "tab2"]
    back = xlsx_to_tables(data, entries, "mem")
    assert [t.name for t in back] == ["a/b:c", "x" * 40]


def test_missing_manifest_path_is_clear(tmp_path) -> None:
    """Reading a manifest that does not exist says where it looked."""
    with pytest.raises(BackupError, match="no backup manifest"):
        Manifest.from_file(Path(tmp_path / "none.json"))


def manifest_at(when: datetime, reason: str, n: int) -> Manifest:
    """A manifest (never written) of ledger `sales` taken at ``when`` for ``reason``."""
    return Manifest(
        ledger="sales",
        source="memory:sales",
        created=when,
        reason=reason,
        file=f"s{n}.xlsx",
        encrypted=False,
        size=0,
        sha256="",
        content_sha256="",
        tabs=(),
        path=Path(f"/nowhere/sales_{n}.json"),
    )


@settings(max_examples=80, deadline=None)
@given(
    items=st.lists(
        st.tuples(
            st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2026, 1, 1)),
            st.sampled_from(["before_removal", "manual", "scheduled"]),
            st.booleans(),
        ),
        max_size=25,
    ),
    daily=st.integers(0, 5),
    weekly=st.integers(0, 3),
    last=st.integers(0, 4),
    pin=st.integers(0, 30),
)
def test_keep_last_per_reason_properties(items, daily, weekly, last, pin) -> None:
    """For every reason the newest `last` intact snapshots are kept, the pinned one is kept,
    the newest is kept, and a corrupt snapshot never counts toward `last`."""
    found = [
        manifest_at(when.replace(tzinfo=UTC), reason, n)
        for n, (when, reason, _ok) in enumerate(items)
    ]
    intact = {m.id for m, (_w, _r, ok) in zip(found, items, strict=True) if ok}
    pinned = {found[pin].id} if pin < len(found) else set()
    keep = select_kept(
        found,
        keep_daily=daily,
        keep_weekly=weekly,
        keep_last=last,
        verified=lambda m: m.id in intact,
        pinned=pinned,
    )
    assert pinned <= keep
    ordered = sorted(found, key=lambda m: (m.created, m.id), reverse=True)
    if ordered:
        assert ordered[0].id in keep
    for reason in ("before_removal", "manual", "scheduled"):
        newest_intact = [m.id for m in ordered if m.reason == reason and m.id in intact][:last]
        assert set(newest_intact) <= keep
