"""`syncer init` on a Google spreadsheet (the sandbox) through the real CLI: dropdowns
defined by data validation (a list rule and a range rule), three read calls and no
write, and the same findings as config/ledgers/sales.yaml on the same spreadsheet."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from syncer.config import load_ledger
from syncer.connectors.google import GoogleSheetsConnector
from syncer.examples import INDUSTRIES, STATUSES, write_messy_workbook
from syncer.sandbox import SandboxServer
from syncer.settings import Settings

from .conftest import SALES, Cli, findings_of

OWNER = "owner@example.com"
OPTIONS_TAB = "选项"


def _dropdown(sheet_id: int, col: int, condition: dict[str, Any]) -> dict[str, Any]:
    grid = {
        "sheetId": sheet_id,
        "startRowIndex": 2,
        "endRowIndex": 500,
        "startColumnIndex": col,
        "endColumnIndex": col + 1,
    }
    return {
        "setDataValidation": {"range": grid, "rule": {"condition": condition, "showCustomUi": True}}
    }


def seed_example(sandbox: SandboxServer, credentials: Path, tmp_path: Path) -> str:
    """The example workbook in the sandbox, as Google imports it: 所属行业's dropdown is a
    range rule over an options tab, 合作状态's a list rule; the zone is Asia/Shanghai."""
    book = write_messy_workbook(tmp_path / "客户信息管理_销售部_2024.xlsx")
    sid = sandbox.seed_from_xlsx(book, OWNER, title=book.stem)
    sandbox.share(sid, str(sandbox.service_account()["client_email"]), "writer")
    setup = GoogleSheetsConnector(sid, credentials_path=credentials, api_base=sandbox.url)
    try:
        main = setup.metadata()["基础信息"].sheet_id
        setup.http.batch_update(
            sid,
            {
                "requests": [
                    {
                        "updateSpreadsheetProperties": {
                            "properties": {"timeZone": "Asia/Shanghai"},
                            "fields": "timeZone",
                        }
                    },
                    {"addSheet": {"properties": {"sheetId": 4242, "title": OPTIONS_TAB}}},
                    _dropdown(
                        main,
                        2,
                        {
                            "type": "ONE_OF_RANGE",
                            "values": [{"userEnteredValue": f"='{OPTIONS_TAB}'!A1:A7"}],
                        },
                    ),
                    _dropdown(
                        main,
                        16,
                        {
                            "type": "ONE_OF_LIST",
                            "values": [{"userEnteredValue": s} for s in STATUSES],
                        },
                    ),
                ]
            },
        )
    finally:
        setup.close()
    sandbox.set_values(sid, OPTIONS_TAB, "A1", [[v] for v in INDUSTRIES])
    return sid


def test_sandbox_copy_gives_the_findings_of_sales_yaml(
    cli: Cli,
    sandbox: SandboxServer,
    credentials: Path,
    google_env: dict[str, str],
    tmp_path: Path,
) -> None:
    """Google path: three reads, no write, and the findings of sales.yaml."""
    sid = seed_example(sandbox, credentials, tmp_path)
    url = f"https://docs.google.com/spreadsheets/d/{sid}/edit#gid=0"
    sandbox.clear_log()
    made = cli("init", url, "--out", "ledgers/sales.yaml", "--yes", env=google_env)
    assert made.exit_code == 0, made.stderr
    sheets = [r for r in sandbox.request_log if r.api == "sheets" and r.spreadsheet_id == sid]
    assert [r.kind for r in sheets] == ["read", "read", "read"]
    assert sum(1 for r in sheets if "values:batchGet" in r.path) == 1
    text = (tmp_path / "ledgers/sales.yaml").read_text(encoding="utf-8")
    assert "choice: from the sheet's dropdown (range 选项!A1:A7)" in text
    assert "choice: from the sheet's dropdown (list rule)" in text
    assert "read 3 call(s): 2 spreadsheets.get, 1 values.batchGet" in text
    assert cli("check", "ledgers/sales.yaml").exit_code == 0
    planned = cli("plan", "--config", "ledgers/sales.yaml", env=google_env)
    assert planned.exit_code == 0, planned.stdout + planned.stderr
    inferred = load_ledger(tmp_path / "ledgers/sales.yaml")
    assert inferred.source.connector == "google"
    assert inferred.timezone == "Asia/Shanghai"
    assert inferred.header_row == 2
    assert inferred.columns["所属行业"].values == INDUSTRIES
    assert inferred.columns["合作状态"].values == STATUSES
    reference = tmp_path / "reference.yaml"
    ref_text = re.sub(
        r"(?ms)^source:\n.*?^tabs:",
        f'source:\n  connector: google\n  spreadsheet: "{sid}"\ntabs:',
        SALES.read_text(encoding="utf-8"),
    )
    reference.write_text(ref_text.replace("name: sales", "name: reference"), encoding="utf-8")
    settings = Settings(credentials_path=credentials, google_api_base=sandbox.url)
    expected = findings_of(reference, settings)
    assert len(expected) == 12
    assert findings_of(tmp_path / "ledgers/sales.yaml", settings) == expected


def test_unshared_spreadsheet_is_a_clear_error(
    cli: Cli, sandbox: SandboxServer, google_env: dict[str, str], tmp_path: Path
) -> None:
    """A spreadsheet not shared with the service account: exit 1 naming the problem, no file."""
    sid = sandbox.create_spreadsheet("private", OWNER, {"Sheet1": [["id", "name"], ["1", "a"]]})
    result = cli("init", sid, "--out", "p.yaml", "--yes", env=google_env)
    assert result.exit_code == 1
    assert "cannot read" in result.stderr
    assert not (tmp_path / "p.yaml").exists()
