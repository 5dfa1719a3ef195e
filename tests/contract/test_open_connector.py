"""open_connector builds the connector a ledger's source names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from syncer.connectors import open_connector
from syncer.connectors.memory import MemoryConnector
from syncer.connectors.xlsx import XlsxConnector
from syncer.ledger import LedgerConfig
from syncer.settings import Settings


def ledger(source: dict[str, Any]) -> LedgerConfig:
    """A minimal ledger with ``source``."""
    return LedgerConfig.model_validate(
        {"name": "t", "source": source, "tabs": {"main": "m"}, "key": "k", "columns": {}}
    )


def test_xlsx_source_gives_an_xlsx_connector(tmp_path: Path) -> None:
    """An xlsx source opens an XlsxConnector on its path."""
    conn = open_connector(
        ledger({"connector": "xlsx", "path": str(tmp_path / "a.xlsx")}), Settings()
    )
    assert isinstance(conn, XlsxConnector)
    assert conn.path == tmp_path / "a.xlsx"


def test_memory_source_gives_a_memory_connector() -> None:
    """A memory source opens an empty MemoryConnector with its name."""
    conn = open_connector(ledger({"connector": "memory", "name": "demo"}), Settings())
    assert isinstance(conn, MemoryConnector)
    assert conn.name == "demo"
    assert conn.workbook == {}
