"""Building each event's :class:`~syncer.notify.message.Message` in the ledger's locale.

Pure: callers pass findings, counts and times; nothing here reads a database or sends.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from syncer.i18n import Locale, register, t
from syncer.ledger import LedgerConfig
from syncer.model import Finding
from syncer.notify.message import Link, Message, Section
from syncer.notify.store import Tally

#: Lines per section before "and N more".
MAX_LINES = 10

register(
    {
        "notify.digest.title": {"zh-CN": "{ledger} 每日摘要", "en": "{ledger} digest"},
        "notify.digest.summary": {
            "zh-CN": "截至 {when}，共 {open} 条待处理问题",
            "en": "As of {when}: {open} open finding(s)",
        },
        "notify.digest.by_column": {"zh-CN": "按列统计", "en": "Open findings by column"},
        "notify.digest.by_owner": {"zh-CN": "按{owner}统计", "en": "Open findings by {owner}"},
        "notify.digest.no_owner": {"zh-CN": "（未填写）", "en": "(blank)"},
        "notify.digest.archived": {"zh-CN": "已归档客户", "en": "Customers archived"},
        "notify.digest.new_customers": {"zh-CN": "新增客户", "en": "New customers"},
        "notify.digest.ids_assigned": {"zh-CN": "已分配编号", "en": "IDs assigned"},
        "notify.digest.since": {"zh-CN": "统计区间", "en": "Period"},
        "notify.digest.open": {"zh-CN": "待处理问题", "en": "Open findings"},
        "notify.more": {"zh-CN": "…… 另有 {count} 项", "en": "… and {count} more"},
        "notify.link.sheet": {"zh-CN": "打开表格", "en": "Open the sheet"},
        "notify.link.errors": {"zh-CN": "查看{tab}", "en": "Open the {tab} tab"},
        "notify.link.status": {"zh-CN": "状态页", "en": "Status page"},
        "notify.new.title": {
            "zh-CN": "{ledger} 新发现 {count} 条问题",
            "en": "{ledger}: {count} new finding(s)",
        },
        "notify.new.summary": {
            "zh-CN": "自上次通知以来新增；当前共 {open} 条待处理",
            "en": "New since the last message; {open} open in total",
        },
        "notify.new.section": {"zh-CN": "新问题", "en": "New findings"},
        "notify.row": {"zh-CN": "第{row}行", "en": "row {row}"},
        "notify.archived.title": {
            "zh-CN": "{ledger} 已归档 {count} 位客户",
            "en": "{ledger}: {count} customer(s) archived",
        },
        "notify.archived.summary": {
            "zh-CN": "已移至「{tab}」",
            "en": "Moved to the {tab} tab",
        },
        "notify.failed.title": {"zh-CN": "{ledger} 同步失败", "en": "{ledger}: cycles failing"},
        "notify.failed.failed": {
            "zh-CN": "已连续失败 {streak} 次",
            "en": "{streak} cycle(s) in a row failed",
        },
        "notify.failed.quota": {
            "zh-CN": "Google 配额已用尽，已连续失败 {streak} 次",
            "en": "Google quota exhausted; {streak} cycle(s) in a row failed",
        },
        "notify.failed.unshared": {
            "zh-CN": "表格拒绝访问（403），可能已取消共享",
            "en": "The sheet refused access (403): it may no longer be shared",
        },
        "notify.failed.error": {"zh-CN": "错误信息", "en": "Error"},
        "notify.recovered.title": {"zh-CN": "{ledger} 已恢复", "en": "{ledger}: recovered"},
        "notify.recovered.summary": {
            "zh-CN": "连续失败 {streak} 次后，本次同步成功",
            "en": "A cycle succeeded after {streak} failed one(s)",
        },
        "notify.interrupted.title": {
            "zh-CN": "{ledger} 中断的同步已恢复",
            "en": "{ledger}: interrupted cycle recovered",
        },
        "notify.test.title": {"zh-CN": "{ledger} 通知测试", "en": "{ledger}: test message"},
        "notify.test.summary": {
            "zh-CN": "syncer 可以向「{destination}」发送消息。",
            "en": "syncer can send messages to {destination}.",
        },
    }
)

_SHEET_ID = re.compile(r"/spreadsheets/d/([A-Za-z0-9_-]+)")


def sheet_links(ledger: LedgerConfig, errors_gid: int | None = None) -> tuple[Link, ...]:
    """Links to the ledger's Google spreadsheet and its errors tab (none for files)."""
    source = ledger.source
    if source.connector != "google":
        return ()
    found = _SHEET_ID.search(source.spreadsheet)
    sheet = found.group(1) if found else source.spreadsheet.strip()
    if not re.fullmatch(r"[A-Za-z0-9_-]+", sheet):
        return ()
    base = f"https://docs.google.com/spreadsheets/d/{sheet}/edit"
    links = [Link(t(ledger.locale, "notify.link.sheet"), base)]
    if errors_gid is not None:
        label = t(ledger.locale, "notify.link.errors", tab=ledger.tabs.errors)
        links.append(Link(label, f"{base}#gid={errors_gid}"))
    return tuple(links)


def _local(ledger: LedgerConfig, when: datetime) -> str:
    return when.astimezone(ZoneInfo(ledger.timezone)).strftime("%Y-%m-%d %H:%M")


def _counted(counter: Counter[str], locale: Locale) -> tuple[tuple[str, ...], int]:
    ranked = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    lines = tuple(f"{name}: {count}" for name, count in ranked[:MAX_LINES])
    return lines, max(0, len(ranked) - MAX_LINES)


def owner_column(ledger: LedgerConfig, configured: str | None) -> str | None:
    """The column findings are grouped by in the digest (None: no such column)."""
    if configured is not None:
        return configured if configured in ledger.columns else None
    for name in ("跟进人", "负责人", "销售负责人", "owner", "Owner"):
        if name in ledger.columns:
            return name
    return None


@dataclass(frozen=True)
class FindingSummary:
    """Open findings of a ledger as the digest shows them: counts, no cell values."""

    total: int
    by_column: dict[str, int]
    #: Counts by the owner column's value (empty when the ledger has no owner column).
    by_owner: dict[str, int]

    def to_json(self) -> str:
        """The summary as JSON (kept in the notification state across restarts)."""
        return json.dumps(
            {"total": self.total, "by_column": self.by_column, "by_owner": self.by_owner},
            ensure_ascii=False,
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> FindingSummary:
        """The inverse of :meth:`to_json`."""
        data = json.loads(text)
        return cls(int(data["total"]), dict(data["by_column"]), dict(data["by_owner"]))


def summarize(
    findings: Sequence[Finding], owners: Mapping[str, str], locale: Locale, owner: str | None
) -> FindingSummary:
    """Count ``findings`` by column and by owner (``owners``: identity → owner value)."""
    by_column = Counter(f.column or f.check for f in findings)
    by_owner: Counter[str] = Counter()
    if owner is not None:
        blank = t(locale, "notify.digest.no_owner")
        by_owner = Counter(owners.get(f.identity) or blank for f in findings)
    return FindingSummary(len(findings), dict(by_column), dict(by_owner))


def digest(
    ledger: LedgerConfig,
    summary: FindingSummary,
    owner: str | None,
    tally: Tally,
    since: datetime,
    now: datetime,
    links: tuple[Link, ...] = (),
) -> Message:
    """The scheduled summary: open findings by column and owner, archived, new, IDs."""
    loc = ledger.locale
    sections = []
    lines, more = _counted(Counter(summary.by_column), loc)
    if lines:
        sections.append(Section(t(loc, "notify.digest.by_column"), lines, more))
    if owner is not None and summary.by_owner:
        lines, more = _counted(Counter(summary.by_owner), loc)
        sections.append(Section(t(loc, "notify.digest.by_owner", owner=owner), lines, more))
    for kind in ("archived", "new_customers", "ids_assigned"):
        examples = tuple(tally.examples.get(kind, ())[:MAX_LINES])
        if tally.count(kind):
            sections.append(
                Section(
                    f"{t(loc, f'notify.digest.{kind}')} ({tally.count(kind)})",
                    examples,
                    max(0, tally.count(kind) - len(examples)),
                )
            )
    facts = (
        (t(loc, "notify.digest.open"), str(summary.total)),
        (t(loc, "notify.digest.archived"), str(tally.count("archived"))),
        (t(loc, "notify.digest.new_customers"), str(tally.count("new_customers"))),
        (t(loc, "notify.digest.ids_assigned"), str(tally.count("ids_assigned"))),
        (t(loc, "notify.digest.since"), f"{_local(ledger, since)} – {_local(ledger, now)}"),
    )
    return Message(
        event="digest",
        ledger=ledger.name,
        locale=loc,
        title=t(loc, "notify.digest.title", ledger=ledger.name),
        summary=t(loc, "notify.digest.summary", when=_local(ledger, now), open=summary.total),
        sections=tuple(sections),
        links=links,
        severity="warning" if summary.total else "info",
        facts=facts,
    )


def finding_line(finding: Finding, locale: Locale) -> str:
    """``客户编号 · 列: 问题`` (or the row when the customer has no key yet)."""
    where = finding.key or (t(locale, "notify.row", row=finding.row) if finding.row else "")
    what = f"{finding.column}: {finding.message}" if finding.column else finding.message
    return f"{where} · {what}" if where else what


def new_findings(
    ledger: LedgerConfig, new: Sequence[Finding], open_total: int, links: tuple[Link, ...] = ()
) -> Message:
    """Findings that appeared since the last message to this destination."""
    loc = ledger.locale
    ordered = sorted(new, key=lambda f: (f.row or 0, f.column or "", f.check))
    lines = tuple(finding_line(f, loc) for f in ordered[:MAX_LINES])
    return Message(
        event="new_findings",
        ledger=ledger.name,
        locale=loc,
        title=t(loc, "notify.new.title", ledger=ledger.name, count=len(new)),
        summary=t(loc, "notify.new.summary", open=open_total),
        sections=(Section(t(loc, "notify.new.section"), lines, max(0, len(new) - MAX_LINES)),),
        links=links,
        severity="warning",
    )


def archived(ledger: LedgerConfig, items: Sequence[str], links: tuple[Link, ...] = ()) -> Message:
    """Customers this cycle moved to the history tab (``key · reason`` lines)."""
    loc = ledger.locale
    return Message(
        event="archived",
        ledger=ledger.name,
        locale=loc,
        title=t(loc, "notify.archived.title", ledger=ledger.name, count=len(items)),
        summary=t(loc, "notify.archived.summary", tab=ledger.tabs.history),
        sections=(
            Section(
                t(loc, "notify.digest.archived"),
                tuple(items[:MAX_LINES]),
                max(0, len(items) - MAX_LINES),
            ),
        ),
        links=links,
    )


def cycle_failed(
    ledger: LedgerConfig, reason: str, streak: int, error: str | None, links: tuple[Link, ...] = ()
) -> Message:
    """An ops alert: ``reason`` is ``failed``, ``quota`` or ``unshared``."""
    loc = ledger.locale
    sections: tuple[Section, ...] = ()
    if error:
        sections = (Section(t(loc, "notify.failed.error"), (error,)),)
    return Message(
        event="cycle_failed",
        ledger=ledger.name,
        locale=loc,
        title=t(loc, "notify.failed.title", ledger=ledger.name),
        summary=t(loc, f"notify.failed.{reason}", streak=streak),
        sections=sections,
        links=links,
        severity="error",
    )


def recovered(
    ledger: LedgerConfig, streak: int, detail: str | None = None, links: tuple[Link, ...] = ()
) -> Message:
    """A ledger that failed (or was interrupted) cycles again."""
    loc = ledger.locale
    if detail is not None:
        title = t(loc, "notify.interrupted.title", ledger=ledger.name)
        summary = detail
    else:
        title = t(loc, "notify.recovered.title", ledger=ledger.name)
        summary = t(loc, "notify.recovered.summary", streak=streak)
    return Message(
        event="recovered",
        ledger=ledger.name,
        locale=loc,
        title=title,
        summary=summary,
        links=links,
    )


def probe(ledger: LedgerConfig, destination: str) -> Message:
    """What ``syncer notify test`` sends."""
    loc = ledger.locale
    return Message(
        event="test",
        ledger=ledger.name,
        locale=loc,
        title=t(loc, "notify.test.title", ledger=ledger.name),
        summary=t(loc, "notify.test.summary", destination=destination),
        links=sheet_links(ledger),
    )
