"""Pydantic's validation errors, said in an admin's words with the key and file:line.

Pydantic speaks of "a valid dictionary or instance of ColumnSpec" and "a valid tuple";
an admin editing a ledger file needs "`columns.ID` needs its settings (type, required …)
indented under it, but it has none". :func:`problem_line` turns one pydantic error into
one line ``file:line:col: `key.path`: message (hint: …)``: what the key should hold, what
it holds, and the likely fix (indentation, quotes, a full-width colon ``：``, the
nearest valid name).
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from syncer.config_yaml import FULL_WIDTH_COLON, FilePath, Position
from syncer.ledger import LedgerConfig, nearest
from syncer.rules import KINDS


def line(file: Path, where: Position, message: str, suggestion: str | None = None) -> str:
    """``file:line:col: message`` with a "did you mean" hint when there is a suggestion."""
    hint = f" (hint: did you mean `{suggestion}`?)" if suggestion else ""
    return f"{file}:{where[0]}:{where[1]}: {message}{hint}"


def line_order(text: str) -> tuple[int, int]:
    """Sort key of a problem line: its line and column numbers."""
    found = re.search(r":(\d+):(\d+): ", text)
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


def position(path: FilePath, positions: Mapping[FilePath, Position]) -> Position:
    """Where ``path`` is in the file, or where its nearest existing parent is."""
    while path not in positions:
        path = path[:-1]
    return positions[path]


def label(path: FilePath) -> str:
    """A key path as written in messages: ``columns.ID.type``, ``rules.0.when``."""
    return ".".join(str(p) for p in path) or "the ledger"


def describe(value: Any) -> str:
    """What a YAML value is, for "but it is …"."""
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:39] + "…"
        return f"the text `{shown}`"
    if isinstance(value, list):
        return f"a list of {len(value)} item(s)"
    if isinstance(value, dict):
        return "a mapping of keys"
    return f"`{value}`"


def _colon_hint(value: Any) -> str | None:
    if isinstance(value, str) and FULL_WIDTH_COLON in value:
        return (
            "the full-width colon `：` is not a YAML colon; type an ASCII `:` followed by a space"
        )
    return None


_KINDS_OF_VALUE = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list (`[a, b]`, or lines starting with `- `)",
    "tuple_type": "a list (`[a, b]`, or lines starting with `- `)",
    "set_type": "a list (`[a, b]`, or lines starting with `- `)",
    "path_type": "a file path (text)",
}


def problem_line(
    file: Path,
    err: Mapping[str, Any],
    data: dict[str, Any],
    positions: Mapping[FilePath, Position],
    key_positions: Mapping[FilePath, Position],
) -> str:
    """One ledger-file problem line for one pydantic error (see the module docstring)."""
    loc: tuple[str | int, ...] = tuple(err["loc"])
    path = _data_path(loc, data)
    kind = str(err["type"])
    ctx: Mapping[str, Any] = err.get("ctx") or {}
    given = err.get("input")
    where = _position_of(path, positions)
    if given is None and path in key_positions:
        where = key_positions[path]  # an empty value has no position of its own
    name = label(path)
    if kind == "extra_forbidden":
        key = str(loc[-1])
        at = key_positions.get(path, where)
        allowed = _allowed_keys(loc[:-1])
        suggestion = nearest(key, allowed) if allowed else None
        listing = f"; valid keys here: {', '.join(allowed)}" if allowed and not suggestion else ""
        colon = _colon_hint(key)
        if colon:
            return line(file, at, f"unknown key `{key}` (hint: {colon})")
        return line(file, at, f"unknown key `{key}`{listing}", suggestion)
    if kind == "missing":
        parent = label(path[:-1])
        inside = f" in `{parent}`" if path[:-1] else ""
        return line(file, where, f"missing required key `{loc[-1]}`{inside}")
    if kind in ("literal_error", "enum"):
        expected = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        suggestion = nearest(str(given), expected)
        message = f"`{name}` is {describe(given)}; use one of: {', '.join(expected)}"
        return line(file, where, message, suggestion)
    if kind == "union_tag_invalid" and "(" in str(ctx.get("discriminator", "")):
        message = (
            f"`{name}` should be a condition — a mapping with `column`, `op` and `value`, "
            f"or with `all:`, `any:` or `not:` — but it is {describe(given)}"
        )
        return line(file, where, message + " (hint: see docs/rules.md, Conditions)")
    if kind == "union_tag_invalid":
        expected = re.findall(r"'([^']*)'", str(ctx.get("expected_tags", "")))
        field = str(ctx.get("discriminator", "kind")).strip("'")
        tag = ctx.get("tag")
        message = f"`{name}`: unknown {field} `{tag}`; use one of: {', '.join(expected)}"
        return line(file, where, message, nearest(str(tag), expected))
    if kind == "union_tag_not_found":
        field = str(ctx.get("discriminator", "kind")).strip("'")
        return line(file, where, f"`{name}` needs a `{field}` key (hint: {_tag_hint(loc)})")
    if kind in ("model_type", "model_attributes_type", "dict_type", "mapping_type"):
        if given is None or (path[-1:] and str(path[-1]) in _allowed_keys_of_path(path)):
            where = key_positions.get(path, where)  # the key is what is out of place
        elif isinstance(given, str) and FULL_WIDTH_COLON in given:
            where = (where[0], where[1] + given.index(FULL_WIDTH_COLON))
        return line(file, where, _mapping_message(name, path, given))
    if kind in _KINDS_OF_VALUE:
        message = f"`{name}` should be {_KINDS_OF_VALUE[kind]}, but it is {describe(given)}"
        hint = _colon_hint(given) or _quote_hint(kind, given, path)
        return line(file, where, message + (f" (hint: {hint})" if hint else ""))
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = {
            "greater_than_equal": f"at least {ctx.get('ge')}",
            "greater_than": f"more than {ctx.get('gt')}",
            "less_than_equal": f"at most {ctx.get('le')}",
            "less_than": f"less than {ctx.get('lt')}",
        }[kind]
        return line(file, where, f"`{name}` must be {bound}, but it is {given}")
    if kind in ("too_short", "too_long"):
        limit = ctx.get("min_length") if kind == "too_short" else ctx.get("max_length")
        many = "at least" if kind == "too_short" else "at most"
        return line(file, where, f"`{name}` needs {many} {limit} item(s)")
    if kind in ("value_error", "assertion_error"):
        message = str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
        return line(file, where, f"`{name}`: {message}")
    message = _plain_words(str(err["msg"]))
    return line(file, where, f"`{name}`: {message}, but it is {describe(given)}")


def _position_of(path: FilePath, positions: Mapping[FilePath, Position]) -> Position:
    return position(path, positions) if path else positions.get((), (1, 1))


def _quote_hint(kind: str, given: Any, path: FilePath) -> str | None:
    if kind == "string_type" and isinstance(given, int | float | bool | date):
        return "put the value in quotes to keep it as text, e.g. '0755'"
    if kind in ("list_type", "tuple_type", "set_type") and isinstance(given, str):
        if path and isinstance(path[-1], int):
            return f"each item of `{label(path[:-1])}` is itself a list, e.g. [[a, b]]"
        return "write the items in brackets, e.g. [a, b]"
    return None


def _tag_hint(loc: tuple[str | int, ...]) -> str:
    if "rules" in loc:
        return f"start the rule with `kind:` — one of {', '.join(KINDS)}"
    return "start the source with `connector:` — one of xlsx, google, memory"


def _mapping_message(name: str, path: FilePath, given: Any) -> str:
    """A key that should hold keys of its own (a column's settings, a rule, tabs …)."""
    keys = _allowed_keys_of_path(path)
    listing = f" ({', '.join(keys[:4])} …)" if keys else ""
    last = str(path[-1]) if path else "this key"
    if given is None:
        return (
            f"`{name}` needs its settings{listing} indented under it, but it has none "
            f"(hint: indent the lines that belong to `{last}` by two more spaces)"
        )
    siblings = _allowed_keys_of_path(path)
    if path and isinstance(path[-1], int):
        hint = "write this item as `key: value` settings after its `- `, one per line"
    elif last in siblings:
        hint = f"`{last}` is a setting, not a name: indent it under the entry above it"
    else:
        hint = _colon_hint(given) or (
            f"write each setting on its own line under `{last}`, indented, as `key: value`"
        )
    found = describe(given)
    return f"`{name}` should be a mapping of settings{listing}, but it is {found} (hint: {hint})"


def _plain_words(message: str) -> str:
    """Pydantic's fallback wording without class names."""
    message = re.sub(r" or instance of \w+", "", message)
    message = re.sub(r" for <class '[^']*'>", "", message)
    message = message.replace("Input should be", "should be")
    return message[:1].lower() + message[1:]


def _data_path(loc: tuple[str | int, ...], data: Any) -> FilePath:
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
        elif isinstance(node, dict) and isinstance(part, str) and part in _tags():
            continue  # a rule kind or source connector: pydantic's discriminator tag
        else:
            # the last part names a key that is not there (missing / extra): keep it
            path.append(part)
            break
    return tuple(path)


def _tags() -> frozenset[str]:
    """Discriminator values pydantic puts in an error's location (rule, source and
    notification kinds), skipped when mapping it back to a place in the file."""
    return frozenset(
        {*KINDS, "xlsx", "google", "memory", "wecom", "dingtalk", "feishu", "slack", "email"}
    )


def _allowed_keys_of_path(path: FilePath) -> list[str]:
    """The keys valid under a data path (rules and sources by their kind/connector)."""
    return _allowed_keys(path)


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
