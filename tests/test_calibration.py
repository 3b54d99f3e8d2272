"""Thresholds learnt from the knowledge base itself, the phrasing-vector cache, and what
happens with a knowledge base too small to calibrate or a broken model file."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.kb.calibrate import Calibration, calibrate
from bot.kb.loader import load_kb
from bot.kb.matcher import MatcherConfig
from bot.kb.semantic import (
    EmbeddingCache,
    Encoder,
    ModelError,
    build_semantic_index,
    default_model_dir,
    load_encoder,
)
from bot.kb.service import BUILT, build_state
from bot.settings import Settings, cache_dir

DATA = Path(__file__).parent / "data"
BIKES = DATA / "kb_bikes"
ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    found, warning = load_encoder("inline")
    assert found is not None, warning
    return found


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=False,
        env={**os.environ, **(env or {})},
    )


def test_a_new_knowledge_base_calibrates_itself(encoder: Encoder, tmp_path: Path) -> None:
    """A second shop (bikes, 30 entries in three languages) that the matcher was never
    tuned on: its own held-out phrasings set the thresholds, and its shoppers' questions
    are then answered outright with few mistakes."""
    kb = load_kb(BIKES / "faq.csv").kb
    assert kb is not None and len(kb) == 30
    state = build_state(kb, MatcherConfig(), (), encoder, EmbeddingCache(tmp_path))
    calibration = state.calibration
    assert not calibration.too_small and not calibration.warning
    assert calibration.lexical is not None and calibration.fused is not None
    assert 0.5 <= calibration.fused.threshold <= 1.0
    assert set(calibration.fused_figures) == {"en", "it", "pl"}
    for figures in calibration.fused_figures.values():
        assert figures.held_out > 50
        assert 0.0 <= figures.answer_rate <= 1.0 and figures.precision >= 0.85
    with (BIKES / "queries.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    answered = right = top1 = in_scope = 0
    for row in rows:
        result = state.faq.match(row["query"])
        if row["expected"] != "none":
            in_scope += 1
            top1 += result.entry_id == row["expected"]
        if result.action == "answer":
            answered += 1
            right += result.entry_id == row["expected"]
    assert top1 / in_scope >= 0.75
    assert answered >= 15 and right / answered >= 0.9


def test_thresholds_differ_between_knowledge_bases(encoder: Encoder, tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    bikes = load_kb(BIKES / "faq.csv").kb
    shop = load_kb(ROOT / "knowledge_base").kb
    assert bikes is not None and shop is not None
    a = calibrate(bikes, MatcherConfig(), build_semantic_index(bikes, encoder, cache))
    b = calibrate(shop, MatcherConfig(), build_semantic_index(shop, encoder, cache))
    assert a.fused is not None and b.fused is not None
    assert a.fused.threshold != b.fused.threshold
    assert not (a.fused.weights == b.fused.weights).all()


def test_a_knowledge_base_too_small_to_calibrate_gets_a_warning_and_the_defaults() -> None:
    kb = load_kb(DATA / "kb_small").kb
    assert kb is not None
    calibration = calibrate(kb, MatcherConfig())
    assert calibration.too_small
    assert calibration.lexical is None and calibration.fused is None
    assert "too small to calibrate" in calibration.warning
    state = build_state(kb, MatcherConfig())
    # the fixed thresholds of MatcherConfig decide, as before calibration existed
    result = state.faq.match("How long does delivery take?", "en")
    assert (result.action, result.entry_id) == ("answer", "delivery-time")
    proc = run_cli("kb", "check", str(DATA / "kb_small"))
    assert proc.returncode == 0
    assert "warning: too small to calibrate (6 entries" in proc.stdout
    assert proc.stdout.strip().endswith("6 entries (en, it, pl): OK")


def test_kb_check_reports_expected_answer_rate_and_precision_per_language() -> None:
    proc = run_cli("kb", "check", str(BIKES / "faq.csv"))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("calibration (fast + slow path): ")
    assert lines[1].split()[:4] == ["language", "held-out", "answered", "precision"]
    rows = {line.split()[0]: line.split() for line in lines[2:5]}
    assert set(rows) == {"en", "it", "pl"}
    for cells in rows.values():
        assert 0.0 <= float(cells[2]) <= 1.0 and 0.0 <= float(cells[3]) <= 1.0
    lexical = run_cli("kb", "check", "--lexical", str(BIKES / "faq.csv"))
    assert lexical.stdout.startswith("calibration (lexical only): ")


def test_phrasing_vectors_are_cached_and_an_edit_encodes_only_what_changed(
    encoder: Encoder, tmp_path: Path
) -> None:
    kb = load_kb(BIKES / "faq.csv").kb
    assert kb is not None
    first = build_semantic_index(kb, encoder, EmbeddingCache(tmp_path))
    assert first.encoded == len(first.vectors)
    assert list(tmp_path.glob("kb-*.npz"))
    again = build_semantic_index(kb, encoder, EmbeddingCache(tmp_path))  # a restart
    assert again.encoded == 0
    assert (again.vectors == first.vectors).all()
    text = (BIKES / "faq.csv").read_text(encoding="utf-8")
    changed = tmp_path / "faq.csv"
    changed.write_text(
        text.replace("which bike size fits my height", "what frame for somebody 190 cm tall"),
        encoding="utf-8",
    )
    kb2 = load_kb(changed).kb
    assert kb2 is not None
    third = build_semantic_index(kb2, encoder, EmbeddingCache(tmp_path))
    assert third.encoded == 1


def test_a_calibration_is_stored_with_the_vectors_and_used_after_a_restart(
    encoder: Encoder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    kb = load_kb(BIKES / "faq.csv").kb
    assert kb is not None
    config = MatcherConfig()
    BUILT.clear()
    made = build_state(kb, config, (), encoder, EmbeddingCache(tmp_path))
    [stored] = tmp_path.glob("calibration-*.json")
    BUILT.clear()  # a restart: nothing in memory
    again = build_state(kb, config, (), encoder, EmbeddingCache(tmp_path))
    assert _same(again.calibration, made.calibration)
    questions = ["which frame size for 190 cm", "do you ship bikes to Italy", "weather today"]
    for question in questions:
        assert again.faq.match(question) == made.faq.match(question)

    # Unreadable: a warning naming the file, and the KB is calibrated again.
    stored.write_text("{not json", encoding="utf-8")
    BUILT.clear()
    with caplog.at_level("WARNING"):
        third = build_state(kb, config, (), encoder, EmbeddingCache(tmp_path))
    assert str(stored) in caplog.text and "calibrating again" in caplog.text
    assert _same(third.calibration, made.calibration)
    json.loads(stored.read_text(encoding="utf-8"))  # written again, whole

    # Another KB version (one phrasing edited) gets its own calibration.
    changed = tmp_path / "faq.csv"
    changed.write_text(
        (BIKES / "faq.csv")
        .read_text(encoding="utf-8")
        .replace("which bike size fits my height", "what frame for somebody 190 cm tall"),
        encoding="utf-8",
    )
    kb2 = load_kb(changed).kb
    assert kb2 is not None
    build_state(kb2, config, (), encoder, EmbeddingCache(tmp_path))
    assert len(list(tmp_path.glob("calibration-*.json"))) == 2


def _same(a: Calibration, b: Calibration) -> bool:
    models = [(a.lexical, b.lexical), (a.fused, b.fused)]
    return all(
        (x is None and y is None)
        or (
            x is not None
            and y is not None
            and x.weights.dtype == y.weights.dtype
            and (x.weights == y.weights).all()
            and (x.none, x.threshold) == (y.none, y.threshold)
        )
        for x, y in models
    ) and (a.lexical_figures, a.fused_figures, a.warning, a.too_small) == (
        b.lexical_figures,
        b.fused_figures,
        b.warning,
        b.too_small,
    )


def test_a_missing_model_file_is_a_clear_error_naming_it(tmp_path: Path) -> None:
    shutil.copy(default_model_dir() / "sp.model", tmp_path / "sp.model")
    with pytest.raises(ModelError, match=str(tmp_path / "weights.npz")) as caught:
        Encoder(tmp_path)
    assert "missing" in str(caught.value)


def test_a_corrupt_model_file_is_a_clear_error_naming_it(tmp_path: Path) -> None:
    shutil.copy(default_model_dir() / "sp.model", tmp_path / "sp.model")
    (tmp_path / "weights.npz").write_bytes(b"PK\x03\x04 not really a zip file" * 100)
    with pytest.raises(ModelError, match="corrupt") as caught:
        Encoder(tmp_path)
    assert str(tmp_path / "weights.npz") in str(caught.value)
    (tmp_path / "weights.npz").unlink()
    (tmp_path / "weights.npz").symlink_to(default_model_dir() / "weights.npz")
    (tmp_path / "sp.model").write_bytes(b"\x00garbage")
    with pytest.raises(ModelError, match=str(tmp_path / "sp.model")):
        Encoder(tmp_path)


def test_ask_warns_about_a_broken_model_and_answers_lexically(tmp_path: Path) -> None:
    (tmp_path / "weights.npz").write_bytes(b"broken")
    (tmp_path / "sp.model").write_bytes(b"broken")
    batch = tmp_path / "q.txt"
    batch.write_text("how long does delivery take?\n", encoding="utf-8")
    proc = run_cli(
        "ask",
        "--batch",
        str(batch),
        "--json",
        env={
            "SUPPORTBOT_FAQ_MODEL_DIR": str(tmp_path),
            "SUPPORTBOT_FAQ_CACHE_DIR": str(tmp_path / "cache"),
        },
    )
    assert proc.returncode == 0, proc.stderr
    assert "warning: sentence encoder model file corrupt" in proc.stderr
    assert str(tmp_path) in proc.stderr and "lexical matcher and judging mood" in proc.stderr
    row = json.loads(proc.stdout)
    assert row["entry_id"] == "delivery-time" and row["path"] == "fast"


def test_a_bad_semantic_mode_is_an_error_naming_the_variable() -> None:
    proc = run_cli("ask", "hello", env={"SUPPORTBOT_FAQ_SEMANTIC": "sometimes"})
    assert proc.returncode == 2 and "SUPPORTBOT_FAQ_SEMANTIC" in proc.stderr


def test_where_vectors_and_calibrations_are_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beside the database for the server, in the user's cache folder for the other
    commands, or where the setting says (the tests' processes all use the run's one,
    through SUPPORTBOT_FAQ_CACHE_DIR, so these defaults are checked here)."""
    settings = Settings(db=tmp_path / "shop.db")
    assert cache_dir(settings, server=True) == tmp_path / "shop.db.cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir(settings, server=False) == tmp_path / "xdg" / "supportbot"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir(settings, server=False) == tmp_path / "home" / ".cache" / "supportbot"
    chosen = settings.replace(faq_cache_dir=tmp_path / "vectors")
    assert cache_dir(chosen, server=True) == cache_dir(chosen, server=False) == tmp_path / "vectors"
