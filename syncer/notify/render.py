"""Rendering a :class:`Message` for each service's format.

* WeCom group robot: ``{"msgtype": "markdown", "markdown": {"content": …}}`` (≤ 4096
  bytes), mentions as ``<@userid>``.
* DingTalk custom robot: ``{"msgtype": "markdown", "markdown": {"title", "text"},
  "at": {"atMobiles": […], "isAtAll": false}}``; each mobile also appears as ``@mobile``
  in the text, which is how DingTalk highlights it.
* Feishu custom bot: ``{"msg_type": "post", "content": {"post": {"zh_cn"|"en_us":
  {"title", "content": [[tags…]]}}}}`` — ``text`` tags are plain text; mentions are
  ``at`` tags, links ``a`` tags.
* Slack incoming webhook: ``{"text": fallback, "blocks": [header, section (mrkdwn),
  context…]}`` (header ≤ 150 characters, a section ≤ 3000).
* Email: a subject, a plain-text part and an HTML part (Jinja2 template, autoescaped).

Every piece of message text passes its format's escaper; only our own links are links.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from syncer.i18n import register, t
from syncer.notify import escape
from syncer.notify.message import Message

register({"notify.footer": {"zh-CN": "来自 syncer", "en": "Sent by syncer"}})

WECOM_MAX_BYTES = 4096
DINGTALK_MAX_CHARS = 5000
SLACK_SECTION_MAX = 3000
SLACK_HEADER_MAX = 150
_ICONS = {"info": "🟢", "warning": "🟡", "error": "🔴"}


def _md_lines(message: Message, footer: str) -> list[str]:
    """The body as markdown lines, every text escaped."""
    md = escape.markdown
    lines = [f"> {md(message.summary, 300)}", ""]
    for name, value in message.facts:
        lines.append(f"- {md(name)}: **{md(value)}**")
    if message.facts:
        lines.append("")
    for section in message.sections:
        lines.append(f"**{md(section.title)}**")
        lines.extend(f"- {md(line, 300)}" for line in section.lines)
        if section.more:
            lines.append(f"- {md(t(message.locale, 'notify.more', count=section.more))}")
        lines.append("")
    for link in message.links:
        lines.append(f"[{md(link.label)}]({link.url})")
    lines.append(footer.format(md(t(message.locale, "notify.footer"))))
    return lines


def _fit_bytes(lines: list[str], head: str, tail: str, limit: int) -> str:
    """Join ``head``, as many ``lines`` as fit in ``limit`` UTF-8 bytes, and ``tail``."""
    body = head
    for line in lines:
        candidate = f"{body}\n{line}"
        if len((candidate + tail).encode()) > limit:
            body += "\n…"
            break
        body = candidate
    return body + tail


def wecom(message: Message, mention: list[str]) -> dict[str, Any]:
    """The WeCom group robot markdown payload."""
    head = f"### {_ICONS[message.severity]} {escape.markdown(message.title, 200)}"
    tail = ("\n" + " ".join(f"<@{m}>" for m in mention)) if mention else ""
    lines = _md_lines(message, '<font color="comment">{}</font>')
    content = _fit_bytes(lines, head, tail, WECOM_MAX_BYTES)
    return {"msgtype": "markdown", "markdown": {"content": content}}


def dingtalk(message: Message, mention: list[str]) -> dict[str, Any]:
    """The DingTalk custom robot markdown payload (with ``at.atMobiles``)."""
    head = f"### {_ICONS[message.severity]} {escape.markdown(message.title, 200)}"
    tail = ("\n\n" + " ".join(f"@{m}" for m in mention)) if mention else ""
    text = _fit_bytes(_md_lines(message, "###### {}"), head, tail, DINGTALK_MAX_CHARS * 3)
    return {
        "msgtype": "markdown",
        "markdown": {"title": escape.plain(message.title, 60), "text": text},
        "at": {"atMobiles": list(mention), "isAtAll": False},
    }


def feishu(message: Message, mention: list[str]) -> dict[str, Any]:
    """The Feishu custom bot ``post`` payload (plain text tags, at and a tags)."""
    p = escape.plain
    rows: list[list[dict[str, Any]]] = [[{"tag": "text", "text": p(message.summary, 300)}]]
    for name, value in message.facts:
        rows.append([{"tag": "text", "text": f"{p(name)}: {p(value)}"}])
    for section in message.sections:
        rows.append([{"tag": "text", "text": f"【{p(section.title)}】"}])
        rows.extend([{"tag": "text", "text": f"• {p(line, 300)}"}] for line in section.lines)
        if section.more:
            rows.append(
                [{"tag": "text", "text": p(t(message.locale, "notify.more", count=section.more))}]
            )
    if message.links:
        rows.append(
            [{"tag": "a", "text": p(link.label), "href": link.url} for link in message.links]
        )
    if mention:
        rows.append([{"tag": "at", "user_id": m} for m in mention])
    rows.append([{"tag": "text", "text": t(message.locale, "notify.footer")}])
    language = "zh_cn" if message.locale == "zh-CN" else "en_us"
    title = f"{_ICONS[message.severity]} {p(message.title, 200)}"
    return {
        "msg_type": "post",
        "content": {"post": {language: {"title": title, "content": rows}}},
    }


def slack(message: Message, mention: list[str]) -> dict[str, Any]:
    """The Slack incoming-webhook payload: a header, mrkdwn sections, links, mentions."""
    s = escape.slack
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": f"{_ICONS[message.severity]} {escape.plain(message.title, 140)}",
            },
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": s(message.summary, 300)}},
    ]
    if message.facts:
        fields = [
            {"type": "mrkdwn", "text": f"*{s(name)}*\n{s(value)}"} for name, value in message.facts
        ]
        blocks.append({"type": "section", "fields": fields[:10]})
    for section in message.sections:
        lines = [f"*{s(section.title)}*", *(f"• {s(line, 300)}" for line in section.lines)]
        if section.more:
            lines.append(s(t(message.locale, "notify.more", count=section.more)))
        text = "\n".join(lines)
        if len(text) > SLACK_SECTION_MAX:
            text = text[: SLACK_SECTION_MAX - 1] + "…"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    context = [f"<{link.url}|{s(link.label)}>" for link in message.links]
    context.append(s(t(message.locale, "notify.footer")))
    context += [f"<@{m}>" for m in mention]
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(context)}]}
    )
    return {"text": escape.slack(message.title, 200), "blocks": blocks[:50]}


@dataclass(frozen=True)
class Email:
    """An email's subject and its two bodies."""

    subject: str
    text: str
    html: str


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The Jinja2 environment of syncer's templates (HTML autoescaped)."""
    return Environment(
        loader=PackageLoader("syncer.notify", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def email(message: Message) -> Email:
    """Subject, plain text and HTML of an email (cell text made inert either way)."""
    p = escape.plain
    lines = [p(message.title, 200), "", p(message.summary, 300), ""]
    for name, value in message.facts:
        lines.append(f"{p(name)}: {p(value)}")
    for section in message.sections:
        lines += ["", p(section.title)]
        lines += [f"  - {p(line, 300)}" for line in section.lines]
        if section.more:
            lines.append("  " + p(t(message.locale, "notify.more", count=section.more)))
    if message.links:
        lines.append("")
        lines += [f"{p(link.label)}: {link.url}" for link in message.links]
    lines += ["", "-- ", t(message.locale, "notify.footer")]
    html = (
        environment()
        .get_template("email.html.j2")
        .render(
            message=message,
            p=p,
            icon=_ICONS[message.severity],
            more=lambda n: t(message.locale, "notify.more", count=n),
            footer=t(message.locale, "notify.footer"),
            lang=message.locale,
        )
    )
    return Email(subject=p(message.title, 150), text="\n".join(lines) + "\n", html=html)


RENDERERS = {"wecom": wecom, "dingtalk": dingtalk, "feishu": feishu, "slack": slack}
