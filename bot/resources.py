"""Where the bundled files are, both in a source checkout and after ``pip install .``.

In the repository the widget and the default knowledge base sit at the top level
(``widget/``, ``knowledge_base/``); an installed wheel carries them as
``bot/_widget`` and ``bot/_knowledge_base`` (see ``[tool.setuptools]`` in
pyproject.toml).
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _bundled(installed_name: str, checkout_name: str) -> Path:
    installed = _PACKAGE / installed_name
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / checkout_name


def default_kb_path() -> Path:
    return _bundled("_knowledge_base", "knowledge_base")


def widget_dir() -> Path:
    return _bundled("_widget", "widget")


def static_dir() -> Path:
    """Pages and scripts of the agent console, the dashboard and the demo shop."""
    return _PACKAGE / "static"
