"""syncer: keeps team spreadsheets honest.

The loop, per ledger: read -> validate -> rules -> plan -> guard -> apply -> record.
Only modules under ``syncer.connectors`` (and the sandbox server) do I/O against sheets.
"""

from __future__ import annotations

__version__ = "0.1.0"
