"""Several people edit the ledger while `syncer run` (the daemon) works on it.

Three editors, each a separate service account with its own key, credentials and API
client, edit the sandbox spreadsheet for a bounded time with seeded randomness: status
changes (including 流失-style `lost`, which the daemon archives), follow-up comments,
phone fixes, new customers appended or inserted mid-tab, deleted customers and sorts.
Each editor looks at the sheet through its own API client, then makes its edit *by row
identity* — find the customer's row and change it as one step, as a person editing in
the Sheets UI does (Google keeps a person's edit on the row they meant when rows move;
the sandbox's direct edits under its lock stand in for that).

The people are editors, not the spreadsheet's owner: while syncer holds its write lock
(docs/google.md, "The write lock") Sheets refuses their edits, as the Sheets UI does; a
person whose edit was refused makes it again a moment later, and only edits that landed
count as made.

The final read must show every customer exactly once (in the main or the history tab)
except those a person deleted, and every value a person wrote last still there (the
rules here — a status-change stamp and the archive — never change a person's column):
lost edits = 0, customers lost, revived or doubled = 0. The daemon must stop cleanly on
SIGTERM.

``SYNCER_SOAK_SECONDS`` (default 12) and ``SYNCER_SOAK_RUNS`` (default 1) make the long
version: see docs/reliability.md for the figures.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from syncer.connectors.google.auth import open_session
from syncer.sandbox import ProtectedEdit, SandboxServer

SECONDS = float(os.environ.get("SYNCER_SOAK_SECONDS", "12"))
RUNS = int(os.environ.get("SYNCER_SOAK_RUNS", "1"))
EDITORS = 3
HEADER = ["id", "name", "phone", "status", "comment", "changed", "note"]
COL = {name: i for i, name in enumerate(HEADER)}
SHEETS = "https://sheets.googleapis.com/v4/spreadsheets"
ROBOT = "syncer@sandbox.iam.gserviceaccount.com"


def email_of(n: int) -> str:
    """Editor ``n``'s account (a writer, not the owner)."""
    return f"person{n}@team.iam.gserviceaccount.com"


LEDGER = """name: team
source: {{connector: google, spreadsheet: "{sid}"}}
tabs: {{main: Main, history: History, errors: Errors}}
key: id
locale: en
timezone: UTC
schedule: {{every: 1s}}
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


@dataclass
class Truth:
    """What the people did: the last value each wrote per (key, column), the customers
    they created and deleted, and how many edits landed."""

    values: dict[tuple[str, str], Any] = field(default_factory=dict)
    created: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)
    edits: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wrote(self, key: str, column: str, value: Any) -> None:
        """Record a person's value (call under the sandbox lock, as the edit applies)."""
        with self.lock:
            self.values[(key, column)] = value


class Editor(threading.Thread):
    """One person: their own credentials and API client, their own random stream."""

    def __init__(
        self, n: int, server: SandboxServer, sid: str, creds: Path, truth: Truth, stop: float
    ) -> None:
        super().__init__(name=f"editor-{n}", daemon=True)
        self.n, self.server, self.sid, self.truth, self.stop_at = n, server, sid, truth, stop
        self.rng = random.Random(1000 + n)
        self.email = email_of(n)
        self.auth = open_session(creds, server.url)
        self.errors: list[BaseException] = []
        #: edits Sheets refused (syncer's write lock held), each made again after
        self.refused = 0

    def look(self) -> list[str]:
        """The customers this person sees in the main tab (their own API read; an
        injected 429 or 5xx answer shows them nothing this time)."""
        answer = self.auth.session.get(f"{SHEETS}/{self.sid}/values/Main!A2:A", timeout=30)
        if answer.status_code != 200:
            return []
        return [r[0] for r in answer.json().get("values", []) if r and r[0]]

    def run(self) -> None:
        count = 0
        try:
            while time.monotonic() < self.stop_at:
                seen = self.look()
                self.act(seen, count)
                count += 1
                time.sleep(self.rng.uniform(0.05, 0.25))
        except BaseException as exc:  # reported by the test
            self.errors.append(exc)

    def act(self, seen: list[str], count: int) -> None:
        """One edit; refused under syncer's write lock, the person tries again shortly."""
        for _ in range(20):
            try:
                self.act_once(seen, count)
                return
            except ProtectedEdit:
                self.refused += 1
                time.sleep(self.rng.uniform(0.05, 0.2))

    def act_once(self, seen: list[str], count: int) -> None:
        kind = self.rng.choices(
            ["status", "comment", "phone", "append", "insert", "delete", "sort"],
            weights=[30, 30, 15, 8, 8, 5, 4],
        )[0]
        if kind in ("append", "insert"):
            key = f"N{self.n}{count:04d}"
            row = [key, f"new {key}", 13900000000 + self.rng.randrange(10**6), "active", ""]
            self.create(key, row, at_end=kind == "append")
        elif kind == "sort":
            column, ascending = self.rng.choice([0, 1]), self.rng.random() < 0.5
            with self.server.atomically():
                self.server.sort_tab(self.sid, "Main", column, 1, ascending, user=self.email)
        elif seen:
            key = self.rng.choice(seen)
            if kind == "delete":
                self.delete(key)
            else:
                column = kind
                value: Any = {
                    "status": lambda: self.rng.choice(["active", "paused", "paused", "lost"]),
                    "comment": lambda: f"follow-up by {self.n} #{count}",
                    "phone": lambda: 13700000000 + self.rng.randrange(10**6),
                }[kind]()
                self.edit(key, column, value)

    def _row_of(self, key: str) -> int | None:
        for i, row in enumerate(self.server.values(self.sid, "Main"), start=1):
            if i > 1 and row and row[0] == key:
                return i
        return None

    def edit(self, key: str, column: str, value: Any) -> None:
        with self.server.atomically():
            row = self._row_of(key)
            if row is None:
                return  # archived or deleted meanwhile: the person sees it gone
            letter = "ABCDEFG"[COL[column]]
            self.server.set_values(self.sid, "Main", f"{letter}{row}", [[value]], user=self.email)
            self.truth.wrote(key, column, value)
            with self.truth.lock:
                self.truth.edits += 1

    def create(self, key: str, row: list[Any], *, at_end: bool) -> None:
        with self.server.atomically():
            grid = self.server.values(self.sid, "Main")
            last = max((i for i, r in enumerate(grid, 1) if any(v not in (None, "") for v in r)))
            at = last + 1 if at_end else self.rng.randint(2, last + 1)
            self.server.insert_rows(self.sid, "Main", at, user=self.email)
            self.server.set_values(self.sid, "Main", f"A{at}", [row], user=self.email)
            for column, value in zip(HEADER, row, strict=False):
                if value != "":
                    self.truth.wrote(key, column, value)
            with self.truth.lock:
                self.truth.created.add(key)
                self.truth.edits += 1

    def delete(self, key: str) -> None:
        with self.server.atomically():
            row = self._row_of(key)
            if row is None:
                return
            self.server.delete_rows(self.sid, "Main", row, user=self.email)
            with self.truth.lock:
                self.truth.deleted.add(key)
                self.truth.edits += 1


def seed() -> list[list[Any]]:
    """Forty customers, a few already lost, a few without a phone."""
    rows: list[list[Any]] = [list(HEADER)]
    for i in range(1, 41):
        phone: Any = None if i % 9 == 0 else 13800000000 + i
        status = "lost" if i % 10 == 0 else "active"
        rows.append([f"C{i:03d}", f"customer {i}", phone, status, ""])
    return rows


def final_rows(server: SandboxServer, sid: str) -> dict[str, list[list[Any]]]:
    """Every row holding each key, over Main and History (History by its header)."""
    found: dict[str, list[list[Any]]] = {}
    for tab in ("Main", "History"):
        if tab not in server.tabs(sid):
            continue
        grid = server.values(sid, tab)
        header = [str(h) for h in grid[0]] if grid else []
        for row in grid[1:]:
            if row and row[0]:
                named = dict(zip(header, row, strict=False))
                found.setdefault(str(row[0]), []).append([named.get(c) for c in HEADER])
    return found


@pytest.mark.slow
@pytest.mark.parametrize("faults", [False, True], ids=["clean", "with-429-5xx-latency"])
def test_no_edit_and_no_customer_is_lost_while_people_edit(
    tmp_path: Path, faults: bool
) -> None:
    """Editors and the daemon at once: each customer exactly once, every last human value
    present, 0 lost edits, a clean SIGTERM — with and without injected faults."""
    for run in range(RUNS):
        tmp = tmp_path / f"run{run}"
        tmp.mkdir()
        with SandboxServer() as server:
            sid = server.create_spreadsheet("team ledger", "owner@example.com", {"Main": seed()})
            robot = server.write_credentials(tmp / "robot.json", ROBOT)
            server.share(sid, ROBOT, "writer")
            people = []
            for n in range(EDITORS):
                email = email_of(n)
                people.append(server.write_credentials(tmp / f"person{n}.json", email))
                server.share(sid, email, "writer")
            if faults:
                server.inject(429, probability=0.05, seed=run, api="sheets")
                server.inject(503, probability=0.03, seed=run + 1, api="sheets")
                server.inject(0, probability=0.1, seed=run + 2, latency=0.2, api="sheets")
            ledger = tmp / "team.yaml"
            ledger.write_text(LEDGER.format(sid=sid), encoding="utf-8")
            log = (tmp / "daemon.log").open("w")
            daemon = subprocess.Popen(
                [sys.executable, "-m", "syncer", "run", "--config", str(ledger)],
                env={
                    **os.environ,
                    "SYNCER_LOG_FORMAT": "json",
                    "SYNCER_CREDENTIALS_PATH": str(robot),
                    "SYNCER_GOOGLE_API_BASE": server.url,
                    "SYNCER_GOOGLE_WRITES_PER_MINUTE": "6000",
                    "SYNCER_GOOGLE_READS_PER_MINUTE": "6000",
                    "SYNCER_STATE_URL": f"sqlite:///{tmp}/state.db",
                    "SYNCER_BACKUP_DIR": str(tmp / "backups"),
                    "SYNCER_HTTP_PORT": "0",
                },
                stdout=log,
                stderr=log,
            )
            truth = Truth()
            time.sleep(2)  # the daemon's first cycle
            stop = time.monotonic() + SECONDS
            editors = [Editor(n, server, sid, people[n], truth, stop) for n in range(EDITORS)]
            for editor in editors:
                editor.start()
            for editor in editors:
                editor.join(SECONDS + 60)
            time.sleep(3)  # let the daemon see the last edits
            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(timeout=60) == 0, (tmp / "daemon.log").read_text()[-3000:]
            log.close()
            server.faults.clear()
            found = final_rows(server, sid)
        for editor in editors:
            assert not editor.errors, editor.errors
        everyone = {f"C{i:03d}" for i in range(1, 41)} | truth.created
        expected = everyone - truth.deleted
        doubled = {k: len(v) for k, v in found.items() if len(v) > 1}
        misplaced = sorted(expected - set(found)) + sorted(set(found) - expected)
        lost_edits = [
            (key, column, value, found[key][0][COL[column]])
            for (key, column), value in truth.values.items()
            if key in found and found[key][0][COL[column]] != value
        ]
        events = [
            json.loads(line)
            for line in (tmp / "daemon.log").read_text().splitlines()
            if line.startswith("{")
        ]
        incidents = [e["incident"] for e in events if e["event"] == "cycle.incident"]
        cycles = Counter(e.get("outcome") for e in events if e["event"] == "cycle.finished")
        refused = sum(editor.refused for editor in editors)
        print(
            f"run {run} faults={faults}: {truth.edits} edits ({refused} refused under the"
            f" write lock, made again), cycles {dict(cycles)}, incidents {len(incidents)};"
            f" lost edits {len(lost_edits)}; customers doubled {len(doubled)},"
            f" lost or revived {len(misplaced)}"
            + (f"\n  lost edits: {lost_edits}" if lost_edits else "")
            + (f"\n  customers lost: {sorted(expected - set(found))}" if misplaced else "")
            + (
                "\n  customers a person deleted, still there (key, status):"
                f" {[(k, found[k][0][COL['status']]) for k in sorted(set(found) - expected)]}"
                if misplaced
                else ""
            )
            + (f"\n  incidents: {incidents}" if incidents else "")
        )
        assert doubled == {}, f"run {run}: customers in two places: {doubled}"
        assert misplaced == [], f"run {run}: customers lost or revived: {misplaced}"
        assert lost_edits == [], f"run {run}: {lost_edits}"
        assert cycles["ok"] >= 3, cycles
