"""The building blocks of ledger-file models that the rule modules build on.

:mod:`syncer.ledger` assembles a whole ledger from these plus each rule module's own
model (:mod:`syncer.rules`); the rule modules import from here, never from
:mod:`syncer.ledger`, so registering a rule kind creates no import circle.

* :class:`Strict`: unknown keys are errors, values are immutable;
* :class:`ColumnSpec`: what one column must hold (checked offline: regexes compile,
  phone regions exist);
* :class:`RuleBase`: the fields every rule has and the hooks a rule kind may override
  (columns it names, columns it owns, extra checks, whether time alone can make it due);
* :class:`Reference` and :func:`nearest`: cross-field problems and "did you mean".
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Literal, Protocol

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DEFAULT_PLACEHOLDERS: tuple[str, ...] = ("未知", "待补充", "N/A", "-")

#: A location in a ledger file: keys and list indexes from the top (``("rules", 0, "when")``).
FilePath = tuple[str | int, ...]


class Strict(BaseModel):
    """Base of every ledger-file model: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def nearest(word: str, candidates: list[str] | tuple[str, ...], cutoff: float = 0.5) -> str | None:
    """The candidate closest to ``word`` (difflib), or None when nothing is close."""
    found = difflib.get_close_matches(word, list(candidates), n=1, cutoff=cutoff)
    return found[0] if found else None


@dataclass(frozen=True)
class Reference:
    """A cross-field problem: ``path`` into the ledger file, ``message``, nearest valid name."""

    path: FilePath
    message: str
    suggestion: str | None = None


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

#: Phone regions libphonenumber knows (ISO 3166-1 alpha-2 codes).
PHONE_REGIONS: frozenset[str] = frozenset(phonenumbers.SUPPORTED_REGIONS)
#: Names admins write for a region that are not its two-letter code (for the hint only).
_ALPHA3 = {
    "USA": "US", "CHN": "CN", "PRC": "CN", "GBR": "GB", "UK": "GB", "HKG": "HK",
    "TWN": "TW", "MAC": "MO", "JPN": "JP", "KOR": "KR", "SGP": "SG", "DEU": "DE",
    "FRA": "FR", "CAN": "CA", "AUS": "AU", "IND": "IN", "MYS": "MY",
}  # fmt: skip


def compile_regex(value: str, what: str) -> str:
    """``value`` when it compiles as a regular expression, else ValueError naming ``what``."""
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(
            f"{what} {value!r} is not a valid regular expression: {exc}"
            " (hint: check brackets and escape special characters with \\)"
        ) from exc
    return value


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
        return None if value is None else compile_regex(value, "`pattern`")

    @field_validator("region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        if value in PHONE_REGIONS:
            return value
        upper = value.strip().upper()
        close = upper if upper in PHONE_REGIONS else _ALPHA3.get(upper)
        did = f"; did you mean {close}?" if close else ""
        raise ValueError(
            f"`region` {value!r} is not a phone region{did} (hint: use an ISO 3166 "
            "two-letter country code in capitals, like US, CN, GB or HK)"
        )

    @model_validator(mode="after")
    def _choices_have_values(self) -> ColumnSpec:
        if self.type in ("choice", "multi_choice") and not self.values:
            raise ValueError(f"a {self.type} column needs `values:` (the allowed dropdown values)")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class RuleBase(Strict):
    """Fields every rule has, and the hooks a rule kind overrides where it needs them.

    A rule kind subclasses this in its own module (``syncer/rules/<kind>.py``) with
    ``kind: Literal["<kind>"]`` and registers there; see :mod:`syncer.rules`.
    Paths the hooks return are relative to the rule in the ledger file.
    """

    if TYPE_CHECKING:  # each kind declares `kind: Literal[...]` after these fields, which
        kind: str  # keeps the dumped field order (and so every ledger's config hash)

    name: str | None = None
    enabled: bool = True

    def named_columns(self) -> list[tuple[FilePath, str]]:
        """Every column of ``columns`` this rule names, with where it names it."""
        return []

    def owned_columns(self) -> list[tuple[FilePath, str]]:
        """Main-tab columns the rule writes on its own (e.g. a stamp target)."""
        return []

    def observed_columns(self) -> tuple[str, ...]:
        """Columns whose values the rule remembers between cycles (row key → value)."""
        return ()

    def problems(self) -> list[Reference]:
        """Checks across this rule's fields that a field validator cannot express."""
        return []

    def due(self, last_cycle: datetime | None, now: datetime, zone: tzinfo) -> bool:
        """Whether time alone (no edit to the sheet) may make this rule act on rows it
        did not act on at ``last_cycle`` (None: never ran). Used by the idle skip."""
        del last_cycle, now, zone
        return False


class Tabs(Strict):
    """Names of the tabs a ledger uses."""

    main: str
    history: str = "客户历史库"
    errors: str = "校验错误"


class LedgerView(Protocol):
    """What rules and conditions read of a ledger (:class:`syncer.ledger.LedgerConfig`
    is one). A protocol, so the rule modules need not import the ledger model that is
    built from them."""

    @property
    def name(self) -> str:
        """The ledger's name."""

    @property
    def key(self) -> str:
        """The key column."""

    @property
    def tabs(self) -> Tabs:
        """Main, history and errors tab names."""

    @property
    def header_row(self) -> int:
        """The main tab's header row."""

    @property
    def locale(self) -> Literal["zh-CN", "en"]:
        """The language of text written into the sheet."""

    @property
    def timezone(self) -> str:
        """The ledger's time zone."""

    @property
    def annotation_column(self) -> str:
        """The robot's annotation column."""

    @property
    def columns(self) -> Mapping[str, ColumnSpec]:
        """Column specs by name."""

    @property
    def rules(self) -> Sequence[RuleBase]:
        """The ledger's rules."""

    def placeholders_for(self, column: str) -> tuple[str, ...]:
        """Values that count as empty in ``column``."""

    def owned_columns(self) -> tuple[str, ...]:
        """Main-tab columns the robot writes on its own."""
