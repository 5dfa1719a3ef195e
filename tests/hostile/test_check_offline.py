"""`syncer check` runs every validation that needs no spreadsheet (issue 10, item 5).

Each case is a ledger file that `check` used to pass and that then failed, or did harm,
at run time (`region: USA` flagged every phone invalid and wrote that into the sheet; a
bad `matches` regex failed the cycle). Each is now one ``file:line:col`` problem from the
real CLI, at the offending value, with a hint.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import syncer.cli.commands  # noqa: F401  (registers every command)
from syncer.cli.app import app
from syncer.config import load_ledger

BASE = """\
name: demo
source:
  connector: xlsx
  path: book.xlsx
tabs:
  main: Customers
key: ID
columns:
  ID:
    type: text
  Name:
    type: text
  Phone:
    type: phone
  Status:
    type: text
  Changed:
    type: datetime
"""

runner = CliRunner()


def check(tmp_path: Path, text: str) -> tuple[Path, int, list[str]]:
    """Write ``text`` as a ledger file and run `syncer check` on it."""
    path = tmp_path / "ledger.yaml"
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["check", str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return path, result.exit_code, result.stdout.splitlines()


def only_problem(tmp_path: Path, text: str) -> tuple[Path, str]:
    """The single problem `syncer check` reports for ``text`` (exit 1)."""
    path, code, lines = check(tmp_path, text)
    assert code == 1, lines
    assert len(lines) == 1, lines
    return path, lines[0]


def rule(body: str) -> str:
    """BASE plus one rule (``body`` is the rule's YAML after ``- ``)."""
    return BASE + "rules:\n  - " + body.replace("\n", "\n    ") + "\n"


def test_base_ledger_passes(tmp_path: Path) -> None:
    """The ledger the other cases break is itself fine."""
    _, code, lines = check(tmp_path, BASE)
    assert code == 0, lines


@pytest.mark.parametrize(
    ("region", "hint"),
    [("USA", "did you mean US?"), ("cn", "did you mean CN?"), ("XX", "ISO 3166")],
)
def test_phone_region_must_be_a_two_letter_code(tmp_path: Path, region: str, hint: str) -> None:
    """`region: USA` is refused at its value with the ISO 3166 hint (it passed check and
    then every phone was flagged invalid in the sheet)."""
    text = BASE.replace("    type: phone\n", f"    type: phone\n    region: {region}\n")
    path, problem = only_problem(tmp_path, text)
    assert problem.startswith(f"{path}:15:13: `columns.Phone.region`: `region` '{region}'")
    assert "is not a phone region" in problem
    assert hint in problem
    assert "ISO 3166 two-letter country code" in problem


def test_a_real_region_passes(tmp_path: Path) -> None:
    """`region: US` and `region: HK` are accepted."""
    text = BASE.replace("    type: phone\n", "    type: phone\n    region: US\n")
    assert load_ledger(check(tmp_path, text)[0]).columns["Phone"].region == "US"


def test_column_pattern_must_compile(tmp_path: Path) -> None:
    """A column `pattern` that is not a regular expression is refused at its line."""
    text = BASE.replace("  Name:\n    type: text\n", "  Name:\n    pattern: '[a-'\n")
    path, problem = only_problem(tmp_path, text)
    assert problem.startswith(f"{path}:12:14: `columns.Name.pattern`: `pattern` '[a-'")
    assert "'[a-' is not a valid regular expression" in problem


def test_matches_condition_regex_must_compile(tmp_path: Path) -> None:
    """A `matches` regex that does not compile is refused at load (it failed every cycle)."""
    text = rule("kind: archive\nwhen: {column: Status, op: matches, value: '(lost'}")
    path, problem = only_problem(tmp_path, text)
    assert problem.startswith(f"{path}:21:11: `rules.0.when`: `matches` value '(lost'")
    assert "is not a valid regular expression" in problem


@pytest.mark.parametrize("duration", ["90 days", "1e400d", "-5d", "99999999d", "5"])
def test_durations_must_be_a_number_and_a_unit(tmp_path: Path, duration: str) -> None:
    """Durations that cannot be computed (words, infinity, negative, beyond 100 years)."""
    text = rule(f"kind: archive\nwhen: {{column: Changed, op: older_than, value: '{duration}'}}")
    path, problem = only_problem(tmp_path, text)
    assert problem.startswith(f"{path}:21:11: `rules.0.when`: op `older_than` needs a duration")


def test_timezone_must_be_known(tmp_path: Path) -> None:
    """An unknown IANA zone is refused at its value."""
    path, problem = only_problem(tmp_path, BASE + "timezone: Mars/Olympus\n")
    assert problem.startswith(f"{path}:19:11: `timezone`: unknown timezone 'Mars/Olympus'")


@pytest.mark.parametrize(
    ("tabs", "where", "message"),
    [
        ("  main: Customers\n  history: Customers\n", "7:12",
         "tabs.history `Customers` is the same tab as tabs.main"),
        ("  main: Customers\n  errors: Customers\n", "7:11",
         "tabs.errors `Customers` is the same tab as tabs.main"),
        ("  main: Customers\n  history: Old\n  errors: Old\n", "8:11",
         "tabs.errors `Old` is the same tab as tabs.history"),
        ("  main: 'a/b'\n", "6:9", "tabs.main `a/b` contains /"),
        ("  main: " + "x" * 40 + "\n", "6:9",
         "tabs.main `" + "x" * 40 + "` is 40 characters long"),
        ("  main: '  '\n", "6:9", "tabs.main is empty"),
    ],
)  # fmt: skip
def test_tab_names_must_not_collide_and_must_fit_the_source(
    tmp_path: Path, tabs: str, where: str, message: str
) -> None:
    """main/history/errors must differ, and an .xlsx source needs names Excel accepts."""
    text = BASE.replace("  main: Customers\n", tabs)
    path, problem = only_problem(tmp_path, text)
    assert problem.startswith(f"{path}:{where}: {message}")


@pytest.mark.parametrize(
    ("body", "where", "column", "suggestion"),
    [
        ("kind: archive\nwhen: {not: {column: Stauts, op: empty}}", "21:26", "Stauts", "Status"),
        ("kind: stamp_on_change\nwatch: [Nmae]\ntarget: Changed", "21:13", "Nmae", "Name"),
        ("kind: normalize\ncolumns: [Phnoe]", "21:15", "Phnoe", "Phone"),
        ("kind: assign_id\nrequires: [Nam]", "21:16", "Nam", "Name"),
        ("kind: assign_id\nyear_from: Chnged", "21:16", "Chnged", "Changed"),
    ],
)
def test_rules_must_name_configured_columns(
    tmp_path: Path, body: str, where: str, column: str, suggestion: str
) -> None:
    """A column a rule names that is not in `columns` is refused with the nearest one."""
    path, problem = only_problem(tmp_path, rule(body))
    assert problem.startswith(f"{path}:{where}: rule ")
    assert f"names column `{column}`, not one of `columns`" in problem
    assert problem.endswith(f"(hint: did you mean `{suggestion}`?)")


def test_a_stamp_target_cannot_be_watched(tmp_path: Path) -> None:
    """A stamp rule writing the column it watches would stamp itself forever."""
    path, problem = only_problem(
        tmp_path, rule("kind: stamp_on_change\nwatch: [Changed]\ntarget: Changed")
    )
    assert problem == f"{path}:22:13: a stamp target cannot also be watched"


@pytest.mark.parametrize("pattern", ["XS{seq:3}", "XS{year:04}{seq}", "XS{seq}{seq}", "XS{seq!r}"])
def test_assign_id_pattern_is_parsed_as_the_rule_runs_it(tmp_path: Path, pattern: str) -> None:
    """Id patterns the rule cannot render are refused at load (they failed at run time)."""
    path, problem = only_problem(tmp_path, rule(f"kind: assign_id\npattern: '{pattern}'"))
    assert problem.startswith(f"{path}:21:14: `rules.0.pattern`: id pattern")


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("{every: 0m}", "`every` '0m' must be at least 1s"),
        ("{every: 5 minutes}", "`every` '5 minutes' is not an interval"),
        ("{cron: '61 * * * *'}", "`cron` '61 * * * *' is invalid"),
        ("{cron: '* * *'}", "`cron` needs 5 fields"),
    ],
)
def test_schedules_are_checked_as_the_daemon_reads_them(
    tmp_path: Path, schedule: str, message: str
) -> None:
    """Intervals and cron lines the daemon would refuse at start are refused by check."""
    path, problem = only_problem(tmp_path, BASE + f"schedule: {schedule}\n")
    assert problem.startswith(f"{path}:19:")
    assert message in problem


def test_the_annotation_column_cannot_be_a_data_column(tmp_path: Path) -> None:
    """The robot overwrites its annotation column; naming a data column is refused."""
    path, problem = only_problem(tmp_path, BASE + "annotation_column: Name\n")
    assert problem.startswith(f"{path}:19:20: annotation_column `Name` is one of the ledger's")


@pytest.mark.parametrize(
    ("spreadsheet", "message"),
    [
        ("''", "`spreadsheet` is empty"),
        ("https://example.com/sheet", "`spreadsheet` 'https://example.com/sheet' is not a"),
    ],
)
def test_google_spreadsheet_reference_is_checked(
    tmp_path: Path, spreadsheet: str, message: str
) -> None:
    """An empty id or a URL that is not a spreadsheet's is refused offline."""
    text = BASE.replace(
        "  connector: xlsx\n  path: book.xlsx\n",
        f"  connector: google\n  spreadsheet: {spreadsheet}\n",
    )
    path, problem = only_problem(tmp_path, text)
    assert problem.startswith(f"{path}:4:16: `source.spreadsheet`: {message}")


def test_every_problem_of_a_file_is_reported_at_once(tmp_path: Path) -> None:
    """Several offline problems in one file are all listed, in line order."""
    text = BASE.replace("    type: phone\n", "    type: phone\n    region: USA\n")
    text += "timezone: Mars/Olympus\nschedule: {every: 0s}\n"
    path, code, lines = check(tmp_path, text)
    assert code == 1
    assert [line.split(": ", 1)[0] for line in lines] == [
        f"{path}:15:13",
        f"{path}:20:11",
        f"{path}:21:19",
    ]
