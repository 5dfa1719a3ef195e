"""A small xlsx ledger on disk (workbook + ledger file) for CLI and subprocess tests."""

from __future__ import annotations

from pathlib import Path

import openpyxl

HEADER = ["客户编号", "客户名称", "联系方式", "合作状态", "备注"]

LEDGER_YAML = """\
name: shop
source:
  connector: xlsx
  path: {workbook}
tabs:
  main: 客户信息
key: 客户编号
schedule:
  every: {every}
columns:
  客户编号: {{type: text}}
  客户名称: {{type: text}}
  联系方式: {{type: phone}}
  合作状态: {{type: choice, values: [合作中, 流失客户]}}
  备注: {{type: text}}
rules:
  - kind: archive
    when: {{column: 合作状态, op: equals, value: 流失客户}}
"""


def customer(i: int, lost: bool = False) -> list[object]:
    """One customer row; ``lost`` ones are archived by the ledger's rule."""
    return [
        f"XS{2024000 + i}",
        f"客户{i}",
        f"139{i:08d}",
        "流失客户" if lost else "合作中",
        "=SUM(1,2)" if i % 7 == 0 else None,
    ]


def write_ledger(
    root: Path, rows: int = 12, lost_every: int = 3, every: str = "1h"
) -> tuple[Path, Path]:
    """Write ``shop.xlsx`` and ``ledgers/shop.yaml`` under ``root``; return both paths."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "客户信息"
    sheet.append(HEADER)
    for i in range(1, rows + 1):
        sheet.append(customer(i, lost=(lost_every > 0 and i % lost_every == 0)))
        if i % 7 == 0:
            sheet.cell(sheet.max_row, 5).data_type = "s"
    book = root / "shop.xlsx"
    workbook.save(book)
    config = root / "ledgers"
    config.mkdir(exist_ok=True)
    (config / "shop.yaml").write_text(
        LEDGER_YAML.format(workbook=book, every=every), encoding="utf-8"
    )
    return book, config


def read_keys(book: Path) -> dict[str, list[str]]:
    """Customer ids per tab of the workbook (header row skipped)."""
    workbook = openpyxl.load_workbook(book, read_only=True)
    try:
        return {
            sheet.title: [
                str(row[0]) for row in sheet.iter_rows(min_row=2, values_only=True) if row[0]
            ]
            for sheet in workbook.worksheets
            if sheet.title in ("客户信息", "客户历史库")
        }
    finally:
        workbook.close()
