"""The Google Sheets connector, as a package of small modules with one job each.

``connector``     :class:`GoogleSheetsConnector`: read, guard read, write, key read
``transport``     the one HTTP client (auth session, retry policy, rate limiter, metrics,
                  structlog events) used by Sheets and Drive calls alike
``auth``          service-account / ADC credentials and the authorized session
``endpoints``     sending Google API requests to a sandbox (``SYNCER_GOOGLE_API_BASE``)
``builders``      pure request builders (cells, appends, deletions, chunking)
``read``          pure typing of value ranges into :class:`~syncer.model.Table`
``guard_ranges``  pure choice of the ranges a guard read needs
``sheet_setup``   ``syncer sheet setup``: dropdowns, formats, protected robot columns
``drive``         the Drive client backups use
"""

from __future__ import annotations

from syncer.connectors.google.connector import GoogleSheetsConnector, open_google

__all__ = ["GoogleSheetsConnector", "open_google"]
