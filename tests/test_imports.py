"""The package graph: every module imports on its own, and no package imports,
directly or through others, a package that imports it back (no late imports needed)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOT = ROOT / "bot"


def modules() -> list[str]:
    out = []
    for path in sorted(BOT.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts[-1] != "__main__":
            out.append(".".join(parts))
    return out


def package_of(module: str) -> str:
    """bot.chat.service -> bot.chat; bot.wire -> bot.wire (a top-level module)."""
    return ".".join(module.split(".")[:2])


def imports_at_import_time(path: Path) -> set[str]:
    """Modules of ours that a module imports when it is imported (not inside functions,
    not under ``if TYPE_CHECKING``)."""
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module == "bot":
                    found.update(f"bot.{alias.name}" for alias in node.names)
                elif node.module.startswith("bot."):
                    found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name.startswith("bot."))
            elif isinstance(node, (ast.If, ast.Try, ast.With)):
                for field in ("body", "orelse", "finalbody", "handlers"):
                    for child in getattr(node, field, []) or []:
                        visit(child.body if isinstance(child, ast.ExceptHandler) else [child])

    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    return found


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph, as a path, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state:
                found = walk(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = walk(node)
            if found:
                return found
    return None


def test_no_package_imports_itself_back() -> None:
    graph: dict[str, set[str]] = {}
    for module in modules():
        path = ROOT / Path(*module.split("."))
        path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
        targets = {package_of(m) for m in imports_at_import_time(path)} - {package_of(module)}
        graph.setdefault(package_of(module), set()).update(t for t in targets if t != "bot")
    assert cycle(graph) is None, " -> ".join(cycle(graph) or [])


def test_every_module_imports_on_its_own() -> None:
    """Each module in a fresh set of our modules (third-party ones stay loaded): an
    import that works only after another module was imported first would fail here."""
    script = (
        "import importlib, sys\n"
        "failed = []\n"
        f"for name in {modules()!r}:\n"
        "    for loaded in [m for m in sys.modules if m == 'bot' or m.startswith('bot.')]:\n"
        "        del sys.modules[loaded]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception as exc:\n"
        "        failed.append(f'{name}: {exc!r}')\n"
        "print('\\n'.join(failed))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "", result.stdout
