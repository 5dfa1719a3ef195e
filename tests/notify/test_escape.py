"""Cell text made inert for each message format (property tests over arbitrary text)."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from syncer.notify import escape

#: Text with the characters that matter over-represented.
cells = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("@<>[]()*_~`#!|-+.:/\\&\n\r\twa")),
        st.characters(codec="utf-8"),
    ),
    max_size=80,
)

ZW = escape.ZWSP


def _no_mention_or_link(text: str) -> None:
    assert "\n" not in text
    assert "\r" not in text
    assert not re.search("@[^" + ZW + "]", text)
    assert not text.endswith("@")
    assert "://" not in text
    assert not re.search("(?i)www\\.", text)


@settings(max_examples=300)
@given(cells)
def test_plain_is_one_line_without_mentions_or_links(text: str) -> None:
    """Plain text: one line; every @ and < is followed by a zero-width space; no ://."""
    out = escape.plain(text, limit=1000)
    _no_mention_or_link(out)
    assert not re.search("<[^" + ZW + "]", out)
    assert not out.endswith("<")


@settings(max_examples=300)
@given(cells)
def test_markdown_has_no_markup_characters(text: str) -> None:
    """Markdown: no character that forms emphasis, code, links, tags or tables is left."""
    out = escape.markdown(text, limit=1000)
    _no_mention_or_link(out)
    assert not re.search(r"[`*_\[\]<>~|\\]", out)


@settings(max_examples=300)
@given(cells)
def test_slack_has_no_control_characters_or_formatting(text: str) -> None:
    """Slack mrkdwn: no raw < or >, & only in entities, every mark broken by U+200B."""
    out = escape.slack(text, limit=1000)
    _no_mention_or_link(out)
    assert "<" not in out
    assert ">" not in out
    assert not re.search(r"&(?!amp;|lt;|gt;)", out)
    assert not re.search("[*_~`][^" + ZW + "]", out)


@given(cells, st.integers(min_value=2, max_value=40))
def test_long_cells_are_cut(text: str, limit: int) -> None:
    """No escaper returns more than the limit's worth of visible characters plus escapes."""
    visible = escape.plain(text, limit=limit).replace(ZW, "")
    assert len(visible) <= limit


def test_examples_stay_readable() -> None:
    """Ordinary Chinese text passes unchanged; a phone and a name are not mangled."""
    assert escape.plain("张三 13800138000") == "张三 13800138000"
    assert escape.markdown("联系方式: 号码无效") == "联系方式: 号码无效"
    assert escape.markdown("**粗体** [链接](x)") == "＊＊粗体＊＊ ［链接］\u200b(x)"
