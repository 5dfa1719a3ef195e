"""Reading a ledger file's YAML safely, with the position of every key and value.

A ledger file is small, plain data. Before anything is built from it, one streaming pass
over the parser's events (constant memory) refuses what no ledger file needs and what
could hurt the process that reads it — the daemon reloads ledger files while it runs:

* a file over :data:`MAX_BYTES` (checked before it is read whole);
* nesting deeper than :data:`MAX_DEPTH`;
* aliases (``*name``) that would expand to more than :data:`MAX_ALIASED_VALUES` values
  (a "billion laughs" file is stopped at the alias that crosses the bound);
* any tag other than the plain YAML types (``!!python/object/apply:os.system``, ``!foo``).

Only then is the document loaded (ruamel.yaml round-trip mode, which supports merge keys
``<<: *anchor``) and turned into builtin Python values, recording where each value
and key starts. Every problem is a :class:`~syncer.errors.ConfigError` line
``file:line:col: message (hint: …)``; a tab character or a full-width colon ``：`` that
broke the YAML is named at its own position.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    Event,
    NodeEvent,
    ScalarEvent,
)
from ruamel.yaml.reader import ReaderError

from syncer.errors import ConfigError

FilePath = tuple[str | int, ...]
Position = tuple[int, int]  # 1-based line and column

#: Largest ledger file read (a large ledger file is a few tens of kilobytes).
MAX_BYTES = 512 * 1024
#: Deepest nesting of mappings and lists (a ledger file needs about 8).
MAX_DEPTH = 40
#: Most values that aliases (``*name``) may add to the document when expanded.
MAX_ALIASED_VALUES = 10_000
#: Tags a ledger file may write explicitly (``!!str 123``); every other tag is refused.
ALLOWED_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}"
    for name in ("str", "int", "float", "bool", "null", "seq", "map", "timestamp")
) | {"!"}

FULL_WIDTH_COLON = "："


@dataclass
class Document:
    """A ledger file's data as builtin values, with the position of each value and key."""

    data: dict[str, Any]
    positions: dict[FilePath, Position] = field(default_factory=dict)
    key_positions: dict[FilePath, Position] = field(default_factory=dict)


def read_document(file: Path) -> Document:
    """Read, bound-check and load ``file``; ConfigError (file:line:col) on any problem."""
    text = _read_text(file)
    _check_events(file, text)
    try:
        tree = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        raise ConfigError(syntax_problem(file, text, exc)) from exc
    except ReaderError as exc:
        raise ConfigError(_reader_problem(file, text, exc)) from exc
    except YAMLError as exc:
        raise ConfigError(f"{file}:1:1: YAML error: {_one_line(str(exc))}") from exc
    except (ValueError, TypeError, OverflowError) as exc:
        where = _unconstructible(text)
        raise ConfigError(
            f"{file}:{where[0]}:{where[1]}: this value cannot be read: {_one_line(str(exc))}"
            " (hint: put the value in quotes to keep it as text)"
        ) from exc
    if not isinstance(tree, CommentedMap):
        raise ConfigError(
            f"{file}:1:1: a ledger file is a mapping of keys (name, source, tabs, key, "
            "columns, rules …) (hint: see docs/ledger-files.md)"
        )
    doc = Document({}, {(): (1, 1)}, {})
    data = _plain(tree, (), doc, (1, 1))
    assert isinstance(data, dict)
    doc.data = data
    return doc


# --- before loading -----------------------------------------------------------------------


def _read_text(file: Path) -> str:
    try:
        with file.open("rb") as stream:
            raw = stream.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError(
            f"{file}:1:1: cannot read the ledger file: {exc.strerror or exc}"
        ) from exc
    if len(raw) > MAX_BYTES:
        raise ConfigError(
            f"{file}:1:1: the file is larger than {MAX_BYTES // 1024} KiB; a ledger file is "
            "a few kilobytes of settings (hint: is this the right file?)"
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{file}:{line}:1: the file is not UTF-8 text (byte {exc.start}); save it as UTF-8"
        ) from exc


def _events(text: str) -> Iterator[Event]:
    yield from YAML(typ="rt").parse(text)


def _check_events(file: Path, text: str) -> None:
    """One streaming pass over the parse events: tags, depth and alias expansion.

    Sizes and heights are tracked as numbers per anchor, never expanded, so a file whose
    aliases stand for billions of values costs no more memory than its text.
    """
    aliased = 0
    #: anchor → (values its node holds once expanded, its height in collections)
    anchors: dict[str, tuple[int, int]] = {}
    #: open collections: [anchor, values so far, height of the tallest child]
    open_: list[list[Any]] = []

    def add(count: int, height: int) -> None:
        if open_:
            open_[-1][1] += count
            open_[-1][2] = max(open_[-1][2], height)

    try:
        for event in _events(text):
            if isinstance(event, NodeEvent) and not isinstance(event, AliasEvent):
                tag = getattr(event, "tag", None)
                if tag is not None and str(tag) not in ALLOWED_TAGS:
                    raise ConfigError(
                        _at(file, event, f"the tag `{_tag_text(tag)}` is not allowed")
                        + " (hint: a ledger file holds plain values; remove the tag)"
                    )
            if isinstance(event, CollectionStartEvent):
                if len(open_) >= MAX_DEPTH:
                    raise ConfigError(_too_deep(file, event))
                open_.append([event.anchor, 1, 0])
            elif isinstance(event, CollectionEndEvent):
                anchor, size, child = open_.pop()
                if anchor is not None:
                    anchors[str(anchor)] = (size, child + 1)
                add(size, child + 1)
            elif isinstance(event, ScalarEvent):
                if event.anchor is not None:
                    anchors[str(event.anchor)] = (1, 0)
                add(1, 0)
            elif isinstance(event, AliasEvent):
                count, height = anchors.get(str(event.anchor), (1, 0))
                if len(open_) + height > MAX_DEPTH:
                    raise ConfigError(_too_deep(file, event))
                aliased += count
                if aliased > MAX_ALIASED_VALUES:
                    raise ConfigError(
                        _at(
                            file,
                            event,
                            f"aliases expand to more than {MAX_ALIASED_VALUES:,} values "
                            f"(`*{event.anchor}` alone stands for {count:,})",
                        )
                        + " (hint: a ledger file reuses a few settings at most; "
                        "this looks like a billion-laughs file)"
                    )
                add(count, height)
    except MarkedYAMLError as exc:
        raise ConfigError(syntax_problem(file, text, exc)) from exc
    except ReaderError as exc:
        raise ConfigError(_reader_problem(file, text, exc)) from exc
    except YAMLError as exc:
        raise ConfigError(f"{file}:1:1: YAML error: {_one_line(str(exc))}") from exc


def _too_deep(file: Path, event: Event) -> str:
    return _at(file, event, f"the YAML nests deeper than {MAX_DEPTH} levels") + (
        " (hint: a ledger file needs only a few levels; check brackets and aliases)"
    )


def _reader_problem(file: Path, text: str, exc: ReaderError) -> str:
    """A character YAML does not accept (a NUL byte, a control character), located."""
    offset = max(int(getattr(exc, "position", 0) or 0), 0)
    before = text[:offset]
    line = before.count("\n") + 1
    col = offset - (before.rfind("\n") + 1) + 1
    code = getattr(exc, "character", None)
    what = f"U+{code:04X}" if isinstance(code, int) else "a control character"
    return (
        f"{file}:{line}:{col}: the file holds the character {what}, which YAML does not "
        "allow (hint: delete it; such characters are invisible in most editors)"
    )


def _tag_text(tag: object) -> str:
    text = str(tag)
    prefix = "tag:yaml.org,2002:"
    return "!!" + text.removeprefix(prefix) if text.startswith(prefix) else text


def _at(file: Path, event: Event, message: str) -> str:
    mark = event.start_mark
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    return f"{file}:{line}:{col}: {message}"


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _unconstructible(text: str) -> Position:
    """Where the first scalar ruamel cannot build is (e.g. ``2024-02-30``, ``!!int x``)."""
    yaml = YAML(typ="rt")
    try:
        node = yaml.compose(text)
    except YAMLError:
        return (1, 1)
    stack = [node]
    seen: set[int] = set()
    constructor = yaml.constructor
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        value = current.value
        if isinstance(value, list):
            for item in reversed(value):
                stack.extend(reversed(item) if isinstance(item, tuple) else [item])
            continue
        try:
            constructor.construct_object(current, deep=True)
        except (ValueError, TypeError, OverflowError, YAMLError):
            return (current.start_mark.line + 1, current.start_mark.column + 1)
    return (1, 1)


# --- syntax problems ------------------------------------------------------------------------

_SYNTAX_HINTS = (
    ("mapping values are not allowed", "put quotes around a value that contains `: `"),
    ("found duplicate key", "each key may appear once in a mapping; remove or merge one"),
    ("could not find expected ':'", "a key needs `: ` after it; check the line above too"),
    ("expected <block end>", "check the indentation of this line against its siblings"),
    ("found undefined alias", "define the anchor (&name) before using *name"),
    ("while scanning a quoted scalar", "close the quote opened here"),
    ("expected a single document", "a ledger file holds one document: remove `---`"),
)


def syntax_problem(file: Path, text: str, exc: MarkedYAMLError) -> str:
    """One problem line for a YAML syntax error, naming a tab or ``：`` that caused it."""
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    problem = " ".join(str(p) for p in (exc.context, exc.problem) if p)
    problem = _one_line(problem) or "invalid YAML"
    full = str(exc)
    lines = text.splitlines()
    if "found character '\\t'" in full:
        return _tab_problem(file, lines, line, col)
    colon = _full_width_colon(lines, exc)
    if colon is not None:
        at_line, at_col = colon
        return (
            f"{file}:{at_line}:{at_col}: the full-width colon `：` (U+FF1A) is not a YAML "
            "colon, so this line is not a key and value (hint: type an ASCII `:` followed by "
            "a space, e.g. `key: 客户编号`)"
        )
    hint = next((h for needle, h in _SYNTAX_HINTS if needle in full), None)
    if hint is None:
        hint = "check indentation and quoting on this line and the one above"
    return f"{file}:{line}:{col}: YAML syntax error: {problem} (hint: {hint})"


def _tab_problem(file: Path, lines: list[str], line: int, col: int) -> str:
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    tab = text.find("\t")
    col = tab + 1 if tab >= 0 else col
    leading = text[: max(tab, 0)].strip() == ""
    hint = (
        "indent with spaces, not tabs"
        if leading
        else "replace the tab with spaces, or quote the value if the tab belongs to it"
    )
    return f"{file}:{line}:{col}: a tab character is not allowed here in YAML (hint: {hint})"


def _full_width_colon(lines: list[str], exc: MarkedYAMLError) -> Position | None:
    """The position of a ``：`` written where a key's colon belongs, on the lines from the
    error's context to its problem (and the line above), else None."""
    marks = [m for m in (exc.context_mark, exc.problem_mark) if m is not None]
    if not marks:
        return None
    last = max(m.line for m in marks)
    first = max(min(min(m.line for m in marks), last - 1), 0)
    for number in range(last, first - 1, -1):
        if number >= len(lines):
            continue
        found = _key_colon(lines[number])
        if found is not None:
            return (number + 1, found + 1)
    return None


def _key_colon(line: str) -> int | None:
    """Index of a ``：`` that ends a plain key on ``line`` (not in quotes or a comment)."""
    quote: str | None = None
    for index, char in enumerate(line):
        if quote is not None:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1] in " \t"):
            return None
        elif char == ":" and line[index + 1 : index + 2] in ("", " "):
            return None  # a real key colon comes first: the ： is inside a value
        elif char == FULL_WIDTH_COLON:
            return index
    return None


# --- building plain values ------------------------------------------------------------------


def _plain(node: Any, path: FilePath, doc: Document, where: Position) -> Any:
    """Builtin Python values from a ruamel tree, recording where every value starts.

    Keys brought in by a merge (``<<: *anchor``) are placed where the anchored mapping
    writes them.
    """
    if isinstance(node, CommentedMap):
        out: dict[str, Any] = {}
        for key in node:
            name = str(key)
            kpos, vpos = _key_value_positions(node, key, where)
            doc.key_positions[(*path, name)] = kpos
            doc.positions[(*path, name)] = vpos
            out[name] = _plain(node[key], (*path, name), doc, vpos)
        return out
    if isinstance(node, CommentedSeq):
        items = []
        for index, item in enumerate(node):
            at = node.lc.data.get(index) if isinstance(node.lc.data, dict) else None
            pos = (at[0] + 1, at[1] + 1) if at else where
            doc.positions[(*path, index)] = pos
            items.append(_plain(item, (*path, index), doc, pos))
        return items
    if isinstance(node, TaggedScalar):  # `!!str 2024`: the text as written
        return str(node.value)
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node  # dates and timestamps stay as ruamel built them


def _key_value_positions(
    node: CommentedMap, key: Any, where: Position
) -> tuple[Position, Position]:
    """Where ``key`` and its value are written: in ``node`` itself or in the mapping a
    merge key brought it from; ``where`` (the mapping's own position) as a last resort."""
    data = node.lc.data if isinstance(node.lc.data, dict) else {}
    found = data.get(key)
    if found is not None and len(found) >= 4:
        return (found[0] + 1, found[1] + 1), (found[2] + 1, found[3] + 1)
    for source in _merged_from(node):
        if key in source:
            return _key_value_positions(source, key, where)
    return where, where


def _merged_from(node: CommentedMap) -> list[CommentedMap]:
    merged = getattr(node, "merge", None) or []
    out: list[CommentedMap] = []
    for entry in merged:
        source = entry[1] if isinstance(entry, tuple) else entry
        if isinstance(source, CommentedMap):
            out.append(source)
    return out
