"""`syncer run` as a real process: health over HTTP, SIGTERM mid-cycle, consistent ledger."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from syncer.sandbox import SandboxServer
from syncer.sandbox.requestlog import LoggedRequest

from .test_health import free_port, get_quiet
from .xlsx_ledger import read_keys, write_ledger

ROWS = 600
EMAIL = "syncer-daemon@proj.iam.gserviceaccount.com"


def test_sigterm_mid_cycle_finishes_the_cycle_and_exits_zero(tmp_path: Path) -> None:
    """SIGTERM during a cycle lets it finish: exit 0, every customer in exactly one tab.

    The cycle is held inside its backup-before-removal (the upload of the Drive copy to a
    sandbox) until the daemon has logged that it is stopping, so the signal always lands
    mid-cycle, whatever the machine's speed.
    """
    book, config = write_ledger(tmp_path, rows=ROWS, lost_every=3, every="1h")
    port = free_port()
    uploading, release = threading.Event(), threading.Event()

    def hold_first_upload(entry: LoggedRequest) -> None:
        if entry.path.startswith("/upload/drive/") and not uploading.is_set():
            uploading.set()
            release.wait(60)

    with SandboxServer() as sandbox:
        credentials = sandbox.write_credentials(tmp_path / "sa.json", EMAIL)
        drive_id = sandbox.create_folder("backups", "admin@example.com", shared_drive=True)
        sandbox.share_file(drive_id, EMAIL, "fileOrganizer")
        sandbox.add_hook(hold_first_upload)
        env = {
            **os.environ,
            "SYNCER_STATE_URL": f"sqlite:///{tmp_path / 'state.db'}",
            "SYNCER_BACKUP_DIR": str(tmp_path / "backups"),
            "SYNCER_CONFIG_PATH": str(config),
            "SYNCER_LOG_FORMAT": "json",
            "SYNCER_HTTP_PORT": str(port),
            "SYNCER_BACKUP_CRON": "",
            "SYNCER_CREDENTIALS_PATH": str(credentials),
            "SYNCER_GOOGLE_API_BASE": sandbox.url,
            "SYNCER_BACKUP_DRIVE_FOLDER": drive_id,
        }
        daemon = Daemon(env)
        try:
            daemon.wait_for_event("daemon.cycle_started")
            assert uploading.wait(60), "the cycle never uploaded its backup to Drive"
            daemon.process.send_signal(signal.SIGTERM)
            daemon.wait_for_event("daemon.stopping")
            release.set()
            code = daemon.process.wait(120)
        finally:
            release.set()
            daemon.kill()
        copies = sandbox.files_in(drive_id)
    names = daemon.names()
    assert code == 0, names
    # The stop was seen while the cycle ran, and the cycle still finished before exit.
    assert names.index("daemon.cycle_started") < names.index("daemon.stopping")
    assert names.index("daemon.stopping") < names.index("cycle.finished")
    assert names.index("backup.drive_copied") < names.index("cycle.finished")
    [finished] = [e for e in daemon.events if e.get("event") == "cycle.finished"]
    assert finished["outcome"] == "ok"
    assert names[-1] == "daemon.exit"
    assert len(copies) == 2  # the snapshot and its manifest
    keys = read_keys(book)
    main, history = keys["客户信息"], keys.get("客户历史库", [])
    assert sorted(main + history) == sorted(f"XS{2024000 + i}" for i in range(1, ROWS + 1))
    assert not set(main) & set(history)
    assert len(history) == ROWS // 3
    assert get_quiet(f"http://127.0.0.1:{port}/healthz") is None


def test_port_in_use_exits_non_zero_with_a_clear_error(tmp_path: Path) -> None:
    """`syncer run` on a taken port exits 1 and says which port and what to change."""
    import socket

    _book, config = write_ledger(tmp_path, rows=3)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        env = {
            **os.environ,
            "SYNCER_STATE_URL": f"sqlite:///{tmp_path / 'state.db'}",
            "SYNCER_CONFIG_PATH": str(config),
            "SYNCER_LOG_FORMAT": "json",
            "SYNCER_HTTP_PORT": str(port),
        }
        result = subprocess.run(
            [sys.executable, "-m", "syncer", "run"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert "already in use" in result.stderr
    assert "SYNCER_HTTP_PORT" in result.stderr
    assert "daemon.cycle_started" not in result.stderr


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="POSIX signal")
def test_sighup_reloads_and_bad_file_keeps_running(tmp_path: Path) -> None:
    """SIGHUP re-reads ledger files; a broken file is logged and the daemon keeps serving."""
    _book, config = write_ledger(tmp_path, rows=3, lost_every=0)
    port = free_port()
    env = {
        **os.environ,
        "SYNCER_STATE_URL": f"sqlite:///{tmp_path / 'state.db'}",
        "SYNCER_BACKUP_DIR": str(tmp_path / "backups"),
        "SYNCER_CONFIG_PATH": str(config),
        "SYNCER_LOG_FORMAT": "json",
        "SYNCER_HTTP_PORT": str(port),
    }
    daemon = Daemon(env)
    try:
        daemon.wait_for_event("daemon.started")
        deadline = time.monotonic() + 60
        while get_quiet(f"http://127.0.0.1:{port}/readyz") != 200:
            assert time.monotonic() < deadline, "daemon never became ready"
            time.sleep(0.1)
        ledger_file = config / "shop.yaml"
        ledger_file.write_text(ledger_file.read_text() + "unknown_key: 1\n", encoding="utf-8")
        daemon.process.send_signal(signal.SIGHUP)
        failure = daemon.wait_for_event("daemon.reload_failed")
        assert any("unknown_key" in p for p in failure["problems"])  # type: ignore[union-attr]
        assert daemon.process.poll() is None
        assert get_quiet(f"http://127.0.0.1:{port}/healthz") == 200
        assert get_quiet(f"http://127.0.0.1:{port}/readyz") == 200
        daemon.process.send_signal(signal.SIGTERM)
        assert daemon.process.wait(60) == 0
    finally:
        daemon.kill()


class Daemon:
    """`syncer run` in a subprocess, its JSON log events collected as they come."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "syncer", "run"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.events: list[dict[str, object]] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._pump, daemon=True)
        self._reader.start()

    def _pump(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            with self._changed:
                self.events.append(event)
                self._changed.notify_all()

    def wait_for_event(self, name: str, timeout: float = 60) -> dict[str, object]:
        """The first logged event called ``name``; fail if it does not come."""
        with self._changed:
            found = self._changed.wait_for(
                lambda: any(e.get("event") == name for e in self.events)
                or self.process.poll() is not None,
                timeout,
            )
            matches = [e for e in self.events if e.get("event") == name]
        if not (found and matches):
            pytest.fail(f"no {name} event; got {[e.get('event') for e in self.events]}")
        return matches[0]

    def names(self) -> list[object]:
        """Event names logged so far."""
        with self._changed:
            return [e.get("event") for e in self.events]

    def kill(self) -> None:
        """Kill the process if still running and stop reading."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self._reader.join(10)
