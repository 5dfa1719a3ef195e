"""A fleet of ``syncer worker`` processes on the sandbox, for the multi-process test and
the benchmark: ledgers, their spreadsheets, a human editing them, and the workers."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from syncer.sandbox import SandboxServer
from syncer.sandbox.requestlog import LoggedRequest

EMAIL = "syncer-fleet@proj.iam.gserviceaccount.com"
OWNER = "owner@example.com"
HEADER = ["id", "name", "phone", "status", "comment", "changed", "note"]


def ledger_yaml(name: str, spreadsheet: str, every: str) -> str:
    """A ledger file (JSON is YAML) archiving lost customers and stamping status changes."""
    data: dict[str, Any] = {
        "name": name,
        "source": {"connector": "google", "spreadsheet": spreadsheet},
        "tabs": {"main": "Main", "history": "History", "errors": "Errors"},
        "key": "id",
        "locale": "en",
        "timezone": "UTC",
        "annotation_column": "note",
        "schedule": {"every": every},
        "columns": {
            "id": {"type": "text", "unique": True},
            "name": {"type": "text", "required": True},
            "phone": {"type": "phone", "required": True},
            "status": {"type": "choice", "values": ["active", "paused", "lost"]},
            "comment": {"type": "text"},
            "changed": {"type": "datetime"},
        },
        "rules": [
            {"kind": "stamp_on_change", "watch": ["status"], "target": "changed"},
            {"kind": "archive", "when": {"column": "status", "op": "equals", "value": "lost"}},
        ],
    }
    return json.dumps(data, ensure_ascii=False, indent=1)


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Timed:
    """A sandbox request with the wall-clock time it was answered."""

    at: float
    request: LoggedRequest


class HalfArchive:
    """A sandbox hook that, once armed, holds the answer to the first Sheets write after
    which a customer of a ledger is in both its Main and History tabs: an archive whose
    history rows the sandbox applied and whose removals have not been sent yet. The
    worker that sent it waits for that answer, stopped between the two (the test
    SIGKILLs it there), and the write has landed."""

    def __init__(self, fleet: Fleet) -> None:
        self._fleet = fleet
        self._lock = threading.Lock()
        self._gate: threading.Event | None = None
        self.armed = False
        self.held = threading.Event()
        self.ledger: str | None = None
        #: the customers in both tabs when the write was held
        self.both: set[str] = set()

    def __call__(self, entry: LoggedRequest) -> None:
        if entry.api != "sheets" or entry.kind != "write" or entry.status != 200:
            return
        sheets = self._fleet.sheets
        name = {sid: n for n, sid in list(sheets.items())}.get(entry.spreadsheet_id or "")
        with self._lock:
            if not self.armed or self._gate is not None or name is None:
                return
        both = set(self._fleet.tab_keys(name, "Main")) & set(self._fleet.tab_keys(name, "History"))
        if not both:
            return
        with self._lock:
            if not self.armed or self._gate is not None:
                return
            gate = self._gate = threading.Event()
            self.ledger, self.both = name, both
            self.held.set()
        gate.wait(60)

    def arm(self) -> None:
        """Hold the next write that leaves a customer in both tabs."""
        with self._lock:
            self.armed = True

    def let_go(self) -> None:
        """Answer the held write (if any) and hold no other."""
        with self._lock:
            gate, self._gate = self._gate, None
            self.armed = False
        if gate is not None:
            gate.set()


@dataclass
class Fleet:
    """Ledgers on one sandbox, and the worker processes that serve them."""

    root: Path
    sandbox: SandboxServer
    state_url: str
    every: str = "2s"
    rate_per_minute: int = 270
    customers: int = 12
    sheets: dict[str, str] = field(default_factory=dict)  # ledger -> spreadsheet id
    keys: dict[str, set[str]] = field(default_factory=dict)  # ledger -> every key made
    timed: list[Timed] = field(default_factory=list)
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    credentials: Path | None = None
    _pasted: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    #: one human at a time: two pastes at the bottom of one tab must not overwrite
    _editing: threading.Lock = field(default_factory=threading.Lock)

    @property
    def config(self) -> Path:
        return self.root / "ledgers"

    def setup(self, ledgers: int) -> None:
        """Credentials, the request clock hook, and ``ledgers`` ledgers."""
        self.config.mkdir(parents=True, exist_ok=True)
        self.credentials = self.sandbox.write_credentials(self.root / "sa.json", EMAIL)
        self.sandbox.add_hook(self._timed)
        for i in range(ledgers):
            self.add_ledger(f"team{i:03d}")

    def add_ledger(self, name: str) -> None:
        """A spreadsheet of customers shared with the service account, and its file."""
        rows: list[list[Any]] = [list(HEADER)]
        keys = {f"{name}-C{i:03d}" for i in range(1, self.customers + 1)}
        for key in sorted(keys):
            rows.append([key, f"customer {key}", 13800000000 + len(rows), "active", ""])
        sid = self.sandbox.create_spreadsheet(name, OWNER, {"Main": rows, "History": [HEADER]})
        self.sandbox.share(sid, EMAIL, "writer")
        self.sheets[name] = sid
        self.keys[name] = keys
        path = self.config / f"{name}.yaml"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(ledger_yaml(name, sid, self.every), encoding="utf-8")
        tmp.rename(path)  # the workers never see a half-written file

    def _timed(self, entry: LoggedRequest) -> None:
        with self._lock:
            self.timed.append(Timed(time.time(), entry))

    def requests(self) -> list[Timed]:
        """Every request answered so far, with its time."""
        with self._lock:
            return list(self.timed)

    # --- workers ----------------------------------------------------------------------

    def env(self, name: str) -> dict[str, str]:
        assert self.credentials is not None
        return {
            **os.environ,
            "SYNCER_STATE_URL": self.state_url,
            "SYNCER_CONFIG_PATH": str(self.config),
            "SYNCER_CREDENTIALS_PATH": str(self.credentials),
            "SYNCER_GOOGLE_API_BASE": self.sandbox.url,
            "SYNCER_BACKUP_DIR": str(self.root / f"backups-{name}"),
            "SYNCER_LOG_FORMAT": "json",
            "SYNCER_LOG_LEVEL": "INFO",
            "SYNCER_HTTP_PORT": str(self.ports[name]),
            "SYNCER_WORKER_NAME": name,
            "SYNCER_WORKER_HEARTBEAT_SECONDS": "1",
            "SYNCER_WORKER_STALLED_SECONDS": "4",
            "SYNCER_MAX_WORKERS": "4",
            "SYNCER_GOOGLE_READS_PER_MINUTE": str(self.rate_per_minute),
            "SYNCER_GOOGLE_WRITES_PER_MINUTE": str(self.rate_per_minute),
        }

    def start(self, name: str, **extra: str) -> None:
        """Start ``syncer worker`` as ``name`` (its log goes to ``root/name.log``);
        ``extra`` adds or overrides ``SYNCER_*`` variables."""
        self.ports.setdefault(name, free_port())
        log = (self.root / f"{name}.log").open("ab")
        self.workers[name] = subprocess.Popen(
            [sys.executable, "-m", "syncer", "worker"],
            env={**self.env(name), **extra},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def kill(self, name: str) -> None:
        """SIGKILL: the worker dies mid-whatever, no cleanup."""
        process = self.workers[name]
        process.send_signal(signal.SIGKILL)
        process.wait(30)

    def stop_all(self, timeout: float = 120) -> dict[str, int]:
        """SIGTERM every live worker; their exit codes."""
        live = {n: p for n, p in self.workers.items() if p.poll() is None}
        for process in live.values():
            process.send_signal(signal.SIGTERM)
        return {name: process.wait(timeout) for name, process in live.items()}

    def kill_all(self) -> None:
        """Last resort at teardown."""
        for process in self.workers.values():
            if process.poll() is None:
                process.kill()
                process.wait(30)

    def events(self, name: str) -> list[dict[str, Any]]:
        """The JSON log events of a worker (every run of that name)."""
        out: list[dict[str, Any]] = []
        path = self.root / f"{name}.log"
        if not path.exists():
            return out
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return out

    # --- a human at work --------------------------------------------------------------

    def edit_randomly(self, rng: random.Random) -> None:
        """One human edit: a customer of a random ledger changes status or comment, or a
        new customer is added at the bottom."""
        with self._editing:
            self._edit_randomly(rng)

    def _edit_randomly(self, rng: random.Random) -> None:
        name = rng.choice(sorted(self.sheets))
        sid = self.sheets[name]
        grid = self.sandbox.values(sid, "Main")
        choice = rng.random()
        if choice < 0.15 or len(grid) < 3:
            key = f"{name}-N{rng.randrange(10**9):09d}"
            self.keys[name].add(key)
            row = [key, f"customer {key}", 13900000000 + rng.randrange(10**6), "active", ""]
            self.sandbox.set_values(sid, "Main", f"A{len(grid) + 1}", [row])
            return
        index = rng.randrange(1, len(grid))
        if choice < 0.45:
            self.sandbox.set_values(sid, "Main", f"D{index + 1}", [["lost"]])
        elif choice < 0.7:
            self.sandbox.set_values(sid, "Main", f"D{index + 1}", [["paused"]])
        else:
            self.sandbox.set_values(sid, "Main", f"E{index + 1}", [[f"call {rng.random():.6f}"]])

    def paste_lost(self, name: str, count: int = 4, comment_chars: int = 4000) -> list[str]:
        """A human pastes ``count`` customers already lost, each with a long call log, at
        the bottom of Main in one edit: the next cycle archives them all at once, and
        their history rows alone weigh ``count * comment_chars`` bytes or more (a worker
        with a small ``SYNCER_GOOGLE_MAX_BATCH_BYTES`` needs several write calls)."""
        with self._editing:
            return self._paste_lost(name, count, comment_chars)

    def _paste_lost(self, name: str, count: int, comment_chars: int) -> list[str]:
        sid = self.sheets[name]
        grid = self.sandbox.values(sid, "Main")
        keys = [f"{name}-L{self._pasted + i:05d}" for i in range(count)]
        self._pasted += count
        rows: list[list[Any]] = []
        for key in keys:
            line = f"{key}: called back, no answer, will not renew. "
            log = (line * (comment_chars // len(line) + 1))[:comment_chars]
            rows.append([key, f"customer {key}", 13700000000 + len(grid) + len(rows), "lost", log])
        self.keys[name].update(keys)
        self.sandbox.set_values(sid, "Main", f"A{len(grid) + 1}", rows)
        return keys

    def tab_keys(self, name: str, tab: str) -> list[str]:
        """The keys in a tab of a ledger's spreadsheet (header skipped)."""
        grid = self.sandbox.values(self.sheets[name], tab)
        return [str(row[0]) for row in grid[1:] if row and row[0]]
