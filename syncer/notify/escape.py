"""Escaping text copied from cells for each message format.

A cell may hold anything a person typed: ``@all``, ``<@U123>``, ``[click](http://x)``,
``**bold**``, ``# heading`` on a new line. Copied into a chat message unescaped it could
mention everyone, add a link or restyle the message. Each function here makes cell text
inert for one format and keeps it readable:

* line breaks become spaces (no new heading, quote or list starts inside a cell);
* ``@`` and ``<`` are followed by U+200B ZERO WIDTH SPACE, so no mention (``@all``,
  ``<@U123>``, ``<!channel>``, ``<at user_id="all">``) can form;
* ``://`` becomes ``:/\u200b/``, ``www.`` becomes ``www\u200b.`` and ``](`` becomes
  ``]\u200b(``, so clients neither auto-link an address nor build a markdown link;
* markdown's markup characters (``* _ ` [ ] < > ~ | \\``) become their full-width
  look-alikes (WeCom, DingTalk: their markdown subsets do not reliably honour backslash
  escapes, and our own line prefixes keep ``#``, ``>``, ``-`` and ``1.`` from starting a
  block mid-message); Slack's control
  characters ``& < >`` become entities and its formatting marks are broken with
  U+200B; HTML is escaped by the template engine; Feishu ``post`` text is plain, only
  mentions and links are defused.

Texts are also cut to ``limit`` characters (with ``…``) so one cell cannot fill a message.
"""

from __future__ import annotations

import re

ZWSP = "\u200b"
#: Markdown characters replaced by their full-width forms: the chat clients' markdown
#: subsets do not all honour backslash escapes, full-width forms cannot form markup.
_MARKDOWN = str.maketrans(
    {
        "\\": "＼",
        "`": "ˋ",
        "*": "＊",
        "_": "＿",
        "[": "［",
        "]": "］",
        "<": "＜",
        ">": "＞",
        "~": "～",
        "|": "｜",
    }
)
_SLACK_MARKS = re.compile(r"([*_~`])")
_LINK = re.compile(r"(?i)(://|www\.)")
_SPACE = re.compile(r"[\r\n\t\v\f\u2028\u2029]+")


def _common(text: object, limit: int) -> str:
    """One line, cut to ``limit``, mentions and auto-links defused."""
    line = _SPACE.sub(" ", str(text)).strip()
    if len(line) > limit:
        line = line[: limit - 1] + "…"
    line = line.replace("@", "@" + ZWSP).replace("<", "<" + ZWSP)
    line = line.replace("](", "]" + ZWSP + "(")
    return _LINK.sub(lambda m: m.group(1)[:-1] + ZWSP + m.group(1)[-1], line)


def plain(text: object, limit: int = 120) -> str:
    """For plain text (email text part, Feishu post text): one line, no mention or link."""
    return _common(text, limit)


def markdown(text: object, limit: int = 120) -> str:
    """For WeCom and DingTalk markdown: markup characters as full-width look-alikes."""
    return _common(text, limit).translate(_MARKDOWN)


def slack(text: object, limit: int = 120) -> str:
    """For Slack ``mrkdwn``: ``& < >`` as entities, formatting marks broken."""
    line = _common(text, limit)
    line = line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _SLACK_MARKS.sub(lambda m: m.group(1) + ZWSP, line)


ESCAPERS = {"markdown": markdown, "slack": slack, "plain": plain, "html": plain}
