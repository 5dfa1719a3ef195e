"""The single-node path never imports the replicas' queue (procrastinate)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

_PROBE = """
import sys
import syncer.cli.commands, syncer.daemon, syncer.engine, syncer.connectors.google
from syncer.state import StateStore
store = StateStore(sys.argv[1])
store.load("sales")
store.close()
from syncer.cli.app import app
print("procrastinate" in sys.modules, "syncer.distributed.queue" in sys.modules)
"""


def test_single_node_does_not_import_procrastinate(tmp_path: Path) -> None:
    """Loading every command, the daemon, the engine, the Google connector and opening
    a SQLite state (migrating it) imports neither procrastinate nor the queue module."""
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, f"sqlite:///{tmp_path / 'state.db'}"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert result.stdout.split() == ["False", "False"]
