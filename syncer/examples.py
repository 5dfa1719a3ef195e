"""A realistic, messy example ledger: the sales department's 20-column workbook.

:func:`messy_rows` builds the content deterministically (same arguments, same cells);
:func:`write_messy_workbook` writes it to an .xlsx file the way people keep it: a merged
title row ``客户信息管理_销售部_<year>`` on row 1, the header on row 2, data from row 3,
column widths, a dropdown (data validation) on 合作状态 and 所属行业, and an unrelated
tab ``交易记录`` with a few deals and an amount formula — things a connector must keep.

Where the mess is (sheet rows of tab 基础信息; ``today`` defaults to 2024-06-30)::

    row  what                                                     column(s)
    3    a clean row, key XS2024001                               —
    6    phone written "+86 138-0013-8000" (contact 王芳)           联系方式
    7    phone stored as a float 13912345678.0 (Excel: 1.39123E+10) 联系方式
    8    phone in full-width digits "１３７００１３７０００"            联系方式
    9    date written "2024/3/1"                                   首次接触时间
    10   date written "2024年3月1日"                                首次接触时间
    11   values outside the dropdown: 餐饮, 谈判中                   所属行业, 合作状态
    12   trailing spaces: "赵磊 ", "意向客户 "                        联系人姓名, 合作状态
    13   a blank row (every cell empty)                            —
    14   duplicate customer: 王芳 + 13800138000, as row 6            联系人姓名, 联系方式
    15   placeholders: 需求描述 "待补充", 跟进人 "未知"                需求描述, 跟进人
    16   empty 客户编号 (for assign_id), first contact 2024-05-20    客户编号
    17   合作状态 流失客户 (lost: to be archived)                      合作状态
    18   合作状态 流失客户 (lost: to be archived)                      合作状态
    19   最近跟进时间 = today − 120 days (stale: to be archived)      最近跟进时间
    20   最近跟进时间 = today − 200 days (stale: to be archived)      最近跟进时间
    21   invalid phone "12345"                                     联系方式
    22   required 客户来源 missing                                  客户来源
    23   a blank row                                               —
    24   negative amount -500                                      合同金额(元)
    25   invalid email "li.na@"                                    电子邮箱
    26   ambiguous date "03/04/2024"                               最近跟进时间
    27   a valid Beijing landline "010-62345678"                   联系方式
    28…  clean random rows (valid values, followed up within 60 days)

Every row except 13 and 23 has a 客户编号 ``XS<year><seq:03>`` numbered by position
(row 3 → 001, row 4 → 002 …), except row 16 whose key is empty; dates are ``date``
objects unless listed above. :data:`MESS` maps each kind of mess to its sheet row.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

from syncer.model import CellValue

TITLE_TEMPLATE = "客户信息管理_销售部_{year}"
HEADER: tuple[str, ...] = (
    "客户编号",
    "客户名称",
    "所属行业",
    "客户类型",
    "联系人姓名",
    "联系人职位",
    "联系方式",
    "电子邮箱",
    "客户地址",
    "客户来源",
    "需求描述",
    "首次接触时间",
    "最近跟进时间",
    "跟进人",
    "跟进内容",
    "下一步计划",
    "合作状态",
    "合作产品/服务",
    "合同金额(元)",
    "备注",
)
INDUSTRIES = ("制造业", "零售业", "IT互联网", "金融业", "教育培训", "医疗健康", "其他")
CUSTOMER_TYPES = ("企业客户", "个人客户", "机构")
SOURCES = ("线上推广", "行业展会", "客户转介绍", "主动拜访")
STATUSES = ("潜在客户", "意向客户", "合作中", "暂停合作", "流失客户")
MAIN_TAB = "基础信息"
DEALS_TAB = "交易记录"
HEADER_ROW = 2
DEFAULT_TODAY = date(2024, 6, 30)

#: Sheet row (tab 基础信息) of each kind of mess; see the module docstring.
MESS: dict[str, int] = {
    "clean": 3,
    "phone_plus86": 6,
    "phone_float": 7,
    "phone_fullwidth": 8,
    "date_slash": 9,
    "date_chinese": 10,
    "outside_dropdown": 11,
    "trailing_spaces": 12,
    "blank": 13,
    "duplicate": 14,
    "placeholders": 15,
    "empty_key": 16,
    "lost_1": 17,
    "lost_2": 18,
    "stale_120d": 19,
    "stale_200d": 20,
    "invalid_phone": 21,
    "missing_source": 22,
    "blank_2": 23,
    "negative_amount": 24,
    "invalid_email": 25,
    "ambiguous_date": 26,
    "landline": 27,
}
#: The smallest ``n`` that holds every kind of mess.
MIN_ROWS = max(MESS.values()) - HEADER_ROW

_SURNAMES = "张李王刘陈杨黄周吴徐孙马朱胡郭何林罗高梁"
_GIVEN = ("伟", "娜", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超", "霞")
_CITIES = ("北京", "上海", "广州", "深圳", "杭州", "成都", "武汉", "南京", "苏州", "西安")
_WORDS = ("华信", "启明", "瑞丰", "恒通", "博远", "嘉禾", "新锐", "鼎盛", "云帆", "天成")
_SUFFIXES = ("科技有限公司", "贸易有限公司", "制造有限公司", "教育咨询有限公司")
_TITLES = ("采购经理", "总经理", "IT主管", "行政主管", "财务总监", "店长")
_STAFF = ("陈晨", "刘洋", "周婷", "孙浩")
_PRODUCTS = ("CRM标准版", "CRM专业版", "数据分析服务", "实施培训")
_NEEDS = ("需要客户管理系统", "希望提升销售跟进效率", "咨询数据分析服务", "年度采购计划")
_FOLLOWUPS = ("电话沟通需求", "发送报价单", "上门演示产品", "确认合同条款")
_PLANS = ("下周回访", "安排演示", "等待客户反馈", "准备合同")


def messy_rows(
    n: int = 40, seed: int = 7, year: int = 2024, today: date = DEFAULT_TODAY
) -> tuple[str, tuple[str, ...], list[tuple[CellValue, ...]]]:
    """``(title, header, rows)`` of the messy ledger: ``n`` data rows, deterministic.

    ``rows[i]`` sits on sheet row ``i + 3``. ``today`` anchors the stale follow-up dates.
    """
    if n < MIN_ROWS:
        raise ValueError(f"n must be at least {MIN_ROWS} to hold every kind of mess, got {n}")
    rnd = random.Random(seed)
    used_phones: set[str] = {"13800138000", "13912345678", "13700137000"}
    rows: list[tuple[CellValue, ...]] = []
    for index in range(n):
        sheet_row = index + HEADER_ROW + 1
        row = _clean_row(rnd, used_phones, year, today, seq=index + 1)
        _make_mess(row, sheet_row, year, today)
        rows.append(tuple(row[c] for c in HEADER) if row else (None,) * len(HEADER))
    return TITLE_TEMPLATE.format(year=year), HEADER, rows


def _clean_row(
    rnd: random.Random, used_phones: set[str], year: int, today: date, seq: int
) -> dict[str, CellValue]:
    while True:
        phone = f"1{rnd.choice('3456789')}{rnd.randrange(10**9):09d}"
        if phone not in used_phones:
            used_phones.add(phone)
            break
    first = date(year, 1, 1) + timedelta(days=rnd.randrange(0, 150))
    last = today - timedelta(days=rnd.randrange(0, 60))
    name = rnd.choice(_SURNAMES) + rnd.choice(_GIVEN) + rnd.choice(("", *_GIVEN))
    status = rnd.choice(STATUSES[:4])
    return {
        "客户编号": f"XS{year}{seq:03d}",
        "客户名称": rnd.choice(_CITIES) + rnd.choice(_WORDS) + rnd.choice(_SUFFIXES),
        "所属行业": rnd.choice(INDUSTRIES),
        "客户类型": rnd.choice(CUSTOMER_TYPES),
        "联系人姓名": name,
        "联系人职位": rnd.choice(_TITLES),
        "联系方式": phone,
        "电子邮箱": f"contact{seq}@example.cn",
        "客户地址": rnd.choice(_CITIES) + "市" + rnd.choice(("朝阳区", "高新区", "滨江区")) + "1号",
        "客户来源": rnd.choice(SOURCES),
        "需求描述": rnd.choice(_NEEDS),
        "首次接触时间": min(first, last),
        "最近跟进时间": last,
        "跟进人": rnd.choice(_STAFF),
        "跟进内容": rnd.choice(_FOLLOWUPS),
        "下一步计划": rnd.choice(_PLANS),
        "合作状态": status,
        "合作产品/服务": rnd.choice(_PRODUCTS),
        "合同金额(元)": rnd.choice((0, 5000, 12000, 38000.5, 100000)) if status == "合作中" else 0,
        "备注": None,
    }


def _make_mess(row: dict[str, CellValue], sheet_row: int, year: int, today: date) -> None:
    """Apply the documented mess of ``sheet_row`` to ``row`` in place."""
    kind = next((k for k, r in MESS.items() if r == sheet_row), None)
    if kind is None or kind == "clean":
        return
    if kind.startswith("blank"):
        row.clear()
        return
    edits: dict[str, dict[str, CellValue]] = {
        "phone_plus86": {"联系人姓名": "王芳", "联系方式": "+86 138-0013-8000"},
        "phone_float": {"联系方式": 13912345678.0},
        "phone_fullwidth": {"联系方式": "１３７００１３７０００"},
        "date_slash": {"首次接触时间": f"{year}/3/1"},
        "date_chinese": {"首次接触时间": f"{year}年3月1日"},
        "outside_dropdown": {"所属行业": "餐饮", "合作状态": "谈判中"},
        "trailing_spaces": {"联系人姓名": "赵磊 ", "合作状态": "意向客户 "},
        "duplicate": {"联系人姓名": "王芳", "联系方式": "13800138000"},
        "placeholders": {"需求描述": "待补充", "跟进人": "未知"},
        "empty_key": {"客户编号": None, "首次接触时间": date(year, 5, 20)},
        "lost_1": {"合作状态": "流失客户"},
        "lost_2": {"合作状态": "流失客户", "合同金额(元)": 0},
        "stale_120d": {"最近跟进时间": today - timedelta(days=120), "合作状态": "意向客户"},
        "stale_200d": {"最近跟进时间": today - timedelta(days=200), "合作状态": "潜在客户"},
        "invalid_phone": {"联系方式": "12345"},
        "missing_source": {"客户来源": None},
        "negative_amount": {"合同金额(元)": -500},
        "invalid_email": {"电子邮箱": "li.na@"},
        "ambiguous_date": {"最近跟进时间": "03/04/2024"},
        "landline": {"联系方式": "010-62345678"},
    }
    row.update(edits[kind])
    first = row["首次接触时间"]
    if kind.startswith("stale") and isinstance(first, date):
        last = row["最近跟进时间"]
        assert isinstance(last, date)
        row["首次接触时间"] = min(first, last)


def deal_rows(year: int = 2024) -> list[tuple[CellValue, ...]]:
    """A few rows of the unrelated 交易记录 tab (the amount is a formula in the workbook)."""
    return [
        (date(year, 3, 5), f"XS{year}001", "CRM标准版", 2, 6000),
        (date(year, 4, 12), f"XS{year}004", "数据分析服务", 1, 18000),
        (date(year, 5, 20), f"XS{year}009", "实施培训", 3, 2500),
    ]


def write_messy_workbook(
    path: Path | str,
    n: int = 40,
    seed: int = 7,
    year: int = 2024,
    today: date = DEFAULT_TODAY,
) -> Path:
    """Write the messy ledger to ``path`` (parent directories are created); return it."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    title, header, rows = messy_rows(n=n, seed=seed, year=year, today=today)
    book = Workbook()
    sheet = book.active
    sheet.title = MAIN_TAB
    last_letter = get_column_letter(len(header))
    sheet["A1"] = title
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A1"].alignment = Alignment(horizontal="center")
    sheet.merge_cells(f"A1:{last_letter}1")
    for col, name in enumerate(header, start=1):
        cell = sheet.cell(row=HEADER_ROW, column=col, value=name)
        cell.font = Font(bold=True)
        width = 14 if name not in ("客户名称", "客户地址", "需求描述", "跟进内容") else 26
        sheet.column_dimensions[get_column_letter(col)].width = width
    for r, row in enumerate(rows, start=HEADER_ROW + 1):
        for c, value in enumerate(row, start=1):
            if value is None:
                continue
            cell = sheet.cell(row=r, column=c, value=value)
            if isinstance(value, date):
                cell.number_format = "yyyy-mm-dd"
    sheet.freeze_panes = f"A{HEADER_ROW + 1}"
    last_row = HEADER_ROW + max(len(rows), 1) + 200
    for column, values in (("合作状态", STATUSES), ("所属行业", INDUSTRIES)):
        letter = get_column_letter(header.index(column) + 1)
        validation = DataValidation(
            type="list", formula1='"' + ",".join(values) + '"', allow_blank=True
        )
        validation.add(f"{letter}{HEADER_ROW + 1}:{letter}{last_row}")
        sheet.add_data_validation(validation)
    deals = book.create_sheet(DEALS_TAB)
    deals.append(["交易时间", "客户编号", "产品", "数量", "单价", "金额"])
    for i, deal in enumerate(deal_rows(year), start=2):
        deals.append([*deal, f"=D{i}*E{i}"])
        deals.cell(row=i, column=1).number_format = "yyyy-mm-dd"
    deals.column_dimensions["A"].width = 12
    deals.column_dimensions["C"].width = 16
    book.save(target)
    return target
