"""What header and tab names suggest, in zh-CN and en (pure, no I/O).

Names are compared after full-width → half-width conversion, trimming and case folding,
by substring: ``客户编号`` holds ``编号``, ``Last contact`` holds ``last contact``.
Hints only break ties and choose between readings the values allow; the values decide.
"""

from __future__ import annotations

import re

from syncer.values import to_halfwidth

_WORDS: dict[str, tuple[str, ...]] = {
    "key": ("编号", "编码", "单号", "工单号", "客户号", "id", "no.", "code", "ticket", "number"),
    "phone": ("电话", "手机", "联系方式", "phone", "mobile", "tel", "cell"),
    "email": ("邮箱", "email", "e-mail", "mail"),
    "url": ("网址", "链接", "主页", "url", "website", "link"),
    "amount": (
        "金额",
        "(元)",
        "价格",
        "单价",
        "费用",
        "预算",
        "收入",
        "amount",
        "price",
        "cost",
        "fee",
        "revenue",
        "budget",
        "total",
    ),
    "choice": (
        "类型",
        "类别",
        "分类",
        "行业",
        "来源",
        "渠道",
        "状态",
        "等级",
        "级别",
        "性别",
        "阶段",
        "方式",
        "type",
        "category",
        "industry",
        "source",
        "channel",
        "status",
        "stage",
        "tier",
        "level",
        "gender",
        "priority",
        "severity",
        "method",
    ),
    "free_text": (
        "描述",
        "内容",
        "计划",
        "备注",
        "说明",
        "地址",
        "名称",
        "姓名",
        "职位",
        "跟进人",
        "负责人",
        "联系人",
        "description",
        "notes",
        "note",
        "comment",
        "remark",
        "plan",
        "address",
        "name",
        "title",
        "summary",
    ),
    "status": ("状态", "status", "stage"),
    "status_changed": (
        "状态变更时间",
        "状态更新时间",
        "状态变更",
        "status changed",
        "status change",
        "status updated",
    ),
    "last_follow_up": (
        "最近跟进",
        "最后跟进",
        "上次跟进",
        "最近联系",
        "last follow",
        "last contact",
        "last contacted",
    ),
    "follow_up_notes": ("跟进内容", "跟进记录", "沟通内容", "follow-up notes", "follow up notes"),
    "first_contact": ("首次接触", "首次联系", "创建时间", "录入时间", "opened", "created"),
    "person_name": ("联系人姓名", "联系人", "姓名", "contact name", "contact", "customer", "name"),
}
_LOST = ("流失客户", "已流失", "流失", "lost", "churned", "closed")
_HISTORY_TABS = ("历史", "归档", "存档", "history", "archive", "archived", "closed")
_MAIN_TABS = ("基础信息", "客户信息", "客户管理", "台账", "客户", "customers", "clients", "main")
_OTHER_TABS = (
    "交易",
    "跟进记录",
    "反馈",
    "错误",
    "字典",
    "选项",
    "deals",
    "transactions",
    "follow-ups",
    "feedback",
    "errors",
    "lists",
    "options",
)
#: Longest text the common 20-column template implies for some columns.
TEMPLATE_MAX_LENGTH: dict[str, int] = {"客户名称": 100, "联系人姓名": 30, "客户地址": 200}
#: Marks of a required column in a header: ``联系方式*``, ``*Name``, ``姓名（必填）``.
_REQUIRED_MARK = re.compile(r"^\s*[*＊]|[*＊]\s*$|[(（]\s*(必填|required)\s*[)）]", re.I)
_CJK = re.compile(r"[\u3400-\u9fff]")


def plain(name: str) -> str:
    """A name as hints compare it: half-width, trimmed, case-folded."""
    return to_halfwidth(name).strip().casefold()


def _matcher(words: tuple[str, ...]) -> re.Pattern[str]:
    """Chinese words match anywhere; Latin words only as whole words (``id`` ≠ ``paid``)."""
    parts = [rf"(?<![a-z]){re.escape(w)}(?![a-z])" if w.isascii() else re.escape(w) for w in words]
    return re.compile("|".join(parts))


_MATCHERS = {kind: _matcher(words) for kind, words in _WORDS.items()}


def has_hint(name: str, kind: str) -> bool:
    """True when ``name`` holds one of the words of hint ``kind``."""
    return _MATCHERS[kind].search(plain(name)) is not None


def hint_rank(name: str, kind: str) -> int | None:
    """The position of the first word of hint ``kind`` that ``name`` holds (earlier
    words are more specific), or None."""
    text = plain(name)
    for rank, word in enumerate(_WORDS[kind]):
        if _matcher((word,)).search(text):
            return rank
    return None


def marked_required(name: str) -> bool:
    """True when a header marks its column required (``*`` or ``(必填)``)."""
    return bool(_REQUIRED_MARK.search(name))


def is_lost_value(value: str) -> bool:
    """True for a status value that means a lost customer (流失客户, lost …)."""
    text = plain(value)
    return any(word == text or (len(word) > 2 and word in text) for word in _LOST)


_HISTORY = _matcher(_HISTORY_TABS)
_MAIN = _matcher(_MAIN_TABS)
_OTHER = _matcher(_OTHER_TABS)


def is_history_tab(title: str) -> bool:
    """True when a tab's name reads as a history/archive tab."""
    return _HISTORY.search(plain(title)) is not None


def is_main_tab(title: str) -> bool:
    """True when a tab's name reads as the customers' main tab."""
    return _MAIN.search(plain(title)) is not None and not is_other_tab(title)


def is_other_tab(title: str) -> bool:
    """True when a tab's name reads as something else (deals, errors, option lists)."""
    return _OTHER.search(plain(title)) is not None


def is_chinese(texts: list[str]) -> bool:
    """True when at least a third of ``texts`` hold Chinese characters."""
    named = [t for t in texts if t.strip()]
    return bool(named) and sum(1 for t in named if _CJK.search(t)) * 3 >= len(named)
