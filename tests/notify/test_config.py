"""The `notify:` section: loading, `syncer check` positions, `syncer schema`, secrets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from syncer.cli import commands  # noqa: F401  (registers every command)
from syncer.cli.app import app
from syncer.config import load_ledger
from syncer.errors import ConfigError
from syncer.notify.config import SecretSource, WecomDestination
from syncer.settings import Settings

runner = CliRunner()

BASE = """\
name: sales
source: {connector: memory, name: sales}
tabs: {main: 基础信息}
key: 客户编号
columns:
  客户编号: {type: text}
  跟进人: {type: text}
"""

GOOD = (
    BASE
    + """\
notify:
  - kind: wecom
    name: sales-group
    webhook: {env: SALES_WECOM_WEBHOOK}
    when: [digest, new_findings]
    digest: "0 9 * * 1-5"
    debounce: 30m
  - kind: dingtalk
    webhook: {file: /run/secrets/dingtalk-url}
    secret: {env: DINGTALK_SECRET}
    mention: ["13800138000"]
    when: [cycle_failed, recovered]
  - kind: feishu
    webhook: https://open.feishu.cn/open-apis/bot/v2/hook/abc
    secret: inline-secret
  - kind: slack
    webhook: {env: SLACK_HOOK}
    when: [archived]
  - kind: email
    smtp:
      host: smtp.example.com
      port: 465
      security: ssl
      username: robot
      password: {env: SMTP_PASSWORD}
    from: syncer@example.com
    to: [boss@example.com]
"""
)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sales.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_notify_section_with_every_kind_loads(tmp_path: Path) -> None:
    """Five destinations load with their kinds, events and secret sources."""
    ledger = load_ledger(_write(tmp_path, GOOD))
    kinds = [d.kind for d in ledger.notify]
    assert kinds == ["wecom", "dingtalk", "feishu", "slack", "email"]
    wecom = ledger.notify[0]
    assert isinstance(wecom, WecomDestination)
    assert wecom.webhook.env == "SALES_WECOM_WEBHOOK"
    assert wecom.when == ["digest", "new_findings"]


def test_inline_secrets_are_hidden_in_reprs_and_dumps(tmp_path: Path) -> None:
    """An inline secret never shows in repr() or a JSON dump of the ledger."""
    ledger = load_ledger(_write(tmp_path, GOOD))
    assert "inline-secret" not in repr(ledger)
    assert "inline-secret" not in ledger.model_dump_json()


def test_check_reports_notify_problems_with_positions(tmp_path: Path) -> None:
    """`syncer check` names the file:line of a bad kind, cron, event and @all mention."""
    bad = (
        BASE
        + """\
notify:
  - kind: wechat
    webhook: x
  - kind: wecom
    webhook: {env: A}
    digest: "every morning"
    when: [sometimes]
    mention: [all]
  - kind: dingtalk
    webhook: {env: B, file: /x}
"""
    )
    result = runner.invoke(app, ["check", str(_write(tmp_path, bad))])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if "sales.yaml:" in line]
    text = "\n".join(lines)
    assert "sales.yaml:9:" in text  # kind: wechat
    assert "sales.yaml:13:" in text  # digest cron
    assert "sales.yaml:14:" in text  # when: [sometimes]
    assert "mentioning everyone" in text
    assert "exactly one of" in text


def test_check_accepts_the_good_section(tmp_path: Path) -> None:
    """`syncer check` on a valid notify section exits 0."""
    result = runner.invoke(app, ["check", str(_write(tmp_path, GOOD))])
    assert result.exit_code == 0, result.output


def test_schema_describes_every_destination_kind() -> None:
    """`syncer schema` includes notify with the five kinds and the secret forms."""
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert "notify" in schema["properties"]
    text = json.dumps(schema)
    for kind in ("wecom", "dingtalk", "feishu", "slack", "email"):
        assert f'"{kind}"' in text
    assert "SecretSource" in text


def test_secret_from_env_and_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A secret resolves from a variable or a file; a missing one names where it looked."""
    monkeypatch.setenv("SYNCER_TEST_SECRET", "from-env\n")
    assert SecretSource(env="SYNCER_TEST_SECRET").resolve() == "from-env"
    file = tmp_path / "s"
    file.write_text("from-file\n", encoding="utf-8")
    assert SecretSource(file=file).resolve() == "from-file"
    monkeypatch.delenv("SYNCER_TEST_SECRET")
    with pytest.raises(ConfigError, match="SYNCER_TEST_SECRET"):
        SecretSource(env="SYNCER_TEST_SECRET").resolve()


def test_ops_destinations_come_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """SYNCER_NOTIFY_OPS is a JSON list of destinations validated like a ledger's."""
    monkeypatch.setenv(
        "SYNCER_NOTIFY_OPS",
        '[{"kind": "slack", "webhook": {"env": "OPS_HOOK"}, "when": ["cycle_failed"]}]',
    )
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    [dest] = settings.notify_ops
    assert dest.kind == "slack"
    assert dest.when == ["cycle_failed"]
    monkeypatch.setenv("SYNCER_NOTIFY_OPS", '[{"kind": "pager"}]')
    with pytest.raises(ValueError, match="kind"):
        Settings(_env_file=None)  # type: ignore[call-arg]
