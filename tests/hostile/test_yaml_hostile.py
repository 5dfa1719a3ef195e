"""Hostile and surprising YAML in ledger files (issue 10, item 4), each with the input that
broke `syncer check` or a running daemon before: the loader and the real CLI must answer
with one ``file:line:col`` problem in an admin's words, never a traceback."""

from __future__ import annotations

import threading
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

import syncer.cli.commands  # noqa: F401  (registers every command)
from syncer import metrics
from syncer.cli.app import app
from syncer.config import load_ledger, load_ledgers
from syncer.config_yaml import MAX_ALIASED_VALUES, MAX_BYTES, MAX_DEPTH
from syncer.daemon import Daemon, serve
from syncer.engine import CycleResult
from syncer.errors import ConfigError
from syncer.ledger import LedgerConfig
from syncer.settings import Settings

BASE = """\
name: demo
source:
  connector: xlsx
  path: book.xlsx
tabs:
  main: Customers
key: ID
columns:
  ID:
    type: text
  Name:
    type: text
"""

#: Nine levels of nine aliases each: 9**9 (387 million) "lol"s once expanded.
BILLION_LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(ord('a') + i)}: &{chr(ord('a') + i)} [{', '.join(['*' + chr(ord('a') + i - 1)] * 9)}]\n"
    for i in range(1, 10)
)

runner = CliRunner()
#: Words of pydantic's that an admin should never read.
PYDANTIC_WORDS = ("Input should be", "instance of", "valid tuple", "valid dictionary", "[type=")


def write(tmp_path: Path, text: str, name: str = "ledger.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    """The loader's problem lines for ``path`` (it must raise ConfigError)."""
    with pytest.raises(ConfigError) as info:
        load_ledgers(path)
    return info.value.problems


def check(*paths: Path) -> tuple[int, list[str]]:
    """`syncer check PATHS`: exit code and the problem lines on stdout."""
    result = runner.invoke(app, ["check", *map(str, paths)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout.splitlines()


# --- size, aliases, depth -------------------------------------------------------------------


def test_billion_laughs_is_refused_at_the_alias_with_bounded_memory(tmp_path: Path) -> None:
    """A billion-laughs file is one problem at the alias that crosses the bound, and
    loading it allocates a few megabytes at most (it used to take 3.5 GB)."""
    path = write(tmp_path, BILLION_LAUGHS)
    tracemalloc.start()
    try:
        (problem,) = problems(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 1024 * 1024
    assert problem.startswith(f"{path}:5:")
    assert f"aliases expand to more than {MAX_ALIASED_VALUES:,} values" in problem
    assert "billion-laughs" in problem


def test_billion_laughs_through_the_cli(tmp_path: Path) -> None:
    """`syncer check` on the same file exits 1 with the file:line problem, no traceback."""
    path = write(tmp_path, BILLION_LAUGHS)
    code, lines = check(path)
    assert code == 1
    assert lines[0].startswith(f"{path}:5:")
    assert "aliases expand" in lines[0]


def test_aliases_that_nest_deeper_than_the_bound_are_refused(tmp_path: Path) -> None:
    """Each alias nesting the previous one grows depth, not size: refused by depth."""
    lines = ["a0: &a0 [x]"]
    lines += [f"a{i}: &a{i} [*a{i - 1}]" for i in range(1, MAX_DEPTH + 5)]
    path = write(tmp_path, "\n".join(lines) + "\n")
    (problem,) = problems(path)
    assert f"nests deeper than {MAX_DEPTH} levels" in problem
    assert problem.startswith(f"{path}:{MAX_DEPTH}:")


def test_deep_brackets_are_refused_without_recursion_error(tmp_path: Path) -> None:
    """A file of 100,000 opening brackets is a depth problem on line 1."""
    path = write(tmp_path, "a: " + "[" * 100_000 + "\n")
    (problem,) = problems(path)
    assert problem.startswith(f"{path}:1:")
    assert "nests deeper" in problem


def test_an_oversized_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    """A file larger than the bound is refused at 1:1 naming the size limit."""
    path = write(tmp_path, BASE + "description: '" + "x" * MAX_BYTES + "'\n")
    (problem,) = problems(path)
    assert problem.startswith(f"{path}:1:1: the file is larger than {MAX_BYTES // 1024} KiB")


def test_reasonable_anchor_reuse_still_loads(tmp_path: Path) -> None:
    """Anchors and aliases an admin writes to share settings keep working."""
    text = BASE.replace("  ID:\n    type: text\n", "  ID: &text {type: text}\n")
    text += "".join(f"  Extra{i}: *text\n" for i in range(50))
    ledger = load_ledger(write(tmp_path, text))
    assert ledger.columns["Extra49"].type == "text"


def test_a_daemon_reloading_a_billion_laughs_file_keeps_running(tmp_path: Path) -> None:
    """Dropped into a running daemon's ledger directory, the file is a failed reload
    (metered); the daemon keeps its ledgers and stops cleanly with exit 0."""
    config = tmp_path / "ledgers"
    config.mkdir()
    (config / "demo.yaml").write_text(BASE, encoding="utf-8")
    ledgers = load_ledgers(config)
    calls: list[str] = []

    def cycle(ledger: LedgerConfig) -> CycleResult:
        calls.append(ledger.name)
        now = datetime.now(UTC)
        return CycleResult(ledger.name, "c", now, now, "ok")

    def failed() -> float:
        return (
            metrics.REGISTRY.get_sample_value("syncer_config_reloads_total", {"outcome": "failed"})
            or 0.0
        )

    before = failed()
    daemon = Daemon(ledgers, run_cycle=cycle, run_at_start=False)
    settings = Settings(http_port=0, config_path=config)
    stop = threading.Event()
    codes: list[int] = []
    thread = threading.Thread(
        target=lambda: codes.append(
            serve(settings, [], daemon=daemon, stop=stop, watch_seconds=0.05)
        )
    )
    thread.start()
    try:
        _wait_for(lambda: daemon.scheduler.running)
        (config / "laughs.yaml").write_text(BILLION_LAUGHS, encoding="utf-8")
        _wait_for(lambda: failed() >= before + 1)
        assert daemon.ledgers == ["demo"]
    finally:
        stop.set()
        thread.join(30)
    assert codes == [0]


def _wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("condition not reached in time")
        time.sleep(0.02)


# --- merge keys and tags ----------------------------------------------------------------------


def test_merge_keys_work_and_explicit_keys_win(tmp_path: Path) -> None:
    """`Owner: {<<: *req, max_length: 20}` merges the anchored settings (it gave KeyError)."""
    text = BASE.replace(
        "  Name:\n    type: text\n", "  Name: &req\n    type: text\n    required: true\n"
    )
    text += "  Owner: {<<: *req, max_length: 20}\n  Deputy:\n    <<: *req\n    required: false\n"
    ledger = load_ledger(write(tmp_path, text))
    assert (ledger.columns["Owner"].required, ledger.columns["Owner"].max_length) == (True, 20)
    assert ledger.columns["Deputy"].required is False
    code, lines = check(tmp_path / "ledger.yaml")
    assert code == 0, lines


def test_an_error_in_a_merged_value_points_at_the_anchor(tmp_path: Path) -> None:
    """A bad value brought in by `<<` is reported where the anchored mapping writes it."""
    text = BASE.replace("  Name:\n    type: text\n", "  Name: &req\n    type: txet\n")
    text += "  Owner: {<<: *req, max_length: 20}\n"
    path = write(tmp_path, text)
    found = problems(path)
    assert found[0].startswith(f"{path}:12:11: `columns.Name.type` is the text `txet`")
    assert found[1].startswith(f"{path}:12:11: `columns.Owner.type` is the text `txet`")


@pytest.mark.parametrize(
    ("value", "tag"),
    [
        ('!!python/object/apply:os.system ["echo pwned"]', "!!python/object/apply:os.system"),
        ("!!python/name:os.system", "!!python/name:os.system"),
        ("!custom x", "!custom"),
        ("!!binary aGVsbG8=", "!!binary"),
    ],
)
def test_unknown_tags_are_refused_with_their_position(tmp_path: Path, value: str, tag: str) -> None:
    """Any tag but the plain YAML types is refused at its line (it gave a TypeError)."""
    path = write(tmp_path, BASE + f"description: {value}\n")
    code, lines = check(path)
    assert code == 1
    assert lines == [
        f"{path}:13:14: the tag `{tag}` is not allowed "
        "(hint: a ledger file holds plain values; remove the tag)"
    ]


def test_plain_type_tags_are_allowed(tmp_path: Path) -> None:
    """`!!str 2024` keeps a value as text, as YAML intends."""
    ledger = load_ledger(write(tmp_path, BASE + "description: !!str 2024\n"))
    assert ledger.description == "2024"


# --- characters that break YAML -----------------------------------------------------------------


def test_full_width_colon_is_named_at_its_own_line(tmp_path: Path) -> None:
    """`key： 客户编号` is reported at the `：` itself, not at the next line."""
    path = write(tmp_path, BASE.replace("key: ID", "key： 客户编号"))
    code, lines = check(path)
    assert code == 1
    (problem,) = lines[:1]
    assert problem.startswith(f"{path}:7:4: the full-width colon `：` (U+FF1A)")
    assert "type an ASCII `:` followed by a space" in problem


def test_full_width_colon_before_an_indented_block(tmp_path: Path) -> None:
    """A column written `ID：` above its settings is named at line and column of `：`."""
    path = write(tmp_path, BASE.replace("  ID:\n", "  ID：\n"))
    (problem,) = problems(path)
    assert problem.startswith(f"{path}:9:5: the full-width colon `：`")


def test_full_width_colon_that_yaml_accepts_as_text_is_still_named(tmp_path: Path) -> None:
    """`main： Customers` parses as one text; the type problem names the `：` anyway."""
    path = write(tmp_path, BASE.replace("tabs:\n  main: Customers\n", "tabs: main： Customers\n"))
    (problem,) = problems(path)
    assert problem.startswith(f"{path}:5:11: `tabs` should be a mapping of settings")
    assert "full-width colon `：`" in problem


@pytest.mark.parametrize(
    ("text", "where", "hint"),
    [
        (BASE.replace("  connector: xlsx", "\tconnector: xlsx"), "3:1", "indent with spaces"),
        (BASE.replace("key: ID", "key:\tID"), "7:5", "replace the tab with spaces"),
        (BASE + "description: a\tb\n", "13:15", "quote the value"),
    ],
)
def test_a_tab_character_is_named_at_its_position(
    tmp_path: Path, text: str, where: str, hint: str
) -> None:
    """A tab that breaks the YAML is named as a tab, at its own line and column."""
    path = write(tmp_path, text)
    (problem,) = problems(path)
    assert problem.startswith(f"{path}:{where}: a tab character is not allowed here")
    assert hint in problem


# --- pydantic's words, translated -------------------------------------------------------------


def test_wrong_indentation_is_said_in_an_admins_words(tmp_path: Path) -> None:
    """A column whose settings are not indented names the column, the key out of place and
    the fix (it said "valid dictionary or instance of ColumnSpec")."""
    path = write(tmp_path, BASE.replace("  ID:\n    type: text\n", "  ID:\n  type: text\n"))
    code, lines = check(path)
    assert code == 1
    assert lines == [
        f"{path}:9:3: `columns.ID` needs its settings (type, required, placeholders, values …) "
        "indented under it, but it has none (hint: indent the lines that belong to `ID` by "
        "two more spaces)",
        f"{path}:10:3: `columns.type` should be a mapping of settings (type, required, "
        "placeholders, values …), but it is the text `text` (hint: `type` is a setting, not "
        "a name: indent it under the entry above it)",
    ]


def test_a_flat_unique_together_says_it_is_a_list_of_lists(tmp_path: Path) -> None:
    """`unique_together: [a, b]` explains the expected [[a, b]] (it said "valid list")."""
    path = write(tmp_path, BASE + "unique_together: [ID, Name]\n")
    found = problems(path)
    assert found[0] == (
        f"{path}:13:19: `unique_together.0` should be a list (`[a, b]`, or lines starting "
        "with `- `), but it is the text `ID` (hint: each item of `unique_together` is itself "
        "a list, e.g. [[a, b]])"
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("header_row: 2", "header_row: two"), "`header_row` should be a whole number"),
        (("header_row: 2", "header_row: 0"), "`header_row` must be at least 1, but it is 0"),
        (
            ("    type: text\n  Name", "    type: text\n    required: maybe\n  Name"),
            "true or false",
        ),
        (("    type: text\n  Name", "    type: text\n    values: abc\n  Name"), "should be a list"),
        (("tabs:\n  main: Customers", "tabs:\n  main: [a]"), "`tabs.main` should be text"),
        (("  path: book.xlsx\n", ""), "missing required key `path` in `source`"),
        (("rules: []", "rules:\n  - watch: [ID]"), "`rules.0` needs a `kind` key"),
        (
            ("rules: []", "rules:\n  - kind: stamp_on_change\n    watch: []\n    target: T"),
            "`rules.0.watch` needs at least 1 item(s)",
        ),
        (("rules: []", "rules: {kind: archive}"), "`rules` should be a list"),
        (("columns:", "columns: []\nx:"), "`columns` should be a mapping of settings"),
        (("name: demo", "name: 1.5"), "`name` should be text, but it is the number 1.5"),
        (
            ("rules: []", "rules:\n  - kind: archive\n    when: [a]"),
            "`rules.0.when` should be a condition",
        ),
        (("rules: []", "rules:\n  - archive"), "`rules.0` should be a mapping of settings"),
        (("  connector: xlsx", "  connector: excel"), "unknown connector `excel`"),
        (("header_row: 2", "locale: fr"), "`locale` is the text `fr`; use one of: zh-CN, en"),
        (("  path: book.xlsx", "  path: 5"), "`source.path` should be a file path (text)"),
        (("key: ID", "key:"), ":7:1: `key` should be text, but it is empty"),
    ],
)
def test_every_value_problem_is_in_plain_words(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    """Type, range, length and missing-key problems name the key in plain words, never
    pydantic's ("Input should be", "instance of", "valid tuple")."""
    text = (BASE + "header_row: 2\nrules: []\n").replace(*change)
    path = write(tmp_path, text)
    found = problems(path)
    assert any(expected in p for p in found), found
    for line in found:
        assert line.startswith(f"{path}:")
        assert not any(word in line for word in PYDANTIC_WORDS), line


def test_an_impossible_date_is_a_positioned_problem(tmp_path: Path) -> None:
    """`2024-02-30` (a value YAML reads as a date) is reported at its line, not raised."""
    path = write(tmp_path, BASE + "description: 2024-02-30\n")
    (problem,) = problems(path)
    assert problem.startswith(f"{path}:13:14: this value cannot be read")
    assert "quotes" in problem


def test_non_utf8_and_two_documents_are_problems(tmp_path: Path) -> None:
    """A GBK-encoded file and a file with two documents each give one clear problem."""
    gbk = tmp_path / "gbk.yaml"
    gbk.write_bytes(BASE.replace("Name", "客户名称").encode("gbk"))
    (problem,) = problems(gbk)
    assert "is not UTF-8 text" in problem
    two = write(tmp_path, BASE + "---\nname: other\n", "two.yaml")
    (problem,) = problems(two)
    assert "one document" in problem


@pytest.mark.parametrize(("char", "code"), [("\x00", "U+0000"), ("\x07", "U+0007")])
def test_an_invisible_control_character_is_located(tmp_path: Path, char: str, code: str) -> None:
    """A NUL or bell character pasted into a value is named at its line and column."""
    path = write(tmp_path, BASE + f"description: a{char}b\n")
    (problem,) = problems(path)
    assert problem.startswith(f"{path}:13:15: the file holds the character {code}")


def test_a_tag_from_a_tag_directive_is_refused_by_its_full_name(tmp_path: Path) -> None:
    """`%TAG` shorthands cannot smuggle a tag in: it is refused under its expanded name."""
    text = "%TAG !e! tag:example.com,2000:\n---\n" + BASE + "description: !e!foo x\n"
    (problem,) = problems(write(tmp_path, text))
    assert ":15:14: the tag `tag:example.com,2000:foo` is not allowed" in problem
