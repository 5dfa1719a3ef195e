"""The status page on the daemon's HTTP port (``/`` and ``/status``).

One server-rendered HTML page (Jinja2, no scripts, no build step): every ledger with
its last cycle, outcome, open findings, a 30-day chart of findings (inline SVG from the
state store's run history), rows archived, next run and a link to its Google sheet.
It shows counts only — no cell values, no error texts (they can name accounts), no
secrets. Optional protection: a token (``?token=`` or ``Authorization: Bearer``) and/or
HTTP basic auth (:class:`PageAuth`). Text follows the browser's ``Accept-Language``
(zh → Chinese, else English). Renders are cached for a few seconds.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from syncer.ledger import LedgerConfig
from syncer.state import RunRecord

#: Days in the findings chart.
DAYS = 30
#: Runs read per ledger for the chart (30 days of 5-minute cycles).
MAX_RUNS = 9000
CACHE_SECONDS = 5.0

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "syncer status",
        "ledgers": "ledgers",
        "last_cycle": "Last cycle",
        "outcome": "Outcome",
        "open": "Open findings",
        "archived": "Archived (30 days)",
        "next_run": "Next run",
        "chart": "Findings, last 30 days",
        "open_sheet": "Open the sheet",
        "never": "not yet",
        "ok": "ok",
        "idle": "unchanged",
        "failed": "failed",
        "dry_run": "dry run",
        "none": "no cycle yet",
        "generated": "Updated",
        "empty": "No ledgers are scheduled.",
        "failing": "failing",
        "healthy": "healthy",
    },
    "zh-CN": {
        "title": "syncer 状态",
        "ledgers": "个台账",
        "last_cycle": "上次同步",
        "outcome": "结果",
        "open": "待处理问题",
        "archived": "近30天归档",
        "next_run": "下次同步",
        "chart": "近30天问题数",
        "open_sheet": "打开表格",
        "never": "尚未运行",
        "ok": "成功",
        "idle": "无变化",
        "failed": "失败",
        "dry_run": "预演",
        "none": "尚未运行",
        "generated": "更新于",
        "empty": "没有已调度的台账。",
        "failing": "异常",
        "healthy": "正常",
    },
}


@dataclass(frozen=True)
class PageAuth:
    """Who may see the page: anyone (both None), a token holder, or a basic-auth user."""

    token: str | None = None
    basic: str | None = None  # "user:password"

    def allows(self, headers: Mapping[str, str], query: Mapping[str, list[str]]) -> bool:
        """True when the request carries the token or the basic-auth credentials."""
        if self.token is None and self.basic is None:
            return True
        header = headers.get("Authorization") or ""
        if self.token is not None:
            given = (query.get("token") or [""])[0]
            if header.startswith("Bearer "):
                given = header.removeprefix("Bearer ").strip()
            if given and hmac.compare_digest(given.encode(), self.token.encode()):
                return True
        if self.basic is not None and header.startswith("Basic "):
            try:
                given = base64.b64decode(header.removeprefix("Basic ").strip()).decode()
            except (binascii.Error, UnicodeDecodeError):
                return False
            return hmac.compare_digest(given.encode(), self.basic.encode())
        return False


@dataclass(frozen=True)
class LedgerRow:
    """One ledger as the page shows it."""

    name: str
    description: str
    outcome: str
    last_cycle: str
    open_findings: int | None
    archived: int
    next_run: str
    sheet_url: str | None
    chart: Markup
    failing: bool


def daily_findings(runs: Sequence[RunRecord], zone: ZoneInfo, today: date) -> list[int | None]:
    """Findings at each day's last successful read, oldest first (None: no such run)."""
    start = today - timedelta(days=DAYS - 1)
    last: dict[date, tuple[datetime, int]] = {}
    for run in runs:
        if run.outcome != "ok":
            continue
        day = run.finished.astimezone(zone).date()
        if start <= day <= today and (day not in last or run.finished > last[day][0]):
            last[day] = (run.finished, run.findings)
    return [last[d][1] if d in last else None for d in (start + timedelta(i) for i in range(DAYS))]


def chart_svg(values: Sequence[int | None], label: str) -> Markup:
    """A small bar chart of ``values`` as inline SVG (days without data are gaps)."""
    width, height, gap = 300, 60, 2
    bar = (width - gap * (len(values) - 1)) / max(1, len(values))
    top = max([v for v in values if v is not None] or [0]) or 1
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{Markup.escape(label)}" preserveAspectRatio="none">',
        f'<line x1="0" y1="{height - 0.5}" x2="{width}" y2="{height - 0.5}" class="axis"/>',
    ]
    for i, value in enumerate(values):
        if value is None:
            continue
        h = max(1.0, (height - 4) * value / top)
        x = i * (bar + gap)
        parts.append(
            f'<rect x="{x:.1f}" y="{height - h:.1f}" width="{bar:.1f}" height="{h:.1f}">'
            f"<title>{value}</title></rect>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("syncer", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _sheet_url(ledger: LedgerConfig) -> str | None:
    from syncer.notify.compose import sheet_links

    links = sheet_links(ledger)
    return links[0].url if links else None


class StatusPage:
    """Renders the page from the run history, the ledgers and their next runs."""

    def __init__(
        self,
        runs: Callable[[str, int], list[RunRecord]],
        ledgers: Callable[[], Sequence[LedgerConfig]],
        next_run: Callable[[str], datetime | None],
        *,
        auth: PageAuth | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._runs = runs
        self._ledgers = ledgers
        self._next_run = next_run
        self.auth = auth or PageAuth()
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, bytes]] = {}

    def render(self, language: str = "en") -> bytes:
        """The page as UTF-8 HTML (cached for a few seconds per language)."""
        lang = "zh-CN" if language.lower().startswith("zh") else "en"
        with self._lock:
            cached = self._cache.get(lang)
            if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
                return cached[1]
        body = self._render(lang).encode()
        with self._lock:
            self._cache[lang] = (time.monotonic(), body)
        return body

    def rows(self, lang: str = "en") -> list[LedgerRow]:
        """Every ledger's row, in name order."""
        text = TEXT[lang]
        now = self._clock()
        rows = []
        for ledger in sorted(self._ledgers(), key=lambda lg: lg.name):
            zone = ZoneInfo(ledger.timezone)
            runs = self._runs(ledger.name, MAX_RUNS)
            latest = runs[0] if runs else None
            since = now - timedelta(days=DAYS)
            read = next((r for r in runs if r.outcome in ("ok", "dry_run")), None)
            upcoming = self._next_run(ledger.name)
            values = daily_findings(runs, zone, now.astimezone(zone).date())
            rows.append(
                LedgerRow(
                    name=ledger.name,
                    description=ledger.description or "",
                    outcome=text.get(latest.outcome, latest.outcome) if latest else text["none"],
                    last_cycle=_when(latest.finished, zone) if latest else text["never"],
                    open_findings=read.findings if read else None,
                    archived=sum(r.archived for r in runs if r.finished >= since),
                    next_run=_when(upcoming, zone) if upcoming else "—",
                    sheet_url=_sheet_url(ledger),
                    chart=chart_svg(values, f"{ledger.name}: {text['chart']}"),
                    failing=latest is not None and latest.outcome == "failed",
                )
            )
        return rows

    def _render(self, lang: str) -> str:
        text = TEXT[lang]
        rows = self.rows(lang)
        return (
            _environment()
            .get_template("status.html.j2")
            .render(
                t=text,
                lang=lang,
                rows=rows,
                generated=self._clock().astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                failing=sum(1 for r in rows if r.failing),
            )
        )


def _when(value: datetime, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M")
