"""Kill drills: `syncer run --once` as a real process, SIGKILLed at every point of its
write path, then a fresh run must leave every customer in exactly one tab, with every
earlier human edit intact and the recovery logged."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from syncer.sandbox import SandboxServer
from syncer.sandbox.requestlog import LoggedRequest

EMAIL = "syncer@sandbox.iam.gserviceaccount.com"
PERSON = "person@team.iam.gserviceaccount.com"
HEADER = ["id", "name", "phone", "status", "comment", "changed", "note"]
#: Customers (a third are archived: enough history rows that the archive needs several
#: write chunks at the small batch size below; a request larger than the batch size is
#: cut by rows, so 30 kB keeps the drill at ~18 kill points, 10 kB would make ~50).
CUSTOMERS, BATCH_BYTES = 1300, 30_000
#: ``SYNCER_KILL_DRILLS=N`` (the long version): N kills at points drawn at random
#: (seeded) instead of one kill per point.
DRILLS = int(os.environ.get("SYNCER_KILL_DRILLS", "0"))

LEDGER = """name: k
source: {{connector: google, spreadsheet: "{sid}"}}
tabs: {{main: Main, history: Archive, errors: Errors}}  # Excel reserves "History"
key: id
locale: en
timezone: UTC
annotation_column: note
columns:
  id: {{type: text, unique: true}}
  name: {{type: text, required: true}}
  phone: {{type: phone, required: true}}
  status: {{type: choice, values: [active, paused, lost], required: true}}
  comment: {{type: text}}
  changed: {{type: datetime}}
rules:
  - {{kind: stamp_on_change, watch: [status], target: changed}}
  - {{kind: archive, when: {{column: status, op: equals, value: lost}}}}
"""


def seed_rows() -> list[list[Any]]:
    """Header plus customers; ids C0001…; a third are lost, every seventh lacks a phone."""
    rows: list[list[Any]] = [list(HEADER)]
    for i in range(1, CUSTOMERS + 1):
        status = "lost" if i % 3 == 0 else "active"
        phone: Any = None if i % 7 == 0 else 13800000000 + i
        rows.append([f"C{i:04d}", f"customer {i}", phone, status, f"call back {i} " * 4])
    return rows


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    """A sandbox of this module's own, in this process (its hooks see every request)."""
    with SandboxServer() as server:
        yield server


def env_for(server: SandboxServer, tmp: Path, creds: Path) -> dict[str, str]:
    """The subprocess environment: the sandbox, small write chunks, a private state."""
    return {
        **os.environ,
        "SYNCER_LOG_FORMAT": "json",
        "SYNCER_CREDENTIALS_PATH": str(creds),
        "SYNCER_GOOGLE_API_BASE": server.url,
        "SYNCER_GOOGLE_MAX_BATCH_BYTES": str(BATCH_BYTES),
        "SYNCER_GOOGLE_WRITES_PER_MINUTE": "6000",
        "SYNCER_GOOGLE_READS_PER_MINUTE": "6000",
        "SYNCER_STATE_URL": f"sqlite:///{tmp}/state.db",
        "SYNCER_BACKUP_DIR": str(tmp / "backups"),
    }


def start(ledger: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    """`syncer run --once` on ``ledger`` as a child process."""
    return subprocess.Popen(
        [sys.executable, "-m", "syncer", "run", "--once", "--config", str(ledger)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def sheets_calls(log: list[LoggedRequest], sid: str) -> list[LoggedRequest]:
    """The Sheets API requests to ``sid``, in order."""
    return [r for r in log if r.api == "sheets" and r.spreadsheet_id == sid]


def census(server: SandboxServer, sid: str) -> Counter[str]:
    """How many rows hold each key, over Main and Archive."""
    found: Counter[str] = Counter()
    for tab in ("Main", "Archive"):
        if tab in server.tabs(sid):
            found.update(str(r[0]) for r in server.values(sid, tab)[1:] if r and r[0])
    return found


def where(server: SandboxServer, sid: str, key: str) -> list[Any]:
    """The row holding ``key`` (from Main or Archive)."""
    for tab in ("Main", "Archive"):
        if tab in server.tabs(sid):
            for row in server.values(sid, tab)[1:]:
                if row and row[0] == key:
                    return list(row)
    raise AssertionError(f"{key} is nowhere")


def kill_points(server: SandboxServer, tmp: Path, creds: Path) -> tuple[list[tuple[int, str]], int]:
    """Run the cycle once unharmed; list the points to kill it at (every Sheets call after
    the cycle's read: tab creation, the write lock carrying the guard read, every write
    chunk, the re-location read, the verify read) and the index of the write lock (the
    journal holds the cycle's intent right after its answer)."""
    sid = server.create_spreadsheet("probe", "owner@example.com", {"Main": seed_rows()})
    server.share(sid, EMAIL, "writer")
    ledger = tmp / "probe.yaml"
    ledger.write_text(LEDGER.format(sid=sid), encoding="utf-8")
    server.clear_log()
    locked: list[int] = []  # how many Sheets calls had been made when Main got its lock

    def find_lock(req: LoggedRequest) -> None:
        mine = req.spreadsheet_id == sid and req.api == "sheets"
        if mine and not locked and server.protected_ranges(sid, "Main"):
            locked.append(len(sheets_calls(server.request_log, sid)))

    server.add_hook(find_lock)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "syncer", "run", "--once", "--config", str(ledger)],
            env=env_for(server, tmp / "probe", creds),
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
    finally:
        server.remove_hook(find_lock)
    assert done.returncode == 0, done.stderr[-3000:]
    calls = sheets_calls(server.request_log, sid)
    first_read = next(i for i, r in enumerate(calls) if r.path.endswith("values:batchGet"))
    points = [(i, f"{r.method} {r.path.rsplit('/', 1)[-1]}") for i, r in enumerate(calls)]
    assert locked, points
    lock = locked[0] - 1
    chunks = [p for p in points if p[0] > lock and calls[p[0]].kind == "write"]
    assert len(chunks) >= 3, points  # the archive is written in several chunks
    return [p for p in points if p[0] > first_read], lock


class Killer:
    """A sandbox hook SIGKILLing the child right after the sandbox applied the ``index``-th
    (0-based) Sheets call to ``sid`` (hooks run after a request is handled, before its
    answer is sent)."""

    def __init__(self, sid: str, index: int, child: list[subprocess.Popen[str]]) -> None:
        self.sid, self.index, self.child, self.seen = sid, index, child, 0

    def __call__(self, req: LoggedRequest) -> None:
        if req.api != "sheets" or req.spreadsheet_id != self.sid:
            return
        self.seen += 1
        if self.seen == self.index + 1 and self.child:
            os.kill(self.child[0].pid, signal.SIGKILL)


def test_a_kill_at_any_point_of_the_write_path_converges(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    """For each kill point: customers seen before are each in exactly one tab after one
    fresh run, none lost or doubled, earlier and later human edits kept, no write lock
    left (an editor can edit again), and a kill after the first write is found and
    recovered (logged) by the fresh run."""
    creds = sandbox.write_credentials(tmp_path / "sa.json", EMAIL)
    points, lock = kill_points(sandbox, tmp_path, creds)
    if DRILLS:
        draw = random.Random(2026)
        points = [draw.choice(points) for _ in range(DRILLS)]
    for drill, (index, what) in enumerate(points):
        tmp = tmp_path / f"kill{drill}"
        tmp.mkdir()
        sid = sandbox.create_spreadsheet("ledger", "owner@example.com", {"Main": seed_rows()})
        sandbox.share(sid, EMAIL, "writer")
        sandbox.share(sid, PERSON, "writer")
        # Human edits before the run: a comment on a customer staying, one being archived.
        sandbox.set_values(sid, "Main", "E3", [["edited before: stays"]])
        sandbox.set_values(sid, "Main", "E4", [["edited before: archived"]])
        ledger = tmp / "ledger.yaml"
        ledger.write_text(LEDGER.format(sid=sid), encoding="utf-8")
        env = env_for(sandbox, tmp, creds)
        child: list[subprocess.Popen[str]] = []
        hook = Killer(sid, index, child)
        sandbox.add_hook(hook)
        try:
            child.append(start(ledger, env))
            child[0].communicate(timeout=180)
        finally:
            sandbox.remove_hook(hook)
        assert child[0].returncode == -signal.SIGKILL, f"not killed at {index} ({what})"
        killed_after_write = index > lock
        # A person edits a lost customer's comment between the crash and the restart.
        late = "C0006"
        row = next(
            (i for i, r in enumerate(sandbox.values(sid, "Main"), 1) if r and r[0] == late), None
        )
        if row is not None:
            sandbox.set_values(sid, "Main", f"E{row}", [["edited after the crash"]])
        done = subprocess.run(
            [sys.executable, "-m", "syncer", "run", "--once", "--config", str(ledger)],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        found = census(sandbox, sid)
        assert set(found) == {f"C{i:04d}" for i in range(1, CUSTOMERS + 1)}, what
        doubled = sorted(k for k, n in found.items() if n > 1)
        assert doubled == [], f"killed at {index} ({what}): in two places: {doubled[:5]}"
        assert where(sandbox, sid, "C0002")[4] == "edited before: stays"
        assert where(sandbox, sid, "C0003")[4] == "edited before: archived"
        if row is not None:
            assert where(sandbox, sid, late)[4] == "edited after the crash"
        events = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
        names = {e["event"] for e in events}
        for tab in ("Main", "Archive"):
            assert sandbox.protected_ranges(sid, tab) == [], f"killed at {index} ({what})"
        sandbox.set_values(sid, "Main", "E2", [["an editor after the run"]], user=PERSON)
        if killed_after_write:
            assert "cycle.interrupted_found" in names, f"killed at {index} ({what})"
            assert "cycle.recovered" in names, f"killed at {index} ({what})"


def xlsx_rows(path: Path, tab: str) -> list[list[Any]]:
    """A tab's values."""
    wb = openpyxl.load_workbook(path)
    if tab not in wb.sheetnames:
        return []
    return [list(r) for r in wb[tab].iter_rows(values_only=True)]


def test_a_kill_during_the_workbook_replace_loses_nothing(tmp_path: Path) -> None:
    """SIGKILL while the xlsx connector writes its temporary file: the workbook is the old
    one or the new one, never torn, and a fresh run archives every lost customer once."""
    book = tmp_path / "ledger.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Main"
    for row in seed_rows():
        ws.append(row)
    wb.save(book)
    ledger = tmp_path / "ledger.yaml"
    google = 'source: {connector: google, spreadsheet: "x"}'
    text = LEDGER.format(sid="x").replace(google, f"source: {{connector: xlsx, path: {book}}}")
    ledger.write_text(text, encoding="utf-8")
    env = {
        **os.environ,
        "SYNCER_STATE_URL": f"sqlite:///{tmp_path}/state.db",
        "SYNCER_BACKUP_DIR": str(tmp_path / "backups"),
        "SYNCER_LOG_FORMAT": "json",
    }
    child = start(ledger, env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and child.poll() is None:
        if any(p.name.endswith(".syncer-tmp") for p in tmp_path.iterdir()):
            child.send_signal(signal.SIGKILL)
            break
        time.sleep(0.002)
    child.communicate(timeout=60)
    main = xlsx_rows(book, "Main")
    assert len(main) - 1 in (CUSTOMERS, CUSTOMERS - CUSTOMERS // 3)  # old or new, whole
    done = subprocess.run(
        [sys.executable, "-m", "syncer", "run", "--once", "--config", str(ledger)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    keys = Counter(
        str(r[0]) for tab in ("Main", "Archive") for r in xlsx_rows(book, tab)[1:] if r and r[0]
    )
    assert set(keys) == {f"C{i:04d}" for i in range(1, CUSTOMERS + 1)}
    assert max(keys.values()) == 1
    assert len(xlsx_rows(book, "Main")) - 1 == CUSTOMERS - CUSTOMERS // 3
