"""The interactive review of `syncer init` (typer's CliRunner feeding the prompts):
accept, change a type, skip a column, skip a rule; the key cannot be skipped."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

from syncer.config import load_ledger

from .conftest import Cli, write_book


def _book(tmp_path: Path) -> Path:
    rows: list[list[object]] = [["客户编号", "客户名称", "合作状态", "备注"]]
    for i in range(1, 31):
        rows.append(
            [f"XS2024{i:03d}", f"公司{i}", ["合作中", "意向客户", "流失客户"][i % 3], f"备注{i}"]
        )
    return write_book(tmp_path / "small.xlsx", {"基础信息": rows})


def test_review_changes_a_type_skips_a_column_and_a_rule(cli: Cli, tmp_path: Path) -> None:
    """Prompt answers retype a column, skip a column and a rule; the key is kept."""
    # key: skip (refused), accept; 客户名称: accept; 合作状态: type → text; 备注: skip;
    # rule assign_id: accept; rule archive: skip.
    answers = "s\na\na\nt\ntext\ns\na\ns\n"
    result = cli("init", str(_book(tmp_path)), "--out", "r.yaml", "--interactive", input=answers)
    assert result.exit_code == 0, result.stderr
    assert "inferred columns" in result.stdout
    assert "cannot be skipped" in result.stdout
    ledger = load_ledger(tmp_path / "r.yaml")
    assert list(ledger.columns) == ["客户编号", "客户名称", "合作状态"]
    assert ledger.columns["合作状态"].type == "text"
    assert ledger.columns["合作状态"].values is None
    assert [r.kind for r in ledger.rules] == ["assign_id"]
    text = (tmp_path / "r.yaml").read_text(encoding="utf-8")
    assert "text: chosen at review" in text
    assert "Skipped at review: 备注" in text
    assert cli("check", "r.yaml").exit_code == 0


def test_review_all_accepts_the_rest(cli: Cli, tmp_path: Path) -> None:
    """`all` at the first prompt keeps every column; rules are still asked (here: accepted)."""
    result = cli(
        "init", str(_book(tmp_path)), "--out", "r.yaml", "--interactive", input="all\na\na\n"
    )
    assert result.exit_code == 0, result.stderr
    ledger = load_ledger(tmp_path / "r.yaml")
    assert list(ledger.columns) == ["客户编号", "客户名称", "合作状态", "备注"]
    assert ledger.columns["合作状态"].type == "choice"
    assert [r.kind for r in ledger.rules] == ["assign_id", "archive"]


def test_retyping_to_choice_asks_for_values_when_none_were_seen(cli: Cli, tmp_path: Path) -> None:
    """A column with no values yet retyped to choice takes the values typed at the prompt."""
    rows: list[list[object]] = [["编号", "客户名称", "等级"]]
    rows += [[f"A{i:03d}", f"公司{i}", None] for i in range(1, 25)]
    book = write_book(tmp_path / "empty-col.xlsx", {"客户": rows})
    result = cli(
        "init", str(book), "--out", "e.yaml", "--interactive", input="a\na\nt\nchoice\nA, B，C\na\n"
    )
    assert result.exit_code == 0, result.stderr
    ledger = load_ledger(tmp_path / "e.yaml")
    assert ledger.columns["等级"].type == "choice"
    assert ledger.columns["等级"].values == ("A", "B", "C")


def test_without_a_terminal_nothing_is_asked(cli: Cli, tmp_path: Path) -> None:
    """Piped input and no --interactive: no prompt, the inferred file is written as is."""
    result = cli("init", str(_book(tmp_path)), "--out", "r.yaml", input="s\ns\ns\n")
    assert result.exit_code == 0, result.stderr
    assert "inferred columns" not in result.stdout
    assert len(load_ledger(tmp_path / "r.yaml").columns) == 4


def test_a_real_terminal_gets_the_prompts(tmp_path: Path) -> None:
    """In a real terminal (a pty) the prompts appear and the answers are applied."""
    book = _book(tmp_path)
    master, slave = pty.openpty()
    env = {**os.environ, "COLUMNS": "120", "TERM": "xterm"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "syncer", "init", str(book), "--out", "t.yaml"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=tmp_path,
        env=env,
        close_fds=True,
    )
    os.close(slave)
    os.write(master, b"all\na\ns\n")  # typed ahead: the terminal buffers the lines
    output = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    os.close(master)
    assert proc.wait(timeout=120) == 0, output.decode(errors="replace")
    shown = output.decode(errors="replace")
    assert "inferred columns" in shown
    assert "rule archive" in shown
    ledger = load_ledger(tmp_path / "t.yaml")
    assert [r.kind for r in ledger.rules] == ["assign_id"]
    assert len(ledger.columns) == 4
