"""`syncer notify test LEDGER` against the local receivers."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from syncer.cli import commands  # noqa: F401  (registers every command)
from syncer.cli.app import app

from .receivers import Services

runner = CliRunner()


def _ledger(tmp_path: Path, services: Services, wecom_key: str) -> Path:
    text = f"""\
name: sales
locale: en
source: {{connector: memory, name: sales}}
tabs: {{main: Customers}}
key: ID
columns:
  ID: {{type: text}}
notify:
  - kind: wecom
    name: team
    webhook: {{env: SYNCER_TEST_WECOM_HOOK}}
  - kind: dingtalk
    webhook: {services.dingtalk_url()}
    secret: {{file: {tmp_path / "ding-secret"}}}
  - kind: feishu
    webhook: {services.feishu_url()}
    secret: {services.receiver.feishu_secret}
  - kind: slack
    webhook: {services.slack_url()}
"""
    (tmp_path / "ding-secret").write_text(services.receiver.dingtalk_secret + "\n")
    path = tmp_path / "sales.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_every_destination_gets_a_test_message(
    tmp_path: Path, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four destinations, four messages, one ok line each, exit 0."""
    monkeypatch.setenv("SYNCER_TEST_WECOM_HOOK", services.wecom_url())
    monkeypatch.delenv("SYNCER_NOTIFY_OPS", raising=False)
    result = runner.invoke(app, ["notify", "test", str(_ledger(tmp_path, services, "k"))])
    assert result.exit_code == 0, result.output
    assert "4 of 4 destination(s) reached" in result.output
    for service in ("wecom", "dingtalk", "feishu", "slack"):
        assert len(services.receiver.of(service)) == 1
    assert "ok     team (wecom)" in result.output


def test_a_failing_destination_is_reported_and_exits_1(
    tmp_path: Path, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wrong WeCom key fails that line with the service's error and exit code 1."""
    monkeypatch.setenv("SYNCER_TEST_WECOM_HOOK", services.wecom_url("wrong-key-77"))
    monkeypatch.delenv("SYNCER_NOTIFY_OPS", raising=False)
    result = runner.invoke(app, ["notify", "test", str(_ledger(tmp_path, services, "k"))])
    assert result.exit_code == 1
    assert "FAILED team (wecom): errcode 93000" in result.output
    assert "wrong-key-77" not in result.output
    assert "3 of 4 destination(s) reached" in result.output


def test_a_ledger_without_destinations_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No notify section (and no ops destinations) is a configuration problem."""
    monkeypatch.delenv("SYNCER_NOTIFY_OPS", raising=False)
    path = tmp_path / "plain.yaml"
    path.write_text(
        "name: plain\nsource: {connector: memory}\ntabs: {main: A}\nkey: ID\n"
        "columns: {ID: {type: text}}\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["notify", "test", str(path)])
    assert result.exit_code == 2
    assert "no `notify` destinations" in result.output
