"""Loading ledger files: YAML with positions → :class:`~syncer.ledger.LedgerConfig`.

Every problem becomes one line ``file:line:col: message (hint: did you mean `x`?)``,
collected over the whole file (and over every file of a directory) and raised together
as one :class:`~syncer.errors.ConfigError`. Positions come from ruamel.yaml's node
marks, so an admin is pointed at the exact key or value that is wrong.
"""

from __future__ import annotations

import os
import re
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from syncer.errors import ConfigError
from syncer.ledger import LedgerConfig, nearest

Path_ = tuple[str | int, ...]
Position = tuple[int, int]  # 1-based line and column

LEDGER_SUFFIXES = (".yaml", ".yml")


def load_ledger(path: Path | str) -> LedgerConfig:
    """Read and check one ledger file; raise ConfigError listing every problem in it."""
    return _load(Path(path))[0]


def load_ledgers(path: Path | str) -> list[LedgerConfig]:
    """Read a ledger file, or every ``*.yaml``/``*.yml`` file of a directory (sorted).

    Problems of all files are reported together; two ledgers with the same ``name`` are
    an error pointing at the second one.
    """
    root = Path(path)
    if not root.exists():
        raise ConfigError(f"{root}: no such file or directory (set SYNCER_CONFIG_PATH?)")
    files = (
        sorted(p for p in root.iterdir() if p.is_file() and p.suffix in LEDGER_SUFFIXES)
        if root.is_dir()
        else [root]
    )
    if not files:
        raise ConfigError(f"{root}: no ledger files (*.yaml, *.yml) in this directory")
    ledgers: list[LedgerConfig] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    for file in files:
        try:
            ledger, positions = _load(file)
        except ConfigError as exc:
            problems.extend(exc.problems)
            continue
        line, col = positions.get(("name",), (1, 1))
        where = f"{file}:{line}:{col}"
        if ledger.name in seen:
            problems.append(
                f"{where}: ledger name `{ledger.name}` is already used by {seen[ledger.name]} "
                "(hint: give each ledger a unique `name`)"
            )
            continue
        seen[ledger.name] = where
        ledgers.append(ledger)
    if problems:
        raise ConfigError(problems)
    return ledgers


def ledger_json_schema() -> dict[str, Any]:
    """The JSON Schema of a ledger file, for editor autocompletion (``syncer schema``)."""
    schema = LedgerConfig.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "syncer ledger file"
    return schema


# --- reading YAML with positions --------------------------------------------------------


def _load(file: Path) -> tuple[LedgerConfig, dict[Path_, Position]]:
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}:1:1: cannot read the ledger file: {exc}") from exc
    yaml = YAML(typ="rt")
    try:
        tree = yaml.load(text)
    except MarkedYAMLError as exc:
        raise ConfigError(_syntax_problem(file, text, exc)) from exc
    if not isinstance(tree, CommentedMap):
        raise ConfigError(
            f"{file}:1:1: a ledger file is a mapping of keys (name, source, tabs, key, "
            "columns, rules …) (hint: see docs/ledger-files.md)"
        )
    positions: dict[Path_, Position] = {(): (1, 1)}
    key_positions: dict[Path_, Position] = {}
    data = _plain(tree, (), positions, key_positions)
    assert isinstance(data, dict)
    _resolve_source_path(data, file)
    try:
        ledger = LedgerConfig.model_validate(data)
    except ValidationError as exc:
        problems = [
            _pydantic_problem(file, e, data, positions, key_positions) for e in exc.errors()
        ]
        raise ConfigError(sorted(problems, key=_line_order)) from exc
    references = ledger.check_references()
    if references:
        lines = [
            _line(file, _position(r.path, positions), r.message, r.suggestion) for r in references
        ]
        raise ConfigError(sorted(lines, key=_line_order))
    return ledger, positions


def _plain(
    node: Any,
    path: Path_,
    positions: dict[Path_, Position],
    key_positions: dict[Path_, Position],
) -> Any:
    """Builtin Python values from a ruamel tree, recording where every value starts."""
    if isinstance(node, CommentedMap):
        out: dict[str, Any] = {}
        for key in node:
            name = str(key)
            kline, kcol = node.lc.key(key)
            vline, vcol = node.lc.value(key)
            key_positions[(*path, name)] = (kline + 1, kcol + 1)
            positions[(*path, name)] = (vline + 1, vcol + 1)
            out[name] = _plain(node[key], (*path, name), positions, key_positions)
        return out
    if isinstance(node, CommentedSeq):
        items = []
        for index, item in enumerate(node):
            line, col = node.lc.item(index)
            positions[(*path, index)] = (line + 1, col + 1)
            items.append(_plain(item, (*path, index), positions, key_positions))
        return items
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node  # dates and timestamps stay as ruamel built them


def _resolve_source_path(data: dict[str, Any], file: Path) -> None:
    """Make an xlsx ``source.path`` absolute, relative to the ledger file's directory."""
    source = data.get("source")
    if not isinstance(source, dict) or source.get("connector") != "xlsx":
        return
    raw = source.get("path")
    if isinstance(raw, str) and raw:
        target = Path(os.path.expanduser(raw))
        if not target.is_absolute():
            target = file.resolve().parent / target
        source["path"] = os.path.normpath(target)


# --- problem lines ----------------------------------------------------------------------


def _line(file: Path, where: Position, message: str, suggestion: str | None = None) -> str:
    hint = f" (hint: did you mean `{suggestion}`?)" if suggestion else ""
    return f"{file}:{where[0]}:{where[1]}: {message}{hint}"


def _line_order(line: str) -> tuple[int, int]:
    """Sort key of a problem line: its line and column numbers."""
    found = re.search(r":(\d+):(\d+): ", line)
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


def _position(path: Path_, positions: Mapping[Path_, Position]) -> Position:
    """Where ``path`` is in the file, or where its nearest existing parent is."""
    while path not in positions:
        path = path[:-1]
    return positions[path]


_SYNTAX_HINTS = (
    ("found character '\\t'", "indent with spaces, not tabs"),
    ("mapping values are not allowed", "put quotes around a value that contains `: `"),
    ("found duplicate key", "each key may appear once in a mapping; remove or merge one"),
    ("could not find expected ':'", "a key needs `: ` after it; check the line above too"),
    ("expected <block end>", "check the indentation of this line against its siblings"),
    ("found undefined alias", "define the anchor (&name) before using *name"),
    ("while scanning a quoted scalar", "close the quote opened here"),
)


def _syntax_problem(file: Path, text: str, exc: MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    problem = " ".join(str(p) for p in (exc.context, exc.problem) if p)
    problem = re.sub(r"\s+", " ", problem).strip() or "invalid YAML"
    full = str(exc)
    hint = next((h for needle, h in _SYNTAX_HINTS if needle in full), None)
    if hint is None:
        hint = "check indentation and quoting on this line and the one above"
    return f"{file}:{line}:{col}: YAML syntax error: {problem} (hint: {hint})"


def _pydantic_problem(
    file: Path,
    err: Any,
    data: dict[str, Any],
    positions: Mapping[Path_, Position],
    key_positions: Mapping[Path_, Position],
) -> str:
    loc: tuple[str | int, ...] = tuple(err["loc"])
    data_path = _data_path(loc, data)
    kind = err["type"]
    message = str(err["msg"]).removeprefix("Value error, ")
    suggestion: str | None = None
    if kind == "extra_forbidden":
        key = str(loc[-1])
        where = key_positions.get(data_path, _position(data_path, positions))
        allowed = _allowed_keys(loc[:-1])
        suggestion = nearest(key, allowed) if allowed else None
        listing = f"; valid keys: {', '.join(allowed)}" if allowed and not suggestion else ""
        return _line(file, where, f"unknown key `{key}`{listing}", suggestion)
    where = _position(data_path, positions)
    if kind == "missing":
        return _line(file, where, f"missing required key `{loc[-1]}`")
    if kind in ("literal_error", "enum"):
        expected = re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected", "")))
        suggestion = nearest(str(err.get("input")), expected)
    elif kind == "union_tag_invalid":
        expected = re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected_tags", "")))
        suggestion = nearest(str(err.get("ctx", {}).get("tag")), expected)
        field = str(err.get("ctx", {}).get("discriminator", "kind")).strip("'")
        tag = err.get("ctx", {}).get("tag")
        message = f"unknown {field} `{tag}`; use one of {', '.join(expected)}"
    label = ".".join(str(p) for p in data_path) or "ledger"
    return _line(file, where, f"{label}: {message}", suggestion)


def _data_path(loc: tuple[str | int, ...], data: Any) -> Path_:
    """The part of a pydantic error location that exists in the data (drops union tags)."""
    path: list[str | int] = []
    node = data
    for part in loc:
        present = (isinstance(node, dict) and isinstance(part, str) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        )
        if present:
            node = node[part]
            path.append(part)
        elif isinstance(node, dict) and isinstance(part, str) and part == "not_" and "not" in node:
            node = node["not"]
            path.append("not")
        elif isinstance(part, str) and not isinstance(node, dict | list):
            break
        elif isinstance(node, dict) and isinstance(part, str) and path and part[:1].isupper():
            continue  # a union tag such as Compare / All
        elif isinstance(node, dict) and isinstance(part, str) and part in _TAGS:
            continue  # a rule kind or source connector: pydantic's discriminator tag
        else:
            # the last part names a key that is not there (missing / extra): keep it
            path.append(part)
            break
    return tuple(path)


_TAGS = frozenset(
    {"stamp_on_change", "archive", "assign_id", "normalize", "xlsx", "google", "memory"}
    | {"wecom", "dingtalk", "feishu", "slack", "email"}  # notify destination kinds
)


def _allowed_keys(loc: tuple[str | int, ...]) -> list[str]:
    """The keys valid at ``loc`` (a pydantic location), following union tags."""
    current: Any = LedgerConfig
    for part in loc:
        current = _step(current, part)
        if current is None:
            return []
    model = _as_model(current)
    if model is None:
        return []
    return [info.alias or name for name, info in model.model_fields.items()]


def _unwrap(tp: Any) -> Any:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def _as_model(tp: Any) -> type[BaseModel] | None:
    tp = _unwrap(tp)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _union_members(tp: Any) -> list[Any]:
    tp = _unwrap(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return list(typing.get_args(tp))
    return []


def _tag_of(member: Any) -> str | None:
    if typing.get_origin(member) is typing.Annotated:
        for extra in typing.get_args(member)[1:]:
            tag = getattr(extra, "tag", None)
            if isinstance(tag, str):
                return tag
    model = _as_model(member)
    if model is not None:
        kind = model.model_fields.get("kind") or model.model_fields.get("connector")
        if kind is not None:
            args = typing.get_args(kind.annotation)
            if args and isinstance(args[0], str):
                return args[0]
        return model.__name__
    return None


def _step(current: Any, part: str | int) -> Any:
    """The type one location step below ``current``, or None when it cannot be followed."""
    members = _union_members(current)
    if members:
        for member in members:
            if _tag_of(member) == part:
                return member
        models = [m for m in members if _as_model(m) is not None]
        if len(models) == 1:
            return _step(models[0], part)
        return None
    model = _as_model(current)
    if model is not None:
        for name, info in model.model_fields.items():
            if part in (name, info.alias):
                return info.annotation
        return None
    tp = _unwrap(current)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (list, tuple) and isinstance(part, int) and args:
        return args[0]
    if origin is dict and isinstance(part, str) and len(args) == 2:
        return args[1]
    return None
