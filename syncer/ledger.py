"""Pydantic models of a ledger file (YAML): source, tabs, columns, rules.

These models only describe and check shape; loading YAML with file:line positions
lives in :mod:`syncer.config`. Unknown keys are rejected everywhere (``extra="forbid"``).
Column specs and the rule base are in :mod:`syncer.ledger_parts`, conditions in
:mod:`syncer.conditions`, and each rule kind's model in its own module under
:mod:`syncer.rules`: the ``rules:`` union is built from :data:`syncer.rules.RULE_KINDS`,
so a new rule kind needs no change here. Cross-field checks that need the whole ledger
(a rule naming a missing column) are done in :meth:`LedgerConfig.check_references`,
which returns problems with their location.
"""

from __future__ import annotations

import functools
import operator
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from syncer.conditions import (
    All,
    AnyOf,
    Compare,
    Condition,
    ConditionField,
    Not,
    Op,
    parse_duration_days,
)
from syncer.ledger_parts import (
    DEFAULT_PLACEHOLDERS,
    ColumnSpec,
    ColumnType,
    FilePath,
    Reference,
    RuleBase,
    Strict,
    Tabs,
    nearest,
)
from syncer.notify.config import Destination
from syncer.rules import rule_models
from syncer.rules.archive import Archive
from syncer.rules.assign_id import AssignId
from syncer.rules.normalize import Normalize
from syncer.rules.stamp_on_change import StampOnChange

#: The condition and rule models are re-exported for importers written before they moved
#: next to their logic; new code imports them from their own modules.
__all__ = [
    "DEFAULT_PLACEHOLDERS",
    "All",
    "AnyOf",
    "Archive",
    "AssignId",
    "ColumnSpec",
    "ColumnType",
    "Compare",
    "Condition",
    "ConditionField",
    "GoogleSource",
    "LedgerConfig",
    "MemorySource",
    "Normalize",
    "Not",
    "Op",
    "Reference",
    "Rule",
    "RuleBase",
    "Schedule",
    "StampOnChange",
    "Strict",
    "Tabs",
    "XlsxSource",
    "nearest",
    "parse_duration_days",
]


#: The interval form the daemon accepts (:func:`syncer.daemon.parse_every`).
_EVERY = re.compile(r"(\d+)\s*[smhd]")
#: What a spreadsheet URL must contain (as gspread reads it).
_SHEET_URL = re.compile(r"/spreadsheets/d/[a-zA-Z0-9_-]+|key=[^&#]+")


class XlsxSource(Strict):
    """A local .xlsx workbook (path relative to the ledger file)."""

    connector: Literal["xlsx"]
    path: Path


class GoogleSource(Strict):
    """A Google spreadsheet, by id or URL."""

    connector: Literal["google"]
    spreadsheet: str
    #: Protect the tabs a write changes from its guard read to the write (see
    #: docs/google.md, "The write lock"); people's edits in that moment are refused
    #: visibly instead of overwritten. The owner's edits pass any protection.
    lock_while_writing: bool = True

    @field_validator("spreadsheet")
    @classmethod
    def _id_or_url(cls, value: str) -> str:
        ref = value.strip()
        if not ref:
            raise ValueError("`spreadsheet` is empty: give the spreadsheet's id or URL")
        if "/" in ref and not _SHEET_URL.search(ref):
            raise ValueError(
                f"`spreadsheet` {ref!r} is not a spreadsheet URL; copy it from the browser "
                "(https://docs.google.com/spreadsheets/d/<id>/edit) or give the id alone"
            )
        return value


class MemorySource(Strict):
    """An in-memory workbook (tests and the embedded demo)."""

    connector: Literal["memory"]
    name: str = "memory"


Source = Annotated[XlsxSource | GoogleSource | MemorySource, Field(discriminator="connector")]


class Schedule(Strict):
    """When the daemon runs a ledger: ``every`` (e.g. ``5m``, ``1h``) or a 5-field ``cron``."""

    every: str | None = None
    cron: str | None = None

    @field_validator("every")
    @classmethod
    def _interval(cls, value: str | None) -> str | None:
        if value is None:
            return value
        found = _EVERY.fullmatch(value.strip())
        if found is None:
            raise ValueError(
                f"`every` {value!r} is not an interval; write a whole number and one unit: "
                "30s, 5m, 1h or 1d"
            )
        if int(found.group(1)) == 0:
            raise ValueError(f"`every` {value!r} must be at least 1s")
        return value

    @field_validator("cron")
    @classmethod
    def _five_fields(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if len(value.split()) != 5:
            raise ValueError("`cron` needs 5 fields: minute hour day-of-month month day-of-week")
        return value

    def problem(self, timezone: str) -> Reference | None:
        """A cron line the scheduler would refuse (checked with the ledger, offline)."""
        if self.cron is None:
            return None
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(self.cron, timezone=timezone)
        except ValueError as exc:
            return Reference(
                ("schedule", "cron"),
                f"`cron` {self.cron!r} is invalid ({exc}); use 5 fields like '*/10 * * * *' "
                "(minute 0-59, hour 0-23, day 1-31, month 1-12, weekday 0-6 or mon-sun)",
            )
        return None

    @model_validator(mode="after")
    def _one_of(self) -> Schedule:
        if (self.every is None) == (self.cron is None):
            raise ValueError(
                "give exactly one of `every` (e.g. 5m) or `cron` (e.g. '*/10 * * * *')"
            )
        return self


if TYPE_CHECKING:
    Rule: TypeAlias = RuleBase
else:
    #: One entry of ``rules:``: the registered kinds, told apart by ``kind``.
    Rule = Annotated[functools.reduce(operator.or_, rule_models()), Field(discriminator="kind")]


class LedgerConfig(Strict):
    """One ledger: a spreadsheet, its tabs, its schema and its automations."""

    name: str
    description: str | None = None
    source: Source
    tabs: Tabs
    header_row: int = Field(default=1, ge=1)
    key: str
    locale: Literal["zh-CN", "en"] = "zh-CN"
    timezone: str = "Asia/Shanghai"
    schedule: Schedule = Schedule(every="5m")
    placeholders: tuple[str, ...] = DEFAULT_PLACEHOLDERS
    #: Column the robot owns in the main tab: a short summary of each row's problems.
    annotation_column: str = "校验提示"
    columns: dict[str, ColumnSpec]
    #: Groups of columns that together must be unique (e.g. same name + same phone).
    unique_together: list[list[str]] = Field(default_factory=list)
    rules: list[Rule] = Field(default_factory=list)
    #: Where digests and alerts go (WeCom, DingTalk, Feishu, Slack, email): see
    #: docs/notifications.md.
    notify: list[Destination] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if not re.fullmatch(r"[\w.-]+", value):
            raise ValueError(
                f"ledger name {value!r} may only hold letters, digits, `_`, `.` and `-` "
                "(it names the ledger in logs, metrics and backups)"
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown timezone {value!r}; use an IANA name such as Asia/Shanghai"
            ) from exc
        return value

    @field_validator("unique_together")
    @classmethod
    def _groups_of_two(cls, value: list[list[str]]) -> list[list[str]]:
        for group in value:
            if len(group) < 2:
                raise ValueError(
                    "each unique_together group names at least 2 columns; "
                    "use `unique: true` on the column for one"
                )
        return value

    def check_references(self) -> list[Reference]:
        """Problems where the ledger names a column or tab that does not fit together.

        Each problem carries the path of the offending value in the ledger file (for
        positions), a message and the nearest valid name when there is one.
        """
        problems: list[Reference] = []
        names = list(self.columns)

        def need(path: FilePath, column: str, what: str) -> None:
            if column not in self.columns:
                problems.append(
                    Reference(
                        path,
                        f"{what} `{column}` is not one of the ledger's `columns`",
                        nearest(column, names),
                    )
                )

        need(("key",), self.key, "key column")
        owned = self._owned_paths()
        for name, where in owned.items():
            close = nearest(name, names, cutoff=0.75)
            if name not in self.columns and close is not None:
                problems.append(
                    Reference(
                        where, f"robot-owned column `{name}` looks like a misspelt column", close
                    )
                )
        if self.annotation_column in self.columns or self.annotation_column == self.key:
            problems.append(
                Reference(
                    ("annotation_column",),
                    f"annotation_column `{self.annotation_column}` is one of the ledger's "
                    "`columns`; the robot overwrites it with its notes, so give it a column "
                    "of its own (default 校验提示)",
                )
            )
        for g, group in enumerate(self.unique_together):
            for c, column in enumerate(group):
                need(("unique_together", g, c), column, "unique_together column")
        for i, rule in enumerate(self.rules):
            problems.extend(self._rule_references(i, rule, names))
        problems.extend(self._tab_problems())
        cron = self.schedule.problem(self.timezone)
        if cron is not None:
            problems.append(cron)
        return problems

    def _owned_paths(self) -> dict[str, FilePath]:
        """Each robot-owned column with where the ledger file names it (first mention)."""
        found: dict[str, FilePath] = {self.annotation_column: ("annotation_column",)}
        for i, rule in enumerate(self.rules):
            for path, name in rule.owned_columns():
                found.setdefault(name, ("rules", i, *path))
        return found

    def _tab_problems(self) -> list[Reference]:
        """Tabs that collide, and tab names the source cannot hold."""
        problems: list[Reference] = []
        seen: dict[str, str] = {}
        for role in ("main", "history", "errors"):
            name = getattr(self.tabs, role)
            if not name.strip():
                problems.append(Reference(("tabs", role), f"tabs.{role} is empty; name a tab"))
                continue
            if name in seen:
                problems.append(
                    Reference(
                        ("tabs", role),
                        f"tabs.{role} `{name}` is the same tab as tabs.{seen[name]}; main, "
                        "history and errors must be three different tabs",
                    )
                )
            seen.setdefault(name, role)
            if self.source.connector == "xlsx":
                why = xlsx_tab_problem(name)
                if why is not None:
                    problems.append(Reference(("tabs", role), f"tabs.{role} `{name}` {why}"))
        return problems

    def _rule_references(self, index: int, rule: RuleBase, names: list[str]) -> list[Reference]:
        base: FilePath = ("rules", index)
        own = rule.problems()
        if own:
            return [Reference((*base, *r.path), r.message, r.suggestion) for r in own]
        return [
            Reference(
                (*base, *path),
                f"rule {rule.kind} names column `{c}`, not one of `columns`",
                nearest(c, names),
            )
            for path, c in rule.named_columns()
            if c not in self.columns
        ]

    def placeholders_for(self, column: str) -> tuple[str, ...]:
        """Values that count as empty in ``column``."""
        spec = self.columns.get(column)
        if spec is not None and spec.placeholders is not None:
            return spec.placeholders
        return self.placeholders

    def owned_columns(self) -> tuple[str, ...]:
        """Main-tab columns the robot writes on its own (annotation and stamp targets)."""
        targets = [name for rule in self.rules for _, name in rule.owned_columns()]
        return (self.annotation_column, *targets)


#: Characters Excel refuses in a sheet name.
_XLSX_TAB_FORBIDDEN = frozenset("[]:*?/\\")


def xlsx_tab_problem(name: str) -> str | None:
    """Why Excel cannot hold a tab named ``name`` (None when it can)."""
    if len(name) > 31:
        return f"is {len(name)} characters long; an .xlsx tab name has at most 31"
    bad = sorted(set(name) & _XLSX_TAB_FORBIDDEN)
    if bad:
        return f"contains {' '.join(bad)}; an .xlsx tab name cannot contain [ ] : * ? / \\"
    if name.startswith("'") or name.endswith("'"):
        return "starts or ends with an apostrophe, which an .xlsx tab name cannot"
    if name.strip().lower() == "history":
        return "is reserved by Excel; choose another name"
    return None


LedgerConfig.model_rebuild()
