"""Loading ledger files: YAML with positions → :class:`~syncer.ledger.LedgerConfig`.

Every problem becomes one line ``file:line:col: message (hint: did you mean `x`?)``,
collected over the whole file (and over every file of a directory) and raised together
as one :class:`~syncer.errors.ConfigError`. Positions come from ruamel.yaml's node
marks, so an admin is pointed at the exact key or value that is wrong.

Reading the YAML safely (size, depth and alias bounds, known tags only, merge keys) is
:mod:`syncer.config_yaml`; pydantic's errors are put in an admin's words by
:mod:`syncer.config_messages`. Loading never raises anything but ConfigError, whatever
the file holds, so a daemon reloading a directory keeps running on a hostile file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from syncer.config_messages import line, line_order, position, problem_line
from syncer.config_yaml import FilePath, Position, read_document
from syncer.errors import ConfigError
from syncer.ledger import LedgerConfig

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


# --- one file ---------------------------------------------------------------------------


def _load(file: Path) -> tuple[LedgerConfig, dict[FilePath, Position]]:
    try:
        return _load_checked(file)
    except ConfigError:
        raise
    except RecursionError as exc:
        raise ConfigError(
            f"{file}:1:1: the file nests too deeply to be read (hint: check brackets)"
        ) from exc
    except Exception as exc:  # a bug must not stop the other files (or the daemon)
        raise ConfigError(
            f"{file}:1:1: this ledger file could not be checked (internal error "
            f"{exc.__class__.__name__}: {exc}); please report it with the file"
        ) from exc


def _load_checked(file: Path) -> tuple[LedgerConfig, dict[FilePath, Position]]:
    doc = read_document(file)
    data = doc.data
    _resolve_source_path(data, file)
    try:
        ledger = LedgerConfig.model_validate(data)
    except ValidationError as exc:
        problems = [
            problem_line(file, e, data, doc.positions, doc.key_positions) for e in exc.errors()
        ]
        raise ConfigError(sorted(dict.fromkeys(problems), key=line_order)) from exc
    references = ledger.check_references()
    if references:
        lines = [
            line(file, position(r.path, doc.positions), r.message, r.suggestion) for r in references
        ]
        raise ConfigError(sorted(lines, key=line_order))
    return ledger, doc.positions


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
