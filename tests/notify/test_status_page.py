"""The status page: content from the run history, auth, and a real headless browser."""

from __future__ import annotations

import base64
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from syncer.health import HealthServer, Readiness
from syncer.ledger import LedgerConfig
from syncer.notify.compose import FindingSummary, digest, sheet_links
from syncer.notify.render import email
from syncer.notify.store import Tally
from syncer.state import RunRecord, StateStore
from syncer.status_page import PageAuth, StatusPage, chart_svg, daily_findings

from .browser import artifact, chromium
from .conftest import notify_ledger

NOW = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai
SECRET_HOOK = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=super-secret-key-123"


def _ledgers() -> list[LedgerConfig]:
    sales = notify_ledger(
        [{"kind": "wecom", "webhook": SECRET_HOOK}],
        description="销售部客户信息台账",
        source={"connector": "google", "spreadsheet": "1SalesSheetId"},
    )
    service = notify_ledger([], name="service", locale="en")
    return [sales, service]


@pytest.fixture
def state(tmp_path: Path) -> Iterator[StateStore]:
    """A run history: 30 days of sales (findings falling), a failing service ledger."""
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    for day in range(30):
        when = NOW - timedelta(days=29 - day)
        findings = 40 - day if day != 12 else 0
        store.record_run(
            RunRecord("sales", f"s{day}", when, when, "ok", findings, 3, 0, day % 3, 4)
        )
    store.record_run(RunRecord("service", "v1", NOW, NOW, "failed", 0, 0, 0, 0, 1, "403 x@y.z"))
    yield store
    store.close()


def _page(state: StateStore, auth: PageAuth | None = None) -> StatusPage:
    return StatusPage(
        lambda name, limit: state.runs(name, limit=limit),
        _ledgers,
        lambda name: NOW + timedelta(minutes=5) if name == "sales" else None,
        auth=auth,
        clock=lambda: NOW,
    )


@pytest.fixture
def served(state: StateStore) -> Iterator[Any]:
    """Start a HealthServer with a status page built by the returned function."""
    servers: list[HealthServer] = []

    def serve(auth: PageAuth | None = None) -> str:
        server = HealthServer("127.0.0.1", 0, Readiness(), _page(state, auth))
        server.start()
        servers.append(server)
        return f"http://127.0.0.1:{server.port}"

    yield serve
    for server in servers:
        server.stop()


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_daily_findings_take_each_days_last_successful_read() -> None:
    """A day's value is its last ok run; failed runs and days without runs are gaps."""
    zone = ZoneInfo("Asia/Shanghai")
    at = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    runs = [
        RunRecord("s", "a", at, at, "ok", 5, 0, 0, 0, 0),
        RunRecord("s", "b", at + timedelta(hours=1), at + timedelta(hours=1), "ok", 7, 0, 0, 0, 0),
        RunRecord(
            "s", "c", at + timedelta(hours=2), at + timedelta(hours=2), "failed", 0, 0, 0, 0, 0
        ),
    ]
    values = daily_findings(runs, zone, date(2026, 12, 2))
    assert len(values) == 30
    assert values[-1] == 7
    assert values[:-1] == [None] * 29
    svg = str(chart_svg(values, "x"))
    assert svg.count("<rect") == 1
    assert "<title>7</title>" in svg


def test_page_lists_every_ledger_without_secrets(served: Any) -> None:
    """Names, outcomes, open findings, archived counts, next run, sheet link; no webhook key."""
    base = served()
    status, html = _get(base + "/")
    assert status == 200
    assert 'data-ledger="sales"' in html
    assert 'data-ledger="service"' in html
    assert "https://docs.google.com/spreadsheets/d/1SalesSheetId/edit" in html
    assert "super-secret-key-123" not in html
    assert "x@y.z" not in html
    assert "2026-12-02 14:05" in html  # next run, in the ledger's zone
    assert html.count("<rect") == 30  # a bar a day for sales (a zero day too), none for service
    assert "<title>0</title>" in html
    status, _ = _get(base + "/healthz")
    assert status == 200


def test_token_and_basic_auth(served: Any) -> None:
    """With a token the page needs it (query or bearer); basic auth works too; probes stay open."""
    base = served(PageAuth(token="tok-1", basic="ops:pw"))
    assert _get(base + "/status")[0] == 401
    assert _get(base + "/status?token=wrong")[0] == 401
    assert _get(base + "/status?token=tok-1")[0] == 200
    assert _get(base + "/status", {"Authorization": "Bearer tok-1"})[0] == 200
    basic = base64.b64encode(b"ops:pw").decode()
    assert _get(base + "/", {"Authorization": f"Basic {basic}"})[0] == 200
    assert _get(base + "/healthz")[0] == 200


def test_language_follows_the_browser(served: Any) -> None:
    """Accept-Language zh gets Chinese labels, anything else English."""
    base = served()
    assert "待处理问题" in _get(base + "/", {"Accept-Language": "zh-CN,zh;q=0.9"})[1]
    assert "Open findings" in _get(base + "/", {"Accept-Language": "en-US"})[1]


def test_status_page_in_a_real_headless_browser(served: Any) -> None:
    """Chromium at phone width shows every ledger without sideways scrolling; screenshot kept."""
    from selenium.webdriver.common.by import By

    base = served(PageAuth(token="tok-1"))
    with chromium(390, 844) as driver:
        driver.get(base + "/?token=tok-1")
        cards = driver.find_elements(By.CSS_SELECTOR, "section.ledger")
        assert [c.get_attribute("data-ledger") for c in cards] == ["sales", "service"]
        sales = cards[0]
        assert sales.find_element(By.CSS_SELECTOR, ".open-findings").text == "11"
        assert sales.find_element(By.CSS_SELECTOR, ".outcome").text == "成功"
        assert "failing" in (cards[1].get_attribute("class") or "")
        chart = sales.find_element(By.CSS_SELECTOR, "svg.chart")
        assert chart.size["width"] > 200
        assert chart.size["height"] > 30
        overflow = driver.execute_script(
            "return document.documentElement.scrollWidth - window.innerWidth"
        )
        assert overflow <= 0
        height = driver.execute_script("return document.body.scrollHeight")
        driver.set_window_size(390, max(844, int(height) + 40))
        path = artifact("status-page.png")
        assert driver.save_screenshot(str(path))
    assert path.stat().st_size > 10_000


def test_digest_email_in_a_real_headless_browser(tmp_path: Path) -> None:
    """The digest's HTML renders readably at phone width; screenshot kept."""
    from selenium.webdriver.common.by import By

    ledger = _ledgers()[0]
    summary = FindingSummary(
        17,
        {"联系方式": 8, "客户来源": 5, "首次接触时间": 4},
        {"张三": 9, "李四": 6, "（未填写）": 2},
    )
    tally = Tally(
        {"archived": 2, "new_customers": 3, "ids_assigned": 1},
        {
            "archived": ["XS2024007 · 流失客户", "XS2024011 · 暂停合作超过90天"],
            "new_customers": ["XS2024031", "XS2024032", "XS2024033"],
            "ids_assigned": ["XS2024033"],
        },
    )
    links = sheet_links(ledger, errors_gid=77)
    message = digest(ledger, summary, "跟进人", tally, NOW - timedelta(days=1), NOW, links)
    page = tmp_path / "digest.html"
    page.write_text(email(message).html, encoding="utf-8")
    with chromium(390, 1100) as driver:
        driver.get(page.as_uri())
        title = driver.find_element(By.TAG_NAME, "h1").text
        assert "sales 每日摘要" in title
        hrefs = [a.get_attribute("href") for a in driver.find_elements(By.TAG_NAME, "a")]
        assert hrefs[-1].endswith("/spreadsheets/d/1SalesSheetId/edit#gid=77")
        overflow = driver.execute_script(
            "return document.documentElement.scrollWidth - window.innerWidth"
        )
        assert overflow <= 0
        path = artifact("digest-email.png")
        assert driver.save_screenshot(str(path))
    assert path.stat().st_size > 10_000
