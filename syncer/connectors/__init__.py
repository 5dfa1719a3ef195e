"""Connectors: the only code that reads and writes ledgers' sources.

:func:`open_connector` builds the connector a ledger's ``source`` names. The Google
connector is imported only when a ledger uses it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from syncer.connectors.base import Connector, TabRequest
from syncer.errors import ConnectorError

if TYPE_CHECKING:
    from syncer.ledger import LedgerConfig
    from syncer.settings import Settings

__all__ = ["Connector", "TabRequest", "open_connector"]


def open_connector(ledger: LedgerConfig, settings: Settings) -> Connector:
    """The connector for ``ledger.source`` (xlsx paths should already be absolute)."""
    source = ledger.source
    if source.connector == "xlsx":
        from syncer.connectors.xlsx import XlsxConnector

        return XlsxConnector(source.path)
    if source.connector == "memory":
        from syncer.connectors.memory import MemoryConnector

        return MemoryConnector(name=source.name)
    if source.connector == "google":
        from syncer.connectors.google import open_google  # imported only when used

        return open_google(ledger, settings)
    raise ConnectorError(f"ledger {ledger.name!r}: unknown connector {source.connector!r}")
