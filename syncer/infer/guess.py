"""The inferred ledger: every value with the evidence behind it (pure data).

A :class:`LedgerGuess` is what :func:`syncer.infer.build.infer_ledger` returns and what
:mod:`syncer.infer.render` writes as commented YAML. Reviewing it (accept / change type /
skip) makes new guesses: :meth:`LedgerGuess.without_column`,
:meth:`LedgerGuess.retyped`, :meth:`LedgerGuess.without_rule`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

#: Spec fields that only make sense for some column types.
_TYPED_FIELDS: dict[str, tuple[str, ...]] = {
    "values": ("choice", "multi_choice"),
    "separator": ("multi_choice",),
    "min": ("integer", "number"),
    "max": ("integer", "number"),
    "region": ("phone",),
}


@dataclass(frozen=True)
class Note:
    """Why a value was inferred; ``review`` marks a low-confidence guess."""

    text: str
    review: bool = False

    def render(self) -> str:
        """The comment text (``REVIEW: `` first when it is a guess to check)."""
        return f"REVIEW: {self.text}" if self.review else self.text


@dataclass(frozen=True)
class ColumnGuess:
    """One column's spec (fields in YAML order) and a note per field."""

    name: str
    position: int
    spec: Mapping[str, Any]
    notes: Mapping[str, Note]
    #: Distinct observed texts (trimmed), most frequent first, at most 50.
    observed: tuple[str, ...] = ()

    @property
    def type(self) -> str:
        """The inferred column type."""
        return str(self.spec.get("type", "text"))

    @property
    def review(self) -> bool:
        """True when any of its values is a guess to check."""
        return any(n.review for n in self.notes.values())


@dataclass(frozen=True)
class RuleGuess:
    """A proposed rule (as its YAML mapping) and why."""

    rule: Mapping[str, Any]
    note: Note

    @property
    def kind(self) -> str:
        """The rule's kind."""
        return str(self.rule["kind"])

    def columns(self) -> set[str]:
        """Every column the rule names."""
        found: set[str] = set()
        for key in ("watch", "requires", "columns"):
            found.update(self.rule.get(key) or ())
        for key in ("target", "year_from"):
            if self.rule.get(key):
                found.add(str(self.rule[key]))
        if "when" in self.rule:
            found.update(_condition_columns(self.rule["when"]))
        return found


def _condition_columns(condition: Any) -> Iterator[str]:
    if isinstance(condition, Mapping):
        if "column" in condition:
            yield str(condition["column"])
        for key in ("all", "any"):
            for item in condition.get(key) or ():
                yield from _condition_columns(item)
        if "not" in condition:
            yield from _condition_columns(condition["not"])


@dataclass(frozen=True)
class GroupGuess:
    """A proposed ``unique_together`` group."""

    columns: tuple[str, ...]
    note: Note


@dataclass(frozen=True)
class LedgerGuess:
    """A whole ledger file as inferred.

    ``settings`` are the top-level keys before ``columns`` (name, source, tabs …) in YAML
    order, ``notes`` their evidence; ``remarks`` are file-level comments (columns left
    out and why).
    """

    settings: Mapping[str, Any]
    notes: Mapping[str, Note]
    columns: tuple[ColumnGuess, ...]
    unique_together: tuple[GroupGuess, ...] = ()
    rules: tuple[RuleGuess, ...] = ()
    remarks: tuple[str, ...] = ()
    #: What was read, for the file's first comment (title, rows, calls).
    provenance: str = ""
    #: Columns skipped at review (named in the file's first comment).
    skipped: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """The key column."""
        return str(self.settings["key"])

    def column(self, name: str) -> ColumnGuess | None:
        """The guess for column ``name``."""
        return next((c for c in self.columns if c.name == name), None)

    def reviews(self) -> int:
        """How many lines are marked for review."""
        lines = [n for c in self.columns for n in c.notes.values()]
        lines += [g.note for g in self.unique_together] + [r.note for r in self.rules]
        lines += list(self.notes.values())
        return sum(1 for n in lines if n.review)

    def data(self) -> dict[str, Any]:
        """The ledger as plain data, ready for ``LedgerConfig.model_validate``."""
        out: dict[str, Any] = {k: _plain(v) for k, v in self.settings.items()}
        out["columns"] = {c.name: _plain(c.spec) for c in self.columns}
        if self.unique_together:
            out["unique_together"] = [list(g.columns) for g in self.unique_together]
        if self.rules:
            out["rules"] = [_plain(r.rule) for r in self.rules]
        return out

    def without_column(self, name: str) -> LedgerGuess:
        """The guess without column ``name``, and without the groups and rules naming it
        (a ``normalize`` rule only loses that column)."""
        if name == self.key:
            raise ValueError(f"`{name}` is the key column; it cannot be skipped")
        rules: list[RuleGuess] = []
        for rule in self.rules:
            if rule.kind == "normalize" and name in rule.rule.get("columns", ()):
                rest = [c for c in rule.rule["columns"] if c != name]
                if rest:
                    rules.append(replace(rule, rule={**rule.rule, "columns": rest}))
                continue
            if name not in rule.columns():
                rules.append(rule)
        return replace(
            self,
            columns=tuple(c for c in self.columns if c.name != name),
            unique_together=tuple(g for g in self.unique_together if name not in g.columns),
            rules=tuple(rules),
            skipped=(*self.skipped, name),
        )

    def retyped(self, name: str, new_type: str, values: tuple[str, ...] = ()) -> LedgerGuess:
        """The guess with column ``name`` changed to ``new_type``.

        Fields that do not apply to the new type are dropped; a choice type takes
        ``values`` (default: the observed values). Raises ValueError when a choice type
        would have no values."""
        old = self.column(name)
        if old is None:
            raise ValueError(f"no column `{name}`")
        spec: dict[str, Any] = {"type": new_type}
        notes: dict[str, Note] = {"type": Note(f"{new_type}: chosen at review")}
        for key, value in old.spec.items():
            if key == "type" or key in ("values", "separator"):
                continue
            allowed = _TYPED_FIELDS.get(key)
            if allowed is None or new_type in allowed:
                spec[key] = value
                if key in old.notes:
                    notes[key] = old.notes[key]
        if new_type in ("choice", "multi_choice"):
            chosen = values or old.observed
            if not chosen:
                raise ValueError(f"a {new_type} column needs values; `{name}` has none yet")
            spec["values"] = list(chosen)
            if new_type == "multi_choice":
                spec["separator"] = old.spec.get("separator", ",")
        if new_type == "phone":
            spec.setdefault("region", "CN")
        ordered = {"type": spec.pop("type"), **spec}
        column = replace(old, spec=ordered, notes=notes)
        return replace(self, columns=tuple(column if c.name == name else c for c in self.columns))

    def without_rule(self, index: int) -> LedgerGuess:
        """The guess without its ``index``-th rule."""
        return replace(self, rules=tuple(r for i, r in enumerate(self.rules) if i != index))


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
