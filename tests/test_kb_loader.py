"""Knowledge-base loading: TOML and CSV, problems with file and line, CSV export."""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path

import pytest

from bot.kb.export import write_csv
from bot.kb.loader import KnowledgeBaseError, load_kb
from bot.kb.service import KnowledgeService
from bot.resources import default_kb_path

DATA = Path(__file__).parent / "data"
SMALL = DATA / "kb_small"
BROKEN = DATA / "kb_broken"


def problem_lines(result, name: str) -> dict[int | None, list[str]]:
    lines: dict[int | None, list[str]] = {}
    for p in result.problems:
        if p.path.name == name:
            lines.setdefault(p.line, []).append(p.message)
    return lines


def test_small_kb_loads_every_entry_in_three_languages():
    result = load_kb(SMALL)
    assert result.problems == ()
    kb = result.kb
    assert kb is not None
    assert [e.id for e in kb] == [
        "delivery-time",
        "track-order",
        "shipping-cost",
        "return-policy",
        "refund-time",
        "payment-methods",
    ]
    assert kb.languages == ("en", "it", "pl")
    entry = kb.get("delivery-time")
    assert entry is not None
    assert entry.topic == "Delivery"
    assert entry.tags == ("delivery", "shipping")
    assert entry.text("en").keywords == ("delivery time", "arrive", "days")
    assert entry.text("en").alternates[0] == "When will my order arrive?"
    assert entry.source == SMALL / "delivery.toml" and entry.line == 4
    assert kb.question("track-order", "pl") == "Jak mogę śledzić moje zamówienie?"
    assert kb.answer("delivery-time", "en").startswith("Orders leave our warehouse")
    assert kb.answer("delivery-time", "en").endswith("https://shop.example/delivery")


def test_answer_falls_back_to_english():
    kb = load_kb(DATA / "kb_csv" / "faq.csv").kb
    assert kb is not None
    assert kb.answer("return-policy", "pl") == "Within 30 days, see https://shop.example/returns"
    assert kb.answer("delivery-time", "it") == "Da tre a cinque giorni."
    assert kb.question("delivery-time", None) == "How long does delivery take?"
    with pytest.raises(KeyError):
        kb.answer("no-such-entry", "en")


def test_single_toml_file_is_a_kb():
    result = load_kb(SMALL / "returns.toml")
    assert result.kb is not None and len(result.kb) == 3 and result.problems == ()


def test_broken_kb_reports_each_problem_with_its_line_and_keeps_the_rest():
    result = load_kb(BROKEN)
    assert result.kb is not None
    # Valid entries survive; the first of two duplicate ids wins.
    assert sorted(e.id for e in result.kb) == [
        "dup-id",
        "italian-only",
        "opening-hours",
        "typed-wrong",
    ]
    assert result.kb.question("dup-id") == "What is a gift card?"
    problems = problem_lines(result, "problems.toml")
    assert any("unknown key 'colour'" in m for m in problems[2])
    assert any("duplicate id 'dup-id'" in m and "good.toml:12" in m for m in problems[5])
    assert any("empty answer" in m for m in problems[16])
    assert any("no English" in m for m in problems[19])
    assert any("'tags' must be a list" in m for m in problems[27])
    assert any("unknown key 'priority'" in m for m in problems[28])
    assert any("'alternates' must be a list" in m for m in problems[32])
    shared = [m for ms in problems.values() for m in ms if "is also in entry" in m]
    assert len(shared) == 1 and "'opening-hours'" in shared[0] and "good.toml:4" in shared[0]
    syntax = problem_lines(result, "syntax.toml")
    assert list(syntax) == [8] and "TOML syntax error" in syntax[8][0]


def test_csv_with_languages_duplicates_and_empty_answers():
    result = load_kb(DATA / "kb_csv" / "faq.csv")
    assert result.kb is not None
    assert [e.id for e in result.kb] == ["delivery-time", "return-policy"]
    assert result.kb.get("delivery-time").languages == ("en", "it")  # type: ignore[union-attr]
    assert result.kb.get("delivery-time").tags == ("delivery", "shipping")  # type: ignore[union-attr]
    messages = {(p.line, p.message.split(":")[0]) for p in result.problems}
    assert (5, "duplicate id 'return-policy' for lang 'en' (first at line 4)") in messages
    assert any(
        line == 6 and "empty answer" in msg
        for line, msg in ((p.line, p.message) for p in result.problems)
    )


def test_csv_with_multiline_cell_reports_the_row_start(tmp_path: Path):
    path = tmp_path / "kb.csv"
    path.write_text('id,question,answer\na,"What\nis a?",ok\nb,Why b?,\n', encoding="utf-8")
    result = load_kb(path)
    assert next((p.line, "empty answer" in p.message) for p in result.problems) == (4, True)


def test_csv_missing_required_column(tmp_path: Path):
    path = tmp_path / "kb.csv"
    path.write_text("id,question\na,b\n", encoding="utf-8")
    result = load_kb(path)
    assert result.kb is None
    assert any(p.line == 1 and "missing column(s): answer" in p.message for p in result.problems)


def test_nothing_valid_means_no_kb(tmp_path: Path):
    (tmp_path / "a.toml").write_text("topic = 'x'\n[[entries]]\nid = 'Bad Id'\n", encoding="utf-8")
    result = load_kb(tmp_path)
    assert result.kb is None
    assert any("must match" in p.message and p.line == 3 for p in result.problems)
    assert load_kb(tmp_path / "missing").kb is None
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no *.toml files" in load_kb(empty).problems[0].message


def test_binary_file_is_a_problem_not_a_crash(tmp_path: Path):
    (tmp_path / "bin.toml").write_bytes(b"topic = 'x'\n\xff\xfe\x00garbage")
    result = load_kb(tmp_path)
    assert result.kb is None
    assert result.problems[0].line == 2 and "UTF-8" in result.problems[0].message


def test_export_round_trips(tmp_path: Path):
    kb = load_kb(SMALL).kb
    assert kb is not None
    out = io.StringIO()
    rows = write_csv(kb, out)
    assert rows == 18
    path = tmp_path / "export.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    again = load_kb(path)
    assert again.problems == ()
    assert again.kb is not None
    for entry in kb:
        other = again.kb.get(entry.id)
        assert other is not None
        assert dict(other.texts) == dict(entry.texts)
        assert other.tags == entry.tags and other.topic == entry.topic


# -- live reloads -----------------------------------------------------------------------------


def _copy_kb(dest: Path) -> Path:
    dest.mkdir()
    for src in SMALL.glob("*.toml"):
        (dest / src.name).write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
    return dest


def _touch_later(path: Path, text: str) -> None:
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(before + 2_000_000_000, before + 2_000_000_000))


def test_service_reloads_edits_and_keeps_last_good_version(tmp_path: Path, caplog):
    kb_dir = _copy_kb(tmp_path / "kb")
    service = KnowledgeService(kb_dir)
    first = service.state
    assert service.reload_if_changed() is False
    assert service.matcher.match("can I pay with PayPal?", "en").entry_id == "payment-methods"

    returns = kb_dir / "returns.toml"
    good = returns.read_text(encoding="utf-8")
    _touch_later(
        returns,
        good.replace("We accept cards, PayPal and bank transfer.", "Cards and PayPal only."),
    )
    assert service.reload_if_changed() is True
    assert service.state is not first
    assert service.kb.answer("payment-methods", "en") == "Cards and PayPal only."
    assert first.kb.answer("payment-methods", "en").startswith("We accept")  # old one intact

    with caplog.at_level(logging.WARNING, logger="bot.kb.service"):
        _touch_later(returns, good.replace('answer = "We accept', 'answer = "We accept\n'))
        before = service.state
        assert service.reload_if_changed() is False  # nothing usable changed
        assert service.state is before
    assert service.kb.answer("payment-methods", "en") == "Cards and PayPal only."
    assert any(
        "returns.toml:" in r.getMessage() and "last good" in r.getMessage() for r in caplog.records
    )
    assert len(service.kb) == 6

    new_file = kb_dir / "extra.toml"
    _touch_later(
        new_file,
        '[[entries]]\nid = "gift-cards"\n[entries.en]\n'
        'question = "Do you sell gift cards?"\nanswer = "Yes, from 10 EUR."\n',
    )
    assert service.reload_if_changed() is True
    assert "gift-cards" in service.kb
    new_file.unlink()
    assert service.reload_if_changed() is True
    assert "gift-cards" not in service.kb


def test_service_refuses_to_start_without_a_valid_kb(tmp_path: Path):
    (tmp_path / "x.toml").write_text("not = [valid", encoding="utf-8")
    with pytest.raises(KnowledgeBaseError) as err:
        KnowledgeService(tmp_path)
    assert "x.toml:1" in str(err.value)


def test_bundled_kb_passes_check_and_has_three_languages():
    path = default_kb_path()
    if not path.is_dir() or not any(path.glob("*.toml")):
        pytest.skip("no bundled knowledge base in this checkout")
    result = load_kb(path)
    assert [str(p) for p in result.problems] == []
    assert result.kb is not None and len(result.kb) > 0
    for entry in result.kb:
        assert set(entry.languages) >= {"en", "it", "pl"}, entry.id
