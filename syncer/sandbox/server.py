"""The sandbox HTTP server: a Werkzeug WSGI app on a threaded server, plus direct state access.

Every request is handled under one lock, so the sandbox behaves like a single consistent
backend. Hooks run after a request is handled and before its response is sent, outside the
lock, so they may apply "human edits" through the direct-state methods.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from syncer.sandbox import drive, values_api
from syncer.sandbox import drive_tree_api as tree_api
from syncer.sandbox.a1 import A1Error, parse_cells
from syncer.sandbox.auth import AuthRegistry, TokenError
from syncer.sandbox.batch_update import batch_update
from syncer.sandbox.drive_files import (
    FOLDER_MIME,
    MY_DRIVE_ROOT,
    ROLE_ACCESS,
    DriveFile,
    SharedDrive,
)
from syncer.sandbox.errors import ApiError, bad_request, not_found, permission_denied
from syncer.sandbox.faults import FaultInjector, fault_message
from syncer.sandbox.multipart import parse_upload
from syncer.sandbox.quotas import QuotaConfig, QuotaTracker
from syncer.sandbox.requestlog import Api, Kind, LoggedRequest
from syncer.sandbox.spreadsheets_api import (
    copy_sheet_to,
    spreadsheets_create,
    spreadsheets_get,
)
from syncer.sandbox.state import Sheet, Workbook
from syncer.sandbox.store import SPREADSHEET_MIME, Store
from syncer.sandbox.values import Parsed, from_serial, normalize_number, to_serial
from syncer.sandbox.xlsx import sheets_from_xlsx

_LOG = logging.getLogger(__name__)
DEFAULT_SERVICE_ACCOUNT = "syncer@sandbox.iam.gserviceaccount.com"
JSON_TYPE = "application/json; charset=UTF-8"
LARGE_BODY = 1 << 20  # bytes: requests above this are handled with the cyclic GC paused
WSGIEnviron = dict[str, Any]
StartResponse = Callable[..., Any]


class _Handler(WSGIRequestHandler):
    """Quiet request handler that tracks open connections so stop() can close them."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Do not print one line per request."""

    def setup(self) -> None:
        """Register the connection."""
        super().setup()
        registry: set[socket.socket] = getattr(self.server, "open_connections", set())
        registry.add(self.connection)

    def finish(self) -> None:
        """Forget the connection."""
        registry: set[socket.socket] = getattr(self.server, "open_connections", set())
        registry.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()


def typed_to_parsed(value: Any) -> Parsed:
    """A typed Python value (str/int/float/bool/date/datetime/None) as a stored cell."""
    if value is None or value == "":
        return Parsed(None)
    if isinstance(value, bool):
        return Parsed(value)
    if isinstance(value, dt.datetime):
        fmt = {"type": "DATE_TIME", "pattern": "yyyy-mm-dd hh:mm:ss"}
        return Parsed(to_serial(value.replace(tzinfo=None)), number_format=fmt)
    if isinstance(value, dt.date):
        return Parsed(
            to_serial(dt.datetime.combine(value, dt.time())),
            number_format={"type": "DATE", "pattern": "yyyy-mm-dd"},
        )
    if isinstance(value, int | float):
        return Parsed(normalize_number(value))
    text = str(value)
    if text.startswith("=") and len(text) > 1:
        return Parsed(None, formula=text)
    return Parsed(text)


class SandboxServer:
    """A local Google Sheets v4 / Drive v3 / OAuth2 server for tests and ``syncer sandbox``."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        quotas: QuotaConfig | None = None,
        seed: int = 0,
    ) -> None:
        self.host = host
        self.port = port
        self.url = ""
        self.store = Store(seed)
        self.auth = AuthRegistry()
        self.quotas = QuotaTracker(quotas)
        self.faults = FaultInjector(seed)
        #: Inject a fault (see FaultInjector.inject): e.g. ``inject(503, on_request=2)``.
        self.inject = self.faults.inject
        self.request_log: list[LoggedRequest] = []
        #: Keep only the newest entries (None: all); the standalone command sets a limit.
        self.log_limit: int | None = None
        self.hooks: list[Callable[[LoggedRequest], None]] = []
        #: Exceptions raised by hooks (logged; the request still gets its response).
        self.hook_errors: list[Exception] = []
        self.clock_offset = 0.0
        self._drive_requests: dict[str, str] = {}  # drives.create requestId -> drive id
        self._lock = threading.RLock()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> SandboxServer:
        """Start serving in a background thread; sets ``url``."""
        if self._server is not None:
            return self
        # Bind here so a busy port raises OSError (werkzeug itself would sys.exit).
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((self.host, self.port))
            listener.listen(128)
            server = make_server(
                self.host,
                self.port,
                self._wsgi,
                threaded=True,
                request_handler=_Handler,
                fd=listener.fileno(),
            )
        finally:
            listener.close()  # werkzeug serves on its own duplicate of the descriptor
        server.open_connections = set()  # type: ignore[attr-defined]
        self._server = server
        self.port = int(server.server_address[1])
        self.url = f"http://{self.host}:{self.port}"
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"syncer-sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close open connections and free the port."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        for conn in list(getattr(server, "open_connections", ())):
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (the ``syncer sandbox`` command)."""
        self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(timeout=0.5)
        finally:
            self.stop()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- time, quotas, faults, log, hooks ----------------------------------------------------

    def now(self) -> float:
        """The sandbox clock (wall clock plus ``advance_clock`` offsets)."""
        return time.time() + self.clock_offset

    def advance_clock(self, seconds: float) -> None:
        """Move the sandbox clock forward (quota windows, token expiry)."""
        with self._lock:
            self.clock_offset += seconds

    def set_quotas(self, config: QuotaConfig | None) -> None:
        """Replace the quota configuration and reset the counters (None: off)."""
        with self._lock:
            self.quotas = QuotaTracker(config)

    def expire_tokens(self) -> int:
        """Expire every access token issued so far (clients must refresh); returns how many."""
        with self._lock:
            return self.auth.expire_all(self.now())

    def clear_log(self) -> None:
        """Forget logged requests."""
        with self._lock:
            self.request_log.clear()

    def add_hook(self, fn: Callable[[LoggedRequest], None]) -> None:
        """Call ``fn`` after each request is handled, before its response is sent."""
        with self._lock:
            self.hooks.append(fn)

    def remove_hook(self, fn: Callable[[LoggedRequest], None]) -> None:
        """Stop calling a hook."""
        with self._lock:
            self.hooks.remove(fn)

    # -- credentials --------------------------------------------------------------------

    def service_account(self, email: str = DEFAULT_SERVICE_ACCOUNT) -> dict[str, Any]:
        """A service-account key dict (real RSA key) whose token_uri is this sandbox."""
        if not self.url:
            raise RuntimeError("start the sandbox before asking for credentials (url unknown)")
        with self._lock:
            return self.auth.service_account_info(email, self.url)

    def write_credentials(
        self, path: str | os.PathLike[str], email: str = DEFAULT_SERVICE_ACCOUNT
    ) -> Path:
        """Write a service-account JSON file with owner-only (0600) permissions."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(self.service_account(email), fh, indent=2)
        os.chmod(target, 0o600)
        return target

    # -- direct state access (no HTTP, no quotas; bumps the Drive version) ----------------

    def _workbook(self, spreadsheet_id: str) -> Workbook:
        wb = self.store.get(spreadsheet_id)
        if wb is None:
            raise KeyError(f"no spreadsheet {spreadsheet_id!r} in the sandbox")
        return wb

    def _sheet(self, spreadsheet_id: str, tab: str) -> tuple[Workbook, Sheet]:
        wb = self._workbook(spreadsheet_id)
        sheet = wb.sheet_by_title(tab)
        if sheet is None:
            raise KeyError(f"no tab {tab!r} in spreadsheet {wb.title!r} ({spreadsheet_id})")
        return wb, sheet

    @staticmethod
    def _cell(a1: str) -> tuple[int, int]:
        try:
            bounds = parse_cells(a1)
        except A1Error:
            bounds = None
        if bounds is None or bounds.end_row is None or bounds.end_col is None:
            raise ValueError(f"not an A1 cell reference: {a1!r} (expected e.g. 'B2' or 'B2:D2')")
        return bounds.start_row, bounds.start_col

    def create_spreadsheet(
        self, title: str, owner: str, tabs: dict[str, list[list[Any]]] | None = None
    ) -> str:
        """Create a spreadsheet owned by ``owner``; ``tabs`` maps titles to typed rows."""
        with self._lock:
            sheets: list[Sheet] = []
            wb = self.store.create(title, owner.lower(), self.now())
            for i, (tab, rows) in enumerate((tabs or {"Sheet1": []}).items()):
                sheet = Sheet(0 if i == 0 else self.store.new_sheet_id(wb), tab)
                sheet.row_count = max(sheet.row_count, len(rows))
                sheet.column_count = max(sheet.column_count, max(map(len, rows), default=0))
                self._fill(sheet, 0, 0, rows)
                sheets.append(sheet)
            wb.sheets = sheets
            return wb.spreadsheet_id

    @staticmethod
    def _fill(sheet: Sheet, row: int, col: int, rows: list[list[Any]]) -> None:
        plain = (str, int, float, bool, type(None))
        for i, line in enumerate(rows):
            r = row + i
            fast = (
                col == 0
                and r >= len(sheet.rows)
                and r not in sheet.extras
                and all(
                    v.__class__ in plain and not (v.__class__ is str and (v == "" or v[0] == "="))
                    for v in line
                )
            )
            if fast:
                sheet.rows.extend([] for _ in range(r - len(sheet.rows)))
                sheet.rows.append(
                    [normalize_number(v) if v.__class__ is float else v for v in line]
                )
                continue
            for j, value in enumerate(line):
                sheet.write(r, col + j, typed_to_parsed(value))

    def seed_from_xlsx(
        self,
        path: str | os.PathLike[str],
        owner: str = DEFAULT_SERVICE_ACCOUNT,
        title: str | None = None,
    ) -> str:
        """Create a spreadsheet from an .xlsx workbook (values, formulas, dates, notes).

        The spreadsheet is titled after the file's stem unless ``title`` is given.
        """
        source = Path(path)
        with self._lock:
            wb = self.store.create(title or source.stem, owner.lower(), self.now())
            wb.sheets = sheets_from_xlsx(source, 0, lambda: self.store.new_sheet_id(wb))
            return wb.spreadsheet_id

    def share(
        self, spreadsheet_id: str, email: str, role: Literal["reader", "writer"] = "writer"
    ) -> None:
        """Share a spreadsheet with an email as reader or writer."""
        if role not in ("reader", "writer"):
            raise ValueError(f"role must be 'reader' or 'writer', not {role!r}")
        with self._lock:
            wb = self._workbook(spreadsheet_id)
            wb.permissions[email.lower()] = role
            wb.touch(self.now())

    # -- direct Drive state: folders, shared drives, uploaded files -------------------------

    def create_folder(self, name: str, owner: str, shared_drive: bool = False) -> str:
        """Create a folder in ``owner``'s My Drive, or (``shared_drive=True``) a shared drive
        with ``owner`` as organizer; returns its id, usable as an upload parent."""
        with self._lock:
            now = self.now()
            if shared_drive:
                members = {owner.lower(): "organizer"}
                shared = SharedDrive(self.store.new_drive_id(), name, now, members)
                self.store.tree.drives[shared.drive_id] = shared
                return shared.drive_id
            folder = DriveFile(
                file_id=self.store.new_file_id(),
                name=name,
                mime_type=FOLDER_MIME,
                owner=owner.lower(),
                parents=[MY_DRIVE_ROOT],
                drive_id=None,
                created=now,
                modified=now,
            )
            self.store.tree.files[folder.file_id] = folder
            return folder.file_id

    def share_file(self, file_id: str, email: str, role: str = "writer") -> None:
        """Share a folder, uploaded file, shared drive (adds a member) or spreadsheet.

        Roles: reader, commenter, writer, and for shared drives also fileOrganizer and
        organizer (a spreadsheet takes reader or writer only).
        """
        if role not in ROLE_ACCESS:
            raise ValueError(f"role must be one of {sorted(ROLE_ACCESS)}, not {role!r}")
        with self._lock:
            shared = self.store.tree.drives.get(file_id)
            item = self.store.tree.files.get(file_id)
            if shared is not None:
                shared.members[email.lower()] = role
            elif item is not None:
                if role in ("organizer", "fileOrganizer") and item.drive_id is None:
                    raise ValueError(f"role {role!r} exists only in shared drives")
                item.permissions[email.lower()] = role
                item.touch(self.now())
            elif file_id in self.store.workbooks:
                if role not in ("reader", "writer"):
                    raise ValueError(f"a spreadsheet is shared as reader or writer, not {role!r}")
                self.share(file_id, email, "writer" if role == "writer" else "reader")
            else:
                raise KeyError(f"no file, folder or shared drive {file_id!r} in the sandbox")

    def _tree_item(self, file_id: str) -> DriveFile:
        item = self.store.tree.files.get(file_id)
        if item is None:
            raise KeyError(f"no uploaded file or folder {file_id!r} in the sandbox")
        return item

    def file_content(self, file_id: str) -> bytes:
        """The bytes of an uploaded file."""
        with self._lock:
            return self._tree_item(file_id).content

    def files_in(self, folder_id: str) -> list[dict[str, Any]]:
        """Folders and uploaded files directly inside a folder or shared drive, oldest first:
        ``{"id", "name", "mimeType", "size", "parents", "driveId", "owner", "version"}``."""
        with self._lock:
            if folder_id not in self.store.tree.drives:
                self._tree_item(folder_id)
            return [
                {
                    "id": f.file_id,
                    "name": f.name,
                    "mimeType": f.mime_type,
                    "size": len(f.content),
                    "parents": list(f.parents),
                    "driveId": f.drive_id,
                    "owner": f.owner,
                    "version": f.version,
                }
                for f in self.store.tree.children(folder_id)
            ]

    def spreadsheet_ids(self) -> list[str]:
        """Ids of every spreadsheet in the sandbox."""
        with self._lock:
            return list(self.store.workbooks)

    def drive_version(self, spreadsheet_id: str) -> int:
        """The Drive ``version`` of a spreadsheet."""
        with self._lock:
            return self._workbook(spreadsheet_id).version

    def tabs(self, spreadsheet_id: str) -> list[str]:
        """Tab titles in order."""
        with self._lock:
            return [s.title for s in self._workbook(spreadsheet_id).sheets]

    def values(self, spreadsheet_id: str, tab: str) -> list[list[Any]]:
        """The typed grid, trimmed: dates as date/datetime, formulas as their text."""
        with self._lock:
            _, sheet = self._sheet(spreadsheet_id, tab)
            grid: list[list[Any]] = [list(r) for r in sheet.typed()]
            for r, cols in sheet.extras.items():
                for c, ex in cols.items():
                    nf = (ex.format or {}).get("numberFormat")
                    if (
                        r < len(grid)
                        and c < len(grid[r])
                        and ex.formula is None
                        and nf
                        and nf.get("type") in ("DATE", "DATE_TIME")
                    ):
                        value = grid[r][c]
                        if isinstance(value, int | float) and not isinstance(value, bool):
                            moment = from_serial(value)
                            grid[r][c] = moment.date() if nf["type"] == "DATE" else moment
            return grid

    def set_values(self, spreadsheet_id: str, tab: str, a1: str, rows: list[list[Any]]) -> None:
        """A human edit: typed rows written from the top-left of ``a1`` ("B2" or "B2:D2")."""
        row, col = self._cell(a1)
        with self._lock:
            wb, sheet = self._sheet(spreadsheet_id, tab)
            height = row + len(rows)
            width = col + max(map(len, rows), default=0)
            if height > sheet.row_count or width > sheet.column_count:
                raise ValueError(
                    f"{tab}!{a1}: {len(rows)} rows do not fit the grid of "
                    f"{sheet.row_count} x {sheet.column_count}; insert rows first"
                )
            self._fill(sheet, row, col, rows)
            wb.touch(self.now())

    def set_note(self, spreadsheet_id: str, tab: str, a1: str, note: str | None) -> None:
        """A human edit: set or clear a cell's note."""
        row, col = self._cell(a1)
        with self._lock:
            wb, sheet = self._sheet(spreadsheet_id, tab)
            sheet.set_note(row, col, note)
            wb.touch(self.now())

    def insert_rows(self, spreadsheet_id: str, tab: str, at_row: int, count: int = 1) -> None:
        """A human edit: insert ``count`` empty rows before 1-based row ``at_row``."""
        with self._lock:
            wb, sheet = self._sheet(spreadsheet_id, tab)
            if not 1 <= at_row <= sheet.row_count + 1 or count < 1:
                raise ValueError(f"cannot insert {count} rows at row {at_row} of {tab}")
            sheet.insert_rows(at_row - 1, count)
            wb.touch(self.now())

    def delete_rows(self, spreadsheet_id: str, tab: str, at_row: int, count: int = 1) -> None:
        """A human edit: delete ``count`` rows starting at 1-based row ``at_row``."""
        with self._lock:
            wb, sheet = self._sheet(spreadsheet_id, tab)
            if not at_row >= 1 or at_row - 1 + count > sheet.row_count or count < 1:
                raise ValueError(f"cannot delete {count} rows at row {at_row} of {tab}")
            sheet.delete_rows(at_row - 1, at_row - 1 + count)
            wb.touch(self.now())

    def rename_tab(self, spreadsheet_id: str, tab: str, new_title: str) -> None:
        """A human edit: rename a tab."""
        with self._lock:
            wb, sheet = self._sheet(spreadsheet_id, tab)
            clash = wb.sheet_by_title(new_title)
            if clash is not None and clash is not sheet:
                raise ValueError(f"a tab named {new_title!r} already exists")
            sheet.title = new_title
            wb.touch(self.now())

    def delete_tab(self, spreadsheet_id: str, tab: str) -> None:
        """A human edit: delete a tab (not the last one)."""
        with self._lock:
            wb, sheet = self._sheet(spreadsheet_id, tab)
            if len(wb.sheets) == 1:
                raise ValueError("cannot delete the last tab of a spreadsheet")
            wb.sheets.remove(sheet)
            wb.touch(self.now())

    def sort_tab(
        self,
        spreadsheet_id: str,
        tab: str,
        column_index: int,
        header_rows: int = 1,
        ascending: bool = True,
    ) -> None:
        """A human edit: sort the rows below the header by a 0-based column."""
        with self._lock:
            wb, sheet = self._sheet(spreadsheet_id, tab)
            sheet.sort_rows(header_rows, sheet.stored_rows(), [(column_index, ascending)])
            wb.touch(self.now())

    def note(self, spreadsheet_id: str, tab: str, a1: str) -> str | None:
        """A cell's note."""
        row, col = self._cell(a1)
        with self._lock:
            _, sheet = self._sheet(spreadsheet_id, tab)
            ex = sheet.extra(row, col)
            return ex.note if ex else None

    def format(self, spreadsheet_id: str, tab: str, a1: str) -> dict[str, Any]:
        """A cell's userEnteredFormat ({} when unformatted)."""
        row, col = self._cell(a1)
        with self._lock:
            _, sheet = self._sheet(spreadsheet_id, tab)
            ex = sheet.extra(row, col)
            return json.loads(json.dumps(ex.format)) if ex and ex.format else {}

    def grid_size(self, spreadsheet_id: str, tab: str) -> tuple[int, int]:
        """(rowCount, columnCount) of a tab."""
        with self._lock:
            _, sheet = self._sheet(spreadsheet_id, tab)
            return sheet.row_count, sheet.column_count

    def frozen_rows(self, spreadsheet_id: str, tab: str) -> int:
        """frozenRowCount of a tab."""
        with self._lock:
            return self._sheet(spreadsheet_id, tab)[1].frozen_rows

    # -- HTTP -------------------------------------------------------------------------------

    def _wsgi(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        body = request.get_data(cache=True)
        api, kind = classify(request.method, request.path)
        with self._lock:
            decision = self.faults.decide(api)
        if decision.latency:
            time.sleep(decision.latency)
        user: str | None = None
        spreadsheet_id: str | None = None
        if decision.drop:
            sock = environ.get("werkzeug.socket")
            if isinstance(sock, socket.socket):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            self._record(request, api, kind, None, None, len(body), 0, 0)
            return []
        if decision.status:
            message, status = fault_message(decision.status)
            response = _json_response(
                ApiError(decision.status, message, status).body(), decision.status
            )
        else:
            with self._lock, _gc_paused(len(body) > LARGE_BODY):
                response, user, spreadsheet_id = self._handle(request, body, api, kind)
        payload = response.get_data()
        self._record(
            request, api, kind, user, spreadsheet_id, len(body), len(payload), response.status_code
        )
        return response(environ, start_response)

    def _record(
        self,
        request: Request,
        api: Api,
        kind: Kind,
        user: str | None,
        spreadsheet_id: str | None,
        bytes_in: int,
        bytes_out: int,
        status: int,
    ) -> None:
        entry = LoggedRequest(
            method=request.method,
            path=request.path,
            query=request.query_string.decode("latin-1"),
            kind=kind,
            api=api,
            user=user,
            spreadsheet_id=spreadsheet_id,
            bytes_in=bytes_in,
            bytes_out=bytes_out,
            status=status,
        )
        with self._lock:
            self.request_log.append(entry)
            if self.log_limit is not None and len(self.request_log) > self.log_limit:
                del self.request_log[: len(self.request_log) - self.log_limit]
            hooks = list(self.hooks)
        for hook in hooks:
            try:
                hook(entry)
            except Exception as exc:  # a broken hook must not break the server
                _LOG.exception("sandbox hook %r failed on %s %s", hook, entry.method, entry.path)
                with self._lock:
                    self.hook_errors.append(exc)

    def _handle(
        self, request: Request, body: bytes, api: Api, kind: Kind
    ) -> tuple[Response, str | None, str | None]:
        user: str | None = None
        sid: str | None = None
        try:
            if api == "oauth":
                if request.method == "GET" and request.path.endswith("/allowedLocations"):
                    # google-auth's regional access boundary lookup: no restriction.
                    return (
                        _json_response({"encodedLocations": "0x0", "locations": []}, 200),
                        None,
                        None,
                    )
                if request.method != "POST" or request.path != "/token":
                    raise not_found()
                try:
                    grant = self.auth.exchange(body, f"{self.url}/token", self.now())
                except TokenError as exc:
                    return _json_response(exc.body(), exc.status), None, None
                return _json_response(grant, 200), None, None
            user = self.auth.user_for(request.headers.get("Authorization"), self.now())
            params = request.args.to_dict(flat=False)
            if api == "drive":
                result, sid = self._drive(request, body, user, params)
                return result, user, sid
            response, sid = self._sheets(request, body, user, kind, params)
            return response, user, sid
        except ApiError as exc:
            return _json_response(exc.body(), exc.code), user, sid
        except (A1Error, ValueError, TypeError, KeyError) as exc:
            error = bad_request(f"Invalid request: {exc}")
            return _json_response(error.body(), 400), user, sid
        except Exception:  # a sandbox bug must still answer like Google, not with a trace
            _LOG.exception("sandbox failed on %s %s", request.method, request.path)
            error = ApiError(500, "Internal error encountered.", "INTERNAL")
            return _json_response(error.body(), 500), user, sid

    def _open(self, sid: str, user: str, kind: Kind) -> Workbook:
        wb = self.store.get(sid)
        if wb is None:
            raise not_found()
        role = wb.role(user)
        if role is None or (kind == "write" and role == "reader"):
            raise permission_denied()
        return wb

    def _sheets(
        self, request: Request, body: bytes, user: str, kind: Kind, params: dict[str, list[str]]
    ) -> tuple[Response, str | None]:
        path = request.path[len("/v4/spreadsheets") :]
        method = request.method
        if kind in ("read", "write"):
            self.quotas.charge(kind, user, self.now())
        if path in ("", "/"):
            if method != "POST":
                raise not_found()
            created = spreadsheets_create(
                self.store, user, _json(body), self.now(), self.store.rng, self.url
            )
            return _json_response(created, 200), created["spreadsheetId"]
        path = path[1:]
        if "/values/" in path:
            sid, _, range_text = path.partition("/values/")
            wb = self._open(sid, user, kind)
            if method == "GET":
                return _json_response(values_api.values_get(wb, range_text, params), 200), sid
            if method == "PUT":
                out = values_api.values_update(wb, range_text, params, _json_object(body))
            elif method == "POST" and range_text.endswith(":append"):
                out = values_api.values_append(
                    wb, range_text[: -len(":append")], params, _json_object(body)
                )
            elif method == "POST" and range_text.endswith(":clear"):
                out = values_api.values_clear(wb, range_text[: -len(":clear")])
            else:
                raise not_found()
            wb.touch(self.now())
            return _json_response(out, 200), sid
        for suffix in (
            "/values:batchGet",
            "/values:batchUpdate",
            "/values:batchClear",
            "/values:batchGetByDataFilter",
            ":batchUpdate",
        ):
            if path.endswith(suffix):
                sid = path[: -len(suffix)]
                wb = self._open(sid, user, kind)
                if suffix == "/values:batchGet" and method == "GET":
                    return _json_response(values_api.values_batch_get(wb, params), 200), sid
                if method != "POST":
                    raise not_found()
                if suffix == "/values:batchUpdate":
                    out = values_api.values_batch_update(wb, _json_object(body))
                elif suffix == "/values:batchClear":
                    out = values_api.values_batch_clear(wb, _json_object(body))
                elif suffix == "/values:batchGetByDataFilter":
                    out = values_api.values_batch_get_by_data_filter(wb, _json_object(body))
                    return _json_response(out, 200), sid
                else:
                    payload = _json(body)  # parsed once: batches can be megabytes
                    new, replies = batch_update(wb, payload, self.store.rng)
                    self.store.replace(new)
                    wb = new
                    out = {"spreadsheetId": sid, "replies": replies}
                    if isinstance(payload, dict) and payload.get("includeSpreadsheetInResponse"):
                        out["updatedSpreadsheet"] = spreadsheets_get(wb, {}, self.url)
                wb.touch(self.now())
                return _json_response(out, 200), sid
        if "/sheets/" in path and path.endswith(":copyTo") and method == "POST":
            sid, _, sheet_part = path.partition("/sheets/")
            source = self._open(sid, user, "read")
            payload = _json_object(body)
            target = self._open(str(payload.get("destinationSpreadsheetId") or ""), user, kind)
            out = copy_sheet_to(source, sheet_part[: -len(":copyTo")], target, self.store.rng)
            target.touch(self.now())
            return _json_response(out, 200), sid
        if "/" in path or ":" in path or method != "GET":
            raise not_found()
        wb = self._open(path, user, kind)
        return _json_response(spreadsheets_get(wb, params, self.url), 200), path

    def _drive(
        self, request: Request, body: bytes, user: str, params: dict[str, list[str]]
    ) -> tuple[Response, str | None]:
        if request.path.startswith("/upload/drive/v3/files"):
            return self._drive_upload(request, body, user, params)
        if request.path.startswith("/drive/v3/drives"):
            return self._shared_drives(request, body, user, params), None
        if not request.path.startswith("/drive/v3/files"):
            raise not_found()
        path = request.path[len("/drive/v3/files") :].strip("/")
        parts = path.split("/") if path else []
        method = request.method
        now = self.now()
        if not parts:
            if method == "GET":
                return _json_response(
                    tree_api.files_list(self.store, user, params, self.url), 200
                ), None
            if method == "POST":
                payload = _json_object(body)
                if payload.get("mimeType") == SPREADSHEET_MIME:
                    out = drive.files_create(self.store, user, params, payload, now, self.url)
                else:
                    out = tree_api.create_metadata_only(
                        self.store, user, params, payload, now, self.url
                    )
                return _json_response(out, 200), str(out.get("id", "")) or None
            raise not_found()
        fid = parts[0]
        if tree_api.is_tree_id(self.store, fid):
            return self._drive_tree(request, body, user, params, parts), fid
        if len(parts) == 1:
            if method == "GET":
                if (params.get("alt") or [""])[0] == "media":
                    drive.files_get(self.store, fid, user, {}, self.url)  # visibility check
                    raise drive.DriveError(
                        403,
                        "Only files with binary content can be downloaded. Use Export with "
                        "Docs Editors files.",
                        "fileNotDownloadable",
                        "alt",
                    )
                return _json_response(
                    drive.files_get(self.store, fid, user, params, self.url), 200
                ), fid
            if method == "DELETE":
                drive.files_delete(self.store, fid, user)
                return Response(b"", status=204), fid
        elif parts[1] == "copy" and method == "POST" and len(parts) == 2:
            out = drive.files_copy(self.store, fid, user, params, _json_object(body), now, self.url)
            return _json_response(out, 200), fid
        elif parts[1] == "export" and method == "GET" and len(parts) == 2:
            data, mime = drive.files_export(self.store, fid, user, params)
            return Response(data, status=200, content_type=mime), fid
        elif parts[1] == "comments" and len(parts) == 2:
            drive.files_get(self.store, fid, user, {}, self.url)  # visibility check
            if method == "GET":
                return _json_response({"kind": "drive#commentList", "comments": []}, 200), fid
            if method == "POST":
                return _json_response({"id": "AAAAsandboxComment"}, 200), fid
        elif parts[1] == "permissions":
            if len(parts) == 2 and method == "POST":
                out = drive.permissions_create(self.store, fid, user, _json_object(body), now)
                return _json_response(out, 200), fid
            if len(parts) == 2 and method == "GET":
                return _json_response(drive.permissions_list(self.store, fid, user), 200), fid
            if len(parts) == 3 and method == "DELETE":
                drive.permissions_delete(self.store, fid, user, parts[2], now)
                return Response(b"", status=204), fid
        raise not_found()

    def _drive_tree(
        self,
        request: Request,
        body: bytes,
        user: str,
        params: dict[str, list[str]],
        parts: list[str],
    ) -> Response:
        """files.get/delete/permissions for folders, uploaded files and shared drives."""
        fid, method, now = parts[0], request.method, self.now()
        if len(parts) == 1 and fid in self.store.tree.files:
            if method == "GET":
                if (params.get("alt") or [""])[0] == "media":
                    data, mime = tree_api.download(self.store, fid, user, params)
                    return Response(data, status=200, content_type=mime)
                return _json_response(
                    tree_api.get_item(self.store, fid, user, params, self.url), 200
                )
            if method == "DELETE":
                tree_api.delete_item(self.store, fid, user, params)
                return Response(b"", status=204)
        if len(parts) >= 2 and parts[1] == "permissions":
            if len(parts) == 2 and method == "POST":
                out = tree_api.permissions_create(
                    self.store, fid, user, params, _json_object(body), now
                )
                return _json_response(out, 200)
            if len(parts) == 2 and method == "GET":
                return _json_response(tree_api.permissions_list(self.store, fid, user, params), 200)
            if len(parts) == 3 and method == "DELETE":
                tree_api.permissions_delete(self.store, fid, user, params, parts[2], now)
                return Response(b"", status=204)
        if fid in self.store.tree.drives:
            raise drive.file_not_found(fid)  # a shared drive is not a file
        raise not_found()

    def _drive_upload(
        self, request: Request, body: bytes, user: str, params: dict[str, list[str]]
    ) -> tuple[Response, str | None]:
        """Uploads: POST creates a file, PATCH replaces an uploaded file's content."""
        rest = request.path[len("/upload/drive/v3/files") :].strip("/")
        upload_type = params["uploadType"][0] if params.get("uploadType") else None
        content = parse_upload(upload_type, request.headers.get("Content-Type"), body)
        if request.method == "POST" and not rest:
            out = tree_api.upload(self.store, user, params, content, self.now(), self.url)
            return _json_response(out, 200), str(out.get("id", "")) or None
        if request.method == "PATCH" and rest and "/" not in rest:
            if rest not in self.store.tree.files:
                drive.files_get(self.store, rest, user, {}, self.url)  # 404 if invisible
                raise drive.DriveError(
                    400,
                    "The sandbox does not replace a spreadsheet's content by upload.",
                    "badRequest",
                )
            out = tree_api.update_content(
                self.store, rest, user, params, content, self.now(), self.url
            )
            return _json_response(out, 200), rest
        raise not_found()

    def _shared_drives(
        self, request: Request, body: bytes, user: str, params: dict[str, list[str]]
    ) -> Response:
        """drives.create / drives.list / drives.get."""
        rest = request.path[len("/drive/v3/drives") :].strip("/")
        if not rest and request.method == "POST":
            out = tree_api.drives_create(
                self.store, user, params, _json_object(body), self.now(), self._drive_requests
            )
            return _json_response(out, 200)
        if not rest and request.method == "GET":
            return _json_response(tree_api.drives_list(self.store, user, params), 200)
        if rest and "/" not in rest and request.method == "GET":
            return _json_response(tree_api.drives_get(self.store, rest, user, params), 200)
        raise not_found()


def classify(method: str, path: str) -> tuple[Api, Kind]:
    """Which API a request belongs to and whether it counts as a read or a write."""
    if path.startswith("/drive/") or path.startswith("/upload/drive/"):
        return "drive", "drive"
    if path.startswith("/v4/"):
        if method in ("GET", "HEAD") or path.endswith(":batchGetByDataFilter"):
            return "sheets", "read"
        return "sheets", "write"
    return "oauth", "token"


@contextlib.contextmanager
def _gc_paused(active: bool) -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a large request is parsed and applied.

    A multi-megabyte batch decodes into hundreds of thousands of fresh (acyclic) objects,
    which otherwise trigger full collections that scan every stored sheet (0.2-0.3 s each);
    reference counting still frees everything, and collection resumes right after.
    """
    if not active or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _json(body: bytes) -> Any:
    if not body:
        return {}
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise bad_request("Invalid JSON payload received. Unexpected token.") from None


def _json_object(body: bytes) -> dict[str, Any]:
    data = _json(body)
    if not isinstance(data, dict):
        raise bad_request("Invalid JSON payload received. Expected an object.")
    return data


def _json_response(data: Any, status: int) -> Response:
    try:
        payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates sent by a client: escape them instead
        payload = json.dumps(data, separators=(",", ":")).encode("ascii")
    return Response(payload, status=status, content_type=JSON_TYPE)


__all__ = ["DEFAULT_SERVICE_ACCOUNT", "SandboxServer", "typed_to_parsed"]
