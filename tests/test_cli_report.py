"""``supportbot report`` and ``supportbot export`` on the known data set of test_reports."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest
from test_reports import MARCH_TOTALS, seed

from bot import cli
from bot.store.db import connect
from bot.store.migrations import migrate


def run(argv: Sequence[str]) -> int:
    """``supportbot ARGV``."""
    return cli.main(list(argv))


def fails(argv: Sequence[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run a command that must fail; return its one-line error."""
    with pytest.raises(SystemExit) as raised:
        cli.main(list(argv))
    assert raised.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    return captured.err


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "supportbot.db"
    conn = connect(path)
    migrate(conn)
    conn.execute("BEGIN")
    seed(conn)
    conn.execute("COMMIT")
    conn.close()
    return path


def test_commands_are_registered(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert "report" in out and "export" in out


def test_report_json_has_the_dashboards_figures(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        run(
            [
                "report",
                "--db",
                str(db),
                "--since",
                "2026-03-01",
                "--until",
                "2026-03-31",
                "--format",
                "json",
                "--by",
                "day",
            ]
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["totals"] == MARCH_TOTALS.to_dict()
    assert data["empty_chats"] == 1
    assert data["nps"] == {
        "answers": 4,
        "promoters": 2,
        "passives": 1,
        "detractors": 1,
        "score": 25.0,
    }
    assert [(s["label"], s["chats"]) for s in data["by_agent"]] == [("Ada", 2), ("Bob", 1)]
    assert len(data["by_period"]) == 31
    assert data["unanswered"][0] == {"text": "do you ship to mars?", "count": 3}


def test_report_table(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["report", "--db", str(db), "--since", "2026-03-01", "--until", "2026-03-31"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "supportbot report: 2026-03-01 to 2026-03-31 (UTC days)"
    assert "CSAT score       50.0%  (3 of 6 ratings were 4 or 5)" in lines
    assert "Average rating   3.17" in lines
    assert "Ratings 1 to 5   1 / 1 / 1 / 2 / 1" in lines
    assert "Response rate    85.7%  (6 of 7 surveys answered)" in lines
    assert "Chats            7  (1 empty, not counted)" in lines
    assert "Bot containment  42.9%  (3 ended without a person)" in lines
    assert "Escalation rate  57.1%  (4 escalated, 1 never answered)" in lines
    assert "First response   median 45.25 s, p90 2.0 min  (3 chats)" in lines
    assert "Resolution time  median 10.0 min, p90 20.0 min  (3 chats)" in lines
    assert "NPS              25.0  (4 answers: 2 promoters, 1 passives, 1 detractors)" in lines
    ada = next(line for line in lines if line.startswith("Ada "))
    assert ada.split() == [
        "Ada",
        "2",
        "0.0%",
        "2",
        "0",
        "37.625",
        "s",
        "45.25",
        "s",
        "15.0",
        "min",
        "20.0",
        "min",
        "2",
        "0.0%",
        "1.50",
        "100.0%",
    ]
    week = next(line for line in lines if line.startswith("2026-03-02 "))
    assert week.split()[:2] == ["2026-03-02", "5"]
    assert "      3  do you ship to mars?" in lines


def test_report_csv_with_filters(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        run(
            [
                "report",
                "--db",
                str(db),
                "--since",
                "2026-03-01",
                "--until",
                "2026-03-31",
                "--agent",
                "ada@shop.example",
                "--handled",
                "escalated",
                "--format",
                "csv",
            ]
        )
        == 0
    )
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["split", "key", "label", "metric", "value"]
    values = {(r[0], r[1], r[3]): r[4] for r in rows[1:]}
    assert values[("total", "", "chats")] == "2"
    assert values[("total", "", "first_response_median_s")] == "37.625"
    assert values[("total", "", "resolution_median_s")] == "900"
    assert values[("week", "2026-03-02", "ratings")] == "2"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--since", "2026-13-01"], "--since: '2026-13-01' is not a real date"),
        (["--until", "yesterday"], "--until: expected a date as YYYY-MM-DD, got 'yesterday'"),
        (
            ["--since", "2026-03-05", "--until", "2026-03-01"],
            "--since (2026-03-05) is after until (2026-03-01)",
        ),
        (["--agent", "nobody@shop.example"], "--agent: no agent with e-mail nobody@shop.example"),
        (["--language", "klingon"], "--language: expected a language code like en, got 'klingon'"),
    ],
)
def test_report_refuses_bad_dates_and_filters(
    db: Path, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert fails(["report", "--db", str(db), *argv], capsys) == f"supportbot: error: {message}\n"


def test_export_refuses_bad_dates(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert fails(["export", "events", "--db", str(db), "--since", "01/03/2026"], capsys) == (
        "supportbot: error: --since: expected a date as YYYY-MM-DD, got '01/03/2026'\n"
    )


def test_report_needs_an_existing_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.db"
    assert fails(["report", "--db", str(missing)], capsys) == (
        f"supportbot: error: --db {missing}: no such database (run `supportbot serve` first)\n"
    )
    (tmp_path / "other.db").write_bytes(b"")
    assert "not a supportbot database" in fails(
        ["report", "--db", str(tmp_path / "other.db")], capsys
    )


def test_report_opens_the_database_read_only(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    writer = sqlite3.connect(db)
    writer.execute("BEGIN EXCLUSIVE")  # the server in the middle of a write
    try:
        before = db.stat().st_mtime_ns
        assert run(["report", "--db", str(db), "--format", "json"]) == 0
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert json.loads(capsys.readouterr().out)["totals"]["ratings"] == 8
    assert db.stat().st_mtime_ns == before


def test_export_events_as_jsonl_and_csv(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        run(
            [
                "export",
                "events",
                "--db",
                str(db),
                "--format",
                "jsonl",
                "--since",
                "2026-03-03",
                "--until",
                "2026-03-03",
            ]
        )
        == 0
    )
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(e["conversation_id"], e["type"]) for e in lines] == [
        ("c04", "chat.started"),
        ("c04", "bot.no_answer"),
        ("c04", "escalation.requested"),
        ("c05", "chat.started"),
        ("c05", "bot.no_answer"),
        ("c05", "escalation.requested"),
    ]
    assert lines[1]["properties"]["query"] == "gift wrapping"
    assert set(lines[0]) == {
        "id",
        "created_at",
        "type",
        "conversation_id",
        "actor",
        "agent_id",
        "properties",
    }

    assert run(["export", "events", "--db", str(db)]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == [
        "id",
        "created_at",
        "type",
        "conversation_id",
        "actor",
        "agent_id",
        "properties",
    ]
    conn = sqlite3.connect(db)
    assert len(rows) - 1 == conn.execute("SELECT count(*) FROM events").fetchone()[0]
    conn.close()
    assert [int(r[0]) for r in rows[1:]] == sorted(int(r[0]) for r in rows[1:])
    assert json.loads(rows[2][6])["query"] == "Do you ship to Mars?"


def test_export_csat(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        run(
            [
                "export",
                "csat",
                "--db",
                str(db),
                "--format",
                "jsonl",
                "--since",
                "2026-03-01",
                "--until",
                "2026-03-31",
            ]
        )
        == 0
    )
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    # by asked_at: c10 was asked in February, c11 in March
    assert [r["conversation_id"] for r in lines] == [
        "c01",
        "c02",
        "c03",
        "c04",
        "c05",
        "c06",
        "c11",
    ]
    assert lines[4] == {
        "conversation_id": "c05",
        "asked_at": "2026-03-03T13:20:00.500Z",
        "given_at": "2026-03-03T13:21:00.000Z",
        "updated_at": "2026-03-03T13:21:00.000Z",
        "rating": 1,
        "comment": "useless",
        "nps": 9,
        "agent_id": 1,
        "bot_only": 0,
        "language": "en",
        "mood": -0.8,
        "escalation_reasons": ["asks for a person"],
    }
    assert run(["export", "csat", "--db", str(db), "--format", "csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 1 + 9 and rows[1][0] == "c08"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_export_shows_progress_only_on_a_terminal(
    db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(["export", "csat", "--db", str(db)]) == 0
    assert capsys.readouterr().err == ""  # not a terminal: nothing on stderr

    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    assert run(["export", "csat", "--db", str(db)]) == 0
    progress = terminal.getvalue()
    assert progress.startswith("\rexporting csat [")
    assert progress.endswith(f"[{'#' * 30}] 9 / 9 100%\n")
    assert "exporting" not in capsys.readouterr().out


def test_report_wide_csv_has_one_row_per_slice(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        run(
            [
                "report",
                "--db",
                str(db),
                "--since",
                "2026-03-01",
                "--until",
                "2026-03-31",
                "--by",
                "week",
                "--format",
                "wide",
            ]
        )
        == 0
    )
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0][:5] == ["split", "key", "label", "ratings", "rating_1"]
    assert rows[1][:4] == ["total", "", "All", "6"]
    assert [r[0] for r in rows[1:]].count("week") == 6
    assert {len(r) for r in rows} == {len(rows[0])}
