"""Writing a :class:`~syncer.infer.guess.LedgerGuess` as a commented ledger file.

Every inferred line carries its evidence as an end-of-line comment (``# choice: from the
sheet's dropdown``); guesses to check say ``REVIEW:``. The file starts with where it
came from and how to check it. ruamel.yaml writes it, so quoting is always valid YAML.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Mapping
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import SingleQuotedScalarString

from syncer.infer.guess import LedgerGuess, Note

#: Column of end-of-line comments (values longer than this push them right).
COMMENT_COLUMN = 40


def _flow(items: Any) -> CommentedSeq:
    seq = CommentedSeq(list(items))
    seq.fa.set_flow_style()
    return seq


def _flow_map(items: Mapping[str, Any]) -> CommentedMap:
    out = CommentedMap(items)
    out.fa.set_flow_style()
    return out


def _printable(text: str) -> str:
    """Comment text on one line: line breaks and control characters (which YAML does not
    allow) shown as ``·``."""
    return "".join(ch if ch.isprintable() else "·" for ch in text)


def _wide(value: Any) -> int:
    """How many characters of ``value`` take two columns in a terminal (Chinese)."""
    text = str(value) if not isinstance(value, list | tuple) else "".join(map(str, value))
    return sum(1 for ch in text if unicodedata.east_asian_width(ch) in ("W", "F"))


def _comment(node: CommentedMap, key: str, note: Note | None) -> None:
    """An end-of-line comment, aligned on screen even after Chinese text (ruamel counts
    characters; a Chinese one is two columns wide)."""
    if note is not None:
        shift = _wide(key) + _wide(node[key])
        text = _printable(note.render())
        node.yaml_add_eol_comment(text, key, column=max(COMMENT_COLUMN - shift, 1))


def _condition(when: Any) -> Any:
    if isinstance(when, Mapping) and "column" in when:
        return _flow_map(when)
    if isinstance(when, Mapping):
        out = CommentedMap()
        for k, v in when.items():
            out[k] = [_condition(c) for c in v] if isinstance(v, list) else _condition(v)
        return out
    return when


def _rule(rule: Mapping[str, Any]) -> CommentedMap:
    out = CommentedMap()
    for k, v in rule.items():
        if k == "when":
            out[k] = _condition(v)
        elif isinstance(v, list | tuple):
            out[k] = _flow(v)
        else:
            out[k] = v
    return out


def to_tree(guess: LedgerGuess) -> CommentedMap:
    """The ledger as a commented ruamel tree."""
    root = CommentedMap()
    for key, value in guess.settings.items():
        if isinstance(value, Mapping):
            root[key] = CommentedMap(value)
        elif isinstance(value, list | tuple):
            root[key] = _flow(value)
        else:
            root[key] = value
        if not isinstance(value, Mapping):
            _comment(root, key, guess.notes.get(key))
        elif key in guess.notes:  # a mapping: the comment goes on its key's line
            text = _printable(guess.notes[key].render())
            root.yaml_add_eol_comment(text, key, column=COMMENT_COLUMN)
    columns = CommentedMap()
    for column in guess.columns:
        spec = CommentedMap()
        for field, value in column.spec.items():
            if field == "pattern":
                value = SingleQuotedScalarString(value)
            spec[field] = _flow(value) if isinstance(value, list | tuple) else value
            _comment(spec, field, column.notes.get(field))
        columns[column.name] = spec
    root["columns"] = columns
    if guess.remarks:
        text = "\n".join(_printable(r) for r in guess.remarks)
        root.yaml_set_comment_before_after_key("columns", before=text)
    if guess.unique_together:
        groups = CommentedSeq([_flow(g.columns) for g in guess.unique_together])
        for i, group in enumerate(guess.unique_together):
            text = _printable(group.note.render())
            groups.yaml_add_eol_comment(text, i, column=COMMENT_COLUMN)
        root["unique_together"] = groups
    if guess.rules:
        rules = CommentedSeq()
        for i, rule in enumerate(guess.rules):
            rules.append(_rule(rule.rule))
            rules[i].yaml_set_start_comment(_printable(rule.note.render()), indent=2)
        root["rules"] = rules
    root.yaml_set_start_comment("\n".join(map(_printable, _header(guess).split("\n"))))
    return root


def _header(guess: LedgerGuess) -> str:
    reviews = guess.reviews()
    lines = [
        "Written by `syncer init` from",
        f"  {guess.provenance}",
        "Each inferred line says why in a comment; "
        + (
            f"{reviews} line(s) marked REVIEW are guesses to check."
            if reviews
            else "none is marked REVIEW (low confidence)."
        ),
        "Reference: docs/ledger-files.md and docs/rules.md. Check it with `syncer check FILE`,",
        "see what a cycle would do with `syncer plan --config FILE`.",
    ]
    if guess.skipped:
        lines.append("Skipped at review: " + ", ".join(guess.skipped))
    return "\n".join(lines)


def render(guess: LedgerGuess) -> str:
    """The ledger file's text."""
    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 200
    yaml.allow_unicode = True
    out = io.StringIO()
    yaml.dump(to_tree(guess), out)
    return out.getvalue()
