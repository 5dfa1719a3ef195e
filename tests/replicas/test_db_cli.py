"""`syncer db upgrade | current | copy` and `syncer worker`'s refusals, as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

import syncer.cli.commands  # noqa: F401  (registers every command)
from syncer import migrations
from syncer.cli.app import app
from syncer.state import RunRecord, StateStore

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout + result.stderr


def test_upgrade_then_current_on_postgresql(empty_pg_url: str) -> None:
    """`db current` exits 1 on an empty database, `db upgrade` migrates it, then `db
    current` shows the newest revision and exits 0; a second upgrade changes nothing."""
    code, out = _invoke("db", "current", "--url", empty_pg_url)
    assert code == 1
    assert "current: (none)" in out
    assert "syncer db upgrade" in out
    code, out = _invoke("db", "upgrade", "--url", empty_pg_url)
    assert code == 0, out
    assert f"(empty) -> {migrations.head()}" in out
    code, out = _invoke("db", "current", "--url", empty_pg_url)
    assert code == 0
    assert f"current: {migrations.head()}" in out
    code, out = _invoke("db", "upgrade", "--url", empty_pg_url)
    assert "already at" in out


def _sqlite_with_state(path: Path) -> str:
    url = f"sqlite:///{path}"
    store = StateStore(url)
    store.save(
        "sales",
        {"XS1": {"合作状态": "合作中"}, "XS2": {"合作状态": "流失\x00客户"}},
        {"客户信息|XS1|联系方式|phone": T0},
        "tok-7",
        config_hash="h",
        now=T0,
    )
    for i in range(3):
        store.record_run(RunRecord("sales", f"c{i}", T0, T0, "ok", 1, 2, 0, 0, 4))
    store.close()
    return url


def test_copy_sqlite_to_postgresql_reads_the_same(tmp_path: Path, pg_url: str) -> None:
    """`db copy --to` moves every state table from SQLite to PostgreSQL: the copy loads
    the same watched values (NUL included), findings, token and runs, and new runs get
    fresh ids."""
    source = _sqlite_with_state(tmp_path / "state.db")
    code, out = _invoke("db", "copy", "--from", source, "--to", pg_url)
    assert code == 0, out
    assert "watched: 2 rows" in out
    assert "runs: 3 rows" in out
    before, after = StateStore(source), StateStore(pg_url)
    try:
        assert after.load("sales") == before.load("sales")
        assert after.mark("sales") == before.mark("sales")
        assert [r.cycle_id for r in after.runs("sales")] == ["c2", "c1", "c0"]
        after.record_run(RunRecord("sales", "c3", T0, T0, "ok", 0, 0, 0, 0, 1))
        assert after.runs("sales", limit=1)[0].cycle_id == "c3"
    finally:
        before.close()
        after.close()


def test_copy_refuses_a_target_with_state(tmp_path: Path, pg_url: str) -> None:
    """`db copy` never merges: a target that already holds state is refused (exit 1)."""
    source = _sqlite_with_state(tmp_path / "state.db")
    assert _invoke("db", "copy", "--from", source, "--to", pg_url)[0] == 0
    code, out = _invoke("db", "copy", "--from", source, "--to", pg_url)
    assert code == 1
    assert "already holds state" in out


def _worker(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    (tmp_path / "ledgers").mkdir(exist_ok=True)
    return subprocess.run(
        [sys.executable, "-m", "syncer", "worker"],
        env={
            **os.environ,
            "SYNCER_CONFIG_PATH": str(tmp_path / "ledgers"),
            "SYNCER_LOG_FORMAT": "json",
            "SYNCER_HTTP_PORT": "0",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_worker_refuses_sqlite(tmp_path: Path) -> None:
    """`syncer worker` on a SQLite state exits 1 and says to use PostgreSQL."""
    result = _worker({"SYNCER_STATE_URL": f"sqlite:///{tmp_path / 's.db'}"}, tmp_path)
    assert result.returncode == 1
    assert "needs a PostgreSQL state database" in result.stdout + result.stderr


@pytest.mark.slow
def test_worker_refuses_a_schema_behind(tmp_path: Path, empty_pg_url: str) -> None:
    """`syncer worker` on a database that was never upgraded exits 1 before doing
    anything, telling the operator to run `syncer db upgrade`."""
    result = _worker({"SYNCER_STATE_URL": empty_pg_url}, tmp_path)
    assert result.returncode == 1
    assert "syncer db upgrade" in result.stdout + result.stderr
    assert "worker.started" not in result.stdout + result.stderr
