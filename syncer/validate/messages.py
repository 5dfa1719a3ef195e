"""The message catalogue of validation findings (zh-CN and en) and how each is worded."""

from __future__ import annotations

from collections.abc import Sequence

from syncer.i18n import Locale, register, t
from syncer.ledger import ColumnSpec
from syncer.model import canonical

register(
    {
        "validate.missing_tab": {
            "zh-CN": "找不到工作表「{tab}」",
            "en": "tab '{tab}' not found",
        },
        "validate.missing_column": {
            "zh-CN": "表头缺少列「{column}」{hint}",
            "en": "header has no column '{column}'{hint}",
        },
        "validate.missing_column_hint": {
            "zh-CN": "（是否为「{near}」？）",
            "en": " (did you mean '{near}'?)",
        },
        "validate.duplicate_header": {
            "zh-CN": "表头「{column}」重复出现在第 {letters} 列，只校验第一列",
            "en": "header '{column}' appears in columns {letters}; only the first is checked",
        },
        "validate.blank_header": {
            "zh-CN": "第 {letter} 列表头为空",
            "en": "column {letter} has a blank header",
        },
        "validate.required": {"zh-CN": "必填项为空", "en": "required value is missing"},
        "validate.integer": {"zh-CN": "应为整数", "en": "should be a whole number"},
        "validate.number": {"zh-CN": "应为数字", "en": "should be a number"},
        "validate.date": {
            "zh-CN": "应为日期（YYYY-MM-DD）",
            "en": "should be a date (YYYY-MM-DD)",
        },
        "validate.datetime": {
            "zh-CN": "应为日期时间（YYYY-MM-DD HH:MM）",
            "en": "should be a date and time (YYYY-MM-DD HH:MM)",
        },
        "validate.phone": {
            "zh-CN": "不是有效的电话号码",
            "en": "is not a valid phone number",
        },
        "validate.email": {"zh-CN": "不是有效的电子邮箱", "en": "is not a valid email address"},
        "validate.choice": {
            "zh-CN": "不在下拉选项中（可选：{allowed}）",
            "en": "is not one of the allowed values ({allowed})",
        },
        "validate.choice_spaces": {
            "zh-CN": "下拉选项前后有多余空格",
            "en": "allowed value has extra spaces around it",
        },
        "validate.multi_choice": {
            "zh-CN": "含有不在选项中的值（可选：{allowed}）",
            "en": "holds a value that is not allowed ({allowed})",
        },
        "validate.boolean": {"zh-CN": "应为是/否", "en": "should be yes or no"},
        "validate.pattern": {
            "zh-CN": "格式不符合要求（{pattern}）",
            "en": "does not match the required format ({pattern})",
        },
        "validate.min": {"zh-CN": "不能小于 {limit}", "en": "must be at least {limit}"},
        "validate.max": {"zh-CN": "不能大于 {limit}", "en": "must be at most {limit}"},
        "validate.max_length": {
            "zh-CN": "超过 {limit} 个字符",
            "en": "is longer than {limit} characters",
        },
        "validate.unique": {
            "zh-CN": "与第 {rows} 行重复",
            "en": "duplicates row(s) {rows}",
        },
        "validate.unique_together": {
            "zh-CN": "疑似重复客户：{columns} 与第 {rows} 行相同",
            "en": "possible duplicate: {columns} same as row(s) {rows}",
        },
    }
)


def duplicate_message(
    locale: Locale, check: str, columns: Sequence[str], rows: Sequence[int]
) -> str:
    """The message of a ``unique`` or ``unique_together`` finding over ``columns``.

    ``rows`` are the sheet rows of the other rows holding the same value(s).
    """
    same = ", ".join(str(row) for row in rows)
    if check == "unique":
        return t(locale, "validate.unique", rows=same)
    return t(locale, "validate.unique_together", columns="+".join(columns), rows=same)


def check_message(locale: Locale, check: str, spec: ColumnSpec) -> str:
    """The message of a failed column check (not a duplicate) in the ledger's locale."""
    allowed = "/".join(spec.values or ())
    if check == "choice_spaces":
        return t(locale, "validate.choice_spaces")
    if check in ("choice", "multi_choice"):
        return t(locale, f"validate.{check}", allowed=allowed)
    if check == "pattern":
        return t(locale, "validate.pattern", pattern=spec.pattern)
    if check in ("min", "max"):
        limit = spec.min if check == "min" else spec.max
        assert limit is not None
        return t(locale, f"validate.{check}", limit=canonical(limit))
    if check == "max_length":
        return t(locale, "validate.max_length", limit=spec.max_length)
    return t(locale, f"validate.{check}")
