"""Benchmark: the sandbox serving a 100,000-row x 20-column values.batchGet.

Run: /tmp/venv/bin/python bench/bench_sandbox.py [--rows N] [--cols N] [--runs N]

Prints the median of several runs for views of the same read:
  render   - in-process: resolve + render + JSON-encode (the sandbox's own work)
  http     - one GET over 127.0.0.1 with requests, body received but not parsed
  gspread  - unmodified gspread (values_batch_get) incl. auth, HTTP and JSON parsing,
             with the default FORMATTED_VALUE and with the options syncer's Google
             connector uses (UNFORMATTED_VALUE + dateTimeRenderOption=FORMATTED_STRING)
The grid mixes text (half the columns), integers, booleans and dates.

With ``--batch`` it measures one spreadsheets.batchUpdate instead, of the kind a syncer
cycle sends: ``--updates`` updateCells cells (single-row requests of 4 cells, values and
notes), ``--appends`` rows in appendCells requests of 100 rows, then ``--deletes``
single-row deleteDimension requests on scattered rows, bottom-up:
  server   - in-process batch_update on the stored workbook (the sandbox's own work)
  http     - the same batch POSTed through an authorized session (JSON both ways)
Each run starts from the same seeded workbook, so every run does the same work.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

import gspread
import requests
from google.auth.transport.requests import AuthorizedSession, Request
from google.oauth2.service_account import Credentials

from syncer.connectors.google.endpoints import redirect_session
from syncer.sandbox import SandboxServer
from syncer.sandbox.batch_update import batch_update
from syncer.sandbox.values_api import values_batch_get

SCOPES = ["https://www.googleapis.com/auth/spreadsheets", "https://www.googleapis.com/auth/drive"]
OWNER = "bench@sandbox.iam.gserviceaccount.com"


def ledger_rows(rows: int, cols: int) -> list[list[object]]:
    """A ledger-like grid: a header, then text, numbers and booleans per row."""
    header: list[object] = [f"col{c}" for c in range(cols)]
    body: list[list[object]] = []
    for r in range(rows):
        line: list[object] = []
        for c in range(cols):
            kind = c % 5
            if kind in (0, 2):
                line.append(f"客户{r}-{c}" if kind == 0 else f"note {r % 97}")
            elif kind == 1:
                line.append(r * 10 + c)
            elif kind == 3:
                line.append((r + c) % 3 == 0)
            else:
                line.append(dt.date(2024, 1, 1) + dt.timedelta(days=r % 700))
        body.append(line)
    return [header, *body]


def median_seconds(fn: Callable[[], object], runs: int) -> float:
    """Median wall time of ``runs`` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def batch_requests(
    rows: int, cols: int, updates: int, appends: int, deletes: int, seed: int = 1
) -> list[dict[str, Any]]:
    """updateCells (4 cells per request), appendCells (100 rows each), deleteDimension
    (single scattered rows, bottom-up) on sheet 0 of a ``rows`` x ``cols`` ledger."""
    rng = random.Random(seed)
    requests: list[dict[str, Any]] = []
    for n in range(updates // 4):
        row = rng.randrange(1, rows)
        cells = [
            {"userEnteredValue": {"stringValue": f"fixed {n}.{k}"}, "note": f"syncer {n}"}
            for k in range(4)
        ]
        requests.append({"updateCells": {
            "start": {"sheetId": 0, "rowIndex": row, "columnIndex": rng.randrange(cols - 4)},
            "rows": [{"values": cells}], "fields": "userEnteredValue,note"}})
    for start in range(0, appends, 100):
        block = [
            {"values": [{"userEnteredValue": {"stringValue": f"h{start + i}-{c}"}}
                        if c % 2 else {"userEnteredValue": {"numberValue": start + i}}
                        for c in range(cols)]}
            for i in range(min(100, appends - start))
        ]
        requests.append({"appendCells": {"sheetId": 0, "rows": block,
                                         "fields": "userEnteredValue"}})
    for row in sorted(rng.sample(range(1, rows), deletes), reverse=True):
        requests.append({"deleteDimension": {"range": {
            "sheetId": 0, "dimension": "ROWS", "startIndex": row, "endIndex": row + 1}}})
    return requests


def run_batch(args: argparse.Namespace) -> None:
    """Measure one large spreadsheets.batchUpdate, in-process and over HTTP."""
    requests_ = batch_requests(args.rows, args.cols, args.updates, args.appends, args.deletes)
    body = {"requests": requests_}
    payload = json.dumps(body).encode()
    with SandboxServer() as server:
        sid = server.create_spreadsheet("bench", OWNER, {"Main": ledger_rows(args.rows, args.cols)})
        pristine = server.store.get(sid)
        assert pristine is not None
        creds = Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
            server.service_account(OWNER), scopes=SCOPES
        )
        token_session = requests.Session()
        redirect_session(token_session, server.url)
        session = AuthorizedSession(creds, auth_request=Request(token_session))
        redirect_session(session, server.url)
        url = f"https://sheets.googleapis.com/v4/spreadsheets/{sid}:batchUpdate"

        def in_process() -> int:
            _new, replies = batch_update(pristine, body, server.store.rng)
            return len(replies)

        def over_http() -> int:
            server.store.replace(pristine)  # every run starts from the same workbook
            response = session.post(url, data=payload,
                                    headers={"Content-Type": "application/json"})
            response.raise_for_status()
            return len(response.content)

        rows_after = None

        def check() -> None:
            nonlocal rows_after
            new, _ = batch_update(pristine, body, server.store.rng)
            rows_after = new.sheets[0].row_count

        check()
        results = [
            ("server: batch_update in-process", median_seconds(in_process, args.runs)),
            ("http: POST :batchUpdate (JSON both ways)", median_seconds(over_http, args.runs)),
        ]
    load = os.getloadavg()[0]
    print(
        f"batchUpdate of {len(requests_)} requests ({args.updates} updateCells cells, "
        f"{args.appends} appendCells rows, {args.deletes} deleteDimension rows; "
        f"body {len(payload) / 1e6:.1f} MB) on {args.rows + 1} rows x {args.cols} columns "
        f"(rowCount after: {rows_after}), median of {args.runs} runs, load average "
        f"{load:.1f} on {os.cpu_count()} CPUs"
    )
    print("| measurement | median seconds |")
    print("|---|---|")
    for name, seconds in results:
        print(f"| {name} | {seconds:.3f} |")


def main() -> None:
    """Seed, measure, print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--cols", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--batch", action="store_true", help="measure a large batchUpdate")
    parser.add_argument("--updates", type=int, default=20_000)
    parser.add_argument("--appends", type=int, default=5_000)
    parser.add_argument("--deletes", type=int, default=5_000)
    args = parser.parse_args()
    if args.batch:
        run_batch(args)
        return

    with SandboxServer() as server:
        sid = server.create_spreadsheet("bench", OWNER, {"Main": ledger_rows(args.rows, args.cols)})
        creds = Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
            server.service_account(OWNER), scopes=SCOPES
        )
        token_session = requests.Session()
        redirect_session(token_session, server.url)
        session = AuthorizedSession(creds, auth_request=Request(token_session))
        redirect_session(session, server.url)
        sheet = gspread.Client(auth=creds, session=session).open_by_key(sid)
        workbook = server.store.get(sid)
        assert workbook is not None
        params = {"ranges": ["Main"], "valueRenderOption": ["FORMATTED_VALUE"]}

        def render() -> bytes:
            return json.dumps(
                values_batch_get(workbook, params), ensure_ascii=False, separators=(",", ":")
            ).encode()

        url = f"https://sheets.googleapis.com/v4/spreadsheets/{sid}/values:batchGet"

        def http() -> int:
            response = session.get(url, params={"ranges": "Main"})
            response.raise_for_status()
            return len(response.content)

        def via_gspread() -> int:
            result = sheet.values_batch_get(["Main"])
            return len(result["valueRanges"][0]["values"])

        def via_gspread_typed() -> int:
            result = sheet.values_batch_get(
                ["Main"],
                params={
                    "valueRenderOption": "UNFORMATTED_VALUE",
                    "dateTimeRenderOption": "FORMATTED_STRING",
                },
            )
            return len(result["valueRanges"][0]["values"])

        size = http()
        assert via_gspread() == args.rows + 1
        results = [
            ("render (in-process)", median_seconds(render, args.runs)),
            ("http (requests, unparsed)", median_seconds(http, args.runs)),
            ("gspread values_batch_get (FORMATTED_VALUE)", median_seconds(via_gspread, args.runs)),
            (
                "gspread values_batch_get (UNFORMATTED_VALUE, dates FORMATTED_STRING)",
                median_seconds(via_gspread_typed, args.runs),
            ),
        ]
    load = os.getloadavg()[0]
    print(
        f"{args.rows + 1} rows x {args.cols} columns, response {size / 1e6:.1f} MB, "
        f"median of {args.runs} runs, load average {load:.1f} on {os.cpu_count()} CPUs"
    )
    print("| measurement | median seconds |")
    print("|---|---|")
    for name, seconds in results:
        print(f"| {name} | {seconds:.3f} |")


if __name__ == "__main__":
    main()
