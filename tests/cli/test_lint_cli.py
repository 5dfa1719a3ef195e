"""CLI tests of `syncer check`, `syncer schema` and `syncer example`."""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from syncer.cli import commands  # noqa: F401  (registers every command)
from syncer.cli.app import app
from syncer.examples import HEADER, MAIN_TAB, MESS

REPO = Path(__file__).resolve().parents[2]
SALES = REPO / "config" / "ledgers" / "sales.yaml"
SERVICE = REPO / "config" / "examples" / "service-en.yaml"
runner = CliRunner()


def test_check_accepts_the_shipped_examples() -> None:
    """`syncer check` on the example ledgers exits 0 with an ok summary per ledger."""
    result = runner.invoke(app, ["check", str(SALES), str(SERVICE)])
    assert result.exit_code == 0, result.output
    assert "ok  sales: 21 columns, 5 rule(s)" in result.output
    assert "ok  service-desk:" in result.output
    assert "ok: 2 ledger(s) checked, no problems" in result.output


def test_check_accepts_a_directory(tmp_path: Path) -> None:
    """A directory argument checks every ledger file in it."""
    shutil.copy(SALES, tmp_path / "sales.yaml")
    shutil.copy(SERVICE, tmp_path / "service.yml")
    result = runner.invoke(app, ["check", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "ok: 2 ledger(s) checked" in result.output


def test_check_points_at_the_broken_line(tmp_path: Path) -> None:
    """A misspelt key exits 1 and prints file:line:col with the nearest valid key."""
    text = SALES.read_text(encoding="utf-8").replace("header_row: 2", "headr_row: 2")
    line = text.splitlines().index(next(s for s in text.splitlines() if "headr_row" in s)) + 1
    broken = tmp_path / "sales.yaml"
    broken.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["check", str(broken)])
    assert result.exit_code == 1
    assert f"{broken}:{line}:1: unknown key `headr_row` (hint: did you mean `header_row`?)" in (
        result.stdout
    )


def test_check_reports_yaml_syntax_errors_of_every_file(tmp_path: Path) -> None:
    """Problems of several files are all printed before exiting 1."""
    first = tmp_path / "a.yaml"
    first.write_text("name: a\nkey: x: y\n", encoding="utf-8")
    second = tmp_path / "b.yaml"
    second.write_text("- not a mapping\n", encoding="utf-8")
    result = runner.invoke(app, ["check", str(first), str(second)])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{first}:2:7: YAML syntax error")
    assert lines[1].startswith(f"{second}:1:1: a ledger file is a mapping")


def test_schema_prints_json_schema() -> None:
    """`syncer schema` prints a JSON Schema that forbids unknown top-level keys."""
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["additionalProperties"] is False
    assert "columns" in schema["properties"]


def test_schema_writes_a_file(tmp_path: Path) -> None:
    """`syncer schema -o FILE` writes the same schema to a file."""
    target = tmp_path / "ledger.schema.json"
    result = runner.invoke(app, ["schema", "-o", str(target)])
    assert result.exit_code == 0
    assert json.loads(target.read_text(encoding="utf-8"))["title"] == "syncer ledger file"


def test_example_writes_the_messy_workbook_and_refuses_to_overwrite(tmp_path: Path) -> None:
    """`syncer example PATH` writes the workbook once; a second call without --force exits 1."""
    target = tmp_path / "book.xlsx"
    result = runner.invoke(app, ["example", str(target), "--rows", "30"])
    assert result.exit_code == 0, result.output
    sheet = openpyxl.load_workbook(target)[MAIN_TAB]
    assert tuple(c.value for c in sheet[2]) == HEADER
    assert sheet.max_row == 32
    sheet.parent.save(target)
    again = runner.invoke(app, ["example", str(target)])
    assert again.exit_code == 1
    assert "--force" in again.output
    forced = runner.invoke(app, ["example", str(target), "--force"])
    assert forced.exit_code == 0
    assert openpyxl.load_workbook(target)[MAIN_TAB].max_row == 42


def test_example_default_path_is_the_sales_ledger_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without PATH the workbook lands where config/ledgers/sales.yaml expects it."""
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["example"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "var" / "客户信息管理_销售部_2024.xlsx").exists()


def test_example_dates_follow_the_reference_day(tmp_path: Path) -> None:
    """`--today` anchors follow-up dates, so a fresh example is not all stale on any day."""
    target = tmp_path / "book.xlsx"
    result = runner.invoke(app, ["example", str(target), "--today", "2030-01-31"])
    assert result.exit_code == 0, result.output
    sheet = openpyxl.load_workbook(target)[MAIN_TAB]
    column = HEADER.index("最近跟进时间") + 1
    stale = sheet.cell(row=MESS["stale_120d"], column=column).value
    assert stale.date() == date(2030, 1, 31) - timedelta(days=120)
    bad = runner.invoke(app, ["example", str(tmp_path / "x.xlsx"), "--today", "31/01/2030"])
    assert bad.exit_code == 2


def test_check_without_files_names_a_bad_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    """With no FILE and an invalid SYNCER_* variable, check exits 2 naming the variable
    instead of a traceback."""
    monkeypatch.setenv("SYNCER_MAX_WORKERS", "abc")
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 2
    assert "invalid setting SYNCER_MAX_WORKERS='abc'" in result.stderr
    assert "syncer check FILE" in result.stderr
