"""Pydantic models of a ledger file (YAML): source, tabs, columns, rules.

These models only describe and check shape; loading YAML with file:line positions
lives in :mod:`syncer.config`. Unknown keys are rejected everywhere (``extra="forbid"``).
Cross-field checks that need the whole ledger (a rule naming a missing column) are done
in :meth:`LedgerConfig.check_references`, which returns problems with their location.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from syncer.notify.config import Destination

DEFAULT_PLACEHOLDERS: tuple[str, ...] = ("未知", "待补充", "N/A", "-")


class Strict(BaseModel):
    """Base of every ledger-file model: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


ColumnType = Literal[
    "text",
    "integer",
    "number",
    "date",
    "datetime",
    "phone",
    "email",
    "choice",
    "multi_choice",
    "boolean",
]


class ColumnSpec(Strict):
    """What one column must hold."""

    type: ColumnType = "text"
    required: bool = False
    #: Values that count as empty for ``required`` (None: the ledger's ``placeholders``).
    placeholders: tuple[str, ...] | None = None
    #: Allowed values for ``choice`` / ``multi_choice`` columns.
    values: tuple[str, ...] | None = None
    #: Separator between items of a ``multi_choice`` cell.
    separator: str = ","
    pattern: str | None = None
    min: float | None = None
    max: float | None = None
    max_length: int | None = Field(default=None, ge=1)
    unique: bool = False
    #: Default region for ``phone`` numbers written without a country code.
    region: str = "CN"
    #: Normalize values in place (trim, full-width → half-width, canonical phone/date)
    #: when the result is unambiguous. Opt-in per column.
    normalize: bool = False
    description: str | None = None

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"`pattern` is not a valid regular expression: {exc}") from exc
        return value

    @model_validator(mode="after")
    def _choices_have_values(self) -> ColumnSpec:
        if self.type in ("choice", "multi_choice") and not self.values:
            raise ValueError(f"a {self.type} column needs `values:` (the allowed dropdown values)")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class XlsxSource(Strict):
    """A local .xlsx workbook (path relative to the ledger file)."""

    connector: Literal["xlsx"]
    path: Path


class GoogleSource(Strict):
    """A Google spreadsheet, by id or URL."""

    connector: Literal["google"]
    spreadsheet: str


class MemorySource(Strict):
    """An in-memory workbook (tests and the embedded demo)."""

    connector: Literal["memory"]
    name: str = "memory"


Source = Annotated[XlsxSource | GoogleSource | MemorySource, Field(discriminator="connector")]


class Tabs(Strict):
    """Names of the tabs a ledger uses."""

    main: str
    history: str = "客户历史库"
    errors: str = "校验错误"


class Schedule(Strict):
    """When the daemon runs a ledger: ``every`` (e.g. ``5m``, ``1h``) or a 5-field ``cron``."""

    every: str | None = Field(default=None, pattern=r"^\d+\s*[smhd]$")
    cron: str | None = None

    @field_validator("cron")
    @classmethod
    def _five_fields(cls, value: str | None) -> str | None:
        if value is not None and len(value.split()) != 5:
            raise ValueError("`cron` needs 5 fields: minute hour day-of-month month day-of-week")
        return value

    @model_validator(mode="after")
    def _one_of(self) -> Schedule:
        if (self.every is None) == (self.cron is None):
            raise ValueError(
                "give exactly one of `every` (e.g. 5m) or `cron` (e.g. '*/10 * * * *')"
            )
        return self


# --- conditions ------------------------------------------------------------------------

Op = Literal[
    "equals",
    "not_equals",
    "in",
    "not_in",
    "empty",
    "not_empty",
    "matches",
    "older_than",
    "newer_than",
]


class Compare(Strict):
    """``{column, op, value}``: compare one cell. Durations look like ``90d``, ``12h``."""

    column: str
    op: Op
    value: Any = None

    @model_validator(mode="after")
    def _value_fits_op(self) -> Compare:
        if self.op in ("empty", "not_empty"):
            return self
        if self.value is None:
            raise ValueError(f"op `{self.op}` needs a `value`")
        if self.op in ("in", "not_in") and not isinstance(self.value, list):
            raise ValueError(f"op `{self.op}` needs a list `value`, e.g. [流失客户, 暂停合作]")
        if self.op in ("older_than", "newer_than") and not (
            isinstance(self.value, str) and parse_duration_days(self.value) is not None
        ):
            raise ValueError(f"op `{self.op}` needs a duration such as 90d, 12h or 30m")
        return self


class All(Strict):
    """Every sub-condition holds."""

    all: list[ConditionField] = Field(min_length=1)


class AnyOf(Strict):
    """At least one sub-condition holds."""

    any: list[ConditionField] = Field(min_length=1)


class Not(Strict):
    """The sub-condition does not hold."""

    not_: ConditionField = Field(alias="not")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


#: A condition, for annotations and ``isinstance`` checks.
Condition = Compare | All | AnyOf | Not


def _condition_tag(value: Any) -> str:
    """Which condition model a YAML mapping (or a model) is: decided by its keys."""
    if isinstance(value, dict):
        for key, tag in (("all", "All"), ("any", "AnyOf"), ("not", "Not")):
            if key in value:
                return tag
        return "Compare"
    return type(value).__name__


#: The field type of conditions in ledger models: a union told apart by the mapping's keys
#: (``all`` / ``any`` / ``not``, else a comparison), so errors name only the intended form.
ConditionField = Annotated[
    Annotated[Compare, Tag("Compare")]
    | Annotated[All, Tag("All")]
    | Annotated[AnyOf, Tag("AnyOf")]
    | Annotated[Not, Tag("Not")],
    Discriminator(_condition_tag),
]


def parse_duration_days(text: str) -> float | None:
    """``90d`` → 90.0, ``12h`` → 0.5, ``30m`` → minutes in days; None when malformed."""
    units = {"d": 1.0, "h": 1 / 24, "m": 1 / 1440, "w": 7.0}
    text = text.strip()
    if len(text) < 2 or text[-1] not in units:
        return None
    try:
        number = float(text[:-1])
    except ValueError:
        return None
    return number * units[text[-1]] if number >= 0 else None


def _condition_columns(
    condition: Condition, path: tuple[str | int, ...]
) -> list[tuple[tuple[str | int, ...], str]]:
    """Every column a condition names, with the path of each in the ledger file."""
    if isinstance(condition, Compare):
        return [((*path, "column"), condition.column)]
    if isinstance(condition, All):
        items, word = condition.all, "all"
    elif isinstance(condition, AnyOf):
        items, word = condition.any, "any"
    else:
        return _condition_columns(condition.not_, (*path, "not"))
    return [x for i, c in enumerate(items) for x in _condition_columns(c, (*path, word, i))]


def nearest(word: str, candidates: list[str] | tuple[str, ...], cutoff: float = 0.5) -> str | None:
    """The candidate closest to ``word`` (difflib), or None when nothing is close."""
    found = difflib.get_close_matches(word, list(candidates), n=1, cutoff=cutoff)
    return found[0] if found else None


@dataclass(frozen=True)
class Reference:
    """A cross-field problem: ``path`` into the ledger file, ``message``, nearest valid name."""

    path: tuple[str | int, ...]
    message: str
    suggestion: str | None = None


# --- rules -------------------------------------------------------------------------------


class RuleBase(Strict):
    """Fields every rule has."""

    name: str | None = None
    enabled: bool = True


class StampOnChange(RuleBase):
    """When any ``watch`` column changes since the last cycle, write the time to ``target``."""

    kind: Literal["stamp_on_change"]
    watch: list[str] = Field(min_length=1)
    target: str
    #: First time a customer is seen: ``skip`` records without stamping; ``stamp`` stamps
    #: only when the target is empty.
    on_first_sight: Literal["skip", "stamp"] = "skip"
    #: Format of the written time: ``date`` (YYYY-MM-DD) or ``datetime`` (YYYY-MM-DD HH:MM).
    format: Literal["date", "datetime"] = "datetime"


class Archive(RuleBase):
    """Move rows matching ``when`` to the history tab (append first, then remove)."""

    kind: Literal["archive"]
    when: ConditionField
    reason: str | None = None


class AssignId(RuleBase):
    """Fill empty key cells from ``pattern``: ``{prefix}``, ``{year}``, ``{seq:03}``."""

    kind: Literal["assign_id"]
    pattern: str = "XS{year}{seq:03}"
    #: Column whose date gives ``{year}`` (falls back to the current year when empty).
    year_from: str | None = None
    #: Fill only rows that have at least these columns filled (avoids ids on blank rows).
    requires: list[str] = Field(default_factory=list)

    @field_validator("pattern")
    @classmethod
    def _pattern_has_seq(cls, value: str) -> str:
        fields = set(re.findall(r"\{(\w+)[^}]*\}", value))
        if "seq" not in fields:
            raise ValueError("`pattern` needs a `{seq}` field, e.g. XS{year}{seq:03}")
        unknown = fields - {"prefix", "year", "seq"}
        if unknown:
            raise ValueError(
                f"`pattern` uses unknown field(s) {sorted(unknown)}; "
                "use {prefix}, {year} and {seq}"
            )
        return value


class Normalize(RuleBase):
    """Normalize the listed columns (or every column with ``normalize: true``)."""

    kind: Literal["normalize"]
    columns: list[str] = Field(default_factory=list)


Rule = Annotated[StampOnChange | Archive | AssignId | Normalize, Field(discriminator="kind")]


class LedgerConfig(Strict):
    """One ledger: a spreadsheet, its tabs, its schema and its automations."""

    name: str = Field(pattern=r"^[\w.-]+$")
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
    #: Where digests and alerts go (WeCom, DingTalk, Feishu, Slack, email): docs/notifications.md.
    notify: list[Destination] = Field(default_factory=list)

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

        def need(path: tuple[str | int, ...], column: str, what: str) -> None:
            if column not in self.columns:
                problems.append(
                    Reference(
                        path,
                        f"{what} `{column}` is not one of the ledger's `columns`",
                        nearest(column, names),
                    )
                )

        need(("key",), self.key, "key column")
        for name in dict.fromkeys(self.owned_columns()):
            close = nearest(name, names, cutoff=0.75)
            if name not in self.columns and close is not None:
                where: tuple[str | int, ...] = ("annotation_column",)
                if name != self.annotation_column:
                    where = next(
                        ("rules", i, "target")
                        for i, r in enumerate(self.rules)
                        if isinstance(r, StampOnChange) and r.target == name
                    )
                problems.append(
                    Reference(
                        where, f"robot-owned column `{name}` looks like a misspelt column", close
                    )
                )
        for g, group in enumerate(self.unique_together):
            for c, column in enumerate(group):
                need(("unique_together", g, c), column, "unique_together column")
        for i, rule in enumerate(self.rules):
            problems.extend(self._rule_references(i, rule, names))
        tabs = [self.tabs.main, self.tabs.history, self.tabs.errors]
        if len(set(tabs)) != 3:
            problems.append(
                Reference(("tabs",), "main, history and errors must be three different tabs")
            )
        return problems

    def _rule_references(self, index: int, rule: Rule, names: list[str]) -> list[Reference]:
        base: tuple[str | int, ...] = ("rules", index)
        columns: list[tuple[tuple[str | int, ...], str]] = []
        if isinstance(rule, StampOnChange):
            columns += [((*base, "watch", j), c) for j, c in enumerate(rule.watch)]
            if rule.target in rule.watch:
                return [Reference((*base, "target"), "a stamp target cannot also be watched", None)]
        elif isinstance(rule, Archive):
            columns += _condition_columns(rule.when, (*base, "when"))
        elif isinstance(rule, AssignId):
            if rule.year_from is not None:
                columns.append(((*base, "year_from"), rule.year_from))
            columns += [((*base, "requires", j), c) for j, c in enumerate(rule.requires)]
        else:
            columns += [((*base, "columns", j), c) for j, c in enumerate(rule.columns)]
        return [
            Reference(
                path,
                f"rule {rule.kind} names column `{c}`, not one of `columns`",
                nearest(c, names),
            )
            for path, c in columns
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
        targets = [r.target for r in self.rules if isinstance(r, StampOnChange)]
        return (self.annotation_column, *targets)


All.model_rebuild()
AnyOf.model_rebuild()
Not.model_rebuild()
Archive.model_rebuild()
LedgerConfig.model_rebuild()
