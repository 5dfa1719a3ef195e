"""Tests of syncer.config: loading ledger files with file:line:col problems and hints."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from syncer.config import ledger_json_schema, load_ledger, load_ledgers
from syncer.errors import ConfigError
from syncer.ledger import AnyOf, Archive, Compare, LedgerConfig, StampOnChange, XlsxSource

REPO = Path(__file__).resolve().parents[2]
SALES = REPO / "config" / "ledgers" / "sales.yaml"
SERVICE = REPO / "config" / "examples" / "service-en.yaml"

MINIMAL = """\
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
    required: true
  Phone:
    type: phone
"""


def write(tmp_path: Path, text: str, name: str = "ledger.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_ledgers(path)
    return info.value.problems


def test_sales_example_loads_with_the_template_columns() -> None:
    """The shipped sales ledger loads: header row 2, zh-CN, the 20 template columns."""
    ledger = load_ledger(SALES)
    assert ledger.header_row == 2
    assert ledger.locale == "zh-CN"
    assert ledger.timezone == "Asia/Shanghai"
    assert (ledger.tabs.main, ledger.tabs.history, ledger.tabs.errors) == (
        "基础信息",
        "客户历史库",
        "校验错误",
    )
    assert list(ledger.columns)[:3] == ["客户编号", "客户名称", "所属行业"]
    assert "合同金额(元)" in ledger.columns
    assert ledger.unique_together == [["联系人姓名", "联系方式"]]
    archive = next(r for r in ledger.rules if isinstance(r, Archive))
    assert isinstance(archive.when, AnyOf)
    assert archive.when.any[0] == Compare(column="合作状态", op="equals", value="流失客户")
    stamps = {r.target: r.watch for r in ledger.rules if isinstance(r, StampOnChange)}
    assert stamps == {"状态变更时间": ["合作状态"], "最近跟进时间": ["跟进内容"]}


def test_xlsx_path_is_resolved_relative_to_the_ledger_file() -> None:
    """source.path becomes absolute, relative to the ledger file's directory."""
    source = load_ledger(SALES).source
    assert isinstance(source, XlsxSource)
    assert source.path == REPO / "var" / "客户信息管理_销售部_2024.xlsx"


def test_english_example_loads_with_its_own_columns() -> None:
    """The English service ledger loads and does not use the Chinese template."""
    ledger = load_ledger(SERVICE)
    assert ledger.locale == "en"
    assert "联系方式" not in ledger.columns
    assert ledger.columns["Channels"].type == "multi_choice"


def test_directory_loads_every_yaml_file_sorted(tmp_path: Path) -> None:
    """A directory yields one ledger per *.yaml/*.yml file, in file-name order."""
    write(tmp_path, MINIMAL.replace("name: demo", "name: b"), "b.yml")
    write(tmp_path, MINIMAL.replace("name: demo", "name: a"), "a.yaml")
    (tmp_path / "notes.txt").write_text("not a ledger", encoding="utf-8")
    assert [ledger.name for ledger in load_ledgers(tmp_path)] == ["a", "b"]


def test_duplicate_ledger_names_are_an_error_naming_both_files(tmp_path: Path) -> None:
    """Two files with the same ledger name: the second is reported, pointing at the first."""
    write(tmp_path, MINIMAL, "a.yaml")
    write(tmp_path, MINIMAL, "b.yaml")
    (problem,) = problems_of(tmp_path)
    assert problem.startswith(f"{tmp_path / 'b.yaml'}:1:7: ledger name `demo` is already used")
    assert f"{tmp_path / 'a.yaml'}:1:7" in problem


def test_unknown_key_points_at_the_key_and_suggests_the_nearest(tmp_path: Path) -> None:
    """A misspelt key is reported at its line and column with the nearest valid key."""
    path = write(tmp_path, MINIMAL.replace("    required: true", "    requird: true"))
    assert problems_of(path) == [
        f"{path}:13:5: unknown key `requird` (hint: did you mean `required`?)"
    ]


def test_unknown_top_level_key(tmp_path: Path) -> None:
    """A misspelt top-level key suggests the nearest ledger field."""
    path = write(tmp_path, MINIMAL + "headr_row: 2\n")
    assert problems_of(path) == [
        f"{path}:16:1: unknown key `headr_row` (hint: did you mean `header_row`?)"
    ]


def test_bad_literal_value_suggests_the_nearest_allowed_value(tmp_path: Path) -> None:
    """A column type outside the allowed list points at the value and suggests one."""
    path = write(tmp_path, MINIMAL.replace("type: phone", "type: phnoe"))
    (problem,) = problems_of(path)
    assert problem.startswith(
        f"{path}:15:11: `columns.Phone.type` is the text `phnoe`; use one of:"
    )
    assert problem.endswith("(hint: did you mean `phone`?)")


def test_rule_naming_a_missing_column_suggests_the_nearest_column(tmp_path: Path) -> None:
    """A rule watching a column that is not configured names the nearest column."""
    rules = "rules:\n  - kind: stamp_on_change\n    watch: [Nmae]\n    target: Changed\n"
    path = write(tmp_path, MINIMAL + rules)
    assert problems_of(path) == [
        f"{path}:18:13: rule stamp_on_change names column `Nmae`, not one of `columns` "
        "(hint: did you mean `Name`?)"
    ]


def test_nested_condition_errors_point_inside_the_condition(tmp_path: Path) -> None:
    """A bad op deep in an any/all condition is reported at the op's position only."""
    rules = """\
rules:
  - kind: archive
    when:
      any:
        - {column: Name, op: equals, value: x}
        - all:
            - {column: Phone, op: older_then, value: 90d}
"""
    path = write(tmp_path, MINIMAL + rules)
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:22:35: `rules.0.when.any.1.all.0.op` is the text")
    assert problem.endswith("(hint: did you mean `older_than`?)")


def test_condition_column_references_are_checked(tmp_path: Path) -> None:
    """Columns named inside archive conditions must exist in `columns`."""
    rules = "rules:\n  - kind: archive\n    when: {not: {column: Phnoe, op: empty}}\n"
    path = write(tmp_path, MINIMAL + rules)
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:18:")
    assert "`Phnoe`" in problem
    assert problem.endswith("(hint: did you mean `Phone`?)")


def test_unknown_rule_kind_suggests_the_nearest_kind(tmp_path: Path) -> None:
    """A misspelt rule kind lists the kinds and suggests the nearest."""
    path = write(
        tmp_path, MINIMAL + "rules:\n  - kind: archve\n    when: {column: ID, op: empty}\n"
    )
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:17:5: `rules.0`: unknown kind `archve`; use one of:")
    assert problem.endswith("(hint: did you mean `archive`?)")


def test_key_and_unique_together_must_name_configured_columns(tmp_path: Path) -> None:
    """key and unique_together entries not in `columns` are reported with the nearest name."""
    text = MINIMAL.replace("key: ID", "key: Id") + "unique_together:\n  - [Name, Phnoe]\n"
    path = write(tmp_path, text)
    assert problems_of(path) == [
        f"{path}:7:6: key column `Id` is not one of the ledger's `columns` "
        "(hint: did you mean `ID`?)",
        f"{path}:17:12: unique_together column `Phnoe` is not one of the ledger's `columns` "
        "(hint: did you mean `Phone`?)",
    ]


def test_misspelt_annotation_column_is_caught(tmp_path: Path) -> None:
    """An annotation column that is a near miss of a configured column is reported."""
    path = write(tmp_path, MINIMAL + "annotation_column: Nam\n")
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:16:20: robot-owned column `Nam`")
    assert problem.endswith("(hint: did you mean `Name`?)")


def test_missing_required_key_is_reported(tmp_path: Path) -> None:
    """A ledger without `key` names the missing key."""
    path = write(tmp_path, MINIMAL.replace("key: ID\n", ""))
    assert problems_of(path) == [f"{path}:1:1: missing required key `key`"]


@pytest.mark.parametrize(
    ("text", "position", "hint"),
    [
        ("name: x\nkey: a: b\n", "2:7", "put quotes around"),
        ("name: x\nname: y\n", "2:1", "each key may appear once"),
        ("name: x\ncolumns: [a, b\n", "3:1", "check"),
    ],
)
def test_yaml_syntax_errors_have_position_and_hint(
    tmp_path: Path, text: str, position: str, hint: str
) -> None:
    """Broken YAML is reported at file:line:col with a hint about the likely cause."""
    path = write(tmp_path, text)
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:{position}: YAML syntax error:")
    assert f"(hint: {hint}" in problem


def test_a_file_that_is_not_a_mapping_is_rejected(tmp_path: Path) -> None:
    """A YAML list or scalar at the top level is not a ledger."""
    path = write(tmp_path, "- just\n- a list\n")
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:1:1: a ledger file is a mapping")


def test_invalid_regex_and_timezone_are_rejected(tmp_path: Path) -> None:
    """A pattern that does not compile and an unknown timezone are config errors."""
    text = MINIMAL.replace("  ID:\n    type: text", "  ID:\n    type: text\n    pattern: '[a-'")
    path = write(tmp_path, text + "timezone: Mars/Olympus\n")
    found = problems_of(path)
    assert len(found) == 2
    assert "not a valid regular expression" in found[0]
    assert "unknown timezone 'Mars/Olympus'" in found[1]


def test_missing_path_is_a_config_error(tmp_path: Path) -> None:
    """A config path that does not exist raises ConfigError naming it."""
    with pytest.raises(ConfigError, match="no such file or directory"):
        load_ledgers(tmp_path / "nope")


def test_json_schema_describes_ledger_files() -> None:
    """The JSON Schema lists the ledger keys, forbids unknown ones and knows rule kinds."""
    schema = ledger_json_schema()
    assert schema["additionalProperties"] is False
    assert {"name", "source", "tabs", "columns", "rules", "header_row"} <= set(schema["properties"])
    text = str(schema)
    for kind in ("stamp_on_change", "archive", "assign_id", "normalize"):
        assert kind in text


def test_loaded_ledgers_validate_again_from_their_dump() -> None:
    """A loaded ledger round-trips through model_dump/model_validate unchanged."""
    ledger = load_ledger(SALES)
    again = LedgerConfig.model_validate(ledger.model_dump(by_alias=True))
    assert again == ledger


def test_env_example_documents_every_setting() -> None:
    """config/.env.example names every SYNCER_ setting of syncer.settings.Settings."""
    from syncer.settings import Settings

    text = (REPO / "config" / ".env.example").read_text(encoding="utf-8")
    missing = [name for name in Settings.model_fields if f"SYNCER_{name.upper()}=" not in text]
    assert missing == []
