"""Each service's protocol against a local receiver that checks it like the real one."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from syncer import metrics
from syncer.model import Finding
from syncer.notify.compose import new_findings, probe
from syncer.notify.dispatch import Dispatcher
from syncer.notify.services import deliver, dingtalk_sign, feishu_sign
from tests.ops.test_daemon import wait_for

from .conftest import notify_ledger
from .receivers import Services


def _dest(ledger_notify: list[dict[str, Any]]) -> Any:
    return notify_ledger(ledger_notify).notify[0]


def _finding(key: str, message: str, value: str = "x") -> Finding:
    return Finding("基础信息", 3, key, "联系方式", value, "phone", message)


def _sample(name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(metrics.render().decode()):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return 0.0


def test_dingtalk_signature_matches_the_documented_algorithm() -> None:
    """sign = base64(HMAC-SHA256(key=secret, msg=timestamp + newline + secret))."""
    expected = base64.b64encode(
        hmac.new(b"SECabc", b"1700000000000\nSECabc", hashlib.sha256).digest()
    ).decode()
    assert dingtalk_sign("SECabc", 1700000000000) == expected


def test_feishu_signature_keys_hmac_with_timestamp_and_secret() -> None:
    """sign = base64(HMAC-SHA256(key=timestamp + newline + secret, msg=empty))."""
    expected = base64.b64encode(hmac.new(b"1700000000\nabc", b"", hashlib.sha256).digest()).decode()
    assert feishu_sign("abc", 1700000000) == expected


def test_wecom_markdown_is_accepted_with_the_key_and_mentions(services: Services) -> None:
    """A WeCom message carries markdown content and <@userid> mentions; the key is in the URL."""
    dest = _dest([{"kind": "wecom", "webhook": services.wecom_url(), "mention": ["zhangsan"]}])
    outcome = deliver(dest, probe(notify_ledger([]), "wecom-1"))
    assert outcome.ok, outcome.detail
    [got] = services.receiver.of("wecom")
    content = got.body["markdown"]["content"]
    assert "<@zhangsan>" in content
    assert "通知测试" in content


def test_wecom_wrong_key_is_a_permanent_failure_without_the_key(services: Services) -> None:
    """errcode 93000 is not retried, and the outcome does not repeat the webhook's key."""
    dest = _dest([{"kind": "wecom", "webhook": services.wecom_url("stolen-key-zz")}])
    outcome = deliver(dest, probe(notify_ledger([]), "wecom-1"))
    assert not outcome.ok
    assert not outcome.retry
    assert "93000" in outcome.detail
    assert "stolen-key-zz" not in outcome.detail


def test_wecom_rate_limit_answer_is_retryable(services: Services) -> None:
    """errcode 45009 (over 20 a minute) is reported as rate-limited and worth retrying."""
    services.receiver.limit = 0
    dest = _dest([{"kind": "wecom", "webhook": services.wecom_url()}])
    outcome = deliver(dest, probe(notify_ledger([]), "wecom-1"))
    assert outcome.rate_limited
    assert outcome.retry
    assert "45009" in outcome.detail


def test_dingtalk_signed_markdown_with_at_mobiles(services: Services) -> None:
    """The receiver recomputes the HMAC from timestamp and secret; atMobiles and @text match."""
    dest = _dest(
        [
            {
                "kind": "dingtalk",
                "webhook": services.dingtalk_url(),
                "secret": services.receiver.dingtalk_secret,
                "mention": ["13800138000"],
            }
        ]
    )
    outcome = deliver(dest, probe(notify_ledger([], locale="en"), "dingtalk-1"))
    assert outcome.ok, outcome.detail
    [got] = services.receiver.of("dingtalk")
    assert got.body["at"] == {"atMobiles": ["13800138000"], "isAtAll": False}
    assert "@13800138000" in got.body["markdown"]["text"]
    assert got.body["markdown"]["title"] == "sales: test message"


def test_dingtalk_wrong_secret_is_refused_by_signature(services: Services) -> None:
    """A signature made with another secret gets errcode 310000, not retried."""
    dest = _dest([{"kind": "dingtalk", "webhook": services.dingtalk_url(), "secret": "SECwrong"}])
    outcome = deliver(dest, probe(notify_ledger([]), "dingtalk-1"))
    assert not outcome.ok
    assert not outcome.retry
    assert "310000" in outcome.detail
    assert "SECwrong" not in outcome.detail


def test_dingtalk_send_too_fast_is_rate_limited_for_ten_minutes(services: Services) -> None:
    """errcode 130101 asks for a 10-minute pause (DingTalk throttles 10 minutes)."""
    services.receiver.limit = 0
    dest = _dest(
        [
            {
                "kind": "dingtalk",
                "webhook": services.dingtalk_url(),
                "secret": services.receiver.dingtalk_secret,
            }
        ]
    )
    outcome = deliver(dest, probe(notify_ledger([]), "dingtalk-1"))
    assert outcome.rate_limited
    assert outcome.retry_after == 600.0
    assert "130101" in outcome.detail


def test_feishu_signed_post_in_the_ledger_language(services: Services) -> None:
    """Feishu gets timestamp and sign in the body, a zh_cn post with text, link and at tags."""
    dest = _dest(
        [
            {
                "kind": "feishu",
                "webhook": services.feishu_url(),
                "secret": services.receiver.feishu_secret,
                "mention": ["ou_abc123"],
            }
        ]
    )
    ledger = notify_ledger([], source={"connector": "google", "spreadsheet": "1AbCdEfGhIjK_lmn-op"})
    outcome = deliver(dest, probe(ledger, "feishu-1"))
    assert outcome.ok, outcome.detail
    [got] = services.receiver.of("feishu")
    post = got.body["content"]["post"]["zh_cn"]
    tags = [tag for row in post["content"] for tag in row]
    assert {"tag": "at", "user_id": "ou_abc123"} in tags
    assert any(
        t["tag"] == "a" and t["href"].endswith("/spreadsheets/d/1AbCdEfGhIjK_lmn-op/edit")
        for t in tags
    )


def test_feishu_bad_signature_and_frequency_limit(services: Services) -> None:
    """19021 (sign mismatch) is permanent; 11232 (frequency limited) is retryable."""
    good = {"kind": "feishu", "webhook": services.feishu_url(), "secret": "nope"}
    outcome = deliver(_dest([good]), probe(notify_ledger([]), "f"))
    assert not outcome.retry
    assert "19021" in outcome.detail
    services.receiver.limit = 0
    good["secret"] = services.receiver.feishu_secret
    outcome = deliver(_dest([good]), probe(notify_ledger([]), "f"))
    assert outcome.rate_limited
    assert "11232" in outcome.detail


def test_slack_blocks_are_valid_and_rate_limit_honours_retry_after(services: Services) -> None:
    """Slack accepts the blocks; a 429 answer carries its Retry-After into the outcome."""
    dest = _dest([{"kind": "slack", "webhook": services.slack_url(), "mention": ["U024BE7LH"]}])
    message = new_findings(
        notify_ledger([], locale="en"),
        [_finding(f"XS{i:03}", "invalid number") for i in range(30)],
        30,
    )
    assert deliver(dest, message).ok
    [got] = services.receiver.of("slack")
    assert got.body["blocks"][0]["type"] == "header"
    assert "<@U024BE7LH>" in json.dumps(got.body)
    services.receiver.limit = 1
    outcome = deliver(dest, message)
    assert outcome.rate_limited
    assert outcome.retry_after == 1.0


@pytest.mark.parametrize("kind", ["wecom", "dingtalk", "feishu", "slack"])
def test_cell_text_cannot_mention_everyone_or_link(services: Services, kind: str) -> None:
    """A finding whose text is '@all <!channel> [x](http://evil.example)' arrives inert."""
    urls = {
        "wecom": {"webhook": services.wecom_url()},
        "dingtalk": {
            "webhook": services.dingtalk_url(),
            "secret": services.receiver.dingtalk_secret,
        },
        "feishu": {"webhook": services.feishu_url(), "secret": services.receiver.feishu_secret},
        "slack": {"webhook": services.slack_url()},
    }
    dest = _dest([{"kind": kind, **urls[kind]}])
    evil = "@all <!channel> <@U1> [x](http://evil.example)\n# big"
    message = new_findings(notify_ledger([]), [_finding("@all", evil)], 1)
    assert deliver(dest, message).ok
    [got] = services.receiver.of(kind)
    text = json.dumps(got.body, ensure_ascii=False)
    assert "@all" not in text
    assert "http://evil" not in text
    assert "](http" not in text
    assert "<!channel>" not in text
    assert "<@U1>" not in text
    assert "\\n# big" not in text
    if kind == "dingtalk":
        assert got.body["at"]["isAtAll"] is False


def test_dispatcher_retries_after_a_rate_limit_answer_and_counts_it(services: Services) -> None:
    """A DingTalk 130101 answer is retried (backoff capped for the test) and then delivered."""
    services.receiver.throttle_first = 2
    dest = _dest(
        [
            {
                "kind": "dingtalk",
                "webhook": services.dingtalk_url(),
                "secret": services.receiver.dingtalk_secret,
            }
        ]
    )
    throttled = _sample("syncer_notify_throttled_total", kind="dingtalk")
    sent = _sample("syncer_notify_messages_total", kind="dingtalk", event="test", outcome="sent")
    dispatcher = Dispatcher(backoff_base=0.01, backoff_cap=0.02)
    dispatcher.start()
    try:
        assert dispatcher.submit(dest, "dingtalk-1", probe(notify_ledger([]), "d"))
        wait_for(lambda: len(services.receiver.of("dingtalk")) == 1)
        assert dispatcher.wait_idle(10)
    finally:
        dispatcher.stop()
    assert _sample("syncer_notify_throttled_total", kind="dingtalk") == throttled + 2
    after = _sample("syncer_notify_messages_total", kind="dingtalk", event="test", outcome="sent")
    assert after == sent + 1


def test_dispatcher_gives_up_on_a_permanent_refusal(services: Services) -> None:
    """A wrong WeCom key is tried once, counted as failed and logged without the key."""
    from structlog.testing import capture_logs

    dest = _dest([{"kind": "wecom", "webhook": services.wecom_url("bad-key-qq")}])
    failed = _sample("syncer_notify_messages_total", kind="wecom", event="test", outcome="failed")
    dispatcher = Dispatcher(backoff_base=0.01, backoff_cap=0.02)
    dispatcher.start()
    with capture_logs() as logs:
        dispatcher.submit(dest, "wecom-1", probe(notify_ledger([]), "w"))
        assert dispatcher.wait_idle(10)
    dispatcher.stop()
    assert services.receiver.requests == 0  # refused before the rate-limit check
    assert len(services.receiver.rejected) == 1
    after = _sample("syncer_notify_messages_total", kind="wecom", event="test", outcome="failed")
    assert after == failed + 1
    assert "bad-key-qq" not in json.dumps(logs, default=str)
    assert any(e["event"] == "notify.failed" for e in logs)


def test_a_full_queue_drops_without_blocking() -> None:
    """submit() on a full queue returns False at once and counts the drop."""
    dest = _dest([{"kind": "slack", "webhook": "http://127.0.0.1:9/x"}])
    dispatcher = Dispatcher(max_queue=2)  # not started: nothing leaves the queue
    dropped = _sample("syncer_notify_messages_total", kind="slack", event="test", outcome="dropped")
    message = probe(notify_ledger([]), "s")
    assert dispatcher.submit(dest, "s", message)
    assert dispatcher.submit(dest, "s", message)
    assert not dispatcher.submit(dest, "s", message)
    after = _sample("syncer_notify_messages_total", kind="slack", event="test", outcome="dropped")
    assert after == dropped + 1
    dispatcher.stop()


def test_a_missing_secret_variable_is_reported_not_raised() -> None:
    """A webhook taken from an unset variable fails the send with the variable's name."""
    dest = _dest([{"kind": "wecom", "webhook": {"env": "SYNCER_TEST_UNSET_HOOK_VAR"}}])
    outcome = deliver(dest, probe(notify_ledger([]), "w"))
    assert not outcome.ok
    assert "SYNCER_TEST_UNSET_HOOK_VAR" in outcome.detail


def test_ledgers_sharing_a_robot_share_its_rate_limit() -> None:
    """Two ledgers posting to the same DingTalk robot get one limiter; another robot its own."""
    from syncer.notify.dispatch import RateLimiter, limiter_key

    one = _dest([{"kind": "dingtalk", "webhook": {"env": "HOOK_A"}}])
    same = _dest([{"kind": "dingtalk", "name": "other", "webhook": {"env": "HOOK_A"}}])
    other = _dest([{"kind": "dingtalk", "webhook": {"env": "HOOK_B"}}])
    assert limiter_key(one) == limiter_key(same) != limiter_key(other)
    assert "HOOK_A" not in limiter_key(one)
    limiter = RateLimiter.for_destination(one)
    for second in range(20):
        assert limiter.wait(float(second)) == 0
        limiter.record(float(second))
    assert limiter.wait(20.0) == pytest.approx(40.0)  # the 21st waits for the first to age out
