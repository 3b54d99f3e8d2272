"""`pip install .` carries everything the service needs: every package and data file."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_python_package_is_listed_in_pyproject() -> None:
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "bot").rglob("__init__.py")
    }
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"


def test_the_wheel_contains_the_widget_kb_pages_and_lexicons(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
        text=True,
    )
    # A new user's `pip install .` prints no build warnings (data folders not listed as
    # packages, a deprecated licence table).
    output = built.stdout + built.stderr
    assert "absent from the `packages` configuration" not in output, output[-3000:]
    assert "deprecated" not in output.lower(), output[-3000:]
    (wheel,) = tmp_path.glob("supportbot-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        "bot/_widget/widget.js",
        "bot/static/login.html",
        "bot/static/demo/index.html",
        "bot/static/console/index.html",
        "bot/static/dashboard/index.html",
    }
    assert expected <= names, sorted(expected - names)
    kb = [n for n in names if n.startswith("bot/_knowledge_base/") and n.endswith(".toml")]
    assert len(kb) == len(list((ROOT / "knowledge_base").glob("*.toml")))
    lexicons = [n for n in names if n.startswith("bot/mood/lexicons/")]
    folder = ROOT / "bot" / "mood" / "lexicons"
    assert len(lexicons) == len([p for p in folder.iterdir() if p.name != "__pycache__"])
    vendored = [n for n in names if n.startswith("bot/_widget/vendor/")]
    assert len(vendored) == len(list((ROOT / "widget" / "vendor").iterdir()))
    assert {"bot/mood/models/tone.npz", "bot/mood/models/NOTICE.txt"} <= names
