"""The real daemon (xlsx connector, state store) notifies and serves the status page."""

from __future__ import annotations

import threading
import urllib.request
from pathlib import Path

from syncer.config import load_ledgers
from syncer.daemon import serve
from syncer.settings import Settings
from tests.ops.test_daemon import wait_for
from tests.ops.xlsx_ledger import write_ledger

from .conftest import free_port
from .receivers import Services


def test_serve_sends_archived_message_and_serves_status_page(
    tmp_path: Path, services: Services
) -> None:
    """A first cycle archives 4 customers: WeCom hears of it and / lists the ledger."""
    _book, config = write_ledger(tmp_path, rows=12, lost_every=3)
    ledger_file = config / "shop.yaml"
    ledger_file.write_text(
        ledger_file.read_text(encoding="utf-8")
        + f"notify:\n  - kind: wecom\n    webhook: {services.wecom_url()}\n"
        "    when: [archived]\n",
        encoding="utf-8",
    )
    port = free_port()
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        config_path=config,
        state_url=f"sqlite:///{tmp_path / 'state.db'}",
        backup_dir=tmp_path / "backups",
        backup_cron="",
        http_port=port,
        status_token="tok-9",
    )
    stop = threading.Event()
    thread = threading.Thread(
        target=serve, args=(settings, load_ledgers(config)), kwargs={"stop": stop}
    )
    thread.start()
    try:
        wait_for(lambda: len(services.receiver.of("wecom")) == 1, timeout=60)
        [message] = services.receiver.of("wecom")
        content = message.body["markdown"]["content"]
        assert "4" in content
        assert "XS2024003" in content
        assert "XS2024012" in content
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/?token=tok-9", timeout=10) as r:
            html = r.read().decode()
        assert 'data-ledger="shop"' in html
        assert "webhook" not in html
        assert services.receiver.wecom_key not in html
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()
