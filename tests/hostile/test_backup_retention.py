"""Hostile retention and key settings, through the real CLI: a manual backup must not
prune the before-archive snapshots taken minutes earlier, a corrupt snapshot does not
count as kept, and an empty key-file setting means "no key"."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from syncer.backup import BackupStore
from syncer.config import load_ledgers
from syncer.ledger import LedgerConfig
from syncer.model import Snapshot, Table
from syncer.sandbox import SandboxServer

from .backup_env import google_env, run

MAIN = [["id", "status"], ["C1", "active"]]


def memory_ledger() -> LedgerConfig:
    """A memory ledger named `cloud` with a `Main` tab."""
    return LedgerConfig.model_validate(
        {
            "name": "cloud",
            "source": {"connector": "memory", "name": "cloud"},
            "tabs": {"main": "Main"},
            "key": "id",
            "columns": {"id": {"type": "text"}},
        }
    )


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    """One sandbox for this module."""
    with SandboxServer() as server:
        yield server


def before_archive_snapshots(env: dict[str, str], count: int) -> list[str]:
    """``count`` before-archive snapshots taken minutes ago, oldest first (plain)."""
    [ledger] = load_ledgers(Path(env["SYNCER_CONFIG_PATH"]))
    store = BackupStore(Path(env["SYNCER_BACKUP_DIR"]))
    table = Table("Main", 1, ("id", "status"), (("C1", "active"),))
    start = datetime.now(UTC) - timedelta(minutes=10)
    return [
        store.write(
            ledger, Snapshot({"Main": table}), start + timedelta(minutes=i), reason="before_removal"
        ).id
        for i in range(count)
    ]


def test_manual_backup_keeps_recent_before_archive_snapshots(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    """Two before-archive snapshots minutes old survive `syncer backup` (they used to be
    pruned by the one-per-day rule), and the output names what was pruned."""
    _sid, env = google_env(sandbox, tmp_path, {"Main": MAIN}, encrypted=False)
    ids = before_archive_snapshots(env, 2)
    code, out = run(env, "backup")
    assert code == 0, out
    assert "0 old snapshot(s) pruned" in out
    kept = {m.id for m in BackupStore(Path(env["SYNCER_BACKUP_DIR"])).manifests("cloud")}
    assert set(ids) <= kept


def test_a_corrupt_snapshot_does_not_count_and_pruning_is_reported(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    """With SYNCER_BACKUP_KEEP_LAST=2 and the newest before-archive snapshot corrupted, the
    two newest *intact* ones are kept, so `verify`'s "use an older snapshot" has one to
    use; the CLI lists each snapshot it pruned."""
    _sid, env = google_env(sandbox, tmp_path, {"Main": MAIN}, encrypted=False)
    env["SYNCER_BACKUP_KEEP_LAST"] = "2"
    ids = before_archive_snapshots(env, 4)
    store = BackupStore(Path(env["SYNCER_BACKUP_DIR"]))
    corrupt = store.resolve(ids[-1])
    corrupt.data_path.write_bytes(b"garbage")
    code, out = run(env, "backup")
    assert code == 0, out
    kept = {m.id for m in store.manifests("cloud")}
    assert {ids[1], ids[2]} <= kept
    assert ids[0] not in kept
    assert f"pruned: {', '.join(sorted([ids[0], ids[3]]))}" in out
    for ident in (ids[1], ids[2]):
        assert store.verify(store.resolve(ident)).ok


def test_a_pinned_snapshot_is_never_pruned(tmp_path: Path) -> None:
    """The snapshot a running cycle depends on (pinned by the pre-removal backup) survives
    a prune that would otherwise remove it."""
    ledger = memory_ledger()
    store = BackupStore(tmp_path / "backups")
    table = Table("Main", 1, ("id",), (("C1",),))
    now = datetime(2026, 11, 20, 8, tzinfo=UTC)
    old = store.write(ledger, Snapshot({"Main": table}), now, reason="before_removal")
    store.pin(old)
    store.write(ledger, Snapshot({"Main": table}), now + timedelta(days=9), reason="manual")
    store.write(ledger, Snapshot({"Main": table}), now + timedelta(days=10), reason="scheduled")
    store.prune("cloud", keep_daily=1, keep_weekly=0, keep_last=1)
    assert old.id in {m.id for m in store.manifests("cloud")}
    store.pin(store.manifests("cloud")[0])  # a later cycle of the ledger unpins it
    store.prune("cloud", keep_daily=1, keep_weekly=0, keep_last=0)
    assert old.id not in {m.id for m in store.manifests("cloud")}


def test_empty_key_file_setting_means_no_key(sandbox: SandboxServer, tmp_path: Path) -> None:
    """`SYNCER_BACKUP_KEY_FILE=` (empty) backs up unencrypted instead of failing with
    "cannot read the backup key file .: Is a directory"; a directory is named as such."""
    _sid, env = google_env(sandbox, tmp_path, {"Main": MAIN}, encrypted=False)
    env["SYNCER_BACKUP_KEY_FILE"] = ""
    code, out = run(env, "backup")
    assert code == 0, out
    assert "Is a directory" not in out
    assert "(encrypted)" not in out
    env["SYNCER_BACKUP_KEY_FILE"] = str(tmp_path)
    code, out = run(env, "backup")
    assert code == 2, out
    assert f"SYNCER_BACKUP_KEY_FILE={tmp_path} is a directory" in out.replace("\n", "")
