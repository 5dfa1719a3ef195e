"""A Google ledger on a local sandbox, driven through the real `syncer` CLI, for the
hostile backup tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from syncer.backup import generate_key
from syncer.cli import commands  # noqa: F401  (registers every command)
from syncer.cli.app import app
from syncer.sandbox import SandboxServer

EMAIL = "syncer-hostile@sandbox.iam.gserviceaccount.com"
OWNER = "owner@example.com"

LEDGER_YAML = """\
name: cloud
source:
  connector: google
  spreadsheet: {spreadsheet}
tabs:
  main: Main
  history: History
  errors: Errors
key: id
locale: en
columns:
  id: {{type: text}}
  status: {{type: text}}
rules:
  - kind: archive
    when: {{column: status, op: equals, value: lost}}
"""


def google_env(
    sandbox: SandboxServer,
    root: Path,
    tabs: dict[str, list[list[Any]]],
    *,
    encrypted: bool = True,
) -> tuple[str, dict[str, str]]:
    """A spreadsheet seeded with ``tabs`` and shared with syncer's account, its ledger file,
    and the SYNCER_* variables of a CLI run against it; return the id and the variables."""
    credentials = sandbox.write_credentials(root / "sa.json", EMAIL)
    sid = sandbox.create_spreadsheet("hostile", OWNER, tabs)
    sandbox.share(sid, EMAIL, "writer")
    config = root / "ledgers"
    config.mkdir(exist_ok=True)
    (config / "cloud.yaml").write_text(LEDGER_YAML.format(spreadsheet=sid), encoding="utf-8")
    env = {
        "SYNCER_CONFIG_PATH": str(config),
        "SYNCER_CREDENTIALS_PATH": str(credentials),
        "SYNCER_GOOGLE_API_BASE": sandbox.url,
        "SYNCER_BACKUP_DIR": str(root / "backups"),
        "SYNCER_STATE_URL": f"sqlite:///{root / 'state.db'}",
        "SYNCER_LOG_FORMAT": "json",
        "SYNCER_BACKUP_KEY": generate_key() if encrypted else "",
    }
    return sid, env


def run(env: dict[str, str], *args: str) -> tuple[int, str]:
    """Invoke the CLI in-process; return its exit code and combined output. A traceback
    (an exception escaping the CLI) fails the calling test."""
    result = CliRunner().invoke(app, list(args), env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes else "")


def snapshot_id(out: str) -> str:
    """The snapshot id in `syncer backup`'s output (``backed up to …/<id>.xlsx…``)."""
    for line in out.splitlines():
        if "backed up to " in line:
            path = line.split("backed up to ", 1)[1].split(" ", 1)[0]
            return Path(path).name.split(".xlsx", 1)[0]
    raise AssertionError(f"no snapshot in output:\n{out}")
